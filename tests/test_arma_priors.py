"""The exact ARMA model's default priors sit on the series' own scale.

Oracles: statsmodels' maximum-likelihood fit of the yearly sunspots (a public series nobody
here chose, mean about 50: the old fixed ``Normal(0, 10)`` prior pulled AR(9)'s mean to 6),
and an exact identity for scale invariance: with priors set from the data, the posterior
density of ``a y + b`` at ``(a mu + b, phi, theta, a sigma)`` is that of ``y`` at
``(mu, phi, theta, sigma)`` divided by ``a^(n + 2)`` (n observed values; one factor of
``a`` each for the mean's and sigma's priors), for every parameter value.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pytest
from numpyro.infer import MCMC, NUTS, Predictive
from numpyro.infer.util import log_density
from statsmodels.datasets import sunspots
from statsmodels.tsa.arima.model import ARIMA

from models.arma import arma_exact_model
from models.arma.family import FAMILY, INIT_RADIUS
from models.arma.model import MU_SCALE_IN_SDS, data_scaled_priors


def test_data_scaled_priors_use_the_observed_values_only():
    y = np.array([3.0, np.nan, 5.0, 10.0, np.nan])
    priors = data_scaled_priors(y)
    observed = y[~np.isnan(y)]
    assert priors.mu_loc == pytest.approx(observed.mean())
    assert priors.sigma_scale == pytest.approx(observed.std(ddof=1))
    assert priors.mu_scale == pytest.approx(MU_SCALE_IN_SDS * observed.std(ddof=1))


@pytest.mark.parametrize("y", [[2.0, 2.0, 2.0], [1.0, np.nan], []], ids=["constant", "one", "none"])
def test_a_series_that_cannot_set_a_scale_is_named(y):
    with pytest.raises(ValueError, match="need at least two observed values that differ"):
        data_scaled_priors(np.asarray(y))


def test_the_model_uses_them_and_explicit_values_win(x64):
    y = jnp.asarray(np.random.default_rng(0).normal(50.0, 7.0, size=40))
    priors = data_scaled_priors(y)
    trace = numpyro.handlers.trace(numpyro.handlers.seed(arma_exact_model, 1)).get_trace(
        y, order=(1, 1))
    assert float(trace["mu"]["fn"].loc) == pytest.approx(priors.mu_loc)
    assert float(trace["mu"]["fn"].scale) == pytest.approx(priors.mu_scale)
    assert float(trace["sigma"]["fn"].scale) == pytest.approx(priors.sigma_scale)
    trace = numpyro.handlers.trace(numpyro.handlers.seed(arma_exact_model, 1)).get_trace(
        y, order=(1, 1), mu_loc=0.0, sigma_scale=2.5)
    assert float(trace["mu"]["fn"].loc) == 0.0
    assert float(trace["mu"]["fn"].scale) == pytest.approx(priors.mu_scale)
    assert float(trace["sigma"]["fn"].scale) == 2.5


def test_without_data_the_priors_must_be_given(rng_key):
    with pytest.raises(ValueError, match="mu_loc, sigma_scale must be given"):
        Predictive(arma_exact_model, num_samples=2)(rng_key, order=(1, 0), num_steps=5,
                                                      mu_scale=1.0)


@pytest.mark.parametrize(("scale", "shift"), [(1000.0, 5000.0), (1e-3, 1e4), (-2.0, 0.0)])
def test_posterior_is_scale_invariant_exactly(x64, scale, shift):
    """log p(theta' | a y + b) - log p(theta | y) = -(n + 2) log|a| at every theta."""
    rng = np.random.default_rng(7)
    y = rng.normal(size=60).cumsum() * 0.3 + 2.0
    y[[5, 33]] = np.nan  # gaps: n counts observed values only
    n = int(np.sum(~np.isnan(y)))
    # one compiled density per series (the priors read the series' values, so it is closed
    # over), evaluated at three points: not op by op
    original_density, transformed_density = (jax.jit(
        lambda params, series=series: log_density(arma_exact_model, (series,),
                                                  {"order": (2, 1)}, params)[0])
        for series in (jnp.asarray(y), jnp.asarray(scale * y + shift)))
    differences = []
    for _ in range(3):
        mu, sigma = rng.normal(2.0, 1.0), rng.uniform(0.2, 1.5)
        phi, theta = rng.uniform(-0.8, 0.8, size=2) * [1.0, 0.3], rng.uniform(-0.6, 0.6, 1)
        params = {"mu": mu, "phi": phi, "theta": theta, "sigma": sigma}
        mapped = {"mu": scale * mu + shift, "phi": phi, "theta": theta,
                  "sigma": abs(scale) * sigma}
        original, transformed = original_density(params), transformed_density(mapped)
        differences.append(float(transformed) - float(original))
    np.testing.assert_allclose(differences, -(n + 2) * np.log(abs(scale)), rtol=1e-9,
                               atol=1e-8)


def test_fixed_priors_are_not_scale_invariant(x64):
    """The check above can fail: with the old fixed priors the difference depends on theta."""
    rng = np.random.default_rng(8)
    y = rng.normal(size=40) + 2.0
    fixed = {"order": (1, 0), "mu_loc": 0.0, "mu_scale": 10.0, "sigma_scale": 2.5}
    differences = []
    for mu in (1.0, 3.0):
        params = {"mu": mu, "phi": np.array([0.3]), "sigma": 1.0}
        mapped = {"mu": 1000.0 * mu + 5000.0, "phi": np.array([0.3]), "sigma": 1000.0}
        original, _ = log_density(arma_exact_model, (jnp.asarray(y),), fixed, params)
        transformed, _ = log_density(arma_exact_model, (jnp.asarray(1000.0 * y + 5000.0),),
                                     fixed, mapped)
        differences.append(float(transformed) - float(original))
    assert abs(differences[1] - differences[0]) > 1.0


def statsmodels_fit(y, order):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ARIMA(y, order=(order[0], 0, order[1]), trend="c").fit()
    # (const, ar..., ma..., sigma2) -> sigma by the delta method
    estimate, se = fit.params.copy(), fit.bse.copy()
    estimate[-1], se[-1] = np.sqrt(fit.params[-1]), fit.bse[-1] / (2 * np.sqrt(fit.params[-1]))
    return estimate, se


@pytest.mark.slow
@pytest.mark.parametrize("order", [(9, 0), (2, 1)], ids=["AR(9)", "ARMA(2,1)"])
def test_default_priors_recover_statsmodels_on_the_sunspots(x64, rng_key, order):
    """Defaults, yearly sunspots (T = 309, mean 49.8): every posterior mean within one MLE
    standard error of statsmodels' estimate (the fixed Normal(0, 10) gave mu = 6.1 for AR(9),
    4.9 standard errors off)."""
    y = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    estimate, se = statsmodels_fit(y, order)
    # one chain: only posterior means are compared, and a batch of chains would make every
    # step of the AR(9) filter pay for the slowest member
    mcmc = MCMC(NUTS(arma_exact_model, init_strategy=FAMILY.init_strategy()), num_warmup=200,
                num_samples=300, num_chains=1, progress_bar=False)
    mcmc.run(rng_key, jnp.asarray(y), order=order)
    samples = mcmc.get_samples()
    ours = np.r_[samples["mu"].mean(), samples["phi"].mean(0) if order[0] else [],
                 samples["theta"].mean(0) if order[1] else [], samples["sigma"].mean()]
    z = (ours - estimate) / se
    assert np.all(np.abs(z) < 1.0), np.round(z, 2)
    assert INIT_RADIUS == 0.5  # the fit command's starts, so this is what fit.py arma gives
