"""The SIR family's contract (:class:`models.family.ModelFamily`).

The bundled series is the 1978 boarding-school outbreak, whose population (763 boys) goes
with the file (:attr:`models.family.DataSource.options`): ``fit.py sir`` fits it as the Stan
case study does, and ``fit.py sir --data my.csv`` asks for ``--population``, never
assuming 763.

Example:
    >>> print(FAMILY.label({"population": 763}), sorted(FAMILY.variants))
    SIR(N = 763) ['negbin']
    >>> print(FAMILY.check_series([3.0, 8.0, 400.0], {"population": 300, "initial_infected": 1,
    ...                                               "initial_recovered": 0}))
    (2, '400 people in bed exceed the population N = 300')
"""

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpyro.infer import init_to_uniform

from models.family import DataSource, ModelFamily, Option, TimeQuantity, Variant
from models.sir.checks import initial_state_problem, series_problem
from models.sir.model import sir_model
from models.sir.ode import SUBSTEPS

__all__ = ["BOARDING_SCHOOL_POPULATION", "FAMILY", "THETA_LABELS"]

#: What the model's latent site ``theta`` holds, in order (each also a deterministic site).
THETA_LABELS = ("beta", "gamma", "phi_inv")

#: Boys at risk in the 1978 boarding-school outbreak (BMJ 1978;1:587): data of that
#: series, attached to its bundled file, not a constant of the model.
BOARDING_SCHOOL_POPULATION = 763


def _label(options: Mapping[str, Any]) -> str:
    population = options.get("population")
    return "SIR" if population is None else f"SIR(N = {population:g})"


def _check_series(values: np.ndarray, options: Mapping[str, Any]
                  ) -> tuple[int | None, str] | None:
    population = options.get("population")
    found = series_problem(values, None if population is None else float(population))
    if found is not None:
        return found
    problem = initial_state_problem(float(population), float(options["initial_infected"]),
                                    float(options["initial_recovered"]))
    return None if problem is None else (None, problem)


def _too_short(length: int, options: Mapping[str, Any]) -> str | None:
    return "need at least 2 days" if length < 2 else None


FAMILY = ModelFamily(
    name="sir",
    title="SIR epidemic (RK4 in lax.scan), negative-binomial daily prevalence",
    variants={
        "negbin": Variant(
            model=sir_model,
            description="people infected on day t ~ NegativeBinomial2(I(t), phi), I(t) from "
            "the SIR equations (the Stan case study's model)",
            accepts_missing=False,
            forecasts=True,
        ),
    },
    default_variant="negbin",
    options=(
        Option("population", "population size N (763 with the bundled boarding-school "
               "series; required with --data)", default=None, minimum=1, metavar="N"),
        Option("initial_infected", "people infected at day 0, I0 (default 1)", default=1,
               minimum=1, metavar="I0"),
        Option("initial_recovered", "people immune at day 0, R0 (default 0)", default=0,
               minimum=0, metavar="R0"),
        Option("substeps", f"RK4 steps per day (default {SUBSTEPS})", default=SUBSTEPS,
               minimum=1, metavar="K"),
    ),
    parameters=("beta", "gamma", "phi_inv", "R0", "recovery_time"),
    label=_label,
    # the one latent site holds (beta, gamma, phi_inv) (models.sir.priors): label its axis
    coords_and_dims=lambda options: ({"parameter": list(THETA_LABELS)},
                                     {"theta": ["parameter"]}),
    too_short=_too_short,
    data_defaults=lambda y, variant, options: {},
    # Stan's default start, as in the case study: uniform(-2, 2) on the unconstrained scale
    init_strategy=init_to_uniform,
    init_description="uniform(-2, 2), unconstrained scale (Stan's default)",
    # a smaller step than NumPyro's default target (0.8): bulk ESS per draw rose on each of
    # five seeds (about +15 %, 5.5 -> 6.0 leapfrog steps a draw; a dense mass matrix gained
    # nothing: phi_inv, not the beta-gamma correlation, limits it; docs/sir.md)
    nuts_options={"target_accept_prob": 0.9},
    default_data=DataSource(
        path=Path(str(resources.files("models") / "data" / "influenza_boarding_school_1978.csv")),
        column="in_bed",
        description="boys in bed, influenza in a boarding school, 22 Jan - 4 Feb 1978 "
        f"(N = {BOARDING_SCHOOL_POPULATION})",
        time_column="date",
        options={"population": BOARDING_SCHOOL_POPULATION},
    ),
    posteriors={},
    check_series=_check_series,
    # I(t) is the ODE's solution at the parameters: drawn after sampling (the posterior
    # predictive program solves the ODE at every draw anyway), not in NUTS's program
    time_quantities=(TimeQuantity("prevalence", "people infected, I(t) (SIR solution)",
                                  after_sampling=True),),
)
