"""The one-program panel fit under several settings side by side in one process (REPORT
section 7.4): the batched likelihood's formulation (the fast path's choice by width,
``models.arma.conditional_fast.WIDE_BATCH``, or the reverse mode of the MA scan at every
width as before), the warm-up tree cap (``NUTSSettings.warmup_max_tree_depth``), the mass
matrix and blocks of series (``batch_size``).

Per configuration: wall and process CPU seconds of ``fit_independent`` (compilation
included), the seconds JAX reports compiling, leapfrog steps per iteration (mean and what
the batch pays: the largest over all chains), divergences, and per series the smallest
bulk ESS over the latent sites (NumPyro's ``effective_sample_size``) and that over the
sampling seconds (wall less compilation) shared by S.

    python scripts/benchmarks/bench_panel_warmup.py --series 200 --configs old new \\
        new+cap5 --json warmup.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for path in (str(ROOT), str(ROOT / "scripts")):
    if path not in sys.path:
        sys.path.insert(0, path)


def parse_config(name: str) -> dict:
    """``old`` / ``new`` (the likelihood's choice), then ``+capD``, ``+diag``, ``+blocksB``.

    Example:
        >>> parse_config("new+cap5+blocks100")
        {'wide': True, 'cap': 5, 'dense': True, 'batch_size': 100}
    """
    parts = name.split("+")
    config = {"wide": parts[0] == "new", "cap": 6, "dense": True, "batch_size": None}
    for part in parts[1:]:
        if part.startswith("cap"):
            config["cap"] = int(part[3:])
        elif part == "diag":
            config["dense"] = False
        elif part.startswith("blocks"):
            config["batch_size"] = int(part[6:])
        else:
            raise ValueError(f"unknown part {part!r} of {name!r}")
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[200])
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=150)
    parser.add_argument("--samples", type=int, default=150)
    parser.add_argument("--configs", nargs="+", default=["old", "new", "new+cap5"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    from _cli.sampling import CompileTimer
    from numpyro.diagnostics import effective_sample_size

    import models.arma.conditional_fast as fast
    from models.panel import NUTSSettings, fit_independent
    from models.panel.simulate import simulate_arma_panel
    from models.registry import FAMILIES

    family = FAMILIES["arma"]
    model = family.variants["conditional"].model
    options = family.default_options("conditional")
    wide_batch = fast.WIDE_BATCH
    rows = []
    for count in args.series:
        y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(0), count, args.length).y)
        per_series = [family.data_defaults(values, "conditional", options) for values in y]
        series_kwargs = {k: np.array([row[k] for row in per_series]) for k in per_series[0]}
        static = {k: v for k, v in options.items() if k not in series_kwargs}
        for name in args.configs:
            config = parse_config(name)
            # read when the batching rule is traced: every configuration compiles anew
            fast.WIDE_BATCH = wide_batch if config["wide"] else 10**9
            settings = NUTSSettings(dense_mass=config["dense"],
                                    warmup_max_tree_depth=config["cap"])
            with CompileTimer() as timer:
                cpu, wall = time.process_time(), time.perf_counter()
                fit = fit_independent(model, y, rng_key=jax.random.PRNGKey(1),
                                      num_warmup=args.warmup, num_samples=args.samples,
                                      num_chains=args.chains, static_kwargs=static,
                                      series_kwargs=series_kwargs,
                                      init_strategy=family.init_strategy(),
                                      settings=settings, batch_size=config["batch_size"])
                jax.block_until_ready(fit.samples)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            ess = np.full(count, np.inf)
            for draws in fit.samples.values():
                flat = np.asarray(draws).reshape(count, args.chains, args.samples, -1)
                ess = np.minimum(ess, np.array([effective_sample_size(d).min() for d in flat]))
            warm, steps = np.asarray(fit.warmup_num_steps), np.asarray(fit.num_steps)
            sampling = wall - timer.seconds
            row = {"config": name, **config, "series": count, "wall_s": wall, "cpu_s": cpu,
                   "compile_s": timer.seconds, "sampling_s": sampling,
                   "warmup_mean_leapfrog": float(warm.mean()),
                   "warmup_batch_leapfrog": float(warm.max(axis=(0, 1)).mean()),
                   "mean_leapfrog_per_draw": float(steps.mean()),
                   "batch_leapfrog_per_draw": float(steps.max(axis=(0, 1)).mean()),
                   "divergences": int(np.asarray(fit.diverging).sum()),
                   "warmup_divergences": int(np.asarray(fit.warmup_diverging).sum()),
                   "ess_min_median": float(np.median(ess)), "ess_min_min": float(ess.min()),
                   "ess_per_s_per_series": float(np.median(ess)) * count / sampling,
                   "load_average_1_5_15": list(os.getloadavg())}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if args.json:
                args.json.write_text(json.dumps({"rows": rows, "argv": sys.argv[1:]}, indent=1))
    fast.WIDE_BATCH = wide_batch


if __name__ == "__main__":
    main()
