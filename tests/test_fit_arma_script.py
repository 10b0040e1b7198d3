"""scripts/fit_arma.py end to end: what it prints, which files it writes and what is in them.

One tiny fit (2 chains x 50 draws) is shared by the tests of this module; a second, reading the
same series from stdin, checks that equal seeds give bit-identical draws; a third, with one
warm-up step, must be stopped by the diagnostics gate. The files are read with xarray and h5py,
not ArviZ, so the test does not take the script's word for what it wrote.
"""

import csv
import json
import math
import re
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from script_runner import BUNDLED_SERIES, SCRIPTS, TINY, run_script

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # the scripts' shared _cli module

EXPECTED_FILES = {"posterior.nc", "summary.csv", "trace.png", "ppc.png", "run.json"}
SUMMARY_COLUMNS = ["parameter", "mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean", "mcse_sd",
                   "ess_bulk", "ess_tail", "r_hat"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bundled_series() -> tuple[np.ndarray, np.ndarray]:
    with BUNDLED_SERIES.open() as handle:
        rows = list(csv.DictReader(handle))
    return np.array([int(r["t"]) for r in rows]), np.array([float(r["y"]) for r in rows])


def open_groups(path: Path) -> dict[str, xr.Dataset]:
    tree = xr.open_datatree(path, engine="h5netcdf")
    groups = {name: child.to_dataset().load() for name, child in tree.children.items()}
    tree.close()
    return groups


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """A tiny ARMA(1,1) fit of the bundled series with its time column."""
    out = tmp_path_factory.mktemp("smoke") / "arma11"
    process = run_script("fit_arma.py", *TINY, "--seed", "1", "--time-column", "t",
                         "--out", str(out), "--allow-warnings")
    return process, out


@pytest.mark.slow
def test_exits_zero_and_prints_the_summary_and_divergences(smoke):
    process, _ = smoke
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["mean", "sd"])
    assert lines[header].split() == SUMMARY_COLUMNS[1:]
    assert [line.split()[0] for line in lines[header + 1:header + 5]] == [
        "mu", "phi[1]", "theta[1]", "sigma"]
    said = [line for line in lines if "divergence" in line.lower()]
    assert len(said) == 1 and re.match(r"divergences: \d+ of 100 draws;", said[0]), said
    assert "Traceback" not in process.stderr


@pytest.mark.slow
def test_tiny_run_fails_the_ess_gate_and_allow_warnings_lets_it_pass(smoke):
    # 100 draws cannot reach 400 effective draws: the gate fails, --allow-warnings downgrades
    process, out = smoke
    assert "warning: diagnostics gate failed" in process.stderr
    assert "ESS" in process.stderr
    gate = json.loads((out / "run.json").read_text())["gate"]
    assert gate["passed"] is False
    assert any("ESS" in failure for failure in gate["failures"])


@pytest.mark.slow
def test_writes_exactly_the_five_files_and_nothing_beside_them(smoke):
    _, out = smoke
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no staging folder left


@pytest.mark.slow
def test_posterior_nc_has_the_groups_dims_and_coords(smoke):
    _, out = smoke
    groups = open_groups(out / "posterior.nc")
    assert {"posterior", "posterior_predictive", "sample_stats", "observed_data"} <= set(groups)
    t, y = bundled_series()

    posterior = groups["posterior"]
    assert set(posterior.data_vars) == {"mu", "phi", "theta", "sigma"}
    assert posterior["mu"].dims == ("chain", "draw")
    assert posterior["phi"].dims == ("chain", "draw", "ar_lag")
    assert posterior["theta"].dims == ("chain", "draw", "ma_lag")
    assert dict(posterior.sizes) == {"chain": 2, "draw": 50, "ar_lag": 1, "ma_lag": 1}
    assert posterior["ar_lag"].values.tolist() == [1]
    assert all(posterior[v].dtype == np.float64 for v in posterior.data_vars)
    assert posterior.attrs["model"] == "ARMA(1,1)"
    assert posterior.attrs["seed"] == 1
    assert bool((posterior["sigma"] > 0).all())

    observed = groups["observed_data"]["y"]
    assert observed.dims == ("time",)
    np.testing.assert_array_equal(observed["time"].values, t)  # from --time-column t
    np.testing.assert_array_equal(observed.values, y)

    replicated = groups["posterior_predictive"]["y"]
    assert replicated.dims == ("chain", "draw", "time")
    assert replicated.shape == (2, 50, t.size)
    np.testing.assert_array_equal(replicated["time"].values, t)
    # simulated, not copied: replicated series differ from the data and from each other
    assert not np.array_equal(replicated.values[0, 0], y)
    assert not np.array_equal(replicated.values[0, 0], replicated.values[1, 0])

    stats = groups["sample_stats"]
    assert {"diverging", "energy", "step_size", "n_steps"} <= set(stats.data_vars)
    assert stats["energy"].dims == ("chain", "draw")


@pytest.mark.slow
def test_summary_csv_has_every_column_and_matches_the_draws(smoke):
    _, out = smoke
    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == SUMMARY_COLUMNS
    assert [r["parameter"] for r in rows] == ["mu", "phi[1]", "theta[1]", "sigma"]
    posterior = open_groups(out / "posterior.nc")["posterior"]
    for row, draws in zip(rows, [posterior["mu"], posterior["phi"], posterior["theta"],
                                 posterior["sigma"]], strict=True):
        assert math.isclose(float(row["mean"]), float(draws.mean()), rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(float(row["sd"]), float(draws.std(ddof=1)), rel_tol=1e-9)
        assert float(row["hdi_3%"]) < float(row["mean"]) < float(row["hdi_97%"])
        assert 0 < float(row["mcse_mean"]) < float(row["sd"])


@pytest.mark.slow
def test_plots_are_png_images(smoke):
    _, out = smoke
    for name in ("trace.png", "ppc.png"):
        content = (out / name).read_bytes()
        assert content.startswith(PNG_MAGIC)
        assert len(content) > 20_000  # drawn, not an empty canvas


@pytest.mark.slow
def test_run_json_records_command_seed_versions_devices_and_timings(smoke):
    _, out = smoke
    record = json.loads((out / "run.json").read_text())
    assert record["argv"][0].endswith("fit_arma.py")
    assert "--time-column t" in record["command"]
    assert record["seed"] == 1
    assert (record["chains"], record["warmup"], record["samples"]) == (2, 50, 50)
    for package in ("jax", "numpyro", "arviz"):
        assert record["versions"][package] == metadata.version(package)
    assert record["platform"] == "cpu"
    assert record["device_count"] == 2  # one XLA host device per chain
    assert record["chain_method"] == "parallel"
    assert record["float64"] is True
    timings = record["timings_s"]
    assert timings["compile_s"] > 0
    assert timings["sampling_s"] >= 0
    assert timings["mcmc_wall_s"] >= timings["compile_s"]
    assert record["data"]["observations"] == 200
    assert record["data"]["column"] == "y"
    assert record["model"]["order"] == [1, 1]
    assert set(record["diagnostics"]) >= {"divergences", "max_rhat", "min_ess_bulk",
                                          "min_ess_tail", "min_bfmi"}
    # the exact model's priors were set from the series, and are recorded as numbers
    from models.arma.model import data_scaled_priors

    assert record["model"]["set_from_data"] == ["mu_loc", "mu_scale", "sigma_scale"]
    for name, value in data_scaled_priors(bundled_series()[1])._asdict().items():
        assert record["model"][name] == pytest.approx(value, rel=1e-12)
    process, _ = smoke
    assert "set from the data: mu_loc = " in process.stdout


@pytest.mark.slow
def test_same_seed_gives_bit_identical_draws_from_stdin_with_dates_and_force(smoke, tmp_path):
    """Same seed, platform and chain method: the same draws, bit for bit, although this run
    goes through ``fit.py arma`` (the registry-driven command) instead of its ``fit_arma.py``
    alias, reads the series from stdin with ISO dates as its time column and replaces
    (--force) an older output folder."""
    _, first = smoke
    t, _ = bundled_series()
    dates = np.datetime64("2020-01-01") + np.arange(t.size)
    y_cells = [line.split(",")[1] for line in BUNDLED_SERIES.read_text().splitlines()[1:]]
    dated_csv = "date,y\n" + "".join(f"{d},{c}\n" for d, c in zip(dates, y_cells, strict=True))
    second = tmp_path / "again"
    second.mkdir()
    (second / "run.json").write_text("{}")
    (second / "stale.png").write_text("from an older run")
    process = run_script("fit.py", "arma", *TINY, "--seed", "1", "--time-column", "date",
                         "--data", "-", "--column", "y", "--out", str(second), "--force",
                         "--allow-warnings", stdin=dated_csv)
    assert process.returncode == 0, process.stderr
    records = [json.loads((folder / "run.json").read_text()) for folder in (first, second)]
    assert records[0]["model"] == records[1]["model"]
    assert {p.name for p in second.iterdir()} == EXPECTED_FILES  # replaced, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["again"]
    assert json.loads((second / "run.json").read_text())["data"]["source"] == "<stdin>"
    a, b = open_groups(first / "posterior.nc"), open_groups(second / "posterior.nc")
    for group in ("posterior", "posterior_predictive", "sample_stats"):
        for name in a[group].data_vars:
            assert a[group][name].dtype == b[group][name].dtype
            assert np.array_equal(a[group][name].values, b[group][name].values), (group, name)
    np.testing.assert_array_equal(b["observed_data"]["time"].values, dates)
    np.testing.assert_array_equal(b["posterior_predictive"]["time"].values, dates)


@pytest.mark.slow
def test_diagnostics_gate_stops_a_run_with_one_warm_up_step(tmp_path):
    out = tmp_path / "bad"
    process = run_script("fit_arma.py", "--chains", "2", "--warmup", "1", "--samples", "50",
                         "--likelihood", "conditional", "--chain-method", "vectorized",
                         "--out", str(out))
    assert process.returncode == 3
    message = process.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("error: diagnostics gate failed: ")
    assert "R-hat of " in message and "(must be <= 1.01)" in message
    assert "bulk ESS of " in message
    # the outputs of a finished run are kept, so the trace plot can show what went wrong
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    record = json.loads((out / "run.json").read_text())
    assert record["gate"]["passed"] is False
    assert record["gate"]["failures"]
    assert all(failure in message for failure in record["gate"]["failures"])
    # --chain-method overrides the default; vectorized chains need no extra host devices
    assert (record["chain_method"], record["device_count"]) == ("vectorized", 1)


@pytest.mark.slow
def test_exact_likelihood_with_gaps_writes_forecasts_from_the_posterior(tmp_path, x64):
    """Default (exact) likelihood on a series with two empty cells, --forecast 12: the
    predictions group holds draws whose mean follows the forecast mean of each posterior
    draw (recomputed here with models.arma_forecast), whose spread and 90 % bands widen
    with h, and whose median heads for the posterior mean of mu."""
    import jax
    import jax.numpy as jnp

    from models import arma_forecast

    t, y = bundled_series()
    # the first 80 values: a gap sends the whole series through the full covariance
    # recursion, whose cost grows with T; 80 values are plenty for the checks below
    t, y = t[:80], y[:80]
    cells = [repr(float(v)) for v in y]
    cells[10] = cells[57] = ""
    csv_text = "t,y\n" + "".join(f"{a},{c}\n" for a, c in zip(t, cells, strict=True))
    out = tmp_path / "exact"
    process = run_script("fit_arma.py", *TINY, "--seed", "3", "--data", "-", "--column", "y",
                         "--forecast", "12", "--out", str(out), "--allow-warnings",
                         stdin=csv_text)
    assert process.returncode == 0, process.stderr
    assert "exact likelihood" in process.stdout
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES | {"forecast.png"}
    assert (out / "forecast.png").read_bytes()[:8] == PNG_MAGIC
    groups = open_groups(out / "posterior.nc")
    observed = groups["observed_data"]["y"].values
    assert np.isnan(observed[[10, 57]]).all() and np.isfinite(np.delete(observed, [10, 57])).all()
    draws = groups["predictions"]["y_forecast"]
    assert draws.dims == ("chain", "draw", "horizon")
    np.testing.assert_array_equal(draws["horizon"].values, np.arange(1, 13))
    post = groups["posterior"]
    flat = {k: jnp.asarray(post[k].values.reshape((-1,) + post[k].shape[2:]))
            for k in ("mu", "phi", "theta", "sigma")}
    means = jax.jit(jax.vmap(lambda mu, phi, theta, sigma: arma_forecast(
        jnp.asarray(observed), mu, phi, theta, sigma, 12).mean))(
        flat["mu"], flat["phi"], flat["theta"], flat["sigma"])
    forecast = draws.values.reshape(-1, 12)
    spread = forecast.std(axis=0)
    standard_error = spread / np.sqrt(forecast.shape[0])
    assert np.all(np.abs(forecast.mean(axis=0) - np.asarray(means).mean(axis=0))
                  < 4.5 * standard_error)
    assert spread[-1] > 1.5 * spread[0]
    # the 90 % bands widen with the horizon (parameter uncertainty included), and the
    # forecast median moves from the last value towards the posterior mean of mu
    lower, upper = np.percentile(forecast, [5, 95], axis=0)
    width = upper - lower
    assert width[-1] > 1.25 * width[0] and np.all(width[3:] > width[0])
    mu_hat = float(post["mu"].mean())
    last = observed[np.isfinite(observed)][-1]
    assert abs(float(np.median(forecast[:, -1])) - mu_hat) < abs(last - mu_hat) + 0.3
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["likelihood"] == "exact"
    assert record["model"]["forecast_horizon"] == 12
    assert "one_step_s" in record["timings_s"]
    # the pointwise log-likelihood (drawn after sampling, with the one-step predictions):
    # at every draw the exact model's one-step densities at the 78 observed steps, summing
    # to the exact log-likelihood
    from models.arma.exact import arma_exact_loglik

    scored = groups["log_likelihood"]["y"]
    np.testing.assert_array_equal(scored["time"].values, np.delete(np.arange(80), [10, 57]))
    pointwise = scored.values.reshape(-1, 78)
    assert "pointwise_log_likelihood" not in post
    for index in (0, len(pointwise) - 1):
        exact = arma_exact_loglik(jnp.asarray(observed), flat["mu"][index], flat["phi"][index],
                                  flat["theta"][index], flat["sigma"][index],
                                  method="sequential")
        np.testing.assert_allclose(pointwise[index].sum(), float(exact), rtol=1e-10)


@pytest.fixture(scope="module")
def conditional_runs(tmp_path_factory):
    """Three tiny conditional fits with 3-step forecasts and one seed, shared by the two
    tests below: the first two with a compilation cache (cold, then warm; the files in the
    cache after each), the third without the cache and with the fast XLA:CPU option turned
    back off by the user's XLA_FLAGS (when this jaxlib has such an option)."""
    import _cli

    root = tmp_path_factory.mktemp("conditional")
    cache, flags = root / "xla", _cli.fast_cpu_compile_flags()
    runs = {}
    for name, extra, user_flags in (
        ("cold", ("--compilation-cache", str(cache)), None),
        ("warm", ("--compilation-cache", str(cache)), None),
        ("plain", (), flags[0].replace("=false", "=true") if flags else None),
    ):
        out = root / name
        process = run_script("fit_arma.py", *TINY, "--seed", "2", "--likelihood", "conditional",
                             "--forecast", "3", *extra, "--out", str(out), "--allow-warnings",
                             xla_flags=user_flags)
        assert process.returncode == 0, process.stderr
        runs[name] = (out, sorted(p.name for p in cache.rglob("*") if p.is_file()))
    return runs, cache, flags


def same_posterior_draws(first: Path, second: Path) -> None:
    a, b = (open_groups(out / "posterior.nc")["posterior"] for out in (first, second))
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values), name


@pytest.mark.slow
def test_compilation_cache_is_filled_and_reused_without_changing_the_draws(conditional_runs):
    """--compilation-cache: the first run fills the folder, the second reads it back (the
    folder does not grow) and gives the same draws, bit for bit."""
    runs, cache, _ = conditional_runs
    (cold, cold_files), (warm, warm_files) = runs["cold"], runs["warm"]
    assert cold_files and warm_files == cold_files
    for out in (cold, warm):
        assert json.loads((out / "run.json").read_text())["compilation_cache"] == str(cache)
    same_posterior_draws(cold, warm)
    # the conditional likelihood forecasts too: 3 steps per draw, the same with the cache
    forecasts = [open_groups(out / "posterior.nc")["predictions"]["y_forecast"]
                 for out in (cold, warm)]
    assert forecasts[0].dims == ("chain", "draw", "horizon") and forecasts[0].shape[2] == 3
    assert np.all(np.isfinite(forecasts[0].values))
    assert np.array_equal(forecasts[0].values, forecasts[1].values)
    assert (cold / "forecast.png").is_file()


@pytest.mark.slow
def test_fast_cpu_compile_options_leave_the_draws_bit_for_bit_unchanged(conditional_runs):
    """The XLA:CPU options the scripts add (where measured) only change how XLA compiles:
    a run with the option turned back off by the user's XLA_FLAGS, which win, draws the
    same numbers (nor does the compilation cache change them). run.json records the flags
    each run started with."""
    runs, _, flags = conditional_runs
    if not flags:
        pytest.skip(f"no fast compile options measured for jaxlib {metadata.version('jaxlib')}")
    (fast, _), (plain, _) = runs["cold"], runs["plain"]
    recorded = [json.loads((out / "run.json").read_text())["xla_flags"] for out in (fast, plain)]
    assert flags[0] in recorded[0].split()
    assert flags[0] not in recorded[1].split() and "=true" in recorded[1]
    same_posterior_draws(fast, plain)


@pytest.mark.parametrize(("version", "expected"), [("0.10.2", True), ("0.4.38", False),
                                                   ("1.0.0.dev2027", False), ("odd", False)])
def test_fast_cpu_compile_flags_only_for_measured_jaxlib(version, expected):
    import _cli

    assert bool(_cli.fast_cpu_compile_flags(version)) is expected


def test_user_xla_flags_are_kept_and_win(monkeypatch):
    import _cli

    if not _cli.fast_cpu_compile_flags():
        pytest.skip("no fast compile options for this jaxlib")
    option = _cli.fast_cpu_compile_flags()[0].split("=")[0]
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    got = _cli.add_fast_cpu_compile_flags().split()
    assert got[0] == "--xla_force_host_platform_device_count=3" and got[1].startswith(option)
    monkeypatch.setenv("XLA_FLAGS", f"{option}=true")
    assert _cli.add_fast_cpu_compile_flags() == f"{option}=true"
