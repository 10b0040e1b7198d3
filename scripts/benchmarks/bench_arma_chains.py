"""Conditional ARMA value + gradient batched over W parameter sets (``jax.vmap``): what
vectorised chains (``--chain-method vectorized``, 4 chains: W = 4) and blocks of a panel
cost, per formulation the fast path can choose from.

``bench_arma_orders.py`` times each formulation for one parameter set (W = 1), as one
jitted call and inside a compiled loop; this job times ``jit(vmap(value_and_grad))`` over
W sets of (mu, phi, theta, sigma) on one series, for several W, side by side in one
process, in interleaved rounds (best kept). Every formulation's values and gradients are
compared with the reference's first. Float32 by default, as NumPyro samples; ``--x64``
for float64. Since the fast path switches to JAX's reverse mode when batched
(``models.arma.conditional_fast._sum_of_squares_and_gradient``), the ``sensitivities/u``
rows measure that route under ``vmap``; REPORT.md section 4 has the rows from before.

``--nuts`` adds a NUTS fit with vectorised chains of the fast model
(:func:`models.arma.arma_fast_model`) and of the reference model
(:func:`models.arma.arma_model`), same priors, same seed: process CPU seconds and wall
seconds of ``MCMC.run`` (compilation included), one after the other.

    python scripts/benchmarks/bench_arma_chains.py --sizes 200 2000 --widths 1 2 4 8 16 32 \\
        --json chains.json [--nuts 4]
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    arma_candidate_loglik,
    best_time_per_call,
    job_parser,
    log,
    machine,
    write_result,
)

CANDIDATES = (("reference", None), ("sensitivities", 1), ("sensitivities", 2),
              ("sensitivities", 4), ("autodiff", 1), ("autodiff", 2), ("autodiff", 4),
              ("autodiff", 8), ("auto", None))


def batched_candidate(p: int, q: int, y: np.ndarray, gradient: str, unroll: int | None):
    """``jit(vmap(value_and_grad))`` of one formulation over a (W, 2 + p + q) batch of
    parameter vectors (mu, phi, theta, sigma): ``y`` of shape (T,) is shared (chains of one
    series), of shape (W, T) one series per member (a panel's series)."""
    import jax

    if np.ndim(y) == 1:
        loglik = arma_candidate_loglik(y, p, q, gradient, unroll)
        return jax.jit(jax.vmap(jax.value_and_grad(loglik)))

    def one(y_s, params):
        return jax.value_and_grad(arma_candidate_loglik(y_s, p, q, gradient, unroll))(params)

    batched = jax.jit(jax.vmap(one))
    series = jax.numpy.asarray(y)
    return lambda x: batched(series, x)


def parameter_batch(p: int, q: int, width: int, dtype, seed: int = 3) -> np.ndarray:
    """(W, 2 + p + q): mu, phi, theta inside the stationary / invertible region, sigma."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(0.0, 0.1, width),
                            rng.uniform(-0.5 / max(p, 1), 0.5 / max(p, 1), (width, p)),
                            rng.uniform(-0.5 / max(q, 1), 0.5 / max(q, 1), (width, q)),
                            rng.uniform(0.8, 1.2, width)]).astype(dtype)


def benchmark(p: int, q: int, num_steps: int, widths: list[int], args) -> list[dict]:
    import jax

    dtype = np.float64 if args.x64 else np.float32
    rows = []
    for width in widths:
        shape = (width, num_steps) if args.per_series else (num_steps,)
        y = np.random.default_rng(11).normal(size=shape).astype(dtype)
        x = jax.numpy.asarray(parameter_batch(p, q, width, dtype))
        names, calls, checks = [], [], {}
        for gradient, unroll in CANDIDATES:
            name = gradient if unroll is None else f"{gradient}/{unroll}"
            call = batched_candidate(p, q, y, gradient, unroll)
            start = time.perf_counter()
            value, grad = jax.block_until_ready(call(x))
            checks[name] = (np.asarray(value), np.asarray(grad), time.perf_counter() - start)
            names.append(name)
            calls.append(lambda c=call, x=x: c(x))
        ref_value, ref_grad, _ = checks["reference"]
        tolerance = 1e-10 if args.x64 else 1e-3
        for name, (value, grad, _) in checks.items():
            # per component, the largest magnitude over the batch: float32 sums over T
            # steps differ in the last digits between formulations, wrong formulas by O(1)
            scale = np.maximum(np.abs(ref_grad).max(axis=0), 1.0)
            if not (np.allclose(value, ref_value, rtol=tolerance)
                    and np.all(np.abs(grad - ref_grad) <= tolerance * scale)):
                raise AssertionError(f"{name} disagrees with the reference at ARMA({p},{q}), "
                                     f"T={num_steps}, W={width}")
        best = {name: float("inf") for name in names}
        for _ in range(args.rounds):  # interleaved: a burst of load hits every candidate
            for name, call in zip(names, calls, strict=True):
                best[name] = min(best[name], best_time_per_call(
                    call, repeats=1, min_seconds=args.min_seconds,
                    block=jax.block_until_ready))
        rows.append({"p": p, "q": q, "num_steps": num_steps, "width": width,
                     "per_series": bool(args.per_series),
                     "us": {name: best[name] * 1e6 for name in names},
                     "compile_s": {name: checks[name][2] for name in names}})
        log(f"[chains] ARMA({p},{q}) T={num_steps} W={width}: " + "  ".join(
            f"{name} {best[name] * 1e6:.0f}" for name in names) + " us")
    return rows


def nuts_fits(num_steps: int, chains: int, warmup: int, samples: int) -> list[dict]:
    """Vectorised-chain NUTS fits of the fast and the reference model, one after the other."""
    import jax
    from numpyro.infer import MCMC, NUTS

    from models.arma import arma_fast_model, arma_model

    y = np.random.default_rng(11).normal(size=num_steps).astype(np.float32)
    fits = []
    for name, model in (("fast", arma_fast_model), ("reference", arma_model)):
        mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=samples, num_chains=chains,
                    chain_method="vectorized", progress_bar=False)
        cpu, wall = time.process_time(), time.perf_counter()
        mcmc.run(jax.random.PRNGKey(1), y=y)
        jax.block_until_ready(mcmc.get_samples())
        fits.append({"model": name, "num_steps": num_steps, "chains": chains,
                     "cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                     "phi_mean": float(mcmc.get_samples()["phi"].mean())})
        log(f"[chains] NUTS {name}, {chains} vectorised chains, T={num_steps}: "
            f"{fits[-1]['cpu_s']:.1f} CPU s, {fits[-1]['wall_s']:.1f} s")
    return fits


def main(argv: list[str] | None = None) -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--orders", nargs="*", default=["1,1"], help="orders as p,q")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.03)
    parser.add_argument("--x64", action="store_true", help="float64 (default: float32)")
    parser.add_argument("--per-series", action="store_true",
                        help="one series per batch member (a panel; default: one series "
                        "shared by the batch, as chains)")
    parser.add_argument("--nuts", type=int, default=0, metavar="CHAINS",
                        help="also time vectorised-chain NUTS fits with this many chains")
    parser.add_argument("--nuts-steps", type=int, default=2000)
    parser.add_argument("--nuts-draws", type=int, default=500,
                        help="warm-up and kept draws each")
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", args.x64)
    rows = []
    for order in args.orders:
        p, q = (int(v) for v in order.split(","))
        for num_steps in args.sizes:
            rows += benchmark(p, q, num_steps, args.widths, args)
    fits = (nuts_fits(args.nuts_steps, args.nuts, args.nuts_draws, args.nuts_draws)
            if args.nuts else [])
    write_result(args.json, {"job": "arma_chains", "rows": rows, "nuts": fits,
                             "float64": args.x64, "machine": machine()})


if __name__ == "__main__":
    main()
