"""``fit.py arma`` with differencing, seasonal terms and regressors, as a user runs it.

Two tiny fits (one chain, short; the gate is not the point here, so --allow-warnings):

* the airline model (0,1,1)(0,1,1)12 on log passengers (pmdarima's copy, the ``test``
  extra) with a 12-month forecast: the files written, the model's name and settings in
  run.json, the seasonal coefficient in summary.csv, the ``log_likelihood`` group holding
  the 144 - 13 scored months (the first d + sD = 13 are not scored), and forecasts on the
  original (log) scale, their spread growing with the horizon;
* a regression with AR(1) errors, ``--exog x --future-exog FILE --forecast 5``: ``beta``
  in summary.csv, the columns in run.json, five forecasts.
"""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from script_runner import run_script

pmdarima_datasets = pytest.importorskip("pmdarima.datasets")

TINY = ("--chains", "1", "--warmup", "150", "--samples", "150", "--allow-warnings")


@pytest.fixture(scope="module")
def airline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("airline")
    log_passengers = np.log(pmdarima_datasets.load_airpassengers())
    data = folder / "air.csv"
    data.write_text("month,logpass\n" + "".join(
        f"{1949 + i // 12}-{i % 12 + 1:02d},{value:.6f}\n"
        for i, value in enumerate(log_passengers)))
    process = run_script("fit.py", "arma", "--data", str(data), "--column", "logpass",
                         "--time-column", "month", "--order", "0", "1", "--difference", "1",
                         "--seasonal-order", "0", "1", "1", "12", "--forecast", "12", *TINY,
                         "--out", str(folder / "out"), timeout=1200)
    return folder / "out", log_passengers, process


@pytest.mark.slow
def test_airline_model_from_the_command_line(airline):
    out, log_passengers, process = airline
    assert process.returncode == 0, process.stdout + process.stderr
    assert "SARIMA(0,1,1)(0,1,1)12" in process.stdout
    for name in ("posterior.nc", "summary.csv", "trace.png", "ppc.png", "forecast.png",
                 "run.json"):
        assert (out / name).stat().st_size > 0, name
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["difference"] == 1
    assert record["model"]["seasonal_order"] == [0, 1, 1, 12]
    summary = pd.read_csv(out / "summary.csv", index_col="parameter")
    assert any(name.startswith("seasonal_theta") for name in summary.index)
    idata = az.from_netcdf(str(out / "posterior.nc"))
    assert idata.log_likelihood["y"].sizes["time"] == 144 - 13
    forecasts = idata.predictions["y_forecast"].values.reshape(-1, 12)
    # on the original scale: next year's log passengers near the last year's level
    assert abs(np.median(forecasts[:, 0]) - log_passengers[-12]) < 0.3
    spread = forecasts.std(axis=0)
    assert spread[-1] > spread[0]


@pytest.mark.slow
def test_regression_with_arma_errors_from_the_command_line(tmp_path):
    rng = np.random.default_rng(3)
    T = 80
    x = np.sin(np.arange(T + 5) / 4) + 0.3 * rng.normal(size=T + 5)
    errors, shocks = np.zeros(T), rng.normal(size=T)
    for t in range(T):
        errors[t] = (0.6 * errors[t - 1] if t else 0.0) + shocks[t]
    y = 2.0 + 1.5 * x[:T] + errors
    data, future = tmp_path / "reg.csv", tmp_path / "future.csv"
    data.write_text("y,x\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(y, x, strict=False)))
    future.write_text("x\n" + "".join(f"{b:.6f}\n" for b in x[T:]))
    process = run_script("fit.py", "arma", "--data", str(data), "--column", "y", "--order",
                         "1", "0", "--exog", "x", "--future-exog", str(future), "--forecast",
                         "5", *TINY, "--out", str(tmp_path / "out"), timeout=1200)
    assert process.returncode == 0, process.stdout + process.stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.csv", index_col="parameter")
    beta = [name for name in summary.index if name.startswith("beta")]
    assert len(beta) == 1
    assert summary.loc[beta[0], "hdi_3%"] < 1.5 < summary.loc[beta[0], "hdi_97%"]
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["model"]["exog"] == ["x"]
    idata = az.from_netcdf(str(tmp_path / "out" / "posterior.nc"))
    assert idata.predictions["y_forecast"].shape[-1] == 5
