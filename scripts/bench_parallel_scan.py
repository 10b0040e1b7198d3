"""Benchmark sequential (``lax.scan``) against parallel (``lax.associative_scan``) recurrences.

Times :func:`patterns.sequential.linear_recurrence` and
:func:`patterns.parallel.linear_recurrence` (``x_t = a_t x_{t-1} + b_t``) for several series
lengths T on whatever device JAX picks: compile time (trace, lower and compile once) and run
time (median of ``--repeats`` calls of the compiled function, after one warm-up call).
Checks that the two agree before timing them. The timing itself is ``scripts/_bench_parallel.py``,
which ``scripts/make_doc_figures.py`` uses too.

    python scripts/bench_parallel_scan.py                       # T = 1e2 .. 1e6
    python scripts/bench_parallel_scan.py --sizes 100 1000 --repeats 3 --json out.json

Prints one row per T; ``--json`` also writes the rows, with the device and versions, for
``scripts/make_doc_figures.py``.
"""

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/: _bench_parallel
from _bench_parallel import DEFAULT_SIZES, benchmark  # noqa: E402


def format_rows(rows: Sequence[dict[str, float]]) -> str:
    """A fixed-width table of the rows, run times in microseconds."""
    header = (
        f"{'T':>9} {'seq run us':>11} {'par run us':>11} {'par/seq':>8} "
        f"{'seq comp s':>10} {'par comp s':>10} {'max |diff|':>10}"
    )
    lines = [header]
    for row in rows:
        lines.append(
            f"{row['T']:>9d} {row['sequential_run_s'] * 1e6:>11.1f} "
            f"{row['parallel_run_s'] * 1e6:>11.1f} "
            f"{row['parallel_run_s'] / row['sequential_run_s']:>8.2f} "
            f"{row['sequential_compile_s']:>10.3f} {row['parallel_compile_s']:>10.3f} "
            f"{row['max_abs_diff']:>10.1e}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        metavar="T", help="series lengths (default: 1e2 .. 1e6)")
    parser.add_argument("--repeats", type=int, default=15,
                        help="timed calls per variant and T; the median is reported")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.sizes) < 1:
        parser.error("--repeats and every --sizes value must be >= 1")
    return args


def main(args: argparse.Namespace) -> int:
    """Run the benchmark as ``args`` say; return the exit status."""
    import jax

    device = jax.devices()[0]
    print(f"device: {device.platform} ({device.device_kind}), jax {jax.__version__}, "
          f"float32, median of {args.repeats} runs")
    rows = benchmark(args.sizes, args.repeats)
    print(format_rows(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "device": f"{device.platform} ({device.device_kind})",
            "machine": platform.machine(),
            "jax": jax.__version__,
            "repeats": args.repeats,
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args(sys.argv[1:])))
