"""A whole ARMA(p, q) series about its mean, as one NumPyro distribution.

``numpyro.sample("y", ARMA(mu, phi, theta, sigma, num_steps=T), obs=y)`` scores the
series with the exact Gaussian likelihood (:func:`models.arma.exact.arma_exact_loglik`,
NaN gaps allowed) and ``sample`` draws from the stationary process (the first state from
its stationary distribution, no burn-in), so prior and posterior ``Predictive`` work.

With ``likelihood="conditional"`` the same parameters describe another law: the
recursion of :mod:`models.arma.conditional` started with the pre-sample values at the
mean and the pre-sample errors at 0. ``log_prob`` is then the conditional likelihood and
``sample`` draws from that same recursion (not from the stationary process), so the two
always describe one distribution.
"""

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.arma.checks import is_stationary
from models.arma.conditional import arma_conditional_loglik, conditional_path
from models.arma.exact import arma_exact_loglik, arma_system
from patterns import solve_discrete_lyapunov

__all__ = ["ARMA", "LIKELIHOODS", "simulate_stationary_arma"]

Likelihood = Literal["exact", "conditional"]
#: The laws :class:`ARMA` can describe.
LIKELIHOODS: tuple[str, ...] = ("exact", "conditional")


def _simulate_from_noise(noise: Array, mu: Array, phi: Array, theta: Array, sigma: Array):
    """One stationary path from standard normals: r for the first state, T for the shocks."""
    transition, loading = arma_system(phi, theta)
    r = transition.shape[0]
    stationary_cov = solve_discrete_lyapunov(transition, sigma**2 * jnp.outer(loading, loading))
    # eigh, not Cholesky: the stationary covariance can be singular (theta_q = 0, say).
    eigenvalues, eigenvectors = jnp.linalg.eigh(stationary_cov)
    alpha = eigenvectors @ (jnp.sqrt(jnp.clip(eigenvalues, 0.0, None)) * noise[:r])

    def step(alpha, shock):
        return transition @ alpha + loading * (sigma * shock), alpha[0]

    _, deviations = lax.scan(step, alpha, noise[r:])
    return mu + deviations


def _conditional_start(mu: Array, phi: Array) -> tuple[Array, Array]:
    """The conditional recursion about the mean ``mu``: its intercept ``mu (1 - sum phi)``
    and its p pre-sample observations, all at the mean (pre-sample errors are 0)."""
    return mu * (1.0 - jnp.sum(phi)), jnp.broadcast_to(mu, phi.shape)


def _conditional_from_noise(noise: Array, mu: Array, phi: Array, theta: Array, sigma: Array):
    """One path of the conditional recursion about the mean from the T standard normals at
    the end of ``noise``."""
    num_steps = noise.shape[0] - max(phi.shape[0], theta.shape[0] + 1)
    intercept, initial_y = _conditional_start(mu, phi)
    return conditional_path(sigma * noise[noise.shape[0] - num_steps:], intercept, phi, theta,
                            initial_y)


def simulate_stationary_arma(
    key: Array,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    num_steps: int,
) -> Array:
    """Draw y_1..y_T from the stationary ARMA(p, q) process (exact start, no burn-in).

    Args:
        key: PRNG key.
        mu: process mean, scalar.
        phi: shape (p,), stationary.
        theta: shape (q,).
        sigma: innovation standard deviation, scalar.
        num_steps: T.

    Returns:
        shape (T,).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> y = simulate_stationary_arma(jax.random.PRNGKey(3), 5.0, jnp.array([0.5]),
        ...                              jnp.array([0.4]), 1.0, 100)
        >>> print(y.shape)
        (100,)
    """
    return ARMA(mu, phi, theta, sigma, num_steps=num_steps).sample(key)


class ARMA(dist.Distribution):
    """A whole ARMA(p, q) series of length T, stationary, as a NumPyro distribution.

    Parameterised as statsmodels' ``ARIMA(order=(p, 0, q), trend="c")``:
    ``y_t - mu = sum_i phi_i (y_{t-i} - mu) + eps_t + sum_j theta_j eps_{t-j}``.

    Args:
        mu: process mean, shape batch_shape.
        phi: AR coefficients, shape batch_shape + (p,), stationary.
        theta: MA coefficients, shape batch_shape + (q,).
        sigma: innovation standard deviation, shape batch_shape.
        num_steps: T; the event shape is (T,).
        likelihood: ``"exact"`` (the stationary process; Kalman filter, NaN = missing) or
            ``"conditional"`` (the recursion started with pre-sample values at the mean and
            pre-sample errors 0, all T values modelled;
            :func:`models.arma.conditional.arma_conditional_loglik`; no NaN). ``sample``
            draws from the law ``log_prob`` scores, in both cases.
        method: the exact filter's ``method`` (``"fast"``, ``"sequential"``, ``"parallel"``).

    Raises:
        ValueError: when ``mu`` has a trailing axis of length T that the other parameters
            do not have (``mu = a + b * x``): that would silently be a batch of T series, not
            a time-varying mean; regress with :class:`models.arma.sarima.SARIMA` instead.

    ``log_prob`` of the exact law is ``-inf`` (not NaN, and with a finite gradient) when
    ``phi`` is outside the stationary region; the conditional law is defined for any phi.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> d = ARMA(0.0, jnp.array([0.5]), jnp.zeros(0), 1.0, num_steps=3)
        >>> y = d.sample(jax.random.PRNGKey(7), (2,))
        >>> print(y.shape, d.log_prob(y).shape)
        (2, 3) (2,)
        >>> # AR(1) exact: y_1 ~ N(0, 1 / (1 - 0.25)), then y_t | y_{t-1} ~ N(0.5 y_{t-1}, 1)
        >>> print(f"{float(d.log_prob(jnp.array([1.0, 0.5, jnp.nan]))):.4f}")
        -2.3567
    """

    arg_constraints = {
        "mu": constraints.real,
        "phi": constraints.real_vector,
        "theta": constraints.real_vector,
        "sigma": constraints.positive,
    }
    support = constraints.real_vector
    pytree_data_fields = ("mu", "phi", "theta", "sigma")
    pytree_aux_fields = ("num_steps", "likelihood", "method")

    def __init__(
        self,
        mu: ArrayLike,
        phi: ArrayLike,
        theta: ArrayLike,
        sigma: ArrayLike,
        *,
        num_steps: int,
        likelihood: Likelihood = "exact",
        method: str = "fast",
        validate_args: bool | None = None,
    ) -> None:
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"ARMA: likelihood must be 'exact' or 'conditional', got "
                             f"{likelihood!r}")
        if int(num_steps) < 1:
            raise ValueError(f"ARMA: num_steps must be >= 1, got {num_steps}")
        mu, phi, theta, sigma = (jnp.asarray(a) for a in (mu, phi, theta, sigma))
        if phi.ndim < 1 or theta.ndim < 1:
            raise ValueError(f"ARMA: phi and theta need shape (..., p) and (..., q), got "
                             f"{phi.shape} and {theta.shape}")
        others = max(phi.ndim - 1, theta.ndim - 1, sigma.ndim)
        if mu.ndim > others and mu.shape[-1] == int(num_steps):
            raise ValueError(
                f"ARMA: mu has shape {mu.shape}, one value per time step (T = {num_steps}), "
                f"but mu is the process mean of each series: a shape ending in {num_steps} "
                f"would silently make a batch of {num_steps} series. For a time-varying mean "
                "(regression with ARMA errors) score the residuals, ARMA(0, ...).log_prob(y - "
                "mean), or use models.arma.SARIMA(..., exog=X, beta=b)")
        dtype = jnp.result_type(float, mu, phi, theta, sigma)
        self.mu, self.phi, self.theta, self.sigma = (
            a.astype(dtype) for a in (mu, phi, theta, sigma)
        )
        self.num_steps = int(num_steps)
        self.likelihood = likelihood
        self.method = method
        batch_shape = jnp.broadcast_shapes(
            self.mu.shape, self.sigma.shape, self.phi.shape[:-1], self.theta.shape[:-1]
        )
        super().__init__(batch_shape=batch_shape, event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def _broadcast_params(self, batch_shape: tuple[int, ...]):
        # Explicit broadcasting: jnp.vectorize refuses implicit rank promotion when it is
        # set to "raise".
        return (
            jnp.broadcast_to(self.mu, batch_shape),
            jnp.broadcast_to(self.phi, batch_shape + self.phi.shape[-1:]),
            jnp.broadcast_to(self.theta, batch_shape + self.theta.shape[-1:]),
            jnp.broadcast_to(self.sigma, batch_shape),
        )

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        p, q = self.phi.shape[-1], self.theta.shape[-1]
        r = max(p, q + 1)
        shape = tuple(sample_shape) + self.batch_shape + (r + self.num_steps,)
        noise = jax.random.normal(key, shape, self.mu.dtype)
        from_noise = (_simulate_from_noise if self.likelihood == "exact"
                      else _conditional_from_noise)
        simulate = jnp.vectorize(from_noise, signature="(n),(),(p),(q),()->(t)")
        return simulate(noise, *self._broadcast_params(shape[:-1]))

    def log_prob(self, value: ArrayLike) -> Array:
        # NumPy data turns into a tracer under jnp.asarray inside a jit trace: keep a
        # concrete copy, whose gaps the exact likelihood can see at trace time.
        concrete = None if isinstance(value, jax.core.Tracer) else np.asarray(value)
        value = jnp.asarray(value)
        if value.shape[-1:] != self.event_shape:
            raise ValueError(f"ARMA.log_prob: value must end in the event shape "
                             f"{self.event_shape}, got {value.shape}")
        # Checked on concrete data only (NumPy, so it works inside a jit trace too).
        if (self.likelihood == "conditional" and not isinstance(value, jax.core.Tracer)
                and np.isnan(np.asarray(value)).any()):
            raise ValueError("ARMA.log_prob: the conditional likelihood cannot skip missing "
                             "values (NaN in the series); use likelihood='exact'")
        if self.likelihood == "exact":
            def loglik(y, mu, phi, theta, sigma):
                # Outside the stationary region the law does not exist: -inf, and a
                # harmless stand-in (phi = 0) is filtered so no NaN reaches the gradient.
                stationary = is_stationary(phi)
                value = arma_exact_loglik(y, mu, jnp.where(stationary, phi, 0.0), theta,
                                          sigma, method=self.method)
                return jnp.where(stationary, value, -jnp.inf)
        else:
            def loglik(y, mu, phi, theta, sigma):
                intercept, initial_y = _conditional_start(mu, phi)
                return arma_conditional_loglik(y, intercept, phi, theta, sigma,
                                               initial_y=initial_y)
        if self.likelihood == "exact" and value.ndim == 1 and concrete is not None:
            # Concrete series (NumPyro passes observed data closed over): keep it out of the
            # vectorisation: one series for the whole batch of parameters, so the exact
            # likelihood's loop reads unbatched data (models.arma.exact_onepass).
            def loglik_of_params(mu, phi, theta, sigma):
                return loglik(concrete, mu, phi, theta, sigma)

            return jnp.vectorize(loglik_of_params, signature="(),(p),(q),()->()")(
                *self._broadcast_params(self.batch_shape))
        vectorized = jnp.vectorize(loglik, signature="(t),(),(p),(q),()->()")
        batch_shape = jnp.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = jnp.broadcast_to(value, batch_shape + self.event_shape)
        return vectorized(value, *self._broadcast_params(batch_shape))
