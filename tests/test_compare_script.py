"""scripts/compare.py: ranks ARMA orders by PSIS-LOO, with ArviZ's own numbers.

One run of ``compare.py --grid 1,0 0,1 1,1 2,1`` on a simulated ARMA(2,1) series (complex AR
roots: a damped oscillation that AR(1), MA(1) and ARMA(1,1) cannot follow), shared by the
tests: ARMA(2,1) ranks first or within 2 dse of the first, above the three smaller models;
the table equals ``az.compare`` called directly on the saved fits; ``compare.py`` on those
saved files gives the same table; and the pointwise log-likelihoods it compares are the
filter's one-step densities (their sum at a posterior draw equals the exact log-likelihood).
"""

import warnings

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from script_runner import run_script
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma import arma_exact_loglik

ORDERS = ["ARMA(1,0)", "ARMA(0,1)", "ARMA(1,1)", "ARMA(2,1)"]
COLUMNS = ["rank", "elpd_loo", "p_loo", "elpd_diff", "weight", "se", "dse"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(7)
    y = 5.0 + arma_generate_sample([1, -1.0, 0.6], [1, 0.5], 200, scale=1.0,
                                   distrvs=rng.standard_normal)
    data = folder / "series.csv"
    data.write_text("y\n" + "".join(f"{value:.6f}\n" for value in y))
    y = np.loadtxt(data, skiprows=1)  # the series as fitted: 6 decimals
    process = run_script("compare.py", "--grid", "1,0", "0,1", "1,1", "2,1", "--data",
                         str(data), "--column", "y", "--chains", "2", "--warmup", "150",
                         "--samples", "150", "--csv", str(folder / "table.csv"), "--save",
                         str(folder / "runs"), timeout=1200)
    assert process.returncode == 0, process.stdout + process.stderr
    table = pd.read_csv(folder / "table.csv", index_col="model")
    return folder, y, table, process


@pytest.mark.slow
def test_the_true_order_ranks_above_the_smaller_ones(grid):
    _, _, table, _ = grid
    assert sorted(table.index) == sorted(ORDERS)
    best = table.index[0]
    assert best == "ARMA(2,1)" or (
        table.loc["ARMA(2,1)", "elpd_diff"] <= 2 * table.loc["ARMA(2,1)", "dse"])
    for smaller in ("ARMA(1,0)", "ARMA(0,1)", "ARMA(1,1)"):
        assert table.loc["ARMA(2,1)", "elpd_loo"] > table.loc[smaller, "elpd_loo"]


@pytest.mark.slow
def test_the_table_is_arviz_compare_called_directly(grid):
    folder, _, table, _ = grid
    runs = {name: az.from_netcdf(str(folder / "runs" / f"{name}.nc")) for name in ORDERS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = az.compare(runs, ic="loo")
    pd.testing.assert_frame_equal(table[COLUMNS], expected[COLUMNS].astype(table[COLUMNS].dtypes),
                                  check_exact=False, rtol=1e-9, check_names=False)

    # compare.py on the saved files: the same table
    again = run_script("compare.py", *(str(folder / "runs" / f"{n}.nc") for n in ORDERS),
                       "--csv", str(folder / "again.csv"), timeout=300)
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(folder / "again.csv", index_col="model")[COLUMNS],
                                  table[COLUMNS], check_exact=False, rtol=1e-9)


@pytest.mark.slow
def test_the_pointwise_terms_are_the_filters_one_step_densities(grid, x64):
    folder, y, _, _ = grid
    idata = az.from_netcdf(str(folder / "runs" / "ARMA(2,1).nc"))
    pointwise = idata.log_likelihood["y"]
    assert pointwise.sizes["time"] == len(y)  # no gaps, no differencing: every step
    draw = idata.posterior.isel(chain=0, draw=0)
    exact = arma_exact_loglik(jnp.asarray(y), float(draw["mu"]), jnp.asarray(draw["phi"]),
                              jnp.asarray(draw["theta"]), float(draw["sigma"]))
    np.testing.assert_allclose(float(pointwise.isel(chain=0, draw=0).sum()), float(exact),
                               rtol=1e-9)
    assert jax.numpy.isfinite(exact)


def test_compare_refuses_bad_input(tmp_path):
    process = run_script("compare.py", str(tmp_path / "a.nc"), timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().startswith("error: need at least two runs to compare")
    process = run_script("compare.py", "--grid", "1,0", "2", timeout=120)
    assert process.returncode == 2
    assert "an order is p,q or p,d,q" in process.stderr
