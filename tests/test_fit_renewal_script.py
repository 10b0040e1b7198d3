"""scripts/fit.py renewal: bad input is one ``error:`` line naming what is wrong (counts,
generation interval, delay, completeness), and a tiny fit with a forecast writes R_t on the
series' time axis, its forecast, and the R_t plot."""

import json

import numpy as np
import pytest
import xarray as xr
from script_runner import import_benchmark, run_script, run_script_in_process

SERIES = "t,I\n" + "".join(f"{t},{c}\n" for t, c in enumerate([1, 2, 4, 3, 6, 9, 8, 12], 1))


def refused(*args: str, stdin: str = SERIES) -> str:
    process = run_script_in_process("fit.py", "renewal", "--data", "-", "--column", "I",
                                    *args, stdin=stdin)
    assert process.returncode == 2, (process.stdout, process.stderr)
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    assert "Traceback" not in process.stderr
    return lines[0]


@pytest.mark.parametrize("value, position", [("-3", 3), ("2.5", 5)])
def test_a_value_that_is_not_a_count_is_named_with_its_line(value, position):
    rows = SERIES.splitlines()
    rows[position] = f"{position},{value}"
    line = refused(stdin="\n".join(rows) + "\n")
    assert f"line {position + 1}" in line and "column 'I'" in line
    assert f"{value} is not a count" in line


@pytest.mark.parametrize("args, fragments", [
    (("--generation-interval", "0.1", "0.5", "0.4"),
     ("--generation-interval", "mass at lag 0 must be 0", "got 0.1")),
    (("--generation-interval", "0", "0.5", "0.4"),
     ("--generation-interval", "must sum to 1", "got 0.9")),
    (("--delay", "0.5", "0.6"), ("--delay", "must sum to 1", "got 1.1")),
    (("--completeness", "0.5", "1.2"), ("--completeness", "(0, 1]")),
    (("--noise", "gaussian"), ("--noise", "invalid choice")),
    (("--gi-distribution", "weibull"), ("--gi-distribution", "invalid choice")),
    (("--gi-distribution", "lognormal", "--gi-mean", "0.8"),
     ("--gi-mean", "must be > 1 day", "got 0.8")),
    (("--likelihood", "epiestim", "--delay", "0.5", "0.5"), ("--delay", "renewal only")),
    (("--likelihood", "epiestim", "--forecast", "3"), ("--forecast 3", "renewal")),
])
def test_bad_options_give_one_clear_error(args, fragments):
    line = refused(*args)
    for fragment in fragments:
        assert fragment in line, (fragment, line)


@pytest.fixture(scope="module")
def tiny_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("renewal") / "flu2009"
    process = run_script("fit.py", "renewal", "--chains", "1", "--warmup", "60",
                         "--samples", "60", "--seed", "3", "--forecast", "5",
                         "--completeness", "0.6", "0.9", "--out", str(out),
                         "--allow-warnings", timeout=600)
    return process, out


@pytest.mark.slow
def test_tiny_fit_writes_r_t_on_the_time_axis_with_its_forecast(tiny_fit):
    process, out = tiny_fit
    assert process.returncode == 0, process.stderr
    assert {"posterior.nc", "summary.csv", "trace.png", "ppc.png", "forecast.png",
            "R_t.png", "infections.png", "run.json"} <= {p.name for p in out.iterdir()}
    tree = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    r_t = tree["posterior"].to_dataset()["R_t"].load()
    forecast = tree["predictions"].to_dataset().load()
    tree.close()
    assert r_t.dims == ("chain", "draw", "time") and r_t.sizes["time"] == 32
    assert r_t["time"].values.tolist() == list(range(1, 33))  # the bundled file's t column
    assert forecast["R_t_forecast"].shape == (1, 60, 5)
    assert forecast["y_forecast"].shape == (1, 60, 5)
    values = forecast["y_forecast"].values
    assert np.all(values >= 0) and np.all(values == np.round(values))
    record = json.loads((out / "run.json").read_text())["model"]
    assert len(record["generation_interval"]) == 33  # the bundled serial interval
    assert record["completeness"] == [0.6, 0.9] and "seed_loc" in record["set_from_data"]


def test_loop_benchmark_scores_the_same_density_as_the_scan(x64):
    # the benchmark's course-style model (Python loop, one site per day) must be the same
    # density as renewal_model, or its timing ratio compares two different models
    from numpyro.infer.util import log_density

    from models.renewal import renewal_model
    bench = import_benchmark("bench_renewal_loop")
    y = np.array([3.0, 5.0, 4.0, 8.0, 7.0])
    params = {"log_level": np.array([1.5, 1.9, 1.7, 2.0, 2.2]), "rw_sd": 0.1,
              "log_seed": 1.2, "dispersion": 0.3}
    scan, _ = log_density(renewal_model, (), {"y": y, "generation_interval": bench.INTERVAL,
                                              "step": 1, "seed_loc": 3.0}, params)
    loop, _ = log_density(bench.loop_model, (y,), {}, params)
    assert float(scan) == pytest.approx(float(loop), rel=1e-12)
