"""A whole ARMA(p, q) series as one NumPyro distribution, and the exact-likelihood model.

``numpyro.sample("y", ARMA(mu, phi, theta, sigma, num_steps=T), obs=y)`` scores the
series with the exact Gaussian likelihood (:func:`models.arma_statespace.arma_exact_loglik`,
NaN gaps allowed) or, with ``likelihood="conditional"``, with the conditional one of
:mod:`models.arma`. ``sample`` draws from the stationary process (the first state from its
stationary distribution, no burn-in), so prior and posterior ``Predictive`` work.

:func:`arma_exact_model` puts priors on the constrained coefficients: uniform partial
autocorrelations mapped to stationary ``phi`` and invertible ``theta``
(:mod:`models.transforms`), so no chain can wander into a non-stationary or non-invertible
mode. With ``forecast_horizon=h`` it adds the site ``y_forecast`` (the next h values),
meant for ``Predictive`` after inference.
"""

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.arma import arma_conditional_loglik, check_model_series, sample_coefficients
from models.arma_forecast import arma_forecast_distribution
from models.arma_statespace import _arma_system, arma_exact_loglik, solve_discrete_lyapunov
from models.transforms import invertible_ma_prior, stationary_ar_prior

__all__ = ["ARMA", "arma_exact_model", "simulate_stationary_arma"]

Likelihood = Literal["exact", "conditional"]


def _simulate_from_noise(noise: Array, mu: Array, phi: Array, theta: Array, sigma: Array):
    """One stationary path from standard normals: r for the first state, T for the shocks."""
    transition, loading = _arma_system(phi, theta)
    r = transition.shape[0]
    stationary_cov = solve_discrete_lyapunov(transition, sigma**2 * jnp.outer(loading, loading))
    # eigh, not Cholesky: the stationary covariance can be singular (theta_q = 0, say).
    eigenvalues, eigenvectors = jnp.linalg.eigh(stationary_cov)
    alpha = eigenvectors @ (jnp.sqrt(jnp.clip(eigenvalues, 0.0, None)) * noise[:r])

    def step(alpha, shock):
        return transition @ alpha + loading * (sigma * shock), alpha[0]

    _, deviations = lax.scan(step, alpha, noise[r:])
    return mu + deviations


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
        likelihood: ``"exact"`` (Kalman filter, NaN = missing) or ``"conditional"``
            (pre-sample values at the mean, pre-sample errors 0, all T values modelled;
            :func:`models.arma.arma_conditional_loglik`; no NaN).
        method: the exact filter's ``method`` (``"fast"``, ``"sequential"``, ``"parallel"``).

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
        if likelihood not in ("exact", "conditional"):
            raise ValueError(f"ARMA: likelihood must be 'exact' or 'conditional', got "
                             f"{likelihood!r}")
        if int(num_steps) < 1:
            raise ValueError(f"ARMA: num_steps must be >= 1, got {num_steps}")
        mu, phi, theta, sigma = (jnp.asarray(a) for a in (mu, phi, theta, sigma))
        if phi.ndim < 1 or theta.ndim < 1:
            raise ValueError(f"ARMA: phi and theta need shape (..., p) and (..., q), got "
                             f"{phi.shape} and {theta.shape}")
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
        simulate = jnp.vectorize(_simulate_from_noise, signature="(n),(),(p),(q),()->(t)")
        return simulate(noise, *self._broadcast_params(shape[:-1]))

    def log_prob(self, value: ArrayLike) -> Array:
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
                return arma_exact_loglik(y, mu, phi, theta, sigma, method=self.method)
        else:
            def loglik(y, mu, phi, theta, sigma):
                # models.arma takes an intercept; the mean mu has intercept mu (1 - sum phi).
                # Pre-sample observations at the mean, pre-sample errors 0.
                return arma_conditional_loglik(
                    y, mu * (1.0 - jnp.sum(phi)), phi, theta, sigma,
                    initial_y=jnp.broadcast_to(mu, phi.shape),
                )
        vectorized = jnp.vectorize(loglik, signature="(t),(),(p),(q),()->()")
        batch_shape = jnp.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = jnp.broadcast_to(value, batch_shape + self.event_shape)
        return vectorized(value, *self._broadcast_params(batch_shape))


def arma_exact_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    num_steps: int | None = None,
    likelihood: Likelihood = "exact",
    stationary: bool = True,
    forecast_horizon: int = 0,
    mu_loc: float = 0.0,
    mu_scale: float = 10.0,
    sigma_scale: float = 2.5,
    coefficient_scale: float = 2.0,
) -> None:
    """NumPyro model: ARMA(p, q) with the exact likelihood, stationary and invertible.

    Priors: ``mu ~ Normal(mu_loc, mu_scale)`` (the process mean), ``phi`` and ``theta``
    uniform in their partial autocorrelations (:func:`models.transforms.stationary_ar_prior`,
    :func:`models.transforms.invertible_ma_prior`), ``sigma ~ HalfCauchy(sigma_scale)``.
    With ``stationary=False`` the coefficients get ``Normal(0, coefficient_scale)`` instead
    (unconstrained, as in :func:`models.arma.arma_model`; for comparison only).

    Sites: ``mu``, ``phi`` (p,) if p > 0, ``theta`` (q,) if q > 0, ``sigma``, the observed
    ``y`` (T,) (NaN = missing with the exact likelihood) and, when
    ``forecast_horizon = h > 0``, ``y_forecast`` (h,): the next h values given y.

    Args:
        y: the series, shape (T,); ``None`` to simulate (then give ``num_steps``).
        order: (p, q).
        num_steps: T when ``y`` is ``None``.
        likelihood: ``"exact"`` or ``"conditional"``.
        stationary: constrain phi to stationarity and theta to invertibility.
        forecast_horizon: h; 0 for none. Use it with ``Predictive``, not during inference
            (NUTS would otherwise sample the forecast as a latent variable).
        mu_loc, mu_scale, sigma_scale, coefficient_scale: prior settings.

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(arma_exact_model, num_samples=3)(
        ...     jax.random.PRNGKey(1), order=(2, 1), num_steps=20, forecast_horizon=4)
        >>> print(draws["y"].shape, draws["phi"].shape, draws["y_forecast"].shape)
        (3, 20) (3, 2) (3, 4)
    """
    p, q = order
    y, num_steps = check_model_series("arma_exact_model", y, num_steps, order)
    mu = numpyro.sample("mu", dist.Normal(mu_loc, mu_scale))

    def coefficient_prior(size: int, constrained: Callable[[int], dist.Distribution]):
        return lambda: (constrained(size) if stationary
                        else dist.Normal(0.0, coefficient_scale).expand([size]).to_event(1))

    phi = sample_coefficients("phi", p, coefficient_prior(p, stationary_ar_prior))
    theta = sample_coefficients("theta", q, coefficient_prior(q, invertible_ma_prior))
    sigma = numpyro.sample("sigma", dist.HalfCauchy(sigma_scale))
    series = numpyro.sample(
        "y", ARMA(mu, phi, theta, sigma, num_steps=num_steps, likelihood=likelihood), obs=y
    )
    if forecast_horizon > 0:
        numpyro.sample(
            "y_forecast",
            arma_forecast_distribution(series, mu, phi, theta, sigma, forecast_horizon),
        )
