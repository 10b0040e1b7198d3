"""Per-series convergence diagnostics of a panel fit: a stuck or divergent series must not
hide behind the others.

For every series: the largest split R-hat and the smallest effective sample size over the
parameter components (NumPyro's ``split_gelman_rubin`` and ``effective_sample_size``, run on
that series' chains alone), its divergent transitions, and the smallest E-BFMI over its
chains. :func:`failing_series` says which series fail which limit.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> good = rng.normal(size=(2, 4, 500))  # 2 series, 4 chains, 500 draws
    >>> good[1, 0] += 5.0  # series 1: one chain stuck elsewhere
    >>> report = series_diagnostics({"m": good}, diverging=np.zeros((2, 4, 500), bool),
    ...                             energy=rng.normal(size=(2, 4, 500)))
    >>> print(report.max_rhat.round(1), failing_series(report))
    [1.  2.5] {1: ['R-hat 2.51 > 1.01', 'ESS 2 < 400']}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

__all__ = ["SeriesDiagnostics", "failing_series", "series_diagnostics"]


class SeriesDiagnostics(NamedTuple):
    """One value per series, shape (S,) each."""

    max_rhat: np.ndarray
    min_ess: np.ndarray
    divergences: np.ndarray
    min_ebfmi: np.ndarray


def _ebfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain: mean squared energy change over the energy variance, (..., C)."""
    return (np.mean(np.diff(energy, axis=-1) ** 2, axis=-1)
            / np.var(energy, axis=-1))


def series_diagnostics(samples: Mapping[str, ArrayLike], *, diverging: ArrayLike,
                       energy: ArrayLike) -> SeriesDiagnostics:
    """Diagnostics of each series of a panel fit.

    Args:
        samples: site -> draws (S, C, D, ...); C >= 2 chains for R-hat.
        diverging: (S, C, D) divergent transitions.
        energy: (S, C, D) the Hamiltonian at each draw.

    Returns:
        :class:`SeriesDiagnostics`, each field of shape (S,).

    The example is the module's.
    """
    num_series = np.shape(diverging)[0]
    flats = []
    for name, value in samples.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim < 3 or value.shape[0] != num_series or value.shape[1] < 2:
            raise ValueError(f"series_diagnostics: samples[{name!r}] must have shape "
                             f"(S, C, D, ...) with S = {num_series} and C >= 2 chains, got "
                             f"{value.shape}")
        flats.append(value.reshape(value.shape[:3] + (-1,)))  # (S, C, D, k)
    max_rhat, min_ess = np.empty(num_series), np.empty(num_series)
    for s in range(num_series):
        rhat = np.concatenate([np.atleast_1d(split_gelman_rubin(flat[s])) for flat in flats])
        ess = np.concatenate([np.atleast_1d(effective_sample_size(flat[s])) for flat in flats])
        max_rhat[s] = np.max(np.where(np.isfinite(rhat), rhat, np.inf))
        min_ess[s] = np.min(np.where(np.isfinite(ess), ess, 0.0))
    return SeriesDiagnostics(
        max_rhat=max_rhat,
        min_ess=min_ess,
        divergences=np.asarray(diverging).reshape(num_series, -1).sum(axis=1),
        min_ebfmi=np.min(_ebfmi(np.asarray(energy, dtype=np.float64)), axis=1),
    )


def failing_series(report: SeriesDiagnostics, *, max_rhat: float = 1.01,
                   min_ess: float = 400.0, max_divergences: int = 0,
                   min_ebfmi: float = 0.3) -> dict[int, list[str]]:
    """Series index -> the limits it fails (the fit command's gate, per series); series
    that pass are absent.

    The example is the module's.
    """
    failures: dict[int, list[str]] = {}
    for s in range(len(report.max_rhat)):
        reasons = []
        if not report.max_rhat[s] <= max_rhat:
            reasons.append(f"R-hat {report.max_rhat[s]:.3g} > {max_rhat:g}")
        if not report.min_ess[s] >= min_ess:
            reasons.append(f"ESS {report.min_ess[s]:.0f} < {min_ess:g}")
        if report.divergences[s] > max_divergences:
            reasons.append(f"{report.divergences[s]} divergences")
        if not report.min_ebfmi[s] >= min_ebfmi:
            reasons.append(f"E-BFMI {report.min_ebfmi[s]:.2g} < {min_ebfmi:g}")
        if reasons:
            failures[s] = reasons
    return failures
