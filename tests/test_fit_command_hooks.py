"""The contract's optional hooks, through the shared fit command, on a toy family
(``tests/toy_family.py``): string options with choices, a bundled series' own options and
time column, a family's series check, and quantities tracked over time (stored on the time
axis with their forecasts, and plotted). Also the input conveniences every family gets:
separator guessing, ``.`` as a missing value, thousands-separator and decimal-comma hints,
quarters as a time axis."""

import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import xarray as xr
from script_runner import ROOT, SCRIPTS, run_script_in_process

sys.path.insert(0, str(SCRIPTS))
from _arviz_io import forecast_times  # noqa: E402
from _cli.data import load_series  # noqa: E402
from _cli.errors import CliError  # noqa: E402

TOY = Path(__file__).with_name("toy_family.py")
TIMES = [f"2001-{month:02d}-01" for month in range(1, 13)]


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy.csv"
    rng = np.random.default_rng(3)
    values = 2.5 + 1.0 + 0.5 * rng.standard_normal(12)
    rows = "".join(f"{t},{v:.6f}\n" for t, v in zip(TIMES, values, strict=True))
    path.write_text("when,y\n" + rows)
    return path


@pytest.fixture(scope="module")
def toy_fit(bundled, tmp_path_factory):
    out = tmp_path_factory.mktemp("toy_out") / "run"
    process = subprocess.run(
        [sys.executable, str(TOY), str(bundled), "--spread", "t", "--chains", "1",
         "--warmup", "100", "--samples", "100", "--forecast", "3", "--allow-warnings",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    return process, out


def _in_process(bundled: Path, *args: str) -> subprocess.CompletedProcess:
    from toy_family import make_family

    from models.registry import FAMILIES

    with mock.patch.dict(FAMILIES, {"toy": make_family(bundled)}):
        return run_script_in_process("fit.py", "toy", *args)


@pytest.mark.slow
def test_tracked_quantity_is_stored_on_the_time_axis_with_its_forecast(toy_fit, bundled):
    process, out = toy_fit
    assert process.returncode == 0, process.stderr
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    standardised = posterior["standardised"]
    assert standardised.dims == ("chain", "draw", "time")
    assert [str(t)[:10] for t in standardised["time"].values] == TIMES
    # the answer, not only the shape: (y - offset - loc) / scale for every draw, with the
    # bundled series' own offset (2.5), which no flag set
    y = xr.open_dataset(out / "posterior.nc", group="observed_data")["y"].to_numpy()
    expected = (y - 2.5 - posterior["loc"].to_numpy()[..., None]) \
        / posterior["scale"].to_numpy()[..., None]
    np.testing.assert_allclose(standardised.to_numpy(), expected, rtol=1e-10)
    predictions = xr.open_dataset(out / "posterior.nc", group="predictions")
    assert predictions["standardised_forecast"].dims == ("chain", "draw", "horizon")
    ahead = (predictions["y_forecast"] - 2.5 - posterior["loc"]) / posterior["scale"]
    np.testing.assert_allclose(predictions["standardised_forecast"], ahead, rtol=1e-10)


@pytest.mark.slow
def test_quantity_drawn_after_sampling_is_stored_like_the_others(toy_fit):
    """``TimeQuantity.after_sampling``: not collected by NUTS, drawn by the posterior
    predictive program, stored and plotted as a collected one, with the draws' values."""
    process, out = toy_fit
    assert process.returncode == 0, process.stderr
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    level = posterior["level"]
    assert level.dims == ("chain", "draw", "time")
    assert [str(t)[:10] for t in level["time"].values] == TIMES
    expected = np.broadcast_to((posterior["loc"].to_numpy() + 2.5)[..., None], level.shape)
    np.testing.assert_allclose(level.to_numpy(), expected, rtol=1e-12)
    assert (out / "level.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sampling_passes_the_nuts_options_and_leaves_out_quantities_drawn_after(bundled):
    """``sample_posterior`` gives NUTS the family's ``nuts_options`` and starting points,
    and asks NumPyro not to collect the ``after_sampling`` quantities (``~z.NAME``)."""
    from _cli.fit_command import SamplerSettings, sample_posterior
    from toy_family import make_family

    family = make_family(bundled)
    settings = SamplerSettings(seed=1, chains=1, warmup=10, samples=10, chain_method=None,
                               progress_bar=False, compilation_cache=None, platform="cpu")
    with mock.patch("numpyro.infer.NUTS") as nuts, mock.patch("numpyro.infer.MCMC") as mcmc, \
            mock.patch("jax.block_until_ready"):
        sample_posterior(family, "iid", family.default_options("iid"), np.zeros(12),
                         settings=settings, rng_key=None, chain_method="sequential")
    kernel_options = nuts.call_args.kwargs
    assert kernel_options["target_accept_prob"] == 0.85
    assert kernel_options["init_strategy"] is not None
    extra_fields = mcmc.return_value.run.call_args.kwargs["extra_fields"]
    assert "~z.level" in extra_fields and "~z.standardised" not in extra_fields
    assert "diverging" in extra_fields


@pytest.mark.slow
def test_one_step_ahead_predictions_follow_their_law(toy_fit):
    _, out = toy_fit
    predictive = xr.open_dataset(out / "posterior.nc", group="posterior_predictive")
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    assert predictive["y_one_step"].dims == ("chain", "draw", "time")
    # iid Student-t(4) around loc + offset: standardised, median 0 and quartiles at
    # +-0.7407 (t(4) has no fourth moment, so quantiles, not the variance)
    z = ((predictive["y_one_step"] - 2.5 - posterior["loc"]) / posterior["scale"]).to_numpy()
    q25, q50, q75 = np.quantile(z, [0.25, 0.5, 0.75])
    assert abs(q50) < 0.15 and abs((q75 - q25) - 2 * 0.7407) < 0.2


@pytest.mark.slow
def test_options_plot_and_record(toy_fit):
    process, out = toy_fit
    assert process.returncode == 0, process.stderr
    assert (out / "standardised.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "standardised.png" in process.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["spread"] == "t" and record["model"]["offset"] == 2.5
    assert "toy(t)" in process.stdout


def test_draws_are_written_uncompressed(toy_fit):
    # zlib cannot shrink random float64 draws and made writing a long series' draws 8 x slower
    process, out = toy_fit
    assert process.returncode == 0, process.stderr
    for group in ("posterior", "posterior_predictive"):
        with xr.open_dataset(out / "posterior.nc", group=group, engine="h5netcdf") as data:
            for name, variable in data.data_vars.items():
                assert not variable.encoding.get("zlib", False), (group, name)


def test_a_choice_outside_the_list_is_refused(bundled):
    process = _in_process(bundled, "--spread", "cauchy")
    assert process.returncode == 2
    assert "invalid choice: 'cauchy'" in process.stderr and "'normal', 't'" in process.stderr


def test_forecasts_are_refused_for_a_variant_without_them(bundled):
    process = _in_process(bundled, "--likelihood", "iid-no-forecast", "--forecast", "3")
    assert process.returncode != 0
    assert process.stderr.strip().splitlines()[-1] == (
        "error: --forecast 3 needs --likelihood iid (the 'iid-no-forecast' likelihood of "
        "toy(normal) has no forecast distribution)"), process.stderr


def test_the_family_series_check_names_the_line(bundled, tmp_path):
    data = tmp_path / "neg.csv"
    data.write_text("y\n1.0\n2.0\n-3.5\n4.0\n")
    out = tmp_path / "out"
    process = _in_process(bundled, "--data", str(data), "--out", str(out))
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        f"error: '{data}' line 4, column 'y': -3.5 is negative; the toy needs y >= 0 "
        "(toy(normal))"]
    assert not out.exists()


def _series(tmp_path: Path, text: str, **kwargs):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return load_series(str(path), kwargs.pop("column", "y"), **kwargs)


def test_separator_is_guessed_and_said(tmp_path):
    series = _series(tmp_path, "t;y\n1;2.5\n2;3.5\n", time_column="t")
    assert series.separator == ";" and series.separator_guessed
    np.testing.assert_array_equal(series.values, [2.5, 3.5])
    tabbed = _series(tmp_path, "t\ty\n1\t2.5\n", sep="tab")
    assert tabbed.separator == "\t" and not tabbed.separator_guessed
    assert _series(tmp_path, "y\n1\n").separator == ","


def test_dot_is_a_missing_value(tmp_path):
    series = _series(tmp_path, "y\n1.0\n.\n3.0\n")
    np.testing.assert_array_equal(np.isnan(series.values), [False, True, False])


def test_blank_line_in_a_one_column_file_is_a_missing_value(tmp_path):
    # what pandas' to_csv writes for NaN in a one-column frame; skipping the line would
    # shift every later value one step in time. Blank lines before the header and after
    # the last value, and in a file with several columns, carry no data.
    series = _series(tmp_path, "\ny\n1.0\n\n  \n4.0\n\n\n")
    np.testing.assert_array_equal(np.isnan(series.values), [False, True, True, False])
    np.testing.assert_array_equal(series.lines, [3, 4, 5, 6])
    two = _series(tmp_path, "t,y\n1,1.0\n\n2,4.0\n")
    np.testing.assert_array_equal(two.values, [1.0, 4.0])


@pytest.mark.parametrize(("text", "hint"), [
    ('y\n"1,234.5"\n', "thousands separators"),
    ("y\n1,5\n", "field(s)"),  # unquoted: the comma splits the row
    ('y\n"1,5"\n', "decimal point must be '.'"),
    ("t,y\n1,1,234\n", "commas separate thousands"),
])
def test_number_format_hints(tmp_path, text, hint):
    with pytest.raises(CliError, match=None) as error:
        _series(tmp_path, text)
    assert hint in str(error.value)


def test_quarters_become_dates_and_continue_by_quarters(tmp_path):
    series = _series(tmp_path, "q,y\n1959Q3,1\n1959Q4,2\n1960Q1,3\n", time_column="q")
    assert [str(t) for t in series.time] == ["1959-07-01", "1959-10-01", "1960-01-01"]
    _, future, real = forecast_times(series.time, 2)
    assert real and [str(t) for t in future] == ["1960-04-01", "1960-07-01"]


def test_text_labels_fall_back_to_positions():
    past, future, real = forecast_times(np.array(["a", "b", "c"]), 2)
    assert not real and past.tolist() == [0, 1, 2] and future.tolist() == [3, 4]
