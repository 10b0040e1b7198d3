"""Forecasts: at fixed parameters against statsmodels, and posterior-predictive draws.

Oracle: ``ARIMA(y, order=(p, 0, q), trend="c").filter(params).get_forecast(h)``.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma import arma_forecast, arma_forecast_distribution

HORIZON = 24


@pytest.mark.parametrize(
    ("phi", "theta", "gaps"),
    [([0.5, -0.3], [0.4], False), ([0.8], [], True), ([], [0.6, 0.2], False),
     ([0.3, 0.2, -0.1], [-0.5, 0.3], True)],
    ids=["arma21", "ar1-gaps", "ma2", "arma32-gaps"],
)
def test_forecast_moments_match_statsmodels(x64, phi, theta, gaps):
    rng = np.random.default_rng(len(phi) * 10 + len(theta))
    phi, theta = np.asarray(phi, float), np.asarray(theta, float)
    mu, sigma = 4.0, 1.7
    y = mu + arma_generate_sample(np.r_[1, -phi], np.r_[1, theta], 150, scale=sigma,
                                  distrvs=rng.standard_normal)
    if gaps:
        y[rng.random(150) < 0.1] = np.nan
        y[-1] = np.nan  # the last value missing too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ARIMA(y, order=(len(phi), 0, len(theta)), trend="c").filter(
            np.r_[mu, phi, theta, sigma**2])
        expected = result.get_forecast(HORIZON)
    got = arma_forecast(y, mu, phi, theta, sigma, HORIZON)
    np.testing.assert_allclose(got.mean, expected.predicted_mean, rtol=1e-8)
    np.testing.assert_allclose(got.variance, expected.var_pred_mean, rtol=1e-8)
    # The joint covariance is positive definite and its diagonal is the variance.
    assert np.all(np.linalg.eigvalsh(np.asarray(got.covariance)) > 0)
    np.testing.assert_allclose(np.diag(got.covariance), got.variance, rtol=1e-12)


def test_joint_forecast_covariance_matches_simulation(x64, rng_key):
    # Independent check of the off-diagonal terms: AR(1) forecasts from y_T = 2 are
    # y_{T+j} = phi^j 2 + sum_k phi^(j-k) eps_k, so Cov(y_{T+1}, y_{T+2}) = phi sigma^2.
    phi, sigma = 0.6, 1.5
    forecast = arma_forecast(jnp.array([0.3, 2.0]), 0.0, jnp.array([phi]), jnp.zeros(0),
                             sigma, 3)
    np.testing.assert_allclose(forecast.covariance[0, 1], phi * sigma**2, rtol=1e-12)
    np.testing.assert_allclose(forecast.covariance[0, 2], phi**2 * sigma**2, rtol=1e-12)
    np.testing.assert_allclose(forecast.covariance[1, 2], phi * (1 + phi**2) * sigma**2,
                               rtol=1e-12)
    joint = arma_forecast_distribution(jnp.array([0.3, 2.0]), 0.0, jnp.array([phi]),
                                       jnp.zeros(0), sigma, 3)
    # vmap over keys: NumPyro's MultivariateNormal.sample with a sample_shape broadcasts
    # ranks implicitly, which this test session forbids.
    draws = jax.vmap(joint.sample)(jax.random.split(rng_key, 20000))
    np.testing.assert_allclose(np.cov(np.asarray(draws).T), forecast.covariance, atol=0.1)


def test_bad_horizon_raises():
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        arma_forecast(jnp.zeros(5), 0.0, jnp.zeros(1), jnp.zeros(0), 1.0, 0)
