"""Timing of sequential (``lax.scan``) against parallel (``lax.associative_scan``) recurrences.

Shared by ``scripts/bench_parallel_scan.py`` (the benchmark's command line and table) and
``scripts/make_doc_figures.py`` (the guide's chapter 5 figure, when no benchmark JSON is
given), so that neither script imports the other. JAX is imported inside the functions: a
caller chooses its platform and flags first.
"""

import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["DEFAULT_SIZES", "benchmark", "time_recurrence"]

#: Series lengths T timed by default: 1e2 .. 1e6.
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
