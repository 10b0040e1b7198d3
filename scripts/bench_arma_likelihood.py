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
    OPENBLAS_NUM_THREADS=1 python scripts/bench_arma_likelihood.py --order 1 1 --missing 0.01 0.05

``--missing F [F ...]`` times, instead, series with a fraction F of values missing at
random (and the last one, so that no steady state is reached): the exact likelihood's value
+ gradient (the series closed over, as a fit runs it, and as a jit argument) against the
conditional fast path on the same series with the gaps filled by 0
(the cost of a complete series), one statsmodels ``loglike`` call (value only, its Cython
Kalman filter; set ``OPENBLAS_NUM_THREADS=1``), and a numba loop of the same computation
(the full filter with forward sensitivities; skipped when numba is missing). Timed by
process CPU time, which a loaded machine distorts less than wall time.

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
    parser.add_argument("--missing", type=float, nargs="+", default=None, metavar="F",
                        help="time series with these fractions of values missing instead")
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


def numba_exact_with_gaps():
    """The exact log-likelihood and its gradient w.r.t. (mu, phi, theta, sigma) by the full
    Kalman filter with forward sensitivities, a plain loop compiled by numba: the floor for
    the same computation as the package's gap path. None when numba is missing."""
    try:
        import numba
    except ImportError:
        return None
    import numpy as np

    @numba.njit(cache=False)
    def run(y, observed, mu, phi_padded, loading, P0, dP0, p, q):
        r = phi_padded.shape[0]
        n = 1 + p + q
        d_phi = np.zeros((n, r))
        d_loading = np.zeros((n, r))
        for i in range(p):
            d_phi[1 + i, i] = 1.0
        for j in range(q):
            d_loading[1 + p + j, 1 + j] = 1.0
        a = np.zeros(r)
        P = P0.copy()
        da = np.zeros((n, r))
        dP = dP0.copy()
        quad = 0.0
        logf = 0.0
        dquad = np.zeros(n)
        dlogf = np.zeros(n)
        num_observed = 0
        af = np.zeros(r)
        Pf = np.zeros((r, r))
        daf = np.zeros((n, r))
        dPf = np.zeros((n, r, r))
        M = np.zeros((r, r))
        dM = np.zeros((n, r, r))
        for t in range(y.shape[0]):
            if observed[t]:
                num_observed += 1
                F = P[0, 0]
                v = y[t] - mu - a[0]
                quad += v * v / F
                logf += np.log(F)
                for k in range(n):
                    dF = dP[k, 0, 0]
                    dv = -da[k, 0] - (1.0 if k == 0 else 0.0)
                    dquad[k] += 2.0 * v * dv / F - v * v * dF / (F * F)
                    dlogf[k] += dF / F
                    dg = -dF / (F * F)
                    for i in range(r):
                        daf[k, i] = (da[k, i] + (dg * v + dv / F) * P[i, 0]
                                     + v / F * dP[k, i, 0])
                        for j in range(r):
                            dPf[k, i, j] = (dP[k, i, j] - dg * P[i, 0] * P[0, j]
                                            - (dP[k, i, 0] * P[0, j] + P[i, 0] * dP[k, 0, j]) / F)
                for i in range(r):
                    af[i] = a[i] + P[i, 0] * v / F
                    for j in range(r):
                        Pf[i, j] = P[i, j] - P[i, 0] * P[0, j] / F
            else:
                af[:] = a
                Pf[:, :] = P
                daf[:, :] = da
                dPf[:, :, :] = dP
            # a = Tm af, P = Tm Pf Tm' + R R', and their derivatives
            for i in range(r):
                a[i] = phi_padded[i] * af[0] + (af[i + 1] if i + 1 < r else 0.0)
                for j in range(r):
                    M[i, j] = phi_padded[i] * Pf[0, j] + (Pf[i + 1, j] if i + 1 < r else 0.0)
            for k in range(n):
                for i in range(r):
                    da[k, i] = (d_phi[k, i] * af[0] + phi_padded[i] * daf[k, 0]
                                + (daf[k, i + 1] if i + 1 < r else 0.0))
                    for j in range(r):
                        dM[k, i, j] = (d_phi[k, i] * Pf[0, j] + phi_padded[i] * dPf[k, 0, j]
                                       + (dPf[k, i + 1, j] if i + 1 < r else 0.0))
            for i in range(r):
                for j in range(r):
                    P[i, j] = (M[i, 0] * phi_padded[j] + (M[i, j + 1] if j + 1 < r else 0.0)
                               + loading[i] * loading[j])
                    for k in range(n):
                        dP[k, i, j] = (dM[k, i, 0] * phi_padded[j] + M[i, 0] * d_phi[k, j]
                                       + (dM[k, i, j + 1] if j + 1 < r else 0.0)
                                       + d_loading[k, i] * loading[j]
                                       + loading[i] * d_loading[k, j])
        return quad, logf, dquad, dlogf, num_observed

    def loglik_and_grad(y, mu, phi, theta, sigma, P0, dP0):
        p, q = phi.shape[0], theta.shape[0]
        r = P0.shape[0]
        phi_padded = np.zeros(r)
        phi_padded[:p] = phi
        loading = np.zeros(r)
        loading[0] = 1.0
        loading[1 : q + 1] = theta
        observed = ~np.isnan(y)
        quad, logf, dquad, dlogf, n_obs = run(np.where(observed, y, 0.0), observed, mu,
                                              phi_padded, loading, P0, dP0, p, q)
        s2 = sigma**2
        value = -0.5 * (n_obs * (np.log(2 * np.pi) + np.log(s2)) + logf + quad / s2)
        grad = -0.5 * (dlogf + dquad / s2)
        return value, grad, -n_obs / sigma + quad / sigma**3

    return loglik_and_grad


def _cpu_seconds(fn: Callable[[], object], number: int, repeats: int) -> float:
    import time

    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


def benchmark_missing(args: argparse.Namespace) -> list[dict]:
    """One row per (T, fraction missing): CPU seconds per call of each variant."""
    import warnings

    import jax
    import jax.numpy as jnp
    import numpy as np
    from statsmodels.tsa.arima.model import ARIMA

    from models.arma import ARMA, arma_exact_loglik, arma_fast_conditional_loglik
    from models.arma.exact import arma_state_space

    p, q = args.order
    mu, phi, theta, sigma = _parameters(p, q, args.theta)
    intercept = mu * (1.0 - phi.sum())
    floor = numba_exact_with_gaps()
    rows = []
    with jax.enable_x64(True):
        exact = jax.jit(jax.value_and_grad(arma_exact_loglik, argnums=(1, 2, 3, 4)))
        reference = jax.jit(jax.value_and_grad(
            lambda *a: arma_exact_loglik(*a, method="sequential"), argnums=(1, 2, 3, 4)))
        conditional = jax.jit(jax.value_and_grad(arma_fast_conditional_loglik,
                                                 argnums=(1, 2, 3, 4)))
        params = tuple(jnp.asarray(a) for a in (phi, theta, sigma))
        # the numba loop works with sigma = 1 (the covariance scales with sigma^2)
        P0 = np.asarray(arma_state_space(mu, *params[:2], 1.0).initial_cov)
        dP0 = np.stack([np.zeros_like(P0)] + [
            np.asarray(jax.jvp(lambda ph, th: arma_state_space(mu, ph, th, 1.0).initial_cov,
                               (params[0], params[1]),
                               (jnp.eye(p + q)[k, :p], jnp.eye(p + q)[k, p:]))[1])
            for k in range(p + q)])
        for num_steps in args.sizes:
            complete = np.asarray(ARMA(mu, *params, num_steps=num_steps).sample(
                jax.random.PRNGKey(num_steps)))
            for fraction in args.missing:
                rng = np.random.default_rng(int(1000 * fraction) + num_steps)
                y = complete.copy()
                if fraction:  # 0: the complete series
                    y[rng.random(num_steps) < fraction] = np.nan
                    y[-1] = np.nan
                inputs = (jnp.asarray(y), jnp.asarray(mu), *params)
                # What a fit runs: the series closed over (NumPyro passes data that way), so
                # its gaps are known at trace time and the clustered route is taken.
                closed = jax.jit(jax.value_and_grad(
                    lambda *a, y=y: arma_exact_loglik(y, *a), argnums=(0, 1, 2, 3)))
                routes = {name: jax.jit(jax.value_and_grad(
                    lambda *a, y=y, name=name: arma_exact_loglik(y, *a, method=name),
                    argnums=(0, 1, 2, 3))) for name in ("onepass", "ao")}
                value, grads = closed(*inputs[1:])
                for route in routes.values():
                    route_value, route_grads = route(*inputs[1:])
                    route_diff = max([abs(float(route_value - value)) / abs(float(value))] + [
                        float(jnp.max(jnp.abs(a - b) / jnp.maximum(jnp.abs(b), 1e-10)))
                        for a, b in zip(route_grads, grads, strict=True) if a.size])
                    if route_diff > 1e-8:
                        raise RuntimeError(f"the exact routes differ: {route_diff}")
                traced_value, _ = exact(*inputs)  # y an argument: the full filter
                check, check_grads = reference(*inputs)
                rel_diff = max([abs(float(value - check)) / abs(float(check)),
                                abs(float(traced_value - check)) / abs(float(check))] + [
                    float(jnp.max(jnp.abs(a - b) / jnp.abs(b))) for a, b in
                    zip(grads, check_grads, strict=True) if a.size])
                if rel_diff > 1e-8:
                    raise RuntimeError(f"exact with gaps differs from the full filter: {rel_diff}")
                filled = (jnp.asarray(np.nan_to_num(y)), jnp.asarray(intercept), *params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = ARIMA(y, order=(p, 0, q), trend="c")
                sm_params = np.r_[mu, phi, theta, sigma**2]
                sm_value = model.loglike(sm_params)
                if abs(sm_value - float(value)) > 1e-8 * abs(sm_value):
                    raise RuntimeError(f"statsmodels {sm_value} vs {float(value)}")
                times = {
                    "exact": _cpu_seconds(
                        lambda f=closed, a=inputs[1:]: jax.block_until_ready(f(*a)),
                        args.number, args.repeats),
                    "exact_traced": _cpu_seconds(
                        lambda a=inputs: jax.block_until_ready(exact(*a)),
                        args.number, args.repeats),
                    **{name: _cpu_seconds(
                        lambda f=route, a=inputs[1:]: jax.block_until_ready(f(*a)),
                        args.number, args.repeats) for name, route in routes.items()},
                    "conditional_fast": _cpu_seconds(
                        lambda a=filled: jax.block_until_ready(conditional(*a)),
                        args.number, args.repeats),
                    "statsmodels": _cpu_seconds(lambda m=model, a=sm_params: m.loglike(a),
                                                max(1, args.number // 4), args.repeats),
                }
                if floor is not None:
                    nb_value, nb_grad, nb_grad_sigma = floor(y, mu, phi, theta, sigma, P0, dP0)
                    jax_grad = np.r_[grads[0], grads[1], grads[2], grads[3]]
                    nb_diff = np.abs(np.r_[nb_grad, nb_grad_sigma] - jax_grad)
                    if (abs(nb_value - float(value)) > 1e-8 * abs(nb_value)
                            or np.any(nb_diff > 1e-8 * np.maximum(np.abs(jax_grad), 1.0))):
                        raise RuntimeError(f"numba {nb_value} vs {float(value)}, {nb_diff}")
                    times["numba"] = _cpu_seconds(
                        lambda y=y: floor(y, mu, phi, theta, sigma, P0, dP0),
                        args.number, args.repeats)
                rows.append({"T": num_steps, "missing": fraction,
                             "observed": int(np.sum(~np.isnan(y))), "rel_diff": rel_diff,
                             **{f"{k}_s": v for k, v in times.items()}})
    return rows


def render_missing(rows: list[dict], args: argparse.Namespace) -> str:
    import os

    p, q = args.order
    lines = [
        f"# Exact ARMA({p}, {q}) log-likelihood with values missing at random (float64)",
        "",
        f"Process CPU time per call, best of {args.repeats} rounds of {args.number} calls; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
        f"load average {os.getloadavg()[0]:.1f}. exact, conditional fast and numba: value "
        "+ gradient; statsmodels: value only. exact: the series closed over (as NumPyro "
        "passes data); exact, y traced: y a jit argument (the one-pass route); onepass, ao: "
        "the series closed over, `method=` forcing that route (the default picks one: "
        "`models.arma.exact.AO_WORK_RATIO`).",
        "",
        "| T | missing | m | exact µs | / conditional fast | / statsmodels | / numba | "
        "onepass µs | ao µs | ao / conditional fast | ao / statsmodels | "
        "conditional fast µs | statsmodels µs | numba µs | exact, y traced µs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        nb = row.get("numba_s")
        lines.append(
            f"| {row['T']} | {100 * row['missing']:g} % | {row['T'] - row['observed']} | "
            f"{1e6 * row['exact_s']:.0f} | "
            f"{row['exact_s'] / row['conditional_fast_s']:.1f} | "
            f"{row['exact_s'] / row['statsmodels_s']:.2f} | "
            + (f"{row['exact_s'] / nb:.1f} | " if nb else "- | ")
            + f"{1e6 * row['onepass_s']:.0f} | {1e6 * row['ao_s']:.0f} | "
            + f"{row['ao_s'] / row['conditional_fast_s']:.1f} | "
            + f"{row['ao_s'] / row['statsmodels_s']:.2f} | "
            + f"{1e6 * row['conditional_fast_s']:.0f} | {1e6 * row['statsmodels_s']:.0f} | "
            + (f"{1e6 * nb:.0f} |" if nb else "- |")
            + f" {1e6 * row['exact_traced_s']:.0f} |")
    return "\n".join(lines) + "\n"


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
    if args.missing:
        rows = benchmark_missing(args)
        table = render_missing(rows, args)
    else:
        rows = benchmark(args)
        table = render(rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    print(table)
    return rows


if __name__ == "__main__":
    main(parse_args())
