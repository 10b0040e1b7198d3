"""Run every benchmark job, each in its own process, twice, one at a time; write REPORT.md.

    python scripts/benchmarks/run_all.py --quick     # T = 200, 2000; fewer draws; minutes
    python scripts/benchmarks/run_all.py             # full: T = 200, 2000, 20000; an hour+

The jobs run under ``--python`` (default: ``.venv-bench/bin/python`` when it exists, else
this interpreter); peers that interpreter cannot import are skipped and the report says
why. Raw results go to ``scripts/benchmarks/results/`` (one JSON per job and run), the
report to ``scripts/benchmarks/REPORT.md``. ``--only gradient`` (or ``ess``, ``patterns``)
runs a subset; ``--report-only`` rebuilds the report from the JSON already there.

Each job runs twice with the same seed, so both runs do identical work and differ only in
timing; the report shows both and takes the faster as the figure (other processes on a
shared machine only ever add time).
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"
REPORT = HERE / "REPORT.md"

ESS_SAMPLERS = ("numpyro-default", "numpyro-exact", "numpyro-plain", "numpyro-vectorized",
                "blackjax", "nutpie", "pymc")
REPORT_ORDER = ("numpyro-default", "numpyro-cached", *ESS_SAMPLERS[1:], "numpyro-priors-only")
PEERS = ("blackjax", "nutpie", "pymc")


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    """(job id, script arguments) in the order they run."""
    jobs = [(f"gradient-T{t}", ["bench_gradient.py", "--num-steps", str(t)])
            for t in (2000, 20000)]
    sizes = (200, 2000) if quick else (200, 2000, 20000)
    # warm-up stays at 1000 in quick mode: with 200 one arma11 chain of four can stay in a
    # non-invertible local mode (theta near -1.5) and the ESS figure becomes meaningless
    warmup, draws = (1000, 500) if quick else (1000, 1000)
    for t in sizes:
        for sampler in ESS_SAMPLERS:
            # PyMC's default sampler takes many minutes from T = 2000 on (issue 6 table):
            # quick mode runs it at T = 200 only, the full mode up to 2000
            if sampler == "pymc" and t > (200 if quick else 2000):
                continue
            jobs.append((f"ess-{sampler}-T{t}",
                         ["bench_ess.py", "--sampler", sampler, "--num-steps", str(t),
                          "--warmup", str(warmup), "--draws", str(draws)]))
        # the persistent compilation cache, as `make run` uses it: run 1 starts empty and
        # fills it, run 2 reads it
        jobs.append((f"ess-numpyro-cached-T{t}",
                     ["bench_ess.py", "--sampler", "numpyro-default", "--num-steps", str(t),
                      "--warmup", str(warmup), "--draws", str(draws),
                      "--compilation-cache", str(RESULTS / f"jax-cache-T{t}")]))
    # the floor under every NumPyro fit: its NUTS program with no likelihood to compute
    jobs.append(("ess-numpyro-priors-only-T200",
                 ["bench_ess.py", "--sampler", "numpyro-priors-only", "--num-steps", "200",
                  "--warmup", str(warmup), "--draws", str(draws)]))
    jobs.append(("patterns", ["bench_patterns.py"] + (["--quick"] if quick else [])))
    return jobs


def default_python() -> str:
    bench = ROOT / ".venv-bench" / "bin" / "python"
    return str(bench) if bench.exists() else sys.executable


def run_job(python: str, job_id: str, argv: list[str], run: int, timeout: float) -> dict:
    out = RESULTS / f"{job_id}.run{run}.json"
    out.unlink(missing_ok=True)
    cmd = [python, str(HERE / argv[0]), *argv[1:], "--json", str(out)]
    print(f"== {job_id} run {run}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        failed = proc.returncode != 0 or not out.exists()
        tail = (proc.stderr or "")[-1500:]
    except subprocess.TimeoutExpired:
        failed, tail = True, f"timed out after {timeout:.0f} s"
    if failed:
        print(f"   FAILED\n{tail}", flush=True)
        result = {"job": job_id, "failed": True, "error_tail": tail}
        out.write_text(json.dumps(result, indent=1))
        return result
    print(f"   done in {time.perf_counter() - start:.0f} s", flush=True)
    return json.loads(out.read_text())


def load_results() -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for path in sorted(RESULTS.glob("*.run*.json")):
        job_id = path.name.split(".run")[0]
        grouped.setdefault(job_id, []).append(json.loads(path.read_text()))
    return grouped


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:,.{digits}f}"


def _runs(values: list[float | None], digits: int = 1) -> str:
    return " / ".join(_fmt(v, digits) for v in values)


def gradient_section(grouped: dict[str, list[dict]]) -> list[str]:
    lines = ["## 1. Log-density + gradient of conditional ARMA(1, 1)", "",
             "Value and gradient w.r.t. (mu, phi, theta, sigma), float64, at the simulation "
             "point. *In loop*: per evaluation inside one compiled loop (what a sampler's "
             "leapfrog loop pays). *Per call*: one call from Python, dispatch included. "
             "Runs: run 1 / run 2; *best* is the faster; ratios are best / numba floor best "
             "(the hand-written adjoint loop the issue names). "
             "*max rel diff*: largest relative difference of the value and gradient from the "
             "reference variant (every variant computes the same thing).", ""]
    for job_id in sorted((j for j in grouped if j.startswith("gradient-")),
                         key=lambda j: int(j.split("T")[-1])):
        runs = [r for r in grouped[job_id] if not r.get("failed")]
        if not runs:
            lines += [f"**{job_id}: failed** — {grouped[job_id][0].get('error_tail', '')}", ""]
            continue
        lines += [f"### T = {runs[0]['num_steps']}", "",
                  "| variant | in loop µs (runs) | in loop best | × floor | per call µs best "
                  "| × floor | compile s | max rel diff |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        names = [v["name"] for v in runs[0]["variants"]]
        by_name = {n: [next(v for v in r["variants"] if v["name"] == n) for r in runs]
                   for n in names}
        best = {n: (min(v["in_loop_us"] for v in vs), min(v["per_call_us"] for v in vs))
                for n, vs in by_name.items()}
        floor = next((best[n] for n in names if n.startswith("numba floor")), (None, None))
        for n, vs in by_name.items():
            ratio_loop = best[n][0] / floor[0] if floor[0] else None
            ratio_call = best[n][1] / floor[1] if floor[1] else None
            diff = max(max(v["value_rel_diff_vs_reference"], v["grad_max_rel_diff_vs_reference"])
                       for v in vs)
            lines.append(
                f"| {n} | {_runs([v['in_loop_us'] for v in vs])} | {_fmt(best[n][0])} | "
                f"{_fmt(ratio_loop, 2)} | {_fmt(best[n][1])} | {_fmt(ratio_call, 2)} | "
                f"{_fmt(min(v['compile_s'] for v in vs), 2)} | {diff:.1e} |")
        for s in runs[0].get("skipped", []):
            lines.append(f"\n*Skipped: {s['name']} — {s['reason']}.*")
        lines.append("")
    return lines


def ess_section(grouped: dict[str, list[dict]]) -> list[str]:
    lines = ["## 2. ESS per second, ARMA(1, 1) with the arma11 priors", "",
             "4 chains, float64. ESS/s = minimum bulk ESS over (mu, phi, theta, sigma), by "
             "ArviZ for every sampler, / total wall time of the fit including compilation "
             "(imports excluded). *JAX compile s*: tracing + lowering + XLA compilation (or "
             "reading the persistent cache) summed from jax.monitoring events; for "
             "nutpie its model compilation; PyMC's C compilation is not split out. Both runs use "
             "the same seed, so they draw the same chains and "
             "differ only in time; *best* is the faster. *× best peer*: this row's ESS/s over "
             "the best peer's (BlackJAX, nutpie, PyMC) at the same T. *max abs z*: at T = 200 "
             "(the posteriordb arma11 data) the largest |z| of the posterior means against "
             "Stan's reference, z as in tests/test_posteriordb.py (|z| < 4 passes).", ""]
    ess = {j: [r for r in rs if not r.get("failed")] for j, rs in grouped.items()
           if j.startswith("ess-")}
    sizes = sorted({int(j.split("-T")[-1]) for j in ess})
    for t in sizes:
        rows = [(j, rs) for j, rs in ess.items() if j.endswith(f"-T{t}")]
        rows.sort(key=lambda jr: REPORT_ORDER.index(jr[0][4:].rsplit("-T", 1)[0])
                  if jr[0][4:].rsplit("-T", 1)[0] in REPORT_ORDER else 99)
        best_rate = {}
        for j, rs in rows:
            usable = [r for r in rs if not r.get("skipped")]
            if usable:
                best_rate[j] = max(r["ess_per_s"] for r in usable)
        peers = [v for j, v in best_rate.items() if j[4:].rsplit("-T", 1)[0] in PEERS]
        best_peer = max(peers) if peers else None
        first = next((r for _, rs in rows for r in rs if not r.get("skipped")), None)
        draws = f"{first['warmup']} warm-up + {first['draws']} draws" if first else ""
        lines += [f"### T = {t} ({draws})", "",
                  "| sampler | what | total s (runs) | JAX compile s (runs) | min bulk ESS "
                  "| ESS/s best | × best peer | divergences | max R-hat | max abs z |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for j, rs in rows:
            sampler = j[4:].rsplit("-T", 1)[0]
            failed = grouped[j] and all(r.get("failed") for r in grouped[j])
            if failed:
                lines.append(f"| {sampler} | failed: "
                             f"{grouped[j][0].get('error_tail', '')[-200:]!r} | | | | | | | | |")
                continue
            skipped = [r for r in rs if r.get("skipped")]
            if skipped:
                lines.append(f"| {sampler} | skipped: {skipped[0]['reason']} | | | | | | | | |")
                continue
            r0 = rs[0]
            # the prior's ESS says nothing about speed: that row is there for its seconds
            ratio = (best_rate[j] / best_peer
                     if best_peer and sampler != "numpyro-priors-only" else None)
            lines.append(
                f"| {sampler} | {r0['description']} | {_runs([r['total_s'] for r in rs])} | "
                f"{_runs([r.get('compile_s') for r in rs])} | "
                f"{_fmt(r0['min_bulk_ess'], 0)} | {_fmt(best_rate[j])} | {_fmt(ratio, 2)} | "
                f"{r0['divergences']} | {_fmt(r0['max_rhat'], 3)} | "
                f"{_fmt(r0.get('max_abs_z'), 2)} |")
        lines.append("")
    return lines


def patterns_section(grouped: dict[str, list[dict]]) -> list[str]:
    runs = [r for r in grouped.get("patterns", []) if not r.get("failed")]
    if not runs:
        if grouped.get("patterns"):
            return ["## 3. Patterns", "", f"failed: {grouped['patterns'][0].get('error_tail')}",
                    ""]
        return []
    lines = ["## 3. Patterns, with numbers", ""]
    for table_index, table in enumerate(runs[0]["tables"]):
        lines += [f"### {table['title']}", "", table["note"], ""]
        columns = table["columns"]
        lines += ["| " + " | ".join(columns) + f" | {columns[-1]}, run 2 |",
                  "|" + "---|" * (len(columns) + 1)]
        for row_index, row in enumerate(table["rows"]):
            other = [r["tables"][table_index]["rows"][row_index] for r in runs[1:]]
            second = " / ".join(_fmt(o[-1], 3) if isinstance(o[-1], float) else str(o[-1])
                                for o in other)
            lines.append("| " + " | ".join(_fmt(c, 3) if isinstance(c, float) else str(c)
                                         for c in row) + f" | {second} |")
        lines.append("")
    return lines


def _best(runs: list[dict], key: str, pick=max) -> float | None:
    values = [r[key] for r in runs if not r.get("failed") and not r.get("skipped")]
    return pick(values) if values else None


def targets_section(grouped: dict[str, list[dict]]) -> list[str]:
    """Issue 6's targets, computed from the figures below (never typed in by hand)."""
    lines = ["## Targets of issue 6, from the figures below", "",
             "| target | T | measured | met? |", "|---|---:|---|---|"]
    for job_id in sorted((j for j in grouped if j.startswith("gradient-")),
                         key=lambda j: int(j.split("T")[-1])):
        runs = [r for r in grouped[job_id] if not r.get("failed")]
        if not runs:
            continue
        best = {}
        for r in runs:
            for v in r["variants"]:
                best[v["name"]] = min(best.get(v["name"], float("inf")), v["in_loop_us"])
        floor = next((b for n, b in best.items() if n.startswith("numba floor")), None)
        same_algorithm = next((b for n, b in best.items()
                               if n.startswith("numba forward")), None)
        fast = next((b for n, b in best.items() if "(default)" in n), None)
        if floor and fast:
            ratio = fast / floor
            lines.append(f"| gradient of the fast path ≤ 1.5 × numba floor (in loop) | "
                         f"{runs[0]['num_steps']} | {fast:.1f} µs / {floor:.1f} µs = "
                         f"{ratio:.2f} × | {'yes' if ratio <= 1.5 else 'no'} |")
        if same_algorithm and fast:
            ratio = fast / same_algorithm
            lines.append(f"| (stricter) the same, against numba running the same forward-"
                         f"sensitivity algorithm | {runs[0]['num_steps']} | {fast:.1f} µs / "
                         f"{same_algorithm:.1f} µs = {ratio:.2f} × | "
                         f"{'yes' if ratio <= 1.5 else 'no'} |")
    sizes = sorted({int(j.split("-T")[-1]) for j in grouped if j.startswith("ess-")})
    for t in sizes:
        rate = {j[4:].rsplit("-T", 1)[0]: _best(rs, "ess_per_s") for j, rs in grouped.items()
                if j.startswith("ess-") and j.endswith(f"-T{t}")}
        peers = {k: v for k, v in rate.items()
                 if v is not None and k in PEERS}
        if not peers:
            continue
        peer_name, peer = max(peers.items(), key=lambda kv: kv[1])
        for ours in ("numpyro-default", "numpyro-cached", "numpyro-plain"):
            if rate.get(ours) is None:
                continue
            ratio = rate[ours] / peer
            lines.append(f"| ESS/s of {ours} ≥ 2 × best peer ({peer_name}) | {t} | "
                         f"{rate[ours]:.1f} / {peer:.1f} = {ratio:.2f} × | "
                         f"{'yes' if ratio >= 2 else 'no'} |")
    floor = [r for r in grouped.get("ess-numpyro-priors-only-T200", [])
             if not r.get("failed") and not r.get("skipped")]
    ours = [r for r in grouped.get("ess-numpyro-default-T200", [])
            if not r.get("failed") and not r.get("skipped")]
    if floor and ours:
        floor_s = min(r["total_s"] for r in floor)
        ours_s = min(r["total_s"] for r in ours)
        lines.append(f"| what limits T = 200: NumPyro's NUTS program with no likelihood "
                     f"(numpyro-priors-only) takes {floor_s:.1f} s of numpyro-default's "
                     f"{ours_s:.1f} s; even at that floor ESS/s would be "
                     f"{ours[0]['min_bulk_ess'] / floor_s:,.0f} | 200 | compile-bound | – |")
    for t in sizes:
        cached = [r for r in grouped.get(f"ess-numpyro-cached-T{t}", [])
                  if not r.get("failed")]
        if len(cached) >= 2 and cached[1].get("compile_s") is not None:
            lines.append(f"| second run compiles in ≤ 3 s (persistent cache) | {t} | "
                         f"{cached[0]['compile_s']:.1f} s cold, "
                         f"{cached[1]['compile_s']:.1f} s warm | "
                         f"{'yes' if cached[1]['compile_s'] <= 3 else 'no'} |")
    return lines + [""]


def render_report(grouped: dict[str, list[dict]], command: str) -> str:
    any_result = next((r for rs in grouped.values() for r in rs if "machine" in r), None)
    lines = ["# Benchmarks", "",
             f"Regenerate with `{command}` (each job in its own process, twice, one at a "
             f"time). Written {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.", ""]
    if any_result:
        m, v = any_result["machine"], any_result["versions"]
        loads = [r["machine"]["load_average_1_5_15"][0] for rs in grouped.values() for r in rs
                 if "machine" in r]
        lines += [f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['system']}. "
                  f"1-minute load average seen by the jobs: {min(loads):.1f} to "
                  f"{max(loads):.1f}.", "",
                  "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()), ""]
        if max(loads) > 0.5 * (m["cores"] or 1):
            lines += ["> **Loaded machine.** Other processes were running while these "
                      "figures were taken (load average above). Absolute times are inflated "
                      "and noisy, ratios less so; re-run the one command above on a quiet "
                      "machine before quoting them.", ""]
    lines += (targets_section(grouped) + gradient_section(grouped) + ess_section(grouped)
              + patterns_section(grouped))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 200, 2000; fewer draws")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter for the jobs (default: .venv-bench if present)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="job id prefixes to run (gradient, ess, ess-blackjax, patterns)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per job run")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()

    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        jobs = plan(args.quick)
        if args.only:
            jobs = [(j, a) for j, a in jobs if any(j.startswith(p) for p in args.only)]
        if not args.only:
            for stale in RESULTS.glob("*.json"):
                stale.unlink()
        for job_id, argv in jobs:
            for run in range(1, args.runs + 1):
                if run == 1 and "--compilation-cache" in argv:
                    shutil.rmtree(argv[argv.index("--compilation-cache") + 1],
                                  ignore_errors=True)
                run_job(args.python, job_id, argv, run, args.timeout)
    command = "python scripts/benchmarks/run_all.py" + (" --quick" if args.quick else "")
    REPORT.write_text(render_report(load_results(), command))
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
