"""The Gaussian HMM family: its law against enumeration and closed-form moments, the
stationary start, a simulation-recovery fit through the fit command (which is also its
smoke run), and the command line's errors. The posteriordb check (hmm_example, |z| < 4) runs
in the shared validation (tests/test_validate_posteriordb_script.py)."""

import itertools
import json

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from script_runner import run_script, run_script_in_process

from models.hmm import (
    GaussianHMM,
    OrderedNormal,
    UnorderedNormal,
    gaussian_hmm_model,
    posterior_state_paths,
)
from patterns.hmm import stationary_distribution

PI = np.array([0.3, 0.7])
A = np.array([[0.8, 0.2], [0.35, 0.65]])
MU = np.array([-1.0, 2.0])
SD = np.array([0.5, 1.5])


@pytest.mark.parametrize("scan", ["sequential", "parallel"])
def test_log_prob_is_the_sum_over_all_state_paths(x64, scan):
    y = np.array([0.3, -1.2, 2.5, 1.9, -0.4])
    total = []
    for z in itertools.product(range(2), repeat=len(y)):
        log_p = np.log(PI[z[0]]) + sum(np.log(A[a, b]) for a, b in itertools.pairwise(z))
        total.append(log_p + stats.norm.logpdf(y, MU[list(z)], SD[list(z)]).sum())
    law = GaussianHMM(PI, A, MU, SD, num_steps=len(y), scan=scan)
    np.testing.assert_allclose(float(law.log_prob(jnp.asarray(y))), logsumexp(total),
                               rtol=1e-12)


def test_samples_have_the_closed_form_mean_and_variance(x64, rng_key):
    """Per time step y_t is a mixture with weights p(z_t) = pi A^t: its mean and variance,
    and the lag-1 covariance E[y_0 y_1] = sum_ij pi_i A_ij mu_i mu_j, within 4.5 SE."""
    draws = np.asarray(GaussianHMM(PI, A, MU, SD, num_steps=3).sample(rng_key, (40_000,)))
    probs = np.stack([PI, PI @ A, PI @ A @ A])
    mean = probs @ MU
    var = probs @ (SD**2 + MU**2) - mean**2
    se_mean = np.sqrt(var / len(draws))
    assert np.all(np.abs(draws.mean(0) - mean) < 4.5 * se_mean), (draws.mean(0), mean)
    se_var = var * np.sqrt(2.5 / len(draws))  # mixtures have heavier tails than normal
    assert np.all(np.abs(draws.var(0) - var) < 4.5 * se_var), (draws.var(0), var)
    cross = np.sum(PI[:, None] * A * MU[:, None] * MU[None, :])
    product = draws[:, 0] * draws[:, 1]
    assert abs(product.mean() - cross) < 4.5 * product.std() / np.sqrt(len(draws))


def _brute_force_log_likelihood(y, pi, transition, means, sds):
    total = []
    for z in itertools.product(range(len(pi)), repeat=len(y)):
        log_p = np.log(pi[z[0]]) + sum(np.log(transition[a, b])
                                       for a, b in itertools.pairwise(z))
        total.append(log_p + stats.norm.logpdf(y, means[list(z)], sds[list(z)]).sum())
    return logsumexp(total)


@pytest.mark.parametrize("positive", [False, True])
def test_unordered_means_score_as_their_sorted_vector(x64, positive):
    """Every ordering of x has the density of sort(x) under independent normals (SciPy),
    which is OrderedNormal's density less its log K!."""
    loc, scale = np.array([3.0, 10.0, 6.0]), np.array([1.0, 2.0, 1.5])
    x = np.array([9.1, 2.7, 6.4])
    expected = stats.norm.logpdf(np.sort(x), loc, scale).sum()
    law = UnorderedNormal(loc, scale, positive=positive)
    orderings = np.array([x[list(order)] for order in itertools.permutations(range(3))])
    np.testing.assert_allclose(np.asarray(law.log_prob(jnp.asarray(orderings))),
                               np.full(6, expected), rtol=1e-13)
    ordered = OrderedNormal(loc, scale, positive=positive)
    np.testing.assert_allclose(float(ordered.log_prob(jnp.sort(x))) - np.log(6.0), expected,
                               rtol=1e-13)


def test_unordered_means_are_exchangeable_draws_of_the_ordered_law(x64, rng_key):
    """Two iid N(0, 1) in a random order: each coordinate has mean 0, x_0 < x_1 half of the
    time, and the sorted pair has the order statistics' means -+ 1 / sqrt(pi)."""
    draws = np.asarray(UnorderedNormal(jnp.zeros(2), jnp.ones(2)).sample(rng_key, (20_000,)))
    n = len(draws)
    assert np.all(np.abs(draws.mean(0)) < 4.5 / np.sqrt(n))
    assert abs((draws[:, 0] < draws[:, 1]).mean() - 0.5) < 4.5 * 0.5 / np.sqrt(n)
    ordered = np.sort(draws, axis=1)
    expected = np.array([-1.0, 1.0]) / np.sqrt(np.pi)
    assert np.all(np.abs(ordered.mean(0) - expected) < 4.5 * ordered.std(0) / np.sqrt(n))


def test_model_density_is_the_ordered_posterior_in_any_order(x64):
    """The model's log joint at mu_unordered (any order): normal priors of the sorted means,
    half-normal sds, Dirichlet rows (SciPy) and the brute-force sum over all state paths
    with the sorted means (state 0 the lowest)."""
    from numpyro.infer.util import log_density

    y = np.array([0.3, -1.2, 2.5, 1.9, -0.4])
    kwargs = {"y": jnp.asarray(y), "states": 2, "initial": "fixed", "mu_loc": 0.5,
              "mu_scale": 2.0, "sigma_scale": 1.5}
    expected = (stats.norm.logpdf(MU, 0.5, 2.0).sum() + stats.halfnorm.logpdf(SD, 0, 1.5).sum()
                + sum(stats.dirichlet.logpdf(row, np.ones(2)) for row in A)
                + _brute_force_log_likelihood(y, np.full(2, 0.5), A, MU, SD))
    for unordered in (MU, MU[::-1]):
        params = {"mu_unordered": jnp.asarray(unordered), "sigma": jnp.asarray(SD),
                  "transition_matrix": jnp.asarray(A)}
        value, trace = log_density(gaussian_hmm_model, (), kwargs, params)
        np.testing.assert_allclose(float(value), expected, rtol=1e-12)
        np.testing.assert_array_equal(np.asarray(trace["mu"]["value"]), MU)


def test_stationary_distribution_is_the_limit_of_the_chain(x64):
    rng = np.random.default_rng(4)
    transition = rng.dirichlet(np.ones(4), size=4)
    pi = np.asarray(stationary_distribution(transition))
    np.testing.assert_allclose(pi @ transition, pi, atol=1e-14)
    np.testing.assert_allclose(np.linalg.matrix_power(transition, 500)[0], pi, atol=1e-12)


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="states must be >= 1, got 0"):
        gaussian_hmm_model(jnp.zeros(5), states=0)
    with pytest.raises(ValueError, match="initial must be one of"):
        gaussian_hmm_model(jnp.zeros(5), initial="uniform")
    with pytest.raises(ValueError, match=r"scales must have shape \(2,\)"):
        GaussianHMM(PI, A, MU, np.ones(3), num_steps=4)


def test_ffbs_paths_per_draw_follow_the_observations(rng_key):
    """Well separated states: every posterior path is the obvious one."""
    y = jnp.array([0.0, 0.1, 10.2, 9.9, 10.0, -0.3])
    samples = {"mu": jnp.array([[0.0, 10.0]] * 3), "sigma": jnp.ones((3, 2)),
               "transition_matrix": jnp.full((3, 2, 2), 0.5)}
    paths = posterior_state_paths(rng_key, samples, y)
    np.testing.assert_array_equal(paths, np.tile([0, 0, 1, 1, 1, 0], (3, 1)))


# --- the command line -------------------------------------------------------------------

TRUE_MU, TRUE_SD = np.array([-1.0, 2.0]), np.array([0.6, 0.8])
TRUE_A = np.array([[0.95, 0.05], [0.1, 0.9]])


@pytest.fixture(scope="module")
def simulated_fit(tmp_path_factory):
    """One fit of a simulated 2-state series (T = 300) through scripts/fit.py: the
    simulation check and the command-line smoke run read it."""
    rng = np.random.default_rng(2026)
    T = 300
    z = np.empty(T, dtype=int)
    z[0] = rng.choice(2, p=np.asarray(stationary_distribution(TRUE_A)))
    for t in range(1, T):
        z[t] = rng.choice(2, p=TRUE_A[z[t - 1]])
    y = TRUE_MU[z] + TRUE_SD[z] * rng.normal(size=T)
    folder = tmp_path_factory.mktemp("hmm")
    data = folder / "series.csv"
    data.write_text("day,level\n" + "".join(f"{t},{float(v)!r}\n" for t, v in enumerate(y)))
    out = folder / "fit"
    process = run_script("fit.py", "hmm", "--states", "2", "--data", str(data), "--column",
                         "level", "--chains", "2", "--warmup", "300", "--samples", "300",
                         "--forecast", "4", "--allow-warnings", "--out", str(out),
                         timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    import arviz

    return process, out, arviz.from_netcdf(out / "posterior.nc"), z


@pytest.mark.slow
def test_simulated_series_is_recovered(simulated_fit):
    _, out, idata, z = simulated_fit
    post = idata.posterior
    for site, truth in (("mu", TRUE_MU), ("sigma", TRUE_SD),
                        ("transition_matrix", TRUE_A)):
        draws = post[site].values.reshape(-1, *np.shape(truth))
        low, high = np.quantile(draws, [0.05, 0.95], axis=0)
        assert np.all((low <= truth) & (truth <= high)), (site, low, high, truth)
    record = json.loads((out / "run.json").read_text())
    assert "divergences: 0 " in json.dumps(record) or record.get("diagnostics", {}).get(
        "divergences", 0) == 0
    viterbi = post["viterbi_path"].values.reshape(-1, len(z))
    agreement = (np.median(viterbi, axis=0).round() == z).mean()
    assert agreement > 0.95, agreement
    probs = post["state_probs"].values.mean(axis=(0, 1))  # (T, K)
    assert ((probs[:, 1] > 0.5) == (z == 1)).mean() > 0.95


@pytest.mark.slow
def test_fit_command_writes_the_hmm_outputs(simulated_fit):
    process, out, idata, z = simulated_fit
    for name in ("posterior.nc", "summary.csv", "trace.png", "ppc.png", "forecast.png",
                 "state_probs.png", "state_probs_series.png", "viterbi_path.png",
                 "run.json"):
        assert (out / name).stat().st_size > 0, name
    assert "state_probs_series.png" in process.stdout
    assert "GaussianHMM(K=2, initial=stationary)" in process.stdout
    assert idata.posterior["state_probs"].dims[2:] == ("time", "state_probs_component")
    np.testing.assert_allclose(idata.posterior["state_probs"].values.sum(-1), 1.0, atol=1e-9)
    forecast = idata.predictions["state_probs_forecast"].values
    assert forecast.shape[2:] == (4, 2)
    np.testing.assert_allclose(forecast.sum(-1), 1.0, atol=1e-9)
    assert idata.predictions["y_forecast"].values.shape[2:] == (4,)
    summary = (out / "summary.csv").read_text()
    assert "transition_matrix[0, 1]" in summary and "mu[1]" in summary


@pytest.mark.parametrize(("rows", "args", "message"), [
    ("1.0\n2.0\n3.0\n", ("--states", "3"), "need more observations than states"),
    ("1.0\n2.0\ninf\n4.0\n", (), "line 4, column 'y': 'inf' is not a finite number"),
])
def test_command_line_errors(tmp_path, rows, args, message):
    data = tmp_path / "y.csv"
    data.write_text("y\n" + rows)
    process = run_script_in_process("fit.py", "hmm", "--data", str(data), *args)
    assert process.returncode != 0
    assert message in process.stderr, process.stderr


def test_zero_states_is_refused():
    process = run_script_in_process("fit.py", "hmm", "--states", "0")
    assert process.returncode != 0 and "--states" in process.stderr, process.stderr
