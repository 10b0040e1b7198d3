"""Forecasts of the conditional ARMA(p, q) recursion at fixed parameters.

The conditional likelihood treats the recursion

    y_t = c + sum_i phi_i y_{t-i} + sum_j theta_j eps_{t-j} + eps_t,   eps_t ~ N(0, sigma^2)

as the model, started from fixed pre-sample values. Given y_1..y_T the errors eps_1..eps_T
are known exactly (:func:`models.arma.conditional.arma_residuals`), so the next h values are
jointly Gaussian with

    mean_j  = the recursion run forward with future errors set to 0
    y - mean = sigma L eps_future,   L[j, k] = psi_{j-k}  (lower triangular)

where psi are the MA(infinity) weights of (phi, theta): psi_0 = 1, psi_m = theta_m +
sum_{i=1..min(m, p)} phi_i psi_{m-i}. Nothing here needs stationarity: the recursion is
what the conditional likelihood scored, whatever its coefficients. For a stationary and
invertible model on a long series these are the exact (Kalman) forecasts, because the
errors' pre-sample start is then forgotten (tests/test_arma_conditional_forecast.py checks
this against statsmodels' ``get_forecast``).
"""

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from models.arma.checks import check_conditional_args
from models.arma.conditional import arma_residuals
from models.arma.forecast import ARMAForecast, shock_loading_matrix

__all__ = ["conditional_arma_forecast", "ma_infinity_weights"]


def ma_infinity_weights(phi: ArrayLike, theta: ArrayLike, count: int) -> Array:
    """The first ``count`` MA(infinity) weights psi_0..psi_{count-1} of ARMA(phi, theta).

    Args:
        phi: AR coefficients, shape (p,).
        theta: MA coefficients, shape (q,).
        count: how many weights, >= 1.

    Returns:
        psi, shape (count,), psi_0 = 1.

    Example:
        AR(1): psi_m = phi^m.

        >>> import jax.numpy as jnp
        >>> print(ma_infinity_weights(jnp.array([0.5]), jnp.zeros(0), 4))
        [1.    0.5   0.25  0.125]
    """
    phi, theta = jnp.asarray(phi), jnp.asarray(theta)
    p, q = phi.shape[0], theta.shape[0]
    dtype = jnp.result_type(phi, theta, float)
    theta_padded = jnp.zeros(count, dtype).at[1:q + 1].set(theta[:max(count - 1, 0)])

    def step(past: Array, m: Array) -> tuple[Array, Array]:
        # past[i] = psi_{m-1-i}, zero before psi_0
        value = theta_padded[m] + (jnp.dot(phi, past[:p]) if p else 0.0)
        value = jnp.where(m == 0, 1.0, value)
        return jnp.roll(past, 1).at[0].set(value), value

    _, psi = lax.scan(step, jnp.zeros(max(p, 1), dtype), jnp.arange(count))
    return psi


def conditional_arma_forecast(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    horizon: int,
    *,
    initial_y: ArrayLike | None = None,
) -> ARMAForecast:
    """Predictive mean, variance and joint covariance of the recursion's next values.

    Args:
        y: the modelled observations, shape (T,), T >= 1, no NaN (the conditional
            likelihood has no gaps).
        intercept: c, scalar.
        phi: AR coefficients, shape (p,).
        theta: MA coefficients, shape (q,).
        sigma: innovation standard deviation, scalar.
        horizon: h >= 1.
        initial_y: the p values before ``y[0]`` as the likelihood used them (``None``: the
            intercept, as :func:`models.arma.conditional.arma_residuals`).

    Returns:
        :class:`models.arma.forecast.ARMAForecast` with shapes (h,), (h,), (h, h).

    Example:
        AR(1) with c = 0: mean phi^j y_T, variance sigma^2 (1 + phi^2 + ... + phi^(2(j-1))).

        >>> import jax.numpy as jnp
        >>> f = conditional_arma_forecast(jnp.array([0.0, 2.0]), 0.0, jnp.array([0.5]),
        ...                               jnp.zeros(0), 1.0, 3)
        >>> print(f.mean.round(4), f.variance.round(4))
        [1.   0.5  0.25] [1.     1.25   1.3125]
    """
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"conditional_arma_forecast: horizon must be an integer >= 1, "
                         f"got {horizon!r}")
    y, intercept, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                                 initial_y)
    p, q = phi.shape[0], theta.shape[0]
    errors = arma_residuals(y, intercept, phi, theta, initial_y=initial_y)
    history = jnp.concatenate([jnp.broadcast_to(intercept, (p,)).astype(y.dtype)
                               if initial_y is None else initial_y, y])[::-1][:p]
    past_errors = jnp.concatenate([jnp.zeros(q, errors.dtype), errors])[::-1][:q]

    def step(carry: tuple[Array, Array], _: None) -> tuple[tuple[Array, Array], Array]:
        values, shocks = carry  # most recent first
        mean = intercept + jnp.dot(phi, values) + jnp.dot(theta, shocks)
        values = jnp.concatenate([mean[None], values])[:p]
        shocks = jnp.concatenate([jnp.zeros(1, shocks.dtype), shocks])[:q]
        return (values, shocks), mean

    _, mean = lax.scan(step, (history, past_errors), None, length=horizon)
    psi = ma_infinity_weights(phi, theta, horizon)
    scale_tril = shock_loading_matrix(psi) * sigma
    covariance = scale_tril @ scale_tril.T
    return ARMAForecast(mean=mean, variance=jnp.diagonal(covariance), covariance=covariance)
