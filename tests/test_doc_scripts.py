"""Smoke tests of the guide's scripts: tiny settings, checked outputs."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def test_bench_parallel_scan_times_both_variants_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = run_script(
        "bench_parallel_scan.py", "--sizes", "10", "300", "--repeats", "2", "--json", str(out)
    )
    table = [line.split() for line in completed.stdout.splitlines() if line.split()[:1]
             in (["10"], ["300"])]
    assert [row[0] for row in table] == ["10", "300"]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [row["T"] for row in report["rows"]] == [10, 300]
    for row in report["rows"]:
        assert row["sequential_run_s"] > 0 and row["parallel_run_s"] > 0
        assert row["sequential_compile_s"] > 0 and row["parallel_compile_s"] > 0
        # float32, |a| = 0.9: the two variants agree to float32 rounding.
        assert row["max_abs_diff"] < 1e-4


def test_bench_parallel_scan_rejects_bad_sizes() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_parallel_scan.py"), "--sizes", "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2


def test_make_doc_figures_writes_three_small_pngs(tmp_path: Path) -> None:
    run_script("make_doc_figures.py", "--quick", "--out", str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "03-smoother-vs-moving-average.png",
        "04-compile-time-loop-vs-scan.png",
        "05-sequential-vs-parallel.png",
    ]
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert 5_000 < len(data) < 150_000


def test_committed_figures_are_pngs_under_150_kb() -> None:
    figures = sorted((REPO / "docs" / "figures").glob("*.png"))
    assert len(figures) >= 3
    for path in figures:
        assert path.read_bytes()[:4] == b"\x89PNG"
        assert path.stat().st_size < 150_000, path.name
