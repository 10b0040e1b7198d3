"""Where the fit command's compile time goes: every XLA program one ``fit.py`` run builds.

Runs ``scripts/fit.py FAMILY ...`` in this process, exactly as a user does (the same
``main``), with a listener on JAX's own compile events (``jax.monitoring``: tracing,
lowering to MLIR, XLA backend compilation, each with the name of the function) and with
the run cut into phases by wrapping the fit command's steps: set-up (keys), the NUTS
program (``sample_posterior``: initialisation search, warm-up and draws), the posterior
predictive and forecasts (``Predictive``), the ArviZ conversion, the summary and
diagnostics, and the files (plots, netCDF). For each phase it reports how many XLA programs
were compiled and the seconds of tracing, lowering and backend compilation, and the
largest programs by name.

    python scripts/benchmarks/bench_compile.py --json out.json -- garch --chains 4 \\
        --warmup 1000 --samples 500 --out /tmp/garch --force

Everything after ``--`` is the fit command's own command line. ``--draws-digest`` adds a
SHA-256 of the posterior draws (to check that a compile option changes no number).
``--root CHECKOUT`` profiles another checkout's fit command (an older commit, for a
before/after table).
"""

import argparse
import contextlib
import hashlib
import json
import os
import runpy
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if "--root" in sys.argv[:-1]:  # before anything is imported from a checkout
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
SCRIPTS = ROOT / "scripts"
for path in (str(SCRIPTS), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "compile_s",
}


class Recorder:
    """JAX compile events, each tagged with the phase of the fit it happened in."""

    def __init__(self) -> None:
        self.phase = "set-up"
        self.records: list[dict[str, Any]] = []
        self.phase_wall: dict[str, float] = {}

    def __call__(self, event: str, duration_secs: float, **kwargs: Any) -> None:
        if event in EVENTS:
            name = str(kwargs.get("fun_name", "?"))
            # the fit command compiles Predictive as one program, "draw", after tracing it
            phase = "Predictive" if name in ("draw", "jit(draw)") else self.phase
            self.records.append({"phase": phase, "what": EVENTS[event],
                                 "name": name, "seconds": duration_secs})

    @contextlib.contextmanager
    def within(self, phase: str):
        outer, self.phase = self.phase, phase
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phase_wall[phase] = (self.phase_wall.get(phase, 0.0)
                                      + time.perf_counter() - start)
            self.phase = outer

    def wrap(self, owner: Any, attribute: str, phase: str) -> None:
        """Run ``owner.attribute`` (a function) inside ``phase``."""
        original = getattr(owner, attribute)

        def wrapped(*args, **kwargs):
            with self.within(phase):
                return original(*args, **kwargs)

        setattr(owner, attribute, wrapped)

    def table(self) -> list[dict[str, Any]]:
        phases: dict[str, dict[str, Any]] = {}
        for record in self.records:
            row = phases.setdefault(record["phase"], {
                "phase": record["phase"], "programs": 0, "trace_s": 0.0, "lower_s": 0.0,
                "compile_s": 0.0, "largest": {}})
            row[record["what"]] += record["seconds"]
            if record["what"] == "compile_s":
                row["programs"] += 1
            if record["what"] != "trace_s":
                row["largest"][record["name"]] = (row["largest"].get(record["name"], 0.0)
                                                  + record["seconds"])
        for row in phases.values():
            row["total_s"] = row["trace_s"] + row["lower_s"] + row["compile_s"]
            row["wall_s"] = self.phase_wall.get(row["phase"])
            top = sorted(row["largest"].items(), key=lambda item: -item[1])[:3]
            row["largest"] = {name: round(seconds, 3) for name, seconds in top}
        return list(phases.values())


def digest(tree: dict[str, Any]) -> str:
    """SHA-256 of the arrays of ``tree``, in key order."""
    import numpy as np

    sha = hashlib.sha256()
    for key in sorted(tree):
        sha.update(key.encode())
        sha.update(np.ascontiguousarray(np.asarray(tree[key])).tobytes())
    return sha.hexdigest()


def blas_threads() -> list[int] | None:
    """The thread count of each BLAS this process loaded (threadpoolctl), or None where
    threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--draws-digest", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("fit_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    fit_args = args.fit_args[1:] if args.fit_args[:1] == ["--"] else args.fit_args

    # first: one BLAS thread, as the fit command has it (_cli.threads), before anything
    # loads NumPy; imported after jax.monitoring it came too late, and the differenced CO2
    # fit's parallel chains sampled for 104-110 s here against 9-10 s in the fit command
    import _cli  # noqa: F401
    import jax.monitoring

    recorder = Recorder()
    jax.monitoring.register_event_duration_secs_listener(recorder)
    import _arviz_io
    import _cli.fit_command as fit_command
    import numpyro.infer

    result: dict[str, Any] = {}
    original_sample = fit_command.sample_posterior

    def sample_posterior(*a, **k):
        with recorder.within("NUTS program (MCMC.run)"):
            mcmc, timings = original_sample(*a, **k)
        result["nuts_timings"] = timings.as_dict()
        if args.draws_digest:
            result["draws_sha256"] = digest(mcmc.get_samples(group_by_chain=True))
        return mcmc, timings

    fit_command.sample_posterior = sample_posterior

    class TimedPredictive(numpyro.infer.Predictive):
        def __call__(self, *a, **k):
            with recorder.within("Predictive"):
                return super().__call__(*a, **k)

    numpyro.infer.Predictive = TimedPredictive
    recorder.wrap(_arviz_io, "inference_data_from_mcmc", "ArviZ conversion")
    recorder.wrap(_arviz_io, "add_pointwise_log_likelihood", "ArviZ conversion")
    recorder.wrap(fit_command, "summarise_and_diagnose", "summary and diagnostics")
    for name in ("write_netcdf", "save_trace_plot", "save_ppc_plot", "save_forecast_plot",
                 "save_time_quantity_plot", "save_class_series_plot"):
        recorder.wrap(_arviz_io, name, "files (netCDF, plots)")

    sys.argv = [str(SCRIPTS / "fit.py"), *fit_args]
    start = time.perf_counter()
    code = 0
    try:
        runpy.run_path(str(SCRIPTS / "fit.py"), run_name="__main__")
    except SystemExit as error:
        code = error.code
    wall = time.perf_counter() - start
    rows = recorder.table()
    total = {key: sum(row[key] for row in rows) for key in
             ("programs", "trace_s", "lower_s", "compile_s", "total_s")}
    print(f"\nexit {code}; wall {wall:.1f} s; {total['programs']} XLA programs; trace "
          f"{total['trace_s']:.2f} s, lower {total['lower_s']:.2f} s, XLA compile "
          f"{total['compile_s']:.2f} s; load {os.getloadavg()[0]:.1f}; BLAS threads "
          f"{blas_threads()}", file=sys.stderr)
    for row in rows:
        print(f"  {row['phase'][:40]:40s} {row['programs']:3d} programs  trace "
              f"{row['trace_s']:5.2f}  lower {row['lower_s']:5.2f}  compile "
              f"{row['compile_s']:5.2f}  (phase wall {row['wall_s'] or 0:5.1f})  "
              f"{row['largest']}", file=sys.stderr)
    result["blas_threads"] = blas_threads()
    result.update({"fit_args": fit_args, "exit_code": code, "wall_s": wall,
                   "load_1min": os.getloadavg()[0], "phases": rows, "total": total,
                   "xla_flags": os.environ.get("XLA_FLAGS", "")})
    if "--out" in fit_args:  # the fit's own timings (posterior predictive, total)
        record = Path(fit_args[fit_args.index("--out") + 1]) / "run.json"
        if record.exists():
            result["fit_timings"] = json.loads(record.read_text()).get("timings_s")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
