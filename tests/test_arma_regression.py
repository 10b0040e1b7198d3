"""Regression with ARMA errors, the SARIMA distribution, and what ARMA refuses.

* ``ARMA`` refuses a mean with one value per time step (it would silently be a batch of T
  series: the issue's -2,476.6 against -46.3) and scores a non-stationary phi as -inf with
  a finite gradient, not NaN.
* ``SARIMA`` (the distribution the exact model uses with differencing, seasonal terms or
  regressors): ``log_prob`` is :func:`sarima_loglik` (itself tested against statsmodels in
  ``test_arma_sarima.py``), its pointwise terms sum to it, and samples are scored finite.
* The posterior of the regression coefficients covers the truth (90 % intervals, three
  simulated series, short chains).
* Bad model input: forecasts of a regression without future exog, a seasonal period < 2,
  more differencing than the series allows, an unknown regressor column, forecasts of the
  conditional likelihood (with exog, which it now takes): one clear error line from the
  fit command, nothing written.
"""

import os
import warnings
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS, Predictive
from script_runner import run_script_in_process

from models.arma import ARMA
from models.arma.family import FAMILY
from models.arma.model import arma_exact_model
from models.arma.sarima import SARIMA, SARIMASpec, sarima_loglik


def test_arma_refuses_a_mean_that_would_silently_batch():
    x = jnp.linspace(0.0, 1.0, 30)
    with pytest.raises(ValueError, match="would silently make a batch of 30 series"):
        ARMA(1.0 + 2.0 * x, jnp.array([0.5]), jnp.zeros(0), 1.0, num_steps=30)
    # a real batch (every parameter batched) is still a batch
    batch = ARMA(jnp.zeros(30), jnp.full((30, 1), 0.5), jnp.zeros((30, 0)), jnp.ones(30),
                 num_steps=30)
    assert batch.batch_shape == (30,)


def test_arma_exact_log_prob_is_minus_infinity_outside_stationarity(x64):
    y = jnp.asarray(np.random.default_rng(1).normal(size=25))

    def log_prob(phi, method="fast"):
        return ARMA(0.0, phi, jnp.array([0.3]), 1.0, num_steps=25, method=method).log_prob(y)

    assert float(log_prob(jnp.array([1.05]))) == -np.inf
    assert float(log_prob(jnp.array([0.5, 0.6]))) == -np.inf  # 1 - .5z - .6z^2 has a root < 1
    assert np.isfinite(float(log_prob(jnp.array([0.95]))))
    # the gradient: finite (the stand-in phi = 0 is what the filter sees); the sequential
    # filter here, whose compile is a fraction of the fast path's under reverse mode
    gradient = jax.grad(lambda phi: log_prob(phi, "sequential"))(jnp.array([1.05]))
    assert np.isfinite(np.asarray(gradient)).all()


def test_sarima_distribution_scores_what_sarima_loglik_scores(x64, rng_key):
    spec = SARIMASpec(1, 1, 1, 1, 0, 0, 4)
    T = 40
    exog = jnp.asarray(np.random.default_rng(2).normal(size=(T, 2)))
    args = (0.1, jnp.array([0.4]), jnp.array([0.3]), jnp.array([0.5]), jnp.zeros(0), 0.8)
    law = SARIMA(*args, spec=spec, num_steps=T, exog=exog, beta=jnp.array([1.0, -2.0]))
    y = law.sample(rng_key, (3,))
    assert y.shape == (3, T)
    expected = [sarima_loglik(series, spec, 0.1, jnp.array([0.4]), jnp.array([0.3]), 0.8,
                              seasonal_phi=jnp.array([0.5]), exog=exog,
                              beta=jnp.array([1.0, -2.0])) for series in y]
    np.testing.assert_allclose(law.log_prob(y), expected, rtol=1e-10)
    np.testing.assert_allclose(law.pointwise_log_prob(y).sum(-1), expected, rtol=1e-10)
    assert np.all(np.asarray(law.pointwise_log_prob(y))[:, 0] == 0.0)  # d = 1: one burned
    with pytest.raises(ValueError, match="mu and sigma must be scalars"):
        SARIMA(jnp.zeros(T), *args[1:], spec=spec, num_steps=T)


@pytest.mark.slow
def test_posterior_recovers_regression_coefficients(x64):
    """y = mu + X beta + AR(1) errors, T = 120, three seeds. Two checks:

    * the 90 % intervals cover the true beta in at least 4 of the 6 (seed, coefficient)
      cases (each covers with probability 0.9; 3 or fewer of 6 has probability 0.016);
    * the posterior mean of beta is statsmodels' MLE (``ARIMA(y, exog, (1, 0, 0),
      trend="c")``) to within 0.3 of its standard error, in every seed: the oracle that
      catches a biased likelihood, which coverage alone would only catch now and then.
    """
    from statsmodels.tsa.arima.model import ARIMA

    T, beta_true = 120, np.array([1.5, -0.8])
    # fixed settings bound here, so that jit_model_args traces only the data (one compile)
    model = partial(arma_exact_model, order=(1, 0), mu_loc=0.0, mu_scale=20.0,
                    sigma_scale=2.0, beta_scale=5.0)
    kernel = NUTS(model, init_strategy=FAMILY.init_strategy())
    mcmc = MCMC(kernel, num_warmup=300, num_samples=400, num_chains=1, progress_bar=False,
                jit_model_args=True)
    covered = []
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        exog = np.c_[np.sin(np.arange(T) / 6.0), rng.normal(size=T)]
        errors = np.zeros(T)
        shocks = rng.normal(size=T)
        for t in range(T):
            errors[t] = (0.6 * errors[t - 1] if t else 0.0) + shocks[t]
        y = 3.0 + exog @ beta_true + errors
        mcmc.run(jax.random.PRNGKey(seed), y=jnp.asarray(y), exog=jnp.asarray(exog),
                 extra_fields=("diverging",))
        assert mcmc.get_extra_fields()["diverging"].sum() == 0
        draws = np.asarray(mcmc.get_samples()["beta"])
        low, high = np.quantile(draws, [0.05, 0.95], axis=0)
        covered.extend((low <= beta_true) & (beta_true <= high))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mle = ARIMA(y, exog=exog, order=(1, 0, 0), trend="c").fit()
        np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mle.params[1:3]),
                                     0.3 * mle.bse[1:3])
    assert sum(covered) >= 4, covered


PRIORS = {"mu_loc": 0.0, "mu_scale": 1.0, "sigma_scale": 1.0, "beta_scale": 1.0}


def test_forecasts_of_a_regression_need_future_exog(x64, rng_key):
    T = 30
    exog = jnp.asarray(np.random.default_rng(4).normal(size=(T, 1)))
    samples = {"mu": jnp.zeros(2), "phi": jnp.full((2, 1), 0.5), "beta": jnp.ones((2, 1)),
               "sigma": jnp.ones(2)}
    with pytest.raises(ValueError, match=r"need future_exog, shape \(h, k\) = \(4, 1\)"):
        Predictive(arma_exact_model, samples)(rng_key, y=jnp.zeros(T), order=(1, 0),
                                              exog=exog, forecast_horizon=4, **PRIORS)
    draws = Predictive(arma_exact_model, samples)(
        rng_key, y=jnp.zeros(T), order=(1, 0), exog=exog, forecast_horizon=4,
        future_exog=jnp.ones((4, 1)), **PRIORS)
    assert draws["y_forecast"].shape == (2, 4)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


SERIES = "t,y,x\n" + "".join(f"{i},{np.sin(i / 2) + 0.1 * i},{np.cos(i)}\n"
                              for i in range(1, 21))


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [(["--seasonal-order", "1", "0", "0", "1"], ["seasonal period s must be an integer >= 2"]),
     (["--order", "0", "0", "--difference", "19"],
      ["differencing (d = 19, D = 0, s = 0) leaves 1 observed value(s) of 20",
       "d or D is larger than the series allows"]),
     (["--order", "1", "1", "--difference", "19"], ["series too short for ARIMA(1,19,1)",
                                                    "need more than d + sD"]),
     (["--order", "0", "0", "--seasonal-order", "0", "2", "0", "12"],
      ["series too short for SARIMA(0,0,0)(0,2,0)12"]),
     (["--likelihood", "conditional", "--difference", "1"],
      ["--difference applies to --likelihood exact only"]),
     (["--exog", "x", "nope"], ["--exog 'nope' is not a column of", "available columns: t, y, x"]),
     (["--exog", "x", "--forecast", "3", "--future-exog", "SHORT_Z"],
      ["--future-exog 'x' is not a column of", "available columns: z"]),
     (["--mu-loc", "normal(50,20)"], ["argument --mu-loc: must be a number, got 'normal(50,20)'"]),
     (["--exog", "x", "--forecast", "3"],
      ["--forecast 3 with --exog needs --future-exog CSV: the next 3 values of x"]),
     (["--exog", "x", "--forecast", "3", "--future-exog", "SHORT"],
      ["column 'x' has 2 row(s); --forecast 3 needs 3"]),
     (["--future-exog", "SHORT"], ["--future-exog needs --exog"]),
     (["--exog", "x", "--likelihood", "conditional", "--forecast", "3", "--future-exog",
       "SHORT"], ["column 'x' has 2 row(s); --forecast 3 needs 3"]),
     (["--exog", "y"], ["'y' is the series being fitted, not a regressor"])],
    ids=["period-1", "d-leaves-one", "d-too-large", "D-too-large", "conditional",
         "unknown-exog-column", "future-exog-lacks-the-column", "prior-that-does-not-parse",
         "missing-future-exog", "short-future-exog",
         "future-without-exog", "exog-conditional-forecast", "exog-is-the-series"],
)
def test_bad_sarima_flags_give_one_line_and_write_nothing(tmp_path, flags, fragments):
    data = tmp_path / "series.csv"
    data.write_text(SERIES)
    short = tmp_path / "future.csv"
    short.write_text("x\n0.5\n0.7\n")
    other = tmp_path / "future_z.csv"
    other.write_text("z\n0.5\n0.7\n0.9\n")
    flags = [{"SHORT": str(short), "SHORT_Z": str(other)}.get(flag, flag) for flag in flags]
    before = _files(tmp_path)
    process = run_script_in_process("fit.py", "arma", "--data", str(data), "--column", "y",
                                    *flags, "--out", str(tmp_path / "out"))
    assert process.returncode == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert _files(tmp_path) == before
    assert os.path.exists(data)
