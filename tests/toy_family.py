"""A throw-away model family that uses every optional hook of the contract, for the fit
command's tests (``tests/test_fit_command_hooks.py``): iid observations with an unknown
location and scale, a string option with choices, a bundled series whose own options and
time column stand in for flags, a series check, a tracked quantity with a forecast, a
tracked quantity of the parameters alone drawn after sampling, and NUTS options.

Not a model anyone should fit; it exists so that the hooks are tested without waiting for a
family that needs them.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import init_to_median

from models.family import DataSource, ModelFamily, Option, TimeQuantity, Variant


def toy_model(y=None, *, num_steps=None, forecast_horizon=0, spread="normal",
              offset=0.0, one_step_ahead=False) -> None:
    """y_t - offset ~ Normal(loc, scale) (or Student-t with 4 degrees of freedom)."""
    length = num_steps if y is None else y.shape[0]
    loc = numpyro.sample("loc", dist.Normal(0.0, 10.0))
    scale = numpyro.sample("scale", dist.HalfNormal(10.0))
    law = (dist.Normal(loc + offset, scale) if spread == "normal"
           else dist.StudentT(4.0, loc + offset, scale))
    with numpyro.plate("time", length):
        observed = numpyro.sample("y", law, obs=y)
    # the parameters alone, recorded with or without y: TimeQuantity.after_sampling
    numpyro.deterministic("level", jnp.full(length, loc + offset))
    if y is not None:
        numpyro.deterministic("standardised", (observed - offset - loc) / scale)
    if one_step_ahead:  # iid: the one-step-ahead law is the law itself
        numpyro.sample("y_one_step", law.expand([length]).to_event(1))
    if forecast_horizon:
        ahead = numpyro.sample("y_forecast", law.expand([forecast_horizon]).to_event(1))
        numpyro.deterministic("standardised_forecast", (ahead - offset - loc) / scale)


def _no_negatives(values: np.ndarray, options: Mapping[str, Any]) -> tuple[int, str] | None:
    negative = np.flatnonzero(values < 0)
    if negative.size:
        return int(negative[0]), f"{values[negative[0]]:g} is negative; the toy needs y >= 0"
    return None


def make_family(data: Path) -> ModelFamily:
    """The toy family, its bundled series at ``data`` (columns ``when``, ``y``)."""
    return ModelFamily(
        name="toy",
        title="a toy iid family (tests only)",
        variants={"iid": Variant(toy_model, "independent draws", accepts_missing=False,
                                 forecasts=True, one_step=True),
                  # the same model declared without forecasts: the command must refuse them
                  "iid-no-forecast": Variant(toy_model, "independent draws, no forecasts",
                                             accepts_missing=False, forecasts=False)},
        default_variant="iid",
        options=(
            Option("spread", "the observation law", "normal", type=str,
                   choices=("normal", "t")),
            Option("offset", "a known shift of the series", 0.0, type=float),
        ),
        parameters=("loc", "scale"),
        label=lambda options: f"toy({options['spread']})",
        coords_and_dims=lambda options: ({}, {}),
        too_short=lambda length, options: None if length >= 3 else "need 3 observations",
        data_defaults=lambda y, variant, options: {},
        init_strategy=init_to_median,
        init_description="medians of the priors",
        default_data=DataSource(data, "y", "a toy series", time_column="when",
                                options={"offset": 2.5}),
        posteriors={},
        check_series=_no_negatives,
        time_quantities=(TimeQuantity("standardised", "standardised observation", 0.0),
                         TimeQuantity("level", "location of the observations",
                                      after_sampling=True)),
        nuts_options={"target_accept_prob": 0.85},
    )


if __name__ == "__main__":  # python tests/toy_family.py DATA fit-arguments...
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from _cli.fit_command import main

    from models.registry import FAMILIES

    FAMILIES["toy"] = make_family(Path(sys.argv[1]))
    main(["toy", *sys.argv[2:]])
