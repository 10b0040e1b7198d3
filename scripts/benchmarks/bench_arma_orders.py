"""Conditional ARMA(p, q) value + gradient for every order p, q <= 3: which formulation wins.

For each order and each T, side by side in one process, the candidates the fast path can
choose from (:func:`models.arma.conditional_fast.arma_fast_conditional_loglik`):

* ``reference``: :func:`models.arma.arma_conditional_loglik` (one scan, two lag buffers,
  JAX's reverse mode);
* ``sensitivities/u``: forward sensitivities in one scan, ``unroll`` u = 1, 2, 4;
* ``autodiff/u``: AR part vectorised, MA-only scan differentiated by JAX, u = 4, 8;
* ``auto``: what the package picks for that order (:data:`~models.arma.conditional_fast.PLAN`);
* ``numba``: the forward-sensitivity loop for general (p, q), hand-written and compiled by
  numba (the floor; skipped when numba is missing).

Two timings each, as in ``bench_gradient.py``: ``per_call`` (one jitted call from Python,
what NumPyro's sampler step costs on the host) and ``in_loop`` (per evaluation inside one
compiled ``fori_loop``). The candidates are timed in interleaved rounds (round-robin,
``--rounds`` times, best kept), so a burst of load from other processes hits them all
alike. Every candidate's value and gradient are compared with the reference's.

    python scripts/benchmarks/bench_arma_orders.py --sizes 200 2000 20000 --json orders.json
    python scripts/benchmarks/bench_arma_orders.py --orders 2,1 --sizes 2000 --json x.json
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import arma_candidate_loglik, job_parser, log, write_result  # noqa: E402

CANDIDATES = (("reference", None), ("sensitivities", 1), ("sensitivities", 2),
              ("sensitivities", 4), ("autodiff", 4), ("autodiff", 8))


def series(p: int, q: int, num_steps: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A simulated ARMA(p, q) series (T,) and the parameters it is scored at,
    [c, phi (p), theta (q), sigma]."""
    phi = np.array([0.5, -0.3, 0.1, 0.05, -0.05][:p])
    theta = np.array([0.4, 0.2, -0.1, 0.05, 0.02][:q])
    rng = np.random.default_rng(seed + 100 * p + 10 * q + num_steps)
    shocks = rng.standard_normal(num_steps + 200)
    y = np.zeros(num_steps + 200)
    for t in range(num_steps + 200):
        y[t] = 0.3 + shocks[t]
        for i in range(p):
            if t > i:
                y[t] += phi[i] * y[t - i - 1]
        for j in range(q):
            if t > j:
                y[t] += theta[j] * shocks[t - j - 1]
    params = np.r_[0.25, phi * 0.95, theta * 0.95, 1.1]
    return y[200:], params


def numba_forward(p: int, q: int):
    """Value and gradient of the conditional ARMA(p, q) log-likelihood by forward
    sensitivities, for any (p, q), compiled by numba: (call, loop) or None."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False)
    def value_and_grad(y, params, grad, e_lags, d_lags, d_new):
        n = y.shape[0]
        c = params[0]
        sigma = params[1 + p + q]
        k = 1 + p + q  # derivatives w.r.t. c, phi, theta
        for j in range(q):
            e_lags[j] = 0.0
            for m in range(k):
                d_lags[j, m] = 0.0
        total = 0.0
        for m in range(k):
            grad[m] = 0.0
        for t in range(n):
            e = y[t] - c
            for m in range(k):
                d_new[m] = 0.0
            d_new[0] = -1.0
            for i in range(p):
                lagged = y[t - i - 1] if t > i else c
                e -= params[1 + i] * lagged
                d_new[1 + i] = -lagged
                if t <= i:
                    d_new[0] -= params[1 + i]
            for j in range(q):
                th = params[1 + p + j]
                e -= th * e_lags[j]
                d_new[1 + p + j] -= e_lags[j]
                for m in range(k):
                    d_new[m] -= th * d_lags[j, m]
            for j in range(q - 1, 0, -1):
                e_lags[j] = e_lags[j - 1]
                for m in range(k):
                    d_lags[j, m] = d_lags[j - 1, m]
            if q > 0:
                e_lags[0] = e
                for m in range(k):
                    d_lags[0, m] = d_new[m]
            total += e * e
            for m in range(k):
                grad[m] += e * d_new[m]
        inv_var = 1.0 / (sigma * sigma)
        for m in range(k):
            grad[m] = -grad[m] * inv_var
        grad[k] = total * inv_var / sigma - n / sigma
        return -0.5 * total * inv_var - n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi)

    @numba.njit(cache=False)
    def in_loop(y, params, num_evals, grad, e_lags, d_lags, d_new):
        x = params.copy()
        total = 0.0
        for _ in range(num_evals):
            total += value_and_grad(y, x, grad, e_lags, d_lags, d_new)
            x[0] += 1e-12 * np.tanh(grad[0])
        return total

    k = 1 + p + q
    buffers = (np.zeros(max(q, 1)), np.zeros((max(q, 1), k)), np.zeros(k))

    def call(y, params):
        grad = np.zeros(k + 1)
        return value_and_grad(y, params, grad, *buffers), grad

    def loop(y, params, num_evals):
        return in_loop(y, params, num_evals, np.zeros(k + 1), *buffers)

    return call, loop


def jax_candidate(p: int, q: int, y, gradient, unroll):
    """(call, loop) for one candidate: jitted value_and_grad, and N of them in a fori_loop."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    loglik = arma_candidate_loglik(y, p, q, gradient, unroll)
    value_and_grad = jax.value_and_grad(loglik)
    call = jax.jit(value_and_grad)

    @jax.jit
    def loop(params, num_evals):
        def body(_, carry):
            params, total = carry
            value, grad = value_and_grad(params)
            return params.at[0].add(1e-12 * jnp.tanh(grad[0])), total + value

        return lax.fori_loop(0, num_evals, body, (params, jnp.zeros(())))[1]

    return call, loop


def _time(fn, block, min_seconds):
    start = time.perf_counter()
    block(fn())
    single = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_seconds / single))
    start = time.perf_counter()
    for _ in range(calls):
        out = fn()
    block(out)
    return (time.perf_counter() - start) / calls


def benchmark_order(p, q, num_steps, args):
    import jax
    import jax.numpy as jnp

    y, params = series(p, q, num_steps)
    names, timers, checks = [], [], {}
    candidates = [CANDIDATES[0]] if args.auto_only else list(CANDIDATES)
    candidates += [] if args.no_auto else [("auto", None)]
    loop_evals = max(5, int(2e5 / num_steps))  # about 0.4 M steps per timed loop
    for gradient, unroll in candidates:
        name = gradient if unroll is None else f"{gradient}/{unroll}"
        call, loop = jax_candidate(p, q, y, gradient, unroll)
        x = jnp.asarray(params)
        start = time.perf_counter()
        value, grad = call(x)
        jax.block_until_ready(loop(x, loop_evals))
        compile_s = time.perf_counter() - start
        checks[name] = (float(value), np.asarray(grad), compile_s)
        names.append(name)
        timers.append((lambda c=call, x=x: c(x), lambda lp=loop, x=x: lp(x, loop_evals),
                       jax.block_until_ready))
    floor = numba_forward(p, q)
    if floor is not None:
        call, loop = floor
        value, grad = call(y, params)
        loop(y, params, 2)
        checks["numba"] = (float(value), np.asarray(grad), 0.0)
        names.append("numba")
        timers.append((lambda: call(y, params), lambda: loop(y, params, loop_evals),
                       lambda out: out))
    per_call = {name: float("inf") for name in names}
    in_loop = {name: float("inf") for name in names}
    for _ in range(args.rounds):  # interleaved: each round times every candidate once
        for name, (one, many, block) in zip(names, timers, strict=True):
            per_call[name] = min(per_call[name], _time(one, block, args.min_seconds))
            in_loop[name] = min(in_loop[name],
                                _time(many, block, args.min_seconds) / loop_evals)
    ref_value, ref_grad, _ = checks["reference"]
    rows = []
    for name in names:
        value, grad, compile_s = checks[name]
        rows.append({
            "name": name, "per_call_us": per_call[name] * 1e6, "in_loop_us": in_loop[name] * 1e6,
            "compile_s": compile_s,
            "value_rel_diff": abs(value - ref_value) / abs(ref_value),
            "grad_max_rel_diff": float(np.max(np.abs(grad - ref_grad)
                                              / np.maximum(np.abs(ref_grad), 1e-12))),
        })
    return rows


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 20000])
    parser.add_argument("--orders", nargs="*", default=None,
                        help="orders as p,q (default: every p, q <= 3)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.03)
    parser.add_argument("--no-auto", action="store_true",
                        help="leave out the package's own choice (before a plan exists)")
    parser.add_argument("--auto-only", action="store_true",
                        help="time only the reference, the package's choice and numba")
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    orders = ([tuple(int(v) for v in o.split(",")) for o in args.orders] if args.orders
              else [(p, q) for p in range(4) for q in range(4)])
    results = []
    for p, q in orders:
        for num_steps in args.sizes:
            started = time.perf_counter()
            rows = benchmark_order(p, q, num_steps, args)
            results.append({"p": p, "q": q, "num_steps": num_steps, "variants": rows})
            ref = next(r for r in rows if r["name"] == "reference")
            summary = ", ".join(f"{r['name']} {r['per_call_us'] / ref['per_call_us']:.2f}/"
                                f"{r['in_loop_us'] / ref['in_loop_us']:.2f}" for r in rows)
            log(f"[orders] ARMA({p},{q}) T={num_steps} ({time.perf_counter() - started:.0f} s;"
                f" ref {ref['per_call_us']:.0f}/{ref['in_loop_us']:.0f} us): {summary}")
            write_result(args.json, {"job": "arma_orders", "results": results,
                                     "rounds": args.rounds})


if __name__ == "__main__":
    main()
