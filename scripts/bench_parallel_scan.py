"""Benchmark sequential (``lax.scan``) against parallel (``lax.associative_scan``) recurrences.

Times :func:`patterns.sequential.linear_recurrence` and
:func:`patterns.parallel.linear_recurrence` (``x_t = a_t x_{t-1} + b_t``) for several series
lengths T on whatever device JAX picks: compile time (trace, lower and compile once) and run
time (median of ``--repeats`` calls of the compiled function, after one warm-up call).
Checks that the two agree before timing them.

    python scripts/bench_parallel_scan.py                       # T = 1e2 .. 1e6
    python scripts/bench_parallel_scan.py --sizes 100 1000 --repeats 3 --json out.json

Prints one row per T; ``--json`` also writes the rows, with the device and versions, for
``scripts/make_doc_figures.py``.
"""

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)


def time_recurrence(
    recurrence: Callable, num_steps: int, repeats: int
) -> tuple[float, float, object]:
    """Compile ``recurrence`` for length ``num_steps`` and time it.

    Returns:
        ``(compile_seconds, median_run_seconds, output)``.
    """
    import jax
    import jax.numpy as jnp

    # |a| < 1 keeps the recurrence bounded at every T, so no overflow muddies the timing.
    a = jnp.full(num_steps, 0.9)
    b = jnp.ones(num_steps)
    init = jnp.array(0.0)
    start = time.perf_counter()
    compiled = jax.jit(recurrence).lower(a, b, init).compile()
    compile_seconds = time.perf_counter() - start
    output = compiled(a, b, init).block_until_ready()  # warm-up: first call allocates
    run_seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled(a, b, init).block_until_ready()
        run_seconds.append(time.perf_counter() - start)
    return compile_seconds, statistics.median(run_seconds), output


def benchmark(sizes: Sequence[int], repeats: int) -> list[dict[str, float]]:
    """One row per T: compile and run seconds of both variants, and their agreement."""
    import numpy as np

    from patterns import parallel, sequential

    rows = []
    for num_steps in sizes:
        seq_compile, seq_run, seq_out = time_recurrence(
            sequential.linear_recurrence, num_steps, repeats
        )
        par_compile, par_run, par_out = time_recurrence(
            parallel.linear_recurrence, num_steps, repeats
        )
        max_abs_diff = float(np.max(np.abs(np.asarray(seq_out) - np.asarray(par_out))))
        rows.append(
            {
                "T": num_steps,
                "sequential_compile_s": seq_compile,
                "parallel_compile_s": par_compile,
                "sequential_run_s": seq_run,
                "parallel_run_s": par_run,
                "max_abs_diff": max_abs_diff,
            }
        )
    return rows


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
