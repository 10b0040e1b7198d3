"""Many ARMA(1, 1) series: the one-program fit (``models.panel.fit_independent``) against
looping a per-series fit, and against statsforecast's ARIMA maximum likelihood.

Rows (wall time, compilation included, for S series of length T):

* ``one program``: every series' own NUTS posterior in one compiled program, measured at each
  S of ``--series`` (the CPU scaling curve); at ``--target-series`` extrapolated linearly from
  the two largest measured S when it was not measured (said in the row).
* ``loop: functional NUTS compiled once``: the best loop a Python program can write: the
  one-program fit's own NUTS program for S = 1 (``models.panel.independent_sampler``),
  compiled once, then called on each series in turn (no tracing, no compilation after the
  first: the row records the compilation seconds of the later calls); same kernel, same
  settings (``--dense-mass`` or not), so the ratio is what batching the series buys.
  Timed on ``--loop-series`` series, extrapolated to the target S.
* ``loop: fit command``: the fit command's own sampling function
  (``_cli.fit_command.sample_posterior``: a fresh NumPyro ``MCMC``, so a fresh compilation,
  per series, NumPyro's default diagonal mass matrix), timed on ``--command-loop-series``
  series and extrapolated.
* ``loop: one MCMC, jit_model_args``: one NumPyro ``MCMC`` with ``jit_model_args=True``, data
  swapped. NumPyro 0.22 still traces and compiles again on every ``run`` (``HMC.init``
  builds a new kernel and initial state for the new arguments; the row records the
  compilation seconds per series), so this is not "compiled once"; timed on
  ``--command-loop-series`` series.
* ``statsforecast ARIMA MLE`` and ``nutpie loop`` (PyMC model compiled once, data swapped):
  run by ``--peer-python`` (a Python with those packages, e.g. ``/work/benchvenv``) on all
  target series (statsforecast) or a few, extrapolated (nutpie); skipped with the reason when
  not importable there.

``--blocks-only B`` times only the one program, three ways side by side at each S: one
``vmap`` of all series, blocks of B series in the series order, and blocks of B regrouped by
tree depth (``fit_independent(..., batch_size=B, regroup=True)``), with the leapfrog steps
the batches pay (:func:`batched_steps`, each block paying its deepest tree) against the mean
the chains need (``work_ratio``; REPORT section 7.1).

Prints a table; ``--json PATH`` writes every figure. Speed is never asserted.

    python scripts/benchmarks/bench_panel.py --series 25 50 100 --target-series 1000 \\
        --length 200 --loop-series 3 --peer-python /work/benchvenv/bin/python
    python scripts/benchmarks/bench_panel.py --likelihood conditional --chains 2 \\
        --warmup 150 --samples 150 --dense-mass --series 1000 --blocks-only 100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for path in (str(ROOT), str(ROOT / "scripts")):
    if path not in sys.path:
        sys.path.insert(0, path)


def _peer(kind: str, data: str, draws: int, count: int, warmup: int = 1000,
          chains: int = 4) -> None:
    """Run in ``--peer-python``: time ``kind`` on the panel in ``data`` (.npy); print JSON."""
    y = np.load(data)
    result: dict = {"name": kind}
    start = time.perf_counter()
    if kind == "statsforecast":
        import pandas as pd
        from statsforecast import StatsForecast
        from statsforecast.models import ARIMA

        frame = pd.DataFrame({"unique_id": np.repeat(np.arange(len(y)), y.shape[1]),
                              "ds": np.tile(np.arange(y.shape[1]), len(y)),
                              "y": y.ravel()})
        model = StatsForecast(models=[ARIMA(order=(1, 0, 1), include_mean=True)], freq=1,
                              n_jobs=1)
        model.fit(frame)
        result.update(series=len(y), wall_s=time.perf_counter() - start)
    elif kind == "nutpie":
        import nutpie
        import pymc as pm
        import pytensor

        # conditional ARMA(1, 1) (errors by a scan, e_1 = y_1 - mu): a peer of the same
        # size, not the exact likelihood
        with pm.Model() as model:
            data = pm.Data("y", y[0])
            mu = pm.Normal("mu", float(y[0].mean()), 10 * float(y[0].std()))
            phi = pm.Uniform("phi", -1, 1)
            theta = pm.Uniform("theta", -1, 1)
            sigma = pm.HalfCauchy("sigma", float(y[0].std()))
            centred = data - mu
            errors, _ = pytensor.scan(
                lambda x_t, x_prev, e_prev, phi, theta: x_t - phi * x_prev - theta * e_prev,
                sequences=[centred[1:], centred[:-1]], outputs_info=[centred[0]],
                non_sequences=[phi, theta])
            pm.Potential("loglik", pm.logp(pm.Normal.dist(0, sigma), errors).sum()
                         + pm.logp(pm.Normal.dist(0, sigma), centred[0]))
        compiled = nutpie.compile_pymc_model(model)
        compile_s = time.perf_counter() - start
        per_series = []
        for s in range(count):
            begin = time.perf_counter()
            nutpie.sample(compiled.with_data(y=y[s]), draws=draws, tune=warmup,
                          chains=chains, cores=1, progress_bar=False)
            per_series.append(time.perf_counter() - begin)
        result.update(series=count, wall_s=time.perf_counter() - start, compile_s=compile_s,
                      per_series_s=per_series)
    print(json.dumps(result))


def _run_peer(python: str, kind: str, y: np.ndarray, draws: int, count: int,
              warmup: int = 1000, chains: int = 4) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data = str(Path(folder) / "panel.npy")
        np.save(data, y)
        process = subprocess.run(
            [python, __file__, "--peer", kind, "--peer-data", data, "--samples", str(draws),
             "--warmup", str(warmup), "--chains", str(chains), "--loop-series", str(count)],
            capture_output=True, text=True, timeout=3600)
    if process.returncode != 0:
        last = (process.stderr.strip().splitlines() or ["no output"])[-1]
        return {"name": kind, "skipped": f"{python}: {last}"}
    return json.loads(process.stdout.strip().splitlines()[-1])


def blocks_of(order: np.ndarray, batch_size: int | None) -> list[np.ndarray]:
    """The blocks of series the one program runs together, as ``fit_independent`` cuts
    them: consecutive series of ``order``, the last block padded with the first of
    ``order`` (``batch_size=None``: one block of all).

    Example:
        >>> [block.tolist() for block in blocks_of(np.array([2, 0, 1]), 2)]
        [[2, 0], [1, 2]]
    """
    order = np.asarray(order)
    if batch_size is None or batch_size >= len(order):
        return [order]
    count = -(-len(order) // batch_size)
    padded = np.concatenate([order, order[:count * batch_size - len(order)]])
    return list(padded.reshape(count, batch_size))


def batched_steps(steps: np.ndarray, blocks: list[np.ndarray]) -> float:
    """Leapfrog steps a batched iteration pays, per series: every block of series waits
    for the deepest tree among its series' chains, and pays it for each of its members
    (padding included); the mean over iterations, divided by S. ``steps``: (S, C, N).

    Example:
        >>> steps = np.array([[[1, 1]], [[7, 3]], [[1, 1]], [[7, 7]]])  # S = 4, C = 1
        >>> batched_steps(steps, [np.arange(4)]), batched_steps(steps, [np.array([0, 2]),
        ...                                                          np.array([1, 3])])
        (7.0, 4.0)
    """
    paid = sum(len(block) * steps[block].reshape(-1, steps.shape[-1]).max(axis=0).mean()
               for block in blocks)
    return float(paid / steps.shape[0])


def _ratios(rows: list[dict], target: int) -> dict:
    """The issue's two goals at S = ``target``: the one-program fit against the best Bayesian
    loop (goal >= 20 x faster) and against statsforecast's MLE (goal: within 10 x)."""
    def wall(name_start: str) -> list[float]:
        return [row["wall_s"] for row in rows if row.get("name", "").startswith(name_start)
                and row.get("series") == target and "wall_s" in row]

    one = wall("one program")
    loops = wall("loop:")
    mle = wall("statsforecast")
    ratios: dict = {}
    lines = []
    if one and loops:
        ratios["best_loop_over_one_program"] = min(loops) / one[0]
        lines.append(f"best Bayesian loop / one program at S = {target}: "
                     f"{ratios['best_loop_over_one_program']:.1f} x (goal >= 20)")
    if one and mle:
        ratios["one_program_over_statsforecast"] = one[0] / mle[0]
        lines.append(f"one program / statsforecast MLE at S = {target}: "
                     f"{ratios['one_program_over_statsforecast']:.1f} x (goal <= 10)")
    return {"ratios": ratios, "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--target-series", type=int, default=1000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--likelihood", default="exact",
                        choices=("exact", "conditional", "conditional-reference"))
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--loop-series", type=int, default=20,
                        help="series timed in the loops compiled once (MCMC, nutpie)")
    parser.add_argument("--command-loop-series", type=int, default=5,
                        help="series timed in the loop of the fit command's sampling "
                        "function (a compilation per series)")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="a Python with statsforecast, PyMC and nutpie (default: this "
                        "one); 'none' skips them")
    parser.add_argument("--dense-mass", action="store_true",
                        help="a dense mass matrix per series in the one program and the "
                        "loops compiled once (default: diagonal, models.panel's default)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the one program runs blocks of this many series one after the "
                        "other (fit_independent's batch_size; default: all S in one vmap)")
    parser.add_argument("--regroup", action="store_true",
                        help="with --batch-size: after warm-up, re-sort the series by their "
                        "warm-up tree depth before cutting them into blocks "
                        "(fit_independent's regroup)")
    parser.add_argument("--blocks-only", type=int, default=None, metavar="B",
                        help="only the one program, at each S of --series, three ways side "
                        "by side: all S in one vmap, blocks of B series, blocks of B "
                        "regrouped after warm-up; with the batched leapfrog work against "
                        "the work the chains need")
    parser.add_argument("--peer", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--peer-data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.peer:
        _peer(args.peer, args.peer_data, args.samples, args.loop_series, args.warmup,
              args.chains)
        return

    import jax

    jax.config.update("jax_enable_x64", True)
    from functools import partial

    from _cli.arguments import SamplerSettings
    from _cli.fit_command import sample_posterior
    from _cli.sampling import CompileTimer
    from numpyro.infer import MCMC, NUTS

    from models.panel import NUTSSettings, fit_independent, independent_sampler, phase_orders
    from models.panel.simulate import simulate_arma_panel
    from models.registry import FAMILIES

    family = FAMILIES["arma"]
    variant = args.likelihood
    model = family.variants[variant].model
    options = family.default_options(variant)
    largest = max(max(args.series), args.target_series, args.loop_series)
    y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(0), largest, args.length).y)
    rows: list[dict] = []
    nuts_settings = NUTSSettings(dense_mass=args.dense_mass)
    mass = "dense" if args.dense_mass else "diagonal"

    def dump(ratios: dict | None = None, final: bool = False) -> None:
        """Write every figure so far to ``--json`` (after each row: a run cut short keeps
        what it measured)."""
        if not args.json:
            return
        import os

        args.json.write_text(json.dumps({
            "job": "panel", "length": args.length, "likelihood": variant,
            "chains": args.chains, "warmup": args.warmup, "samples": args.samples,
            "target_series": args.target_series, "mass_matrix": mass,
            "warmup_max_tree_depth": nuts_settings.warmup_max_tree_depth,
            "max_tree_depth": nuts_settings.max_tree_depth,
            "batch_size": args.batch_size, "regroup": args.regroup,
            "blocks_only": args.blocks_only, "rows": rows, "ratios": ratios or {},
            "complete": final, "load_average_1_5_15": list(os.getloadavg()),
            "devices": [str(d) for d in jax.devices()]}, indent=1))

    def keywords(panel: np.ndarray) -> tuple[dict, dict]:
        per_series = [family.data_defaults(values, variant, options) for values in panel]
        series_kwargs = {k: np.array([row[k] for row in per_series]) for k in per_series[0]}
        static = {k: v for k, v in options.items() if k not in series_kwargs}
        return static, series_kwargs

    def steps_row(steps: np.ndarray, warm: np.ndarray, batch_size: int | None = None,
                  regroup: bool = False) -> dict:
        """Leapfrog steps per iteration, (S, C, D) after warm-up and (S, C, W) during it: the
        mean, and what the batches pay per iteration and series (every block of series run
        together waits for its deepest tree: :func:`batched_steps`, in each phase's blocks,
        ``models.panel.phase_orders``); ``work_ratio`` is the paid over the mean, warm-up
        and draws together."""
        both = np.concatenate([warm, steps], axis=-1)
        paid = 0.0
        for first, count, order in phase_orders(warm, steps, regroup=regroup and batch_size):
            paid += count * batched_steps(both[:, :, first:first + count],
                                          blocks_of(np.asarray(order), batch_size))
        row = {"mean_leapfrog_per_draw": float(steps.mean()),
               "warmup_mean_leapfrog": float(warm.mean()) if warm.size else 0.0,
               "batch_leapfrog_per_iteration": paid / both.shape[-1]}
        if not (regroup and batch_size):  # one order throughout: warm-up and draws apart
            blocks = blocks_of(np.arange(len(steps)), batch_size)
            row["batch_leapfrog_per_draw"] = batched_steps(steps, blocks)
            row["warmup_batch_leapfrog"] = batched_steps(warm, blocks) if warm.size else 0.0
        else:
            phases = phase_orders(warm, steps, regroup=True)
            first, count, order = phases[-1]
            row["batch_leapfrog_per_draw"] = batched_steps(
                steps, blocks_of(np.asarray(order), batch_size))
            row["warmup_batch_leapfrog"] = (paid - count * row["batch_leapfrog_per_draw"]) \
                / max(warm.shape[-1], 1)
        return row | {"work_ratio": paid / float(both.mean(axis=(0, 1)).sum())}

    def timed_fit(count: int, batch_size: int | None = args.batch_size,
                  regroup: bool = args.regroup) -> dict:
        static, series_kwargs = keywords(y[:count])
        with CompileTimer() as compile_timer:
            start = time.perf_counter()
            fit = fit_independent(model, y[:count], rng_key=jax.random.PRNGKey(1),
                                  num_warmup=args.warmup, num_samples=args.samples,
                                  num_chains=args.chains, static_kwargs=static,
                                  series_kwargs=series_kwargs,
                                  init_strategy=family.init_strategy(),
                                  settings=nuts_settings, batch_size=batch_size,
                                  regroup=regroup)
            jax.block_until_ready(fit.samples)
            wall = time.perf_counter() - start
        return {"wall_s": wall, "compile_s": compile_timer.seconds,
                "batch_size": batch_size, "regroup": bool(regroup and batch_size),
                **steps_row(np.asarray(fit.num_steps), np.asarray(fit.warmup_num_steps),
                            batch_size, regroup),
                "divergences": int(np.asarray(fit.diverging).sum()),
                "series_with_divergences": int((np.asarray(fit.diverging).sum(axis=(1, 2))
                                                > 0).sum())}

    curve = []

    def measure(count: int) -> None:
        timing = timed_fit(count)
        wall = timing["wall_s"]
        curve.append((count, wall))
        rows.append({"name": "one program", "series": count, **timing,
                     "per_series_s": wall / count, "measured": True})
        print(f"one program, S = {count}: {wall:.1f} s ({timing})", file=sys.stderr,
              flush=True)
        dump()

    if args.blocks_only:
        # the one program three ways, side by side at each S (interleaved: the load drifts)
        for count in sorted(set(args.series)):
            for batch_size, regroup in ((None, False), (args.blocks_only, True),
                                        (args.blocks_only, False)):
                timing = timed_fit(count, batch_size, regroup)
                name = "one program" + (f", blocks of {batch_size}" if batch_size else "") \
                    + (", regrouped by tree depth" if regroup else "")
                rows.append({"name": name, "series": count, **timing,
                             "per_series_s": timing["wall_s"] / count, "measured": True})
                print(f"{name}, S = {count}: {timing['wall_s']:.1f} s ({timing})",
                      file=sys.stderr, flush=True)
                dump()
        dump(final=True)
        return

    # the small S first, then the loops and peers, then the largest S (a run cut short
    # still has the comparison, extrapolated)
    sizes = sorted(set(args.series))
    for count in sizes[:-1]:
        measure(count)

    settings = SamplerSettings(seed=0, chains=args.chains, warmup=args.warmup,
                               samples=args.samples, chain_method="vectorized",
                               progress_bar=False, compilation_cache=None, platform="cpu")
    target = args.target_series

    def compiled_once_row(name: str, first: float, rest: list[float], extra: str) -> dict:
        """The first series (compilation included) + (S - 1) x the mean of the others."""
        per = float(np.mean(rest)) if rest else first
        return {"name": name, "series": target, "wall_s": first + per * (target - 1),
                "first_s": first, "per_series_s": per, "measured": False,
                "how": f"{len(rest) + 1} series timed: the first (compilation included) + "
                       f"{target - 1} x the mean of the other {len(rest)}{extra}"}

    # the best loop: the same NUTS program for one series, compiled once, data swapped
    static0, kwargs0 = keywords(y[:1])
    sampler = independent_sampler(model, y[:1], num_warmup=args.warmup,
                                  num_samples=args.samples, num_chains=args.chains,
                                  static_kwargs=static0, series_kwargs=kwargs0,
                                  init_strategy=family.init_strategy(),
                                  settings=nuts_settings)
    times, compiles, steps, warm = [], [], [], []
    for s in range(args.loop_series):
        _, kwargs_s = keywords(y[s:s + 1])
        with CompileTimer() as compile_timer:
            begin = time.perf_counter()
            fit = sampler(jax.random.PRNGKey(s), y[s:s + 1], kwargs_s)
            jax.block_until_ready(fit.samples)
            times.append(time.perf_counter() - begin)
        compiles.append(compile_timer.seconds)
        steps.append(np.asarray(fit.num_steps))
        warm.append(np.asarray(fit.warmup_num_steps))
    row = compiled_once_row("loop: functional NUTS compiled once (independent_sampler, "
                            "S = 1 per call)", times[0], times[1:],
                            f"; compilation {compiles[0]:.1f} s in the first call, "
                            f"{max(compiles[1:], default=0.0):.2f} s at most in the others")
    rows.append(row | {"compile_s": compiles[0],
                       **steps_row(np.concatenate(steps), np.concatenate(warm))})
    print(f"loop of the compiled-once sampler: {row['per_series_s']:.2f} s per series, "
          f"compilation {compiles}", file=sys.stderr, flush=True)
    dump()

    if args.command_loop_series > 0:  # 0 skips both loops of MCMC
        per_call = []
        for s in range(args.command_loop_series):
            kwargs = {**options, **family.data_defaults(y[s], variant, options)}
            begin = time.perf_counter()
            mcmc, _ = sample_posterior(family, variant, kwargs, jax.numpy.asarray(y[s]),
                                       settings=settings, rng_key=jax.random.PRNGKey(s),
                                       chain_method="vectorized")
            jax.block_until_ready(mcmc.get_samples())
            per_call.append(time.perf_counter() - begin)
        per = float(np.mean(per_call))
        rows.append({"name": "loop: fit command's sample_posterior", "series": target,
                     "wall_s": per * target, "per_series_s": per, "measured": False,
                     "how": f"{args.command_loop_series} series timed (each a fresh MCMC and "
                            f"compilation, as a fit.py run per series), mean x {target}"})
        print(f"loop of sample_posterior: {per:.1f} s per series", file=sys.stderr, flush=True)
        dump()

        data_keys = tuple(family.data_defaults(y[0], variant, options))
        static = {k: v for k, v in options.items() if v is not None and k not in data_keys}
        depth = (nuts_settings.max_tree_depth if nuts_settings.warmup_max_tree_depth is None
                 else (nuts_settings.warmup_max_tree_depth, nuts_settings.max_tree_depth))
        mcmc = MCMC(NUTS(partial(model, **static), init_strategy=family.init_strategy(),
                         dense_mass=nuts_settings.dense_mass, max_tree_depth=depth),
                    num_warmup=args.warmup, num_samples=args.samples, num_chains=args.chains,
                    chain_method="vectorized", jit_model_args=True, progress_bar=False)
        times, compiles = [], []
        for s in range(max(args.command_loop_series, 2)):
            defaults = family.data_defaults(y[s], variant, options)
            with CompileTimer() as compile_timer:
                begin = time.perf_counter()
                mcmc.run(jax.random.PRNGKey(s), y=jax.numpy.asarray(y[s]), **defaults)
                jax.block_until_ready(mcmc.get_samples())
                times.append(time.perf_counter() - begin)
            compiles.append(compile_timer.seconds)
        rows.append(compiled_once_row(
            "loop: one MCMC, jit_model_args (recompiles per run)", times[0], times[1:],
            f"; the one program's NUTS settings; tracing + compilation {compiles[0]:.1f} s "
            f"in the first run and {np.mean(compiles[1:]):.1f} s on average in each later "
            f"run: NumPyro's HMC.init builds a new kernel per run")
            | {"compile_s": float(np.mean(compiles[1:]))})
        print(f"loop of MCMC(jit_model_args): {times} s, compilation {compiles}", file=sys.stderr,
              flush=True)
        dump()

    if args.peer_python and args.peer_python != "none":
        sf = _run_peer(args.peer_python, "statsforecast", y[:target], 0, 0)
        rows.append(sf | {"name": "statsforecast ARIMA(1,0,1) MLE", "measured": True})
        nut = _run_peer(args.peer_python, "nutpie", y[:args.loop_series], args.samples,
                        args.loop_series, args.warmup, args.chains)
        if "wall_s" in nut:
            first = nut["compile_s"] + nut["per_series_s"][0]
            nut = compiled_once_row("loop: nutpie (PyMC model compiled once, data swapped)",
                                    first, nut["per_series_s"][1:],
                                    f"; PyMC/nutpie compilation {nut['compile_s']:.1f} s")
        else:
            nut["name"] = "loop: nutpie (PyMC model compiled once, data swapped)"
        rows.append(nut)
        dump()
    else:
        rows.append({"name": "statsforecast / nutpie", "skipped": "no --peer-python given"})
    measure(sizes[-1])
    if target not in dict(curve):
        # sampling time (wall less compilation) linear in S, plus the largest compilation
        # (run_all.py's report recomputes it the same way)
        measured = sorted((row for row in rows if row["name"] == "one program"),
                          key=lambda row: row["series"])
        compile_s = max(row["compile_s"] for row in measured)
        points = [(row["series"], row["wall_s"] - row["compile_s"]) for row in measured]
        (s1, w1), (s2, w2) = points[-2:] if len(points) > 1 else (points[0], points[0])
        slope = (w2 - w1) / (s2 - s1) if s2 != s1 else w2 / s2
        rows.append({"name": "one program", "series": target,
                     "wall_s": compile_s + w2 + slope * (target - s2), "measured": False,
                     "how": f"sampling linear from S = {s1} and {s2}, plus the largest "
                            f"compilation ({compile_s:.0f} s)"})
    summary = _ratios(rows, target)
    for line in summary["lines"]:
        print(line)

    print(f"ARMA(1,1) {variant}, T = {args.length}, {args.chains} chains x {args.samples} "
          f"draws after {args.warmup} warm-up per series; wall time incl. compilation")
    for row in rows:
        if "skipped" in row:
            print(f"  {row['name']:<48} skipped: {row['skipped']}")
        else:
            note = "" if row.get("measured", True) else f"  ({row.get('how', 'extrapolated')})"
            print(f"  {row['name']:<48} S = {row['series']:>5}: {row['wall_s']:9.1f} s{note}")
    dump(summary["ratios"], final=True)


if __name__ == "__main__":
    main()
