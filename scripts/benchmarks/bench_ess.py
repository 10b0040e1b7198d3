"""Job 2: ESS per second of one sampler on ARMA(1, 1) with the posteriordb arma11 priors.

Priors ``mu ~ N(0, 10)``, ``phi, theta ~ N(0, 2)``, ``sigma ~ HalfCauchy(2.5)``; pre-sample
y = mu, pre-sample error 0; float64; 4 chains. ESS/s = minimum bulk ESS over the four
parameters (ArviZ, the same estimator for every sampler) / total wall time of the fit,
compilation included, imports excluded.

Samplers (``--sampler``):

* ``numpyro-default``: this package's fit of this posterior, exactly what
  ``scripts/fit_arma.py --likelihood conditional`` runs on a CPU, through the same code
  (``_cli.configure_platform`` and ``_cli.run_nuts``): ``arma_fast_model`` (forward-
  sensitivity gradient), chains parallel over 4 XLA host devices, starts uniform in
  (-0.5, 0.5), the XLA:CPU compile options of ``_cli.FAST_CPU_COMPILE_FLAGS``; with
  ``--compilation-cache DIR`` also JAX's persistent cache, as ``make run`` uses it;
* ``numpyro-exact``: ``fit_arma.py``'s default likelihood (exact, Kalman filter) with its
  own priors (stationary and invertible): another posterior, so no z-score; what a user
  who keeps every default pays;
* ``numpyro-plain``: NumPyro as a user writes it without this package's fast path:
  ``arma_model`` (the two-buffer scan), ``NUTS`` defaults (init radius 2), 4 chains
  parallel, no compile options;
* ``numpyro-vectorized``: as ``numpyro-plain`` with ``chain_method="vectorized"``;
* ``numpyro-priors-only``: the ``numpyro-default`` set-up on the arma11 *priors* alone (no
  likelihood): what NumPyro's NUTS program costs to compile and run with nothing to
  compute, the floor under any NumPyro fit on this machine (its ESS is of the prior and
  means nothing);
* ``blackjax``: BlackJAX NUTS with Stan-style window adaptation on the potential that
  NumPyro's ``initialize_model`` builds from ``arma_model``, chains vectorised by ``vmap``;
* ``nutpie``: the model written in PyMC, compiled by nutpie with its JAX backend;
* ``pymc``: the same PyMC model sampled by ``pm.sample`` defaults.

A sampler whose package this interpreter cannot import is recorded as skipped, with the
import error, instead of failing.

    python scripts/benchmarks/bench_ess.py --sampler blackjax --num-steps 2000 --json out.json
"""

import contextlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/: _cli, fit_arma

import _cli  # noqa: E402
import fit_arma  # noqa: E402
import numpy as np  # noqa: E402
from _common import arma11_series, job_parser, log, write_result  # noqa: E402

PARAMS = ("mu", "phi", "theta", "sigma")
NEEDS = {"blackjax": "blackjax", "nutpie": "nutpie", "pymc": "pymc"}


def numpyro_fit(y, model_name, chain_method, warmup, draws, chains, seed):
    """NumPyro NUTS as a user writes it: ``NUTS(model)`` with every default."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    from models import arma_fast_model, arma_model

    model = {"reference": arma_model, "fast": arma_fast_model}[model_name]
    start = time.perf_counter()
    mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=chain_method, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), jnp.asarray(y), extra_fields=("diverging",))
    samples = mcmc.get_samples(group_by_chain=True)
    draws_by_name = {k: np.asarray(samples[k]).reshape(chains, draws) for k in PARAMS}
    divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return draws_by_name, divergences, time.perf_counter() - start, None


def arma11_priors_only(y=None, order=(1, 1)):
    """The arma11 priors with no likelihood: the same four sites, nothing observed."""
    import numpyro
    import numpyro.distributions as dist

    del y, order
    numpyro.sample("mu", dist.Normal(0.0, 10.0))
    numpyro.sample("phi", dist.Normal(0.0, 2.0).expand([1]).to_event(1))
    numpyro.sample("theta", dist.Normal(0.0, 2.0).expand([1]).to_event(1))
    numpyro.sample("sigma", dist.HalfCauchy(2.5))


def fit_script_fit(y, likelihood, warmup, draws, chains, seed, compilation_cache):
    """The fit of ``scripts/fit_arma.py --likelihood LIKELIHOOD``, through its own code:
    platform set-up, model, init and NUTS call (no summary, plots or files);
    ``likelihood=None`` puts :func:`arma11_priors_only` in the model's place."""
    start = time.perf_counter()
    setup = _cli.configure_platform("cpu", chains, None, float64=True,
                                    compilation_cache=compilation_cache)
    import jax
    import jax.numpy as jnp

    model = arma11_priors_only if likelihood is None else fit_arma.LIKELIHOODS[likelihood].model
    mcmc, _ = fit_arma.sample_posterior(
        model, jnp.asarray(y), (1, 1), rng_key=jax.random.PRNGKey(seed), chains=chains,
        warmup=warmup, samples=draws, chain_method=setup.chain_method, progress_bar=False)
    samples = mcmc.get_samples(group_by_chain=True)
    draws_by_name = {k: np.asarray(samples[k]).reshape(chains, draws) for k in PARAMS}
    divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return draws_by_name, divergences, time.perf_counter() - start, None


def blackjax_fit(y, model_name, warmup, draws, chains, seed):
    import blackjax
    import jax
    import jax.numpy as jnp
    from jax import lax
    from numpyro.infer import init_to_uniform
    from numpyro.infer.util import initialize_model

    from models import arma_fast_model, arma_model

    model = {"reference": arma_model, "fast": arma_fast_model}[model_name]
    start = time.perf_counter()
    key_init, key_run = jax.random.split(jax.random.PRNGKey(seed))
    # NumPyro turns the model into a potential on the unconstrained space; one init point
    # per chain, uniform in (-1, 1) there, as PyMC's and nutpie's jitter starts them.
    # NumPyro's default radius 2 puts some chains at non-invertible points (|theta| > 1)
    # where the gradient is astronomically large; NumPyro's NUTS walks out of them,
    # BlackJAX's window adaptation shrinks the step size and the chain stays there.
    init = initialize_model(jax.random.split(key_init, chains), model,
                            model_args=(jnp.asarray(y),), dynamic_args=False,
                            init_strategy=init_to_uniform(radius=1.0))

    def logdensity(z):
        return -init.potential_fn(z)

    adaptation = blackjax.window_adaptation(blackjax.nuts, logdensity)

    def one_chain(key, z0):
        key_warmup, key_sample = jax.random.split(key)
        (state, parameters), _ = adaptation.run(key_warmup, z0, num_steps=warmup)
        step = blackjax.nuts(logdensity, **parameters).step

        def one_draw(state, key):
            state, info = step(key, state)
            return state, (init.postprocess_fn(state.position), info.is_divergent)

        _, (positions, divergent) = lax.scan(one_draw, state,
                                             jax.random.split(key_sample, draws))
        return positions, divergent

    fit = jax.jit(jax.vmap(one_chain))
    keys = jax.random.split(key_run, chains)
    # compilation is timed by main()'s CompileTimer, as for NumPyro
    positions, divergent = jax.block_until_ready(fit(keys, init.param_info.z))
    draws_by_name = {k: np.asarray(positions[k]).reshape(chains, draws) for k in PARAMS}
    return draws_by_name, int(np.asarray(divergent).sum()), time.perf_counter() - start, None


def pymc_model(y):
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        phi = pm.Normal("phi", 0.0, 2.0)
        theta = pm.Normal("theta", 0.0, 2.0)
        sigma = pm.HalfCauchy("sigma", 2.5)
        y_data = pt.as_tensor_variable(np.asarray(y))
        # AR part vectorised (pre-sample y = mu), MA recursion by scan (pre-sample error 0):
        # the same split models.arma_fast makes, written the way a PyMC user would
        y_lag = pt.concatenate([pt.stack([mu]), y_data[:-1]])
        innovations = y_data - mu - phi * y_lag
        errors, _ = pytensor.scan(lambda b_t, e_prev, th: b_t - th * e_prev,
                                  sequences=[innovations],
                                  outputs_info=[pt.zeros((), dtype="float64")],
                                  non_sequences=[theta])
        pm.Potential("loglik", pm.logp(pm.Normal.dist(0.0, sigma), errors).sum())
    return model


def pymc_fit(y, warmup, draws, chains, seed):
    import pymc as pm

    start = time.perf_counter()
    with pymc_model(y):
        idata = pm.sample(draws=draws, tune=warmup, chains=chains, random_seed=seed,
                          progressbar=False, compute_convergence_checks=False)
    post = idata.posterior
    draws_by_name = {k: np.asarray(post[k]).reshape(chains, draws) for k in PARAMS}
    return draws_by_name, int(idata.sample_stats["diverging"].sum()), \
        time.perf_counter() - start, None


def nutpie_fit(y, warmup, draws, chains, seed):
    import nutpie

    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(pymc_model(y), backend="jax", gradient_backend="jax")
    compile_s = time.perf_counter() - start
    idata = nutpie.sample(compiled, draws=draws, tune=warmup, chains=chains, seed=seed,
                          progress_bar=False)
    post = idata.posterior
    draws_by_name = {k: np.asarray(post[k]).reshape(chains, draws) for k in PARAMS}
    return draws_by_name, int(idata.sample_stats["diverging"].sum()), \
        time.perf_counter() - start, compile_s


DESCRIPTIONS = {
    "numpyro-default": "this package: fit_arma.py --likelihood conditional (arma_fast_model, "
                       "forward-sensitivity gradient, 4 chains parallel, init radius 0.5, "
                       "fast XLA:CPU compile options)",
    "numpyro-exact": "this package: fit_arma.py's default exact likelihood (Kalman filter, "
                     "PACF priors: another posterior)",
    "numpyro-plain": "NumPyro NUTS defaults on arma_model (two-buffer scan), 4 chains "
                     "parallel over 4 host devices",
    "numpyro-vectorized": "NumPyro NUTS defaults on arma_model, chains vectorized",
    "numpyro-priors-only": "the numpyro-default set-up on the arma11 priors alone, no "
                           "likelihood: NumPyro's NUTS program by itself",
    "blackjax": "BlackJAX NUTS + window adaptation on NumPyro's potential of arma_model, "
                "vmap over chains, init uniform(-1, 1)",
    "nutpie": "nutpie (JAX backend) on the PyMC model",
    "pymc": "PyMC pm.sample defaults (C backend)",
}


def run_sampler(args, y, fit_script):
    """(draws by name (chains, draws), divergences, total seconds, compile seconds or None)
    of ``args.sampler`` on the series y."""
    if fit_script:
        likelihood = {"numpyro-default": "conditional", "numpyro-exact": "exact",
                      "numpyro-priors-only": None}[args.sampler]
        return fit_script_fit(y, likelihood, args.warmup, args.draws, args.chains, args.seed,
                              args.compilation_cache)
    if args.sampler.startswith("numpyro"):
        method = "vectorized" if args.sampler == "numpyro-vectorized" else "parallel"
        return numpyro_fit(y, "reference", method, args.warmup, args.draws, args.chains,
                           args.seed)
    if args.sampler == "blackjax":
        return blackjax_fit(y, "reference", args.warmup, args.draws, args.chains, args.seed)
    if args.sampler == "pymc":
        return pymc_fit(y, args.warmup, args.draws, args.chains, args.seed)
    return nutpie_fit(y, args.warmup, args.draws, args.chains, args.seed)


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--sampler", choices=sorted(DESCRIPTIONS), required=True)
    parser.add_argument("--num-steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--compilation-cache", type=Path, default=None,
                        help="JAX persistent compilation cache directory (JAX samplers)")
    args = parser.parse_args()

    base = {"job": "ess", "sampler": args.sampler, "num_steps": args.num_steps,
            "warmup": args.warmup, "draws": args.draws, "chains": args.chains,
            "description": DESCRIPTIONS[args.sampler],
            "compilation_cache": None if args.compilation_cache is None
            else str(args.compilation_cache)}
    if args.compilation_cache is not None:
        base["description"] += "; persistent compilation cache (run 1 fills it, run 2 reads it)"
    if args.sampler in NEEDS:
        try:
            __import__(NEEDS[args.sampler])
        except ImportError as error:
            write_result(args.json, {**base, "skipped": True,
                                     "reason": f"{NEEDS[args.sampler]} is not importable "
                                               f"here ({error})"})
            log(f"skipped: {error}")
            return
    fit_script = args.sampler in ("numpyro-default", "numpyro-exact", "numpyro-priors-only")
    if args.sampler == "numpyro-plain":
        # host devices must be set before JAX starts: nothing has imported it yet
        import numpyro

        numpyro.set_host_device_count(args.chains)
    if args.sampler in ("pymc", "nutpie"):
        os.environ.setdefault("JAX_ENABLE_X64", "1")
    elif not fit_script:  # the fit script's set-up does all of this itself
        import numpyro

        numpyro.enable_x64()
    if args.compilation_cache is not None and not fit_script:
        _cli.use_compilation_cache(args.compilation_cache)
    # JAX's own count of tracing, lowering and compiling; PyMC and nutpie are timed apart
    timer = _cli.CompileTimer() if args.sampler not in ("pymc", "nutpie") else None
    y = arma11_series(args.num_steps)
    log(f"[ess] {args.sampler} T={args.num_steps} {args.warmup}+{args.draws} x {args.chains}")
    with timer or contextlib.nullcontext():
        out = run_sampler(args, y, fit_script)
    draws, divergences, total_s, compile_s = out
    if timer is not None and compile_s is None:
        compile_s = timer.seconds

    import arviz as az

    dataset = az.convert_to_dataset({k: v for k, v in draws.items()})
    bulk = az.ess(dataset, method="bulk")
    rhat = az.rhat(dataset)
    ess = {k: float(bulk[k]) for k in PARAMS}
    result = {**base, "total_s": total_s, "compile_s": compile_s,
              "min_bulk_ess": min(ess.values()), "bulk_ess": ess,
              "ess_per_s": min(ess.values()) / total_s, "divergences": divergences,
              "max_rhat": max(float(rhat[k]) for k in PARAMS),
              "means": {k: float(v.mean()) for k, v in draws.items()}}
    if args.num_steps == 200 and args.sampler not in ("numpyro-exact", "numpyro-priors-only"):
        # T = 200 is the posteriordb arma11 data: check the posterior against Stan's
        # reference, z as in tests/test_posteriordb.py
        from models.posteriordb import load_reference, z_scores

        mcses = {k: float(v.std() / np.sqrt(ess[k])) for k, v in draws.items()}
        z = z_scores(result["means"], mcses, load_reference("arma-arma11"))
        result["z_vs_posteriordb"] = z
        result["max_abs_z"] = max(abs(v) for v in z.values())
    log(f"    total {total_s:.1f} s, min bulk ESS {result['min_bulk_ess']:.0f}, "
        f"ESS/s {result['ess_per_s']:.1f}, divergences {divergences}")
    write_result(args.json, result)


if __name__ == "__main__":
    main()
