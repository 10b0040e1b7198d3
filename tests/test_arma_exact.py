"""Exact ARMA log-likelihood against statsmodels, and its three filters against each other.

Oracle: ``statsmodels.tsa.arima.model.ARIMA(y, order=(p, 0, q), trend="c").loglike`` with
params ``[const, ar..., ma..., sigma2]``; statsmodels' ``const`` is the process mean here.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample
from statsmodels.tsa.statespace.tools import constrain_stationary_univariate

from models.arma.exact import arma_exact_loglik, arma_state_space, steps_to_steady_state
from patterns import solve_discrete_lyapunov

NUM_CASES = 24
LENGTHS = [5, 13, 40, 120, 500, 2000]


def statsmodels_loglik(y, mu, phi, theta, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about start values, not used
        model = ARIMA(np.asarray(y), order=(len(phi), 0, len(theta)), trend="c")
        return model.loglike(np.r_[mu, phi, theta, sigma**2])


def random_case(index: int):
    """ARMA(p, q), p, q in 0..3, stationary and invertible (by statsmodels' own map)."""
    rng = np.random.default_rng(1000 + index)
    p, q = index % 4, (index // 4) % 4
    T = LENGTHS[index % len(LENGTHS)]
    phi = np.asarray(constrain_stationary_univariate(rng.normal(size=p) * 0.8)) if p else []
    theta = -np.asarray(constrain_stationary_univariate(rng.normal(size=q) * 0.8)) if q else []
    phi, theta = np.asarray(phi, dtype=float), np.asarray(theta, dtype=float)
    mu, sigma = rng.normal() * 3.0, float(np.exp(rng.normal() * 0.5))
    y = mu + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], T, scale=sigma,
                                  distrvs=rng.standard_normal)
    if index % 3 == 0 and T > 5:  # gaps: scattered values and a block
        y[rng.random(T) < 0.1] = np.nan
        y[T // 3 : T // 3 + 3] = np.nan
    # Score at parameters near, not at, the simulating ones.
    params = (mu + 0.3, phi * 0.9, theta * 0.9, sigma * 1.1)
    return y, params


@pytest.mark.parametrize("index", range(NUM_CASES))
def test_fast_exact_loglik_matches_statsmodels(x64, index):
    y, params = random_case(index)
    expected = statsmodels_loglik(y, *params)
    got = arma_exact_loglik(y, *params)
    np.testing.assert_allclose(got, expected, rtol=1e-8)


@pytest.mark.parametrize("method", ["sequential", "parallel"])
@pytest.mark.parametrize("index", [0, 7, 9, 14])
def test_full_filters_match_statsmodels(x64, method, index):
    y, params = random_case(index)
    got = arma_exact_loglik(y, *params, method=method)
    np.testing.assert_allclose(got, statsmodels_loglik(y, *params), rtol=1e-8)


def test_sequential_and_parallel_agree_in_values_and_gradients(x64):
    y, _ = random_case(9)  # ARMA(1, 2), T = 500 with gaps
    y = jnp.asarray(y[:60])
    assert bool(jnp.any(jnp.isnan(y)))
    params = (jnp.asarray(0.2), jnp.array([0.6]), jnp.array([0.3, -0.2]), jnp.asarray(1.4))

    def value_and_grad(method):
        f = jax.jit(jax.value_and_grad(
            lambda *a: arma_exact_loglik(y, *a, method=method), argnums=(0, 1, 2, 3)))
        return f(*params)

    (v_seq, g_seq), (v_par, g_par) = value_and_grad("sequential"), value_and_grad("parallel")
    np.testing.assert_allclose(v_seq, v_par, rtol=1e-10)
    for a, b in zip(g_seq, g_par, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8)


def steady_state_steps(y, phi, theta, sigma=1.0):
    ssm = arma_state_space(0.0, phi, theta, sigma)
    return int(steps_to_steady_state(ssm.transition_matrix, ssm.transition_cov,
                                     ssm.initial_cov, ~jnp.isnan(jnp.asarray(y)), 1e-12))


@pytest.mark.parametrize(
    ("theta", "gap_at"),
    [(-0.99, None), (0.5, -100), (1.5, None)],
    ids=["theta=-0.99", "late-gap", "non-invertible"],
)
def test_fast_path_equals_full_filter(x64, theta, gap_at):
    rng = np.random.default_rng(5)
    T = 2000
    y = arma_generate_sample([1.0, -0.4], [1.0, min(theta, 0.99)], T,
                             distrvs=rng.standard_normal)
    if gap_at is not None:
        y[gap_at] = np.nan
    phi, theta_arr = jnp.array([0.4]), jnp.array([theta])
    y = jnp.asarray(y)

    def value_and_grad(method):
        f = jax.jit(jax.value_and_grad(
            lambda *a: arma_exact_loglik(y, *a, method=method), argnums=(0, 1, 2, 3)))
        return f(jnp.asarray(0.1), phi, theta_arr, jnp.asarray(1.2))

    (v_fast, g_fast), (v_full, g_full) = value_and_grad("fast"), value_and_grad("sequential")
    np.testing.assert_allclose(v_fast, v_full, rtol=1e-10)
    for a, b in zip(g_fast, g_full, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8)
    # Convergence is checked: slow near the unit circle, absent when not invertible, and
    # only counted after the last gap.
    steps = steady_state_steps(y, phi, theta_arr)
    if abs(theta) == 0.99:
        assert 1024 < steps < T
    elif theta > 1:
        assert steps == T
    elif gap_at is not None:
        assert T + gap_at < steps < T
    else:
        assert steps < 1024


def test_lyapunov_solution_matches_scipy(x64):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 4))
    A *= 0.95 / max(abs(np.linalg.eigvals(A)))
    L = rng.normal(size=(4, 2))
    Q = L @ L.T
    np.testing.assert_allclose(solve_discrete_lyapunov(A, Q),
                               scipy.linalg.solve_discrete_lyapunov(A, Q), rtol=1e-10)


def test_state_space_starts_at_the_stationary_autocovariance(x64):
    # ARMA(1, 1): gamma_0 = sigma^2 (1 + 2 phi theta + theta^2) / (1 - phi^2).
    phi, theta, sigma = 0.7, 0.4, 1.3
    ssm = arma_state_space(0.0, jnp.array([phi]), jnp.array([theta]), sigma)
    gamma0 = sigma**2 * (1 + 2 * phi * theta + theta**2) / (1 - phi**2)
    np.testing.assert_allclose(ssm.initial_cov[0, 0], gamma0, rtol=1e-12)


def test_bad_arguments_raise():
    y = jnp.zeros(10)
    with pytest.raises(ValueError, match="phi must have shape"):
        arma_exact_loglik(y, 0.0, jnp.zeros((1, 1)), jnp.zeros(1), 1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        arma_exact_loglik(jnp.zeros((2, 5)), 0.0, jnp.zeros(1), jnp.zeros(1), 1.0)
    with pytest.raises(ValueError, match="sigma must be a scalar"):
        arma_exact_loglik(y, 0.0, jnp.zeros(1), jnp.zeros(1), jnp.ones(2))
    with pytest.raises(ValueError, match="method must be"):
        arma_exact_loglik(y, 0.0, jnp.zeros(1), jnp.zeros(1), 1.0, method="exact")


def test_fast_path_under_vmap_with_gaps_has_finite_equal_gradients(x64):
    # Under vmap both step kinds of the fast path's head loop run (a batched cond is a
    # select); a NaN in a discarded branch would still poison the gradient.
    y = jnp.asarray(np.random.default_rng(0).normal(size=300))
    y = y.at[10].set(jnp.nan).at[295].set(jnp.nan)
    thetas = jnp.array([[0.2], [0.99], [1.5], [-0.5]])

    def batched_grad(method):  # compiled: op by op, the batched filters' small ops dominate
        return jax.jit(jax.vmap(jax.grad(
            lambda th: arma_exact_loglik(y, 0.0, jnp.array([0.3]), th, 1.0, method=method)
        )))(thetas)

    fast = batched_grad("fast")
    assert np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, batched_grad("sequential"), rtol=1e-8)


@pytest.mark.parametrize("y", [[0.7], [np.nan, np.nan, np.nan], [np.nan, 1.0]],
                         ids=["T=1", "all-missing", "first-missing"])
def test_short_and_empty_series(x64, y):
    params = (0.2, jnp.array([0.5]), jnp.array([0.3]), 1.1)
    expected = statsmodels_loglik(np.asarray(y), 0.2, [0.5], [0.3], 1.1)
    for method in ("fast", "sequential"):
        np.testing.assert_allclose(arma_exact_loglik(jnp.asarray(y), *params, method=method),
                                   expected, rtol=1e-10, atol=1e-12)


def test_fast_path_under_vmap_runs_one_head_loop(x64):
    # One head loop for the whole batch, whatever length each member needs (no branch per
    # head length, which under vmap would become a select running every branch).
    y = jnp.asarray(np.random.default_rng(1).normal(size=500))
    thetas = jnp.array([[0.2], [0.9]])
    jaxpr = str(jax.make_jaxpr(jax.vmap(jax.grad(
        lambda th: arma_exact_loglik(y, 0.0, jnp.array([0.3]), th, 1.0))))(thetas))
    assert jaxpr.count(" while[") == 1 and "switch" not in jaxpr
