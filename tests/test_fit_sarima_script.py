"""``fit.py arma`` with differencing, seasonal terms and regressors, as a user runs it.

Two tiny fits (one chain, short; the gate is not the point here, so --allow-warnings):

* a quarterly airline-type model (0,1,1)(0,1,1)4 with an 8-quarter forecast and a
  "1990Q1" time column: the files written, the model's name and settings in run.json, the
  seasonal coefficient in summary.csv, the ``log_likelihood`` group holding the 60 - 5
  scored quarters (the first d + sD = 5 are not scored), and forecasts on the original
  scale, their spread growing with the horizon;
* a regression with AR(1) errors, ``--exog x --future-exog FILE --forecast 5``: ``beta``
  in summary.csv, the columns in run.json, five forecasts.
"""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from script_runner import run_script

TINY = ("--chains", "1", "--warmup", "150", "--samples", "150", "--allow-warnings")


@pytest.fixture(scope="module")
def quarterly(tmp_path_factory):
    """A quarterly airline-type series, (0,1,1)(0,1,1)4, T = 60 (a smaller state than the
    monthly airline model's 27, so the command-line fit compiles in a fraction of the
    time; the monthly model itself is checked against statsmodels in test_arma_sarima.py)."""
    folder = tmp_path_factory.mktemp("quarterly")
    rng = np.random.default_rng(11)
    T, theta, seasonal_theta = 60, -0.4, -0.5
    shocks = 0.05 * rng.normal(size=T + 5)
    y = np.zeros(T + 5)
    for t in range(5, T + 5):
        y[t] = (y[t - 1] + y[t - 4] - y[t - 5] + shocks[t] + theta * shocks[t - 1]
                + seasonal_theta * shocks[t - 4] + theta * seasonal_theta * shocks[t - 5]
                + (0.3 if t % 4 == 0 else 0.0) * (t < 9))
    y = 5.0 + y[5:]
    data = folder / "quarterly.csv"
    data.write_text("quarter,y\n" + "".join(
        f"{1990 + i // 4}Q{i % 4 + 1},{value:.6f}\n" for i, value in enumerate(y)))
    process = run_script("fit.py", "arma", "--data", str(data), "--column", "y",
                         "--time-column", "quarter", "--order", "0", "1", "--difference", "1",
                         "--seasonal-order", "0", "1", "1", "4", "--forecast", "8", *TINY,
                         "--out", str(folder / "out"), timeout=1200)
    return folder / "out", y, process


@pytest.mark.slow
def test_seasonal_model_from_the_command_line(quarterly):
    out, y, process = quarterly
    assert process.returncode == 0, process.stdout + process.stderr
    assert "SARIMA(0,1,1)(0,1,1)4" in process.stdout
    for name in ("posterior.nc", "summary.csv", "trace.png", "ppc.png", "forecast.png",
                 "run.json"):
        assert (out / name).stat().st_size > 0, name
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["difference"] == 1
    assert record["model"]["seasonal_order"] == [0, 1, 1, 4]
    summary = pd.read_csv(out / "summary.csv", index_col="parameter")
    assert any(name.startswith("seasonal_theta") for name in summary.index)
    idata = az.from_netcdf(str(out / "posterior.nc"))
    assert idata.log_likelihood["y"].sizes["time"] == 60 - 5  # d + sD = 5 not scored
    forecasts = idata.predictions["y_forecast"].values.reshape(-1, 8)
    # on the original scale: the next quarter near the last year's same quarter plus the
    # last year's change, and the spread growing with the horizon
    assert abs(np.median(forecasts[:, 0]) - (y[-4] + y[-1] - y[-5])) < 0.3
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
