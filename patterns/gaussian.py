"""Gaussian log-densities, written once for every filter and likelihood that needs them.

Two forms recur in state-space and ARMA code:

* many independent errors with one scale, where only ``sum_t e_t^2`` is needed
  (:func:`normal_loglik_from_sum_of_squares`): the conditional ARMA likelihood and the
  steady-state tail of the exact one;
* one multivariate innovation with some entries missing (:func:`masked_mvn_logpdf`), the
  Kalman filter's one-step predictive density after :func:`patterns.linear_gaussian.
  mask_missing` has made the missing entries harmless.
"""

import math

import jax.numpy as jnp
from jax import Array
from jax.scipy.linalg import cho_solve
from jax.typing import ArrayLike

__all__ = ["LOG_2PI", "masked_mvn_logpdf", "normal_loglik_from_sum_of_squares"]

#: log(2 pi), the constant of every Gaussian log-density.
LOG_2PI = math.log(2.0 * math.pi)


def normal_loglik_from_sum_of_squares(
    sum_of_squares: ArrayLike, count: int | ArrayLike, sigma: ArrayLike
) -> Array:
    """``sum_t log N(e_t | 0, sigma^2)`` over ``count`` errors, from ``sum_t e_t^2`` alone.

    Returns ``-inf``, never NaN, when the sum is not finite: a recursion that overflowed
    (an MA part far outside the invertible region) has zero density, and a sampler's
    initialisation can then reject the point instead of stopping on a NaN.

    Args:
        sum_of_squares: scalar (or any shape, elementwise).
        count: number of errors summed.
        sigma: standard deviation, > 0, broadcastable with ``sum_of_squares``.

    Returns:
        The log-likelihood, shape of ``sum_of_squares``.

    Example:
        >>> import jax.numpy as jnp
        >>> print(f"{float(normal_loglik_from_sum_of_squares(0.0, 2, 1.0)):.4f}")  # -log(2 pi)
        -1.8379
        >>> print(normal_loglik_from_sum_of_squares(jnp.inf, 2, 1.0))
        -inf
    """
    sum_of_squares, sigma = jnp.asarray(sum_of_squares), jnp.asarray(sigma)
    loglik = (
        -0.5 * sum_of_squares / jnp.square(sigma)
        - count * jnp.log(sigma)
        - 0.5 * count * LOG_2PI
    )
    return jnp.where(jnp.isfinite(loglik), loglik, -jnp.inf)


def masked_mvn_logpdf(residual: ArrayLike, chol: ArrayLike, num_missing: ArrayLike = 0) -> Array:
    """``log N(residual | 0, S)`` with ``S = chol chol'``, less the missing entries.

    :func:`patterns.linear_gaussian.mask_missing` gives a missing entry the value 0 and
    unit variance, uncorrelated with the rest: it then contributes exactly ``-log(2 pi)/2``,
    which is added back here, so the result is the log-density of the observed entries only
    and every shape stays static under ``jit`` and ``scan``.

    Args:
        residual: shape (m,).
        chol: lower Cholesky factor of S, shape (m, m).
        num_missing: how many of the m entries are masked, scalar.

    Returns:
        Scalar log-density.

    Example:
        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> chol = jnp.diag(jnp.array([2.0, 1.0]))  # entry 2 is a masked missing value
        >>> got = masked_mvn_logpdf(jnp.array([0.5, 0.0]), chol, num_missing=1)
        >>> print(jnp.allclose(got, norm.logpdf(0.5, 0.0, 2.0)))
        True
    """
    residual, chol = jnp.asarray(residual), jnp.asarray(chol)
    return -0.5 * (
        residual.shape[0] * LOG_2PI
        + 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
        + residual @ cho_solve((chol, True), residual)
    ) + 0.5 * LOG_2PI * jnp.asarray(num_missing)
