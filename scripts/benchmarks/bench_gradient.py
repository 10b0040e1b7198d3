"""Job 1: log-density + gradient of the conditional ARMA(1, 1) likelihood, one T.

Variants, all returning the value and the gradient w.r.t. (mu, phi, theta, sigma), where mu
is the intercept of the recursion (the conditional functions' ``intercept`` argument):

* ``reference``: :func:`models.arma.arma_conditional_loglik`, one scan with two lag buffers,
  differentiated by JAX;
* ``forward sensitivities unroll=k``:
  :func:`models.arma.conditional_fast.arma_fast_conditional_loglik`
  with ``gradient="sensitivities"``: AR part vectorised, one MA scan that carries the
  derivatives along (no backward pass); k = 1, 4, 8, 16;
* ``ma-scan autodiff unroll=k``: the same function with ``gradient="autodiff"``: JAX's
  reverse mode of the MA-only scan; k = 1, 4, 8, 16;
* ``ma-scan custom VJP unroll=k``: ``gradient="adjoint"``, the hand-written
  reverse-recurrence backward pass; k = 4, 8;
  the variant with the package defaults (``DEFAULT_GRADIENT`` and its ``DEFAULT_UNROLL``,
  what ``arma_fast_model`` uses) is marked ``(default)``;
* ``numba floor``: a hand-written loop and its analytic adjoint compiled by numba, the
  practical floor the issue names (skipped, with the reason in the result, when numba is
  not installed);
* ``numba forward sensitivities``: the same forward-sensitivity algorithm as the package's
  default, hand-written in numba: the floor for *that* algorithm, so the report can say
  how far XLA is from it.

Two timings per variant:

* ``in_loop_us``: per evaluation inside one compiled loop of N evaluations (``fori_loop``
  for JAX, a numba loop for numba), each step feeding the next; this is what a sampler's
  leapfrog loop sees;
* ``per_call_us``: one call from Python, dispatch overhead included.

Every variant's value and gradient are compared with the reference's and the largest
relative difference is in the result, so the job cannot time a wrong computation quietly.

    python scripts/benchmarks/bench_gradient.py --num-steps 2000 --json out.json
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    SIMULATION_PARAMS,
    arma11_series,
    best_time_per_call,
    job_parser,
    log,
    write_result,
)

FLOOR_NAME = "numba floor (hand-written loop, analytic adjoint)"
FORWARD_FLOOR_NAME = "numba forward sensitivities (hand-written loop)"


def adjoint_value_and_grad(y, mu, phi, theta, sigma, errors, grad):
    """ARMA(1, 1) value and gradient: the loop, then its analytic adjoint backwards."""
    # forward: e_t = y_t - mu - phi y_{t-1} - theta e_{t-1}; y_{-1} = mu, e_{-1} = 0
    n = y.shape[0]
    y_prev, e_prev, sum_sq = mu, 0.0, 0.0
    for t in range(n):
        e = y[t] - mu - phi * y_prev - theta * e_prev
        errors[t] = e
        sum_sq += e * e
        y_prev, e_prev = y[t], e
    inv_var = 1.0 / (sigma * sigma)
    value = -0.5 * sum_sq * inv_var - n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi)
    # backward: lam_t = -e_t / sigma^2 - theta lam_{t+1} (reverse linear recurrence)
    lam_next, d_mu, d_phi, d_theta = 0.0, 0.0, 0.0, 0.0
    for t in range(n - 1, -1, -1):
        lam = -errors[t] * inv_var - theta * lam_next
        y_lag = y[t - 1] if t > 0 else mu
        e_lag = errors[t - 1] if t > 0 else 0.0
        d_mu -= lam
        d_phi -= lam * y_lag
        d_theta -= lam * e_lag
        lam_next = lam
    d_mu -= lam_next * phi  # y_{-1} = mu also enters through phi
    grad[0], grad[1], grad[2] = d_mu, d_phi, d_theta
    grad[3] = sum_sq * inv_var / sigma - n / sigma
    return value


def forward_value_and_grad(y, mu, phi, theta, sigma, errors, grad):
    """ARMA(1, 1) value and gradient by forward sensitivities: one loop, nothing stored
    (``errors`` is unused)."""
    # e_t and its derivatives in (mu, phi, theta), carried forward; no stored errors
    n = y.shape[0]
    y_prev, e, e_mu, e_phi, e_theta = mu, 0.0, 0.0, 0.0, 0.0
    sum_sq, g_mu, g_phi, g_theta = 0.0, 0.0, 0.0, 0.0
    for t in range(n):
        new_e = y[t] - mu - phi * y_prev - theta * e
        e_theta = -e - theta * e_theta
        e_mu = (-1.0 - phi if t == 0 else -1.0) - theta * e_mu
        e_phi = -y_prev - theta * e_phi
        e = new_e
        sum_sq += e * e
        g_mu += e * e_mu
        g_phi += e * e_phi
        g_theta += e * e_theta
        y_prev = y[t]
    inv_var = 1.0 / (sigma * sigma)
    value = -0.5 * sum_sq * inv_var - n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi)
    grad[0], grad[1], grad[2] = -g_mu * inv_var, -g_phi * inv_var, -g_theta * inv_var
    grad[3] = sum_sq * inv_var / sigma - n / sigma
    return value


def numba_variant(y: np.ndarray, value_and_grad):
    """(one call, in-loop driver) of ``value_and_grad`` compiled by numba, or the reason
    numba cannot provide them."""
    try:
        import numba
    except ImportError as error:
        return None, f"numba is not importable here ({error})"
    compiled = numba.njit(cache=False, fastmath=False)(value_and_grad)
    errors, grad = np.empty_like(y), np.empty(4)
    return _numba_drivers(numba, compiled, y, errors, grad), None


def _numba_drivers(numba, value_and_grad, y, errors, grad):
    """(one call, in-loop driver) for a numba value-and-gradient function."""

    @numba.njit(cache=False)
    def in_loop(y, params, num_evals, errors, grad):
        mu, phi, theta, sigma = params[0], params[1], params[2], params[3]
        total = 0.0
        for _ in range(num_evals):
            total += value_and_grad(y, mu, phi, theta, sigma, errors, grad)
            # feed each gradient into the next point, as a leapfrog step does
            mu += 1e-12 * np.tanh(grad[0])
            phi += 1e-12 * np.tanh(grad[1])
        return total

    def call(params):
        value = value_and_grad(y, params[0], params[1], params[2], params[3], errors, grad)
        return value, grad.copy()

    def loop(params, num_evals):
        return in_loop(y, params, num_evals, errors, grad)

    return call, loop


def jax_variants(y: np.ndarray):
    import jax
    import jax.numpy as jnp
    from jax import lax

    from models.arma.conditional import arma_conditional_loglik
    from models.arma.conditional_fast import (
        DEFAULT_GRADIENT,
        DEFAULT_UNROLL,
        arma_fast_conditional_loglik,
    )

    y = jnp.asarray(y)

    def flat(loglik):
        def value_and_grad(params):
            def f(params):
                return loglik(y, params[0], params[1:2], params[2:3], params[3])

            return jax.value_and_grad(f)(params)

        call = jax.jit(value_and_grad)

        @partial_jit_static_evals
        def loop(params, num_evals):
            def body(_, carry):
                params, total = carry
                value, grad = value_and_grad(params)
                nudge = jnp.zeros(4).at[:2].set(1e-12 * jnp.tanh(grad[:2]))
                return params + nudge, total + value

            return lax.fori_loop(0, num_evals, body, (params, jnp.zeros(())))[1]

        return call, loop

    def partial_jit_static_evals(fn):
        return jax.jit(fn, static_argnums=1)

    variants = {"reference (models.arma, two-buffer scan)": flat(arma_conditional_loglik)}
    kinds = (("sensitivities", "forward sensitivities", (1, 4, 8, 16)),
             ("autodiff", "ma-scan autodiff", (1, 4, 8, 16)),
             ("adjoint", "ma-scan custom VJP", (4, 8)))
    for gradient, kind, unrolls in kinds:
        for unroll in unrolls:
            default = gradient == DEFAULT_GRADIENT and unroll == DEFAULT_UNROLL[gradient]
            label = f"{kind} unroll={unroll}" + (" (default)" if default else "")
            variants[label] = flat(
                lambda *a, u=unroll, g=gradient: arma_fast_conditional_loglik(
                    *a, unroll=u, gradient=g))
    return variants


def measure(kind, call, loop, params, args):
    """Value, gradient, first-call seconds, per-call and in-loop seconds of one variant."""
    if kind == "jax":
        import jax
        import jax.numpy as jnp

        x = jnp.asarray(params)
        block = jax.block_until_ready
    else:
        x = params

        def block(out):
            return out

    start = time.perf_counter()
    value, grad = call(x)
    value, grad = float(value), np.asarray(grad)
    probe_evals = 10
    block(loop(x, probe_evals))
    compile_s = time.perf_counter() - start
    per_call = best_time_per_call(lambda: call(x), repeats=args.repeats,
                                  min_seconds=args.min_seconds, block=block)
    # N evaluations per compiled loop, N chosen once per variant so that it compiles once
    start = time.perf_counter()
    block(loop(x, probe_evals))
    probe = max((time.perf_counter() - start) / probe_evals, 1e-7)
    num_evals = max(10, int(args.min_seconds / probe))
    block(loop(x, num_evals))  # compile for this N
    in_loop = best_time_per_call(lambda: loop(x, num_evals), repeats=args.repeats,
                                 min_seconds=0.0, block=block) / num_evals
    return value, grad, compile_s, per_call, in_loop


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--num-steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.05,
                        help="length of one timed batch")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="substrings of variant names to leave out")
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    y = arma11_series(args.num_steps)
    params = np.array([SIMULATION_PARAMS[k] for k in ("mu", "phi", "theta", "sigma")])

    results, skipped = [], []
    implementations = {}
    for name, fns in jax_variants(y).items():
        if any(s in name for s in args.skip):
            skipped.append({"name": name, "reason": "left out by --skip"})
            continue
        implementations[name] = ("jax", fns)
    for floor_name, algorithm in ((FLOOR_NAME, adjoint_value_and_grad),
                                  (FORWARD_FLOOR_NAME, forward_value_and_grad)):
        floor, reason = numba_variant(y, algorithm)
        if floor is None:
            skipped.append({"name": floor_name, "reason": reason})
        else:
            implementations[floor_name] = ("numba", floor)

    reference = None
    for name, (kind, (call, loop)) in implementations.items():
        log(f"[gradient T={args.num_steps}] {name}")
        value, grad, compile_s, per_call, in_loop = measure(kind, call, loop, params, args)
        if reference is None:
            reference = (value, grad)
        value_diff = abs(value - reference[0]) / abs(reference[0])
        grad_diff = float(np.max(np.abs(grad - reference[1]) / np.maximum(
            np.abs(reference[1]), 1e-300)))
        results.append({"name": name, "kind": kind, "per_call_us": per_call * 1e6,
                        "in_loop_us": in_loop * 1e6, "compile_s": compile_s,
                        "value": value, "grad": grad.tolist(),
                        "value_rel_diff_vs_reference": value_diff,
                        "grad_max_rel_diff_vs_reference": grad_diff})
        log(f"    in loop {in_loop * 1e6:.1f} us, per call {per_call * 1e6:.1f} us, "
            f"value diff {value_diff:.1e}, grad diff {grad_diff:.1e}")

    write_result(args.json, {"job": "gradient", "num_steps": args.num_steps,
                             "repeats": args.repeats, "variants": results,
                             "skipped": skipped})


if __name__ == "__main__":
    main()
