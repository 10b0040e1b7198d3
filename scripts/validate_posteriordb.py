r"""
Validate the models against posteriordb reference posteriors
============================================================

posteriordb (Magnusson, Bürkner & Vehtari) pairs Stan programs and data with reference
posteriors from long Stan runs (10 chains x 1000 thinned draws). For every bundled posterior
that a registered model family reproduces (``models.registry``: a family lists the
posteriors it reproduces, with the variant, options and data mapping that give the Stan
program's density), this script fits that model to the same data with NUTS, from the
family's starting points, and compares each parameter's posterior mean with the reference
by

.. math::

    z = \frac{\bar\theta_\text{ours} - \bar\theta_\text{ref}}
             {\sqrt{\text{MCSE}_\text{ours}^2 + \text{MCSE}_\text{ref}^2}},

where MCSE is the Monte Carlo standard error of the mean (ours ArviZ's ``mcse_mean``, the
reference's from ``reference.json``); the harness is ``scripts/_cli/posteriordb.py``, shared
with the tests and the ESS benchmark. When both samplers target the same density, z is close to
standard normal; a wrong prior or a wrong start of the recursion shows up as |z| in the tens.

It prints one row per parameter and exits with code 4 if any |z| >= ``--z-limit`` (default 4),
with code 3 if a fit fails the diagnostics gate (its z-scores would not mean much), else 0.
``--out DIR`` also writes ``validation.csv`` and ``run.json`` there.

Example::

    python scripts/validate_posteriordb.py
    python scripts/validate_posteriordb.py --only arma-arma11 --samples 4000 --out results/pdb
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

import _cli
import jax
from _cli.posteriordb import TABLE_COLUMNS, fit_reference, reference_rows

from models.posteriordb import REFERENCE_POSTERIORS, bundled_posteriors


def build_parser() -> argparse.ArgumentParser:
    """Sampling, gate and output options, plus which posteriors and the |z| limit."""
    parser = _cli.make_parser(
        "Fit every bundled posteriordb posterior that a model family reproduces; print "
        "z-scores."
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=sorted(REFERENCE_POSTERIORS),
        help=f"validate only these ({', '.join(sorted(REFERENCE_POSTERIORS))})",
    )
    parser.add_argument(
        "--z-limit",
        type=_cli.positive_float,
        default=4.0,
        help="fail when any |z| reaches this (4)",
    )
    _cli.add_sampling_arguments(parser, samples=2000)
    _cli.add_gate_arguments(parser)
    _cli.add_output_arguments(parser)
    return parser


def validate_one(
    name: str, settings: _cli.SamplerSettings, setup: _cli.DeviceSetup, rng_key: jax.Array
) -> tuple[list[dict[str, object]], _cli.Diagnostics, _cli.SamplingTimings]:
    """Fit posterior ``name``; one table row per reference parameter, the diagnostics, timings."""
    import _arviz_io

    mcmc, timings = fit_reference(
        name, rng_key=rng_key, chains=settings.chains, warmup=settings.warmup,
        samples=settings.samples, chain_method=setup.chain_method,
        progress_bar=settings.progress_bar,
    )
    # Only the posterior and the sampler statistics are read here: no observed_data group, so
    # ArviZ does not re-run the model op by op to find the observed sites.
    idata = _arviz_io.inference_data_from_mcmc(mcmc, observed_data={})
    sites = sorted({site for site, _ in REFERENCE_POSTERIORS[name].parameters.values()})
    summary = _arviz_io.summary(idata, sites)
    diagnostics = _cli.Diagnostics.from_summary(
        summary,
        divergences=_arviz_io.divergence_count(idata),
        draws=_arviz_io.draw_count(idata),
        bfmi_per_chain=_arviz_io.bfmi_per_chain(idata),
    )
    return reference_rows(name, mcmc.get_samples(group_by_chain=True)), diagnostics, timings


def format_table(rows: list[dict[str, object]]) -> str:
    """Aligned text table of the rows."""
    def cell(column: str, value: object) -> str:
        if column == "z":
            return f"{value:+.2f}"
        if isinstance(value, float):
            return f"{value:.5f}" if column in ("mean", "ref_mean") else f"{value:.2e}"
        return str(value)

    text = [[cell(c, row[c]) for c in TABLE_COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(TABLE_COLUMNS)]
    lines = ["  ".join(c.rjust(w) if i > 2 else c.ljust(w)
                       for i, (c, w) in enumerate(zip(TABLE_COLUMNS, widths, strict=True)))]
    for r in text:
        lines.append("  ".join(v.rjust(w) if i > 2 else v.ljust(w)
                               for i, (v, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Fit each posterior, print the z-score table, decide the exit code."""
    started = time.perf_counter()
    if args.out is not None:
        _cli.check_output_folder(args.out, force=args.force)
    names = sorted(args.only) if args.only else sorted(REFERENCE_POSTERIORS)
    settings = _cli.SamplerSettings.from_args(args)
    setup = _cli.configure_platform(
        settings.platform, settings.chains, settings.chain_method, float64=True,
        compilation_cache=settings.compilation_cache,
    )
    import _arviz_io  # noqa: F401  (after set-up: arviz is slow to import; run.json needs it)

    bundled = bundled_posteriors()
    for name, family in bundled.items():
        print(f"{name}: " + (f"reproduced by the '{family.name}' family "
                             f"(--likelihood {REFERENCE_POSTERIORS[name].variant})"
                             if family else "no model family here yet"))
    without_model = [name for name, family in bundled.items() if family is None]
    print(
        f"posteriordb validation: {', '.join(names)}; {settings.chains} chain(s) x "
        f"{settings.samples} draws after {settings.warmup} warm-up, float64 on "
        f"{setup.jax_backend}"
        + (f"; no model here for {', '.join(without_model)}" if without_model else ""),
        flush=True,
    )
    rows: list[dict[str, object]] = []
    gate_failures: dict[str, list[str]] = {}
    diagnostics_by_name: dict[str, dict[str, object]] = {}
    timings = _cli.SamplingTimings()
    limits = _cli.GateThresholds.from_args(args)
    keys = jax.random.split(jax.random.PRNGKey(args.seed), len(names))
    for name, key in zip(names, keys, strict=True):
        posterior_rows, diagnostics, fit_timings = validate_one(name, settings, setup, key)
        rows.extend(posterior_rows)
        print(f"{name}: {diagnostics.report_line()}", flush=True)
        diagnostics_by_name[name] = diagnostics.as_dict()
        failed = diagnostics.failures(limits)
        if failed:
            gate_failures[name] = failed
        timings.compile_s += fit_timings.compile_s
        timings.sampling_s += fit_timings.sampling_s
        timings.mcmc_wall_s += fit_timings.mcmc_wall_s
        timings.extra[f"{name}_sampling_s"] = fit_timings.sampling_s

    print()
    print(format_table(rows))
    worst = max(rows, key=lambda row: abs(float(row["z"])))
    z_failures = [row for row in rows if not abs(float(row["z"])) < args.z_limit]

    if args.out is not None:
        timings.extra["total_s"] = time.perf_counter() - started
        with _cli.OutputFolder(args.out, force=args.force) as output:
            with output.path("validation.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            record = _cli.run_record(settings, setup, timings, extra={
                "posteriors": names,
                "families": {name: bundled[name].name for name in names},
                "z_limit": args.z_limit,
                "max_abs_z": abs(float(worst["z"])),
                "validation_passed": not z_failures,
                "diagnostics": diagnostics_by_name,
                "gate_failures": gate_failures,
            })
            _cli.write_json(output.path("run.json"), record)
            output.commit()
        print(f"wrote validation.csv, run.json to {args.out}")

    if z_failures:
        failed = "; ".join(f"{row['posterior']} {row['parameter']} z = {float(row['z']):+.2f}"
                           for row in z_failures)
        print(f"error: validation failed, |z| >= {args.z_limit:g}: {failed}", file=sys.stderr)
        return _cli.EXIT_VALIDATION
    print(f"all |z| < {args.z_limit:g} (largest: {worst['posterior']} {worst['parameter']}, "
          f"z = {float(worst['z']):+.2f})")
    if gate_failures:
        message = "diagnostics gate failed: " + "; ".join(
            f"{name}: {', '.join(failed)}" for name, failed in gate_failures.items())
        if args.allow_warnings:
            print(f"warning: {message} (accepted by --allow-warnings)", file=sys.stderr)
        else:
            raise _cli.DiagnosticsGateError(message)
    else:
        print("diagnostics gate: passed")
    return _cli.EXIT_OK


if __name__ == "__main__":
    _cli.run(main, build_parser())
