"""The diagnostics gate: :class:`Diagnostics` holds divergences, R-hat, ESS and E-BFMI with
the parameter or chain behind each extreme; :func:`diagnostics_gate` turns failed checks into
sentences naming what failed. ArviZ is imported inside :func:`summarise_and_diagnose`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _cli.errors import DiagnosticsGateError
from _cli.outputs import json_number


@dataclass(frozen=True)
class GateThresholds:
    """Limits of the diagnostics gate (defaults follow Vehtari et al. 2021 and Betancourt 2016)."""

    max_divergences: int = 0
    max_rhat: float = 1.01
    min_ess: float = 400.0
    min_bfmi: float = 0.3

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GateThresholds:
        return cls(args.max_divergences, args.max_rhat, args.min_ess, args.min_bfmi)


@dataclass(frozen=True)
class Diagnostics:
    """The numbers the gate looks at, with the parameter or chain behind each extreme."""

    divergences: int
    draws: int
    max_rhat: float
    max_rhat_parameter: str
    min_ess_bulk: float
    min_ess_bulk_parameter: str
    min_ess_tail: float
    min_ess_tail_parameter: str
    min_bfmi: float
    min_bfmi_chain: int

    @classmethod
    def from_summary(
        cls, summary: Any, *, divergences: int, draws: int, bfmi_per_chain: np.ndarray
    ) -> Diagnostics:
        """From an ArviZ summary table (columns r_hat, ess_bulk, ess_tail; one row a parameter).

        NaN counts as the worst value: an R-hat or ESS that cannot be computed is not a pass.
        """
        rhat = summary["r_hat"].astype(float).fillna(np.inf)
        ess_bulk = summary["ess_bulk"].astype(float).fillna(-np.inf)
        ess_tail = summary["ess_tail"].astype(float).fillna(-np.inf)
        bfmi = np.where(np.isnan(bfmi_per_chain), -np.inf, bfmi_per_chain)
        worst_chain = int(np.argmin(bfmi))
        return cls(
            divergences=int(divergences),
            draws=int(draws),
            max_rhat=float(rhat.max()),
            max_rhat_parameter=str(rhat.idxmax()),
            min_ess_bulk=float(ess_bulk.min()),
            min_ess_bulk_parameter=str(ess_bulk.idxmin()),
            min_ess_tail=float(ess_tail.min()),
            min_ess_tail_parameter=str(ess_tail.idxmin()),
            min_bfmi=float(bfmi[worst_chain]),
            min_bfmi_chain=worst_chain,
        )

    def failures(self, limits: GateThresholds) -> list[str]:
        """One sentence per failed check; empty when the run passes."""
        failed = []
        if self.divergences > limits.max_divergences:
            failed.append(
                f"{self.divergences} divergent transition(s) in {self.draws} draws "
                f"(at most {limits.max_divergences} allowed)"
            )
        if not self.max_rhat <= limits.max_rhat:
            failed.append(
                f"R-hat of {self.max_rhat_parameter} is {_fmt(self.max_rhat, 3)} "
                f"(must be <= {limits.max_rhat})"
            )
        if not self.min_ess_bulk >= limits.min_ess:
            failed.append(
                f"bulk ESS of {self.min_ess_bulk_parameter} is {_fmt(self.min_ess_bulk)} "
                f"(must be >= {limits.min_ess:g})"
            )
        if not self.min_ess_tail >= limits.min_ess:
            failed.append(
                f"tail ESS of {self.min_ess_tail_parameter} is {_fmt(self.min_ess_tail)} "
                f"(must be >= {limits.min_ess:g})"
            )
        if not self.min_bfmi >= limits.min_bfmi:
            failed.append(
                f"E-BFMI of chain {self.min_bfmi_chain} is {_fmt(self.min_bfmi, 2)} "
                f"(must be >= {limits.min_bfmi})"
            )
        return failed

    def as_dict(self) -> dict[str, Any]:
        return {name: json_number(value) for name, value in self.__dict__.items()}

    def report_line(self) -> str:
        return (
            f"divergences: {self.divergences} of {self.draws} draws; "
            f"max R-hat {_fmt(self.max_rhat, 3)} ({self.max_rhat_parameter}); "
            f"min ESS bulk {_fmt(self.min_ess_bulk)} ({self.min_ess_bulk_parameter}), "
            f"tail {_fmt(self.min_ess_tail)} ({self.min_ess_tail_parameter}); "
            f"min E-BFMI {_fmt(self.min_bfmi, 2)} (chain {self.min_bfmi_chain})"
        )


def _fmt(value: float, decimals: int | None = None) -> str:
    """A diagnostic for a sentence: fixed decimals if given, else ESS-style (whole above 100)."""
    if not math.isfinite(value):
        return "undefined"
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def diagnostics_gate(
    diagnostics: Diagnostics,
    limits: GateThresholds,
    *,
    allow_warnings: bool,
    written_to: Path | None,
) -> list[str]:
    """Print the gate's verdict; raise :class:`DiagnosticsGateError` when it fails.

    With ``allow_warnings`` a failure is printed as a ``warning:`` line and returned instead.
    """
    failed = diagnostics.failures(limits)
    if not failed:
        print("diagnostics gate: passed")
        return failed
    where = f"; outputs were written to '{written_to}'" if written_to is not None else ""
    message = "diagnostics gate failed: " + "; ".join(failed) + where
    if allow_warnings:
        print(f"warning: {message} (accepted by --allow-warnings)", file=sys.stderr)
        return failed
    raise DiagnosticsGateError(message + " (--allow-warnings accepts the run anyway)")



def summarise_and_diagnose(idata: Any, var_names: Sequence[str]) -> tuple[Any, Diagnostics]:
    """Print the ArviZ summary of ``var_names`` and the diagnostics line (divergences
    first); return the summary table and the :class:`Diagnostics` the gate judges."""
    import _arviz_io  # imported late: ArviZ takes seconds to import

    summary = _arviz_io.summary(idata, var_names)
    diagnostics = Diagnostics.from_summary(
        summary,
        divergences=_arviz_io.divergence_count(idata),
        draws=_arviz_io.draw_count(idata),
        bfmi_per_chain=_arviz_io.bfmi_per_chain(idata),
    )
    print(_arviz_io.format_summary(summary))
    print(diagnostics.report_line())  # the divergence count is its first part, said once
    return summary, diagnostics
