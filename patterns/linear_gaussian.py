"""Containers for the linear-Gaussian state-space model and its Kalman filter.

The model, for t = 1..T, with state ``x_t`` of size n and observation ``y_t`` of size m::

    x_1 ~ N(initial_mean, initial_cov)
    x_t = transition_matrix @ x_{t-1} + w_t,        w_t ~ N(0, transition_cov)   (t >= 2)
    y_t = observation_matrix @ x_t + observation_offset + v_t,
                                                    v_t ~ N(0, observation_cov)

``initial_mean`` is the distribution of the *first* state, before the first observation
(no transition precedes it). The two filters sharing this contract are
:func:`patterns.sequential.kalman_filter` (``lax.scan``) and
:func:`patterns.parallel.kalman_filter` (``lax.associative_scan``).

Missing values: a NaN entry of ``y_t`` is not observed; the filters drop it from the update
and from the likelihood (the likelihood is that of the observed entries only).
"""

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

__all__ = ["KalmanFilterResult", "LinearGaussianSSM", "check_linear_gaussian_args"]


class LinearGaussianSSM(NamedTuple):
    """Parameters of a time-invariant linear-Gaussian state-space model.

    Attributes:
        initial_mean: mean of ``x_1``, shape (n,).
        initial_cov: covariance of ``x_1``, shape (n, n).
        transition_matrix: shape (n, n).
        transition_cov: covariance of the state noise, shape (n, n); may be singular.
        observation_matrix: shape (m, n).
        observation_offset: shape (m,).
        observation_cov: covariance of the observation noise, shape (m, m); may be zero as
            long as ``observation_matrix @ P @ observation_matrix.T`` is positive definite
            for the predicted covariances P met along the way (true for ARMA).

    Example:
        >>> import jax.numpy as jnp
        >>> ssm = LinearGaussianSSM(jnp.zeros(1), jnp.eye(1), 0.5 * jnp.eye(1), jnp.eye(1),
        ...                         jnp.eye(1), jnp.zeros(1), jnp.eye(1))
        >>> ssm.transition_matrix.shape
        (1, 1)
    """

    initial_mean: Array
    initial_cov: Array
    transition_matrix: Array
    transition_cov: Array
    observation_matrix: Array
    observation_offset: Array
    observation_cov: Array


class KalmanFilterResult(NamedTuple):
    """Output of a Kalman filter.

    Attributes:
        log_likelihood: log p(y_1..y_T) of the observed entries, scalar.
        filtered_means: E[x_t | y_1..y_t], shape (T, n).
        filtered_covs: Cov[x_t | y_1..y_t], shape (T, n, n).
    """

    log_likelihood: Array
    filtered_means: Array
    filtered_covs: Array


def check_linear_gaussian_args(
    ssm: LinearGaussianSSM, observations: ArrayLike, name: str
) -> tuple[LinearGaussianSSM, Array]:
    """Check shapes and cast everything to one floating dtype; ValueError names the problem.

    Args:
        ssm: the model.
        observations: shape (T, m), NaN where missing.
        name: the calling function, for messages.

    Returns:
        ``(ssm, observations)`` as arrays of a common floating dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> ssm = LinearGaussianSSM(jnp.zeros(1), jnp.eye(1), jnp.eye(1), jnp.eye(1),
        ...                         jnp.eye(1), jnp.zeros(1), jnp.eye(1))
        >>> check_linear_gaussian_args(ssm, jnp.zeros(3), "f")
        Traceback (most recent call last):
        ...
        ValueError: f: observations must have shape (T, m) with T >= 1, got (3,)
    """
    ssm = LinearGaussianSSM(*(jnp.asarray(a) for a in ssm))
    y = jnp.asarray(observations)
    if y.ndim != 2 or y.shape[0] < 1:
        raise ValueError(f"{name}: observations must have shape (T, m) with T >= 1, got {y.shape}")
    m = y.shape[1]
    n = ssm.initial_mean.shape[0] if ssm.initial_mean.ndim == 1 else -1
    expected = {
        "initial_mean": (n,),
        "initial_cov": (n, n),
        "transition_matrix": (n, n),
        "transition_cov": (n, n),
        "observation_matrix": (m, n),
        "observation_offset": (m,),
        "observation_cov": (m, m),
    }
    for field, shape in expected.items():
        got = getattr(ssm, field).shape
        if n < 0 or got != shape:
            raise ValueError(
                f"{name}: {field} must have shape {shape} (state size n from initial_mean, "
                f"m from observations), got {got}"
            )
    dtype = jnp.result_type(float, y, *ssm)
    return LinearGaussianSSM(*(a.astype(dtype) for a in ssm)), y.astype(dtype)


def _mask_missing(
    ssm: LinearGaussianSSM, y_t: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Per-time observation model with the NaN entries of ``y_t`` made harmless.

    A missing entry gets a zero row in H, a zero offset, a unit variance uncorrelated with
    the rest and the value 0: its innovation is then exactly 0 with variance 1, it adds
    nothing to the gain, and its log-density term is -log(2 pi)/2, which the caller adds
    back. This keeps every shape static, so the filters stay jit- and scan-friendly.

    Returns:
        ``(y, H, d, R, num_missing)`` with shapes (m,), (m, n), (m,), (m, m), ().
    """
    missing = jnp.isnan(y_t)
    observed = ~missing
    y = jnp.where(missing, 0.0, y_t)
    H = jnp.where(observed[:, None], ssm.observation_matrix, 0.0)
    d = jnp.where(missing, 0.0, ssm.observation_offset)
    both = observed[:, None] & observed[None, :]
    R = jnp.where(both, ssm.observation_cov, 0.0) + jnp.diag(missing.astype(y.dtype))
    return y, H, d, R, jnp.sum(missing)
