"""The many-series section of the benchmark report (``run_all.panel_section``), from a
``bench_panel.py`` result written by hand: the ratios the issue's goals are read from are
the rows' own quotients, a run cut short before its largest S is extrapolated and says so,
and the section keeps its markers (``run_all.py --only panel`` replaces only it)."""

import pytest
from script_runner import import_benchmark


@pytest.fixture(scope="module")
def run_all():
    return import_benchmark("run_all")


def result(rows: list[dict]) -> dict:
    return {"job": "panel", "length": 200, "likelihood": "conditional", "chains": 2,
            "warmup": 150, "samples": 150, "target_series": 1000, "rows": rows,
            "load_average_1_5_15": [3.0, 3.0, 3.0], "devices": ["cpu:0"]}


def test_the_ratios_are_the_rows_quotients(run_all):
    rows = [{"name": "one program", "series": 1000, "wall_s": 100.0, "compile_s": 10.0,
             "measured": True, "mean_leapfrog_per_draw": 7.0, "batch_leapfrog_per_draw": 31.0},
            {"name": "loop: nutpie", "series": 1000, "wall_s": 3000.0, "measured": False,
             "how": "8 series timed"},
            {"name": "loop: fit command", "series": 1000, "wall_s": 9000.0, "measured": False,
             "how": "1 series timed"},
            {"name": "statsforecast ARIMA(1,0,1) MLE", "series": 1000, "wall_s": 20.0}]
    text = "\n".join(run_all.panel_section({"panel": [result(rows)]}))
    assert "best Bayesian loop / one program: **30.0 x** (met)" in text
    assert "one program / statsforecast MLE: **5.0 x** (met)" in text
    assert "| one program | 1,000 | 100.0 | 10.0 |" in text and "7.0; 31.0" in text
    assert text.startswith(run_all.PANEL_START) and text.endswith(run_all.PANEL_END)


def test_a_run_cut_short_is_extrapolated_and_says_so(run_all):
    rows = [{"name": "one program", "series": 10, "wall_s": 60.0, "compile_s": 50.0,
             "measured": True, "mean_leapfrog_per_draw": 7.0, "batch_leapfrog_per_draw": 31.0},
            {"name": "loop: MCMC", "series": 1000, "wall_s": 10100.0, "measured": False,
             "how": "8 series timed"}]
    text = "\n".join(run_all.panel_section({"panel": [result(rows)]}))
    # 50 s of compilation + 10 s of sampling x 100
    assert "| one program | 1,000 | 1,050.0 |" in text
    assert "extrapolated: from S = 10" in text
    assert "best Bayesian loop / one program: **9.6 x** (not met)" in text
    assert "statsforecast MLE:" not in text  # no row, no ratio


def test_the_panel_part_replaces_only_itself(run_all):
    old = (f"head\n{run_all.FAMILIES_START}\nfamilies\n{run_all.FAMILIES_END}\n"
           f"{run_all.PANEL_START}\nold panel\n{run_all.PANEL_END}\ntail\n")
    new = f"x\n{run_all.PANEL_START}\nnew panel\n{run_all.PANEL_END}\n"
    merged = run_all.merge_family_part(old, new, run_all.PANEL_START, run_all.PANEL_END)
    assert "new panel" in merged and "old panel" not in merged
    assert merged.startswith("head\n") and "families" in merged and merged.endswith("tail\n")
