"""The ARMA family's contract (:class:`models.family.ModelFamily`): what the fit command,
the validator and the benchmarks need to know about ARMA, in one value.

Example:
    >>> print(FAMILY.label({"order": (2, 1)}), sorted(FAMILY.variants))
    ARMA(2,1) ['conditional', 'conditional-reference', 'exact']
    >>> print(FAMILY.too_short(3, {"order": (2, 1)}))
    need more than p + q = 3
"""

from collections.abc import Mapping
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpyro.infer import init_to_uniform

from models.arma.conditional_fast import arma_fast_model
from models.arma.hierarchical import HIERARCHICAL_ARMA
from models.arma.model import (
    POINTWISE_SITE,
    arma_exact_model,
    arma_model,
    beta_prior_scales,
    data_scaled_priors,
    model_spec,
)
from models.arma.sarima import difference_series
from models.family import DataSource, ModelFamily, Option, ReferencePosterior, Variant

__all__ = ["FAMILY", "INIT_RADIUS"]

#: Where chains start: uniform in (-0.5, 0.5) on the unconstrained scale. NumPyro's default
#: radius 2 puts half the starts of theta outside the invertible region, where the conditional
#: likelihood's errors grow like |theta|^t: the density there is finite (float64 does not
#: overflow at T = 200) but astronomically low, and a chain started there can stall on it for
#: the whole run (seen with the bundled series: theta = 1.05, step size 3e-8, R-hat 2.3).
#: Radius 0.5 keeps every start of an ARMA(1,1) stationary and invertible yet dispersed enough
#: for R-hat to mean something.
INIT_RADIUS = 0.5

VARIANTS = {
    "exact": Variant(
        model=arma_exact_model,
        description="exact Gaussian likelihood by a Kalman filter, stationary and invertible "
        "priors, mu = process mean; missing values allowed (default)",
        accepts_missing=True,
        forecasts=True,
        one_step=True,
        covariates=True,
        pointwise=True,
    ),
    "conditional": Variant(
        model=arma_fast_model,
        description="conditional likelihood (pre-sample y = intercept, pre-sample errors = 0),"
        " the posteriordb arma11 posterior; computed by the fast path (AR part vectorised, "
        "MA recursion in one scan that carries its own gradient); with --exog, of the errors "
        "y - exog beta",
        accepts_missing=False,
        forecasts=True,
        one_step=True,
        covariates=True,
    ),
    "conditional-reference": Variant(
        model=arma_model,
        description="the same conditional likelihood by the plain two-buffer scan of "
        "models.arma.conditional (the reference the fast path is tested against; slower)",
        accepts_missing=False,
        forecasts=True,
        one_step=True,
        covariates=True,
    ),
}


def _vectorised_draws(y: np.ndarray, variant: str, options: Mapping[str, Any]) -> bool:
    """The exact likelihood with differencing and gaps: its one-step, pointwise and
    forecast sites run the state filter over the whole series per draw, a sequential scan
    that vectorising over the draws makes 3-6x faster (raw weekly CO2 levels, T = 2,284,
    ARIMA(1,1,1), 4,000 draws: one-step and pointwise 9.9 -> 1.6 s, forecast 6.7 -> 2.3 s).
    Elsewhere it measured level or slower (complete ARMA(2,1) at T = 2,000 and 20,000; the
    differenced CO2 series with gaps; T <= 1,000), so NumPyro's default stays.

    Example:
        >>> import numpy as np
        >>> y = np.array([1.0, np.nan, 2.0, 2.5])
        >>> print(_vectorised_draws(y, "exact", {"order": (1, 1), "difference": 1}),
        ...       _vectorised_draws(y, "exact", {"order": (1, 1), "difference": 0}))
        True False
    """
    return (variant == "exact" and _spec(options).diffuse_states > 0
            and bool(np.isnan(y).any()))


def _spec(options: Mapping[str, Any]):
    return model_spec(options["order"], options.get("difference") or 0,
                      options.get("seasonal_order"))


def _label(options: Mapping[str, Any]) -> str:
    p, q = options["order"]
    d = options.get("difference") or 0
    seasonal = options.get("seasonal_order")
    if not d and not seasonal:
        return f"ARMA({p},{q})"
    label = f"ARIMA({p},{d},{q})"
    if seasonal:
        P, D, Q, s = seasonal
        label = f"S{label}({P},{D},{Q}){s}"
    return label


def _coords_and_dims(
    options: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """``ar_lag`` and ``ma_lag`` numbered from 1, for the sites phi and theta; the seasonal
    lags s, 2s, ... for seasonal_phi and seasonal_theta; with ``exog`` (T, k) in the options,
    ``exog_column`` 1..k for beta (the fit command names them by the ``--exog`` columns).

    Example:
        >>> coords, dims = _coords_and_dims({"order": (2, 0), "exog": np.zeros((5, 2))})
        >>> print(coords["ar_lag"], dims["beta"], coords["exog_column"])
        [1 2] ['exog_column'] [1 2]
    """
    p, q = options["order"]
    coords: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    if p > 0:
        coords["ar_lag"], dims["phi"] = np.arange(1, p + 1), ["ar_lag"]
    if q > 0:
        coords["ma_lag"], dims["theta"] = np.arange(1, q + 1), ["ma_lag"]
    seasonal = options.get("seasonal_order")
    if seasonal:
        P, _, Q, s = seasonal
        if P > 0:
            coords["seasonal_ar_lag"] = s * np.arange(1, P + 1)
            dims["seasonal_phi"] = ["seasonal_ar_lag"]
        if Q > 0:
            coords["seasonal_ma_lag"] = s * np.arange(1, Q + 1)
            dims["seasonal_theta"] = ["seasonal_ma_lag"]
    exog = options.get("exog")
    if exog is not None:
        coords["exog_column"] = np.arange(1, np.shape(exog)[1] + 1)
        dims["beta"] = ["exog_column"]
    return coords, dims


def _too_short(length: int, options: Mapping[str, Any]) -> str | None:
    p, q = options["order"]
    d = options.get("difference") or 0
    seasonal = options.get("seasonal_order")
    if not d and not seasonal:
        return f"need more than p + q = {p + q}" if length <= p + q else None
    P, D, Q, s = seasonal or (0, 0, 0, 0)
    needed = d + s * D + p + q + s * (P + Q)
    if length <= needed:
        return (f"need more than d + sD + p + q + s(P + Q) = {needed} (the differences "
                "leave too few values for the ARMA part)")
    return None


#: The exact model's prior settings; left unset, they come from the series.
PRIOR_OPTIONS = ("mu_loc", "mu_scale", "sigma_scale")


def _data_defaults(y: np.ndarray, variant: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The exact model's unset priors on the series' scale (:func:`data_scaled_priors`);
    the conditional variants keep posteriordb's fixed priors, except the regression
    coefficients' (:func:`beta_prior_scales`, when exog is given)."""
    if variant != "exact":
        if options.get("exog") is None or options.get("beta_scale") is not None:
            return {}
        return {"beta_scale": tuple(float(v) for v in beta_prior_scales(
            y, options["exog"], model_spec(options["order"])))}
    spec = _spec(options)  # a ValueError (seasonal period < 2, ...) becomes one error line
    defaults: dict[str, Any] = {}
    if options.get("exog") is not None and options.get("beta_scale") is None:
        defaults["beta_scale"] = tuple(float(v) for v in
                                       beta_prior_scales(y, options["exog"], spec))
    if all(options.get(name) is not None for name in PRIOR_OPTIONS):
        return defaults
    differenced = difference_series(y, spec)
    if np.sum(~np.isnan(differenced)) < 2:
        raise ValueError(f"differencing (d = {spec.d}, D = {spec.D}, s = {spec.s}) leaves "
                         f"{np.sum(~np.isnan(differenced))} observed value(s) of {len(y)}: "
                         "d or D is larger than the series allows")
    priors = data_scaled_priors(differenced)._asdict()
    return {**{name: priors[name] for name in PRIOR_OPTIONS if options.get(name) is None},
            **defaults}


FAMILY = ModelFamily(
    name="arma",
    title="ARMA(p, q): exact (Kalman) or conditional likelihood",
    variants=VARIANTS,
    default_variant="exact",
    options=(
        Option("order", "AR order p and MA order q (default: 1 1)", default=(1, 1), nargs=2,
               minimum=0, metavar=("P", "Q")),
        Option("difference", "d: difference the series d times (ARIMA(p, d, q)); mu is then "
               "the mean of the differenced series, a drift (default: 0)", default=0,
               minimum=0, metavar="D", variants=("exact",)),
        Option("seasonal_order", "seasonal AR order, seasonal differences, seasonal MA "
               "order and period, e.g. 0 1 1 12 for the airline model (default: none)",
               default=None, nargs=4, minimum=0, metavar=("P", "D", "Q", "S"),
               variants=("exact",)),
        Option("mu_loc", "prior mean of the process mean mu (default: the series' mean)",
               default=None, type=float, metavar="M", variants=("exact",)),
        Option("mu_scale", "prior sd of mu (default: 10 x the series' sd)", default=None,
               type=float, minimum=0, metavar="S", variants=("exact",)),
        Option("sigma_scale", "scale of sigma's half-Cauchy prior (default: the series' sd)",
               default=None, type=float, minimum=0, metavar="S", variants=("exact",)),
    ),
    # both parameterisations: the exact model's mu (process mean), the conditional
    # models' intercept; a fit reports whichever its model has
    parameters=("mu", "intercept", "phi", "theta", "seasonal_phi", "seasonal_theta", "beta",
                "sigma"),
    label=_label,
    coords_and_dims=_coords_and_dims,
    too_short=_too_short,
    data_defaults=_data_defaults,
    init_strategy=partial(init_to_uniform, radius=INIT_RADIUS),
    init_description=f"uniform(-{INIT_RADIUS}, {INIT_RADIUS}), unconstrained scale",
    default_data=DataSource(
        path=Path(str(resources.files("models") / "data" / "arma11.csv")),
        column="y",
        description="the bundled arma11 series (the data of posteriordb's arma11)",
    ),
    pointwise_log_likelihood=POINTWISE_SITE,
    covariates="exog",
    panel_ok=True,
    pooled=HIERARCHICAL_ARMA,
    vectorised_draws=_vectorised_draws,
    posteriors={
        "arma-arma11": ReferencePosterior(
            name="arma-arma11",
            variant="conditional",
            options={"order": (1, 1)},
            data=lambda data: {"y": data["y"]},
            parameters={"mu": ("intercept", None), "phi": ("phi", 0),
                        "theta": ("theta", 0), "sigma": ("sigma", None)},
        ),
        "arK-arK": ReferencePosterior(
            name="arK-arK",
            variant="conditional",
            options={"order": (5, 0), "condition_on_first": True, "intercept_scale": 10.0,
                     "phi_scale": 10.0},
            data=lambda data: {"y": data["y"]},
            parameters={"alpha": ("intercept", None),
                        **{f"beta[{k}]": ("phi", k - 1) for k in range(1, 6)},
                        "sigma": ("sigma", None)},
        ),
    },
)
