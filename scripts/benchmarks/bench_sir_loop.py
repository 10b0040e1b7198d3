"""The SIR model written two ways, timed under NUTS: the course's way (a Python ``for`` loop
over days, one ``numpyro.sample`` site per day, N = 763 written into the model) and this
package's (:func:`models.sir.sir_model`: the ODE in one ``lax.scan``, one vector site, N as
data). Both use the same RK4 step (4 steps a day) and the same priors, so they define the
same density (the script checks their potential energies agree to 1e-8) and prints, for
the gradient NUTS evaluates at every leapfrog step, the compile time, the time per
evaluation, and compile plus a run of ``--evaluations`` gradients, with the ratios.

Usage::

    python scripts/benchmarks/bench_sir_loop.py [--evaluations 20000] [--substeps 4]

(Running NUTS itself on the loop version at T = 14 took over 13 minutes and 5.7 GB before
it was stopped, on a loaded 2-core machine; the scan version's whole fit takes about a
minute there.)
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer import init_to_value
from numpyro.infer.util import initialize_model

from models.sir import SUBSTEPS, sir_model
from models.sir.counts import NegativeBinomial2Counts
from models.sir.family import FAMILY
from patterns.ode import rk4_step

IN_BED = (3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4)


def course_style_model(cases=None, substeps: int = SUBSTEPS) -> None:
    """The loop the course writes: N fixed inside, one RK4 day and one sample site per
    iteration of a Python ``for`` (the traced program grows with the number of days)."""
    n = 763.0  # hard-coded, as in the course's chapter
    beta = numpyro.sample("beta", dist.TruncatedNormal(2.0, 1.0, low=0.0))
    gamma = numpyro.sample("gamma", dist.TruncatedNormal(0.4, 0.5, low=0.0))
    phi_inv = numpyro.sample("phi_inv", dist.Exponential(5.0))

    def rhs(t, y, args):
        infections = beta * y[0] * y[1] / n
        return jnp.stack([-infections, infections - gamma * y[1], gamma * y[1]])

    state = jnp.array([n - 1.0, 1.0, 0.0])
    for day in range(len(cases)):
        for step in range(substeps):
            state = rk4_step(rhs, day + step / substeps, state, 1.0 / substeps)
        # the SIR family's negative binomial (NumPyro's law, scored by log-gamma terms: NumPyro's
        # betaln is 5e-7 nats per count off, which the density check below would see)
        numpyro.sample(f"y_{day + 1}", NegativeBinomial2Counts(jnp.maximum(state[1], 1e-6),
                                                               1.0 / phi_inv), obs=cases[day])


#: (beta, gamma, phi_inv) where both versions' potential energies are compared and timed:
#: near the posterior mean
POINT = (1.73, 0.54, 0.14)


def start_values(model) -> dict:
    """:data:`POINT` as the model's latent sites: three scalar sites for the course's loop,
    the package model's one vector site ``theta`` (:mod:`models.sir.priors`)."""
    if model is course_style_model:
        return dict(zip(("beta", "gamma", "phi_inv"), POINT, strict=True))
    return {"theta": jnp.array(POINT)}


def compile_and_run(model, args: tuple, kwargs: dict, evaluations: int
                    ) -> tuple[float, float, float]:
    """(potential energy at :data:`POINT`, compile seconds, seconds per evaluation) of
    ``jax.value_and_grad`` of the model's potential energy: what NUTS evaluates at every
    leapfrog step."""
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=args,
                            model_kwargs=kwargs, init_strategy=init_to_value(
                                values=start_values(model)))
    params = info.param_info.z
    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(info.potential_fn)).lower(params).compile()
    compile_s = time.perf_counter() - start
    value, _ = jax.block_until_ready(compiled(params))
    start = time.perf_counter()
    for _ in range(evaluations):
        out = compiled(params)
    jax.block_until_ready(out)
    return float(value), compile_s, (time.perf_counter() - start) / evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=20_000,
                        help="gradient evaluations counted as the run (20000: about a "
                        "4-chain fit of 1000 + 1000 draws at 2-3 leapfrog steps each)")
    parser.add_argument("--substeps", type=int, default=SUBSTEPS,
                        help=f"RK4 steps a day, both versions (default {SUBSTEPS})")
    args = parser.parse_args()
    numpyro.enable_x64()
    population = FAMILY.default_data.options["population"]
    timing_runs = 200
    loop_value, loop_compile, loop_eval = compile_and_run(
        course_style_model, ([float(v) for v in IN_BED],), {"substeps": args.substeps},
        timing_runs)
    scan_value, scan_compile, scan_eval = compile_and_run(
        sir_model, (jnp.asarray(IN_BED, dtype=jnp.float64),),
        {"population": population, "substeps": args.substeps}, timing_runs)
    if abs(loop_value - scan_value) > 1e-8 * abs(scan_value):
        raise SystemExit(f"the two models differ: {loop_value} vs {scan_value}")
    n = args.evaluations
    loop_total, scan_total = loop_compile + n * loop_eval, scan_compile + n * scan_eval
    print(f"same potential energy at (beta, gamma, phi_inv) = {POINT}: {scan_value:.10g}")
    print(f"T = {len(IN_BED)} days, {args.substeps} RK4 steps a day, float64, "
          f"{jax.default_backend()}")
    print(f"{'':34} {'compile s':>10} {'us/grad':>9} {f'compile + {n} grads s':>24}")
    print(f"{'Python loop, one site per day':34} {loop_compile:10.2f} {loop_eval * 1e6:9.1f} "
          f"{loop_total:24.2f}")
    print(f"{'lax.scan, one vector site':34} {scan_compile:10.2f} {scan_eval * 1e6:9.1f} "
          f"{scan_total:24.2f}")
    print(f"ratio loop / scan: compile {loop_compile / scan_compile:.1f}x, "
          f"per gradient {loop_eval / scan_eval:.2f}x, together {loop_total / scan_total:.1f}x")


if __name__ == "__main__":
    main()
