"""Shared pieces of the benchmark jobs: data, timing, versions, JSON output.

Every job is a script that prints nothing but progress to stderr and writes one JSON
document (``--json PATH``); ``run_all.py`` runs each job in its own process and builds the
report from those documents. Nothing here imports JAX at module level, so a job can set
``XLA_FLAGS`` (host device count) before JAX starts.
"""

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPTS = str(Path(__file__).resolve().parents[1])  # scripts/: the fit scripts' _cli package
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

import numpy as np  # noqa: E402
from _cli import versions as _cli_versions  # noqa: E402

#: ARMA(1, 1) parameters of the simulated series (T > 200): close to the posteriordb
#: arma11 posterior means, so every T has the same kind of posterior.
SIMULATION_PARAMS = {"mu": 0.01, "phi": 0.95, "theta": -0.03, "sigma": 0.17}
PACKAGES = ("jax", "jaxlib", "numpyro", "numpy", "arviz", "blackjax", "numba", "pymc",
            "pytensor", "nutpie")


def arma11_series(num_steps: int, seed: int = 20261125) -> np.ndarray:
    """The benchmark series, shape (T,): the posteriordb arma11 data at T = 200, else a
    simulated ARMA(1, 1) with :data:`SIMULATION_PARAMS` started the way the likelihood
    starts (pre-sample y = mu, pre-sample error 0). Pure NumPy, identical in every job."""
    if num_steps == 200:
        from models.posteriordb import load_data

        return load_data("arma-arma11")["y"]
    rng = np.random.default_rng(seed + num_steps)
    mu, phi, theta, sigma = (SIMULATION_PARAMS[k] for k in ("mu", "phi", "theta", "sigma"))
    shocks = sigma * rng.standard_normal(num_steps)
    y = np.empty(num_steps)
    y_prev, err_prev = mu, 0.0
    for t in range(num_steps):
        y[t] = mu + phi * y_prev + theta * err_prev + shocks[t]
        y_prev, err_prev = y[t], shocks[t]
    return y


def hmm_series_k3(num_steps: int = 2000, seed: int = 0) -> np.ndarray:
    """The simulated 3-state Gaussian HMM series of the HMM benchmarks, shape (T,): sticky
    transitions (0.9 on the diagonal, 0.05 off it), start in state 0, means (-3, 0, 3),
    sd 1. Pure NumPy, identical in every job."""
    rng = np.random.default_rng(seed)
    transitions = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    states = np.empty(num_steps, int)
    states[0] = 0
    for t in range(1, num_steps):
        states[t] = rng.choice(3, p=transitions[states[t - 1]])
    return np.array([-3.0, 0.0, 3.0])[states] + rng.normal(size=num_steps)


def renewal_series(num_steps: int = 200, seed: int = 20261201) -> np.ndarray:
    """The simulated epidemic of the renewal benchmark, shape (T,) counts: R_t is 1.3 for
    40 days, falls linearly to 0.8 by day 90, stays there to day 130, then
    climbs back to 1.1; seeded by 20 infections a day, gamma generation interval
    (mean 2.6, sd 1.5, discretised as EpiEstim does: the renewal family's default),
    negative-binomial counts with dispersion 0.1 (variance mu + 0.01 mu^2). Pure NumPy
    apart from the interval, identical in every job."""
    from models.renewal import resolve_interval

    interval = np.asarray(resolve_interval(None, 2.6, 1.5, None))
    days = np.arange(num_steps)
    r_t = np.interp(days, [0, 40, 90, 130, num_steps - 1], [1.3, 1.3, 0.8, 0.8, 1.1])
    lags = interval.shape[0] - 1
    history = [20.0] * lags  # oldest first
    infections = np.empty(num_steps)
    for t in range(num_steps):
        recent = np.asarray(history[-lags:])[::-1]  # newest first
        infections[t] = r_t[t] * float(interval[1:] @ recent)
        history.append(infections[t])
    rng = np.random.default_rng(seed)
    concentration = 1.0 / 0.1**2
    rates = rng.gamma(concentration, infections / concentration)
    return rng.poisson(rates).astype(float)


def versions() -> dict[str, str]:
    """Installed versions of the packages the report names; absent ones say so (the fit
    scripts' ``_cli.versions`` with this list, and no OS: :func:`machine` names it)."""
    return _cli_versions(PACKAGES, include_os=False)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in load]}


def best_time_per_call(fn: Callable[[], Any], *, repeats: int, min_seconds: float = 0.05,
                       block: Callable[[Any], Any] = lambda x: x) -> float:
    """Seconds per call of ``fn`` (already warmed up): best over ``repeats`` batches, each
    batch long enough (``min_seconds``) that the clock's resolution does not matter. The
    best, not the mean, because other processes on a shared machine only ever add time."""
    start = time.perf_counter()
    block(fn())
    single = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_seconds / single))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            out = fn()
        block(out)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def job_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, required=True, help="where to write the result")
    return parser


def write_result(path: Path, result: dict[str, Any]) -> None:
    result = {**result, "machine": machine(), "versions": versions(),
              "argv": sys.argv[1:], "python_executable": sys.executable}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=float))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def arma_candidate_loglik(y, p: int, q: int, gradient: str, unroll: int | None):
    """Conditional ARMA(p, q) log-likelihood of one parameter vector (mu, phi, theta,
    sigma), shape (2 + p + q,), by one formulation: ``"reference"`` (the plain two-buffer
    scan), ``"auto"`` (the fast path's plan) or a fast-path ``gradient`` at ``unroll``."""
    import jax.numpy as jnp

    from models.arma.conditional import arma_conditional_loglik
    from models.arma.conditional_fast import arma_fast_conditional_loglik

    y = jnp.asarray(y)

    def loglik(params):
        args = (y, params[0], params[1:1 + p], params[1 + p:1 + p + q], params[1 + p + q])
        if gradient == "reference":
            return arma_conditional_loglik(*args)
        if gradient == "auto":
            return arma_fast_conditional_loglik(*args)
        return arma_fast_conditional_loglik(*args, gradient=gradient, unroll=unroll)

    return loglik
