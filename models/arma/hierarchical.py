"""Hierarchical ARMA(p, q) over S series: partial pooling of the AR and MA partial
autocorrelations and of log sigma, non-centred.

For series s (the package's conventions, :mod:`models.arma.transforms`)::

    ar_pacf[s] = tanh(ar_loc + ar_scale * ar_z[s]),   phi[s]   = PACFToStationaryAR(ar_pacf[s])
    ma_pacf[s] = tanh(ma_loc + ma_scale * ma_z[s]),   theta[s] = PACFToInvertibleMA(ma_pacf[s])
    sigma[s]   = exp(log_sigma_loc + log_sigma_scale * sigma_z[s])
    mu[s]      ~ Normal(mu_loc[s], mu_scale[s])        (levels are not pooled)
    y[s]       ~ ARMA(mu[s], phi[s], theta[s], sigma[s])   (exact likelihood, NaN = missing)

with ``ar_z``, ``ma_z``, ``sigma_z`` standard normal (the non-centred form: the sampler sees
independent unit normals, not a funnel between a scale and the values it scales). The
population parameters ``ar_loc`` (p,), ``ar_scale`` (p,), ``ma_loc`` (q,), ``ma_scale``
(q,), ``log_sigma_loc``, ``log_sigma_scale`` are the ones reported. Priors:
``*_loc ~ Normal(0, 1)`` on the atanh scale (a partial autocorrelation between tanh(-2) =
-0.96 and 0.96 a priori), ``*_scale ~ HalfNormal(0.5)``,
``log_sigma_loc ~ Normal(log_sigma_prior_loc, 1)`` (default: the log of the median sd of
the series), ``log_sigma_scale ~ HalfNormal(0.5)``.

The S likelihoods are one batched ``ARMA`` site (``vmap`` inside its ``log_prob``), never a
Python loop over series. The per-series values on the pooled scale are recorded as the
deterministic sites ``ar_u`` (S, p), ``ma_u`` (S, q) and ``log_sigma`` (S,): each is
``Normal(loc, scale)`` in the population (:data:`POPULATION_LAWS` pairs them), which is
what a plot of per-series posterior means against the population law needs. With
``forecast_horizon = h`` and an observed panel, ``y_forecast`` (S, h) is drawn from each
series' exact predictive law (:func:`models.arma.arma_forecast`, ``vmap``-ped).

Example:
    >>> import jax
    >>> from numpyro.infer import Predictive
    >>> draws = Predictive(hierarchical_arma_model, num_samples=2)(
    ...     jax.random.PRNGKey(0), num_series=3, num_steps=20, mu_loc=0.0, mu_scale=1.0,
    ...     log_sigma_prior_loc=0.0)
    >>> print(draws["y"].shape, draws["phi"].shape, draws["ar_loc"].shape)
    (2, 3, 20) (2, 3, 1) (2, 1)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from models.arma.distribution import ARMA
from models.arma.forecast import arma_forecast
from models.arma.model import MU_SCALE_IN_SDS
from models.arma.transforms import PACFToInvertibleMA, PACFToStationaryAR
from models.family import PooledModel

__all__ = ["HIERARCHICAL_ARMA", "POPULATION_LAWS", "POPULATION_SITES",
           "hierarchical_arma_model", "hierarchical_defaults"]

#: The population parameters, in report order (``ar_*`` absent when p = 0, ``ma_*`` when
#: q = 0).
POPULATION_SITES = ("ar_loc", "ar_scale", "ma_loc", "ma_scale", "log_sigma_loc",
                    "log_sigma_scale")

#: (per-series site on the pooled scale, its population loc site, scale site, label): in
#: the population, site[s] ~ Normal(loc, scale), componentwise.
POPULATION_LAWS = (
    ("ar_u", "ar_loc", "ar_scale", "atanh of the AR partial autocorrelation"),
    ("ma_u", "ma_loc", "ma_scale", "atanh of the MA partial autocorrelation"),
    ("log_sigma", "log_sigma_loc", "log_sigma_scale", "log sigma"),
)


def hierarchical_defaults(y: ArrayLike) -> dict[str, Any]:
    """The data-scaled settings of :func:`hierarchical_arma_model` for a panel (S, T):
    each series' ``mu`` prior (its mean, 10 sds), and the log of the median sd of the series
    as the centre of ``log_sigma_loc``'s prior.

    Example:
        >>> import numpy as np
        >>> d = hierarchical_defaults(np.array([[1.0, 3.0, np.nan], [10.0, 14.0, 12.0]]))
        >>> print(d["mu_loc"], d["mu_scale"].round(2), round(d["log_sigma_prior_loc"], 3))
        [ 2. 12.] [14.14 20.  ] 0.535
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"hierarchical_defaults: y must have shape (S, T), got {y.shape}")
    sd = np.nanstd(y, axis=1, ddof=1)
    if not np.all(np.isfinite(sd) & (sd > 0)):
        bad = int(np.flatnonzero(~(np.isfinite(sd) & (sd > 0)))[0])
        raise ValueError(f"hierarchical_defaults: series {bad} has fewer than two observed "
                         "values that differ; give mu_loc, mu_scale and log_sigma_prior_loc")
    return {"mu_loc": np.nanmean(y, axis=1), "mu_scale": MU_SCALE_IN_SDS * sd,
            "log_sigma_prior_loc": float(np.log(np.median(sd)))}


def _pooled(name: str, size: int, num_series: int, plate: Any) -> jax.Array:
    """Partial autocorrelations (S, size) = tanh(u), u = loc + scale * z, non-centred."""
    loc = numpyro.sample(f"{name}_loc", dist.Normal(0.0, 1.0).expand([size]).to_event(1))
    scale = numpyro.sample(f"{name}_scale", dist.HalfNormal(0.5).expand([size]).to_event(1))
    with plate:
        z = numpyro.sample(f"{name}_z", dist.Normal(0.0, 1.0).expand([size]).to_event(1))
    u = numpyro.deterministic(f"{name}_u", loc[None, :] + scale[None, :] * z)  # (S, size)
    return jnp.tanh(u)


def hierarchical_arma_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    num_series: int | None = None,
    num_steps: int | None = None,
    mu_loc: ArrayLike | None = None,
    mu_scale: ArrayLike | None = None,
    log_sigma_prior_loc: float | None = None,
    forecast_horizon: int = 0,
) -> None:
    """NumPyro model: S ARMA(p, q) series with partially pooled dynamics (module text).

    Sites: the population parameters (:data:`POPULATION_SITES`), per series ``ar_z``,
    ``ma_z``, ``sigma_z`` (S, ...), ``mu`` (S,), the deterministic ``phi`` (S, p), ``theta``
    (S, q), ``sigma`` (S,), ``ar_u``, ``ma_u``, ``log_sigma`` (the pooled scale), and the
    observed ``y`` (S, T) (NaN = missing); with ``forecast_horizon = h`` and an observed
    ``y``, also ``y_forecast`` (S, h), each series' next h values.

    Args:
        y: the panel (S, T), or ``None`` with ``num_series`` and ``num_steps`` to simulate.
        order: (p, q).
        num_series, num_steps: S and T when ``y`` is ``None``.
        mu_loc, mu_scale: each series' prior on its mean, scalars or (S,); ``None``: from
            the data (:func:`hierarchical_defaults`).
        log_sigma_prior_loc: centre of ``log_sigma_loc``'s prior; ``None``: from the data.
        forecast_horizon: h >= 0; h > 0 needs the observed ``y``.

    The example is the module's.
    """
    p, q = order
    if forecast_horizon and y is None:
        raise ValueError("hierarchical_arma_model: forecast_horizon > 0 needs the observed y")
    if y is not None:
        y = jnp.asarray(y)
        if y.ndim != 2:
            raise ValueError(f"hierarchical_arma_model: y must have shape (S, T), got "
                             f"{y.shape}")
        num_series, num_steps = y.shape
    elif num_series is None or num_steps is None:
        raise ValueError("hierarchical_arma_model: give y, or num_series and num_steps")
    if mu_loc is None or mu_scale is None or log_sigma_prior_loc is None:
        if y is None or isinstance(y, jax.core.Tracer):
            raise ValueError("hierarchical_arma_model: mu_loc, mu_scale and "
                             "log_sigma_prior_loc must be given without an observed panel; "
                             "hierarchical_defaults(y) gives them")
        defaults = hierarchical_defaults(y)
        mu_loc = defaults["mu_loc"] if mu_loc is None else mu_loc
        mu_scale = defaults["mu_scale"] if mu_scale is None else mu_scale
        log_sigma_prior_loc = (defaults["log_sigma_prior_loc"] if log_sigma_prior_loc is None
                               else log_sigma_prior_loc)
    series = numpyro.plate("series", num_series, dim=-1)
    dtype = jnp.result_type(float)
    phi = jnp.zeros((num_series, 0), dtype)
    theta = jnp.zeros((num_series, 0), dtype)
    if p > 0:
        phi = numpyro.deterministic("phi", PACFToStationaryAR()(_pooled("ar", p, num_series,
                                                                         series)))
    if q > 0:
        theta = numpyro.deterministic("theta", PACFToInvertibleMA()(_pooled("ma", q, num_series,
                                                                             series)))
    log_sigma_loc = numpyro.sample("log_sigma_loc", dist.Normal(log_sigma_prior_loc, 1.0))
    log_sigma_scale = numpyro.sample("log_sigma_scale", dist.HalfNormal(0.5))
    with series:
        sigma_z = numpyro.sample("sigma_z", dist.Normal(0.0, 1.0))
        mu = numpyro.sample("mu", dist.Normal(jnp.broadcast_to(mu_loc, (num_series,)),
                                              jnp.broadcast_to(mu_scale, (num_series,))))
        log_sigma = numpyro.deterministic("log_sigma", log_sigma_loc
                                          + log_sigma_scale * sigma_z)
        sigma = numpyro.deterministic("sigma", jnp.exp(log_sigma))
        numpyro.sample("y", ARMA(mu, phi, theta, sigma, num_steps=num_steps), obs=y)
        if forecast_horizon:
            ahead = jax.vmap(lambda *args: arma_forecast(*args, forecast_horizon))(
                y, mu, phi, theta, sigma)
            numpyro.sample("y_forecast", dist.MultivariateNormal(
                ahead.mean, scale_tril=jnp.linalg.cholesky(ahead.covariance)))


#: The family contract's entry (:attr:`models.family.ModelFamily.pooled`): what
#: ``fit.py arma --series-column ... --hierarchical`` runs.
HIERARCHICAL_ARMA = PooledModel(
    model=hierarchical_arma_model,
    description="partial pooling of the AR and MA partial autocorrelations and of log "
    "sigma across series (non-centred), exact likelihood, one joint posterior",
    options=("order",),
    population=POPULATION_SITES,
    per_series=("mu", "phi", "theta", "sigma"),
    laws=POPULATION_LAWS,
    dims={"ar_loc": ("ar_lag",), "ar_scale": ("ar_lag",), "ar_z": ("ar_lag",),
          "ar_u": ("ar_lag",), "phi": ("ar_lag",), "ma_loc": ("ma_lag",),
          "ma_scale": ("ma_lag",), "ma_z": ("ma_lag",), "ma_u": ("ma_lag",),
          "theta": ("ma_lag",), "y_forecast": ("horizon",)},
    data_defaults=lambda y, options: hierarchical_defaults(y),
)
