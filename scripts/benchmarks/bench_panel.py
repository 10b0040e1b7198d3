"""Many ARMA(1, 1) series: the one-program fit (``models.panel.fit_independent``) against
looping a per-series fit, and against statsforecast's ARIMA maximum likelihood.

Rows (wall time, compilation included, for S series of length T):

* ``one program``: every series' own NUTS posterior in one compiled program, measured at each
  S of ``--series`` (the CPU scaling curve); at ``--target-series`` extrapolated linearly from
  the two largest measured S when it was not measured (said in the row).
* ``loop: fit command``: the fit command's own sampling function
  (``_cli.fit_command.sample_posterior``: a fresh NumPyro ``MCMC``, so a fresh compilation,
  per series), timed on ``--loop-series`` series and extrapolated to the target S.
* ``loop: MCMC compiled once``: one NumPyro ``MCMC`` with ``jit_model_args=True`` (the best a
  Python loop can do: compiled once, data swapped), timed and extrapolated the same way.
* ``statsforecast ARIMA MLE`` and ``nutpie loop`` (PyMC model compiled once, data swapped):
  run by ``--peer-python`` (a Python with those packages, e.g. ``/work/benchvenv``) on all
  target series (statsforecast) or a few, extrapolated (nutpie); skipped with the reason when
  not importable there.

Prints a table; ``--json PATH`` writes every figure. Speed is never asserted.

    python scripts/benchmarks/bench_panel.py --series 25 50 100 --target-series 1000 \\
        --length 200 --loop-series 3 --peer-python /work/benchvenv/bin/python
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


def _peer(kind: str, data: str, draws: int, count: int) -> None:
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
        for s in range(count):
            nutpie.sample(compiled.with_data(y=y[s]), draws=draws, tune=draws, chains=4,
                          progress_bar=False)
        result.update(series=count, wall_s=time.perf_counter() - start)
    print(json.dumps(result))


def _run_peer(python: str, kind: str, y: np.ndarray, draws: int, count: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data = str(Path(folder) / "panel.npy")
        np.save(data, y)
        process = subprocess.run(
            [python, __file__, "--peer", kind, "--peer-data", data, "--samples", str(draws),
             "--loop-series", str(count)], capture_output=True, text=True, timeout=3600)
    if process.returncode != 0:
        last = (process.stderr.strip().splitlines() or ["no output"])[-1]
        return {"name": kind, "skipped": f"{python}: {last}"}
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--target-series", type=int, default=1000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--likelihood", default="exact", choices=("exact", "conditional"))
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--loop-series", type=int, default=3)
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--peer", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--peer-data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.peer:
        _peer(args.peer, args.peer_data, args.samples, args.loop_series)
        return

    import jax

    jax.config.update("jax_enable_x64", True)
    from functools import partial

    from _cli.arguments import SamplerSettings
    from _cli.fit_command import sample_posterior
    from numpyro.infer import MCMC, NUTS

    from models.panel import fit_independent
    from models.panel.simulate import simulate_arma_panel
    from models.registry import FAMILIES

    family = FAMILIES["arma"]
    variant = args.likelihood
    model = family.variants[variant].model
    options = family.default_options(variant)
    largest = max(max(args.series), args.target_series, args.loop_series)
    y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(0), largest, args.length).y)
    rows: list[dict] = []

    def keywords(panel: np.ndarray) -> tuple[dict, dict]:
        per_series = [family.data_defaults(values, variant, options) for values in panel]
        series_kwargs = {k: np.array([row[k] for row in per_series]) for k in per_series[0]}
        static = {k: v for k, v in options.items() if k not in series_kwargs}
        return static, series_kwargs

    def timed_fit(count: int) -> float:
        static, series_kwargs = keywords(y[:count])
        start = time.perf_counter()
        fit = fit_independent(model, y[:count], rng_key=jax.random.PRNGKey(1),
                              num_warmup=args.warmup, num_samples=args.samples,
                              num_chains=args.chains, static_kwargs=static,
                              series_kwargs=series_kwargs,
                              init_strategy=family.init_strategy())
        jax.block_until_ready(fit.samples)
        return time.perf_counter() - start

    curve = []
    for count in sorted(args.series):
        wall = timed_fit(count)
        curve.append((count, wall))
        rows.append({"name": "one program", "series": count, "wall_s": wall,
                     "per_series_s": wall / count, "measured": True})
        print(f"one program, S = {count}: {wall:.1f} s", file=sys.stderr, flush=True)
    if args.target_series not in dict(curve):
        (s1, w1), (s2, w2) = curve[-2:] if len(curve) > 1 else (curve[0], curve[0])
        slope = (w2 - w1) / (s2 - s1) if s2 != s1 else w2 / s2
        rows.append({"name": "one program", "series": args.target_series,
                     "wall_s": w2 + slope * (args.target_series - s2), "measured": False,
                     "how": f"extrapolated linearly from S = {s1} and {s2}"})

    settings = SamplerSettings(seed=0, chains=args.chains, warmup=args.warmup,
                               samples=args.samples, chain_method="vectorized",
                               progress_bar=False, compilation_cache=None, platform="cpu")
    start = time.perf_counter()
    for s in range(args.loop_series):
        kwargs = {**options, **family.data_defaults(y[s], variant, options)}
        mcmc, _ = sample_posterior(family, variant, kwargs, jax.numpy.asarray(y[s]),
                                   settings=settings, rng_key=jax.random.PRNGKey(s),
                                   chain_method="vectorized")
        jax.block_until_ready(mcmc.get_samples())
    per = (time.perf_counter() - start) / args.loop_series
    rows.append({"name": "loop: fit command's sample_posterior", "series": args.target_series,
                 "wall_s": per * args.target_series, "per_series_s": per, "measured": False,
                 "how": f"{args.loop_series} series timed, x {args.target_series}"})

    static = {k: v for k, v in options.items() if v is not None}
    mcmc = MCMC(NUTS(partial(model, **{k: v for k, v in static.items()
                                       if k not in ("mu_loc", "mu_scale", "sigma_scale")}),
                     init_strategy=family.init_strategy()),
                num_warmup=args.warmup, num_samples=args.samples, num_chains=args.chains,
                chain_method="vectorized", jit_model_args=True, progress_bar=False)
    start = time.perf_counter()
    for s in range(args.loop_series):
        defaults = family.data_defaults(y[s], variant, options)
        mcmc.run(jax.random.PRNGKey(s), y=jax.numpy.asarray(y[s]), **defaults)
        jax.block_until_ready(mcmc.get_samples())
    per = (time.perf_counter() - start) / args.loop_series
    rows.append({"name": "loop: one MCMC, compiled once (jit_model_args)",
                 "series": args.target_series, "wall_s": per * args.target_series,
                 "per_series_s": per, "measured": False,
                 "how": f"{args.loop_series} series timed (first includes compilation), "
                        f"x {args.target_series}"})

    if args.peer_python:
        sf = _run_peer(args.peer_python, "statsforecast", y[:args.target_series], 0, 0)
        rows.append(sf | {"name": "statsforecast ARIMA(1,0,1) MLE"})
        nut = _run_peer(args.peer_python, "nutpie", y[:args.loop_series], args.samples,
                        args.loop_series)
        if "wall_s" in nut:
            nut = {"name": "loop: nutpie (PyMC model compiled once)", "series":
                   args.target_series, "wall_s": nut["wall_s"] / args.loop_series
                   * args.target_series, "measured": False,
                   "how": f"{args.loop_series} series timed, x {args.target_series}"}
        rows.append(nut)
    else:
        rows.append({"name": "statsforecast / nutpie", "skipped": "no --peer-python given"})

    print(f"ARMA(1,1) {variant}, T = {args.length}, {args.chains} chains x {args.samples} "
          f"draws after {args.warmup} warm-up per series; wall time incl. compilation")
    for row in rows:
        if "skipped" in row:
            print(f"  {row['name']:<48} skipped: {row['skipped']}")
        else:
            note = "" if row.get("measured", True) else f"  ({row.get('how', 'extrapolated')})"
            print(f"  {row['name']:<48} S = {row['series']:>5}: {row['wall_s']:9.1f} s{note}")
    if args.json:
        args.json.write_text(json.dumps({"length": args.length, "likelihood": variant,
                                         "chains": args.chains, "warmup": args.warmup,
                                         "samples": args.samples, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
