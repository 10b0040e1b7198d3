"""Smoke test of scripts/bench_arma_likelihood.py: tiny sizes, the table is written.

Speed is never asserted; the script itself refuses to time a variant whose value is wrong.
"""

from script_runner import run_script


def test_benchmark_writes_a_table_with_every_variant(tmp_path):
    out = tmp_path / "bench.md"
    result = run_script("bench_arma_likelihood.py", "--sizes", "30", "--order", "1", "2",
                        "--number", "1", "--repeats", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = out.read_text()
    assert "ARMA(1, 2)" in table
    for variant in ("| 30 | conditional |", "| 30 | conditional (arma_fast) |",
                    "| 30 | exact, fast path |", "| 30 | exact, full filter |"):
        assert variant in table
    assert table in result.stdout


def test_benchmark_rejects_bad_arguments(tmp_path):
    result = run_script("bench_arma_likelihood.py", "--sizes", "0", "--out",
                        str(tmp_path / "x.md"))
    assert result.returncode == 2
    assert "must be >= 1" in result.stderr
