"""Draw the guide's figures into ``docs/figures/`` (matplotlib, Agg backend).

* ``03-smoother-vs-moving-average.png`` — the course page's "moving average" (an
  exponential smoother, weight 1/3, started at 0) against a window-3 moving average.
* ``04-compile-time-loop-vs-scan.png`` — compile time of the AR(2) log density and its
  gradient against T, written as a Python loop of sample sites and as one ``lax.scan``.
* ``05-sequential-vs-parallel.png`` — run and compile time of ``linear_recurrence`` by
  ``lax.scan`` and by ``lax.associative_scan`` against T, from
  ``scripts/bench_parallel_scan.py``'s JSON (or, when ``--bench-json`` is not given, timed
  here by the same code, ``scripts/_bench_parallel.py``).

With ``--arma`` it draws instead the ARMA family's fit plots for ``docs/arma-plots.md``, by
running the fit command (``scripts/fit.py arma``) on the bundled quarterly US inflation
series (``models/data/us_macro_quarterly.csv``, 1959Q1-2007Q3, with unemployment as a
regressor and its next 8 quarters for the forecast): ``arma-trace.png``, ``arma-ppc.png``,
``arma-forecast.png``.

    python scripts/make_doc_figures.py
    python scripts/make_doc_figures.py --bench-json docs/figures/bench_parallel_scan_cpu.json
    python scripts/make_doc_figures.py --quick --out /tmp/figures   # small, for a smoke test
    python scripts/make_doc_figures.py --arma                      # the ARMA plots
    python scripts/make_doc_figures.py --arma --quick --out /tmp/f --fit-out /tmp/fit
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed (CI, servers)
import jax  # noqa: E402 - after the backend choice above, like every import below
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from jax import lax  # noqa: E402
from numpyro.infer.util import log_density  # noqa: E402

import patterns  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench_parallel  # noqa: E402 - the timing bench_parallel_scan.py runs, from scripts/

REPO = Path(__file__).resolve().parents[1]
FIGSIZE = (6.4, 3.6)
DPI = 100  # small PNGs: the guide is read on a code host, not printed


# ------------------------------------------------------------------ chapter 3


def figure_smoother_vs_moving_average(out_dir: Path) -> Path:
    """Noisy step series, its exponential smoothing (page's) and its window-3 mean."""
    key = jax.random.PRNGKey(3)
    steps = jnp.concatenate([jnp.full(20, 10.0), jnp.full(20, 20.0)])
    data = steps + jax.random.normal(key, steps.shape)
    smoothed = patterns.exponential_smoothing(data, weight=1 / 3, init=0.0)
    window = 3
    means = patterns.moving_average(data, window=window)
    t = np.arange(1, data.shape[0] + 1)

    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    ax.plot(t, data, "o", color="0.6", markersize=3, label="data")
    ax.plot(t, smoothed, label='page\'s "moving average" = exponential smoothing, w=1/3, s0=0')
    ax.plot(t[window - 1 :], means, label=f"moving average, window {window}")
    ax.set_xlabel("t")
    ax.set_ylabel("value")
    ax.set_title("An exponential smoother is not a moving average")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out_dir / "03-smoother-vs-moving-average.png")


# ------------------------------------------------------------------ chapter 4
# The two AR(2) models of docs/04-loop-to-scan.md, written the same way here.


def ar2_loop(y: jax.Array) -> None:
    """AR(2), conditional on y_0, y_1: one observed sample site per time step."""
    phi = numpyro.sample("phi", dist.Normal(0.0, 0.5).expand([2]).to_event(1))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    for t in range(2, y.shape[0]):
        loc = phi[0] * y[t - 1] + phi[1] * y[t - 2]
        numpyro.sample(f"y_{t}", dist.Normal(loc, sigma), obs=y[t])


def ar2_scan(y: jax.Array) -> None:
    """The same AR(2): one ``lax.scan`` for the means, one observed site for all of y."""
    phi = numpyro.sample("phi", dist.Normal(0.0, 0.5).expand([2]).to_event(1))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))

    def step(lags, y_t):
        return patterns.push_lag(lags, y_t), jnp.dot(phi, lags)

    _, loc = lax.scan(step, y[1::-1], y[2:])
    numpyro.sample("y", dist.Normal(loc, sigma), obs=y[2:])


def log_density_timings(model: Callable, y: jax.Array, repeats: int = 20) -> tuple[float, float]:
    """Seconds to trace and compile the model's log density and gradient; seconds per call."""
    params = {"phi": jnp.array([0.5, -0.2]), "sigma": jnp.array(1.0)}

    def negative_log_density(params):
        return -log_density(model, (y,), {}, params)[0]

    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(negative_log_density)).lower(params).compile()
    compile_seconds = time.perf_counter() - start
    jax.block_until_ready(compiled(params))
    run_seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(params))
        run_seconds.append(time.perf_counter() - start)
    return compile_seconds, statistics.median(run_seconds)


def figure_compile_time_loop_vs_scan(out_dir: Path, sizes: Sequence[int]) -> Path:
    """Compile time against T for the loop and scan AR(2) models."""
    key = jax.random.PRNGKey(4)
    loop_times, scan_times = [], []
    for num_steps in sizes:
        y = jax.random.normal(key, (num_steps,))
        loop_times.append(log_density_timings(ar2_loop, y)[0])
        scan_times.append(log_density_timings(ar2_scan, y)[0])
        print(f"  T={num_steps}: loop {loop_times[-1]:.2f} s, scan {scan_times[-1]:.2f} s")

    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    ax.plot(sizes, loop_times, "o-", label="Python loop: one sample site per step")
    ax.plot(sizes, scan_times, "s-", label="lax.scan: one sample site")
    ax.set_xlabel("T (series length)")
    ax.set_ylabel("trace + compile time, s")
    ax.set_title("AR(2) log density and gradient: compile time (CPU)")
    ax.legend(fontsize=8)
    return _save(fig, out_dir / "04-compile-time-loop-vs-scan.png")


# ------------------------------------------------------------------ chapter 5


def figure_sequential_vs_parallel(out_dir: Path, report: dict) -> Path:
    """Run and compile time of the two linear_recurrence variants against T."""
    rows = report["rows"]
    sizes = [row["T"] for row in rows]
    fig, (ax_run, ax_compile) = plt.subplots(1, 2, figsize=(FIGSIZE[0] * 1.3, FIGSIZE[1]),
                                             dpi=DPI)
    ax_run.loglog(sizes, [r["sequential_run_s"] * 1e3 for r in rows], "o-",
                  label="lax.scan (sequential)")
    ax_run.loglog(sizes, [r["parallel_run_s"] * 1e3 for r in rows], "s-",
                  label="lax.associative_scan (parallel)")
    ax_run.set_xlabel("T")
    ax_run.set_ylabel("run time, ms")
    ax_run.legend(fontsize=7)
    ax_compile.semilogx(sizes, [r["sequential_compile_s"] for r in rows], "o-")
    ax_compile.semilogx(sizes, [r["parallel_compile_s"] for r in rows], "s-")
    ax_compile.set_xlabel("T")
    ax_compile.set_ylabel("compile time, s")
    fig.suptitle(f"x_t = a_t x_(t-1) + b_t on {report['device']}, float32", fontsize=10)
    return _save(fig, out_dir / "05-sequential-vs-parallel.png")


# ------------------------------------------------------------------ main


# ------------------------------------------------------------------ ARMA plots (--arma)

#: The bundled dated series the ARMA plots are drawn from, and how it is split: the last
#: ARMA_HORIZON quarters' regressor values are the forecast's future exog.
MACRO_SERIES = REPO / "models" / "data" / "us_macro_quarterly.csv"
ARMA_HORIZON = 8
#: The fit the docs show (--quick: a few draws, for a smoke test).
ARMA_FIT = ("--column", "infl", "--time-column", "quarter", "--order", "2", "1",
            "--exog", "unemp", "--forecast", str(ARMA_HORIZON), "--seed", "1")
ARMA_DRAWS = {False: ("--chains", "2", "--warmup", "1000", "--samples", "1000"),
              True: ("--chains", "1", "--warmup", "40", "--samples", "40", "--allow-warnings")}
ARMA_FIGURES = {"trace.png": "arma-trace.png", "ppc.png": "arma-ppc.png",
                "forecast.png": "arma-forecast.png"}


def arma_figures(out_dir: Path, quick: bool, fit_out: Path | None) -> list[Path]:
    """Fit ARMA(2,1) with unemployment as regressor to quarterly US inflation through
    ``scripts/fit.py`` (a fresh process, as a user runs it) and copy its plots to
    ``out_dir``; the fit's folder is kept at ``fit_out`` when given."""
    lines = MACRO_SERIES.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    column = header.split(",").index("unemp")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "series.csv").write_text("\n".join([header, *rows[:-ARMA_HORIZON]]) + "\n")
        (work / "future.csv").write_text("\n".join(
            ["unemp", *(row.split(",")[column] for row in rows[-ARMA_HORIZON:])]) + "\n")
        fit_dir = fit_out if fit_out is not None else work / "fit"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
        command = [sys.executable, str(REPO / "scripts" / "fit.py"), "arma", "--data",
                   str(work / "series.csv"), "--future-exog", str(work / "future.csv"),
                   *ARMA_FIT, *ARMA_DRAWS[quick], "--out", str(fit_dir), "--force"]
        completed = subprocess.run(command, capture_output=True, text=True, env=env,
                                   check=False)
        print(completed.stdout, end="")
        if completed.returncode != 0:
            raise SystemExit(f"the ARMA fit failed ({completed.returncode}): "
                             f"{completed.stderr.strip()}")
        written = []
        for name, target in ARMA_FIGURES.items():
            written.append(_small_png(fit_dir / name, out_dir / target))
            print(f"wrote {written[-1]} ({written[-1].stat().st_size // 1024} KB)")
    return written


def _small_png(source: Path, target: Path, width: int = 900, colors: int = 64) -> Path:
    """Copy a plot as a small PNG for the docs: at most ``width`` pixels wide, a palette of
    ``colors`` (the plots are flat colours; the fit command's own PNGs are 1200 px RGBA)."""
    from PIL import Image  # matplotlib's own dependency

    with Image.open(source) as image:
        image = image.convert("RGB")
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)),
                                 Image.Resampling.LANCZOS)
        image.quantize(colors=colors).save(target, optimize=True)
    return target


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures",
                        help="folder for the PNGs (default: docs/figures)")
    parser.add_argument("--bench-json", type=Path,
                        help="results of scripts/bench_parallel_scan.py --json; "
                             "without it the benchmark runs here")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, for a smoke test; the figures are not the guide's")
    parser.add_argument("--arma", action="store_true",
                        help="draw the ARMA family's fit plots (docs/arma-plots.md) instead")
    parser.add_argument("--fit-out", type=Path,
                        help="with --arma: keep the fit command's output folder here")
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    """Draw every figure as ``args`` say; return the exit status."""
    args.out.mkdir(parents=True, exist_ok=True)
    if args.arma:
        arma_figures(args.out, args.quick, args.fit_out)
        return 0
    figure_smoother_vs_moving_average(args.out)
    loop_sizes = (10, 20) if args.quick else (25, 50, 100, 200, 400)
    print("compile time, loop vs scan:")
    figure_compile_time_loop_vs_scan(args.out, loop_sizes)
    if args.bench_json is not None:
        report = json.loads(args.bench_json.read_text(encoding="utf-8"))
    else:
        sizes = (10, 100) if args.quick else _bench_parallel.DEFAULT_SIZES
        device = jax.devices()[0]
        report = {
            "device": f"{device.platform} ({device.device_kind})",
            "rows": _bench_parallel.benchmark(sizes, repeats=1 if args.quick else 15),
        }
    figure_sequential_vs_parallel(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args(sys.argv[1:])))
