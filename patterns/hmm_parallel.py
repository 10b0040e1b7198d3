"""Hidden Markov model kernels by ``lax.associative_scan`` (O(log T) depth, O(T K^3) work).

Hassan, Särkkä & García-Fernández (2021), "Temporal parallelization of inference in hidden
Markov models", IEEE Trans. Signal Processing 69. The model and arguments are in
:mod:`patterns.hmm`; each function has a twin of the same name in
:mod:`patterns.hmm_sequential`, and they agree to rounding.

The forward algorithm is a product of K x K matrices: with
``M_0[i, j] = p(z_0 = j) p(y_0 | j)`` (every row the same) and
``M_t[i, j] = A[i, j] p(y_t | j)``, row 0 of ``M_0 M_1 ... M_t`` is ``p(y_0..y_t, z_t)``.
Matrix products are associative, so every prefix comes out of one
``lax.associative_scan``. Products are taken in log space (:func:`patterns.hmm.log_matmul`)
and each element carries its matrix rescaled to a maximum of 0 plus the log of the scale,
so nothing underflows and the precision of the filtered probabilities does not depend on
T. Viterbi is the same scan in the max-plus semiring (forward and backward, then the
argmax of their sum at each t); backward sampling composes the random maps
``z_{t+1} -> z_t`` (one per time step, drawn for every value of z_{t+1}) by a reverse
scan.
"""

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.scipy.special import logsumexp
from jax.typing import ArrayLike

from patterns.hmm import (
    HMMFilterResult,
    HMMPosterior,
    check_hmm_args,
    inverse_cdf_index,
    log_matmul,
    max_matmul,
)

__all__ = ["hmm_backward_sample", "hmm_filter", "hmm_log_likelihood", "hmm_smoother",
           "hmm_viterbi"]


def _rescale(log_M: Array) -> tuple[Array, Array]:
    """(log scale (...), matrix with maximum 0 (..., K, K)); all -inf stays all -inf."""
    top = jnp.max(log_M, axis=(-2, -1))
    top = lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0.0))
    return top, log_M - top[..., None, None]


def _log_elements(log_pi: Array, log_A: Array, ll: Array) -> Array:
    """The (T, K, K) log matrices M_t described in the module text."""
    first = jnp.broadcast_to(log_pi + ll[0], log_A.shape)[None]
    rest = log_A[None] + ll[1:, None, :]
    return jnp.concatenate([first, rest], axis=0)


def _scaled_combine(product):
    def combine(earlier, later):
        scale_1, M_1 = earlier
        scale_2, M_2 = later
        scale, M = _rescale(product(M_1, M_2))
        return scale_1 + scale_2 + scale, M

    return combine


def _reversed(combine):
    # associative_scan(reverse=True) hands the later element first.
    return lambda later, earlier: combine(earlier, later)


def _prefix_and_suffix(elements: Array, product, suffix: bool):
    scales, M = _rescale(elements)
    combine = _scaled_combine(product)
    prefix = lax.associative_scan(combine, (scales, M))
    if not suffix:
        return prefix, None
    if elements.shape[0] == 1:  # T = 1: no suffix (associative_scan needs one element)
        return prefix, (scales[1:], M[1:])
    # Suffix products M_t ... M_{T-1} for t >= 1 (the backward messages need them).
    post = lax.associative_scan(_reversed(combine), (scales[1:], M[1:]), reverse=True)
    return prefix, post


@jax.jit
def _log_filter(log_pi: Array, log_A: Array, ll: Array) -> tuple[Array, Array]:
    (scales, M), _ = _prefix_and_suffix(_log_elements(log_pi, log_A, ll), log_matmul, False)
    log_alpha = M[:, 0, :]  # every row is the same
    log_norm = logsumexp(log_alpha, axis=1)
    return scales[-1] + log_norm[-1], log_alpha - log_norm[:, None]


def hmm_filter(
    initial_probs: ArrayLike, transition_matrix: ArrayLike, log_likelihoods: ArrayLike
) -> HMMFilterResult:
    """Forward algorithm in log space by ``lax.associative_scan``.

    Same contract as :func:`patterns.hmm_sequential.hmm_filter`.

    Args:
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        log_likelihoods: ``log p(y_t | z_t = k)``, shape (T, K).

    Returns:
        :class:`~patterns.hmm.HMMFilterResult`: ``log_likelihood`` (),
        ``filtered_probs`` (T, K).

    Example:
        >>> import jax.numpy as jnp
        >>> out = hmm_filter(jnp.array([0.5, 0.5]), jnp.eye(2),
        ...                  jnp.log(jnp.array([[0.2, 0.1], [0.3, 0.3]])))
        >>> print(out.filtered_probs.round(4))
        [[0.6667 0.3333]
         [0.6667 0.3333]]
        >>> print(round(float(out.log_likelihood), 5))  # log(0.5 * 0.2 * 0.3 + 0.5 * 0.1 * 0.3)
        -3.10109
    """
    pi, A, ll = check_hmm_args(initial_probs, transition_matrix, log_likelihoods, "hmm_filter")
    loglik, log_filt = _log_filter(jnp.log(pi), jnp.log(A), ll)
    return HMMFilterResult(loglik, jnp.exp(log_filt))


def hmm_log_likelihood(
    initial_probs: ArrayLike, transition_matrix: ArrayLike, log_likelihoods: ArrayLike
) -> Array:
    """log p(y_0..y_{T-1}) alone: :func:`hmm_filter`'s ``log_likelihood`` (the associative
    scan in log space). Twin of :func:`patterns.hmm_sequential.hmm_log_likelihood`.

    Args:
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        log_likelihoods: ``log p(y_t | z_t = k)``, shape (T, K).

    Returns:
        the log-likelihood, shape ().

    Example:
        >>> import jax.numpy as jnp
        >>> value = hmm_log_likelihood(jnp.array([0.5, 0.5]), jnp.eye(2),
        ...                            jnp.log(jnp.array([[0.2, 0.1], [0.3, 0.3]])))
        >>> print(round(float(value), 5))  # log(0.5 * 0.2 * 0.3 + 0.5 * 0.1 * 0.3)
        -3.10109
    """
    pi, A, ll = check_hmm_args(initial_probs, transition_matrix, log_likelihoods,
                               "hmm_log_likelihood")
    return _log_filter(jnp.log(pi), jnp.log(A), ll)[0]


def _log_backward(suffix_M: Array, like: Array) -> Array:
    """log beta_t (T, K), up to a constant per t, from the suffix products M_{t+1}...M_{T-1}."""
    log_beta = logsumexp(suffix_M, axis=2)  # row sums: p(y_{t+1:} | z_t = i), scaled
    return jnp.concatenate([log_beta, jnp.zeros_like(like[:1])], axis=0)


@jax.jit
def _log_smoother(log_pi: Array, log_A: Array, ll: Array) -> tuple[Array, Array, Array]:
    elements = _log_elements(log_pi, log_A, ll)
    (scales, M), (_, suffix_M) = _prefix_and_suffix(elements, log_matmul, True)
    log_alpha = M[:, 0, :]
    log_norm = logsumexp(log_alpha, axis=1)
    log_filt = log_alpha - log_norm[:, None]
    log_post = log_filt + _log_backward(suffix_M, ll)
    log_post = log_post - logsumexp(log_post, axis=1, keepdims=True)
    return scales[-1] + log_norm[-1], log_filt, log_post


def hmm_smoother(
    initial_probs: ArrayLike, transition_matrix: ArrayLike, log_likelihoods: ArrayLike
) -> HMMPosterior:
    """Forward-backward algorithm by a forward and a reverse ``lax.associative_scan``.

    Same contract as :func:`patterns.hmm_sequential.hmm_smoother`: the backward messages
    are the row sums of the suffix products ``M_{t+1} ... M_{T-1}``.

    Args:
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        log_likelihoods: ``log p(y_t | z_t = k)``, shape (T, K).

    Returns:
        :class:`~patterns.hmm.HMMPosterior`: ``log_likelihood`` (), ``filtered_probs``
        (T, K), ``smoothed_probs`` (T, K).

    Example:
        >>> import jax.numpy as jnp
        >>> out = hmm_smoother(jnp.array([0.5, 0.5]), jnp.eye(2),
        ...                    jnp.log(jnp.array([[0.5, 0.5], [0.8, 0.2]])))
        >>> print(out.filtered_probs[0], [round(float(p), 4) for p in out.smoothed_probs[0]])
        [0.5 0.5] [0.8, 0.2]
    """
    pi, A, ll = check_hmm_args(initial_probs, transition_matrix, log_likelihoods, "hmm_smoother")
    loglik, log_filt, log_post = _log_smoother(jnp.log(pi), jnp.log(A), ll)
    return HMMPosterior(loglik, jnp.exp(log_filt), jnp.exp(log_post))


@jax.jit
def _viterbi(log_pi: Array, log_A: Array, ll: Array) -> Array:
    elements = _log_elements(log_pi, log_A, ll)
    (_, M), (_, suffix_M) = _prefix_and_suffix(elements, max_matmul, True)
    best_to = M[:, 0, :]  # best log-score of a path ending in state j at t (up to a constant)
    best_from = jnp.concatenate(
        [jnp.max(suffix_M, axis=2), jnp.zeros_like(ll[:1])], axis=0
    )  # best continuation from state i at t
    return jnp.argmax(best_to + best_from, axis=1).astype(jnp.int32)


def hmm_viterbi(
    initial_probs: ArrayLike, transition_matrix: ArrayLike, log_likelihoods: ArrayLike
) -> Array:
    """Most probable state path by max-plus prefix and suffix ``lax.associative_scan``.

    Same contract as :func:`patterns.hmm_sequential.hmm_viterbi`. ``z_t`` is the state that
    maximises (best path into it) + (best path out of it); when the most probable path is
    unique this is that path, as from the sequential twin.

    Args:
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        log_likelihoods: ``log p(y_t | z_t = k)``, shape (T, K).

    Returns:
        int32 states, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> A = jnp.array([[0.95, 0.05], [0.05, 0.95]])
        >>> ll = jnp.log(jnp.array([[0.9, 0.1], [0.4, 0.6], [0.9, 0.1]]))
        >>> print(hmm_viterbi(jnp.array([0.5, 0.5]), A, ll))
        [0 0 0]
    """
    pi, A, ll = check_hmm_args(initial_probs, transition_matrix, log_likelihoods, "hmm_viterbi")
    return _viterbi(jnp.log(pi), jnp.log(A), ll)


def _compose_maps(earlier: Array, later: Array) -> Array:
    """(earlier ∘ later)[k] = earlier[later[k]]: maps z_{t+1} -> z_t, batched (..., K).

    A masked sum instead of a gather: K is small, and XLA compiles this much faster."""
    states = jnp.arange(earlier.shape[-1], dtype=later.dtype)
    # hit[..., k, j]: later[k] == j
    hit = later[..., :, None] == states.reshape((1,) * later.ndim + (-1,))
    return jnp.sum(jnp.where(hit, earlier[..., None, :], 0), axis=-1, dtype=earlier.dtype)


@jax.jit
def _backward_sample(key: Array, log_pi: Array, log_A: Array, ll: Array) -> Array:
    _, log_filt = _log_filter(log_pi, log_A, ll)
    uniforms = jax.random.uniform(key, (ll.shape[0],), dtype=ll.dtype)
    z_last = inverse_cdf_index(log_filt[-1], uniforms[-1])
    # f_t[k] = the z_t drawn with uniform u_t if z_{t+1} = k, for t = 0..T-2 and every k.
    log_weights = log_filt[:-1, :, None] + log_A[None]  # (t, z_t, z_{t+1})
    maps = inverse_cdf_index(
        jnp.swapaxes(log_weights, 1, 2), jnp.broadcast_to(uniforms[:-1, None], ll[1:].shape)
    )
    if maps.shape[0] == 0:  # T = 1
        return z_last[None]
    composed = lax.associative_scan(_reversed(_compose_maps), maps, reverse=True)
    path = composed[:, z_last]
    return jnp.concatenate([path, z_last[None]])


def hmm_backward_sample(
    key: Array,
    initial_probs: ArrayLike,
    transition_matrix: ArrayLike,
    log_likelihoods: ArrayLike,
) -> Array:
    """One path from ``p(z | y)`` by forward filtering and parallel backward sampling.

    Same contract as :func:`patterns.hmm_sequential.hmm_backward_sample`, and the same path
    for the same key: the step ``z_{t+1} -> z_t`` is drawn with the same uniform number for
    every value of ``z_{t+1}`` (a random map), and the maps compose associatively.

    Args:
        key: a ``jax.random`` key.
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        log_likelihoods: ``log p(y_t | z_t = k)``, shape (T, K).

    Returns:
        int32 states, shape (T,).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> ll = jnp.log(jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]))
        >>> A = jnp.full((2, 2), 0.5)
        >>> print(hmm_backward_sample(jax.random.PRNGKey(0), jnp.array([0.5, 0.5]), A, ll))
        [0 1 1]
    """
    pi, A, ll = check_hmm_args(
        initial_probs, transition_matrix, log_likelihoods, "hmm_backward_sample"
    )
    return _backward_sample(key, jnp.log(pi), jnp.log(A), ll)
