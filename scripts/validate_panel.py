r"""
Validate the hierarchical ARMA by simulation: coverage of the population parameters
===================================================================================

``python scripts/validate_panel.py [--seeds N] [--first-seed K] [--series S] [--length T]
[--json PATH]``; ``--merge A.json B.json ...`` reports runs on other seeds together (run
seeds side by side in several processes, then merge).

Draws N panels of S ARMA(1, 1) series of length T from a known population
(:func:`models.panel.simulate.simulate_arma_panel`, :class:`~models.panel.simulate.Population`'s
defaults), fits the hierarchical model (:data:`models.arma.hierarchical.HIERARCHICAL_ARMA`,
the model ``fit.py arma --hierarchical`` runs) to every panel, with NUTS at NumPyro's
default settings (target acceptance 0.8, tree depth 10) and the family's starting points,
and counts how many of the 90 % central intervals of the six population parameters
(``ar_loc``, ``ar_scale``, ``ma_loc``, ``ma_scale``, ``log_sigma_loc``, ``log_sigma_scale``)
cover the value the panels were drawn with, and the divergent transitions.

The N fits share one NumPyro ``MCMC`` with ``jit_model_args=True``, the panels its
arguments. NumPyro 0.22 still compiles its sampling loop again on every run and for every
(sequential) chain, the same program each time: with ``JAX_COMPILATION_CACHE_DIR`` set (the
test suite sets it) the repeats are a cache lookup instead. (Not one ``vmap``-ped program
over seeds: a batched NUTS iteration lasts as long as the deepest tree of every chain of
every seed, and on CPU that made the 4-seed run slower than the loop: more than 6.6
CPU-minutes against about 4.) Prints the
count (expected: 90 % of 6 N; the binomial 1 % lower bound is printed beside it) and exits 1
when fewer intervals cover than that bound or a transition diverged.
``tests/test_panel_hierarchical.py`` runs it with 2 small panels.

    python scripts/validate_panel.py --seeds 20 --series 16 --length 100 \
        --json docs/figures/validate_panel.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from _cli import threads  # noqa: F401  (one BLAS thread per process, before NumPy loads)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LEVEL = 0.9


def binomial_lower_bound(trials: int, probability: float, tail: float = 0.01) -> int:
    """The largest k with P(Binomial(trials, probability) < k) <= ``tail``.

    Example:
        >>> binomial_lower_bound(24, 0.9)
        18
    """
    cumulative, bound = 0.0, 0
    for k in range(trials + 1):
        mass = math.comb(trials, k) * probability**k * (1 - probability) ** (trials - k)
        if cumulative + mass > tail:
            break
        cumulative += mass
        bound = k + 1
    return bound


def coverage(seeds: Sequence[int], *, num_series: int, length: int, warmup: int,
             samples: int, chains: int) -> dict:
    """Fit the hierarchical ARMA(1, 1) to one simulated panel per seed (one ``MCMC``);
    return the counts, the misses and the divergences (a JSON-ready dict)."""
    from functools import partial

    import jax
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    from models.arma.hierarchical import HIERARCHICAL_ARMA, POPULATION_SITES
    from models.panel.simulate import Population, simulate_arma_panel
    from models.registry import FAMILIES

    truth_population = Population()
    truth = {name: getattr(truth_population, name) for name in POPULATION_SITES}
    draws: dict[str, list] = {name: [] for name in POPULATION_SITES}
    divergences, step_sizes = [], []
    with jax.enable_x64(True):
        # one MCMC (jit_model_args): the seeds' panels are its arguments
        mcmc = MCMC(NUTS(partial(HIERARCHICAL_ARMA.model, order=(1, 1)),
                         init_strategy=FAMILIES["arma"].init_strategy()),
                    num_warmup=warmup, num_samples=samples, num_chains=chains,
                    chain_method="sequential", jit_model_args=True, progress_bar=False)
        for seed in seeds:
            panel = np.asarray(simulate_arma_panel(jax.random.PRNGKey(seed), num_series,
                                                   length).y)
            defaults = HIERARCHICAL_ARMA.data_defaults(panel, {})
            mcmc.run(jax.random.PRNGKey(100 + seed), jax.numpy.asarray(panel),
                     **{k: jax.numpy.asarray(v) for k, v in defaults.items()},
                     extra_fields=("diverging", "adapt_state.step_size"))
            extra = mcmc.get_extra_fields(group_by_chain=True)
            divergences.append(int(np.asarray(extra["diverging"]).sum()))
            step_sizes.append(np.asarray(extra["adapt_state.step_size"])[:, -1].tolist())
            for name, value in mcmc.get_samples(group_by_chain=True).items():
                if name in draws:
                    draws[name].append(np.asarray(value))
    draws = {name: np.stack(values) for name, values in draws.items()}  # (N, C, D, ...)
    covered, misses, total = 0, [], 0
    for index, seed in enumerate(seeds):
        for name in POPULATION_SITES:
            values = draws[name][index].reshape(chains * samples, -1)[:, 0]
            low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
            total += 1
            if low <= truth[name] <= high:
                covered += 1
            else:
                misses.append({"seed": int(seed), "parameter": name, "low": float(low),
                               "high": float(high), "truth": truth[name]})
    return {"seeds": [int(seed) for seed in seeds], "series": num_series, "length": length,
            "warmup": warmup, "samples": samples, "chains": chains, "level": LEVEL,
            "intervals": total, "covered": covered,
            "covered_per_parameter": {name: len(seeds) - sum(miss["parameter"] == name
                                                             for miss in misses)
                                      for name in POPULATION_SITES},
            "lower_bound_1pct": binomial_lower_bound(total, LEVEL),
            "divergences_per_seed": divergences,
            "step_size": step_sizes, "missed": misses,
            "truth": truth}


def merge(results: Sequence[dict]) -> dict:
    """One result from the results of several runs on other seeds (the same settings):
    seeds run in separate processes, side by side.

    Example:
        >>> one = {"seeds": [0], "series": 4, "length": 50, "warmup": 10, "samples": 10,
        ...        "chains": 1, "level": 0.9, "intervals": 6, "covered": 5,
        ...        "covered_per_parameter": {"ar_loc": 0, "ma_loc": 1},
        ...        "divergences_per_seed": [0], "step_size": [[0.1]],
        ...        "missed": [{"seed": 0, "parameter": "ar_loc"}], "truth": {}}
        >>> two = dict(one, seeds=[1], covered=6, missed=[],
        ...            covered_per_parameter={"ar_loc": 1, "ma_loc": 1})
        >>> out = merge([one, two])
        >>> out["covered"], out["intervals"], out["covered_per_parameter"]["ar_loc"]
        (11, 12, 1)
    """
    settings = ("series", "length", "warmup", "samples", "chains", "level")
    first = results[0]
    for result in results[1:]:
        if any(result[key] != first[key] for key in settings):
            raise ValueError(f"merge: results with other settings: "
                             f"{ {key: result[key] for key in settings} } vs "
                             f"{ {key: first[key] for key in settings} }")
    ordered = sorted(results, key=lambda result: result["seeds"][0])
    out = {key: first[key] for key in (*settings, "truth")}
    for key in ("seeds", "divergences_per_seed", "step_size", "missed"):
        out[key] = [item for result in ordered for item in result[key]]
    out["intervals"] = sum(result["intervals"] for result in results)
    out["covered"] = sum(result["covered"] for result in results)
    out["covered_per_parameter"] = {  # from the misses (runs of older versions lack it)
        name: len(out["seeds"]) - sum(miss["parameter"] == name for miss in out["missed"])
        for name in first.get("covered_per_parameter", first["truth"])}
    out["lower_bound_1pct"] = binomial_lower_bound(out["intervals"], first["level"])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="number of panels (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--series", type=int, default=16, help="S per panel (default 16)")
    parser.add_argument("--length", type=int, default=100, help="T (default 100)")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="fit nothing: merge the --json results of runs on other seeds "
                        "(run side by side) and report them together")
    args = parser.parse_args(argv)
    if args.merge:
        result = merge([json.loads(path.read_text()) for path in args.merge])
        args.seeds, args.series, args.length = (len(result["seeds"]), result["series"],
                                                result["length"])
        args.warmup, args.samples, args.chains = (result["warmup"], result["samples"],
                                                  result["chains"])
        return _report(args, result)
    if min(args.seeds, args.series, args.length, args.warmup, args.samples) < 1 \
            or args.chains < 1:
        parser.error("--seeds, --series, --length, --warmup, --samples and --chains must be "
                     ">= 1")
    result = coverage(range(args.first_seed, args.first_seed + args.seeds),
                      num_series=args.series, length=args.length, warmup=args.warmup,
                      samples=args.samples, chains=args.chains)
    return _report(args, result)


def _report(args: argparse.Namespace, result: dict) -> int:
    """Print the count (and write ``--json``); 0 when it passes."""
    divergences = sum(result["divergences_per_seed"])
    print(f"hierarchical ARMA(1,1), {args.seeds} panels of S = {args.series} x T = "
          f"{args.length}, {args.chains} chains x {args.samples} draws after {args.warmup} "
          f"warm-up: {result['covered']} of {result['intervals']} population 90 % intervals "
          f"cover the truth (1 % binomial lower bound {result['lower_bound_1pct']}); "
          f"divergences: {divergences}")
    print("  covered per parameter: " + ", ".join(
        f"{name} {count}/{len(result['seeds'])}"
        for name, count in result["covered_per_parameter"].items()))
    for miss in result["missed"]:
        print(f"  missed: seed {miss['seed']} {miss['parameter']} "
              f"[{miss['low']:.3f}, {miss['high']:.3f}] vs {miss['truth']}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if result["covered"] >= result["lower_bound_1pct"] and divergences == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
