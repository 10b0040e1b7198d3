"""The laws of the Gaussian HMM family as NumPyro distributions.

* :class:`GaussianHMM`: a whole series y_0..y_{T-1} of a K-state hidden Markov chain with
  Gaussian emissions, the states summed out by the forward algorithm
  (:func:`patterns.sequential.hmm_log_likelihood`, the scaled forward pass, or its
  parallel twin); ``sample`` simulates the
  chain and then the observations.
* :class:`OrderedNormal`: K means in increasing order with independent normal densities,
  the law that removes label switching (state 0 is the lowest mean);
* :class:`UnorderedNormal`: the same K means in any order (the density of their sorted
  vector): what the model samples, sorting it into the means (see its text for why).
"""

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import lax
from jax.scipy.special import gammaln
from numpyro.distributions import constraints

from patterns import parallel, sequential

__all__ = ["GaussianHMM", "OrderedNormal", "UnorderedNormal", "emission_log_likelihoods"]


def emission_log_likelihoods(y: jax.Array, means: jax.Array, scales: jax.Array) -> jax.Array:
    """``log N(y_t; means[k], scales[k])`` for every t and state k.

    Args:
        y: shape (T,).
        means: shape (K,).
        scales: shape (K,).

    Returns:
        shape (T, K).

    Example:
        >>> import jax.numpy as jnp
        >>> out = emission_log_likelihoods(jnp.zeros(2), jnp.array([0.0, 1.0]), jnp.ones(2))
        >>> print(out.shape, round(float(out[0, 0]), 4))
        (2, 2) -0.9189
    """
    return dist.Normal(means[None, :], scales[None, :]).log_prob(y[:, None])


class GaussianHMM(dist.Distribution):
    """A series of T observations from a K-state HMM with Gaussian emissions.

    Args:
        initial_probs: ``p(z_0)``, shape (K,).
        transition_matrix: ``A[i, j] = p(z_t = j | z_{t-1} = i)``, shape (K, K).
        means: emission means, shape (K,).
        scales: emission standard deviations, shape (K,).
        num_steps: T.
        scan: ``"sequential"`` (``lax.scan``) or ``"parallel"`` (``lax.associative_scan``)
            forward algorithm for ``log_prob``; the same value either way.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> law = GaussianHMM(jnp.array([1.0, 0.0]), jnp.eye(2), jnp.array([0.0, 5.0]),
        ...                   jnp.ones(2), num_steps=3)
        >>> y = law.sample(jax.random.PRNGKey(0))
        >>> print(y.shape, bool(jnp.all(jnp.abs(y) < 5)))
        (3,) True
        >>> # the chain never leaves state 0: the law is iid N(0, 1)
        >>> print(jnp.allclose(law.log_prob(y), jax.scipy.stats.norm.logpdf(y).sum()))
        True
    """

    arg_constraints = {
        "initial_probs": constraints.simplex,
        "transition_matrix": constraints.independent(constraints.simplex, 1),
        "means": constraints.real_vector,
        "scales": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    pytree_data_fields = ("initial_probs", "transition_matrix", "means", "scales")
    pytree_aux_fields = ("num_steps", "scan")

    def __init__(self, initial_probs, transition_matrix, means, scales, *, num_steps: int,
                 scan: str = "sequential", validate_args=None):
        if scan not in ("sequential", "parallel"):
            raise ValueError(f"GaussianHMM: scan must be 'sequential' or 'parallel', got {scan!r}")
        self.initial_probs = jnp.asarray(initial_probs)
        self.transition_matrix = jnp.asarray(transition_matrix)
        self.means = jnp.asarray(means)
        self.scales = jnp.asarray(scales)
        num_states = self.means.shape[-1]
        shapes = {"initial_probs": (self.initial_probs.shape, (num_states,)),
                  "transition_matrix": (self.transition_matrix.shape, (num_states, num_states)),
                  "scales": (self.scales.shape, (num_states,))}
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValueError(f"GaussianHMM: {name} must have shape {want} (K = "
                                 f"{num_states} from means), got {got}")
        self.num_steps, self.scan = int(num_steps), scan
        super().__init__(batch_shape=(), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        def one(key):
            key_z, key_y = jax.random.split(key)
            log_A = jnp.log(self.transition_matrix)
            keys = jax.random.split(key_z, self.num_steps)
            z0 = jax.random.categorical(keys[0], jnp.log(self.initial_probs))

            def step(z_prev, key_t):
                z = jax.random.categorical(key_t, log_A[z_prev])
                return z, z

            _, rest = lax.scan(step, z0, keys[1:])
            z = jnp.concatenate([z0[None], rest])
            noise = jax.random.normal(key_y, (self.num_steps,), self.means.dtype)
            return self.means[z] + self.scales[z] * noise

        keys = jax.random.split(key, math.prod(sample_shape))
        draws = jax.vmap(one)(keys)
        return draws.reshape(tuple(sample_shape) + (self.num_steps,))

    def log_prob(self, value):
        kernels = sequential if self.scan == "sequential" else parallel
        ll = emission_log_likelihoods(value, self.means, self.scales)
        return kernels.hmm_log_likelihood(self.initial_probs, self.transition_matrix, ll)


class _KNormalMeans(dist.Distribution):
    """The parameters the ordered and unordered laws of K means share: K independent
    Normal(loc_k, scale_k) values, on the positive half-line when ``positive``."""

    arg_constraints = {"loc": constraints.real_vector,
                       "scale": constraints.independent(constraints.positive, 1)}
    pytree_data_fields = ("loc", "scale")
    pytree_aux_fields = ("positive",)

    def __init__(self, loc, scale, *, positive: bool = False, validate_args=None):
        self.loc, self.scale = jnp.asarray(loc), jnp.asarray(scale)
        self.positive = positive
        super().__init__(batch_shape=(), event_shape=self.loc.shape[-1:],
                         validate_args=validate_args)


class OrderedNormal(_KNormalMeans):
    """K values in increasing order, density ``prod_k N(x_k; loc_k, scale_k)`` on that set.

    With one ``loc`` and ``scale`` for all k this is the law of K sorted iid normal draws
    (``log_prob`` includes the ``log K!``); with different ``loc_k`` (posteriordb's
    hmm_example: 3 and 10) it is the same density restricted to ordered vectors, normalised
    up to a constant, and ``sample`` (sorted independent draws) is only approximate.
    ``positive=True`` restricts to positive ordered vectors (Stan's ``positive_ordered``).

    Args:
        loc: shape (K,).
        scale: shape (K,).
        positive: whether the values must also be positive.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> law = OrderedNormal(jnp.zeros(3), jnp.ones(3))
        >>> x = law.sample(jax.random.PRNGKey(1))
        >>> print(bool(jnp.all(jnp.diff(x) > 0)))
        True
    """

    @constraints.dependent_property(is_discrete=False, event_dim=1)
    def support(self):
        return (constraints.positive_ordered_vector if self.positive
                else constraints.ordered_vector)

    def sample(self, key, sample_shape=()):
        draws = dist.Normal(self.loc, self.scale).sample(key, sample_shape)
        if self.positive:
            draws = jnp.abs(draws)
        return jnp.sort(draws, axis=-1)

    def log_prob(self, value):
        num_states = self.loc.shape[-1]
        return (jnp.sum(dist.Normal(self.loc, self.scale).log_prob(value), axis=-1)
                + gammaln(num_states + 1.0))


class UnorderedNormal(_KNormalMeans):
    """K values in any order whose sorted vector has the :class:`OrderedNormal` law:
    density ``OrderedNormal(loc, scale).log_prob(sort(x)) - log K!``, the same for the K!
    orderings of x.

    The Gaussian HMM samples its means from this law and sorts them (``mu = sort(x)``):
    the sorted vector has exactly :class:`OrderedNormal`'s density (each of the K!
    orderings maps onto the ordered set with unit Jacobian), so the posterior of ``mu`` is
    unchanged, and label switching is still removed (state 0 is the lowest mean), but NUTS
    moves in x, where each coordinate is one mean. In the coordinates of NumPyro's
    ordered transform (``x_0 = mu_0``, ``x_k = log(mu_k - mu_{k-1})``, then ``exp`` for
    positive means) the coordinates of well-determined means are strongly correlated,
    which a diagonal mass matrix cannot undo: on posteriordb's hmm_example the sorted
    parameterisation took 5.3 leapfrog steps per draw instead of 27, for 2.8 times the
    bulk ESS per draw (``docs/hmm.md``). The density is continuous where two values tie
    (the sort is); its gradient is not, which matters only if the means overlap.

    Args:
        loc: shape (K,).
        scale: shape (K,).
        positive: whether the values must be positive (Stan's ``positive_ordered``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> law = UnorderedNormal(jnp.array([0.0, 5.0]), jnp.ones(2))
        >>> x = jnp.array([5.2, -0.1])
        >>> ordered = OrderedNormal(jnp.array([0.0, 5.0]), jnp.ones(2))
        >>> print(bool(jnp.isclose(law.log_prob(x) + jnp.log(2.0),
        ...                        ordered.log_prob(jnp.sort(x)))))
        True
        >>> print(law.sample(jax.random.PRNGKey(0), (3,)).shape)
        (3, 2)
    """

    @constraints.dependent_property(is_discrete=False, event_dim=1)
    def support(self):
        return (constraints.independent(constraints.positive, 1) if self.positive
                else constraints.real_vector)

    def sample(self, key, sample_shape=()):
        # OrderedNormal's draw (sorted independent normals), then a random order
        key_values, key_order = jax.random.split(key)
        shape = tuple(sample_shape) + self.loc.shape[-1:]
        draws = (jnp.broadcast_to(self.loc, shape) + jnp.broadcast_to(self.scale, shape)
                 * jax.random.normal(key_values, shape, self.loc.dtype))
        if self.positive:
            draws = jnp.abs(draws)
        # a uniformly random order: the ranks of K iid uniforms
        order = jnp.argsort(jax.random.uniform(key_order, shape), axis=-1)
        return jnp.take_along_axis(jnp.sort(draws, axis=-1), order, axis=-1)

    def log_prob(self, value):
        # OrderedNormal's log K! and the 1 / K! of the K! orderings cancel
        ordered = jnp.sort(value, axis=-1)
        loc, scale = (jnp.broadcast_to(p, ordered.shape) for p in (self.loc, self.scale))
        return jnp.sum(dist.Normal(loc, scale).log_prob(ordered), axis=-1)
