"""``scripts/fit.py arma --series-column ... --column ...`` (long format) and ``--columns``
(wide format): one program fits every series, the outputs carry a ``series`` dim, the gate
is applied per series; bad panels get one error line.

The run: 4 simulated ARMA(1, 1) series in long format, one of them 10 values shorter (the
exact likelihood takes the padding as missing values), 3-step forecasts, tiny chains (the
gate fails for some series, which is what exit code 3 and the report must say). The same
panel through ``--hierarchical`` (the family's pooled model, one joint posterior): the
population parameters in the summary and the netCDF, per-series means against the
population law, forecasts.
"""

import csv
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
import xarray as xr
from script_runner import ROOT, SCRIPTS, TINY, run_script_in_process

from models.panel.simulate import simulate_arma_panel

S, T, SHORT = 4, 40, 10
NAMES = ["north", "south", "east", "west"]


def write_long(path, y: np.ndarray, lengths: list[int]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store", "week", "sales"])
        for name, values, length in zip(NAMES, y, lengths, strict=True):
            for t in range(length):
                writer.writerow([name, t + 1, f"{values[t]:.6f}"])


def start_script(*args: str) -> subprocess.Popen:
    """``python scripts/fit.py args...`` started, not waited for (as ``run_script`` runs
    it: the caller's XLA_FLAGS dropped)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    return subprocess.Popen([sys.executable, str(SCRIPTS / "fit.py"), *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The independent fit and the hierarchical fit of one panel, run side by side (two
    processes: the machine's two cores)."""
    folder = tmp_path_factory.mktemp("panel")
    y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(8), S, T).y)
    data = folder / "panel.csv"
    write_long(data, y, [T, T, T - SHORT, T])
    common = ["arma", "--order", "1", "1", "--data", str(data), "--series-column", "store",
              "--column", "sales", "--time-column", "week", "--forecast", "3", *TINY]
    outs = {"independent": folder / "out", "hierarchical": folder / "hierarchical"}
    # the independent fit in blocks of 2 series (of 4), regrouped by tree depth
    processes = {"independent": start_script(*common, "--batch-size", "2", "--out",
                                             str(outs["independent"])),
                 "hierarchical": start_script(*common, "--hierarchical", "--out",
                                              str(outs["hierarchical"]))}
    done = {}
    try:
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=1800)
            done[name] = (subprocess.CompletedProcess(process.args, process.returncode,
                                                      stdout, stderr), outs[name], y)
    finally:
        for process in processes.values():
            if process.poll() is None:  # timed out: do not leave the other one running
                process.kill()
                process.wait()
    return done


@pytest.fixture(scope="module")
def panel_run(runs):
    return runs["independent"]


@pytest.fixture(scope="module")
def hierarchical_run(runs):
    return runs["hierarchical"]


@pytest.mark.slow
def test_the_panel_fit_writes_one_posterior_with_a_series_dim(panel_run):
    process, out, y = panel_run
    assert process.returncode in (0, 3), process.stdout + process.stderr
    for name in ("posterior.nc", "summary.csv", "series.csv", "panel.png", "means.png",
                 "run.json"):
        assert (out / name).stat().st_size > 0, name
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    assert list(posterior["series"].values) == NAMES
    assert posterior["phi"].dims == ("chain", "draw", "series", "ar_lag")
    assert posterior["mu"].shape == (2, 50, S)
    observed = xr.open_dataset(out / "posterior.nc", group="observed_data")["y"]
    assert observed.dims == ("series", "time")
    np.testing.assert_allclose(observed.values[0], y[0], atol=1e-6)
    assert np.isnan(observed.values[2, T - SHORT:]).all()  # padding: missing values
    assert not np.isnan(observed.values[2, :T - SHORT]).any()
    forecasts = xr.open_dataset(out / "posterior.nc", group="predictions")["y_forecast"]
    assert forecasts.shape == (2, 50, S, 3)
    # each series' posterior mean of mu sits near its own data, not the panel's
    means = posterior["mu"].mean(("chain", "draw")).values
    assert np.argmax(means) == np.argmax(np.nanmean(observed.values, axis=1))


@pytest.mark.slow
def test_the_gate_is_applied_per_series_and_names_the_failures(panel_run):
    process, out, _ = panel_run
    with (out / "series.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["series"] for row in rows] == NAMES
    assert [int(row["observed"]) for row in rows] == [T, T, T - SHORT, T]
    assert "blocks of 2 series, regrouped by tree depth" in process.stdout
    failed = [row["series"] for row in rows if row["passed"] == "False"]
    record = json.loads((out / "run.json").read_text())
    assert sorted(record["gate"]["failed_series"]) == sorted(failed)
    assert record["panel"]["batch_size"] == 2
    # 2 x 50 draws cannot reach an ESS of 400: every series fails, and says why
    assert failed == NAMES and process.returncode == 3
    assert "diagnostics gate failed for 4 of 4 series" in process.stderr
    assert all("ESS" in row["failed_checks"] for row in rows)


def test_the_conditional_likelihood_refuses_unequal_lengths(tmp_path):
    data = tmp_path / "panel.csv"
    write_long(data, np.ones((S, T)) + np.arange(T), [T, T, T - SHORT, T])
    process = run_script_in_process("fit.py", "arma", "--likelihood", "conditional",
                                    "--data", str(data), "--series-column", "store",
                                    "--column", "sales")
    assert process.returncode == 2
    assert "series east" in process.stderr and "complete series of equal length" in \
        process.stderr


def assert_one_error_line(tmp_path, arguments, fragment):
    """fit.py arma on a small long-format panel with ``arguments``: exit 2, one stderr line
    holding ``fragment``."""
    data = tmp_path / "panel.csv"
    write_long(data, np.ones((S, T)) + np.arange(T), [T] * S)
    process = run_script_in_process("fit.py", "arma", "--data", str(data), *arguments)
    assert process.returncode == 2, process.stdout + process.stderr
    assert fragment in process.stderr
    assert process.stderr.count("\n") == 1


@pytest.mark.parametrize("arguments, fragment", [
    (["--series-column", "shop", "--column", "sales"], "--series-column 'shop' is not a column"),
    (["--series-column", "store"], "--series-column needs --column"),
    (["--columns", "sales", "sales"], "--columns names sales more than once"),
    (["--series-column", "store", "--column", "sales", "--exog", "week"],
     "--exog is not available with a panel"),
    (["--column", "sales", "--batch-size", "2"], "--batch-size runs many series in blocks"),
    (["--series-column", "store", "--column", "sales", "--batch-size", "0"],
     "--batch-size must be an integer >= 1, got 0"),
])
def test_bad_panel_input_gets_one_error_line(tmp_path, arguments, fragment):
    assert_one_error_line(tmp_path, arguments, fragment)


def test_wide_format_reads_one_column_per_series(tmp_path):
    import sys

    from script_runner import SCRIPTS

    sys.path.insert(0, str(SCRIPTS))
    from _cli.data import load_panel

    data = tmp_path / "wide.csv"
    data.write_text("week,a,b\n1,1.5,2\n2,,3\n3,2.5,NA\n")
    panel = load_panel(str(data), columns=["a", "b"], time_column="week")
    assert panel.names == ["a", "b"]
    np.testing.assert_array_equal(panel.values, [[1.5, np.nan, 2.5], [2, 3, np.nan]])
    assert panel.time.tolist() == [1, 2, 3] and panel.observed.tolist() == [2, 2]
    long = tmp_path / "long.csv"
    long.write_text("s,t,v\nb,3,30\na,1,1\nb,2,20\na,2,2\n")
    panel = load_panel(str(long), column="v", series_column="s", time_column="t")
    assert panel.names == ["b", "a"] and panel.time.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(panel.values, [[np.nan, 20, 30], [1, 2, np.nan]])


POPULATION = ("ar_loc", "ar_scale", "ma_loc", "ma_scale", "log_sigma_loc", "log_sigma_scale")


@pytest.mark.slow
def test_the_hierarchical_fit_reports_the_population(hierarchical_run):
    process, out, y = hierarchical_run
    assert process.returncode in (0, 3), process.stdout + process.stderr
    for name in ("posterior.nc", "summary.csv", "series.csv", "panel.png", "means.png",
                 "trace.png", "run.json"):
        assert (out / name).stat().st_size > 0, name
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    assert posterior["ar_loc"].dims == ("chain", "draw", "ar_lag")
    assert posterior["log_sigma_scale"].dims == ("chain", "draw")
    assert posterior["phi"].dims == ("chain", "draw", "series", "ar_lag")
    assert posterior["ar_u"].dims == ("chain", "draw", "series", "ar_lag")
    assert list(posterior["series"].values) == NAMES
    # the deterministic sites are the model's maths: phi = tanh(ar_loc + ar_scale ar_z)
    np.testing.assert_allclose(posterior["phi"].values, np.tanh(
        posterior["ar_loc"].values[:, :, None] + posterior["ar_scale"].values[:, :, None]
        * posterior["ar_z"].values), rtol=1e-9)
    observed = xr.open_dataset(out / "posterior.nc", group="observed_data")["y"]
    assert observed.dims == ("series", "time")
    assert np.isnan(observed.values[2, T - SHORT:]).all()
    forecasts = xr.open_dataset(out / "posterior.nc", group="predictions")["y_forecast"]
    assert forecasts.dims == ("chain", "draw", "series", "horizon")
    assert forecasts.shape == (2, 50, S, 3)
    with (out / "summary.csv").open() as handle:
        rows = [row["parameter"] for row in csv.DictReader(handle)]
    for name in POPULATION:
        assert any(row.split("[")[0] == name for row in rows), (name, rows)
    assert "mu[east]" in rows and "phi[north, 1]" in rows
    with (out / "series.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [row["series"] for row in table] == NAMES
    np.testing.assert_allclose([float(row["mean_mu"]) for row in table],
                               posterior["mu"].mean(("chain", "draw")).values, rtol=1e-9)
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["hierarchical"] is True
    assert record["model"]["population"] == list(POPULATION)
    assert "hierarchical ARMA(1,1)" in process.stdout


def test_the_population_density_is_the_mean_normal_density():
    sys.path.insert(0, str(SCRIPTS))
    from _cli.panel import population_density
    from scipy import stats

    rng = np.random.default_rng(0)
    loc, scale, grid = rng.normal(size=50), rng.uniform(0.2, 1.0, 50), np.linspace(-3, 3, 7)
    expected = np.mean([stats.norm(m, s).pdf(grid) for m, s in zip(loc, scale, strict=True)],
                       axis=0)
    np.testing.assert_allclose(population_density(loc, scale, grid), expected, rtol=1e-12)


@pytest.mark.parametrize("arguments, fragment", [
    (["--column", "sales", "--hierarchical"], "--hierarchical fits many series at once"),
    (["--series-column", "store", "--column", "sales", "--hierarchical", "--likelihood",
      "conditional"], "--likelihood conditional is not available with --hierarchical"),
    (["--series-column", "store", "--column", "sales", "--hierarchical", "--difference", "1"],
     "--difference is not available with --hierarchical (it takes --order)"),
    (["--series-column", "store", "--column", "sales", "--hierarchical", "--batch-size", "2"],
     "--batch-size is not available with --hierarchical"),
])
def test_bad_hierarchical_input_gets_one_error_line(tmp_path, arguments, fragment):
    assert_one_error_line(tmp_path, arguments, fragment)
