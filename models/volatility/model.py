"""The GARCH family's NumPyro model: priors that enforce positivity and stationarity by
their parameterisation, the observed series, the fitted and forecast volatility.

Stationarity (``sum alpha + sum beta < 1``) and positivity come from one simplex: the
``p + q + 1`` weights ``(alpha_1..alpha_p, beta_1..beta_q, 1 - persistence)`` are a
Dirichlet(1, ..., 1) draw, i.e. **uniform** over the stationary region (for GARCH(1, 1)
the triangle ``alpha, beta > 0, alpha + beta < 1``, exactly the flat prior of posteriordb's
``garch11``). No draw can leave it, and no start of a chain is outside it.
"""

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from models.volatility.distribution import GARCH
from models.volatility.garch import arch_backcast, garch_forecast_variance, garch_variances

__all__ = ["GARCH_STARTS", "FlatPrior", "garch_data_priors", "garch_model", "nu_prior"]

#: Where the variance recursion starts (``start=``): the stationary (unconditional)
#: variance ``omega / (1 - persistence)``, ``arch``'s backcast of the observed series, or a
#: parameter ``initial_variance`` with its own prior.
GARCH_STARTS = ("unconditional", "backcast", "parameter")


class FlatPrior(dist.ImproperUniform):
    """The improper flat density (log density 0) on ``support`` (real or positive), as in
    a Stan program without a prior statement. ``sample`` cannot draw from it; it returns
    the fixed point 0 (real) or 1 (positive) so that a model using it can still be traced
    (``handlers.trace``, ``init_to_median``'s fallback); never read its draws as a prior.

    Example:
        >>> import jax
        >>> d = FlatPrior(dist.constraints.positive)
        >>> print(float(d.log_prob(3.0)), float(d.sample(jax.random.PRNGKey(0))))
        0.0 1.0
    """

    def __init__(self, support: dist.constraints.Constraint) -> None:
        if support not in (dist.constraints.real, dist.constraints.positive):
            raise ValueError(f"FlatPrior: support must be real or positive, got {support}")
        super().__init__(support, (), ())

    def sample(self, key, sample_shape=()):
        value = 0.0 if self.support is dist.constraints.real else 1.0
        return jnp.full(tuple(sample_shape), value)


def nu_prior() -> dist.Distribution:
    """Prior of the Student-t degrees of freedom: ``nu = 2 + Gamma(2, 0.1)`` (Juarez &
    Steel 2010's Gamma(2, 0.1), shifted so the unit-variance t exists).

    Example:
        >>> print(nu_prior().support)  # so NUTS never proposes nu <= 2
        GreaterThan(lower_bound=2.0)
    """
    shift = dist.transforms.AffineTransform(2.0, 1.0, domain=dist.constraints.positive)
    return dist.TransformedDistribution(dist.Gamma(2.0, 0.1), shift)


def garch_data_priors(y: ArrayLike) -> dict[str, float]:
    """Prior settings on the series' scale: ``mu ~ Normal(mean(y), 10 sd(y))``,
    ``omega ~ HalfCauchy(var(y))`` (and, for ``start="parameter"``, the initial variance
    ``~ HalfCauchy(var(y))``).

    Example:
        >>> import numpy as np
        >>> print(garch_data_priors(np.array([1.0, -1.0, 3.0])))
        {'mu_loc': 1.0, 'mu_scale': 20.0, 'variance_scale': 4.0}
    """
    values = np.asarray(y, dtype=np.float64)
    sd = float(np.std(values, ddof=1)) if values.size >= 2 else 0.0
    if not (np.isfinite(sd) and sd > 0):
        raise ValueError(f"garch_data_priors: need at least two finite values that differ "
                         f"(got {values.size} value(s), sd {sd:g}); give mu_loc, mu_scale "
                         "and variance_scale instead")
    return {"mu_loc": float(np.mean(values)), "mu_scale": 10.0 * sd, "variance_scale": sd**2}


def garch_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    innovations: Literal["normal", "t"] = "normal",
    start: str = "unconditional",
    initial_variance: float | None = None,
    first_variance: bool = False,
    priors: Literal["scaled", "flat"] = "scaled",
    mu_loc: float | None = None,
    mu_scale: float | None = None,
    variance_scale: float | None = None,
    num_steps: int | None = None,
    forecast_horizon: int = 0,
) -> None:
    """NumPyro model: GARCH(p, q) with a constant mean (module text for the priors).

    Sites: ``mu``, ``omega``, ``weights`` (simplex, p + q + 1), the deterministic ``alpha``
    (p,) and ``beta`` (q,), ``nu`` (Student-t only), ``initial_variance``
    (``start="parameter"`` only), the observed ``y`` (T,), the deterministic ``volatility``
    (T,) (conditional sd, when y is observed), and with ``forecast_horizon = h > 0``:
    ``volatility_forecast`` (h,) (sqrt of the variance forecast ``E[sigma2_{T+k} | y]``),
    ``forecast_shocks`` (h,) and ``y_forecast`` (h,) (a path of the process continued).

    Args:
        y: the returns, shape (T,); ``None`` to simulate (with ``num_steps``).
        order: (p, q): p ARCH terms alpha, q GARCH terms beta (``arch``'s p and q).
        innovations: ``"normal"`` or ``"t"`` (unit-variance Student-t, prior
            :func:`nu_prior`).
        start: one of :data:`GARCH_STARTS`; ignored when ``initial_variance`` is given.
            Simulating (``y=None``) with ``"backcast"`` starts at the unconditional variance.
        initial_variance: a fixed ``v0`` > 0 (overrides ``start``).
        first_variance: ``v0`` is the first observation's variance (posteriordb's
            ``sigma[1] = sigma1``) instead of the pre-sample value.
        priors: ``"scaled"`` (``mu ~ Normal(mu_loc, mu_scale)``,
            ``omega ~ HalfCauchy(variance_scale)``) or ``"flat"`` (improper flat ``mu`` and
            ``omega``: posteriordb ``garch11``). The weights are Dirichlet(1, ..., 1) in both.
        mu_loc, mu_scale, variance_scale: ``None``: from the observed series
            (:func:`garch_data_priors`).
        num_steps: T when ``y`` is ``None``.
        forecast_horizon: h; use with ``Predictive`` after inference.

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(garch_model, num_samples=2)(
        ...     jax.random.PRNGKey(0), num_steps=30, mu_loc=0.0, mu_scale=1.0,
        ...     variance_scale=1.0)
        >>> print(draws["y"].shape, draws["alpha"].shape, draws["beta"].shape)
        (2, 30) (2, 1) (2, 1)
        >>> print(bool((draws["alpha"] + draws["beta"] < 1).all()))
        True
    """
    p, q = (int(k) for k in order)
    if p < 0 or q < 0:
        raise ValueError(f"garch_model: order (p, q) must be >= 0, got {tuple(order)}")
    if innovations not in ("normal", "t"):
        raise ValueError(f"garch_model: innovations must be 'normal' or 't', got "
                         f"{innovations!r}")
    if start not in GARCH_STARTS:
        raise ValueError(f"garch_model: start must be one of {GARCH_STARTS}, got {start!r}")
    if initial_variance is not None and not float(initial_variance) > 0:
        raise ValueError(f"garch_model: initial_variance must be > 0, got {initial_variance}")
    if y is not None:
        y = jnp.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"garch_model: y must have shape (T,), got {y.shape}")
        num_steps = y.shape[0]
    elif num_steps is None:
        raise ValueError("garch_model: give the observed y or num_steps")
    num_steps = int(num_steps)
    needs_data = priors == "scaled" and None in (mu_loc, mu_scale, variance_scale)
    if needs_data:
        if y is None or isinstance(y, jax.core.Tracer):
            raise ValueError("garch_model: mu_loc, mu_scale and variance_scale must be given "
                             "without an observed series")
        from_data = garch_data_priors(y)
        mu_loc = from_data["mu_loc"] if mu_loc is None else mu_loc
        mu_scale = from_data["mu_scale"] if mu_scale is None else mu_scale
        variance_scale = from_data["variance_scale"] if variance_scale is None \
            else variance_scale

    if priors == "flat":
        mu = numpyro.sample("mu", FlatPrior(dist.constraints.real))
        omega = numpyro.sample("omega", FlatPrior(dist.constraints.positive))
    elif priors == "scaled":
        mu = numpyro.sample("mu", dist.Normal(mu_loc, mu_scale))
        omega = numpyro.sample("omega", dist.HalfCauchy(variance_scale))
    else:
        raise ValueError(f"garch_model: priors must be 'scaled' or 'flat', got {priors!r}")
    weights = numpyro.sample("weights", dist.Dirichlet(jnp.ones(p + q + 1)))
    alpha = numpyro.deterministic("alpha", weights[:p])
    beta = numpyro.deterministic("beta", weights[p:p + q])
    nu = numpyro.sample("nu", nu_prior()) if innovations == "t" else None

    unconditional = omega / weights[-1]
    if initial_variance is not None:
        v0 = jnp.asarray(initial_variance, unconditional.dtype)
    elif start == "parameter":
        scale = 1.0 if variance_scale is None else variance_scale
        v0 = numpyro.sample("initial_variance", dist.HalfCauchy(scale))
    elif start == "backcast" and y is not None:
        v0 = arch_backcast(y - jnp.mean(y))
    else:
        v0 = unconditional
    recursion_start = "first" if first_variance else "presample"
    series = numpyro.sample(
        "y", GARCH(mu, omega, alpha, beta, nu, initial_variance=v0, num_steps=num_steps,
                   start=recursion_start), obs=y)
    if y is None:
        return
    residuals = series - mu
    variances = garch_variances(residuals, omega, alpha, beta, v0, start=recursion_start)
    numpyro.deterministic("volatility", jnp.sqrt(variances))
    if forecast_horizon > 0:
        h = int(forecast_horizon)
        numpyro.deterministic("volatility_forecast", jnp.sqrt(
            garch_forecast_variance(residuals, variances, omega, alpha, beta, h)))
        unit = (dist.Normal(0.0, 1.0) if nu is None
                else dist.StudentT(nu, 0.0, jnp.sqrt((nu - 2) / nu)))  # variance 1
        shocks = numpyro.sample("forecast_shocks", unit.expand([h]).to_event(1))
        path, _ = _continue(shocks, mu, omega, alpha, beta, residuals, variances)
        numpyro.deterministic("y_forecast", path)


def _continue(shocks, mu, omega, alpha, beta, residuals, variances):
    """The process continued h steps after the sample from its last p squared residuals
    and q variances."""
    p, q = alpha.shape[0], beta.shape[0]
    lagged_squares, lagged_variances = (residuals**2)[::-1][:p], variances[::-1][:q]

    def push(buffer, value):
        return jnp.concatenate([value[None], buffer])[: buffer.shape[0]]

    def step(carry, z):
        squares, past = carry
        variance = omega + alpha @ squares + beta @ past
        e = jnp.sqrt(variance) * z
        return (push(squares, e**2), push(past, variance)), (mu + e, variance)

    _, (path, future) = jax.lax.scan(step, (lagged_squares, lagged_variances), shocks)
    return path, future
