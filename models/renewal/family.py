"""The renewal family's contract (:class:`models.family.ModelFamily`).

Two variants: ``renewal`` (latent infections, reporting, forecasts; the default) and
``epiestim`` (Cori et al. 2013's Poisson model of observed incidence, R per window).
The bundled series is the 2009 school influenza outbreak with its serial interval.

Example:
    >>> print(FAMILY.label(FAMILY.default_options("renewal")), sorted(FAMILY.variants))
    renewal(random-walk R_t, 7-day steps, negative-binomial) ['epiestim', 'renewal']
    >>> print(FAMILY.check_series(np.array([3.0, -1.0]), {}))
    (1, '-1 is not a count: counts must be non-negative integers')
"""

import csv
from collections.abc import Mapping
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from models.family import DataSource, ModelFamily, Option, TimeQuantity, Variant
from models.renewal.checks import (
    check_completeness,
    check_delay,
    count_problem,
    resolve_interval,
)
from models.renewal.model import epiestim_model, init_to_guess, renewal_model

__all__ = ["FAMILY"]

DATA = Path(str(resources.files("models") / "data"))


def _bundled_interval() -> tuple[float, ...]:
    with (DATA / "influenza_school_2009_serial_interval.csv").open() as handle:
        return tuple(float(row["w"]) for row in csv.DictReader(handle))


def _label(options: Mapping[str, Any]) -> str:
    if "r_model" not in options:  # epiestim
        return f"EpiEstim(R per {options.get('window', 7)}-day window, Poisson)"
    shape = (f"{options['step']}-day steps" if options["r_model"] == "random-walk"
             else f"{options['window']}-day windows")
    return f"renewal({options['r_model']} R_t, {shape}, {options['noise']})"


def _too_short(length: int, options: Mapping[str, Any]) -> str | None:
    return "need at least 2 days" if length < 2 else None


def _check_series(values: np.ndarray, options: Mapping[str, Any]
                  ) -> tuple[int | None, str] | None:
    """Counts, and the options that describe the series' days (interval, delay,
    completeness): the first problem, or ``None``."""
    problem = count_problem(values)
    if problem is not None:
        return problem
    try:
        resolve_interval(options.get("generation_interval"), options.get("gi_mean", 2.6),
                         options.get("gi_sd", 1.5), options.get("gi_max_lag"),
                         options.get("gi_distribution", "gamma"))
        if options.get("delay") is not None:
            check_delay(options["delay"])
        check_completeness(options.get("completeness"), values.shape[0])
    except ValueError as error:  # "generation_interval: ..." -> "--generation-interval: ..."
        name, _, reason = str(error).partition(": ")
        return None, f"--{name.replace('_', '-')}: {reason}"
    return None


def _data_defaults(y: np.ndarray, variant: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """What the replicated series (simulated without y) need from y: the seed's prior
    location (renewal) or the Poisson mean of the first day (epiestim)."""
    if variant == "epiestim":
        return {"first_mean": max(float(y[0]), 1.0)}
    if options.get("seed_loc") is not None:
        return {}
    return {"seed_loc": float(np.log(np.mean(np.asarray(y, dtype=np.float64)[:7]) + 1.0))}


INTERVAL_OPTIONS = (
    Option("generation_interval", "discretised generation interval, masses at lags 0, 1, "
           "..., L (0 at lag 0, sums to 1; default with the bundled data: its serial "
           "interval, else a gamma from --gi-mean/--gi-sd)", default=None, type=float,
           nargs="+", metavar="W"),
    Option("gi_distribution", "law of the generation interval given by --gi-mean/--gi-sd, "
           "discretised as EpiEstim does (default: gamma)", default="gamma", type=str,
           choices=("gamma", "lognormal")),
    Option("gi_mean", "mean of the generation interval in days, discretised as "
           "EpiEstim does (default 2.6)", default=2.6, type=float, minimum=0, metavar="DAYS"),
    Option("gi_sd", "sd of the generation interval (default 1.5)", default=1.5,
           type=float, minimum=0, metavar="DAYS"),
    Option("gi_max_lag", "last lag of the discretised interval (default: where less "
           "than 1e-6 of the mass is left)", default=None, type=int, minimum=1,
           metavar="L"),
)

FAMILY = ModelFamily(
    name="renewal",
    title="renewal equation: R_t from daily incidence (latent infections, or EpiEstim's "
    "Poisson model)",
    variants={
        "renewal": Variant(renewal_model, "latent infections by the renewal equation, "
                           "reporting delay, day-of-week effect, right truncation, "
                           "negative-binomial or Poisson counts; forecasts (default)",
                           accepts_missing=False, forecasts=True),
        "epiestim": Variant(epiestim_model, "Cori et al. (2013), EpiEstim's model: observed "
                            "incidence ~ Poisson(R x total infectiousness), R per window, "
                            "Gamma prior; closed-form posterior", accepts_missing=False,
                            forecasts=False),
    },
    default_variant="renewal",
    options=(
        *INTERVAL_OPTIONS,
        Option("r_model", "latent R_t: Gaussian random walk of log R_t, or constant over "
               "windows (default random-walk)", default="random-walk", type=str,
               choices=("random-walk", "windows"), variants=("renewal",)),
        Option("step", "days per random-walk step: 1 daily, 7 weekly (default 7)", default=7,
               minimum=1, metavar="DAYS", variants=("renewal",)),
        Option("window", "days per window of constant R (default 7)", default=7, minimum=1,
               metavar="DAYS"),
        Option("rw_scale", "scale of the half-normal prior of the random walk's sd "
               "(default 0.2)", default=0.2, type=float, minimum=0, variants=("renewal",)),
        Option("r_prior_mean", "prior mean of R (Gamma per window; log-normal start of the "
               "walk); default 5, EpiEstim's", default=5.0, type=float, minimum=0),
        Option("r_prior_sd", "prior sd of R (default 5)", default=5.0, type=float, minimum=0),
        Option("noise", "observation noise (default negative-binomial)",
               default="negative-binomial", type=str,
               choices=("negative-binomial", "poisson"), variants=("renewal",)),
        Option("delay", "reporting-delay distribution, masses at delays 0, 1, ..., D "
               "(default 1: reported on the day)", default=(1.0,), type=float, nargs="+",
               metavar="P", variants=("renewal",)),
        Option("day_of_week", "multiplicative day-of-week reporting effect (default off)",
               default="off", type=str, choices=("off", "on"), variants=("renewal",)),
        Option("completeness", "right truncation: fraction of the final count already "
               "reported, last day first (e.g. 0.4 0.7 0.9); default none",
               default=None, type=float, nargs="+", metavar="C", variants=("renewal",)),
        Option("seed_loc", "prior mean of the log seed infections per day (default: "
               "log(1 + mean of the first week))", default=None, type=float,
               variants=("renewal",)),
    ),
    parameters=("R", "R_start", "rw_sd", "log_seed", "dispersion", "day_of_week"),
    label=_label,
    coords_and_dims=lambda options: ({}, {}),
    too_short=_too_short,
    data_defaults=_data_defaults,
    init_strategy=partial(init_to_guess, num_samples=15),
    init_description="the random walk's level at log(1 + mean count) of each step; other "
    "sites at medians of 15 prior draws",
    default_data=DataSource(
        path=DATA / "influenza_school_2009_incidence.csv",
        column="I",
        description="daily onsets in a Pennsylvania school, 2009 H1N1 (EpiEstim's Flu2009)",
        time_column="t",
        options={"generation_interval": _bundled_interval()},
    ),
    posteriors={},
    check_series=_check_series,
    time_quantities=(
        TimeQuantity("R_t", "reproduction number R_t", reference=1.0),
        TimeQuantity("infections", "latent infections per day"),
    ),
)
