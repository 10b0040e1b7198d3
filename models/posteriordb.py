"""The posteriordb reference posteriors shipped with the package, and the model for each.

posteriordb (Magnusson, Bürkner & Vehtari; stan-dev/posteriordb, BSD-3) pairs a Stan
program and its data with reference draws from long Stan runs. The data, the Stan program
and the reference summary (per-parameter mean, sd and Monte Carlo standard error) of each
bundled posterior live in ``models/data/posteriordb/<name>/``. A posterior "has a model
here" when :data:`REFERENCE_POSTERIORS` names the NumPyro model whose density equals the
Stan program's.

Compare a fit with its reference by
``z = (mean_ours - mean_ref) / sqrt(mcse_ours**2 + mcse_ref**2)``: :func:`z_scores`.
"""

import json
from collections.abc import Callable, Mapping
from functools import partial
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from models.arma import arma_model

__all__ = [
    "REFERENCE_POSTERIORS",
    "ReferencePosterior",
    "load_data",
    "load_reference",
    "to_reference_names",
    "z_scores",
]


class ReferencePosterior(NamedTuple):
    """How to reproduce one posteriordb posterior with a model of this package.

    Attributes:
        name: posteriordb posterior name, e.g. ``"arma-arma11"``.
        model: NumPyro model, called as ``model(y)``.
        parameters: posteriordb parameter name -> (our site name, index into the site or
            ``None`` for a scalar site).
    """

    name: str
    model: Callable[..., None]
    parameters: Mapping[str, tuple[str, int | None]]


REFERENCE_POSTERIORS: dict[str, ReferencePosterior] = {
    "arma-arma11": ReferencePosterior(
        name="arma-arma11",
        model=partial(arma_model, order=(1, 1)),
        parameters={"mu": ("mu", None), "phi": ("phi", 0), "theta": ("theta", 0),
                    "sigma": ("sigma", None)},
    ),
    "arK-arK": ReferencePosterior(
        name="arK-arK",
        model=partial(arma_model, order=(5, 0), condition_on_first=True, mu_scale=10.0,
                      phi_scale=10.0),
        parameters={"alpha": ("mu", None), **{f"beta[{k}]": ("phi", k - 1) for k in range(1, 6)},
                    "sigma": ("sigma", None)},
    ),
}


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
        out[ref_name] = draws if index is None else draws[(slice(None),) * lead + (index,)]
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
