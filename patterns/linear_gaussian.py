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

__all__ = [
    "KalmanFilterResult",
    "LinearGaussianSSM",
    "check_linear_gaussian_args",
    "check_linear_recurrence_args",
    "mask_missing",
    "solve_discrete_lyapunov",
]


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


def mask_missing(
    ssm: LinearGaussianSSM, y_t: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Per-time observation model with the NaN entries of ``y_t`` made harmless.

    A missing entry gets a zero row in H, a zero offset, a unit variance uncorrelated with
    the rest and the value 0: its innovation is then exactly 0 with variance 1, it adds
    nothing to the gain, and its log-density term is -log(2 pi)/2, which the caller adds
    back. This keeps every shape static, so the filters stay jit- and scan-friendly.

    Args:
        ssm: the model, observation size m, state size n.
        y_t: one observation, shape (m,), NaN where missing.

    Returns:
        ``(y, H, d, R, num_missing)`` with shapes (m,), (m, n), (m,), (m, m), ().

    Example:
        >>> import jax.numpy as jnp
        >>> ssm = LinearGaussianSSM(jnp.zeros(1), jnp.eye(1), jnp.eye(1), jnp.eye(1),
        ...                         jnp.ones((2, 1)), jnp.ones(2), 2.0 * jnp.eye(2))
        >>> y, H, d, R, num_missing = mask_missing(ssm, jnp.array([0.5, jnp.nan]))
        >>> print(y, H[:, 0], d, jnp.diag(R), int(num_missing))
        [0.5 0. ] [1. 0.] [1. 0.] [2. 1.] 1
    """
    missing = jnp.isnan(y_t)
    observed = ~missing
    y = jnp.where(missing, 0.0, y_t)
    H = jnp.where(observed[:, None], ssm.observation_matrix, 0.0)
    d = jnp.where(missing, 0.0, ssm.observation_offset)
    both = observed[:, None] & observed[None, :]
    R = jnp.where(both, ssm.observation_cov, 0.0) + jnp.diag(missing.astype(y.dtype))
    return y, H, d, R, jnp.sum(missing)


def check_linear_recurrence_args(
    a: ArrayLike, b: ArrayLike, init: ArrayLike
) -> tuple[Array, Array, Array]:
    """Arguments of ``x_t = a_t x_{t-1} + b_t`` checked and cast to one dtype.

    The contract both ``linear_recurrence`` twins (:mod:`patterns.sequential`,
    :mod:`patterns.parallel`) share: ``a`` and ``b`` of one shape (T, ...), ``init`` of
    shape (...).

    Example:
        >>> import jax.numpy as jnp
        >>> check_linear_recurrence_args(jnp.ones(3), jnp.ones(2), 0.0)
        Traceback (most recent call last):
        ...
        ValueError: linear_recurrence: a and b must have the same shape (T, ...), got (3,) and (2,)
    """
    a, b, init = jnp.asarray(a), jnp.asarray(b), jnp.asarray(init)
    if a.shape != b.shape or a.ndim < 1:
        raise ValueError(
            f"linear_recurrence: a and b must have the same shape (T, ...), got "
            f"{a.shape} and {b.shape}"
        )
    if init.shape != a.shape[1:]:
        raise ValueError(
            f"linear_recurrence: init must have shape {a.shape[1:]}, got {init.shape}"
        )
    dtype = jnp.result_type(a, b, init)
    return a.astype(dtype), b.astype(dtype), init.astype(dtype)


def solve_discrete_lyapunov(transition_matrix: ArrayLike, noise_cov: ArrayLike) -> Array:
    """Solve ``P = A P A' + Q`` exactly, as the linear system ``(I - A (x) A) vec P = vec Q``.

    The stationary covariance of ``x_{t+1} = A x_t + w_t``, ``w_t ~ N(0, Q)``, when every
    eigenvalue of A is inside the unit circle: the initial covariance of a stationary
    state-space model. O(n^6) work, fine for small states (an ARMA(p, q) state has
    n = max(p, q + 1)); no iteration, so no convergence to check, and exact gradients.

    Args:
        transition_matrix: A, shape (n, n).
        noise_cov: Q, shape (n, n), symmetric.

    Returns:
        P, shape (n, n), symmetric.

    Example:
        AR(1): the variance is sigma^2 / (1 - phi^2).

        >>> import jax.numpy as jnp
        >>> print(solve_discrete_lyapunov(jnp.array([[0.5]]), jnp.array([[3.0]])))
        [[4.]]
    """
    A, Q = jnp.asarray(transition_matrix), jnp.asarray(noise_cov)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or Q.shape != A.shape:
        raise ValueError(
            f"solve_discrete_lyapunov: need square A and Q of the same shape, got {A.shape} "
            f"and {Q.shape}"
        )
    n = A.shape[0]
    # Row-major vec: vec(A P A') = (A kron A) vec(P).
    system = jnp.eye(n * n, dtype=A.dtype) - jnp.kron(A, A)
    P = jnp.linalg.solve(system, Q.reshape(n * n)).reshape(n, n)
    return 0.5 * (P + P.T)
