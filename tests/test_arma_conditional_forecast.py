"""Forecasts of the conditional ARMA recursion (what ``--likelihood conditional --forecast H``
draws): the mean and the joint covariance against a Python loop of the recursion (its impulse
responses give the covariance's square root, column by column), and, for a stationary and
invertible model on a long series, against statsmodels' exact ``get_forecast``: there the
recursion's start is forgotten and the two forecasts are one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers

from models.arma import arma_model
from models.arma.conditional_forecast import conditional_arma_forecast, ma_infinity_weights


def loop_forecast(y, intercept, phi, theta, initial, shocks):
    """The recursion in Python: errors of the data, then h steps driven by ``shocks``."""
    p, q = len(phi), len(theta)
    values, errors = list(initial), [0.0] * q
    for value in y:
        predicted = intercept + sum(phi[i] * values[-1 - i] for i in range(p)) + sum(
            theta[j] * errors[-1 - j] for j in range(q))
        values.append(value)
        errors.append(value - predicted)
    out = []
    for shock in shocks:
        predicted = intercept + sum(phi[i] * values[-1 - i] for i in range(p)) + sum(
            theta[j] * errors[-1 - j] for j in range(q))
        values.append(predicted + shock)
        errors.append(shock)
        out.append(predicted + shock)
    return np.array(out)


@pytest.mark.parametrize(("phi", "theta"), [([0.5], []), ([], [0.7, -0.2]),
                                            ([1.2, -0.1], [0.4]), ([0.3, 0.2, -0.4], [1.5, 0.6])],
                         ids=["AR(1)", "MA(2)", "explosive ARMA(2,1)", "ARMA(3,2)"])
def test_mean_and_covariance_equal_the_loop(x64, phi, theta):
    rng = np.random.default_rng(len(phi) + 3 * len(theta))
    y, h, intercept, sigma = rng.normal(size=30), 6, 0.3, 0.8
    initial = rng.normal(size=len(phi))
    forecast = conditional_arma_forecast(jnp.asarray(y), intercept, jnp.asarray(phi),
                                         jnp.asarray(theta), sigma, h,
                                         initial_y=jnp.asarray(initial))
    mean = loop_forecast(y, intercept, phi, theta, initial, np.zeros(h))
    root = np.column_stack([loop_forecast(y, intercept, phi, theta, initial, sigma * np.eye(h)[k])
                            - mean for k in range(h)])
    np.testing.assert_allclose(forecast.mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forecast.covariance, root @ root.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forecast.variance, np.diag(root @ root.T), rtol=1e-12)


def test_default_start_is_the_intercept(x64):
    y = jnp.array([0.4, -0.2, 0.9])
    ours = conditional_arma_forecast(y, 0.3, jnp.array([0.5, 0.1]), jnp.array([0.2]), 1.0, 3)
    loop = loop_forecast(np.asarray(y), 0.3, [0.5, 0.1], [0.2], [0.3, 0.3], np.zeros(3))
    np.testing.assert_allclose(ours.mean, loop, rtol=1e-12)


def test_long_stationary_series_gives_statsmodels_exact_forecast(x64):
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.arima_process import arma_generate_sample

    phi, theta, mu, sigma, h = np.array([0.6, -0.3]), np.array([0.4]), 2.0, 1.3, 12
    y = mu + arma_generate_sample(np.r_[1, -phi], np.r_[1, theta], 3000, scale=sigma,
                                  distrvs=np.random.default_rng(7).standard_normal)
    fitted = ARIMA(y, order=(2, 0, 1), trend="c").filter(np.r_[mu, phi, theta, sigma**2])
    exact = fitted.get_forecast(h)
    ours = conditional_arma_forecast(jnp.asarray(y), mu * (1 - phi.sum()), jnp.asarray(phi),
                                     jnp.asarray(theta), sigma, h)
    np.testing.assert_allclose(ours.mean, exact.predicted_mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.variance, exact.var_pred_mean, rtol=1e-9)


def test_ma_infinity_weights_equal_statsmodels(x64):
    from statsmodels.tsa.arima_process import arma2ma

    phi, theta = np.array([0.5, -0.2, 0.1]), np.array([0.3, 0.8])
    np.testing.assert_allclose(ma_infinity_weights(jnp.asarray(phi), jnp.asarray(theta), 9),
                               arma2ma(np.r_[1, -phi], np.r_[1, theta], 9), rtol=1e-13)


def test_model_site_is_the_forecast_plus_the_regression(x64, rng_key):
    y, exog = jnp.linspace(-1.0, 1.0, 12), jnp.stack([jnp.arange(12.0), jnp.ones(12)], 1)
    future = jnp.array([[12.0, 1.0], [13.0, 1.0], [14.0, 1.0]])
    params = {"intercept": 0.2, "phi": jnp.array([0.4]), "theta": jnp.array([-0.3]),
              "beta": jnp.array([0.05, -0.1]), "sigma": 0.7}
    model = handlers.seed(handlers.condition(arma_model, params), rng_key)
    trace = handlers.trace(model).get_trace(y, exog=exog, beta_scale=1.0, forecast_horizon=3,
                                            future_exog=future)
    law = trace["y_forecast"]["fn"]
    expected = conditional_arma_forecast(y - exog @ params["beta"], 0.2, params["phi"],
                                         params["theta"], 0.7, 3)
    np.testing.assert_allclose(law.mean, expected.mean + future @ params["beta"], rtol=1e-12)
    np.testing.assert_allclose(law.covariance_matrix, expected.covariance, rtol=1e-12)
    with pytest.raises(ValueError, match=r"future_exog of shape \(h, k\) = \(3, 2\), got None"):
        handlers.seed(arma_model, rng_key)(y, exog=exog, beta_scale=1.0, forecast_horizon=3)
    with pytest.raises(ValueError, match="forecast_horizon needs the observed y"):
        handlers.seed(arma_model, rng_key)(num_steps=5, forecast_horizon=3)
    assert jax.numpy.shape(trace["y_forecast"]["value"]) == (3,)
