"""
Check a saved posterior: summary and diagnostics gate of a ``posterior.nc``
===========================================================================

Reads an ArviZ InferenceData netCDF file written by a fit script (or any NUTS run saved with
``sample_stats`` holding ``diverging`` and ``energy``), prints its summary and applies the same
diagnostics gate as the fit scripts, with limits that can differ from the ones it was fitted
under::

    python scripts/check_posterior.py results/arma11/posterior.nc --max-rhat 1.005
    python scripts/check_posterior.py results/arma11          # the folder works too

Exit codes: 0 passed; 2 bad input (a missing file, a file that is not InferenceData); 3 the
diagnostics gate failed (``--allow-warnings`` turns that into a warning).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _cli


def build_parser() -> argparse.ArgumentParser:
    """The posterior file and the gate's limits."""
    parser = _cli.make_parser("Summary and diagnostics gate of a saved posterior.nc.")
    parser.add_argument(
        "posterior", type=Path, help="posterior.nc, or an output folder that holds one"
    )
    _cli.add_gate_arguments(parser)
    return parser


def main(args: argparse.Namespace) -> int:
    """Read the file, print its summary, apply the gate."""
    path: Path = args.posterior
    if path.is_dir():
        path = path / "posterior.nc"
    if not path.exists():
        raise _cli.CliError(f"posterior file '{path}' does not exist")
    import _arviz_io  # arviz and matplotlib: imported once the input looks usable

    try:
        idata = _arviz_io.read_inference_data(path)
    except _arviz_io.NotInferenceDataError as error:
        raise _cli.CliError(str(error)) from None
    missing = _arviz_io.missing_sample_stats(idata, ("diverging", "energy"))
    if missing:
        raise _cli.CliError(
            f"'{path}' has no sample_stats {', '.join(missing)}: the diagnostics gate needs "
            "the divergences and the energy of a NUTS run"
        )
    _, diagnostics = _cli.summarise_and_diagnose(idata, _arviz_io.posterior_variables(idata))
    _cli.diagnostics_gate(
        diagnostics, _cli.GateThresholds.from_args(args), allow_warnings=args.allow_warnings,
        written_to=None,
    )
    return _cli.EXIT_OK


if __name__ == "__main__":
    _cli.run(main, build_parser())
