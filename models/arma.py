r"""Conditional ARMA(p, q) through one ``lax.scan``.

The model, with intercept :math:`\mu` (not the process mean, which is
:math:`\mu / (1 - \sum_i \phi_i)`):

.. math::

    y_t = \mu + \sum_{i=1}^p \phi_i y_{t-i} + \sum_{j=1}^q \theta_j \varepsilon_{t-j}
          + \varepsilon_t, \qquad \varepsilon_t \sim \mathcal N(0, \sigma^2).

The *conditional* (recursive-error, "CSS") likelihood fixes the values before the first
modelled observation and recovers the errors one step at a time,
:math:`\varepsilon_t = y_t - \nu_t`. That recursion is a ``lax.scan`` whose carry is two lag
buffers (:func:`patterns.push_lag`): the last p observations and the last q errors.

Two conventions for the values before the start, both from posteriordb:

* ``initial_y=None`` (``arma11``): pre-sample observations equal :math:`\mu`, pre-sample
  errors are 0, and all T observations are modelled. ``nu[1] = mu + phi * mu``.
* ``initial_y=y[:p]`` (``arK``): the first p observations are given, not modelled;
  pre-sample errors are 0.

The likelihood is exact for the stated start, but it ignores the information in the first
observations and does not keep :math:`\phi, \theta` stationary or invertible;
:mod:`models.arma_exact` has the exact Gaussian likelihood.

Outside the invertible region the errors grow like :math:`|\theta|^t` and overflow (in
float32 already at T of a few hundred). Written as an observed ``Normal(loc=nu)``, such a
draw makes NumPyro's argument validation raise during initialisation; here the
log-likelihood of a non-finite recursion is :math:`-\infty`, so the point is rejected and
initialisation tries another.

Reference: Box, Jenkins, Reinsel & Ljung, *Time Series Analysis*, 5th ed. (2015), §7.1.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from patterns import push_lag

__all__ = [
    "ConditionalARMA",
    "arma_conditional_loglik",
    "arma_model",
    "arma_residuals",
    "check_model_series",
    "sample_coefficients",
    "simulate_arma",
]


def _initial_lags(mu: Array, phi: Array, initial_y: ArrayLike | None) -> Array:
    p = phi.shape[0]
    if initial_y is None:
        return jnp.full((p,), mu, dtype=jnp.result_type(mu, phi))
    initial_y = jnp.asarray(initial_y)
    if initial_y.shape != (p,):
        raise ValueError(f"initial_y must have shape (p,) = ({p},), got {initial_y.shape}")
    # the lag buffer is newest first; initial_y is in time order
    return initial_y[::-1].astype(jnp.result_type(mu, phi, initial_y))


def _check_coefficients(phi: ArrayLike, theta: ArrayLike) -> tuple[Array, Array]:
    phi, theta = jnp.asarray(phi), jnp.asarray(theta)
    if phi.ndim != 1 or theta.ndim != 1:
        raise ValueError(
            f"phi and theta must have shapes (p,) and (q,), got {phi.shape} and {theta.shape}"
        )
    return phi, theta


def _check_arguments(
    y: ArrayLike, mu: ArrayLike, phi: ArrayLike, theta: ArrayLike, initial_y: ArrayLike | None
) -> tuple[Array, Array, Array, Array, Array | None]:
    """(y (T,), mu (), phi (p,), theta (q,), initial_y (p,) or None), validated and in one
    floating dtype, or a ValueError that names the argument and its shape."""
    y, mu = jnp.asarray(y), jnp.asarray(mu)
    phi, theta = _check_coefficients(phi, theta)
    if y.ndim != 1 or mu.ndim != 0:
        raise ValueError(f"y must have shape (T,) and mu be a scalar, got {y.shape}, {mu.shape}")
    dtype = jnp.result_type(y, mu, phi, theta)
    if initial_y is not None:
        initial_y = jnp.asarray(initial_y)
        if initial_y.shape != phi.shape:
            raise ValueError(
                f"initial_y must have shape (p,) = ({phi.shape[0]},), got {initial_y.shape}"
            )
        initial_y = initial_y.astype(dtype)
    return y.astype(dtype), mu.astype(dtype), phi.astype(dtype), theta.astype(dtype), initial_y


def _gaussian_loglik(sum_of_squares: Array, num_steps: int, sigma: Array) -> Array:
    """``sum_t log N(e_t | 0, sigma^2)`` from ``sum_t e_t^2``: ``-inf``, never NaN, when the
    errors overflowed."""
    loglik = (
        -0.5 * sum_of_squares / jnp.square(sigma)
        - num_steps * jnp.log(sigma)
        - 0.5 * num_steps * jnp.log(2 * jnp.pi)
    )
    return jnp.where(jnp.isfinite(loglik), loglik, -jnp.inf)


def arma_residuals(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """One-step prediction errors ``eps_t = y_t - nu_t`` of ARMA(p, q), by one ``lax.scan``.

    Args:
        y: modelled observations, shape (T,).
        mu: intercept, scalar.
        phi: AR coefficients, shape (p,), ``phi[i]`` multiplies ``y_{t-i-1}``.
        theta: MA coefficients, shape (q,), ``theta[j]`` multiplies ``eps_{t-j-1}``.
        initial_y: the p observations before ``y[0]``, in time order, shape (p,); ``None``
            sets them to ``mu`` (posteriordb ``arma11``). Pre-sample errors are 0.

    Returns:
        Errors, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> print(arma_residuals(y, 0.0, jnp.array([0.5]), jnp.array([1.0])))
        [ 1.   0.5 -1. ]
    """
    y, mu, phi, theta, initial_y = _check_arguments(y, mu, phi, theta, initial_y)
    y_lags = _initial_lags(mu, phi, initial_y)
    err_lags = jnp.zeros(theta.shape, y.dtype)

    def step(lags, y_t):
        y_lags, err_lags = lags
        err = y_t - (mu + phi @ y_lags + theta @ err_lags)
        return (push_lag(y_lags, y_t), push_lag(err_lags, err)), err

    _, errors = lax.scan(step, (y_lags, err_lags), y)
    return errors


def arma_conditional_loglik(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """Conditional Gaussian log-likelihood of ARMA(p, q): ``sum_t log N(eps_t | 0, sigma^2)``.

    Returns ``-inf`` (never NaN, never an exception) when the error recursion overflows,
    which happens far outside the invertible region.

    Args:
        y: modelled observations, shape (T,).
        mu: intercept, scalar.
        phi: shape (p,).
        theta: shape (q,).
        sigma: innovation standard deviation, scalar > 0.
        initial_y: see :func:`arma_residuals`.

    Returns:
        Scalar log-likelihood.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0.0, 0.0])
        >>> ll = arma_conditional_loglik(y, 0.0, jnp.zeros(1), jnp.zeros(1), 1.0)
        >>> print(f"{float(ll):.4f}")  # two standard normal densities at 0: -log(2 pi)
        -1.8379
    """
    errors = arma_residuals(y, mu, phi, theta, initial_y=initial_y)
    return _gaussian_loglik(jnp.sum(jnp.square(errors)), errors.shape[0], jnp.asarray(sigma))


def simulate_arma(
    key: Array,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    num_steps: int,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """Draw a path of the recursion that :func:`arma_conditional_loglik` scores.

    Pre-sample errors are 0 and pre-sample observations are ``initial_y`` (or ``mu``), so
    the draw has exactly the density ``exp(arma_conditional_loglik(...))``.

    Args:
        key: PRNG key.
        mu, phi, theta, sigma: as in :func:`arma_conditional_loglik`.
        num_steps: T.
        initial_y: shape (p,), or ``None``.

    Returns:
        Simulated series, shape (T,).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> y = simulate_arma(jax.random.PRNGKey(1), 0.0, jnp.array([0.5]), jnp.zeros(0),
        ...                   1.0, num_steps=4)
        >>> print(y.shape)
        (4,)
    """
    mu = jnp.asarray(mu)
    phi, theta = _check_coefficients(phi, theta)
    sigma = jnp.asarray(sigma)
    dtype = jnp.result_type(mu, phi, theta, sigma)
    shocks = sigma * jax.random.normal(key, (num_steps,), dtype)
    y_lags = _initial_lags(mu, phi, initial_y).astype(dtype)
    err_lags = jnp.zeros(theta.shape, dtype)

    def step(lags, err):
        y_lags, err_lags = lags
        y_t = mu + phi @ y_lags + theta @ err_lags + err
        return (push_lag(y_lags, y_t), push_lag(err_lags, err)), y_t

    _, ys = lax.scan(step, (y_lags, err_lags), shocks)
    return ys


class ConditionalARMA(dist.Distribution):
    """A whole ARMA(p, q) series under the conditional likelihood, as one NumPyro distribution.

    ``log_prob`` is :func:`arma_conditional_loglik`; ``sample`` is :func:`simulate_arma`, so
    ``Predictive`` gives posterior-predictive series. Parameters must be unbatched (inside
    MCMC and ``Predictive`` they are).

    Args:
        mu: intercept, scalar.
        phi: shape (p,).
        theta: shape (q,).
        sigma: scalar > 0.
        num_steps: length T of the modelled series (the event shape is (T,)).
        initial_y: the p observations before the series, shape (p,), or ``None`` (``mu``).

    Example:
        >>> import jax.numpy as jnp
        >>> d = ConditionalARMA(0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0, num_steps=3)
        >>> print(d.event_shape, f"{float(d.log_prob(jnp.array([1.0, 2.0, 0.5]))):.4f}")
        (3,) -3.8818
    """

    arg_constraints = {
        "mu": constraints.real,
        "phi": constraints.real_vector,
        "theta": constraints.real_vector,
        "sigma": constraints.positive,
    }
    support = constraints.real_vector
    pytree_data_fields = ("mu", "phi", "theta", "sigma", "initial_y")
    pytree_aux_fields = ("num_steps",)

    def __init__(
        self,
        mu: ArrayLike,
        phi: ArrayLike,
        theta: ArrayLike,
        sigma: ArrayLike,
        *,
        num_steps: int,
        initial_y: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self.mu, self.sigma = jnp.asarray(mu), jnp.asarray(sigma)
        self.phi, self.theta = _check_coefficients(phi, theta)
        if self.mu.ndim or self.sigma.ndim:
            raise ValueError("ConditionalARMA takes unbatched parameters: mu and sigma scalars")
        self.num_steps = int(num_steps)
        self.initial_y = None if initial_y is None else jnp.asarray(initial_y)
        super().__init__(batch_shape=(), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        n = 1
        for s in sample_shape:
            n *= s
        keys = jax.random.split(key, n)
        draws = jax.vmap(
            lambda k: simulate_arma(k, self.mu, self.phi, self.theta, self.sigma,
                                    self.num_steps, initial_y=self.initial_y)
        )(keys)
        return draws.reshape(tuple(sample_shape) + self.event_shape)

    # subclasses swap in another implementation of the same density
    _loglik = staticmethod(arma_conditional_loglik)

    def log_prob(self, value: ArrayLike) -> Array:
        value = jnp.asarray(value)
        if value.shape != self.event_shape:
            raise ValueError(
                f"{type(self).__name__}.log_prob: value must have shape {self.event_shape}, "
                f"got {value.shape}"
            )
        return self._loglik(value, self.mu, self.phi, self.theta, self.sigma,
                            initial_y=self.initial_y)


def check_model_series(
    model_name: str, y: ArrayLike | None, num_steps: int | None, order: tuple[int, int]
) -> tuple[Array | None, int]:
    """Validate an ARMA model's order and series; return ``(y as an array or None, T)``.

    Example:
        >>> y, T = check_model_series("arma_model", [1.0, 2.0, 3.0], None, (1, 1))
        >>> print(y.shape, T)
        (3,) 3
    """
    p, q = order
    if p < 0 or q < 0:
        raise ValueError(f"{model_name}: order must be two integers >= 0, got {order}")
    if y is None:
        if num_steps is None:
            raise ValueError(f"{model_name}: give y or num_steps")
        return None, int(num_steps)
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{model_name}: y must have shape (T,), got {y.shape}")
    return y, y.shape[0]


def sample_coefficients(
    name: str, size: int, make_prior: Callable[[], dist.Distribution]
) -> Array:
    """Sample the coefficient vector ``name`` of shape (size,), or return an empty one.

    An order of 0 gets no sample site at all (so no ``phi`` in the trace of an MA model);
    the prior is only built when it is needed.

    Example:
        >>> import numpyro
        >>> with numpyro.handlers.seed(rng_seed=3):
        ...     print(sample_coefficients("phi", 0, lambda: None).shape)
        (0,)
    """
    if size == 0:
        return jnp.zeros(0, jnp.result_type(float))
    return numpyro.sample(name, make_prior())


def arma_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    num_steps: int | None = None,
    condition_on_first: bool = False,
    mu_scale: float = 10.0,
    phi_scale: float = 2.0,
    theta_scale: float = 2.0,
    sigma_scale: float = 2.5,
) -> None:
    """NumPyro model: conditional ARMA(p, q) with weakly informative priors.

    Priors: ``mu ~ Normal(0, mu_scale)``, ``phi_i ~ Normal(0, phi_scale)``,
    ``theta_j ~ Normal(0, theta_scale)``, ``sigma ~ HalfCauchy(sigma_scale)``. No
    stationarity or invertibility constraint.

    * Defaults with ``order=(1, 1)``: the posteriordb ``arma11`` posterior (pre-sample
      observation = ``mu``, pre-sample error = 0, all T observations modelled).
    * ``order=(5, 0), condition_on_first=True, phi_scale=10``: posteriordb ``arK`` (the first
      p observations are conditioned on, not modelled).

    Sites: ``mu``, ``phi`` (p,) and ``theta`` (q,) when p, q > 0, ``sigma``, and the observed
    ``y`` of shape (T,) (or (T - p,) with ``condition_on_first``).

    Args:
        y: the series, shape (T,); ``None`` to simulate (then ``num_steps`` is needed).
        order: (p, q).
        num_steps: T when ``y`` is ``None``.
        condition_on_first: condition on ``y[:p]`` instead of starting from ``mu``.
        mu_scale, phi_scale, theta_scale, sigma_scale: prior scales.

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> prior = Predictive(arma_model, num_samples=2)(jax.random.PRNGKey(2), num_steps=5)
        >>> print(prior["y"].shape, prior["phi"].shape, prior["theta"].shape)
        (2, 5) (2, 1) (2, 1)
    """
    p, q = order
    y, num_steps = check_model_series("arma_model", y, num_steps, order)
    if y is None and condition_on_first and p > 0:
        raise ValueError("arma_model: condition_on_first needs the observed y")
    if num_steps <= (p if condition_on_first else 0):
        raise ValueError(f"arma_model: series of length {num_steps} too short for order {order}")
    mu = numpyro.sample("mu", dist.Normal(0.0, mu_scale))
    phi = sample_coefficients("phi", p, lambda: dist.Normal(0.0, phi_scale).expand([p]).to_event(1))
    theta = sample_coefficients(
        "theta", q, lambda: dist.Normal(0.0, theta_scale).expand([q]).to_event(1)
    )
    sigma = numpyro.sample("sigma", dist.HalfCauchy(sigma_scale))
    initial_y: Any = None
    obs = y
    if condition_on_first:
        initial_y, obs = y[:p], y[p:]
        num_steps = num_steps - p
    numpyro.sample(
        "y",
        ConditionalARMA(mu, phi, theta, sigma, num_steps=num_steps, initial_y=initial_y),
        obs=obs,
    )
