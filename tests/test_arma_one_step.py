"""ARMA's one-step-ahead posterior predictive check (``Variant.one_step``, site ``y_one_step``).

* Exact likelihood: the one-step-ahead predictive means and variances equal statsmodels'
  ``filter_results.forecasts`` and ``forecasts_error_cov`` (an oracle nobody here wrote) at
  fixed parameters, to 1e-8, with gaps (the prediction at a missing step is still defined),
  for a regression with ARMA(2,1) errors and for a seasonal ARIMA with differencing; the
  model's ``y_one_step`` site draws from exactly those laws (NaN in the d + sD diffuse steps).
* Conditional likelihoods: the one-step mean is y_t minus the recursion's error (a Python
  loop here) and the sd is sigma, in both variants.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import Predictive
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.statespace.sarimax import SARIMAX

from models.arma.conditional_fast import arma_fast_model
from models.arma.family import FAMILY
from models.arma.model import arma_exact_model, arma_model
from models.arma.sarima import SARIMASpec, sarima_one_step


def _series(T=60, seed=12):
    rng = np.random.default_rng(seed)
    X = np.c_[np.sin(np.arange(T) / 5), rng.normal(size=T)]
    y = 2 + X @ [1.5, -0.7] + np.cumsum(rng.normal(size=T)) * 0.1 + rng.normal(size=T)
    y[[10, T // 2, T // 2 + 1]] = np.nan
    return y, X


def _statsmodels(result):
    return result.filter_results.forecasts[0], result.filter_results.forecasts_error_cov[0, 0]


def test_regression_with_arma_errors_matches_statsmodels_with_gaps(x64):
    y, X = _series()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ARIMA(y, exog=X, order=(2, 0, 1), trend="c").filter(
            np.r_[2.0, 1.5, -0.7, 0.5, 0.2, 0.3, 1.1])
    mean, variance = sarima_one_step(jnp.asarray(y), SARIMASpec(2, 0, 1), 2.0,
                                     jnp.array([0.5, 0.2]), jnp.array([0.3]), np.sqrt(1.1),
                                     exog=jnp.asarray(X), beta=jnp.array([1.5, -0.7]))
    expected_mean, expected_variance = _statsmodels(result)
    np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(variance, expected_variance, rtol=1e-8)
    # a gap is predicted, and the step after it is predicted with more uncertainty
    assert np.isfinite(mean[10]) and variance[32] > variance[31] > variance[30]


def test_seasonal_arima_matches_statsmodels_with_gaps(x64):
    """SARIMA(1,1,1)(1,0,1)4 with drift: the first d + sD = 1 step holds the diffuse start
    (compared from step 2 on, where both filters predict)."""
    y, _ = _series(seed=5)
    spec = SARIMASpec(1, 1, 1, 1, 0, 1, 4)
    mu, phi, theta, sphi, stheta, sigma = 0.05, 0.4, 0.3, 0.5, -0.3, 0.9
    intercept = mu * (1 - phi) * (1 - sphi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = SARIMAX(y, order=(1, 1, 1), seasonal_order=(1, 0, 1, 4), trend="c").filter(
            np.r_[intercept, phi, theta, sphi, stheta, sigma**2])
    mean, variance = sarima_one_step(jnp.asarray(y), spec, mu, jnp.array([phi]),
                                     jnp.array([theta]), sigma, seasonal_phi=jnp.array([sphi]),
                                     seasonal_theta=jnp.array([stheta]))
    expected_mean, expected_variance = _statsmodels(result)
    np.testing.assert_allclose(mean[1:], expected_mean[1:], rtol=0, atol=1e-8)
    np.testing.assert_allclose(variance[1:], expected_variance[1:], rtol=1e-8)


class _Site:
    """loc and scale of the y_one_step draws: two runs with shocks 0 and 1 substituted."""

    def __init__(self, model, y, params, **kwargs):
        runs = []
        for shock in (0.0, 1.0):
            data = {**params, "y_one_step_shock": jnp.full(len(y), shock)}
            with handlers.trace() as trace, handlers.seed(rng_seed=0), \
                    handlers.substitute(data=data):
                model(jnp.asarray(y), one_step_ahead=True, **kwargs)
            runs.append(np.asarray(trace["y_one_step"]["value"]))
        self.loc, self.scale = runs[0], runs[1] - runs[0]


def test_the_exact_model_draws_from_the_filter_laws(x64):
    y, X = _series()
    params = {"mu": 2.0, "phi": jnp.array([0.5, 0.2]), "theta": jnp.array([0.3]),
              "beta": jnp.array([1.5, -0.7]), "sigma": np.sqrt(1.1)}
    law = _Site(arma_exact_model, y, params, order=(2, 1), exog=jnp.asarray(X),
                beta_scale=1.0)
    mean, variance = sarima_one_step(jnp.asarray(y), SARIMASpec(2, 0, 1), 2.0,
                                     params["phi"], params["theta"], params["sigma"],
                                     exog=jnp.asarray(X), beta=params["beta"])
    np.testing.assert_allclose(law.loc, mean, rtol=1e-12)
    np.testing.assert_allclose(law.scale, np.sqrt(variance), rtol=1e-12)
    # plain ARMA (its own law, not SARIMA) and a differenced model (first step: NaN)
    plain = _Site(arma_exact_model, y, {k: v for k, v in params.items() if k != "beta"},
                  order=(2, 1))
    expected = sarima_one_step(jnp.asarray(y), SARIMASpec(2, 0, 1), 2.0, params["phi"],
                               params["theta"], params["sigma"])[0]
    np.testing.assert_allclose(plain.loc, expected, rtol=1e-12)
    differenced = _Site(arma_exact_model, y, {"mu": 0.0, "phi": jnp.array([0.5]),
                                              "theta": jnp.array([0.3]), "sigma": 1.0},
                        order=(1, 1), difference=1)
    assert np.isnan(differenced.loc[0]) and np.isfinite(differenced.loc[1:]).all()


def loop_errors(z, intercept, phi, theta, start=0):
    errors = np.zeros(len(z))
    for t in range(start, len(z)):
        nu = intercept + sum(phi[i] * (z[t - i - 1] if t - i - 1 >= 0 else intercept)
                             for i in range(len(phi)))
        nu += sum(theta[j] * errors[t - j - 1] for j in range(len(theta)) if t - j - 1 >= start)
        errors[t] = z[t] - nu
    return errors


@pytest.mark.parametrize("model", [arma_model, arma_fast_model], ids=["reference", "fast"])
@pytest.mark.parametrize("condition_on_first", [False, True])
def test_the_conditional_models_predict_from_the_recursion(x64, model, condition_on_first):
    y, X = _series()
    y = np.nan_to_num(y, nan=2.0)
    params = {"intercept": 0.4, "phi": jnp.array([0.5, 0.2]), "theta": jnp.array([0.3]),
              "beta": jnp.array([1.5, -0.7]), "sigma": 0.9}
    law = _Site(model, y, params, order=(2, 1), exog=jnp.asarray(X), beta_scale=1.0,
                condition_on_first=condition_on_first)
    z = y - X @ np.array([1.5, -0.7])
    start = 2 if condition_on_first else 0
    expected = y - loop_errors(z, 0.4, [0.5, 0.2], [0.3], start)
    np.testing.assert_allclose(law.loc[start:], expected[start:], rtol=1e-12)
    assert np.isnan(law.loc[:start]).all()
    np.testing.assert_allclose(law.scale[start:], 0.9)


def test_every_variant_offers_it_and_draws_shape_t(x64, rng_key):
    assert all(variant.one_step for variant in FAMILY.variants.values())
    y, _ = _series(T=25)
    samples = {"mu": jnp.zeros(3), "phi": jnp.full((3, 1), 0.5), "theta": jnp.zeros((3, 1)),
               "sigma": jnp.ones(3)}
    draws = Predictive(arma_exact_model, samples, return_sites=["y_one_step"])(
        rng_key, y=jnp.asarray(y), order=(1, 1), one_step_ahead=True, mu_loc=0.0,
        mu_scale=1.0, sigma_scale=1.0)
    assert draws["y_one_step"].shape == (3, 25)
    assert np.isfinite(draws["y_one_step"]).all()  # gaps included
    with pytest.raises(ValueError, match="one_step_ahead needs the observed y"):
        Predictive(arma_exact_model, samples)(rng_key, num_steps=25, order=(1, 1),
                                              one_step_ahead=True, mu_loc=0.0, mu_scale=1.0,
                                              sigma_scale=1.0)
    with pytest.raises(ValueError, match="one_step_ahead needs the observed y"):
        Predictive(arma_model, {"intercept": jnp.zeros(2), "phi": jnp.zeros((2, 1)),
                                "theta": jnp.zeros((2, 1)), "sigma": jnp.ones(2)})(
            jax.random.PRNGKey(0), num_steps=25, one_step_ahead=True)
