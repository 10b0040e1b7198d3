"""The Gaussian HMM as a NumPyro model, on the family convention.

``gaussian_hmm_model(y=None, *, num_steps=None, forecast_horizon=0, states=2, ...)``:

* ``mu`` (K,): emission means, increasing, with :class:`~models.hmm.distribution.OrderedNormal`'s
  law: state 0 is always the lowest mean, so the K! relabellings of one fit are not K!
  modes (label switching is removed by the parameterisation). The model samples
  ``mu_unordered`` (K,) (:class:`~models.hmm.distribution.UnorderedNormal`, the same means
  in any order) and records ``mu = sort(mu_unordered)``: the same posterior for ``mu``, and
  NUTS moves one mean per coordinate (5 leapfrog steps per draw instead of 27 on
  posteriordb's hmm_example with NumPyro's ordered transform);
* ``sigma`` (K,): emission standard deviations, half-normal, unless ``sigma`` is fixed;
* ``transition_matrix`` (K, K): each row Dirichlet(``transition_concentration``);
* the initial distribution: ``"stationary"`` (that of the chain, no parameter),
  ``"fixed"`` (uniform 1/K), or ``"parameter"`` (``initial_probs`` ~ Dirichlet(1));
* ``y`` ~ :class:`~models.hmm.distribution.GaussianHMM` (states summed out by the forward
  algorithm).

With ``y`` observed the model records ``state_probs`` (T, K), the posterior state
probabilities ``p(z_t = k | y, parameters)`` (forward-backward), and ``viterbi_path`` (T,),
the most probable path given the parameters. With ``forecast_horizon = h`` it adds
``y_forecast`` (h,): the chain run on from the last filtered state probabilities (each
value a K-component mixture), and ``state_probs_forecast`` (h, K), those probabilities
propagated by the transition matrix.
"""

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import lax

from models.hmm.distribution import GaussianHMM, UnorderedNormal, emission_log_likelihoods
from patterns import parallel, sequential
from patterns.hmm import stationary_distribution

__all__ = ["INITIAL_CHOICES", "gaussian_hmm_model", "hmm_parameters"]

INITIAL_CHOICES = ("stationary", "fixed", "parameter")


def hmm_parameters(
    states: int, initial: str, sigma: float | None, mu_loc, mu_scale, sigma_scale,
    transition_concentration: float, positive_means: bool,
):
    """Sample the parameter sites; returns (initial probs, transition matrix, means, sds)."""
    K = states
    # the means in any order, sorted: mu has OrderedNormal's law, NUTS moves one mean per
    # coordinate (UnorderedNormal's text)
    unordered = numpyro.sample(
        "mu_unordered", UnorderedNormal(jnp.broadcast_to(jnp.asarray(mu_loc, float), (K,)),
                                        jnp.broadcast_to(jnp.asarray(mu_scale, float), (K,)),
                                        positive=positive_means))
    mu = numpyro.deterministic("mu", jnp.sort(unordered))
    if sigma is None:
        scales = numpyro.sample("sigma", dist.HalfNormal(sigma_scale).expand([K]).to_event(1))
    else:
        scales = jnp.full((K,), sigma, dtype=mu.dtype)
    if K == 1:  # one state: nothing to switch to, no simplex to sample
        return jnp.ones(1, mu.dtype), jnp.ones((1, 1), mu.dtype), mu, scales
    A = numpyro.sample("transition_matrix",
                       dist.Dirichlet(jnp.full((K, K), float(transition_concentration)))
                       .to_event(1))
    if initial == "stationary":
        pi = stationary_distribution(A)
    elif initial == "fixed":
        pi = jnp.full((K,), 1.0 / K, dtype=mu.dtype)
    else:
        pi = numpyro.sample("initial_probs", dist.Dirichlet(jnp.ones(K)))
    return pi, A, mu, scales


def gaussian_hmm_model(
    y=None,
    *,
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    states: int = 2,
    initial: str = "stationary",
    sigma: float | None = None,
    mu_loc=0.0,
    mu_scale=10.0,
    sigma_scale: float = 5.0,
    transition_concentration: float = 1.0,
    positive_means: bool = False,
    scan: str = "sequential",
) -> None:
    """K-state hidden Markov model with Gaussian emissions (module text).

    Args:
        y: observed series, shape (T,); ``None`` with ``num_steps`` to simulate.
        num_steps: T when ``y`` is None.
        forecast_horizon: h >= 0; adds ``y_forecast`` (h,) and ``state_probs_forecast``.
        states: K >= 1.
        initial: one of :data:`INITIAL_CHOICES`.
        sigma: a fixed emission sd for every state, or ``None`` to estimate one per state.
        mu_loc, mu_scale: prior location and scale of the means (scalars or (K,)).
        sigma_scale: scale of the half-normal prior of each sd.
        transition_concentration: Dirichlet concentration of each transition row.
        positive_means: restrict the means to be positive (posteriordb's hmm_example).
        scan: ``"sequential"`` or ``"parallel"`` forward algorithm (same value).

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(gaussian_hmm_model, num_samples=2)(
        ...     jax.random.PRNGKey(0), num_steps=5, states=3)
        >>> print(draws["y"].shape, draws["mu"].shape, draws["transition_matrix"].shape)
        (2, 5) (2, 3) (2, 3, 3)
    """
    if states < 1:
        raise ValueError(f"gaussian_hmm_model: states must be >= 1, got {states}")
    if initial not in INITIAL_CHOICES:
        raise ValueError(
            f"gaussian_hmm_model: initial must be one of {INITIAL_CHOICES}, got {initial!r}")
    if y is None and num_steps is None:
        raise ValueError("gaussian_hmm_model: give y or num_steps")
    length = num_steps if y is None else jnp.shape(y)[0]
    pi, A, mu, scales = hmm_parameters(states, initial, sigma, mu_loc, mu_scale, sigma_scale,
                                       transition_concentration, positive_means)
    numpyro.sample("y", GaussianHMM(pi, A, mu, scales, num_steps=length, scan=scan), obs=y)
    if y is None:
        return
    kernels = sequential if scan == "sequential" else parallel
    ll = emission_log_likelihoods(jnp.asarray(y), mu, scales)
    posterior = kernels.hmm_smoother(pi, A, ll)
    numpyro.deterministic("state_probs", posterior.smoothed_probs)
    numpyro.deterministic("viterbi_path", kernels.hmm_viterbi(pi, A, ll))
    if forecast_horizon:
        first = posterior.filtered_probs[-1] @ A  # p(z_T | y)

        def propagate(probs, _):
            return probs @ A, probs

        _, ahead = lax.scan(propagate, first, None, length=forecast_horizon)
        numpyro.deterministic("state_probs_forecast", ahead)
        numpyro.sample("y_forecast",
                       GaussianHMM(first, A, mu, scales, num_steps=forecast_horizon))
