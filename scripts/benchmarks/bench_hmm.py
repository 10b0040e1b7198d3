"""Gaussian HMM: this package's forward algorithm against NumPyro's enumeration and dynamax.

Two cases (issue 15): posteriordb's hmm_example (K = 2, T = 100, sd 1, uniform start) and a
simulated series (K = 3, T = 2,000). Both use one posterior, written twice:

* ``ours``: :func:`models.hmm.gaussian_hmm_model` (states summed out by
  :func:`patterns.sequential.hmm_filter`; ``--scan parallel`` for the other twin);
* ``numpyro enumeration``: the way NumPyro's HMM examples write it: the states as
  ``Categorical`` sites inside ``numpyro.contrib.control_flow.scan`` (a ``markov`` chain),
  summed out by ``config_enumerate`` / ``TraceEnum_ELBO``'s machinery in NUTS.

Figures:

* ``logp_grad_us``: one jitted log density + gradient at the same point, per call (best of
  ``--repeats``): the whole model's potential for ours (sequential and parallel) and the
  enumerated model on the two cases; and the forward pass alone on a grid (K = 2, 3, 5 x
  T = 100, 2,000, 10,000): ``dynamax.hidden_markov_model.hmm_filter`` against our
  ``hmm_log_likelihood`` (sequential and parallel) and log-space ``hmm_filter``, gradient
  w.r.t. the means and the transition matrix. Values and gradients are compared with the
  group's first row (``value_rel_diff``, ``grad_rel_diff``) so nothing wrong is timed;
* ``ess_per_s``: NUTS, ``--chains`` x ``--samples`` after ``--warmup``, same seed; the
  smallest bulk ESS over the parameters divided by the sampling wall time of a second
  run from the first one's end (the sampler is compiled and cached by the first).

The PyMC rows (the forward algorithm in PyTensor) are ESS/s rows of ``bench_families.py``;
this job reports them as skipped.

    python scripts/benchmarks/bench_hmm.py --json out.json
"""

import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from _common import (  # noqa: E402
    best_time_per_call,
    hmm_series_k3,
    job_parser,
    log,
    write_result,
)
from _peer_models import enumerated_hmm  # noqa: E402
from jax.scipy.special import gammaln  # noqa: E402
from numpyro.diagnostics import effective_sample_size  # noqa: E402
from numpyro.distributions import constraints  # noqa: E402
from numpyro.distributions.transforms import biject_to  # noqa: E402
from numpyro.infer import MCMC, NUTS, init_to_median  # noqa: E402
from numpyro.infer.util import constrain_fn, initialize_model  # noqa: E402

from models.hmm import gaussian_hmm_model  # noqa: E402
from models.posteriordb import load_data  # noqa: E402


def cases(seed: int):
    y100 = np.asarray(load_data("hmm_example-hmm_example")["y"], float)
    return [
        ("hmm_example K=2 T=100", y100,
         {"states": 2, "mu_loc": (3.0, 10.0), "mu_scale": 1.0, "positive_means": True}),
        ("simulated K=3 T=2000", hmm_series_k3(2000, seed),
         {"states": 3, "mu_loc": 0.0, "mu_scale": 5.0, "positive_means": False}),
    ]


def ours(scan):
    def model(y, **options):
        gaussian_hmm_model(y, initial="fixed", sigma=1.0, scan=scan, **options)
    return model


def logp_grad(model, y, options, key):
    info = initialize_model(key, model, model_kwargs={"y": jnp.asarray(y), **options},
                            init_strategy=init_to_median(num_samples=15))
    potential = jax.jit(jax.value_and_grad(info.potential_fn))
    return potential, info.param_info.z


#: the forward-pass grid against dynamax: K states x T steps
GRID_STATES = (2, 3, 5)
GRID_LENGTHS = (100, 2000, 10000)


def forward_pass_rows(num_states: int, num_steps: int, repeats: int, dynamax_filter,
                      seed: int = 0) -> list[dict]:
    """logp + gradient (w.r.t. the means and the transition matrix) of the forward pass
    alone, one jitted call each, on the same arrays: dynamax's ``hmm_filter`` first, then
    ours (``hmm_log_likelihood``, what the family's likelihood calls: sequential (the
    scaled forward pass) and parallel (the associative scan in log space)), then our
    log-space ``hmm_filter``. The series: a simulated K-state HMM (sticky, unit-sd Gaussian
    emissions 3 apart)."""
    from patterns import parallel, sequential

    rng = np.random.default_rng(seed + 100 * num_states + num_steps)
    A = jnp.asarray(0.8 * np.eye(num_states) + 0.2 * rng.dirichlet(np.ones(num_states),
                                                                    num_states))
    pi = jnp.full(num_states, 1.0 / num_states)
    mu = jnp.arange(num_states) * 3.0
    states = np.zeros(num_steps, int)
    for t in range(1, num_steps):
        states[t] = rng.choice(num_states, p=np.asarray(A[states[t - 1]]))
    y = jnp.asarray(np.asarray(mu)[states] + rng.normal(size=num_steps))

    def emissions(mu):
        return dist.Normal(mu[None, :], 1.0).log_prob(y[:, None])

    def theirs(mu, A):
        with jax.numpy_rank_promotion("allow"):
            return dynamax_filter(pi, A, emissions(mu)).marginal_loglik

    candidates = [("dynamax hmm_filter", theirs),
                  ("ours hmm_log_likelihood, sequential (scaled forward pass)",
                   lambda mu, A: sequential.hmm_log_likelihood(pi, A, emissions(mu))),
                  ("ours hmm_log_likelihood, parallel (associative scan, log space)",
                   lambda mu, A: parallel.hmm_log_likelihood(pi, A, emissions(mu))),
                  ("ours hmm_filter, sequential (log space)",
                   lambda mu, A: sequential.hmm_filter(pi, A, emissions(mu)).log_likelihood)]
    label = f"forward pass K={num_states} T={num_steps:,}"
    rows, reference = [], None
    for name, fn in candidates:
        f = jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))
        value, grads = jax.block_until_ready(f(mu, A))
        flat = np.concatenate([np.ravel(g) for g in grads])
        if reference is None:
            reference = (float(value), flat)
        seconds = best_time_per_call(lambda f=f: f(mu, A), repeats=repeats,
                                     block=jax.block_until_ready)
        rows.append({"case": label, "name": name, "logp_grad_us": seconds * 1e6,
                     "value_rel_diff": abs(float(value) - reference[0]) / abs(reference[0]),
                     "grad_rel_diff": float(np.max(np.abs(flat - reference[1]))
                                            / np.max(np.abs(reference[1])))})
    log(f"{label:30s} logp+grad us: "
        + ", ".join(f"{r['name'].split(',')[0].split(' (')[0]} {r['logp_grad_us']:.0f}"
                    for r in rows))
    return rows


def main() -> None:
    parser = job_parser(__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-nuts", action="store_true", help="time logp + grad only")
    args = parser.parse_args()
    key = jax.random.PRNGKey(args.seed)
    rows, skipped = [], [{"name": "pymc", "reason": "PyMC's HMM is timed by bench_families.py "
                                                "(ESS/s rows)"}]
    try:
        from dynamax.hidden_markov_model import hmm_filter as dynamax_filter
    except ImportError as error:
        dynamax_filter = None
        skipped.append({"name": "dynamax", "reason": f"not importable: {error}"})
    for label, y, options in cases(args.seed):
        models = {"ours (sequential)": ours("sequential"), "ours (parallel)": ours("parallel"),
                  "numpyro enumeration": enumerated_hmm}
        # one point for every model: the same means (sorted) and transition matrix, in
        # each model's own unconstrained coordinates (ours samples the means unordered and
        # sorts them, the enumerated model samples them ordered)
        kwargs = {"y": jnp.asarray(y), **options}
        _, start = logp_grad(models["ours (sequential)"], y, options, key)
        constrained = constrain_fn(models["ours (sequential)"], (), kwargs, start)
        means = jnp.sort(constrained["mu_unordered"])
        transition = constrained["transition_matrix"]
        positive = options["positive_means"]
        reference = None
        for name, model in models.items():
            potential, _ = logp_grad(model, y, options, key)
            ordered = model is enumerated_hmm
            support = ((constraints.positive_ordered_vector if positive
                        else constraints.ordered_vector) if ordered
                       else (constraints.independent(constraints.positive, 1) if positive
                             else constraints.real_vector))
            maps = {"mu" if ordered else "mu_unordered": (biject_to(support), means),
                    "transition_matrix": (biject_to(constraints.simplex), transition)}
            point = {site: f.inv(value) for site, (f, value) in maps.items()}
            value, grad = potential(point)
            # the log joint in the constrained coordinates: minus the potential, less the
            # transforms' log Jacobians; ours scores the K! orderings of the means, the
            # ordered law their sum: log K! apart
            log_jacobian = sum(float(jnp.sum(f.log_abs_det_jacobian(point[site], value)))
                               for site, (f, value) in maps.items())
            joint = -float(value) - log_jacobian + (
                0.0 if ordered else float(gammaln(options["states"] + 1.0)))
            if reference is None:
                reference = joint
            value_diff = abs(joint - reference) / abs(reference)
            seconds = best_time_per_call(lambda p=potential, x=point: p(x), repeats=args.repeats,
                                         block=jax.block_until_ready)
            row = {"case": label, "name": name, "logp_grad_us": seconds * 1e6,
                   "value_rel_diff": value_diff}
            if args.no_nuts:
                log(f"{label:24s} {name:22s} logp+grad {row['logp_grad_us']:9.1f} us  "
                    f"(value diff {value_diff:.1e})")
                rows.append(row)
                continue
            # options bound, y the only (jitted) argument, so the compiled sampler is
            # cached: the first run compiles, the second (timed) one only samples
            bound = functools.partial(model, **options)
            start = time.perf_counter()
            mcmc = MCMC(NUTS(bound, init_strategy=init_to_median(num_samples=15)),
                        num_warmup=args.warmup, num_samples=args.samples,
                        num_chains=args.chains, chain_method="sequential", progress_bar=False,
                        jit_model_args=True)
            mcmc.warmup(key, jnp.asarray(y), collect_warmup=False)
            mcmc.run(mcmc.post_warmup_state.rng_key, jnp.asarray(y))
            compile_and_warmup = time.perf_counter() - start
            mcmc.post_warmup_state = mcmc.last_state
            start = time.perf_counter()
            mcmc.run(mcmc.post_warmup_state.rng_key, jnp.asarray(y))
            jax.block_until_ready(mcmc.get_samples())
            sampling = time.perf_counter() - start
            draws = mcmc.get_samples(group_by_chain=True)
            ess = min(float(np.min(effective_sample_size(np.asarray(draws[site]))))
                      for site in ("mu", "transition_matrix"))
            row.update(ess_min=ess, sampling_s=sampling, warmup_s=compile_and_warmup,
                       ess_per_s=ess / sampling,
                       mu_mean=np.asarray(draws["mu"]).mean(axis=(0, 1)).tolist())
            log(f"{label:24s} {name:22s} logp+grad {row['logp_grad_us']:9.1f} us  "
                f"ESS/s {row['ess_per_s']:9.1f}  (value diff {value_diff:.1e})")
            rows.append(row)
    if dynamax_filter is not None:
        for num_states in GRID_STATES:
            for num_steps in GRID_LENGTHS:
                rows += forward_pass_rows(num_states, num_steps, args.repeats, dynamax_filter,
                                          args.seed)
    write_result(args.json, {"job": "hmm", "rows": rows, "skipped": skipped,
                             "settings": vars(args) | {"json": str(args.json)}})


if __name__ == "__main__":
    main()
