"""The ARMA fit plots on a dated series, as ``docs/arma-plots.md`` shows them.

One tiny fit (``scripts/make_doc_figures.py --arma --quick``: ARMA(2,1) with unemployment as
a regressor on the bundled quarterly US inflation, "1959Q1" labels, an 8-quarter forecast),
then:

* the three PNGs the docs show are written (PNG signature, small);
* ``posterior.nc`` keeps the quarters as dates, the regressor's coefficient is named by its
  column (``beta[unemp]`` in summary.csv, coordinate ``exog_column = ["unemp"]``), the
  one-step-ahead draws and the forecasts are there;
* drawn again from ``posterior.nc`` with the same plotting code, every time axis's tick
  labels are years between 1959 and 2010 (a plot that fell back to positions would label
  0, 50, 100, ...), and the trace plot has a legend entry per AR lag and for ``unemp``.
"""

import re
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from script_runner import SCRIPTS, run_script

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def arma_plots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("arma_plots")
    process = run_script("make_doc_figures.py", "--arma", "--quick", "--out",
                         str(folder / "figures"), "--fit-out", str(folder / "fit"),
                         timeout=900)
    assert process.returncode == 0, process.stdout + process.stderr
    return folder


def _tick_labels_of_saved_figures(monkeypatch, draw):
    """Run ``draw()``; return, per saved figure, the x tick labels of each axis and the
    legend texts, read from the figure just before it is written."""
    from matplotlib.figure import Figure

    seen = []
    original = Figure.savefig

    def recording(figure, *args, **kwargs):
        figure.canvas.draw()
        seen.append([([label.get_text() for label in axis.get_xticklabels()],
                      [text.get_text() for text in axis.get_legend().get_texts()]
                      if axis.get_legend() else []) for axis in figure.axes])
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    draw()
    return seen


def _years(labels):
    shown = [label for label in labels if label]
    return shown and all(re.fullmatch(r"(19[5-9]\d|20[01]\d)", label) for label in shown)


@pytest.mark.slow
def test_the_docs_figures_are_written(arma_plots):
    for name in ("arma-trace.png", "arma-ppc.png", "arma-forecast.png"):
        data = (arma_plots / "figures" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert 5_000 < len(data) < 150_000, name


@pytest.mark.slow
def test_the_fit_keeps_dates_and_names_the_regressor(arma_plots):
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    import _arviz_io

    idata = _arviz_io.read_inference_data(arma_plots / "fit" / "posterior.nc")
    times = idata.observed_data["time"].to_numpy()
    assert np.issubdtype(times.dtype, np.datetime64)
    assert str(times[0])[:10] == "1959-01-01" and str(times[-1])[:10] == "2007-07-01"
    assert idata.posterior["exog_column"].to_numpy().tolist() == ["unemp"]
    assert idata.posterior["beta"].dims[-1] == "exog_column"
    summary = pd.read_csv(arma_plots / "fit" / "summary.csv", index_col="parameter")
    assert "beta[unemp]" in summary.index and "phi[2]" in summary.index
    assert idata.posterior_predictive["y_one_step"].shape[-1] == times.shape[0]
    assert idata.predictions["y_forecast"].shape[-1] == 8


@pytest.mark.slow
def test_every_time_axis_is_labelled_with_dates(arma_plots, monkeypatch, tmp_path):
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    import _arviz_io

    idata = _arviz_io.read_inference_data(arma_plots / "fit" / "posterior.nc")

    def draw():
        _arviz_io.save_ppc_plot(idata, tmp_path / "ppc.png", observed="y",
                                time_label="quarter", seed=1, one_step="y_one_step")
        _arviz_io.save_forecast_plot(idata, tmp_path / "forecast.png", observed="y",
                                     forecast="y_forecast", time_label="quarter")
        _arviz_io.save_trace_plot(idata, tmp_path / "trace.png",
                                  ["mu", "phi", "theta", "beta", "sigma"])

    ppc, forecast, trace = _tick_labels_of_saved_figures(monkeypatch, draw)
    density, over_time = ppc
    assert _years(over_time[0]), over_time[0]
    assert "one-step-ahead median" in over_time[1]
    assert not _years(density[0])  # the density panel's axis is y, not time
    assert _years(forecast[0][0]), forecast[0][0]
    legends = [texts for _, texts in trace]
    assert any(texts[-2:] == ["1", "2"] for texts in legends), legends  # phi's lags
    assert any("unemp" in texts for texts in legends), legends
