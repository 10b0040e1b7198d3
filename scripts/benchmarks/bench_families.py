"""Job 4: ESS per second of this package's fit of a family against its peers on the same
posterior (issues 14, 15 and 16).

Cases (``--case``):

* ``garch``: ``fit.py garch`` (GARCH(1, 1), normal, its priors set from the series) on the
  bundled garch11 series (posteriordb's garch11 data, T = 200);
* ``sv``: ``fit.py sv`` (non-centred, normal returns) on the bundled simulated series
  (T = 1,000);
* ``hmm-k2``: the Gaussian HMM, K = 2, on posteriordb's hmm_example (T = 100) with that
  posterior's settings (fixed uniform start, sd 1, positive ordered means ~ N((3, 10), 1));
  every row is also compared with Stan's reference;
* ``hmm-k3``: ``fit.py hmm --states 3 --initial fixed --sigma 1 --mu-loc 0 --mu-scale 5`` on a
  simulated series (T = 2,000, :func:`_common.hmm_series_k3`);
* ``sir``: ``fit.py sir`` on the boarding-school data (T = 14, N = 763, RK4, 4 steps a day);
* ``renewal``: ``fit.py renewal`` (weekly random walk of log R_t, negative binomial) on a
  simulated 200-day epidemic (:func:`_common.renewal_series`).

Samplers (``--sampler``):

* ``numpyro``: this package, exactly what ``scripts/fit.py FAMILY`` runs on a CPU, through
  the fit command's own code (``_cli.configure_platform``, ``_cli.fit_command.
  sample_posterior``: the registry's model and options, the family's starting points,
  chains parallel over 4 XLA host devices, the fast XLA:CPU compile options);
* ``numpyro-priors-only``: the same set-up with the observed site ``y`` masked out (its
  log density 0): NumPyro's NUTS program with the priors alone, the floor under the fit
  (its ESS is of the prior and says nothing about speed);
* ``numpyro-enumeration`` (HMM cases): NumPyro's enumeration HMM
  (:func:`_peer_models.enumerated_hmm`), NUTS defaults, 4 chains parallel, the family's
  starting points;
* ``nutpie``: the PyMC model of :mod:`_peer_models` compiled by nutpie (JAX backend);
* ``pymc``: the same PyMC model sampled by ``pm.sample`` defaults.

ESS/s = minimum bulk ESS (ArviZ, one estimator for all) over the case's parameters / total
wall time of the fit, compilation included, imports excluded. The result also holds the
posterior mean and MCSE of every parameter, so the report can check that each peer samples
the same posterior as ours (z of the means, |z| < 4), and the leapfrog steps per draw, so it
can say what limits a ratio (compile time, gradient cost, steps per draw).

A sampler whose package this interpreter cannot import is recorded as skipped.

    python scripts/benchmarks/bench_families.py --case sir --sampler nutpie --json out.json
"""

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/: _cli, _arviz_io
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's models/

import _cli  # noqa: E402
import numpy as np  # noqa: E402
from _common import hmm_series_k3, job_parser, log, renewal_series, write_result  # noqa: E402

NEEDS = {"nutpie": "nutpie", "pymc": "pymc", "numpyro-enumeration": "funsor"}
SAMPLERS = ("numpyro", "numpyro-priors-only", "numpyro-trivial", "numpyro-enumeration",
            "nutpie", "pymc")
HMM_K2_POSTERIOR = "hmm_example-hmm_example"


class Case(NamedTuple):
    """One benchmark posterior: the family and variant ``fit.py`` fits, the series, the
    model keywords, and the report's columns ``label -> (site, index)``."""

    family: str
    variant: str
    y: np.ndarray
    options: dict[str, Any]
    columns: dict[str, tuple[str, Any]]
    title: str
    posteriordb: str | None = None


def _bundled(family) -> np.ndarray:
    import csv

    with open(family.default_data.path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([float(row[family.default_data.column]) for row in rows])


def build_case(name: str) -> Case:
    """The posterior of case ``name``: the fit command's options for it (the family's
    defaults, the data source's own, the flags named in the module text, then the ones set
    from the series, in the fit command's order)."""
    from models.registry import FAMILIES

    if name in ("hmm-k2", "hmm-k3"):
        family = FAMILIES["hmm"]
        options = family.default_options("gaussian")
        if name == "hmm-k2":
            from models.posteriordb import REFERENCE_POSTERIORS, load_data

            y = np.asarray(load_data(HMM_K2_POSTERIOR)["y"], float)
            options.update(REFERENCE_POSTERIORS[HMM_K2_POSTERIOR].options)
            title = "Gaussian HMM, K = 2, posteriordb hmm_example (T = 100)"
        else:
            y = hmm_series_k3(2000)
            options.update(states=3, initial="fixed", sigma=1.0, mu_loc=0.0, mu_scale=5.0)
            title = "Gaussian HMM, K = 3, simulated (T = 2,000)"
        options.update(family.data_defaults(y, "gaussian", options))
        k = options["states"]
        columns = {f"mu[{i}]": ("mu", i) for i in range(k)}
        columns.update({f"transition_matrix[{i},{j}]": ("transition_matrix", (i, j))
                        for i in range(k) for j in range(k)})
        return Case("hmm", "gaussian", y, options, columns, title,
                    HMM_K2_POSTERIOR if name == "hmm-k2" else None)
    family = FAMILIES[name]
    variant = family.default_variant
    options = family.default_options(variant)
    if name == "renewal":
        y = renewal_series(200)
        title = "renewal model, simulated epidemic (T = 200 days)"
    else:
        y = _bundled(family)
        options.update({k: v for k, v in family.default_data.options.items()
                        if options.get(k) is None})
        title = {"garch": "GARCH(1, 1) on the garch11 series (T = {T})",
                 "sv": "stochastic volatility, non-centred, simulated (T = {T:,})",
                 "sir": "SIR on the boarding-school data (T = {T}, N = {N})"}[name]
        title = title.format(T=len(y), N=options.get("population"))
    options.update(family.data_defaults(y, variant, options))
    columns = {"garch": {"mu": ("mu", None), "omega": ("omega", None),
                         "alpha": ("alpha", 0), "beta": ("beta", 0)},
               "sv": {"mu": ("mu", None), "phi": ("phi", None), "sigma": ("sigma", None)},
               "sir": {"beta": ("beta", None), "gamma": ("gamma", None),
                       "phi_inv": ("phi_inv", None), "R0": ("R0", None)},
               "renewal": {"R_start": ("R_start", None), "rw_sd": ("rw_sd", None),
                           "log_seed": ("log_seed", None), "dispersion": ("dispersion", None),
                           f"R_t[{len(y) - 1}]": ("R_t", len(y) - 1)}}[name]
    return Case(name, variant, y, options, columns, title)


def columns_of(case: Case, sites: dict[str, Any]) -> dict[str, np.ndarray]:
    """The case's columns, each (chains, draws), from draws by site (chains, draws, ...)."""
    out = {}
    for label, (site, index) in case.columns.items():
        value = np.asarray(sites[site])
        out[label] = value if index is None else value[(..., *np.atleast_1d(index))]
    return out


class Fit(NamedTuple):
    draws: dict[str, np.ndarray]  # columns, (chains, draws)
    divergences: int
    total_s: float  # the whole fit, compilation included
    compile_s: float | None  # None: main() takes JAX's own count
    steps_per_draw: float | None  # mean leapfrog steps per kept draw


def mask_observed(model):
    """``model`` with the observed site ``y`` scored 0: the priors alone."""
    from numpyro.primitives import Messenger

    class DropObserved(Messenger):
        def process_message(self, msg):
            if msg["type"] == "sample" and msg["name"] == "y":
                msg["fn"] = msg["fn"].mask(False)

    def priors_only(*args, **kwargs):
        with DropObserved():
            model(*args, **kwargs)

    return priors_only


def fit_command_fit(case: Case, warmup, draws, chains, seed, priors_only=False) -> Fit:
    """The fit of ``scripts/fit.py FAMILY`` with the case's options, through the fit
    command's own code: platform set-up and ``sample_posterior`` (no summary, plots or
    files); ``priors_only`` masks the likelihood, nothing else changed."""
    start = time.perf_counter()
    settings = _cli.SamplerSettings(seed=seed, chains=chains, warmup=warmup, samples=draws,
                                    chain_method=None, progress_bar=False,
                                    compilation_cache=None, platform="cpu")
    setup = _cli.configure_platform(settings.platform, settings.chains, settings.chain_method,
                                    float64=True, compilation_cache=None)
    import jax
    import jax.numpy as jnp
    from _cli.fit_command import sample_posterior

    from models.registry import FAMILIES

    family = FAMILIES[case.family]
    if priors_only:
        variant = family.variants[case.variant]
        family = family._replace(variants={case.variant: variant._replace(
            model=mask_observed(variant.model))})
    mcmc, _ = sample_posterior(family, case.variant, dict(case.options), jnp.asarray(case.y),
                               settings=settings, rng_key=jax.random.PRNGKey(seed),
                               chain_method=setup.chain_method)
    sites = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = mcmc.get_extra_fields()
    return Fit(columns_of(case, sites), int(np.asarray(extra["diverging"]).sum()),
               time.perf_counter() - start, None, float(np.mean(extra["num_steps"])))


def trivial_model() -> None:
    """A 3-d standard normal: NUTS's own program around the smallest model."""
    import numpyro
    import numpyro.distributions as dist

    numpyro.sample("x", dist.Normal(0.0, 1.0).expand([3]).to_event(1))


def trivial_fit(warmup, draws, chains, seed) -> Fit:
    """:func:`trivial_model` through the fit command's platform set-up and ``run_nuts`` (4
    chains parallel, the fast XLA:CPU options, uniform(-0.5, 0.5) starts): what compiling
    and running NumPyro's NUTS program costs before any model is in it."""
    start = time.perf_counter()
    setup = _cli.configure_platform("cpu", chains, None, float64=True, compilation_cache=None)
    import jax
    from _cli.sampling import run_nuts
    from numpyro.infer import init_to_uniform

    mcmc, _ = run_nuts(trivial_model, {}, rng_key=jax.random.PRNGKey(seed), chains=chains,
                       warmup=warmup, samples=draws, chain_method=setup.chain_method,
                       progress_bar=False, init_strategy=init_to_uniform(radius=0.5))
    x = np.asarray(mcmc.get_samples(group_by_chain=True)["x"])
    extra = mcmc.get_extra_fields()
    return Fit({f"x[{i}]": x[..., i] for i in range(3)},
               int(np.asarray(extra["diverging"]).sum()), time.perf_counter() - start, None,
               float(np.mean(extra["num_steps"])))


def enumeration_fit(case: Case, warmup, draws, chains, seed) -> Fit:
    """NumPyro NUTS on the enumeration HMM: 4 chains parallel over host devices, the
    family's starting points (medians of 15 prior draws)."""
    import numpyro

    numpyro.set_host_device_count(chains)
    numpyro.enable_x64()
    import jax
    import jax.numpy as jnp
    from _peer_models import enumerated_hmm
    from numpyro.infer import MCMC, NUTS, init_to_median

    start = time.perf_counter()
    options = {"positive_means": False, **case.options}
    mcmc = MCMC(NUTS(enumerated_hmm, init_strategy=init_to_median(num_samples=15)),
                num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method="parallel", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), jnp.asarray(case.y),
             extra_fields=("diverging", "num_steps"), **options)
    sites = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    extra = mcmc.get_extra_fields()
    return Fit(columns_of(case, sites), int(np.asarray(extra["diverging"]).sum()),
               time.perf_counter() - start, None, float(np.mean(extra["num_steps"])))


def _from_idata(case: Case, idata, total_s, compile_s) -> Fit:
    post = idata.posterior
    sites = {site: np.asarray(post[site]) for site, _ in case.columns.values()}
    stats = idata.sample_stats
    steps = float(np.asarray(stats["n_steps"]).mean()) if "n_steps" in stats else None
    return Fit(columns_of(case, sites), int(np.asarray(stats["diverging"]).sum()), total_s,
               compile_s, steps)


def pymc_fit(case: Case, warmup, draws, chains, seed) -> Fit:
    import pymc as pm
    from _peer_models import PYMC_MODELS

    start = time.perf_counter()
    with PYMC_MODELS[case.family](case.y, case.options):
        idata = pm.sample(draws=draws, tune=warmup, chains=chains, random_seed=seed,
                          progressbar=False, compute_convergence_checks=False)
    return _from_idata(case, idata, time.perf_counter() - start, None)


def nutpie_fit(case: Case, warmup, draws, chains, seed) -> Fit:
    import nutpie
    from _peer_models import PYMC_MODELS

    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(PYMC_MODELS[case.family](case.y, case.options),
                                         backend="jax", gradient_backend="jax")
    compile_s = time.perf_counter() - start
    idata = nutpie.sample(compiled, draws=draws, tune=warmup, chains=chains, seed=seed,
                          progress_bar=False)
    return _from_idata(case, idata, time.perf_counter() - start, compile_s)


DESCRIPTIONS = {
    "numpyro": "this package: scripts/fit.py {family} (the fit command's sample_posterior, "
               "4 chains parallel, the family's starts, fast XLA:CPU compile options)",
    "numpyro-priors-only": "the numpyro row's set-up with the likelihood masked: NumPyro's "
                           "NUTS program on the priors alone (the floor; its ESS is of the "
                           "prior)",
    "numpyro-trivial": "the numpyro row's set-up on a 3-d standard normal: NumPyro's NUTS "
                       "program around the smallest model (the compile floor; its ESS is of "
                       "that normal)",
    "numpyro-enumeration": "NumPyro's enumeration HMM (scan + enumerated Categorical, "
                           "funsor), NUTS defaults, 4 chains parallel",
    "nutpie": "nutpie (JAX backend) on the PyMC model",
    "pymc": "PyMC pm.sample defaults (C backend) on the PyMC model",
}


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("garch", "sv", "hmm-k2", "hmm-k3", "sir",
                                           "renewal"), required=True)
    parser.add_argument("--sampler", choices=SAMPLERS, required=True)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    case = build_case(args.case)
    base = {"job": "family", "case": args.case, "title": case.title, "sampler": args.sampler,
            "warmup": args.warmup, "draws": args.draws, "chains": args.chains,
            "num_steps": int(len(case.y)),
            "description": DESCRIPTIONS[args.sampler].format(family=case.family)}
    if args.sampler == "numpyro-enumeration" and case.family != "hmm":
        parser.error("--sampler numpyro-enumeration is for the HMM cases")
    if args.sampler in NEEDS:
        try:
            __import__(NEEDS[args.sampler])
        except ImportError as error:
            write_result(args.json, {**base, "skipped": True,
                                     "reason": f"{NEEDS[args.sampler]} is not importable "
                                               f"here ({error})"})
            log(f"skipped: {error}")
            return
    if args.sampler in ("pymc", "nutpie"):
        os.environ.setdefault("JAX_ENABLE_X64", "1")
    timer = _cli.CompileTimer() if args.sampler not in ("pymc", "nutpie") else None
    log(f"[family] {args.case} {args.sampler} {args.warmup}+{args.draws} x {args.chains}")
    with timer or contextlib.nullcontext():
        if args.sampler == "numpyro-trivial":
            fit = trivial_fit(args.warmup, args.draws, args.chains, args.seed)
        elif args.sampler.startswith("numpyro") and args.sampler != "numpyro-enumeration":
            fit = fit_command_fit(case, args.warmup, args.draws, args.chains, args.seed,
                                  priors_only=args.sampler == "numpyro-priors-only")
        elif args.sampler == "numpyro-enumeration":
            fit = enumeration_fit(case, args.warmup, args.draws, args.chains, args.seed)
        elif args.sampler == "pymc":
            fit = pymc_fit(case, args.warmup, args.draws, args.chains, args.seed)
        else:
            fit = nutpie_fit(case, args.warmup, args.draws, args.chains, args.seed)
    compile_s = fit.compile_s
    if timer is not None and compile_s is None:
        compile_s = timer.seconds

    import _arviz_io  # after the fit: ArviZ takes seconds to import

    ess = _arviz_io.bulk_ess(fit.draws)
    rhat = _arviz_io.rhat(fit.draws)
    moments = _arviz_io.mean_and_mcse(fit.draws)
    result = {**base, "total_s": fit.total_s, "compile_s": compile_s,
              "min_bulk_ess": min(ess.values()), "bulk_ess": ess,
              "ess_per_s": min(ess.values()) / fit.total_s, "divergences": fit.divergences,
              "max_rhat": max(rhat.values()), "steps_per_draw": fit.steps_per_draw,
              "means": {k: m for k, (m, _) in moments.items()},
              "mcse": {k: s for k, (_, s) in moments.items()}}
    if case.posteriordb and args.sampler not in ("numpyro-priors-only", "numpyro-trivial"):
        from models.posteriordb import REFERENCE_POSTERIORS, load_reference, z_scores

        reference = load_reference(case.posteriordb)
        spec = REFERENCE_POSTERIORS[case.posteriordb].parameters
        ours = {ref: f"{site}[{','.join(map(str, np.atleast_1d(index)))}]"
                for ref, (site, index) in spec.items()}
        z = z_scores({ref: result["means"][label] for ref, label in ours.items()},
                     {ref: result["mcse"][label] for ref, label in ours.items()}, reference)
        result["z_vs_posteriordb"] = z
        result["max_abs_z_posteriordb"] = max(abs(v) for v in z.values())
    log(f"    total {fit.total_s:.1f} s (compile {compile_s or float('nan'):.1f}), min bulk "
        f"ESS {result['min_bulk_ess']:.0f}, ESS/s {result['ess_per_s']:.1f}, divergences "
        f"{fit.divergences}, means {result['means']}")
    write_result(args.json, result)


if __name__ == "__main__":
    main()
