"""Job 2: ESS per second of one sampler on ARMA(1, 1) with the posteriordb arma11 priors.

Priors ``mu ~ N(0, 10)``, ``phi, theta ~ N(0, 2)``, ``sigma ~ HalfCauchy(2.5)``; pre-sample
y = mu, pre-sample error 0; float64; 4 chains. ESS/s = minimum bulk ESS over the four
parameters (ArviZ, the same estimator for every sampler) / total wall time of the fit,
compilation included, imports excluded.

Samplers (``--sampler``):

* ``numpyro-default``: this package's fit of this posterior, exactly what
  ``scripts/fit.py arma --likelihood conditional`` (= ``scripts/fit_arma.py --likelihood
  conditional``) runs on a CPU, through the same code (``_cli.configure_platform`` and
  ``_cli.fit_command.sample_posterior``): the registry's ``conditional`` variant,
  ``arma_fast_model`` (forward-sensitivity gradient), chains parallel over 4 XLA host
  devices, the family's starts (uniform in (-0.5, 0.5)), the XLA:CPU compile options of
  ``_cli.FAST_CPU_COMPILE_FLAGS``; with ``--compilation-cache DIR`` also JAX's persistent
  cache, as ``make run`` uses it;
* ``numpyro-exact``: the fit command's default likelihood (``exact``, Kalman filter) with
  its own priors (stationary and invertible): another posterior, so no z-score; what a user
  who keeps every default pays;
* ``numpyro-plain``: NumPyro as a user writes it without this package's fast path:
  ``arma_model`` (the registry's ``conditional-reference`` variant, the two-buffer scan),
  ``NUTS`` defaults (init radius 2), 4 chains parallel, no compile options;
* ``numpyro-vectorized``: as ``numpyro-plain`` with ``chain_method="vectorized"``;
* ``numpyro-priors-only``: the ``numpyro-default`` set-up on the arma11 *priors* alone (no
  likelihood): what NumPyro's NUTS program costs to compile and run with nothing to
  compute, the floor under any NumPyro fit on this machine (its ESS is of the prior and
  means nothing);
* ``blackjax``: BlackJAX NUTS with Stan-style window adaptation on the potential that
  NumPyro's ``initialize_model`` builds from ``arma_model``, chains vectorised by ``vmap``;
* ``nutpie``: the model written in PyMC, compiled by nutpie with its JAX backend;
* ``pymc``: the same PyMC model sampled by ``pm.sample`` defaults.

Every row reports the arma11 parameters under posteriordb's names (mu, phi, theta, sigma):
the NumPyro conditional models' site ``intercept`` is posteriordb's ``mu`` (the constant of
the recursion); the exact model's ``mu`` is its process mean. At T = 200 (the posteriordb
data) each conditional row's posterior means are compared with Stan's reference by the one
posteriordb harness (``_cli.posteriordb``, ArviZ's MCSE).

A sampler whose package this interpreter cannot import is recorded as skipped, with the
import error, instead of failing.

    python scripts/benchmarks/bench_ess.py --sampler blackjax --num-steps 2000 --json out.json
"""

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/: _cli, _arviz_io

import _cli  # noqa: E402
import numpy as np  # noqa: E402
from _common import arma11_series, job_parser, log, write_result  # noqa: E402

#: The report's columns: the posteriordb arma11 parameter names.
PARAMS = ("mu", "phi", "theta", "sigma")
REFERENCE_POSTERIOR = "arma-arma11"
NEEDS = {"blackjax": "blackjax", "nutpie": "nutpie", "pymc": "pymc"}
#: Variants of the registry's ARMA family the NumPyro rows sample (``--likelihood`` names).
PLAIN_VARIANT, FAST_VARIANT, EXACT_VARIANT = "conditional-reference", "conditional", "exact"
PRIORS_ONLY = "priors-only"


class Fit(NamedTuple):
    """What one sampler's run gives the report."""

    draws: dict[str, np.ndarray]  # PARAMS -> draws, shape (chains, draws)
    divergences: int
    total_s: float  # the whole fit, compilation included
    compile_s: float | None  # None: main() takes JAX's own count
    sites: dict[str, np.ndarray] | None = None  # NumPyro's draws by site, (chains, draws, ...)


def columns_from_sites(sites: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The report's columns (:data:`PARAMS`) from NumPyro site draws shaped (chains, draws,
    ...). The conditional models (and :func:`arma11_priors_only`) are the posteriordb
    arma11 parameterisation: their site ``intercept`` is its ``mu``, renamed by the family's
    own mapping (:func:`models.posteriordb.to_reference_names`). The exact model's site
    ``mu`` is the process mean, another quantity of another posterior (that row has no z)."""
    from models.posteriordb import to_reference_names

    if "intercept" in sites:
        return to_reference_names(REFERENCE_POSTERIOR, sites)
    return {k: np.asarray(sites[k]).reshape(np.shape(sites[k])[:2]) for k in PARAMS}


def numpyro_site_draws(samples: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in samples.items()}


def arma_variant_model(variant: str):
    """The model of the registry's ARMA variant ``variant`` (``fit.py arma --likelihood``)."""
    from models.registry import FAMILIES

    return FAMILIES["arma"].variants[variant].model


def numpyro_fit(y, variant, chain_method, warmup, draws, chains, seed):
    """NumPyro NUTS as a user writes it: ``NUTS(model)`` with every default."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    model = arma_variant_model(variant)
    start = time.perf_counter()
    mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=chain_method, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), jnp.asarray(y), extra_fields=("diverging",))
    sites = numpyro_site_draws(mcmc.get_samples(group_by_chain=True))
    divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return Fit(columns_from_sites(sites), divergences, time.perf_counter() - start, None, sites)


def arma11_priors_only(y=None, order=(1, 1)):
    """The arma11 priors with no likelihood: the same four sites as the arma11 model
    (``arma_model``, order (1, 1)), nothing observed."""
    import numpyro
    import numpyro.distributions as dist

    del y, order
    numpyro.sample("intercept", dist.Normal(0.0, 10.0))
    numpyro.sample("phi", dist.Normal(0.0, 2.0).expand([1]).to_event(1))
    numpyro.sample("theta", dist.Normal(0.0, 2.0).expand([1]).to_event(1))
    numpyro.sample("sigma", dist.HalfCauchy(2.5))


def fit_command_fit(y, variant, warmup, draws, chains, seed, compilation_cache):
    """The fit of ``scripts/fit.py arma --likelihood VARIANT`` (= ``fit_arma.py``) with its
    default options, through the fit command's own code: platform set-up
    (``_cli.configure_platform``) and ``_cli.fit_command.sample_posterior`` (the family's
    model and starting points, the NUTS call); no summary, plots or files.
    ``variant=None`` puts :func:`arma11_priors_only` in the model's place, nothing else
    changed."""
    start = time.perf_counter()
    settings = _cli.SamplerSettings(seed=seed, chains=chains, warmup=warmup, samples=draws,
                                    chain_method=None, progress_bar=False,
                                    compilation_cache=compilation_cache, platform="cpu")
    setup = _cli.configure_platform(settings.platform, settings.chains, settings.chain_method,
                                    float64=True, compilation_cache=settings.compilation_cache)
    # JAX and the models are imported only now: the host device count is set
    import jax
    import jax.numpy as jnp
    from _cli.fit_command import sample_posterior

    from models.family import Variant
    from models.registry import FAMILIES

    family = FAMILIES["arma"]
    # fit.py's defaults for this variant, data-dependent ones (the exact model's priors on
    # the series' scale) set from the series as the fit command sets them
    options = family.default_options(variant or "conditional")
    options.update(family.data_defaults(np.asarray(y), variant or "conditional", options))
    if variant is None:
        # the same family (its starting points included) with the priors alone as its model;
        # NamedTuple._replace is the public way to copy a NamedTuple with one field changed
        variant = PRIORS_ONLY
        family = family._replace(variants={PRIORS_ONLY: Variant(
            model=arma11_priors_only, description="the arma11 priors, no likelihood",
            accepts_missing=False, forecasts=False)})
    mcmc, _ = sample_posterior(family, variant, options, jnp.asarray(y), settings=settings,
                               rng_key=jax.random.PRNGKey(seed),
                               chain_method=setup.chain_method)
    sites = numpyro_site_draws(mcmc.get_samples(group_by_chain=True))
    divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return Fit(columns_from_sites(sites), divergences, time.perf_counter() - start, None, sites)


def blackjax_fit(y, variant, warmup, draws, chains, seed):
    import blackjax
    import jax
    import jax.numpy as jnp
    from jax import lax
    from numpyro.infer import init_to_uniform
    from numpyro.infer.util import initialize_model

    model = arma_variant_model(variant)
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
    sites = numpyro_site_draws(positions)  # NumPyro's sites, (chains, draws, ...)
    return Fit(columns_from_sites(sites), int(np.asarray(divergent).sum()),
               time.perf_counter() - start, None, sites)


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
        # the same split models.arma.conditional_fast makes, written the way a PyMC user
        # would
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
    return Fit(draws_by_name, int(idata.sample_stats["diverging"].sum()),
               time.perf_counter() - start, None)


def nutpie_fit(y, warmup, draws, chains, seed):
    import nutpie

    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(pymc_model(y), backend="jax", gradient_backend="jax")
    compile_s = time.perf_counter() - start
    idata = nutpie.sample(compiled, draws=draws, tune=warmup, chains=chains, seed=seed,
                          progress_bar=False)
    post = idata.posterior
    draws_by_name = {k: np.asarray(post[k]).reshape(chains, draws) for k in PARAMS}
    return Fit(draws_by_name, int(idata.sample_stats["diverging"].sum()),
               time.perf_counter() - start, compile_s)


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


def run_sampler(args, y, fit_command) -> Fit:
    """:class:`Fit` of ``args.sampler`` on the series y."""
    if fit_command:
        variant = {"numpyro-default": FAST_VARIANT, "numpyro-exact": EXACT_VARIANT,
                   "numpyro-priors-only": None}[args.sampler]
        return fit_command_fit(y, variant, args.warmup, args.draws, args.chains, args.seed,
                               args.compilation_cache)
    if args.sampler.startswith("numpyro"):
        method = "vectorized" if args.sampler == "numpyro-vectorized" else "parallel"
        return numpyro_fit(y, PLAIN_VARIANT, method, args.warmup, args.draws, args.chains,
                           args.seed)
    if args.sampler == "blackjax":
        return blackjax_fit(y, PLAIN_VARIANT, args.warmup, args.draws, args.chains, args.seed)
    if args.sampler == "pymc":
        return pymc_fit(y, args.warmup, args.draws, args.chains, args.seed)
    return nutpie_fit(y, args.warmup, args.draws, args.chains, args.seed)


def posteriordb_z(fit: Fit) -> dict[str, float]:
    """z of each arma11 posterior mean against Stan's reference, by the posteriordb harness
    (ArviZ's MCSE): its comparison rows from NumPyro's sites where the sampler gives them,
    else the same ``_arviz_io.mean_and_mcse`` and ``z_scores`` on the report's columns
    (PyMC and nutpie name the parameters as posteriordb does)."""
    if fit.sites is not None:
        from _cli.posteriordb import reference_rows

        return {row["parameter"]: row["z"]
                for row in reference_rows(REFERENCE_POSTERIOR, fit.sites)}
    import _arviz_io

    from models.posteriordb import load_reference, z_scores

    moments = _arviz_io.mean_and_mcse(fit.draws)
    return z_scores({k: mean for k, (mean, _) in moments.items()},
                    {k: mcse for k, (_, mcse) in moments.items()},
                    load_reference(REFERENCE_POSTERIOR))


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
    fit_command = args.sampler in ("numpyro-default", "numpyro-exact", "numpyro-priors-only")
    if args.sampler == "numpyro-plain":
        # host devices must be set before JAX starts: nothing has imported it yet
        import numpyro

        numpyro.set_host_device_count(args.chains)
    if args.sampler in ("pymc", "nutpie"):
        os.environ.setdefault("JAX_ENABLE_X64", "1")
    elif not fit_command:  # the fit command's set-up does all of this itself
        import numpyro

        numpyro.enable_x64()
    if args.compilation_cache is not None and not fit_command:
        _cli.use_compilation_cache(args.compilation_cache)
    # JAX's own count of tracing, lowering and compiling; PyMC and nutpie are timed apart
    timer = _cli.CompileTimer() if args.sampler not in ("pymc", "nutpie") else None
    y = arma11_series(args.num_steps)
    log(f"[ess] {args.sampler} T={args.num_steps} {args.warmup}+{args.draws} x {args.chains}")
    with timer or contextlib.nullcontext():
        fit = run_sampler(args, y, fit_command)
    compile_s = fit.compile_s
    if timer is not None and compile_s is None:
        compile_s = timer.seconds

    import _arviz_io  # after the fit: ArviZ takes seconds to import

    ess = _arviz_io.bulk_ess(fit.draws)
    rhat = _arviz_io.rhat(fit.draws)
    result = {**base, "total_s": fit.total_s, "compile_s": compile_s,
              "min_bulk_ess": min(ess.values()), "bulk_ess": ess,
              "ess_per_s": min(ess.values()) / fit.total_s, "divergences": fit.divergences,
              "max_rhat": max(rhat.values()),
              "means": {k: float(v.mean()) for k, v in fit.draws.items()}}
    if args.num_steps == 200 and args.sampler not in ("numpyro-exact", "numpyro-priors-only"):
        # T = 200 is the posteriordb arma11 data: check the posterior against Stan's
        # reference, z as the validator and tests/test_posteriordb.py compute it
        z = posteriordb_z(fit)
        result["z_vs_posteriordb"] = z
        result["max_abs_z"] = max(abs(v) for v in z.values())
    log(f"    total {fit.total_s:.1f} s, min bulk ESS {result['min_bulk_ess']:.0f}, "
        f"ESS/s {result['ess_per_s']:.1f}, divergences {fit.divergences}")
    write_result(args.json, result)


if __name__ == "__main__":
    main()
