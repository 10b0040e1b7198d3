"""The renewal family's exact oracle: Cori et al. (2013)'s closed-form Gamma posterior of R
(the method of EpiEstim) for Poisson observations of infections, R constant over windows of
k days, Gamma(a, b) prior. NUTS on ``epiestim_model`` must reproduce it on the 2009 school
influenza outbreak (Cauchemez et al. 2011, EpiEstim's ``Flu2009``) with its serial
interval: posterior means within 4 MCMC standard errors, 5 % and 95 % quantiles within 4
of their MCMC standard errors (ArviZ's ``mcse``, quantile method)."""

import csv
import shutil
import subprocess
from pathlib import Path

import arviz as az
import jax
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS
from scipy import stats
from script_runner import run_script

from models.renewal import epiestim_model, epiestim_posterior

REFDATA = Path("/work/shared/refdata")
if not REFDATA.exists():  # a checkout next to shared/
    REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"
BUNDLED = Path(__file__).resolve().parents[1] / "models" / "data"

WINDOW = 7
PRIOR_MEAN, PRIOR_SD = 5.0, 5.0  # EpiEstim's default Gamma prior: shape 1, scale 5


def read_column(path: Path, column: str) -> np.ndarray:
    with path.open() as handle:
        return np.array([float(row[column]) for row in csv.DictReader(handle)])


def flu2009() -> tuple[np.ndarray, np.ndarray]:
    incidence = read_column(BUNDLED / "influenza_school_2009_incidence.csv", "I")
    interval = read_column(BUNDLED / "influenza_school_2009_serial_interval.csv", "w")
    return incidence, interval / interval.sum()


def cori_by_loops(incidence, interval, window, a_shape, b_rate):
    """Cori et al. (2013) eq. (2), by plain Python loops: windows of ``window`` days from
    day 2 (1-based), posterior Gamma(a + sum I, b + sum Lambda) per window."""
    T = len(incidence)
    pressure = [sum(interval[s] * incidence[t - s] for s in range(1, len(interval))
                    if t - s >= 0) for t in range(T)]
    out = []
    for start in range(1, T, window):
        days = range(start, min(start + window, T))
        out.append((a_shape + sum(incidence[t] for t in days),
                    b_rate + sum(pressure[t] for t in days)))
    return np.array(out)


def test_shipped_copies_equal_the_reference_data():
    for name in ("influenza_school_2009_incidence.csv",
                 "influenza_school_2009_serial_interval.csv"):
        assert (BUNDLED / name).read_bytes() == (REFDATA / name).read_bytes()


def test_closed_form_equals_the_loop_of_the_paper(x64):
    incidence, interval = flu2009()
    exact = cori_by_loops(incidence, interval, WINDOW, 1.0, 0.2)
    ours = epiestim_posterior(incidence, interval, WINDOW, PRIOR_MEAN, PRIOR_SD)
    np.testing.assert_allclose(ours.shape, exact[:, 0], rtol=1e-12)
    np.testing.assert_allclose(ours.rate, exact[:, 1], rtol=1e-12)
    assert ours.first_day.tolist() == [1, 8, 15, 22, 29]
    assert ours.last_day.tolist() == [7, 14, 21, 28, 31]


@pytest.fixture(scope="module")
def nuts_draws():
    incidence, interval = flu2009()
    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(epiestim_model), num_warmup=300, num_samples=3000, num_chains=1,
                    progress_bar=False)
        mcmc.run(jax.random.PRNGKey(2009), y=incidence, generation_interval=interval,
                 window=WINDOW, r_prior_mean=PRIOR_MEAN, r_prior_sd=PRIOR_SD,
                 extra_fields=("diverging",))
        draws = np.asarray(mcmc.get_samples()["R"])
        divergences = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    exact = cori_by_loops(incidence, interval, WINDOW, 1.0, 0.2)
    return draws, divergences, exact


@pytest.mark.slow
def test_nuts_posterior_means_match_the_closed_form(nuts_draws):
    draws, divergences, exact = nuts_draws
    assert divergences == 0
    assert draws.shape[1] == len(exact) == 5
    for k, (shape, rate) in enumerate(exact):
        mcse = float(az.mcse(draws[None, :, k], method="mean"))
        z = (draws[:, k].mean() - shape / rate) / mcse
        assert abs(z) < 4, (k, draws[:, k].mean(), shape / rate, mcse)


@pytest.mark.slow
@pytest.mark.parametrize("prob", [0.05, 0.95])
def test_nuts_quantiles_match_the_closed_form(nuts_draws, prob):
    draws, _, exact = nuts_draws
    for k, (shape, rate) in enumerate(exact):
        truth = stats.gamma.ppf(prob, shape, scale=1 / rate)
        mcse = float(az.mcse(draws[None, :, k], method="quantile", prob=prob))
        assert abs(np.quantile(draws[:, k], prob) - truth) < 4 * mcse, (k, prob, truth)


@pytest.mark.slow
def test_a_wrong_interval_would_be_caught(nuts_draws):
    # power: the serial interval shifted one day later moves some window's mean by far more
    # than the MCMC error the checks above allow
    draws, _, exact = nuts_draws
    incidence, interval = flu2009()
    shifted = np.concatenate([[0.0], interval[:-1]])
    wrong = cori_by_loops(incidence, shifted, WINDOW, 1.0, 0.2)
    mcse = np.array([float(az.mcse(draws[None, :, k], method="mean")) for k in range(5)])
    z = (wrong[:, 0] / wrong[:, 1] - exact[:, 0] / exact[:, 1]) / mcse
    assert np.max(np.abs(z)) > 10


@pytest.mark.slow
def test_closed_form_equals_epiestim_itself(tmp_path):
    if shutil.which("Rscript") is None or subprocess.run(
            ["Rscript", "-e", "library(EpiEstim)"], capture_output=True).returncode != 0:
        pytest.skip("Rscript with EpiEstim not installed (Debian: r-cran-epiestim)")
    table = tmp_path / "table.md"
    process = run_script("validate_renewal_epiestim.py", "--draws", "0", "--out", str(table),
                         timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    text = table.read_text()
    assert "| EpiEstim mean" in text.splitlines()[0]
    gap = float(text.rsplit("EpiEstim: ", 1)[1])
    assert gap < 1e-9
