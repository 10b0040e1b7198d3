"""The posteriordb reference posteriors shipped with the package, and the model for each.

posteriordb (Magnusson, Bürkner & Vehtari; stan-dev/posteriordb, BSD-3) pairs a Stan
program and its data with reference draws from long Stan runs. The data, the Stan program
and the reference summary (per-parameter mean, sd and Monte Carlo standard error) of each
bundled posterior live in ``models/data/posteriordb/<name>/``. A posterior "has a model
here" when a registered family (:mod:`models.registry`) lists it in its ``posteriors``: a
variant, its options and a data mapping whose density equals the Stan program's.

Compare a fit with its reference by
``z = (mean_ours - mean_ref) / sqrt(mcse_ours**2 + mcse_ref**2)``: :func:`z_scores`.
"""

import json
from collections.abc import Callable, Mapping
from functools import partial
from importlib import resources
from typing import Any

import numpy as np

from models.family import ModelFamily, ReferencePosterior
from models.registry import posterior_families

__all__ = [
    "REFERENCE_POSTERIORS",
    "bundled_posteriors",
    "load_data",
    "load_reference",
    "reference_model",
    "to_reference_names",
    "z_scores",
]

#: posteriordb name -> how a registered family reproduces it (from :mod:`models.registry`).
REFERENCE_POSTERIORS: dict[str, ReferencePosterior] = {
    name: family.posteriors[name] for name, family in posterior_families().items()
}


def bundled_posteriors() -> dict[str, ModelFamily | None]:
    """Every posterior shipped in ``models/data/posteriordb/`` -> the family that
    reproduces it, or ``None`` where no family does yet.

    Example:
        >>> for name, family in bundled_posteriors().items():
        ...     print(name, family.name if family else "-")
        arK-arK arma
        arma-arma11 arma
        garch-garch11 garch
        hmm_example-hmm_example hmm
    """
    folder = resources.files("models") / "data" / "posteriordb"
    families = posterior_families()
    return {entry.name: families.get(entry.name)
            for entry in sorted(folder.iterdir(), key=lambda e: e.name) if entry.is_dir()}


def reference_model(name: str) -> tuple[Callable[..., None], dict[str, Any]]:
    """The NumPyro model whose density is the posterior's, and the keywords (its data) to
    call it with: ``model(**kwargs)`` is the posteriordb posterior ``name``.

    Example:
        >>> model, kwargs = reference_model("arma-arma11")
        >>> print(sorted(kwargs), kwargs["y"].shape)
        ['y'] (200,)
    """
    if name not in REFERENCE_POSTERIORS:
        raise KeyError(f"no model here reproduces posteriordb posterior {name!r}; "
                       f"reproduced: {sorted(REFERENCE_POSTERIORS)}")
    spec = REFERENCE_POSTERIORS[name]
    family = posterior_families()[name]
    model = partial(family.variants[spec.variant].model, **spec.options)
    return model, spec.data(load_data(name))


def _read_json(name: str, filename: str) -> dict[str, Any]:
    path = resources.files("models") / "data" / "posteriordb" / name / filename
    if not path.is_file():
        known = sorted(p.name for p in (resources.files("models") / "data" / "posteriordb")
                       .iterdir())
        raise KeyError(f"no bundled posteriordb posterior {name!r}; bundled: {known}")
    return json.loads(path.read_text())


def load_data(name: str) -> dict[str, Any]:
    """The posterior's data (``data.json``), lists turned into float64 arrays.

    Example:
        >>> print(load_data("arma-arma11")["y"].shape)
        (200,)
    """
    return {k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
            for k, v in _read_json(name, "data.json").items()}


def load_reference(name: str) -> dict[str, dict[str, float]]:
    """Per-parameter reference summary: ``{param: {"mean", "sd", "mcse_mean", ...}}``.

    Example:
        >>> ref = load_reference("arK-arK")
        >>> print(sorted(ref)[:3], ref["sigma"]["mcse_mean"] > 0)
        ['alpha', 'beta[1]', 'beta[2]'] True
    """
    return _read_json(name, "reference.json")["parameters"]


def to_reference_names(
    name: str, samples: Mapping[str, np.ndarray], *, chain_axis: bool = True
) -> dict[str, np.ndarray]:
    """Rename our draws to posteriordb parameter names.

    Args:
        name: posterior name in :data:`REFERENCE_POSTERIORS`.
        samples: site name -> draws, shape (chains, draws, ...) if ``chain_axis`` else
            (draws, ...).
        chain_axis: whether the draws keep a leading chain axis.

    Returns:
        posteriordb parameter name -> draws of shape (chains, draws) (or (draws,)).
    """
    spec = REFERENCE_POSTERIORS[name]
    lead = 2 if chain_axis else 1
    out = {}
    for ref_name, (site, index) in spec.parameters.items():
        draws = np.asarray(samples[site])
        where = index if isinstance(index, tuple) else (index,)  # a tuple: a matrix entry
        out[ref_name] = draws if index is None else draws[(slice(None),) * lead + where]
    return out


def z_scores(
    means: Mapping[str, float], mcses: Mapping[str, float], reference: Mapping[str, Mapping]
) -> dict[str, float]:
    """``(ours - ref) / sqrt(mcse_ours^2 + mcse_ref^2)`` for every reference parameter.

    Example:
        >>> ref = {"a": {"mean": 1.0, "mcse_mean": 0.03}}
        >>> print(round(z_scores({"a": 1.2}, {"a": 0.04}, ref)["a"], 6))
        4.0
    """
    return {
        p: (means[p] - r["mean"]) / float(np.hypot(mcses[p], r["mcse_mean"]))
        for p, r in reference.items()
    }
