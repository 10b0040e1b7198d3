"""Sequential recurrences: one ``lax.scan`` step per time point (O(T) depth).

Each function here has a twin of the same name in :mod:`patterns.parallel`, computed with
``lax.associative_scan`` in O(log T) depth; tests check that the two agree in values and
gradients.
"""

import jax.numpy as jnp
from jax import Array, lax
from jax.scipy.linalg import cho_factor, cho_solve
from jax.typing import ArrayLike

from patterns.gaussian import masked_mvn_logpdf
from patterns.hmm_sequential import (
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


def linear_recurrence(a: ArrayLike, b: ArrayLike, init: ArrayLike) -> Array:
    """Solve ``x_t = a_t * x_{t-1} + b_t`` for t = 1..T, with ``x_0 = init``, by ``lax.scan``.

    Elementwise in any trailing dimensions. AR(1) filtering, exponential smoothing and the
    adjoint of every such recurrence have this form.

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

    def step(x_prev, ab):
        a_t, b_t = ab
        x = a_t * x_prev + b_t
        return x, x

    _, xs = lax.scan(step, init, (a, b))
    return xs


def _symmetrize(P: Array) -> Array:
    return 0.5 * (P + P.T)


def kalman_filter(ssm: LinearGaussianSSM, observations: ArrayLike) -> KalmanFilterResult:
    """Kalman filter of a linear-Gaussian state-space model, one ``lax.scan`` step per time.

    The model and the missing-value rule are in :mod:`patterns.linear_gaussian`: NaN entries
    of ``observations`` are skipped in the update and left out of the likelihood. Each step
    predicts, then updates with the observed entries; the log-likelihood is the sum of the
    one-step-ahead predictive log-densities. Use float64 (``jax.enable_x64``) where the
    likelihood is compared or optimised.

    Args:
        ssm: :class:`~patterns.linear_gaussian.LinearGaussianSSM`, state size n, observation
            size m.
        observations: shape (T, m), NaN where missing.

    Returns:
        :class:`~patterns.linear_gaussian.KalmanFilterResult`: ``log_likelihood`` (),
        ``filtered_means`` (T, n), ``filtered_covs`` (T, n, n).

    Example:
        Random walk observed with unit noise; the first observation has variance 1 + 1:

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
    F, Q = ssm.transition_matrix, ssm.transition_cov
    def step(carry, y_t):
        m_pred, P_pred, loglik = carry
        y_obs, H, d, R, num_missing = mask_missing(ssm, y_t)
        S = _symmetrize(H @ P_pred @ H.T + R)
        innovation = y_obs - H @ m_pred - d
        chol = cho_factor(S, lower=True)
        loglik = loglik + masked_mvn_logpdf(innovation, chol[0], num_missing)
        gain = cho_solve(chol, H @ P_pred).T  # P H' S^-1, shape (n, m)
        m_filt = m_pred + gain @ innovation
        P_filt = _symmetrize(P_pred - gain @ S @ gain.T)
        m_next = F @ m_filt
        P_next = _symmetrize(F @ P_filt @ F.T + Q)
        return (m_next, P_next, loglik), (m_filt, P_filt)

    init = (ssm.initial_mean, ssm.initial_cov, jnp.zeros((), y.dtype))
    (_, _, loglik), (means, covs) = lax.scan(step, init, y)
    return KalmanFilterResult(loglik, means, covs)
