"""Generated quantities of a Gaussian HMM fit that need randomness: one state path per
posterior draw by forward filtering, backward sampling, with an explicit key.

The model itself records the deterministic ones (``state_probs``, ``viterbi_path``); a path
drawn from ``p(z | y, parameters)`` needs a key, and keys are never made inside a model, so
it is computed here from the posterior draws.
"""

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from models.hmm.distribution import emission_log_likelihoods
from patterns import parallel, sequential
from patterns.hmm import stationary_distribution

__all__ = ["posterior_state_paths"]


def posterior_state_paths(
    key: Array,
    samples: Mapping[str, ArrayLike],
    y: ArrayLike,
    *,
    initial: str = "stationary",
    sigma: float | None = None,
    scan: str = "sequential",
) -> Array:
    """One FFBS path ``z ~ p(z | y, draw)`` for every posterior draw.

    Args:
        key: a ``jax.random`` key.
        samples: posterior draws by site, leading axis the draws (``mcmc.get_samples()``):
            ``mu`` (S, K), ``transition_matrix`` (S, K, K), ``sigma`` (S, K) unless
            ``sigma`` is fixed, ``initial_probs`` (S, K) when ``initial="parameter"``.
        y: the observed series, shape (T,).
        initial: the model's ``initial`` option.
        sigma: the model's fixed emission sd, if it had one.
        scan: ``"sequential"`` or ``"parallel"`` kernels (same paths for the same key).

    Returns:
        int32 states, shape (S, T).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> draws = {"mu": jnp.array([[0.0, 10.0]]), "sigma": jnp.ones((1, 2)),
        ...          "transition_matrix": jnp.full((1, 2, 2), 0.5)}
        >>> print(posterior_state_paths(jax.random.PRNGKey(0), draws,
        ...                             jnp.array([0.1, 9.8, 10.3, -0.2])))
        [[0 1 1 0]]
    """
    y = jnp.asarray(y)
    kernels = sequential if scan == "sequential" else parallel
    mu = jnp.asarray(samples["mu"])
    num_draws, num_states = mu.shape
    scales = (jnp.asarray(samples["sigma"]) if sigma is None
              else jnp.full(mu.shape, sigma, mu.dtype))
    A = jnp.asarray(samples.get("transition_matrix", jnp.ones((num_draws, 1, 1))))
    if initial == "parameter" and num_states > 1:
        pi = jnp.asarray(samples["initial_probs"])
    elif initial == "fixed" or num_states == 1:
        pi = jnp.full(mu.shape, 1.0 / num_states, mu.dtype)
    else:
        pi = jax.vmap(stationary_distribution)(A)

    def one(key, pi, A, mu, scales):
        ll = emission_log_likelihoods(y, mu, scales)
        return kernels.hmm_backward_sample(key, pi, A, ll)

    keys = jax.random.split(key, num_draws)
    return jax.vmap(one)(keys, pi, A, mu, scales)
