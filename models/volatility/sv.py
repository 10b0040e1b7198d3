"""Stochastic volatility (Kim, Shephard & Chib 1998; the Stan User's Guide model).

The log-variance h_t is a latent stationary AR(1) and the returns are centred on 0::

    h_1 ~ N(mu, sigma^2 / (1 - phi^2))            (the stationary start)
    h_t = mu + phi (h_{t-1} - mu) + sigma eta_t,  eta_t ~ N(0, 1),   |phi| < 1
    y_t = exp(h_t / 2) eps_t,  eps_t ~ N(0, 1) or unit-variance Student-t(nu)

Priors as the Stan User's Guide (section "Stochastic volatility models"):
``mu ~ Cauchy(0, 10)``, ``phi ~ Uniform(-1, 1)``, ``sigma ~ HalfCauchy(5)``; for t returns
``nu ~ 2 + Gamma(2, 0.1)``.

Two parameterisations of the same posterior:

* :func:`sv_model` (default, **non-centred**): the sampled latent is ``h_std`` (T,)
  ``~ N(0, I)`` and ``h`` is its image under the AR(1) recursion, a first-order linear
  recurrence computed by :func:`patterns.sequential.linear_recurrence`
  (``x_t = phi x_{t-1} + sigma h_std_t`` with ``x_1 = sigma h_std_1 / sqrt(1 - phi^2)``,
  ``h = mu + x``).
* :func:`sv_centred_model`: the sampled latent is ``h`` itself, under the
  :class:`StationaryAR1` distribution: when the data say little about ``h`` and sigma is
  small, ``h`` is squeezed around its mean and NUTS meets Neal's funnel
  (``docs/volatility.md`` gives the divergence counts).
"""

from typing import Literal

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import Array
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.volatility.model import nu_prior
from patterns.sequential import linear_recurrence

__all__ = ["StationaryAR1", "ar1_from_shocks", "sv_centred_model", "sv_model"]


def ar1_from_shocks(shocks: ArrayLike, mu: ArrayLike, phi: ArrayLike,
                    sigma: ArrayLike) -> Array:
    """The stationary AR(1) path with standard-normal shocks ``shocks`` (T,):
    ``h_1 = mu + sigma z_1 / sqrt(1 - phi^2)``, ``h_t = mu + phi (h_{t-1} - mu) + sigma z_t``.

    Example:
        >>> import jax.numpy as jnp
        >>> h = ar1_from_shocks(jnp.array([0.6, 1.0, 0.0]), 1.0, 0.8, 0.5)
        >>> print([round(float(v), 4) for v in h])  # 1 + .5 * .6 / .6, 1 + .8 * .5 + .5
        [1.5, 1.9, 1.72]
    """
    z = jnp.asarray(shocks)
    if z.ndim != 1:
        raise ValueError(f"shocks must have shape (T,), got {z.shape}")
    phi = jnp.asarray(phi, z.dtype)
    sigma = jnp.asarray(sigma, z.dtype)
    a = jnp.full(z.shape, phi).at[0].set(0.0)
    b = (sigma * z).at[0].divide(jnp.sqrt(1 - phi**2))
    return mu + linear_recurrence(a, b, jnp.zeros((), z.dtype))


class StationaryAR1(dist.Distribution):
    """A stationary Gaussian AR(1) path of length T (the centred SV latent).

    Example:
        >>> import jax
        >>> d = StationaryAR1(0.0, 0.5, 1.0, num_steps=3)
        >>> print(d.sample(jax.random.PRNGKey(0)).shape)
        (3,)
        >>> print(round(float(d.log_prob(jax.numpy.zeros(3))), 4))  # N(0,4/3), N(0,1) x 2
        -2.9007
    """

    arg_constraints = {"mu": constraints.real, "phi": constraints.interval(-1.0, 1.0),
                       "sigma": constraints.positive}
    support = constraints.real_vector
    pytree_data_fields = ("mu", "phi", "sigma")
    pytree_aux_fields = ("num_steps",)

    def __init__(self, mu: ArrayLike, phi: ArrayLike, sigma: ArrayLike, *, num_steps: int,
                 validate_args: bool | None = None) -> None:
        if int(num_steps) < 1:
            raise ValueError(f"StationaryAR1: num_steps must be >= 1, got {num_steps}")
        dtype = jnp.result_type(float, mu, phi, sigma)
        self.mu, self.phi, self.sigma = (jnp.asarray(a, dtype) for a in (mu, phi, sigma))
        if self.mu.ndim or self.phi.ndim or self.sigma.ndim:
            raise ValueError("StationaryAR1: mu, phi and sigma must be scalars")
        self.num_steps = int(num_steps)
        super().__init__(batch_shape=(), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        import jax

        z = jax.random.normal(key, tuple(sample_shape) + (self.num_steps,), self.mu.dtype)
        path = jnp.vectorize(lambda z: ar1_from_shocks(z, self.mu, self.phi, self.sigma),
                             signature="(t)->(t)")
        return path(z)

    def log_prob(self, value: ArrayLike) -> Array:
        h = jnp.asarray(value)
        first = dist.Normal(self.mu, self.sigma / jnp.sqrt(1 - self.phi**2)).log_prob(h[..., 0])
        means = self.mu + self.phi * (h[..., :-1] - self.mu)
        rest = dist.Normal(means, self.sigma).log_prob(h[..., 1:]).sum(-1)
        return first + rest


def _returns(h: Array, nu: Array | None) -> dist.Distribution:
    scale = jnp.exp(h / 2)
    if nu is None:
        return dist.Normal(0.0, scale).to_event(1)
    return dist.StudentT(nu, 0.0, scale * jnp.sqrt((nu - 2) / nu)).to_event(1)


def _priors(innovations: str, mu_scale: float, sigma_scale: float):
    if innovations not in ("normal", "t"):
        raise ValueError(f"innovations must be 'normal' or 't', got {innovations!r}")
    mu = numpyro.sample("mu", dist.Cauchy(0.0, mu_scale))
    phi = numpyro.sample("phi", dist.Uniform(-1.0, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfCauchy(sigma_scale))
    nu = numpyro.sample("nu", nu_prior()) if innovations == "t" else None
    return mu, phi, sigma, nu


def _series_length(name: str, y: ArrayLike | None, num_steps: int | None):
    if y is not None:
        y = jnp.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"{name}: y must have shape (T,), got {y.shape}")
        return y, y.shape[0]
    if num_steps is None:
        raise ValueError(f"{name}: give the observed y or num_steps")
    return None, int(num_steps)


def _observe_and_forecast(y, h, mu, phi, sigma, nu, forecast_horizon: int) -> None:
    numpyro.sample("y", _returns(h, nu), obs=y)
    if y is None:
        return
    numpyro.deterministic("volatility", jnp.exp(h / 2))
    if forecast_horizon > 0:
        k = int(forecast_horizon)
        shocks = numpyro.sample("h_forecast_std", dist.Normal(0.0, 1.0).expand([k])
                                .to_event(1))
        future = mu + linear_recurrence(jnp.full((k,), phi), sigma * shocks, h[-1] - mu)
        numpyro.deterministic("volatility_forecast", jnp.exp(future / 2))
        numpyro.sample("y_forecast", _returns(future, nu))


def sv_model(
    y: ArrayLike | None = None,
    *,
    innovations: Literal["normal", "t"] = "normal",
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    mu_scale: float = 10.0,
    sigma_scale: float = 5.0,
) -> None:
    """NumPyro model: stochastic volatility, non-centred (module text).

    Sites: ``mu``, ``phi``, ``sigma``, ``nu`` (t only), ``h_std`` (T,), the deterministic
    ``h`` (T,), the observed ``y`` (T,), ``volatility`` = exp(h / 2) (T,, when y is
    observed) and, with ``forecast_horizon = k > 0``: ``h_forecast_std`` (k,),
    ``volatility_forecast`` (k,) and ``y_forecast`` (k,).

    Args:
        y: returns, shape (T,), no NaN; ``None`` to simulate (with ``num_steps``).
        innovations: ``"normal"`` or ``"t"`` (unit-variance Student-t).
        num_steps: T when ``y`` is ``None``.
        forecast_horizon: k; use with ``Predictive`` after inference.
        mu_scale, sigma_scale: Cauchy scales of mu and sigma (Stan: 10 and 5).

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(sv_model, num_samples=2)(jax.random.PRNGKey(0), num_steps=9)
        >>> print(draws["y"].shape, draws["h"].shape, bool((abs(draws["phi"]) < 1).all()))
        (2, 9) (2, 9) True
    """
    y, num_steps = _series_length("sv_model", y, num_steps)
    mu, phi, sigma, nu = _priors(innovations, mu_scale, sigma_scale)
    h_std = numpyro.sample("h_std", dist.Normal(0.0, 1.0).expand([num_steps]).to_event(1))
    h = numpyro.deterministic("h", ar1_from_shocks(h_std, mu, phi, sigma))
    _observe_and_forecast(y, h, mu, phi, sigma, nu, forecast_horizon)


def sv_centred_model(
    y: ArrayLike | None = None,
    *,
    innovations: Literal["normal", "t"] = "normal",
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    mu_scale: float = 10.0,
    sigma_scale: float = 5.0,
) -> None:
    """NumPyro model: the same stochastic volatility posterior, centred (``h`` sampled
    directly under :class:`StationaryAR1`); for the funnel comparison. Arguments and sites
    as :func:`sv_model`, without ``h_std``.

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(sv_centred_model, num_samples=2)(jax.random.PRNGKey(0),
        ...                                                      num_steps=9)
        >>> print(draws["y"].shape, draws["h"].shape)
        (2, 9) (2, 9)
    """
    y, num_steps = _series_length("sv_centred_model", y, num_steps)
    mu, phi, sigma, nu = _priors(innovations, mu_scale, sigma_scale)
    h = numpyro.sample("h", StationaryAR1(mu, phi, sigma, num_steps=num_steps))
    _observe_and_forecast(y, h, mu, phi, sigma, nu, forecast_horizon)
