"""The Gaussian HMM family's contract (:class:`models.family.ModelFamily`).

Example:
    >>> print(FAMILY.label({"states": 3, "initial": "stationary", "sigma": None}))
    GaussianHMM(K=3, initial=stationary)
    >>> print(FAMILY.too_short(3, {"states": 3}))
    need more observations than states (K = 3)
"""

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpyro.infer import init_to_mean

from models.family import (
    DataSource,
    ModelFamily,
    Option,
    ReferencePosterior,
    TimeQuantity,
    Variant,
)
from models.hmm.model import INITIAL_CHOICES, gaussian_hmm_model

__all__ = ["FAMILY"]


def _label(options: Mapping[str, Any]) -> str:
    return f"GaussianHMM(K={options['states']}, initial={options['initial']})"


def _coords_and_dims(
    options: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    states = np.arange(options["states"])
    return ({"state": states, "to_state": states},
            {"mu": ["state"], "sigma": ["state"], "initial_probs": ["state"],
             "transition_matrix": ["state", "to_state"]})


def _too_short(length: int, options: Mapping[str, Any]) -> str | None:
    states = options["states"]
    if length <= states:
        return f"need more observations than states (K = {states})"
    return None


def _check_series(values: np.ndarray, options: Mapping[str, Any]) -> tuple[int, str] | None:
    bad = np.flatnonzero(~np.isfinite(values) & ~np.isnan(values))
    if bad.size:
        return int(bad[0]), (f"{values[bad[0]]:g} is not a finite number: a Gaussian HMM "
                             f"needs finite observations")
    return None


PRIOR_OPTIONS = ("mu_loc", "mu_scale", "sigma_scale")


def _data_defaults(y: np.ndarray, variant: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Priors on the series' scale for the ones left unset: means ~ N(mean, 2 sd) (sorted),
    emission sds ~ half-normal(sd)."""
    finite = y[np.isfinite(y)]
    if finite.size < 2 or not np.std(finite) > 0:
        raise ValueError("the series needs two distinct finite values to set the priors")
    center, spread = float(np.mean(finite)), float(np.std(finite, ddof=1))
    defaults = {"mu_loc": center, "mu_scale": 2.0 * spread, "sigma_scale": spread}
    return {name: value for name, value in defaults.items() if options.get(name) is None}


FAMILY = ModelFamily(
    name="hmm",
    title="hidden Markov model with Gaussian emissions, K states (forward algorithm)",
    variants={
        "gaussian": Variant(
            model=gaussian_hmm_model,
            description="K-state HMM, Gaussian emissions with ordered means, Dirichlet "
            "transition rows; states summed out by the forward algorithm (default)",
            accepts_missing=False,
            forecasts=True,
        ),
    },
    default_variant="gaussian",
    options=(
        Option("states", "number of hidden states K (default: 2)", default=2, minimum=1,
               metavar="K"),
        Option("initial", "initial state distribution: the chain's stationary distribution, "
               "fixed uniform, or a Dirichlet(1) parameter (default: stationary)",
               default="stationary", type=str, choices=INITIAL_CHOICES),
        Option("sigma", "fix every state's emission sd at S (default: estimated per state)",
               default=None, type=float, minimum=0, metavar="S"),
        Option("scan", "forward algorithm by lax.scan or lax.associative_scan (same value; "
               "default: sequential, faster on a CPU)", default="sequential", type=str,
               choices=("sequential", "parallel")),
        Option("mu_loc", "prior mean of the state means (default: the series' mean)",
               default=None, type=float, metavar="M"),
        Option("mu_scale", "prior sd of the state means (default: 2 x the series' sd)",
               default=None, type=float, minimum=0, metavar="S"),
        Option("sigma_scale", "scale of each emission sd's half-normal prior (default: the "
               "series' sd)", default=None, type=float, minimum=0, metavar="S"),
    ),
    parameters=("mu", "sigma", "transition_matrix", "initial_probs"),
    label=_label,
    coords_and_dims=_coords_and_dims,
    too_short=_too_short,
    data_defaults=_data_defaults,
    # Prior means where they are closed-form (the Dirichlet rows: uniform), medians of 15
    # prior draws elsewhere (the unordered means, so the states start apart). Medians of
    # Dirichlet draws would compile JAX's gamma rejection sampler into the NUTS program:
    # 203 s of compilation for hmm_example against 93 s without it (one process, load 27).
    init_strategy=init_to_mean,
    init_description="prior means (Dirichlet rows), else medians of 15 prior draws",
    default_data=DataSource(
        path=Path(str(resources.files("models") / "data" / "hmm_example.csv")),
        column="y",
        description="the bundled hmm_example series (the data of posteriordb's hmm_example)",
        time_column="t",
    ),
    posteriors={
        "hmm_example-hmm_example": ReferencePosterior(
            name="hmm_example-hmm_example",
            variant="gaussian",
            # Stan: uniform start with log(1/2) dropped (a constant), sd 1, positive_ordered
            # mu with mu[1] ~ N(3, 1), mu[2] ~ N(10, 1), simplex rows with no prior
            options={"states": 2, "initial": "fixed", "sigma": 1.0, "mu_loc": (3.0, 10.0),
                     "mu_scale": 1.0, "positive_means": True, "sigma_scale": 1.0},
            data=lambda data: {"y": data["y"]},
            parameters={"theta1[1]": ("transition_matrix", (0, 0)),
                        "theta1[2]": ("transition_matrix", (0, 1)),
                        "theta2[1]": ("transition_matrix", (1, 0)),
                        "theta2[2]": ("transition_matrix", (1, 1)),
                        "mu[1]": ("mu", 0), "mu[2]": ("mu", 1)},
        ),
    },
    check_series=_check_series,
    time_quantities=(
        TimeQuantity("state_probs", "posterior state probabilities",
                     class_probabilities=True),
        TimeQuantity("viterbi_path", "most probable state path (Viterbi), per draw"),
    ),
)
