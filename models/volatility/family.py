"""The volatility families' contracts (:class:`models.family.ModelFamily`): ``garch`` and
``sv`` (``scripts/fit.py garch ...``, ``scripts/fit.py sv ...``).

Example:
    >>> print(GARCH_FAMILY.label({"order": (2, 1)}), sorted(GARCH_FAMILY.variants))
    GARCH(2,1) ['normal', 't']
    >>> print(GARCH_FAMILY.too_short(2, {"order": (2, 1)}))
    need more than max(p, q) + 1 = 3 observations
    >>> print(SV_FAMILY.label({}), sorted(SV_FAMILY.variants))
    SV ['centred', 'classic', 'normal', 't']
"""

from collections.abc import Mapping
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpyro.distributions import ImproperUniform
from numpyro.infer import init_to_median, init_to_uniform

from models.family import (
    DataSource,
    ModelFamily,
    Option,
    ReferencePosterior,
    TimeQuantity,
    Variant,
)
from models.volatility.model import GARCH_STARTS, garch_data_priors, garch_model
from models.volatility.sv import sv_centred_model, sv_model

__all__ = ["GARCH_FAMILY", "SV_FAMILY", "garch_init"]

GARCH_VARIANTS = {
    "normal": Variant(
        model=partial(garch_model, innovations="normal"),
        description="normal innovations (default)",
        accepts_missing=False,
        forecasts=True,
    ),
    "t": Variant(
        model=partial(garch_model, innovations="t"),
        description="unit-variance Student-t innovations, nu ~ 2 + Gamma(2, 0.1)",
        accepts_missing=False,
        forecasts=True,
    ),
}

#: The GARCH model's prior settings; left unset, they come from the series.
GARCH_PRIOR_OPTIONS = ("mu_loc", "mu_scale", "variance_scale")


def garch_init(site: dict[str, Any] | None = None) -> Any:
    """NumPyro init strategy of the GARCH model: the prior median for every site (mu at
    the series' mean, omega at its variance), except two. The simplex ``weights`` starts
    uniformly in (-0.5, 0.5) on the unconstrained scale: dispersed across chains, always
    stationary (and NumPyro's stick-breaking inverse, used by ``init_to_median``, breaks
    under ``jax_numpy_rank_promotion="raise"``). Flat-prior sites (posteriordb) have no
    median: uniform in (-2, 2)."""
    if site is None:
        return partial(garch_init)
    if site["name"] == "weights":
        return init_to_uniform(site, radius=0.5)
    if site["type"] == "sample" and isinstance(site["fn"], ImproperUniform):
        return init_to_uniform(site)  # flat priors (posteriordb): uniform(-2, 2)
    return init_to_median(site)


def _garch_label(options: Mapping[str, Any]) -> str:
    p, q = options["order"]
    return f"GARCH({p},{q})"


def _garch_coords_and_dims(
    options: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    p, q = options["order"]
    coords = {"weight": np.array([*(f"alpha{i}" for i in range(1, p + 1)),
                                  *(f"beta{j}" for j in range(1, q + 1)), "1-persistence"])}
    dims = {"weights": ["weight"]}
    if p > 0:
        coords["arch_lag"], dims["alpha"] = np.arange(1, p + 1), ["arch_lag"]
    if q > 0:
        coords["garch_lag"], dims["beta"] = np.arange(1, q + 1), ["garch_lag"]
    return coords, dims


def _garch_too_short(length: int, options: Mapping[str, Any]) -> str | None:
    p, q = options["order"]
    need = max(p, q) + 1
    return f"need more than max(p, q) + 1 = {need} observations" if length <= need else None


def _check_returns(y: np.ndarray, options: Mapping[str, Any]) -> tuple[int | None, str] | None:
    """A series whose values are all equal has no variance to model."""
    if y.size and np.all(y == y[0]):
        return None, (f"all {y.size} values equal {y[0]:g}: a volatility model needs "
                      "returns that vary")
    return None


VOLATILITY = TimeQuantity("volatility", "conditional standard deviation")


def _garch_data_defaults(y: np.ndarray, variant: str,
                         options: Mapping[str, Any]) -> dict[str, Any]:
    if all(options.get(name) is not None for name in GARCH_PRIOR_OPTIONS):
        return {}
    priors = garch_data_priors(y)
    return {name: priors[name] for name in GARCH_PRIOR_OPTIONS if options.get(name) is None}


GARCH_FAMILY = ModelFamily(
    name="garch",
    title="GARCH(p, q) with a constant mean, normal or Student-t innovations",
    variants=GARCH_VARIANTS,
    default_variant="normal",
    options=(
        Option("order", "ARCH order p (alpha terms) and GARCH order q (beta terms) "
               "(default: 1 1)", default=(1, 1), nargs=2, minimum=0, metavar=("P", "Q")),
        Option("start", "where the variance recursion starts: the stationary variance "
               "omega / (1 - sum alpha - sum beta), arch's backcast of the series, or a "
               "parameter initial_variance (default: unconditional)", default="unconditional",
               type=str, choices=GARCH_STARTS),
        Option("initial_variance", "a fixed pre-sample variance v0 > 0 instead (overrides "
               "--start)", default=None, type=float, minimum=0, metavar="V"),
        Option("mu_loc", "prior mean of mu (default: the series' mean)", default=None,
               type=float, metavar="M"),
        Option("mu_scale", "prior sd of mu (default: 10 x the series' sd)", default=None,
               type=float, minimum=0, metavar="S"),
        Option("variance_scale", "scale of omega's half-Cauchy prior (default: the series' "
               "variance)", default=None, type=float, minimum=0, metavar="S"),
    ),
    parameters=("mu", "omega", "alpha", "beta", "nu", "initial_variance"),
    label=_garch_label,
    coords_and_dims=_garch_coords_and_dims,
    too_short=_garch_too_short,
    data_defaults=_garch_data_defaults,
    init_strategy=lambda: partial(garch_init),
    init_description="prior median (mu, omega, nu); weights uniform(-0.5, 0.5) on the "
                     "unconstrained scale",
    default_data=DataSource(
        path=Path(str(resources.files("models") / "data" / "garch11.csv")),
        column="y",
        description="the bundled garch11 series (the data of posteriordb's garch11)",
        time_column="t",
    ),
    posteriors={
        "garch-garch11": ReferencePosterior(
            name="garch-garch11",
            variant="normal",
            options={"order": (1, 1), "priors": "flat", "first_variance": True},
            data=lambda data: {"y": data["y"], "initial_variance": float(data["sigma1"]) ** 2},
            parameters={"mu": ("mu", None), "alpha0": ("omega", None),
                        "alpha1": ("alpha", 0), "beta1": ("beta", 0)},
        ),
    },
    check_series=_check_returns,
    time_quantities=(VOLATILITY,),
)


SV_VARIANTS = {
    "normal": Variant(
        model=partial(sv_model, innovations="normal"),
        description="normal returns, non-centred log-variance whitened by the returns' "
                    "information (default)",
        accepts_missing=False,
        forecasts=True,
    ),
    "t": Variant(
        model=partial(sv_model, innovations="t"),
        description="unit-variance Student-t returns, nu ~ 2 + Gamma(2, 0.1), non-centred "
                    "and whitened",
        accepts_missing=False,
        forecasts=True,
    ),
    "classic": Variant(
        model=partial(sv_model, innovations="normal", information=0.0,
                      scale="innovation"),
        description="normal returns, the Stan User's Guide's non-centring (h_white ~ N(0, I)): "
                    "divergences at phi > 0.9, for comparison",
        accepts_missing=False,
        forecasts=True,
    ),
    "centred": Variant(
        model=partial(sv_centred_model, innovations="normal"),
        description="normal returns, centred log-variance (the funnel: for comparison)",
        accepts_missing=False,
        forecasts=True,
    ),
}


def _sv_too_short(length: int, options: Mapping[str, Any]) -> str | None:
    return "need at least 3 observations" if length < 3 else None


SV_FAMILY = ModelFamily(
    name="sv",
    title="stochastic volatility: latent stationary AR(1) log-variance (Kim, Shephard & "
          "Chib 1998)",
    variants=SV_VARIANTS,
    default_variant="normal",
    options=(
        Option("mu_scale", "Cauchy scale of the mean log-variance mu (default: 10, as Stan's "
               "User's Guide)", default=10.0, type=float, minimum=0, metavar="S"),
        Option("sigma_scale", "half-Cauchy scale of the log-variance shock sd sigma "
               "(default: 5)", default=5.0, type=float, minimum=0, metavar="S"),
    ),
    parameters=("mu", "phi", "sigma", "nu"),
    label=lambda options: "SV",
    coords_and_dims=lambda options: ({}, {}),
    too_short=_sv_too_short,
    data_defaults=lambda y, variant, options: {},
    init_strategy=partial(init_to_uniform, radius=0.5),
    init_description="uniform(-0.5, 0.5), unconstrained scale",
    default_data=DataSource(
        path=Path(str(resources.files("models") / "data" / "sv_simulated.csv")),
        column="y",
        description="the bundled simulated SV series (T = 1000; mu = -1, phi = 0.95, "
                    "sigma = 0.25)",
        time_column="t",
    ),
    posteriors={},
    check_series=_check_returns,
    time_quantities=(VOLATILITY,),
)
