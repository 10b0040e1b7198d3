"""Hidden Markov models: the containers and checks the HMM kernel twins share.

A discrete-state hidden Markov model with K states and T time steps is three arrays, and
the kernels take nothing else (no emission family: any emission distribution enters only
through its log-likelihoods):

* ``initial_probs`` (K,): ``p(z_0 = k)``;
* ``transition_matrix`` (K, K): ``A[i, j] = p(z_t = j | z_{t-1} = i)``, rows sum to one;
* ``log_likelihoods`` (T, K): ``log p(y_t | z_t = k)``; ``-inf`` is allowed (y_t is
  impossible in state k), NaN and ``+inf`` are not.

The kernels come in twins of the same name: :mod:`patterns.hmm_sequential` (``lax.scan``,
O(T) depth; re-exported by :mod:`patterns.sequential`) and :mod:`patterns.hmm_parallel`
(``lax.associative_scan``, O(log T) depth, Hassan, Särkkä & García-Fernández 2021;
re-exported by :mod:`patterns.parallel`):

* ``hmm_filter`` -> :class:`HMMFilterResult`: log marginal likelihood, filtered
  probabilities ``p(z_t | y_0..y_t)``;
* ``hmm_smoother`` -> :class:`HMMPosterior`: the same plus the posterior (smoothed)
  probabilities ``p(z_t | y_0..y_{T-1})``;
* ``hmm_viterbi`` -> the most probable path, shape (T,);
* ``hmm_backward_sample`` -> one draw of the whole path from ``p(z | y)`` (forward
  filtering, backward sampling), shape (T,). Both twins turn the same key into the same
  path.

``hmm_filter``, ``hmm_viterbi``, ``hmm_backward_sample`` and the parallel twins are computed
in log space; the sequential ``hmm_log_likelihood`` and ``hmm_smoother`` in probability
space, renormalised at every step, each step's emission likelihoods divided by their
largest (Rabiner's scaled passes: a matrix-vector product per step, no exponentials). Either
way T = 10^5 steps with emission likelihoods that differ by hundreds of nats do not
underflow (the scaled passes would only if a transition probability fell below 1e-308),
and the filter is differentiable in all three arrays.

Value checks (rows summing to one, NaN log-likelihoods) run on concrete arrays only; inside
``jit`` or a NumPyro model the arrays are traced and only shapes are checked, so a model
checks its data before it builds the log-likelihoods.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

__all__ = [
    "HMMFilterResult",
    "HMMPosterior",
    "check_hmm_args",
    "inverse_cdf_index",
    "log_matmul",
    "max_matmul",
    "stationary_distribution",
]


class HMMFilterResult(NamedTuple):
    """What ``hmm_filter`` returns.

    Attributes:
        log_likelihood: ``log p(y_0, ..., y_{T-1})``, shape ().
        filtered_probs: ``p(z_t = k | y_0..y_t)``, shape (T, K).
    """

    log_likelihood: Array
    filtered_probs: Array


class HMMPosterior(NamedTuple):
    """What ``hmm_smoother`` returns.

    Attributes:
        log_likelihood: ``log p(y_0, ..., y_{T-1})``, shape ().
        filtered_probs: ``p(z_t = k | y_0..y_t)``, shape (T, K).
        smoothed_probs: ``p(z_t = k | y_0..y_{T-1})``, shape (T, K).
    """

    log_likelihood: Array
    filtered_probs: Array
    smoothed_probs: Array


def _is_concrete(*arrays: Array) -> bool:
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def check_hmm_args(
    initial_probs: ArrayLike,
    transition_matrix: ArrayLike,
    log_likelihoods: ArrayLike,
    name: str,
) -> tuple[Array, Array, Array]:
    """Check an HMM's three arrays and cast them to one floating dtype.

    Shapes are always checked; values (probabilities non-negative and summing to one, no NaN
    or ``+inf`` log-likelihood) when the arrays are concrete. The tolerance on the sums is
    1e-5 in float32 and 1e-9 in float64.

    Args:
        initial_probs: shape (K,).
        transition_matrix: shape (K, K), rows sum to one.
        log_likelihoods: shape (T, K), T >= 1, K >= 1.
        name: the calling function, for messages.

    Returns:
        ``(initial_probs, transition_matrix, log_likelihoods)`` in a common float dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> check_hmm_args(jnp.array([0.5, 0.5]), jnp.array([[0.9, 0.2], [0.1, 0.9]]),
        ...                jnp.zeros((3, 2)), "hmm_filter")
        Traceback (most recent call last):
        ...
        ValueError: hmm_filter: row 0 of transition_matrix sums to 1.1; each row must sum to one
    """
    ll = jnp.asarray(log_likelihoods)
    pi = jnp.asarray(initial_probs)
    A = jnp.asarray(transition_matrix)
    if ll.ndim != 2 or ll.shape[0] < 1:
        raise ValueError(
            f"{name}: log_likelihoods must have shape (T, K) with T >= 1, got {ll.shape}"
        )
    num_states = ll.shape[1]
    if num_states < 1:
        raise ValueError(
            f"{name}: need K >= 1 states, got log_likelihoods of shape {ll.shape} (K = 0)"
        )
    if pi.shape != (num_states,):
        raise ValueError(
            f"{name}: initial_probs must have shape ({num_states},) (K from log_likelihoods), "
            f"got {pi.shape}"
        )
    if A.shape != (num_states, num_states):
        raise ValueError(
            f"{name}: transition_matrix must have shape ({num_states}, {num_states}) (K from "
            f"log_likelihoods), got {A.shape}"
        )
    dtype = jnp.result_type(float, pi, A, ll)
    pi, A, ll = pi.astype(dtype), A.astype(dtype), ll.astype(dtype)
    if _is_concrete(pi, A, ll):
        tol = 1e-9 if dtype == jnp.float64 else 1e-5
        pi_np, A_np, ll_np = np.asarray(pi), np.asarray(A), np.asarray(ll)
        for label, probs in (("initial_probs", pi_np[None]), ("transition_matrix", A_np)):
            if not np.all(np.isfinite(probs)) or np.any(probs < 0):
                raise ValueError(
                    f"{name}: {label} must hold finite non-negative probabilities, got "
                    f"{probs.squeeze().tolist()}"
                )
            sums = probs.sum(axis=-1)
            bad = np.flatnonzero(np.abs(sums - 1.0) > tol)
            if bad.size:
                where = f"row {bad[0]} of {label}" if label == "transition_matrix" else label
                raise ValueError(
                    f"{name}: {where} sums to {sums[bad[0]]:.6g}; "
                    f"{'each row' if label == 'transition_matrix' else 'it'} must sum to one"
                )
        invalid = np.isnan(ll_np) | (ll_np == np.inf)
        if invalid.any():
            t, k = np.argwhere(invalid)[0]
            raise ValueError(
                f"{name}: log_likelihoods[{t}, {k}] is {ll_np[t, k]}; log-likelihoods must be "
                f"finite or -inf"
            )
    return pi, A, ll


def _safe_max(x: Array, axis: int | tuple[int, ...]) -> Array:
    """Max over ``axis`` (kept), 0 where every entry is -inf, so ``x - max`` is never NaN."""
    m = jnp.max(x, axis=axis, keepdims=True)
    return jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0.0))


def log_matmul(x: ArrayLike, y: ArrayLike) -> Array:
    """Matrix product in log space: ``log(exp(x) @ exp(y))``, without leaving log space.

    Batched over leading axes. Each entry is a log-sum-exp, so entries far below the others
    (-1000 next to 0) neither underflow nor lose the others' precision.

    Args:
        x: shape (..., K, L).
        y: shape (..., L, M), same leading axes.

    Returns:
        shape (..., K, M).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.log(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> print(jnp.exp(log_matmul(x, x)).round(4))
        [[ 7. 10.]
         [15. 22.]]
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    terms = x[..., :, :, None] + y[..., None, :, :]
    shift = _safe_max(terms, axis=-2)
    return jnp.log(jnp.sum(jnp.exp(terms - shift), axis=-2)) + shift[..., 0, :]


def max_matmul(x: ArrayLike, y: ArrayLike) -> Array:
    """Matrix product in the max-plus semiring: ``out[i, k] = max_j x[i, j] + y[j, k]``.

    The Viterbi recursion is this product where the forward algorithm has
    :func:`log_matmul`. Batched over leading axes.

    Args:
        x: shape (..., K, L).
        y: shape (..., L, M), same leading axes.

    Returns:
        shape (..., K, M).

    Example:
        >>> import jax.numpy as jnp
        >>> print(max_matmul(jnp.array([[0.0, 1.0]]), jnp.array([[2.0], [0.5]])))
        [[2.]]
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    return jnp.max(x[..., :, :, None] + y[..., None, :, :], axis=-2)


def inverse_cdf_index(log_weights: ArrayLike, uniform: ArrayLike) -> Array:
    """Draw from the categorical law with unnormalised log-weights, given a uniform number.

    ``k`` is the first index whose cumulative probability exceeds ``uniform``: the same
    uniform always gives the same state, which is what lets both ``hmm_backward_sample``
    twins turn one key into one path.

    Args:
        log_weights: shape (..., K), at least one entry finite.
        uniform: in [0, 1), shape (...).

    Returns:
        int32 index, shape (...).

    Example:
        >>> import jax.numpy as jnp
        >>> w = jnp.log(jnp.array([0.2, 0.5, 0.3]))
        >>> print(inverse_cdf_index(w, jnp.array(0.1)), inverse_cdf_index(w, jnp.array(0.69)))
        0 1
    """
    log_weights, uniform = jnp.asarray(log_weights), jnp.asarray(uniform)
    w = jnp.exp(log_weights - _safe_max(log_weights, axis=-1))
    cdf = jnp.cumsum(w, axis=-1)
    below = cdf < (uniform * cdf[..., -1])[..., None]
    index = jnp.sum(below, axis=-1, dtype=jnp.int32)
    return jnp.minimum(index, log_weights.shape[-1] - 1)


def stationary_distribution(transition_matrix: ArrayLike) -> Array:
    """The stationary distribution ``pi = pi A`` of an irreducible Markov chain.

    Solves ``(I - A + 1 1') ' pi = 1`` (one linear solve, differentiable): the added
    all-ones matrix pins the sum of ``pi`` to one without dropping an equation.

    Args:
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).

    Returns:
        shape (K,), sums to one.

    Example:
        >>> import jax.numpy as jnp
        >>> print(stationary_distribution(jnp.array([[0.9, 0.1], [0.3, 0.7]])).round(4))
        [0.75 0.25]
    """
    A = jnp.asarray(transition_matrix)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(
            f"stationary_distribution: transition_matrix must have shape (K, K) with K >= 1, "
            f"got {A.shape}"
        )
    num_states = A.shape[0]
    ones = jnp.ones((num_states, num_states), A.dtype)
    system = jnp.eye(num_states, dtype=A.dtype) - A + ones
    return jnp.linalg.solve(system.T, jnp.ones(num_states, A.dtype))
