"""Parallel recurrences with ``lax.associative_scan`` (O(log T) depth, O(T) work).

A recurrence can run in parallel when its steps compose associatively. For
``x_t = a_t x_{t-1} + b_t`` each step is the affine map ``x -> a_t x + b_t``, and two maps
compose into one: applying ``(a_1, b_1)`` then ``(a_2, b_2)`` is ``(a_2 a_1, a_2 b_1 + b_2)``.
The prefix compositions, applied to ``x_0``, give every ``x_t``. On a GPU this turns a
length-T loop into about 2 log2(T) rounds; on a CPU the extra work usually costs more than it
saves (see the benchmarks).

Each function here has a twin of the same name in :mod:`patterns.sequential`.
"""

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.scipy.linalg import cho_factor, cho_solve
from jax.typing import ArrayLike

from patterns.gaussian import masked_mvn_logpdf
from patterns.hmm_parallel import (
    hmm_backward_sample,
    hmm_filter,
    hmm_log_likelihood,
    hmm_smoother,
    hmm_viterbi,
)
from patterns.linear_gaussian import (
    KalmanFilterResult,
    LinearGaussianSSM,
    check_linear_gaussian_args,
    check_linear_recurrence_args,
    mask_missing,
)

__all__ = [
    "hmm_backward_sample",
    "hmm_filter",
    "hmm_log_likelihood",
    "hmm_smoother",
    "hmm_viterbi",
    "kalman_filter",
    "linear_recurrence",
]


def _compose_affine(earlier, later):
    a1, b1 = earlier
    a2, b2 = later
    return a2 * a1, a2 * b1 + b2


def linear_recurrence(a: ArrayLike, b: ArrayLike, init: ArrayLike) -> Array:
    """Solve ``x_t = a_t * x_{t-1} + b_t`` for t = 1..T, with ``x_0 = init``, in parallel.

    Same contract as :func:`patterns.sequential.linear_recurrence`.

    Args:
        a: coefficients, shape (T, ...).
        b: inputs, shape (T, ...).
        init: ``x_0``, shape (...).

    Returns:
        ``x_1 .. x_T``, shape (T, ...).

    Example:
        >>> import jax.numpy as jnp
        >>> print(linear_recurrence(jnp.array([2.0, 2.0, 0.5]), jnp.array([1.0, 1.0, 1.0]),
        ...                         jnp.array(0.0)))
        [1. 3. 2.5]
    """
    a, b, init = check_linear_recurrence_args(a, b, init)
    if a.shape[0] == 0:
        return b  # T = 0: nothing to solve, and b.at[0] below would index an empty axis
    # Fold x_0 into the first input: x_1 = a_1 x_0 + b_1, so later steps need no init.
    b = b.at[0].add(a[0] * init)
    _, xs = lax.associative_scan(_compose_affine, (a, b))
    return xs


def _mT(x: Array) -> Array:
    return jnp.swapaxes(x, -1, -2)


def _filtering_element(ssm: LinearGaussianSSM, y_t: Array, first: Array):
    """Särkkä & García-Fernández (2021) element (A, b, C, eta, J) of one time step.

    The element is the filter's answer to "x_t given x_{t-1} and y_t": x_t ~ N(A x_{t-1} + b,
    C), together with the information (eta, J) that y_t carries about x_{t-1}. For the first
    step the prior of x_1 stands in for the transition, so A = 0 and eta = J = 0.
    """
    n = ssm.initial_mean.shape[0]
    eye = jnp.eye(n, dtype=y_t.dtype)
    F = ssm.transition_matrix
    y_obs, H, d, R, _ = mask_missing(ssm, y_t)
    # Step 1 starts from the prior of x_1; later steps from x_{t-1} = 0 plus the noise Q.
    m_prior = jnp.where(first, ssm.initial_mean, 0.0)
    P_prior = jnp.where(first, ssm.initial_cov, ssm.transition_cov)
    S = H @ P_prior @ H.T + R
    chol = cho_factor(0.5 * (S + S.T), lower=True)
    gain = cho_solve(chol, H @ P_prior).T
    b = m_prior + gain @ (y_obs - H @ m_prior - d)
    C = P_prior - gain @ S @ gain.T
    HF = H @ F
    A = jnp.where(first, 0.0, (eye - gain @ H) @ F)
    eta = jnp.where(first, 0.0, HF.T @ cho_solve(chol, y_obs - d))
    J = jnp.where(first, 0.0, HF.T @ cho_solve(chol, HF))
    return A, b, C, eta, J


def _combine_elements(earlier, later):
    """Associative combination of two filtering elements (batched over a leading axis)."""
    A_i, b_i, C_i, eta_i, J_i = earlier
    A_j, b_j, C_j, eta_j, J_j = later
    n = A_i.shape[-1]
    # The batch axes come first; rank promotion may be "raise", so broadcast I explicitly.
    eye = jnp.broadcast_to(jnp.eye(n, dtype=A_i.dtype), A_i.shape)
    # One inverse serves both halves: I + J_j C_i is the transpose of M (C, J symmetric).
    M_inv = jnp.linalg.inv(eye + C_i @ J_j)
    AM = A_j @ M_inv
    A = AM @ A_i
    b = (AM @ (b_i + (C_i @ eta_j[..., None])[..., 0])[..., None])[..., 0] + b_j
    C = AM @ C_i @ _mT(A_j) + C_j
    AN = _mT(A_i) @ _mT(M_inv)
    eta = (AN @ (eta_j - (J_j @ b_i[..., None])[..., 0])[..., None])[..., 0] + eta_i
    J = AN @ J_j @ A_i + J_i
    J = 0.5 * (J + _mT(J))
    return A, b, C, eta, J


def kalman_filter(ssm: LinearGaussianSSM, observations: ArrayLike) -> KalmanFilterResult:
    """Kalman filter by ``lax.associative_scan`` (Särkkä & García-Fernández, 2021).

    Same contract as :func:`patterns.sequential.kalman_filter`, NaN entries included. Each
    time step becomes an element (A, b, C, eta, J) describing x_t given x_{t-1} and y_t; the
    elements combine associatively, so all filtered moments come out of one prefix scan of
    O(log T) depth. The log-likelihood then follows from the one-step predictions, computed
    for all t at once.

    Args:
        ssm: :class:`~patterns.linear_gaussian.LinearGaussianSSM`, state size n, observation
            size m.
        observations: shape (T, m), NaN where missing.

    Returns:
        :class:`~patterns.linear_gaussian.KalmanFilterResult`: ``log_likelihood`` (),
        ``filtered_means`` (T, n), ``filtered_covs`` (T, n, n).

    Example:
        >>> import jax.numpy as jnp
        >>> ssm = LinearGaussianSSM(jnp.zeros(1), jnp.eye(1), jnp.eye(1), jnp.eye(1),
        ...                         jnp.eye(1), jnp.zeros(1), jnp.eye(1))
        >>> out = kalman_filter(ssm, jnp.array([[0.0], [jnp.nan]]))
        >>> print(out.filtered_means[:, 0], out.filtered_covs[:, 0, 0].round(4))
        [0. 0.] [0.5 1.5]
        >>> print(round(float(out.log_likelihood), 6))  # log N(0; 0, 2)
        -1.265512
    """
    ssm, y = check_linear_gaussian_args(ssm, observations, "kalman_filter")
    return _parallel_kalman_filter(ssm, y)


@jax.jit
def _parallel_kalman_filter(ssm: LinearGaussianSSM, y: Array) -> KalmanFilterResult:
    # jit matters here: run eagerly, the O(log T) levels of associative_scan would dispatch
    # (and compile) every small matrix operation one by one.
    num_steps = y.shape[0]
    first = jnp.arange(num_steps) == 0
    elements = jax.vmap(_filtering_element, in_axes=(None, 0, 0))(ssm, y, first)
    _, means, covs, _, _ = lax.associative_scan(_combine_elements, elements)
    covs = 0.5 * (covs + _mT(covs))

    # One-step predictions: from the prior at t = 1, from the filtered x_{t-1} afterwards.
    F, Q = ssm.transition_matrix, ssm.transition_cov
    m_pred = jnp.concatenate([ssm.initial_mean[None], means[:-1] @ F.T], 0)
    P_pred = jnp.concatenate([ssm.initial_cov[None], F @ covs[:-1] @ F.T + Q[None]], 0)
    def predictive_logpdf(m, P, y_t):
        y_obs, H, d, R, num_missing = mask_missing(ssm, y_t)
        S = H @ P @ H.T + R
        chol = cho_factor(0.5 * (S + S.T), lower=True)
        return masked_mvn_logpdf(y_obs - H @ m - d, chol[0], num_missing)

    loglik = jnp.sum(jax.vmap(predictive_logpdf)(m_pred, P_pred, y))
    return KalmanFilterResult(loglik, means, covs)
