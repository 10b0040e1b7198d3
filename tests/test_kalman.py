"""The Kalman-filter twins of patterns.sequential and patterns.parallel.

Oracle: the dense joint Gaussian of all observed entries, built by brute force in NumPy
(covariances of the states from their definition), scored by scipy. It shares no code and
no recursion with either filter.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from patterns import parallel, sequential
from patterns.linear_gaussian import LinearGaussianSSM

FILTERS = [sequential.kalman_filter, parallel.kalman_filter]


def random_ssm(rng: np.random.Generator, n: int, m: int) -> LinearGaussianSSM:
    A = rng.normal(size=(n, n))
    A *= 0.9 / max(abs(np.linalg.eigvals(A)))
    L = rng.normal(size=(n, n))
    Lr = rng.normal(size=(m, m))
    return LinearGaussianSSM(
        initial_mean=rng.normal(size=n),
        initial_cov=L @ L.T + 0.1 * np.eye(n),
        transition_matrix=A,
        transition_cov=0.3 * L @ L.T + 0.05 * np.eye(n),
        observation_matrix=rng.normal(size=(m, n)),
        observation_offset=rng.normal(size=m),
        observation_cov=0.5 * Lr @ Lr.T + 0.1 * np.eye(m),
    )


def dense_oracle(ssm: LinearGaussianSSM, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """log p(observed y), E[x_T | y] and Cov[x_T | y] from the joint Gaussian."""
    ssm = LinearGaussianSSM(*(np.asarray(a, dtype=float) for a in ssm))
    T, m = y.shape
    n = ssm.initial_mean.shape[0]
    A, Q, H = ssm.transition_matrix, ssm.transition_cov, ssm.observation_matrix
    means = [ssm.initial_mean]
    covs = [ssm.initial_cov]
    for _ in range(1, T):
        means.append(A @ means[-1])
        covs.append(A @ covs[-1] @ A.T + Q)
    # Cov(x_t, x_s) = A^(t-s) Cov(x_s) for t >= s.
    state_cov = np.zeros((T * n, T * n))
    for s in range(T):
        block = covs[s]
        for t in range(s, T):
            state_cov[t * n:(t + 1) * n, s * n:(s + 1) * n] = block
            state_cov[s * n:(s + 1) * n, t * n:(t + 1) * n] = block.T
            block = A @ block
    big_H = np.kron(np.eye(T), H)
    y_mean = big_H @ np.concatenate(means) + np.tile(ssm.observation_offset, T)
    y_cov = big_H @ state_cov @ big_H.T + np.kron(np.eye(T), ssm.observation_cov)
    obs = ~np.isnan(y.reshape(-1))
    y_flat = y.reshape(-1)[obs]
    loglik = multivariate_normal(y_mean[obs], y_cov[np.ix_(obs, obs)]).logpdf(y_flat)
    cross = state_cov[(T - 1) * n:, :] @ big_H.T[:, obs]  # Cov(x_T, y_obs)
    solve = np.linalg.solve(y_cov[np.ix_(obs, obs)], np.column_stack([y_flat - y_mean[obs],
                                                                      cross.T]))
    mean_T = means[-1] + cross @ solve[:, 0]
    cov_T = covs[-1] - cross @ solve[:, 1:]
    return float(loglik), mean_T, cov_T


def observations_with_gaps(rng, T, m):
    y = rng.normal(size=(T, m)) * 2.0
    y[rng.random((T, m)) < 0.2] = np.nan  # single entries missing
    y[T // 2] = np.nan  # one whole time step missing
    return y


@pytest.mark.parametrize("kalman_filter", FILTERS, ids=["sequential", "parallel"])
@pytest.mark.parametrize(("n", "m", "T"), [(1, 1, 1), (2, 1, 9), (3, 2, 12)])
def test_filter_matches_dense_gaussian(x64, kalman_filter, n, m, T):
    rng = np.random.default_rng(100 * n + T)
    ssm = random_ssm(rng, n, m)
    y = observations_with_gaps(rng, T, m) if T > 1 else rng.normal(size=(T, m))
    loglik, mean_T, cov_T = dense_oracle(ssm, y)
    out = kalman_filter(ssm, y)
    assert out.filtered_means.shape == (T, n)
    assert out.filtered_covs.shape == (T, n, n)
    np.testing.assert_allclose(out.log_likelihood, loglik, rtol=1e-10)
    np.testing.assert_allclose(out.filtered_means[-1], mean_T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(out.filtered_covs[-1], cov_T, rtol=1e-8, atol=1e-10)


def test_sequential_and_parallel_agree_on_a_long_series(x64):
    # Gradients of the two filters are compared on ARMA (tests/test_arma_exact.py), where
    # they matter; compiling the parallel filter's gradient twice would double the cost.
    rng = np.random.default_rng(7)
    ssm = random_ssm(rng, 3, 2)
    y = jnp.asarray(observations_with_gaps(rng, 300, 2))
    seq, par = (f(ssm, y) for f in FILTERS)
    np.testing.assert_allclose(seq.log_likelihood, par.log_likelihood, rtol=1e-10)
    np.testing.assert_allclose(seq.filtered_means, par.filtered_means, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(seq.filtered_covs, par.filtered_covs, rtol=1e-8, atol=1e-10)
    assert np.all(np.isfinite(par.filtered_covs))


@pytest.mark.parametrize("kalman_filter", FILTERS, ids=["sequential", "parallel"])
def test_all_missing_gives_prior_prediction(x64, kalman_filter):
    rng = np.random.default_rng(3)
    ssm = random_ssm(rng, 2, 1)
    out = kalman_filter(ssm, jnp.full((3, 1), jnp.nan))
    assert float(out.log_likelihood) == 0.0
    A = ssm.transition_matrix
    np.testing.assert_allclose(out.filtered_means[2], A @ A @ ssm.initial_mean, rtol=1e-12)


@pytest.mark.parametrize("kalman_filter", FILTERS, ids=["sequential", "parallel"])
def test_bad_shapes_raise(kalman_filter):
    ssm = LinearGaussianSSM(jnp.zeros(2), jnp.eye(2), jnp.eye(2), jnp.eye(2),
                            jnp.ones((1, 2)), jnp.zeros(1), jnp.eye(1))
    with pytest.raises(ValueError, match="observations must have shape"):
        kalman_filter(ssm, jnp.zeros(5))
    with pytest.raises(ValueError, match="observation_matrix must have shape"):
        kalman_filter(ssm, jnp.zeros((5, 2)))
    with pytest.raises(ValueError, match="transition_matrix"):
        kalman_filter(ssm._replace(transition_matrix=jnp.eye(3)), jnp.zeros((5, 1)))
