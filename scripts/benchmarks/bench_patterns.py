"""Job 3: the patterns behind the package, with numbers.

* Python loop vs ``lax.scan``: a NumPyro ARMA(1, 1) model written with one sample site per
  time step in a Python loop, against ``arma_model`` (one scan); first call (trace +
  compile + run) and steady-state time of log-density + gradient.
* ``vmap`` vs a Python loop over series: the fast log-likelihood + gradient of S series.
* Chain methods: NumPyro NUTS on ``arma_fast_model``, 4 chains sequential, vectorized and
  parallel over 4 host devices.
* Sequential vs associative scan: ``patterns.sequential.linear_recurrence`` against
  ``patterns.parallel.linear_recurrence`` from T = 10^2 up.

    python scripts/benchmarks/bench_patterns.py [--quick] --json out.json
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import arma11_series, best_time_per_call, job_parser, log, write_result  # noqa: E402

CHAINS = 4


def python_loop_arma11(y):
    """ARMA(1, 1) the way a first NumPyro model is often written: a site per time step
    (``arma_model``'s priors and parameter sites, the intercept included)."""
    import numpyro
    import numpyro.distributions as dist

    intercept = numpyro.sample("intercept", dist.Normal(0.0, 10.0))
    phi = numpyro.sample("phi", dist.Normal(0.0, 2.0))
    theta = numpyro.sample("theta", dist.Normal(0.0, 2.0))
    sigma = numpyro.sample("sigma", dist.HalfCauchy(2.5))
    y_prev, err_prev = intercept, 0.0
    for t in range(y.shape[0]):
        nu = intercept + phi * y_prev + theta * err_prev
        numpyro.sample(f"y_{t}", dist.Normal(nu, sigma), obs=y[t])
        y_prev, err_prev = y[t], y[t] - nu


def loop_vs_scan(sizes):
    import jax
    import jax.numpy as jnp
    from numpyro.infer.util import initialize_model

    from models.arma import arma_model

    rows = []
    for num_steps in sizes:
        y = jnp.asarray(arma11_series(200 if num_steps == 200 else num_steps))
        for label, model in (("Python loop, one site per step", python_loop_arma11),
                             ("lax.scan (arma_model)", arma_model)):
            log(f"[patterns] loop vs scan T={num_steps}: {label}")
            start = time.perf_counter()
            init = initialize_model(jax.random.PRNGKey(1), model, model_args=(y,),
                                    dynamic_args=False)
            value_and_grad = jax.jit(jax.value_and_grad(init.potential_fn))
            z = init.param_info.z
            jax.block_until_ready(value_and_grad(z))
            first = time.perf_counter() - start
            steady = best_time_per_call(lambda: value_and_grad(z), repeats=3,  # noqa: B023
                                        block=jax.block_until_ready)
            rows.append([num_steps, label, first, steady * 1e6])
    return {"title": "Python loop vs lax.scan (NumPyro ARMA(1, 1), log-density + gradient)",
            "note": "First call = model trace + XLA compilation + one run, in seconds; it "
                    "grows with T for the loop, which XLA sees unrolled. Steady = µs per "
                    "call afterwards.",
            "columns": ["T", "model", "first call s", "steady µs"], "rows": rows}


def vmap_vs_loop(num_series, num_steps):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from models.arma import arma_fast_conditional_loglik

    rng = np.random.default_rng(3)
    ys = jnp.asarray(rng.normal(size=(num_series, num_steps)))
    params = (jnp.array(0.1), jnp.array([0.5]), jnp.array([0.3]), jnp.array(1.0))

    def one(y, params):
        return jax.value_and_grad(lambda p: arma_fast_conditional_loglik(y, *p))(params)

    one_jit = jax.jit(one)
    batched = jax.jit(jax.vmap(one, in_axes=(0, None)))
    jax.block_until_ready(one_jit(ys[0], params))
    jax.block_until_ready(batched(ys, params))
    loop_s = best_time_per_call(lambda: [one_jit(y, params) for y in ys], repeats=3,
                                block=jax.block_until_ready)
    vmap_s = best_time_per_call(lambda: batched(ys, params), repeats=3,
                                block=jax.block_until_ready)
    rows = [[num_series, num_steps, "Python loop of jitted calls", loop_s * 1e3],
            [num_series, num_steps, "jit(vmap(...)), one call", vmap_s * 1e3]]
    return {"title": "vmap vs a Python loop over series",
            "note": "Fast log-likelihood + gradient of every series; ms for all series.",
            "columns": ["series", "T", "how", "ms"], "rows": rows}


def chain_methods(warmup, draws):
    import _arviz_io  # scripts/ is on sys.path (_common puts it there)
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    from models.arma import arma_fast_model

    y = jnp.asarray(arma11_series(200))
    rows = []
    for method in ("sequential", "vectorized", "parallel"):
        log(f"[patterns] chain method {method}")
        start = time.perf_counter()
        mcmc = MCMC(NUTS(arma_fast_model), num_warmup=warmup, num_samples=draws,
                    num_chains=CHAINS, chain_method=method, progress_bar=False)
        mcmc.run(jax.random.PRNGKey(7), y)
        samples = {k: np.asarray(v).reshape(CHAINS, draws)
                   for k, v in mcmc.get_samples(group_by_chain=True).items()}
        total = time.perf_counter() - start
        ess = min(_arviz_io.bulk_ess(samples).values())
        rows.append([method, total, ess, ess / total])
    return {"title": f"Chain methods (arma_fast_model, T = 200, {CHAINS} chains, "
                     f"{warmup} + {draws})",
            "note": "Total wall s including compilation, min bulk ESS, ESS/s. On a 2-core "
                    "machine 'parallel' can use at most 2 cores for 4 chains.",
            "columns": ["chain method", "total s", "min bulk ESS", "ESS/s"], "rows": rows}


def sequential_vs_associative(sizes):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from patterns import parallel, sequential

    rows = []
    for num_steps in sizes:
        rng = np.random.default_rng(num_steps)
        a = jnp.asarray(rng.uniform(-0.9, 0.9, num_steps))
        b = jnp.asarray(rng.normal(size=num_steps))
        init = jnp.zeros(())
        for label, fn in (("lax.scan", sequential.linear_recurrence),
                          ("lax.associative_scan", parallel.linear_recurrence)):
            jitted = jax.jit(fn)
            jax.block_until_ready(jitted(a, b, init))
            t = best_time_per_call(lambda: jitted(a, b, init), repeats=3,  # noqa: B023
                                   block=jax.block_until_ready)
            rows.append([num_steps, label, t * 1e6])
    return {"title": "Sequential vs associative scan (linear recurrence x_t = a_t x_{t-1} + b_t)",
            "note": "µs per call on this CPU (float64). The associative scan does O(T log T) "
                    "work in O(log T) depth: it pays off on a GPU, rarely on 2 CPU cores.",
            "columns": ["T", "how", "µs"], "rows": rows}


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    import numpyro

    numpyro.set_host_device_count(CHAINS)  # before JAX starts, for chain_method="parallel"
    numpyro.enable_x64()
    tables = [
        # the loop's program grows with T: at T = 1000 XLA took 19 GB of memory and
        # minutes to compile it, so the full mode stops at 400
        loop_vs_scan((50, 200) if args.quick else (50, 200, 400)),
        vmap_vs_loop(64, 200),
        chain_methods(1000, 500 if args.quick else 1000),
        sequential_vs_associative([10**k for k in range(2, 6 if args.quick else 7)]),
    ]
    write_result(args.json, {"job": "patterns", "quick": args.quick, "tables": tables})


if __name__ == "__main__":
    main()
