"""Run every benchmark job, each in its own process, twice, one at a time; write REPORT.md.

    python scripts/benchmarks/run_all.py --quick     # T = 200, 2000; fewer draws; minutes
    python scripts/benchmarks/run_all.py             # full: T = 200, 2000, 20000; an hour+

The jobs run under ``--python`` (default: ``.venv-bench/bin/python`` when it exists, else
this interpreter); peers that interpreter cannot import are skipped and the report says
why. The bench environment holds the peers and the same JAX and NumPyro as the package's
own environment, so the comparison is fair (the jobs import this checkout's ``models/``
through ``PYTHONPATH``; the package need not be installed there)::

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install jax==0.10.2 jaxlib==0.10.2 numpyro==0.22.0 arviz==0.23.4 \
        pymc nutpie numba blackjax funsor dynamax statsmodels

Raw results go to ``scripts/benchmarks/results/`` (one JSON per job and run), the report to
``scripts/benchmarks/REPORT.md``. ``--only gradient`` (or ``ess``, ``patterns``, ``family``,
``family-hmm``, ``hmm-logp``) runs a subset; ``--report-only`` rebuilds the report
from the JSON already there. When the JSON of the ARMA jobs (gradient, ess, patterns) is
absent -- ``--only family hmm-logp`` on a fresh checkout, where results/ is not kept -- the
report keeps REPORT.md's ARMA part as it is and replaces only the families' part (between
its two marker comments).

The families' jobs (``bench_families.py``: GARCH, SV, the Gaussian HMM, SIR, renewal, each
against PyMC, nutpie and, for the HMM, NumPyro's enumeration) and the HMM forward pass
against dynamax (``bench_hmm.py --no-nuts``) are issues 14-16's benchmark rows.

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
#: bench_families.py's cases, in report order, and the samplers each runs
FAMILY_CASES = ("garch", "sir", "hmm-k2", "sv", "renewal", "hmm-k3")
FAMILY_SAMPLERS = ("numpyro", "numpyro-enumeration", "nutpie", "pymc", "numpyro-priors-only",
                   "numpyro-trivial")
#: rows that are floors of this package's own program, not fits of the case's posterior
FAMILY_FLOORS = ("numpyro-priors-only", "numpyro-trivial")
FAMILY_PEERS = ("numpyro-enumeration", "nutpie", "pymc")
#: PyMC's default sampler (C backend) is not run on these cases: on the hmm_example data
#: (T = 100) it took 683 s for 200 + 200 draws (257 s sampling, one chain at a time) at load
#: average 15 and failed to converge with its own ordered transform; the longer scans
#: (T = 200 to 2,000) take longer still. nutpie runs the same PyMC model instead.
PYMC_NOT_RUN = {
    case: "not run: PyMC's default sampler on a PyTensor scan took 683 s for 200 + 200 draws "
          "of the T = 100 HMM on this loaded machine; nutpie samples the same PyMC model"
    for case in ("sv", "hmm-k2", "hmm-k3", "renewal")
}
FAMILIES_START = "<!-- families: start (run_all.py replaces this part) -->"
FAMILIES_END = "<!-- families: end -->"
PANEL_START = "<!-- panel: start (run_all.py replaces this part) -->"
PANEL_END = "<!-- panel: end -->"
#: issue 17's comparison: S = 1,000 series x T = 200, ARMA(1, 1), every series' own posterior
#: (150 + 150 draws), the one program at S = 100, 300, 1,000 (the CPU scaling curve) in
#: blocks of 100 series regrouped by tree depth (REPORT 7.4: 2.3 x less sampling time than
#: one vmap at S = 1,000); the two loops that compile per series (the fit command's own
#: sampling function, as a user looping fit.py pays it) are timed on 2 series
PANEL_ARGS = ["--series", "100", "300", "1000", "--target-series", "1000", "--length", "200",
              "--likelihood", "conditional", "--chains", "2", "--warmup", "150",
              "--samples", "150", "--loop-series", "20", "--command-loop-series", "2",
              "--dense-mass", "--batch-size", "100", "--regroup"]


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
    return jobs + family_plan(quick) + [("panel", ["bench_panel.py", *PANEL_ARGS])]


def family_plan(quick: bool) -> list[tuple[str, list[str]]]:
    """Issues 14-16: this package and its fastest peers on every case first, then the HMM
    forward pass against dynamax, then PyMC's default sampler where it finishes in minutes,
    then the priors-only floors and the trivial model's NUTS program (so a run cut short
    still has the comparisons)."""
    warmup, draws = (1000, 500) if quick else (1000, 1000)

    def job(case: str, sampler: str) -> tuple[str, list[str]]:
        return (f"family-{case}-{sampler}",
                ["bench_families.py", "--case", case, "--sampler", sampler,
                 "--warmup", str(warmup), "--draws", str(draws)])

    jobs = [job(case, sampler) for case in FAMILY_CASES
            for sampler in ("numpyro", "numpyro-enumeration", "nutpie")
            if sampler != "numpyro-enumeration" or case.startswith("hmm")]
    jobs.append(("hmm-logp", ["bench_hmm.py", "--no-nuts"]))
    jobs += [job(case, "pymc") for case in FAMILY_CASES if case not in PYMC_NOT_RUN]
    jobs += [job(case, "numpyro-priors-only") for case in FAMILY_CASES]
    jobs += [job(case, "numpyro-trivial") for case in FAMILY_CASES]
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
    # the jobs import this checkout's models/ and patterns/, whatever the interpreter has
    # installed (the bench venv has no copy of this package)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env=env)
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


def _usable(runs: list[dict]) -> list[dict]:
    return [r for r in runs if not r.get("failed") and not r.get("skipped")]


def _z_against(peer: dict, ours: dict) -> float | None:
    """Largest |z| of a row's posterior means against this package's, over the case's
    columns: (mean - ours) / sqrt(mcse^2 + our mcse^2)."""
    if "mcse" not in peer or "mcse" not in ours:
        return None
    return max(abs(peer["means"][k] - ours["means"][k])
               / (peer["mcse"][k] ** 2 + ours["mcse"][k] ** 2) ** 0.5 for k in ours["means"])


def _sampling_s(r: dict) -> float:
    """Wall time of a fit less its compilation (PyMC's is not split out: all of it)."""
    return r["total_s"] - (r.get("compile_s") or 0.0)


def _limits(ours: list[dict], peer: list[dict], floor: list[dict], peer_name: str,
            trivial: list[dict] | None = None) -> str:
    """Where this package's ESS/s stands against the best peer's, in factors:
    ESS/s = ESS per draw x draws per second, and time = compile + sampling."""
    o = min(ours, key=lambda r: r["total_s"])
    p = min(peer, key=lambda r: r["total_s"])
    parts = [f"compilation is {o['compile_s']:.1f} s of our {o['total_s']:.1f} s "
             f"({100 * o['compile_s'] / o['total_s']:.0f} %)"]
    if p.get("compile_s") is not None:
        parts[-1] += f" ({peer_name}: {p['compile_s']:.1f} s of {p['total_s']:.1f} s)"
    sampling_ratio = (o["min_bulk_ess"] / _sampling_s(o)) / (p["min_bulk_ess"] / _sampling_s(p))
    parts.append(f"without compilation (ESS / sampling s) ours is {sampling_ratio:.2f} x "
                 f"{peer_name}'s")
    parts.append(f"ESS per draw {o['min_bulk_ess'] / (o['draws'] * o['chains']):.2f} vs "
                 f"{p['min_bulk_ess'] / (p['draws'] * p['chains']):.2f}")
    if o.get("steps_per_draw") and p.get("steps_per_draw"):
        ours_us = 1e6 * _sampling_s(o) / (o["steps_per_draw"] * (o["warmup"] + o["draws"]))
        peer_us = 1e6 * _sampling_s(p) / (p["steps_per_draw"] * (p["warmup"] + p["draws"]))
        parts.append(f"leapfrog steps per draw {o['steps_per_draw']:.1f} vs "
                     f"{p['steps_per_draw']:.1f}; sampling µs per leapfrog step of a chain "
                     f"(steps after warm-up taken as the warm-up's too) {ours_us:,.0f} vs "
                     f"{peer_us:,.0f}")
    if floor:
        f = min(floor, key=lambda r: r["total_s"])
        parts.append(f"NumPyro's NUTS program on the priors alone takes {f['total_s']:.1f} s "
                     f"(compile {f['compile_s']:.1f} s): at that floor our ESS/s would be "
                     f"{o['min_bulk_ess'] / f['total_s']:,.1f}")
    if trivial:
        t = min(trivial, key=lambda r: r["total_s"])
        parts.append(f"NumPyro's NUTS program around a 3-d standard normal (same settings, "
                     f"same run) compiles in {t['compile_s']:.1f} s: our compilation is "
                     f"{o['compile_s'] / t['compile_s']:.1f} x that floor, and with only the "
                     f"floor's compilation our ESS/s would be "
                     f"{o['min_bulk_ess'] / (_sampling_s(o) + t['compile_s']):,.1f} "
                     f"({peer_name}: {p['ess_per_s']:,.1f})")
    return "; ".join(parts)


def family_section(grouped: dict[str, list[dict]]) -> list[str]:
    """Issues 14-16: one table per case, the targets first, then the HMM forward pass."""
    cases = [c for c in FAMILY_CASES if any(j.startswith(f"family-{c}-") for j in grouped)]
    if not cases and "hmm-logp" not in grouped:
        return []
    results = [r for j, rs in grouped.items() if j.startswith("family-") or j == "hmm-logp"
               for r in rs if "machine" in r]
    lines = ["## 5. Families of issues 14-16 against their peers", ""]
    if results:
        loads = [r["machine"]["load_average_1_5_15"][0] for r in results]
        m, v = results[0]["machine"], results[0]["versions"]
        lines += [f"Measured on {m['cpu']}, {m['cores']} cores; 1-minute load average seen by "
                  f"these jobs {min(loads):.1f} to {max(loads):.1f} (the machine is shared: "
                  "absolute times are inflated, the ratios are taken side by side in one "
                  "run). Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
                  ""]
    lines += ["4 chains, float64. ESS/s = minimum bulk ESS over the case's parameters (ArviZ "
              "for every sampler) / total wall time of the fit including compilation (imports "
              "excluded). *numpyro* is exactly what `scripts/fit.py FAMILY` runs (its "
              "`sample_posterior`, options and starting points); each peer is the same "
              "posterior written in that peer (`scripts/benchmarks/_peer_models.py`), checked "
              "by *max abs z vs ours*: the largest |z| of its posterior means against ours, "
              "z = (mean - ours) / sqrt(mcse^2 + our mcse^2) (|z| < 4 passes). *leapfrog / "
              "draw*: mean leapfrog steps per kept draw. *× best peer*: ESS/s over the best "
              "peer's (NumPyro enumeration, nutpie, PyMC). Runs: run 1 / run 2, same seed, "
              "so the same draws; *best* is the faster.", ""]
    target_rows, tables = [], []
    for case in cases:
        jobs = {s: grouped.get(f"family-{case}-{s}", []) for s in FAMILY_SAMPLERS}
        jobs = {s: rs for s, rs in jobs.items() if rs}
        if case in PYMC_NOT_RUN and "pymc" not in jobs:
            jobs["pymc"] = [{"skipped": True, "reason": PYMC_NOT_RUN[case]}]
        for sampler in ("nutpie", "pymc"):  # a planned peer with no result says so
            if sampler not in jobs:
                jobs[sampler] = [{"skipped": True, "reason": f"not run in this run: `run_all.py "
                                  f"--only family-{case}-{sampler}` adds it"}]
        ours = _usable(jobs.get("numpyro", []))
        first = next((r for rs in jobs.values() for r in _usable(rs)), None)
        title = first["title"] if first else f"{case}: no fit finished"
        draws = f" ({first['warmup']} warm-up + {first['draws']} draws)" if first else ""
        rate = {s: max(r["ess_per_s"] for r in _usable(rs)) for s, rs in jobs.items()
                if _usable(rs)}
        peers = {s: v for s, v in rate.items() if s in FAMILY_PEERS}
        best_peer = max(peers.items(), key=lambda kv: kv[1]) if peers else None
        has_pdb = any("z_vs_posteriordb" in r for rs in jobs.values() for r in rs)
        tables += [f"### {title}{draws}", "",
                   "| sampler | what | total s (runs) | compile s (runs) | min bulk ESS "
                   "| ESS / draw | leapfrog / draw | ESS/s best | × best peer | divergences "
                   "| max R-hat | max abs z vs ours |" + (" max abs z vs posteriordb |"
                                                        if has_pdb else ""),
                   "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                   + ("---:|" if has_pdb else "")]
        for sampler, rs in jobs.items():
            usable = _usable(rs)
            if not usable:
                why = (f"skipped: {rs[0]['reason']}" if rs[0].get("skipped")
                       else f"failed: {rs[0].get('error_tail', '')[-200:]!r}")
                tables.append(f"| {sampler} | {why} |" + " |" * (10 + has_pdb))
                continue
            r0 = usable[0]
            ratio = (rate[sampler] / best_peer[1]
                     if best_peer and sampler not in FAMILY_FLOORS else None)
            z_ours = (_z_against(r0, ours[0]) if ours and sampler not in
                      ("numpyro", *FAMILY_FLOORS) else None)
            steps = r0.get("steps_per_draw")
            row = (f"| {sampler} | {r0['description']} | "
                   f"{_runs([r['total_s'] for r in usable])} | "
                   f"{_runs([r.get('compile_s') for r in usable])} | "
                   f"{_fmt(r0['min_bulk_ess'], 0)} | "
                   f"{_fmt(r0['min_bulk_ess'] / (r0['draws'] * r0['chains']), 2)} | "
                   f"{_fmt(steps, 1)} | {_fmt(rate[sampler])} | {_fmt(ratio, 2)} | "
                   f"{r0['divergences']} | {_fmt(r0['max_rhat'], 3)} | {_fmt(z_ours, 2)} |")
            if has_pdb:
                row += f" {_fmt(r0.get('max_abs_z_posteriordb'), 2)} |"
            tables.append(row)
        tables.append("")
        if ours and best_peer:
            ratio = rate["numpyro"] / best_peer[1]
            met = ratio >= 2
            target_rows.append(
                f"| {title} | {rate['numpyro']:,.1f} / {best_peer[1]:,.1f} ({best_peer[0]}) = "
                f"{ratio:.2f} × | {'yes' if met else 'no'} |")
            floor = _usable(jobs.get("numpyro-priors-only", []))
            tables += [f"*What sets the ratio* ({title}): "
                       + _limits(ours, _usable(jobs[best_peer[0]]), floor, best_peer[0],
                                 _usable(jobs.get("numpyro-trivial", [])))
                       + ".", ""]
    if target_rows:
        lines += ["### Targets (ESS/s of this package ≥ 2 × the best peer), from the tables "
                  "below", "", "| case | ESS/s ours / best peer | met? |", "|---|---|---|",
                  *target_rows, ""]
    lines += tables + hmm_logp_section(grouped)
    return [FAMILIES_START, *lines, FAMILIES_END]


def hmm_logp_section(grouped: dict[str, list[dict]]) -> list[str]:
    # not _usable: this job's "skipped" is its list of skipped peers, not a skipped job
    runs = [r for r in grouped.get("hmm-logp", []) if not r.get("failed") and "rows" in r]
    if not runs:
        if grouped.get("hmm-logp"):
            return ["### Gaussian HMM log density + gradient", "",
                    f"failed: {grouped['hmm-logp'][0].get('error_tail')}", ""]
        return []
    lines = ["### Gaussian HMM log density + gradient (bench_hmm.py --no-nuts)", "",
             "One jitted value-and-gradient at the same point, µs per call (best of the "
             "repeats), float64. *Model* rows: the whole log density of each model "
             "(NumPyro's potential). *Forward pass* rows: the forward pass alone on the same "
             "arrays (a simulated K-state series), gradient w.r.t. the means and the "
             "transition matrix: dynamax's `hmm_filter` against ours. *× peer*: the peer "
             "row's µs (dynamax, NumPyro enumeration) over this row's, best runs (above 1: "
             "ours is faster). *value / grad rel diff*: against the first row of its group "
             "(every row computes the same value).", "",
             "| case | what | µs (runs) | × peer | value rel diff | grad rel diff |",
             "|---|---|---:|---:|---:|---:|"]
    best = [min(r["rows"][i]["logp_grad_us"] for r in runs)
            for i in range(len(runs[0]["rows"]))]
    peer_of = {row["case"]: best[i] for i, row in enumerate(runs[0]["rows"])
               if row["name"].startswith(("dynamax", "numpyro enumeration"))}
    for i, row in enumerate(runs[0]["rows"]):
        times = [r["rows"][i]["logp_grad_us"] for r in runs]
        peer = peer_of.get(row["case"])
        grad_diff = row.get("grad_rel_diff")
        lines.append(f"| {row['case']} | {row['name']} | {_runs(times)} | "
                     f"{_fmt(peer / best[i] if peer else None, 2)} | "
                     f"{row['value_rel_diff']:.1e} | "
                     f"{'–' if grad_diff is None else f'{grad_diff:.1e}'} |")
    for s in runs[0].get("skipped", []):
        lines.append(f"\n*Skipped: {s['name']} — {s['reason']}.*")
    return lines + [""]


def merge_family_part(old: str, new: str, start: str = FAMILIES_START,
                      end: str = FAMILIES_END) -> str:
    """``old`` report with its families' part (between the markers ``start`` and ``end``,
    or appended) replaced by ``new``'s."""
    def part(text: str) -> tuple[str, str, str] | None:
        if start not in text or end not in text:
            return None
        head, rest = text.split(start, 1)
        body, tail = rest.split(end, 1)
        return head, body, tail

    fresh = part(new)
    if fresh is None:
        return old
    kept = part(old)
    block = start + fresh[1] + end
    if kept is None:
        return old.rstrip("\n") + "\n\n" + block + "\n"
    return kept[0] + block + kept[2]


def _extrapolate_one_program(measured: list[dict], target: int) -> dict:
    """The one-program fit at S = ``target`` from the measured S: its sampling time (wall
    less compilation) linear in S through the two largest, plus the largest compilation time
    measured (compilation does not grow with S, and on a loaded machine it varies by
    several times between runs: taking the largest keeps the figure conservative).

    Example:
        >>> rows = [{"series": 10, "wall_s": 60.0, "compile_s": 50.0},
        ...         {"series": 100, "wall_s": 130.0, "compile_s": 30.0}]
        >>> round(_extrapolate_one_program(rows, 1000)["wall_s"], 1)
        1050.0
    """
    compile_s = max(row["compile_s"] for row in measured)
    sampling = [(row["series"], row["wall_s"] - row["compile_s"]) for row in measured]
    if len(sampling) > 1:
        (s1, w1), (s2, w2) = sampling[-2:]
        value = w2 + (w2 - w1) / (s2 - s1) * (target - s2)
        how = (f"sampling time (wall less compilation) linear through S = {s1} and {s2}, "
               f"plus the largest compilation measured ({compile_s:.0f} s)")
    else:
        (s1, w1), = sampling
        value = w1 * target / s1
        how = (f"from S = {s1}: its sampling time x {target / s1:g}, plus its compilation "
               f"({compile_s:.0f} s)")
    return {"name": "one program", "series": target, "wall_s": compile_s + value,
            "measured": False, "how": how}


def panel_section(grouped: dict[str, list[dict]]) -> list[str]:
    """Issue 17: S series in one program against loops of per-series fits and statsforecast
    (``bench_panel.py``), between its own markers."""
    runs = [r for r in grouped.get("panel", []) if "rows" in r]
    lines = [PANEL_START, "## 7. Many series: one program against loops (issue 17)", ""]
    if not runs:
        failed = [r.get("error_tail", "") for r in grouped.get("panel", [])]
        lines += [f"No run finished{': ' + failed[0][-300:] if failed else ''}.", "",
                  PANEL_END]
        return lines
    r = min(runs, key=lambda run: next((row["wall_s"] for row in run["rows"]
                                        if row["name"] == "one program"
                                        and row["series"] == run["target_series"]), 1e18))
    load = r.get("load_average_1_5_15", [float("nan")])[0]
    lines += [f"ARMA(1, 1), {r['likelihood']} likelihood, T = {r['length']}, "
              f"{r['chains']} chains x {r['samples']} draws after {r['warmup']} warm-up per "
              f"series, float64, CPU ({', '.join(r.get('devices', []))}); "
              f"{r.get('mass_matrix', 'diagonal')} mass matrix per series and chain"
              + (f", trees capped at depth {r['warmup_max_tree_depth']} during warm-up"
                 if r.get("warmup_max_tree_depth") else "")
              + (f", blocks of {r['batch_size']} series" if r.get("batch_size") else "")
              + f"; wall time "
              f"including compilation; 1-minute load average at the end of the run "
              f"{load:.1f} (2 cores shared: the ratios were taken side by side in one run, "
              f"the seconds are inflated). No GPU was lent, so the issue's S = 10,000 x "
              f"T = 1,000 GPU figure is not taken. Rows marked *extrapolated* timed a few "
              f"series and scaled linearly, as the row says.", "",
              "| what | S | wall s | compile s | per series s | leapfrog / draw (mean; "
              "batch max) | warm-up leapfrog / iteration (mean; batch max) | how |",
              "|---|---:|---:|---:|---:|---|---|---|"]
    target = r["target_series"]
    # an unmeasured one-program row is recomputed here from the measured ones
    rows = [row for row in r["rows"] if row["name"] != "one program" or row.get("measured")]
    measured = sorted((row for row in rows if row["name"] == "one program"),
                      key=lambda row: row["series"])
    others = [row for row in rows if row["name"] != "one program"]
    if measured and not any(row["series"] == target for row in measured):
        measured = measured + [_extrapolate_one_program(measured, target)]
    rows = measured + others
    for row in rows:
        if "skipped" in row or "wall_s" not in row:
            lines.append(f"| {row['name']} | | | | | | | skipped: "
                         f"{row.get('skipped', row.get('error', 'failed'))} |")
            continue
        steps = warm = ""
        if "mean_leapfrog_per_draw" in row:
            steps = (f"{row['mean_leapfrog_per_draw']:.1f}; "
                     f"{row['batch_leapfrog_per_draw']:.1f}")
        if "warmup_mean_leapfrog" in row:
            warm = (f"{row['warmup_mean_leapfrog']:.1f}; "
                    f"{row['warmup_batch_leapfrog']:.1f}")
        how = "measured" if row.get("measured", True) else f"extrapolated: {row.get('how')}"
        lines.append(f"| {row['name']} | {row['series']:,} | {_fmt(row['wall_s'])} | "
                     f"{_fmt(row.get('compile_s'))} | "
                     f"{_fmt(row.get('per_series_s'), 3)} | {steps} | {warm} | {how} |")
    def walls(prefix: str) -> list[float]:
        return [row["wall_s"] for row in rows if row["name"].startswith(prefix)
                and row.get("series") == target and "wall_s" in row]

    ratios = {}
    one, loops, mle = walls("one program"), walls("loop:"), walls("statsforecast")
    if one and loops:
        ratios["best_loop_over_one_program"] = min(loops) / one[0]
    if one and mle:
        ratios["one_program_over_statsforecast"] = one[0] / mle[0]
    lines += ["", "Goals (issue 17): the one-program fit >= 20 x faster than the best "
              "Bayesian loop, and within 10 x of statsforecast's MLE, at "
              f"S = {target:,}:", ""]
    if "best_loop_over_one_program" in ratios:
        value = ratios["best_loop_over_one_program"]
        lines.append(f"* best Bayesian loop / one program: **{value:.1f} x** "
                     f"({'met' if value >= 20 else 'not met'})")
    if "one_program_over_statsforecast" in ratios:
        value = ratios["one_program_over_statsforecast"]
        lines.append(f"* one program / statsforecast MLE: **{value:.1f} x** "
                     f"({'met' if value <= 10 else 'not met'})")
    return lines + _panel_accounting(r, rows, target) + ["", PANEL_END]


def _panel_accounting(run: dict, rows: list[dict], target: int) -> list[str]:
    """Where the one program's time goes against the loop of the same NUTS program compiled
    once: the cost of one leapfrog step per chain (what batching the series buys) and the
    leapfrog steps a series pays (what waiting for the batch's deepest tree costs). Steps
    paid per iteration: the batch's deepest tree for the one program, the deeper of one
    series' chains for the loop."""
    one = next((row for row in rows if row["name"] == "one program"
                and row.get("series") == target and row.get("measured")
                and "warmup_batch_leapfrog" in row), None)
    loop = next((row for row in rows if row["name"].startswith("loop: functional")
                 and "warmup_batch_leapfrog" in row), None)
    if one is None or loop is None:
        return []
    warmup, samples, chains = run["warmup"], run["samples"], run["chains"]

    def paid(row: dict) -> float:  # batched leapfrog steps over the whole run
        return (warmup * row["warmup_batch_leapfrog"] + samples * row["batch_leapfrog_per_draw"])

    def needed(row: dict) -> float:  # mean leapfrog steps of one chain over the whole run
        return warmup * row["warmup_mean_leapfrog"] + samples * row["mean_leapfrog_per_draw"]

    one_s = one["wall_s"] - one["compile_s"]
    per_chain_step_one = one_s / (paid(one) * target * chains)
    per_chain_step_loop = loop["per_series_s"] / (paid(loop) * chains)
    waste_one, waste_loop = paid(one) / needed(one), paid(loop) / needed(loop)
    return ["", f"Where the time goes (the one program at S = {target:,} against the loop of "
            "the same NUTS program compiled once; steps over warm-up and draws):", "",
            f"* one leapfrog step of one chain costs {1e6 * per_chain_step_one:.1f} us in the "
            f"batch against {1e6 * per_chain_step_loop:.1f} us in the loop: batching buys "
            f"**{per_chain_step_loop / per_chain_step_one:.1f} x**;",
            f"* but the batch pays its deepest tree at every iteration: {paid(one):,.0f} "
            f"batched steps for a run whose chains need {needed(one):,.0f} on average "
            f"(**{waste_one:.1f} x**; the loop pays {waste_loop:.1f} x, the deeper of one "
            f"series' {chains} chains); draws: {one['batch_leapfrog_per_draw']:.1f} steps "
            f"paid per iteration for a mean of {one['mean_leapfrog_per_draw']:.1f}, warm-up: "
            f"{one['warmup_batch_leapfrog']:.1f} for {one['warmup_mean_leapfrog']:.1f};",
            f"* and compilation, {one['compile_s']:.0f} s of the {one['wall_s']:.0f} s.",
            "",
            "A batched NUTS in which every chain moves on to its next iteration as soon as its "
            "own tree is done (one leapfrog step of every chain per loop iteration, not one "
            "tree) would pay about the mean instead of the deepest tree; NumPyro's kernel "
            "builds one tree per call, so under `vmap` it cannot."]


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
              + patterns_section(grouped) + family_section(grouped)
              + panel_section(grouped))
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
    grouped = load_results()
    text = render_report(grouped, command)
    arma_jobs = any(j.startswith(("gradient-", "ess-")) or j == "patterns" for j in grouped)
    if not arma_jobs and REPORT.exists():
        # only the families' or the panel's jobs have results here: keep the ARMA part as
        # it is, and a part whose jobs did not run
        old = REPORT.read_text()
        family_jobs = any(j.startswith(("family-", "hmm-logp")) for j in grouped)
        merged = merge_family_part(old, text) if family_jobs else old
        text = (merge_family_part(merged, text, PANEL_START, PANEL_END) if "panel" in grouped
                else merged)
    REPORT.write_text(text)
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
