"""Benchmark the conditional against the exact ARMA log-likelihood, value and gradient.

Side by side, on one simulated ARMA(p, q) series per length T, in float64:

* ``conditional`` — :func:`models.arma.arma_conditional_loglik` (one ``lax.scan``);
* ``conditional (arma_fast)`` — :func:`models.arma.arma_fast_conditional_loglik` (AR part
  vectorised, one MA scan);
* ``exact, fast path`` — :func:`models.arma.arma_exact_loglik` (default method:
  covariance recursion held at its checked steady state);
* ``exact, full filter`` — the same with ``method="sequential"`` (state and covariance in
  one scan);
* ``exact, parallel filter`` — ``method="parallel"``, only with ``--parallel`` (long to
  compile).

Each is jitted, checked against the full filter (exact variants) or the plain conditional
(conditional variants) before timing, then timed as the best of ``--repeats`` rounds of
``--number`` calls. Ratios are to the plain conditional's time for the same quantity.

    python scripts/bench_arma_likelihood.py                             # T = 2000, 20000
    python scripts/bench_arma_likelihood.py --sizes 50 --number 2 --repeats 2 --out x.md

Writes a Markdown table (``--out``, default ``results/bench_arma_likelihood.md``) and
prints it.
"""

import argparse
import platform
import sys
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_SIZES = (2000, 20000)
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="series lengths T (default: 2000 20000)")
    parser.add_argument("--order", type=int, nargs=2, default=[2, 1], metavar=("P", "Q"),
                        help="ARMA order (default: 2 1)")
    parser.add_argument("--theta", type=float, default=0.4,
                        help="first MA coefficient of the simulated series (default 0.4)")
    parser.add_argument("--number", type=int, default=20, help="calls per timing round")
    parser.add_argument("--repeats", type=int, default=7, help="timing rounds (best is kept)")
    parser.add_argument("--parallel", action="store_true",
                        help="also time the associative_scan filter (slow to compile)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_arma_likelihood.md",
                        help="Markdown file to write")
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or args.number < 1 or args.repeats < 1 or min(args.order) < 0:
        parser.error("sizes, --number and --repeats must be >= 1, the order >= 0")
    return args


def _parameters(p: int, q: int, theta1: float):
    import numpy as np

    phi = np.array([0.5, -0.3, 0.1][:p] + [0.0] * max(0, p - 3))
    theta = np.array([theta1, 0.2, -0.1][:q] + [0.0] * max(0, q - 3))
    return 0.3, phi, theta, 1.2


def _best_seconds(fn: Callable[[], object], number: int, repeats: int) -> float:
    import jax

    jax.block_until_ready(fn())  # compile and warm up outside the timing
    rounds = timeit.repeat(lambda: jax.block_until_ready(fn()), number=number, repeat=repeats)
    return min(rounds) / number


def benchmark(args: argparse.Namespace) -> list[dict]:
    """One row per (T, variant): value and value+gradient seconds, and the check."""
    import jax
    import jax.numpy as jnp

    from models.arma import (
        ARMA,
        arma_conditional_loglik,
        arma_exact_loglik,
        arma_fast_conditional_loglik,
    )

    p, q = args.order
    mu, phi, theta, sigma = _parameters(p, q, args.theta)
    # Intercept of the conditional parameterisation with the same process mean.
    intercept = mu * (1.0 - phi.sum())
    variants: list[tuple[str, Callable, object, str]] = [
        ("conditional", arma_conditional_loglik, intercept, "reference"),
        ("conditional (arma_fast)", arma_fast_conditional_loglik, intercept, "conditional"),
        ("exact, fast path", arma_exact_loglik, mu, "exact"),
    ]
    variants.append(("exact, full filter",
                     lambda *a: arma_exact_loglik(*a, method="sequential"), mu, "exact"))
    if args.parallel:
        variants.append(("exact, parallel filter",
                         lambda *a: arma_exact_loglik(*a, method="parallel"), mu, "exact"))

    rows = []
    with jax.enable_x64(True):
        for num_steps in args.sizes:
            y = ARMA(mu, jnp.asarray(phi), jnp.asarray(theta), sigma,
                     num_steps=num_steps).sample(jax.random.PRNGKey(num_steps))
            params = tuple(jnp.asarray(a) for a in (phi, theta, sigma))
            exact_full = float(arma_exact_loglik(y, mu, *params, method="sequential"))
            conditional = float(arma_conditional_loglik(y, intercept, *params,
                                                        initial_y=None))
            baseline = {}
            for name, loglik, location, kind in variants:
                # y is an argument, not a closure constant: nothing is folded at compile time.
                value_fn = jax.jit(loglik)
                grad_fn = jax.jit(jax.value_and_grad(loglik, argnums=(1, 2, 3, 4)))
                inputs = (y, jnp.asarray(location), *params)
                value = float(value_fn(*inputs))
                check = exact_full if kind == "exact" else conditional
                rel_diff = abs(value - check) / abs(check)
                if rel_diff > 1e-10:
                    raise RuntimeError(f"{name}: value {value} differs from {check}")
                value_s = _best_seconds(lambda f=value_fn, a=inputs: f(*a),
                                        args.number, args.repeats)
                grad_s = _best_seconds(lambda f=grad_fn, a=inputs: f(*a),
                                       args.number, args.repeats)
                if kind == "reference":
                    baseline = {"value": value_s, "grad": grad_s}
                rows.append({
                    "T": num_steps, "variant": name, "value_s": value_s, "grad_s": grad_s,
                    "value_ratio": value_s / baseline["value"],
                    "grad_ratio": grad_s / baseline["grad"], "rel_diff": rel_diff,
                })
    return rows


def render(rows: list[dict], args: argparse.Namespace) -> str:
    import jax

    p, q = args.order
    lines = [
        f"# Conditional vs exact ARMA({p}, {q}) log-likelihood (float64)",
        "",
        f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}, "
        f"jax {jax.__version__}; best of {args.repeats} rounds of {args.number} calls; "
        f"theta_1 = {args.theta}. Ratios are to `conditional` (models.arma).",
        "",
        "| T | variant | value (ms) | value + grad (ms) | value ratio | value + grad ratio |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['T']} | {row['variant']} | {1e3 * row['value_s']:.3f} | "
            f"{1e3 * row['grad_s']:.3f} | {row['value_ratio']:.2f} | {row['grad_ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> list[dict]:
    rows = benchmark(args)
    table = render(rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    return rows


if __name__ == "__main__":
    main(parse_args())
