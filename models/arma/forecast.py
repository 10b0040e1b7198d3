"""Forecasts of an ARMA(p, q) series at fixed parameters, from the Kalman filter.

After filtering y_1..y_T (NaN gaps allowed) the state alpha_{T+1} given the data is
N(a, P), from the exact likelihood's fast path (:func:`models.arma.exact.arma_filter_state`:
after the steady-state tail, a comes from the last r values and innovations and P is
sigma^2 R R', so a forecast costs about one conditional-likelihood pass, not a covariance
recursion over the series). With c_i = first row of Tm^i and psi_i = c_i . R (the
MA(infinity) weights), y_{T+j} - mu = c_{j-1} alpha_{T+1} + sum_{k=2..j} psi_{j-k} eps_{T+k},
so the h future values are jointly Gaussian with::

    mean_j = mu + c_{j-1} a
    cov_ij = c_{i-1} P c_{j-1}' + sigma^2 sum_{k=2..min(i,j)} psi_{i-k} psi_{j-k}

The diagonal is statsmodels' ``get_forecast(h).var_pred_mean``. Parameter uncertainty
enters by drawing from this distribution once per posterior draw (``Predictive`` on
:func:`models.arma.model.arma_exact_model` with ``forecast_horizon``).
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike

from models.arma.checks import check_arma_args
from models.arma.exact import arma_filter_state, arma_system

__all__ = ["ARMAForecast", "arma_forecast", "arma_forecast_distribution", "shock_loading_matrix"]


class ARMAForecast(NamedTuple):
    """h-step-ahead predictive moments.

    Attributes:
        mean: E[y_{T+j} | y], shape (h,).
        variance: Var[y_{T+j} | y], shape (h,).
        covariance: joint covariance of y_{T+1..T+h}, shape (h, h).
    """

    mean: Array
    variance: Array
    covariance: Array



def shock_loading_matrix(psi: ArrayLike, first_shock: int = 0) -> Array:
    """How each future shock reaches each future value: ``L[j, k] = psi[j - k]``.

    Lower triangular in (j, k); columns before ``first_shock`` are zero (the shocks whose
    effect a filter's state covariance already carries). All three ARMA forecasts (exact,
    SARIMA, conditional) build their covariance from this matrix.

    Args:
        psi: MA(infinity) weights psi_0..psi_{h-1}, shape (h,).
        first_shock: index of the first shock column that is not zero.

    Returns:
        L, shape (h, h).

    Example:
        >>> import jax.numpy as jnp
        >>> shock_loading_matrix(jnp.array([1.0, 0.5, 0.25]), first_shock=1).tolist()
        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 1.0]]
    """
    psi = jnp.asarray(psi)
    index = jnp.arange(psi.shape[0])
    lag = index[:, None] - index[None, :]
    keep = (lag >= 0) & (index[None, :] >= first_shock)
    return jnp.where(keep, psi[jnp.clip(lag, 0, None)], 0.0)


def arma_forecast(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    horizon: int,
) -> ARMAForecast:
    """Predictive mean, variance and joint covariance of the next ``horizon`` values.

    Args:
        y: observed series, shape (T,), NaN where missing.
        mu: process mean, scalar.
        phi: AR coefficients, shape (p,), stationary.
        theta: MA coefficients, shape (q,).
        sigma: innovation standard deviation, scalar.
        horizon: h >= 1.

    Returns:
        :class:`ARMAForecast` with shapes (h,), (h,), (h, h).

    Example:
        AR(1): mean mu + phi^j (y_T - mu), variance sigma^2 (1 - phi^(2j)) / (1 - phi^2).

        >>> import jax.numpy as jnp
        >>> f = arma_forecast(jnp.array([0.0, 2.0]), 0.0, jnp.array([0.5]), jnp.zeros(0), 1.0, 3)
        >>> print(f.mean.round(4), f.variance.round(4))
        [1.   0.5  0.25] [1.     1.25   1.3125]
    """
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"arma_forecast: horizon must be an integer >= 1, got {horizon!r}")
    y, mu, phi, theta, sigma = check_arma_args(y, mu, phi, theta, sigma, "arma_forecast")
    # The filter's final state, from the fast path: after its steady-state tail that is the
    # tail's last values, not a second pass over the series.
    a, P = arma_filter_state(y, mu, phi, theta, sigma)
    transition, loading = arma_system(phi, theta)

    def next_row(row, _):
        return row @ transition, row

    first_row = jnp.zeros(transition.shape[0], y.dtype).at[0].set(1.0)
    _, rows = lax.scan(next_row, first_row, None, length=horizon)  # c_0 .. c_{h-1}, (h, r)
    psi = rows @ loading  # psi_0 .. psi_{h-1}
    # Shock eps_{T+1} is already in P (the filter's state covariance); the later ones are not.
    shocks = shock_loading_matrix(psi, first_shock=1)
    covariance = rows @ P @ rows.T + sigma**2 * shocks @ shocks.T
    covariance = 0.5 * (covariance + covariance.T)
    return ARMAForecast(mu + rows @ a, jnp.diag(covariance), covariance)


def arma_forecast_distribution(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    horizon: int,
) -> dist.MultivariateNormal:
    """The joint predictive distribution of y_{T+1..T+h} given y, at fixed parameters.

    Args:
        y, mu, phi, theta, sigma, horizon: as in :func:`arma_forecast`.

    Returns:
        ``MultivariateNormal`` with event shape (h,).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> d = arma_forecast_distribution(jnp.zeros(5), 0.0, jnp.array([0.5]), jnp.zeros(0),
        ...                                1.0, 4)
        >>> print(d.event_shape, d.sample(jax.random.PRNGKey(7)).shape)
        (4,) (4,)
    """
    forecast = arma_forecast(y, mu, phi, theta, sigma, horizon)
    return dist.MultivariateNormal(forecast.mean, covariance_matrix=forecast.covariance)
