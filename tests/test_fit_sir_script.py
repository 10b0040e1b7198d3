"""``scripts/fit.py sir`` end to end on the bundled boarding-school series.

One fit at the default NUTS settings (4 chains x 500 draws after 500 warm-up, forecasts 7
days ahead) is shared by the slow tests. Its posterior is checked against the posterior
computed by quadrature on a grid (the ODE by SciPy's DOP853, the density from
``scipy.stats``: nothing of this package), its replicated series against the data, its
stored prevalence against DOP853 at the posterior draws. Bad input is refused with one
``error:`` line that names the file, line and column (in process: no fit starts).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.integrate import solve_ivp
from scipy.special import logsumexp
from script_runner import run_script, run_script_in_process

IN_BED = np.array([3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4])
N = 763.0
PARAMETERS = ("beta", "gamma", "phi_inv", "R0", "recovery_time")
FORECAST = 7


def solve_sir(beta: np.ndarray, gamma: np.ndarray, population: float, days: int) -> np.ndarray:
    """I(t) at t = 1..days for every (beta[k], gamma[k]), one DOP853 call on the stacked
    system (rtol 1e-10): shape (len(beta), days)."""
    m = beta.size

    def rhs(t, z):
        s, i = z[:m], z[m:2 * m]
        infections = beta * s * i / population
        return np.concatenate([-infections, infections - gamma * i, gamma * i])

    start = np.concatenate([np.full(m, population - 1.0), np.ones(m), np.zeros(m)])
    solution = solve_ivp(rhs, (0.0, days), start, method="DOP853", rtol=1e-10, atol=1e-8,
                         t_eval=np.arange(1.0, days + 1))
    assert solution.success
    return solution.y[m:2 * m]


def quadrature_posterior() -> tuple[dict[str, float], dict[str, float]]:
    """Posterior means and sds of the case study's model by a midpoint rule on a
    41 x 41 x 150 grid of (beta, gamma, phi_inv) that holds all but 5e-5 of the mass
    (refining to 81 x 81 x 300 moves no mean by more than 2e-6)."""
    beta_axis, gamma_axis = np.linspace(1.45, 2.05, 41), np.linspace(0.30, 0.85, 41)
    beta, gamma = (a.ravel() for a in np.meshgrid(beta_axis, gamma_axis, indexing="ij"))
    phi_inv = (np.arange(150) + 0.5) * (0.9 / 150)
    mean = solve_sir(beta, gamma, N, len(IN_BED))[:, None, :]
    phi = (1.0 / phi_inv)[None, :, None]
    log_lik = stats.nbinom.logpmf(IN_BED, phi, phi / (phi + mean)).sum(-1)
    log_post = (log_lik
                + stats.truncnorm.logpdf(beta, -2.0, np.inf, loc=2.0, scale=1.0)[:, None]
                + stats.truncnorm.logpdf(gamma, -0.8, np.inf, loc=0.4, scale=0.5)[:, None]
                + stats.expon.logpdf(phi_inv, scale=0.2)[None, :])
    weight = np.exp(log_post - logsumexp(log_post))
    values = {"beta": beta[:, None], "gamma": gamma[:, None], "phi_inv": phi_inv[None, :],
              "R0": (beta / gamma)[:, None], "recovery_time": (1.0 / gamma)[:, None]}
    means = {name: float((weight * v).sum()) for name, v in values.items()}
    sds = {name: float(np.sqrt((weight * (v - means[name]) ** 2).sum()))
           for name, v in values.items()}
    return means, sds


@pytest.fixture(scope="module")
def sir_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("sir") / "run"
    process = run_script("fit.py", "sir", "--chains", "4", "--warmup", "500", "--samples", "500",
                         "--forecast", str(FORECAST), "--out", str(out), timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    groups = {group: xr.open_dataset(out / "posterior.nc", group=group).load()
              for group in ("posterior", "posterior_predictive", "predictions", "sample_stats",
                            "observed_data")}
    summary = {row.split(",")[0]: row.split(",") for row in
               (out / "summary.csv").read_text().splitlines()}
    return process, out, groups, summary


@pytest.mark.slow
def test_posterior_matches_quadrature(sir_fit):
    _, _, _, summary = sir_fit
    header = summary["parameter"]
    column = {name: header.index(name) for name in ("mean", "sd", "mcse_mean")}
    means, sds = quadrature_posterior()
    for name in PARAMETERS:
        row = summary[name]
        mean, sd, mcse = (float(row[column[c]]) for c in ("mean", "sd", "mcse_mean"))
        z = (mean - means[name]) / mcse
        assert abs(z) < 4, (name, mean, means[name], mcse, z)
        assert abs(sd / sds[name] - 1) < 0.15, (name, sd, sds[name])


@pytest.mark.slow
def test_no_divergences_and_the_gate_passes(sir_fit):
    process, out, groups, _ = sir_fit
    assert int(groups["sample_stats"]["diverging"].sum()) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["gate"]["passed"], record["gate"]
    assert record["diagnostics"]["divergences"] == 0
    assert record["model"]["population"] == 763  # the bundled series' own N
    assert "SIR(N = 763)" in process.stdout


@pytest.mark.slow
def test_posterior_predictive_90_percent_bands_hold_at_least_12_of_14_days(sir_fit):
    _, _, groups, _ = sir_fit
    replicated = groups["posterior_predictive"]["y"].to_numpy().reshape(-1, len(IN_BED))
    low, high = np.quantile(replicated, [0.05, 0.95], axis=0)
    inside = int(np.sum((IN_BED >= low) & (IN_BED <= high)))
    assert inside >= 12, (inside, low, high)
    np.testing.assert_array_equal(groups["observed_data"]["y"].to_numpy(), IN_BED)


@pytest.mark.slow
def test_prevalence_and_its_forecast_are_the_ode_solution_at_the_draws(sir_fit):
    """Stored I(t) (days 1..14 on the date axis) and its forecast (days 15..21) equal DOP853
    at 40 posterior draws to far below the noise: the RK4 error at the posterior, measured."""
    _, out, groups, _ = sir_fit
    posterior, predictions = groups["posterior"], groups["predictions"]
    prevalence = posterior["prevalence"]
    assert prevalence.dims == ("chain", "draw", "time")
    assert str(prevalence["time"].values[0])[:10] == "1978-01-22"
    forecast = predictions["prevalence_forecast"]
    assert forecast.dims == ("chain", "draw", "horizon") and forecast.shape[-1] == FORECAST
    assert predictions["y_forecast"].shape[-1] == FORECAST
    pick = np.random.default_rng(0).choice(prevalence.shape[0] * prevalence.shape[1], 40,
                                           replace=False)
    beta = posterior["beta"].to_numpy().ravel()[pick]
    gamma = posterior["gamma"].to_numpy().ravel()[pick]
    phi_inv = posterior["phi_inv"].to_numpy().ravel()[pick]
    ours = np.concatenate([prevalence.to_numpy().reshape(-1, len(IN_BED))[pick],
                           forecast.to_numpy().reshape(-1, FORECAST)[pick]], axis=1)
    reference = solve_sir(beta, gamma, N, len(IN_BED) + FORECAST)
    noise_sd = np.sqrt(reference + phi_inv[:, None] * reference**2)
    assert np.max(np.abs(ours - reference) / noise_sd) < 1e-2  # 4 RK4 steps a day
    assert (out / "prevalence.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "forecast.png").exists()


# ------------------------------------------------------------------- bad input, in process

def _series_file(folder: Path, values: list[str]) -> Path:
    path = folder / "cases.csv"
    path.write_text("day,in_bed\n" + "".join(f"{d},{v}\n" for d, v in enumerate(values, 1)))
    return path


@pytest.mark.parametrize(
    ("values", "flags", "fragments"),
    [
        (["3", "-8", "26"], ["--population", "763"],
         ["line 3", "column 'in_bed'", "-8 is not a count"]),
        (["3", "8.5", "26"], ["--population", "763"],
         ["line 3", "column 'in_bed'", "8.5 is not a count"]),
        (["3", "80", "260"], ["--population", "200"],
         ["line 4", "column 'in_bed'", "260 people in bed exceed the population N = 200"]),
        (["3", "8", "26"], [], ["column 'in_bed'", "give --population N"]),
        (["3", "8", "26"], ["--population", "763", "--initial-recovered", "763"],
         ["initial_infected + initial_recovered = 764 exceeds the population N = 763"]),
    ],
    ids=["negative", "not-integer", "N-smaller-than-cases", "no-population", "bad-start"],
)
def test_bad_input_is_one_error_line(tmp_path, values, flags, fragments):
    data = _series_file(tmp_path, values)
    out = tmp_path / "out"
    process = run_script_in_process("fit.py", "sir", "--data", str(data), "--column", "in_bed",
                                    *flags, "--out", str(out))
    assert process.returncode == 2, (process.returncode, process.stdout, process.stderr)
    assert "Traceback" not in process.stderr and process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()


def test_bundled_series_with_a_smaller_population_flag_is_refused(tmp_path):
    """The flag overrides the bundled series' N, and the check uses the flag's value."""
    process = run_script_in_process("fit.py", "sir", "--population", "250",
                                    "--out", str(tmp_path / "out"))
    assert process.returncode == 2
    assert "298 people in bed exceed the population N = 250" in process.stderr
    assert "line 7" in process.stderr  # header, then 22-27 January: 298 is on file line 7

