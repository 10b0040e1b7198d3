"""Stochastic volatility (Kim, Shephard & Chib 1998; the Stan User's Guide model).

The log-variance h_t is a latent stationary AR(1) and the returns are centred on 0::

    h_1 ~ N(mu, sigma^2 / (1 - phi^2))            (the stationary start)
    h_t = mu + phi (h_{t-1} - mu) + sigma eta_t,  eta_t ~ N(0, 1),   |phi| < 1
    y_t = exp(h_t / 2) eps_t,  eps_t ~ N(0, 1) or unit-variance Student-t(nu)

Priors as the Stan User's Guide (section "Stochastic volatility models"):
``mu ~ Cauchy(0, 10)``, ``phi ~ Uniform(-1, 1)``, ``sigma ~ HalfCauchy(5)``; for t returns
``nu ~ 2 + Gamma(2, 0.1)``.

Parameterisations of the same posterior:

* :func:`sv_model` (default, **non-centred, whitened**): the sampled latent is
  ``h_white`` (T,) and ``h`` is its image under a first-order linear recurrence
  (:func:`ar1_from_white`, computed by :func:`patterns.sequential.linear_recurrence`)
  chosen so that ``h_white`` is close to N(0, I) *a posteriori*: the recurrence whitens
  the AR(1) prior precision plus ``information`` (the Fisher information 1/2 of a
  log-variance in a normal return) per step, and shifts by ``kappa mu``, the part of mu
  the prior carries (:func:`ar1_whitening`). ``information=0`` is the Stan User's Guide's
  non-centring exactly (``h_white ~ N(0, I)``, ``x_t = phi x_{t-1} + sigma h_white_t``,
  ``x_1 = sigma h_white_1 / sqrt(1 - phi^2)``, ``h = mu + x``), whose slow components
  scale like ``sigma / (1 - phi)`` and diverge at phi > 0.9 (``docs/volatility.md``).
  The latent recurrence runs once per evaluation: ``h_white`` is drawn from
  :class:`WhitenedAR1` (masked) and its density is a factor of the same ``u = (h - mu) /
  sigma`` that gives ``h``. By default (``scale="stationary"``) the model samples h's
  stationary sd ``sigma / sqrt(1 - phi^2)`` and derives sigma (the same prior), which
  removes the posterior ridge between phi and sigma.
* :func:`sv_centred_model`: the sampled latent is ``h`` itself, under the
  :class:`StationaryAR1` distribution: when the data say little about ``h`` and sigma is
  small, ``h`` is squeezed around its mean and NUTS meets Neal's funnel
  (``docs/volatility.md`` gives the divergence counts).
"""

from typing import Literal, NamedTuple

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax import Array
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.volatility.model import nu_prior
from patterns.sequential import linear_recurrence

__all__ = [
    "NORMAL_RETURN_INFORMATION",
    "SV_SCALES",
    "StationaryAR1",
    "WhitenedAR1",
    "Whitening",
    "ar1_from_shocks",
    "ar1_from_white",
    "ar1_to_white",
    "ar1_whitening",
    "sv_centred_model",
    "sv_model",
]

#: Fisher information of a log-variance h in one normal return ``y ~ N(0, exp(h))``:
#: ``E[-d^2/dh^2 log p(y | h)] = E[y^2 exp(-h)] / 2 = 1/2``; the default ``information``.
NORMAL_RETURN_INFORMATION = 0.5

#: The sampled scale of the log-variance (``scale=``): the stationary sd
#: ``sigma / sqrt(1 - phi^2)`` (sigma derived), or the shock sd sigma itself (Stan's).
SV_SCALES = ("stationary", "innovation")


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


class Whitening(NamedTuple):
    """Coefficients of the whitened non-centring (:func:`ar1_whitening`), scalars:
    ``x_1 = white_1 / first``, ``x_t = rho x_{t-1} + white_t / step``,
    ``h = kappa mu + x``; ``q = (sigma step)^2`` and ``shift = (kappa - 1) / sigma``,
    computed without cancellation (``h - mu = sigma (x / sigma + shift mu)`` stays exact
    as sigma -> 0)."""

    first: Array
    step: Array
    rho: Array
    kappa: Array
    q: Array
    shift: Array


def ar1_whitening(phi: ArrayLike, sigma: ArrayLike, information: ArrayLike) -> Whitening:
    """The lower-bidiagonal A with ``A^T A`` = the stationary AR(1) prior precision of ``h``,
    ``Q / sigma^2``, plus ``information`` on the diagonal, and the shift of mu.

    ``Q / sigma^2 + c I`` (c = ``information``) is tridiagonal: diagonal
    ``(1 + phi^2) / sigma^2 + c`` (``1 / sigma^2 + c`` at both ends), off-diagonal
    ``-phi / sigma^2``. Its constant-coefficient factor has ``step^2 = q / sigma^2`` with
    ``q = ((1 + phi^2) + s + r) / 2``, ``s = c sigma^2``,
    ``r = sqrt(((1 - |phi|)^2 + s)((1 + |phi|)^2 + s))`` (the fixed point of the Cholesky
    recursion), ``rho = phi / q`` and ``first^2 = (q - phi^2) / sigma^2``; ``A^T A`` then
    equals the target but in its last diagonal entry (``step^2`` for ``1 / sigma^2 + c``):
    any such A is a bijection, exact for the posterior, the factor only sets how white
    ``h_white`` is. The shift ``kappa = (1 - phi)^2 q / (q - phi)^2`` is the share of the
    prior in the precision of h's level, ``((1 - phi)^2 / sigma^2) / ((1 - phi)^2 / sigma^2
    + c)``: partial centring of mu (Papaspiliopoulos, Roberts & Skold 2007), so that mu
    and ``h_white`` are near independent a posteriori. Every term is a sum of non-negative
    parts (no cancellation as phi -> 1), and ``q - 1 = s (1 + (2 + 2 phi^2 + s) /
    (r + 1 - phi^2)) / 2`` (none as sigma -> 0). With ``c = 0``: ``q = 1``, ``rho = phi``,
    ``kappa = 1``, ``step = 1 / sigma``, ``first = sqrt(1 - phi^2) / sigma``: the classic
    non-centring.

    Example:
        >>> w = ar1_whitening(0.9, 0.5, 0.0)
        >>> print([round(float(v), 4) for v in w[:5]])  # sqrt(.19) / .5, 1 / .5, phi, 1, 1
        [0.8718, 2.0, 0.9, 1.0, 1.0]
        >>> w = ar1_whitening(0.95, 0.25, 0.5)
        >>> print(round(float(w.rho), 3), round(float(w.kappa), 3))  # slow part: centred
        0.828 0.074
    """
    phi = jnp.asarray(phi)
    sigma = jnp.asarray(sigma)
    c = jnp.asarray(information)
    s = c * sigma**2
    root = jnp.sqrt(((1 - jnp.abs(phi)) ** 2 + s) * ((1 + jnp.abs(phi)) ** 2 + s))
    q = 0.5 * (1 + phi**2 + s + root)
    q_minus_phi2 = 0.5 * (1 - phi**2 + s + root)
    q_minus_phi = 0.5 * ((1 - phi) ** 2 + s + root)
    kappa = (1 - phi) ** 2 * q / q_minus_phi**2
    # kappa - 1 = -(q - 1)(q - phi^2) / (q - phi)^2, with (q - 1) / sigma = c sigma (...) / 2
    q_minus_1_over_sigma = 0.5 * c * sigma * (1 + (2 + 2 * phi**2 + s) / (root + 1 - phi**2))
    shift = -q_minus_1_over_sigma * q_minus_phi2 / q_minus_phi**2
    return Whitening(jnp.sqrt(q_minus_phi2) / sigma, jnp.sqrt(q) / sigma, phi / q, kappa, q,
                     shift)


def _check_information(name: str, information: float) -> None:
    if not (isinstance(information, int | float) and information >= 0):
        raise ValueError(f"{name}: information must be a number >= 0, got {information!r}")


def _standardised_deviation(z: Array, mu: ArrayLike, phi: Array, sigma: Array,
                            information: float) -> Array:
    """``(h - mu) / sigma`` of the whitened latent ``z`` (T,), free of sigma's scale."""
    w = ar1_whitening(phi, sigma, information)
    a = jnp.full(z.shape, w.rho).at[0].set(0.0)
    b = (z / jnp.sqrt(w.q)).at[0].set(z[0] / jnp.sqrt(w.q - phi**2))
    return linear_recurrence(a, b, jnp.zeros((), z.dtype)) + w.shift * mu


def ar1_from_white(white: ArrayLike, mu: ArrayLike, phi: ArrayLike, sigma: ArrayLike,
                   information: float = NORMAL_RETURN_INFORMATION) -> Array:
    """The log-variance path ``h`` (T,) of the whitened latent ``white`` (T,):
    ``h = kappa mu + x``, ``x_1 = white_1 / first``, ``x_t = rho x_{t-1} + white_t / step``
    (:func:`ar1_whitening`), one :func:`patterns.sequential.linear_recurrence`. With
    ``information=0`` it is :func:`ar1_from_shocks`.

    Example:
        >>> import jax.numpy as jnp
        >>> z = jnp.array([0.6, 1.0, 0.0])
        >>> print([round(float(v), 4) for v in ar1_from_white(z, 1.0, 0.8, 0.5, 0.0)])
        [1.5, 1.9, 1.72]
        >>> h = ar1_from_white(z, 1.0, 0.8, 0.5)
        >>> print(float(jnp.abs(ar1_to_white(h, 1.0, 0.8, 0.5) - z).max()) < 1e-6)
        True
    """
    z = jnp.asarray(white)
    if z.ndim != 1:
        raise ValueError(f"white must have shape (T,), got {z.shape}")
    phi, sigma = jnp.asarray(phi, z.dtype), jnp.asarray(sigma, z.dtype)
    return mu + sigma * _standardised_deviation(z, mu, phi, sigma, information)


def ar1_to_white(h: ArrayLike, mu: ArrayLike, phi: ArrayLike, sigma: ArrayLike,
                 information: float = NORMAL_RETURN_INFORMATION) -> Array:
    """The inverse of :func:`ar1_from_white` (no recurrence: ``white = A (h - kappa mu)``
    with A lower bidiagonal), shape (..., T).

    Example:
        >>> import jax.numpy as jnp
        >>> z = ar1_to_white(jnp.array([1.5, 1.9, 1.72]), 1.0, 0.8, 0.5, 0.0)
        >>> print([round(float(v), 4) for v in z])
        [0.6, 1.0, 0.0]
    """
    h = jnp.asarray(h)
    w = ar1_whitening(jnp.asarray(phi, h.dtype), jnp.asarray(sigma, h.dtype), information)
    x = h - w.kappa * mu
    rest = w.step * (x[..., 1:] - w.rho * x[..., :-1])
    return jnp.concatenate([w.first * x[..., :1], rest], axis=-1)


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


class WhitenedAR1(dist.Distribution):
    """The law of ``white = ar1_to_white(h, ...)`` when ``h`` ~ :class:`StationaryAR1`: the
    latent ``h_white`` of :func:`sv_model`. ``log_prob`` is the AR(1) density of
    ``ar1_from_white(white)`` plus the log-Jacobian ``-log(first) - (T - 1) log(step)``,
    computed in ``(h - mu) / sigma`` so that no term divides by sigma; with
    ``information=0`` it is N(0, I).

    Example:
        >>> import jax
        >>> d = WhitenedAR1(0.0, 0.5, 1.0, 0.0, num_steps=3)
        >>> print(round(float(d.log_prob(jax.numpy.zeros(3))), 4))  # N(0, I_3) at 0
        -2.7568
        >>> print(WhitenedAR1(0.0, 0.9, 0.3, num_steps=4).sample(jax.random.PRNGKey(0)).shape)
        (4,)
    """

    arg_constraints = {"mu": constraints.real, "phi": constraints.interval(-1.0, 1.0),
                       "sigma": constraints.positive}
    support = constraints.real_vector
    pytree_data_fields = ("mu", "phi", "sigma")
    pytree_aux_fields = ("num_steps", "information")

    def __init__(self, mu: ArrayLike, phi: ArrayLike, sigma: ArrayLike,
                 information: float = NORMAL_RETURN_INFORMATION, *, num_steps: int,
                 validate_args: bool | None = None) -> None:
        _check_information("WhitenedAR1", information)
        self.latent = StationaryAR1(mu, phi, sigma, num_steps=num_steps)
        self.mu, self.phi, self.sigma = self.latent.mu, self.latent.phi, self.latent.sigma
        self.num_steps, self.information = self.latent.num_steps, float(information)
        super().__init__(batch_shape=(), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def path(self, white: ArrayLike) -> Array:
        """``h`` of ``white`` (..., T): :func:`ar1_from_white`."""
        to_path = jnp.vectorize(lambda z: ar1_from_white(z, self.mu, self.phi, self.sigma,
                                                         self.information),
                                signature="(t)->(t)")
        return to_path(jnp.asarray(white))

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        h = self.latent.sample(key, sample_shape)
        return ar1_to_white(h, self.mu, self.phi, self.sigma, self.information)

    def deviation(self, white: ArrayLike) -> Array:
        """``u = (h - mu) / sigma`` of ``white`` (..., T): one linear recurrence, from which
        both ``h = mu + sigma u`` and the density (:meth:`log_prob_of_deviation`) follow."""
        deviation = jnp.vectorize(
            lambda z: _standardised_deviation(z, self.mu, self.phi, self.sigma,
                                              self.information), signature="(t)->(t)")
        return deviation(jnp.asarray(white))

    def log_prob_of_deviation(self, u: ArrayLike) -> Array:
        """:meth:`log_prob` of the ``white`` whose :meth:`deviation` is ``u`` (..., T): the
        AR(1) density written in ``u`` plus the log-Jacobian, no recurrence."""
        # The AR(1) density of h written in u = (h - mu) / sigma: its -T log sigma cancels
        # the Jacobian's +T log sigma exactly, so nothing divides by sigma (a chain that
        # visits sigma = 1e-16 in warm-up meets no rounding noise).
        u = jnp.asarray(u)
        residuals = jnp.concatenate(
            [jnp.sqrt(1 - self.phi**2) * u[..., :1], u[..., 1:] - self.phi * u[..., :-1]],
            axis=-1)
        q = ar1_whitening(self.phi, self.sigma, self.information).q
        log_jacobian = (0.5 * jnp.log1p(-self.phi**2) - 0.5 * jnp.log(q - self.phi**2)
                        - 0.5 * (self.num_steps - 1) * jnp.log(q))
        return dist.Normal(0.0, 1.0).log_prob(residuals).sum(-1) + log_jacobian

    def log_prob(self, value: ArrayLike) -> Array:
        return self.log_prob_of_deviation(self.deviation(value))


def _returns(h: Array, nu: Array | None) -> dist.Distribution:
    scale = jnp.exp(h / 2)
    if nu is None:
        return dist.Normal(0.0, scale).to_event(1)
    return dist.StudentT(nu, 0.0, scale * jnp.sqrt((nu - 2) / nu)).to_event(1)


def _priors(innovations: str, mu_scale: float, sigma_scale: float,
            scale: str = "innovation"):
    if innovations not in ("normal", "t"):
        raise ValueError(f"innovations must be 'normal' or 't', got {innovations!r}")
    if scale not in SV_SCALES:
        raise ValueError(f"scale must be one of {SV_SCALES}, got {scale!r}")
    mu = numpyro.sample("mu", dist.Cauchy(0.0, mu_scale))
    phi = numpyro.sample("phi", dist.Uniform(-1.0, 1.0))
    if scale == "stationary":
        # sigma ~ HalfCauchy(sigma_scale) independent of phi is, given phi, the stationary
        # sd s = sigma / sqrt(1 - phi^2) ~ HalfCauchy(sigma_scale / sqrt(1 - phi^2)): the
        # same prior, in the coordinates where the posterior of (phi, s) is near
        # uncorrelated (that of (phi, sigma) is a ridge: docs/volatility.md)
        root = jnp.sqrt((1 - phi) * (1 + phi))
        stationary_sd = numpyro.sample("stationary_sd", dist.HalfCauchy(sigma_scale / root))
        sigma = numpyro.deterministic("sigma", stationary_sd * root)
    else:
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
    information: float = NORMAL_RETURN_INFORMATION,
    scale: Literal["stationary", "innovation"] = "stationary",
) -> None:
    """NumPyro model: stochastic volatility, non-centred and whitened (module text).

    Sites: ``mu``, ``phi``, ``stationary_sd`` and the deterministic ``sigma`` (``scale=
    "stationary"``) or ``sigma`` (``"innovation"``), ``nu`` (t only), ``h_white`` (T,), the
    deterministic ``h`` (T,), the observed ``y`` (T,), ``volatility`` = exp(h / 2) (T,, when y is
    observed) and, with ``forecast_horizon = k > 0``: ``h_forecast_std`` (k,),
    ``volatility_forecast`` (k,) and ``y_forecast`` (k,).

    Args:
        y: returns, shape (T,), no NaN; ``None`` to simulate (with ``num_steps``).
        innovations: ``"normal"`` or ``"t"`` (unit-variance Student-t).
        num_steps: T when ``y`` is ``None``.
        forecast_horizon: k; use with ``Predictive`` after inference.
        mu_scale, sigma_scale: Cauchy scales of mu and sigma (Stan: 10 and 5).
        information: c >= 0, the information per step the whitening assumes
            (:func:`ar1_whitening`; default 1/2, a normal return's); any value gives the
            same posterior, 0 the Stan User's Guide's non-centring (``h_white ~ N(0, I)``).
        scale: the sampled scale (:data:`SV_SCALES`): ``"stationary"`` samples h's
            stationary sd ``s = sigma / sqrt(1 - phi^2)`` under the prior that sigma's
            ``HalfCauchy(sigma_scale)`` implies given phi, ``HalfCauchy(sigma_scale /
            sqrt(1 - phi^2))``, and derives sigma: the same posterior, without the ridge
            between phi and sigma (correlation -0.80 against 0.08 for phi and s on a
            series at phi = 0.9); ``"innovation"`` samples sigma (Stan's program).

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(sv_model, num_samples=2)(jax.random.PRNGKey(0), num_steps=9)
        >>> print(draws["y"].shape, draws["h"].shape, bool((abs(draws["phi"]) < 1).all()))
        (2, 9) (2, 9) True
    """
    y, num_steps = _series_length("sv_model", y, num_steps)
    _check_information("sv_model", information)
    mu, phi, sigma, nu = _priors(innovations, mu_scale, sigma_scale, scale)
    latent = WhitenedAR1(mu, phi, sigma, information, num_steps=num_steps)
    # One recurrence per evaluation: the site draws from h_white's exact law, and its
    # density is added by the factor from the same u that gives h (scoring the site
    # itself would run the recurrence a second time, and its gradient twice).
    u = latent.deviation(numpyro.sample("h_white", latent.mask(False)))
    numpyro.factor("h_white_log_prob", latent.log_prob_of_deviation(u))
    h = numpyro.deterministic("h", mu + sigma * u)
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
    as :func:`sv_model`, without ``h_white``.

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
