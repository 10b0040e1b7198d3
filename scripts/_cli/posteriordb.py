"""The posteriordb harness: fit a registered reference posterior and compare it with Stan's.

One definition used by the validator (``scripts/validate_posteriordb.py``), the tests and
the ESS benchmark. For each reference parameter,

    z = (mean_ours - mean_ref) / sqrt(mcse_ours^2 + mcse_ref^2),

with our MCSE from ArviZ (:func:`_arviz_io.mean_and_mcse`, the ``mcse_mean`` of ArviZ's
summary) and the reference's from posteriordb's ``reference.json``. When both samplers
target one density, z is close to standard normal.

The model, its data and its starting points come from :mod:`models.registry`: the family
that lists the posterior says which variant and options reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from _cli.sampling import SamplingTimings, run_nuts
from models.posteriordb import (
    REFERENCE_POSTERIORS,
    load_reference,
    reference_model,
    to_reference_names,
    z_scores,
)
from models.registry import posterior_families

__all__ = ["TABLE_COLUMNS", "fit_reference", "reference_rows", "site_label"]

#: Columns of a comparison row, in the validator's table order.
TABLE_COLUMNS = ("posterior", "parameter", "our_site", "mean", "mcse", "ref_mean", "ref_mcse",
                 "z")


def site_label(site: str, index: int | None,
               dims_and_coords: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
               ) -> str:
    """Our summary's row name for a site element, as the fit command prints it: the
    element's coordinate when the family gives the site one (``phi[1]`` for the first lag,
    ARMA's lags counting from 1), else its index; ``sigma`` for a scalar site.

    Example:
        >>> coords = ({"ar_lag": [1, 2]}, {"phi": ["ar_lag"]})
        >>> site_label("phi", 0, coords), site_label("phi", 0), site_label("sigma", None)
        ('phi[1]', 'phi[0]', 'sigma')
    """
    if index is None:
        return site
    if dims_and_coords is not None:
        coords, dims = dims_and_coords
        if site in dims and dims[site]:
            return f"{site}[{coords[dims[site][0]][index]}]"
    return f"{site}[{index}]"


def fit_reference(
    name: str,
    *,
    rng_key: Any,
    chains: int,
    warmup: int,
    samples: int,
    chain_method: str,
    progress_bar: bool | None = False,
    model: Callable[..., None] | None = None,
) -> tuple[Any, SamplingTimings]:
    """NUTS on the posterior ``name`` as its family fits it (its model, data and starting
    points); ``model`` replaces the model (same data keywords), to check that a wrong
    density is caught. Returns the MCMC object and its timings."""
    registered, data = reference_model(name)
    family = posterior_families()[name]
    return run_nuts(
        registered if model is None else model,
        data,
        rng_key=rng_key,
        chains=chains,
        warmup=warmup,
        samples=samples,
        chain_method=chain_method,
        progress_bar=progress_bar,
        init_strategy=family.init_strategy(),
    )


def reference_rows(name: str, samples: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One comparison row per reference parameter (:data:`TABLE_COLUMNS`), from our draws
    by site, shaped (chains, draws, ...) as ``mcmc.get_samples(group_by_chain=True)``."""
    import _arviz_io  # imported late: ArviZ takes seconds to import

    spec = REFERENCE_POSTERIORS[name]
    coordinates = posterior_families()[name].coords_and_dims(spec.options)
    reference = load_reference(name)
    draws = {ref: np.asarray(value)
             for ref, value in to_reference_names(name, samples).items()}
    moments = _arviz_io.mean_and_mcse(draws)
    means = {ref: mean for ref, (mean, _) in moments.items()}
    mcses = {ref: mcse for ref, (_, mcse) in moments.items()}
    z = z_scores(means, mcses, reference)
    return [
        {
            "posterior": name,
            "parameter": ref,
            "our_site": site_label(*spec.parameters[ref], coordinates),
            "mean": means[ref],
            "mcse": mcses[ref],
            "ref_mean": reference[ref]["mean"],
            "ref_mcse": reference[ref]["mcse_mean"],
            "z": z[ref],
        }
        for ref in spec.parameters
    ]
