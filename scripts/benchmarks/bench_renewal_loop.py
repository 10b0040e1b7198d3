"""Why the renewal model is a scan: the same log density written the course's way -- a
Python loop over days, one ``numpyro.sample`` site per day -- against
:func:`models.renewal.renewal_model`'s scan, measured as compile time plus the time of
``--evals`` gradient evaluations of the potential energy (what NUTS spends its time on).

``python scripts/benchmarks/bench_renewal_loop.py [--days T] [--evals N]``

Both models: R_t by a daily random walk, negative-binomial counts, the Flu2009 serial
interval; the two potential energies are compared at the same point (printed).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import init_to_median
from numpyro.infer.util import initialize_model

from models.renewal import (
    IntegratedRandomWalk,
    interval_mean,
    renewal_model,
    resolve_interval,
)
from models.sir.counts import NegativeBinomial2Counts

INTERVAL = resolve_interval(None, 2.6, 1.5, None)


def loop_model(y, *, interval=INTERVAL, rw_scale=0.2, seed_loc=3.0):
    """renewal_model(step=1) with the days in a Python loop and one site per day (the
    same sites for R_t: the random walk of log R_t as its level, IntegratedRandomWalk)."""
    r_shape = np.log1p(1.0)
    log_seed = numpyro.sample("log_seed", dist.Normal(seed_loc, 1.0))
    rw_sd = numpyro.sample("rw_sd", dist.HalfNormal(rw_scale))
    walk = IntegratedRandomWalk(log_seed, 1.0 / interval_mean(interval),
                                np.log(5.0) - r_shape / 2, np.sqrt(r_shape), rw_sd, len(y))
    level = numpyro.sample("log_level", walk)
    log_r = walk.log_reproduction(level)
    dispersion = numpyro.sample("dispersion", dist.HalfNormal(1.0))
    history = [jnp.exp(log_seed)] * (len(interval) - 1)
    for t in range(len(y)):
        infections = jnp.exp(log_r[t]) * sum(interval[s] * history[-s]
                                             for s in range(1, len(interval)))
        history.append(infections)
        # the renewal family's negative binomial (NumPyro's law, log-gamma log-density)
        numpyro.sample(f"y_{t}", NegativeBinomial2Counts(jnp.maximum(infections, 1e-10),
                                                         1.0 / dispersion**2), obs=y[t])


def timed_gradients(model, kwargs, evals):
    info, potential, _, _ = initialize_model(jax.random.PRNGKey(0), model,
                                             model_kwargs=kwargs,
                                             init_strategy=init_to_median)
    gradient = jax.jit(jax.value_and_grad(potential))
    start = time.perf_counter()
    jax.block_until_ready(gradient(info.z))
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(evals):
        out = gradient(info.z)
    jax.block_until_ready(out)
    return info.z, potential, compile_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--evals", type=int, default=1000)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    y = np.random.default_rng(0).poisson(50, args.days).astype(float)
    scan_kwargs = {"y": y, "generation_interval": INTERVAL, "step": 1, "seed_loc": 3.0}
    z, scan_potential, scan_compile, scan_run = timed_gradients(renewal_model, scan_kwargs,
                                                                args.evals)
    _, loop_potential, loop_compile, loop_run = timed_gradients(loop_model, {"y": y},
                                                                args.evals)
    same = abs(float(scan_potential(z)) - float(loop_potential(z)))
    print(f"T = {args.days} days, {args.evals} gradient evaluations; |potential energy "
          f"difference| = {same:.1e}")
    print(f"scan: compile {scan_compile:.2f} s, run {scan_run:.2f} s")
    print(f"loop: compile {loop_compile:.2f} s, run {loop_run:.2f} s")
    ratio = (loop_compile + loop_run) / (scan_compile + scan_run)
    print(f"loop / scan, compile + run: {ratio:.1f}")


if __name__ == "__main__":
    main()
