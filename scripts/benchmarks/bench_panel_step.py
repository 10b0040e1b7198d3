"""Where the cost of a batched leapfrog step of ``fit_independent`` lives (REPORT section 7.2).

Two measurements, side by side in one process, conditional ARMA(1, 1), float64:

* ``potential``: value + gradient of the panel potential (``models.panel.panel_potential``,
  the function the sampler differentiates) under ``vmap`` over N chains, called ``--reps``
  times inside one compiled ``fori_loop`` (no dispatch), best of three; for every width N of
  ``--widths``, length T of ``--lengths`` and formulation of the conditional likelihood
  (:data:`FORMULATIONS`: the reference two-buffer scan, the fast path's forward-sensitivity
  scan at several unrolls, its autodiff scan, and the MA recursion by
  ``lax.associative_scan``).
* ``--nuts-series S ...``: the sampler itself (``independent_sampler``, 2 chains per series,
  dense mass, ``--nuts-iterations`` warm-up and as many draws), run twice (the second run is
  timed: no compilation), divided by the batched leapfrog steps (the sum over iterations of
  the deepest tree of the batch): milliseconds per batched step, for a 4-dimensional
  standard normal (NUTS's own machinery, the likelihood free) and for ARMA(1, 1) with the
  formulations of ``--nuts-formulations``.

Prints one line per figure; ``--json PATH`` writes them with the load average.

    python scripts/benchmarks/bench_panel_step.py --widths 1 50 200 2000 --lengths 200 \\
        --nuts-series 25 100 --json panel_step.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from jax import Array, lax  # noqa: E402
from numpyro.primitives import Messenger  # noqa: E402

from models.arma import ConditionalARMA, arma_fast_conditional_loglik, arma_model  # noqa: E402
from models.arma.checks import check_conditional_args  # noqa: E402
from patterns import normal_loglik_from_sum_of_squares  # noqa: E402
from patterns.parallel import linear_recurrence  # noqa: E402


def associative_loglik(y: Array, intercept: Array, phi: Array, theta: Array, sigma: Array,
                       *, initial_y: Array | None = None) -> Array:
    """The conditional ARMA(p, 1) log-likelihood with the MA recursion ``e_t = b_t - theta
    e_{t-1}`` solved by ``lax.associative_scan`` (:func:`patterns.parallel.linear_recurrence`,
    O(log T) depth); JAX differentiates it.

    Example:
        >>> import jax.numpy as jnp
        >>> from models.arma import arma_conditional_loglik
        >>> args = (jnp.array([1.0, 2.0, 0.5]), 0.2, jnp.array([0.5]), jnp.array([0.3]), 1.1)
        >>> print(abs(float(associative_loglik(*args) - arma_conditional_loglik(*args))) < 1e-12)
        True
    """
    y, c, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                          initial_y)
    if theta.shape[0] != 1:
        raise ValueError(f"associative_loglik: q must be 1, got theta of shape {theta.shape}")
    p, num_steps = phi.shape[0], y.shape[0]
    presample = jnp.full((p,), c, y.dtype) if initial_y is None else initial_y
    padded = jnp.concatenate([presample, y])
    b = y - c
    for lag in range(1, p + 1):
        b = b - phi[lag - 1] * padded[p - lag: p - lag + num_steps]
    errors = linear_recurrence(jnp.broadcast_to(-theta[0], b.shape), b, jnp.zeros((), b.dtype))
    return normal_loglik_from_sum_of_squares(jnp.sum(errors * errors), num_steps,
                                             jnp.asarray(sigma))


def with_likelihood(loglik: Any) -> Any:
    """``arma_model`` with its observed ``ConditionalARMA`` site scored by ``loglik``."""

    class Scored(ConditionalARMA):
        _loglik = staticmethod(loglik)

    class Swap(Messenger):
        def process_message(self, msg: dict) -> None:
            fn = msg.get("fn")
            if msg["type"] == "sample" and type(fn) is ConditionalARMA:
                msg["fn"] = Scored(fn.intercept, fn.phi, fn.theta, fn.sigma,
                                   num_steps=fn.num_steps, initial_y=fn.initial_y,
                                   exog=fn.exog, beta=fn.beta)

    def model(y: Any = None, **kwargs: Any) -> None:
        with Swap():
            arma_model(y, **kwargs)

    return model


def _fast(gradient: str, unroll: int) -> Any:
    return with_likelihood(partial(arma_fast_conditional_loglik, gradient=gradient,
                                   unroll=unroll))


#: name -> the conditional ARMA model scored that way. "fast path (planned)" is what the
#: conditional variant (``arma_fast_model``) runs for ARMA(1, 1): sensitivities, unroll 4.
FORMULATIONS = {
    "reference scan": arma_model,
    "fast path (planned): sensitivities unroll 4": _fast("sensitivities", 4),
    "sensitivities unroll 1": _fast("sensitivities", 1),
    "sensitivities unroll 8": _fast("sensitivities", 8),
    "sensitivities unroll 16": _fast("sensitivities", 16),
    "autodiff unroll 8": _fast("autodiff", 8),
    "autodiff unroll 16": _fast("autodiff", 16),
    "associative scan": with_likelihood(associative_loglik),
}


def _normal4(y: Any = None, **_: Any) -> None:
    numpyro.sample("x", dist.Normal(0.0, 1.0).expand([4]).to_event(1))
    numpyro.factor("data", 0.0 * jnp.sum(y))


def potential_cost(model: Any, y: np.ndarray, reps: int) -> tuple[float, float]:
    """(microseconds per value + gradient call of the vmapped potential, compile seconds)."""
    from models.panel import panel_model, panel_potential

    y = jnp.asarray(y)
    prepared = panel_model(model, y, static_kwargs={"order": (1, 1)})
    potential = panel_potential(prepared, y)
    params = {k: jnp.zeros((y.shape[0], *v.shape)) + 0.1 for k, v in prepared.prototype.items()}
    value_and_grad = jax.value_and_grad(lambda p: jnp.sum(potential(p)))

    @jax.jit
    def loop(p: dict) -> Any:
        def body(_: Any, carry: tuple) -> tuple:
            p, total = carry
            value, grad = value_and_grad(p)  # the next point depends on the gradient
            return jax.tree_util.tree_map(lambda a, g: a + 1e-12 * g, p, grad), total + value

        return lax.fori_loop(0, reps, body, (p, 0.0))

    start = time.perf_counter()
    jax.block_until_ready(loop(params))
    compile_s = time.perf_counter() - start
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(loop(params))
        best = min(best, time.perf_counter() - start)
    return best / reps * 1e6, compile_s


def nuts_cost(model: Any, y: np.ndarray, iterations: int) -> dict:
    """The sampler on the panel ``y`` (2 chains per series): ms per batched leapfrog step."""
    from models.arma import FAMILY
    from models.panel import NUTSSettings, independent_sampler

    y = jnp.asarray(y)
    sampler = independent_sampler(model, y, num_warmup=iterations, num_samples=iterations,
                                  num_chains=2, static_kwargs={"order": (1, 1)},
                                  init_strategy=FAMILY.init_strategy(),
                                  settings=NUTSSettings(dense_mass=True))
    start = time.perf_counter()
    jax.block_until_ready(sampler(jax.random.PRNGKey(1), y).samples)
    first = time.perf_counter() - start
    start = time.perf_counter()
    fit = sampler(jax.random.PRNGKey(1), y)
    jax.block_until_ready(fit.samples)
    run = time.perf_counter() - start
    steps = np.concatenate([np.asarray(fit.warmup_num_steps), np.asarray(fit.num_steps)], -1)
    batched = int(steps.max(axis=(0, 1)).sum())
    return {"run_s": run, "first_call_s": first, "batched_steps": batched,
            "ms_per_batched_step": run / batched * 1e3,
            "mean_leapfrog_per_iteration": float(steps.mean())}


def main() -> None:
    # here, not at import: tests import this module, and a global switch would leak into them
    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 50, 200, 2000])
    parser.add_argument("--lengths", type=int, nargs="+", default=[200])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--formulations", nargs="+", default=list(FORMULATIONS),
                        choices=list(FORMULATIONS), metavar="NAME")
    parser.add_argument("--nuts-series", type=int, nargs="*", default=[])
    parser.add_argument("--nuts-iterations", type=int, default=50)
    parser.add_argument("--nuts-formulations", nargs="+", choices=list(FORMULATIONS),
                        metavar="NAME", default=["fast path (planned): sensitivities unroll 4",
                                                 "sensitivities unroll 8", "reference scan"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from models.panel.simulate import simulate_arma_panel

    largest = max(args.widths + [2 * s for s in args.nuts_series])
    y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(0), largest, max(args.lengths)).y)
    rows: list[dict] = []

    def record(row: dict) -> None:
        row["load_average_1"] = os.getloadavg()[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            args.json.write_text(json.dumps({"job": "panel_step", "rows": rows,
                                             "devices": [str(d) for d in jax.devices()]},
                                            indent=1))

    for length in args.lengths:
        for width in args.widths:
            for name in args.formulations:  # interleaved: the load drifts
                us, compile_s = potential_cost(FORMULATIONS[name], y[:width, :length],
                                               args.reps)
                record({"what": "potential value+grad", "formulation": name, "T": length,
                        "chains": width, "us_per_call": us, "us_per_chain": us / width,
                        "compile_s": compile_s})
    for series in args.nuts_series:
        for name, model in [("4-d standard normal", _normal4)] + [
                (name, FORMULATIONS[name]) for name in args.nuts_formulations]:
            record({"what": "NUTS batched step", "formulation": name, "series": series,
                    "chains": 2 * series, "T": max(args.lengths),
                    **nuts_cost(model, y[:series, :max(args.lengths)], args.nuts_iterations)})


if __name__ == "__main__":
    main()
