"""``ARMA`` and ``ConditionalARMA`` describe one law each: ``sample`` draws from the density
``log_prob`` scores, and batched parameters give a batch of such laws.

Oracles nobody here wrote: statsmodels' autocovariance (``arma_acovf``) and MA(infinity)
weights (``arma2ma``) give the covariance of the series under each law, and SciPy's
multivariate normal scores it. The conditional law starts the recursion with the
pre-sample values at the mean and the pre-sample errors at 0, so ``y - mu = Psi e`` with
``Psi[t, s] = psi_{t-s}``: covariance ``sigma^2 Psi Psi'``, not the stationary Toeplitz one.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import toeplitz
from scipy.stats import multivariate_normal
from statsmodels.tsa.arima_process import arma2ma, arma_acovf

from models import ARMA, ConditionalARMA, arma_conditional_loglik

PHI, THETA, MU, SIGMA, T = np.array([0.7, -0.2]), np.array([0.5]), 2.0, 1.5, 6


def law_covariance(likelihood, phi=PHI, theta=THETA, sigma=SIGMA, num_steps=T):
    """Covariance of (y_1..y_T) under the law ``ARMA(..., likelihood=...)`` describes."""
    ar, ma = np.r_[1.0, -phi], np.r_[1.0, theta]
    if likelihood == "exact":
        return toeplitz(arma_acovf(ar, ma, nobs=num_steps, sigma2=sigma**2))
    psi = arma2ma(ar, ma, lags=num_steps)
    lag = np.subtract.outer(np.arange(num_steps), np.arange(num_steps))
    weights = np.where(lag >= 0, psi[np.clip(lag, 0, None)], 0.0)
    return sigma**2 * weights @ weights.T


@pytest.mark.parametrize("likelihood", ["exact", "conditional"])
def test_log_prob_is_the_gaussian_density_of_the_law(x64, likelihood):
    rng = np.random.default_rng(3)
    y = MU + rng.normal(size=T)
    d = ARMA(MU, jnp.asarray(PHI), jnp.asarray(THETA), SIGMA, num_steps=T,
             likelihood=likelihood)
    expected = multivariate_normal(np.full(T, MU), law_covariance(likelihood)).logpdf(y)
    np.testing.assert_allclose(float(d.log_prob(jnp.asarray(y))), expected, rtol=1e-10)


@pytest.mark.parametrize("likelihood", ["exact", "conditional"])
def test_samples_have_the_moments_of_the_law_log_prob_scores(x64, rng_key, likelihood):
    d = ARMA(MU, jnp.asarray(PHI), jnp.asarray(THETA), SIGMA, num_steps=T,
             likelihood=likelihood)
    draws = np.asarray(d.sample(rng_key, (40000,)))
    assert draws.shape == (40000, T)
    covariance = law_covariance(likelihood)
    scale = covariance[-1, -1]
    np.testing.assert_allclose(np.cov(draws.T), covariance, atol=0.06 * scale)
    np.testing.assert_allclose(draws.mean(0), MU, atol=0.05)


def test_the_two_laws_differ_so_the_moment_test_can_tell_them_apart():
    exact, conditional = law_covariance("exact"), law_covariance("conditional")
    assert abs(exact[0, 0] - conditional[0, 0]) > 0.2 * exact[0, 0]


BATCH = dict(mu=jnp.array([0.1, -0.2, 3.0]), phi=jnp.array([[0.5, -0.2], [0.1, 0.3],
                                                             [0.0, 0.6]]),
             theta=jnp.array([0.4]), sigma=jnp.array(1.3))


@pytest.mark.parametrize("likelihood", ["exact", "conditional"])
def test_batched_parameters_log_prob_equals_the_loop_over_members(x64, likelihood):
    y = jnp.asarray(np.random.default_rng(4).normal(size=(3, 20)))
    d = ARMA(**BATCH, num_steps=20, likelihood=likelihood)
    assert d.batch_shape == (3,) and d.event_shape == (20,)
    # the oracle: one member at a time, compiled once with the member as an argument
    member = jax.jit(lambda mu, phi, y_i: ARMA(mu, phi, BATCH["theta"], BATCH["sigma"],
                                               num_steps=20, likelihood=likelihood).log_prob(y_i))
    members = [member(BATCH["mu"][i], BATCH["phi"][i], y[i]) for i in range(3)]
    batched = jax.jit(lambda y: d.log_prob(y))
    np.testing.assert_allclose(np.asarray(batched(y)), np.asarray(members), rtol=1e-12)
    # one series scored under every member: broadcasting over the batch
    one = [float(member(BATCH["mu"][i], BATCH["phi"][i], y[0])) for i in range(3)]
    np.testing.assert_allclose(np.asarray(batched(y[0])), one, rtol=1e-12)


@pytest.mark.parametrize("likelihood", ["exact", "conditional"])
def test_batched_samples_follow_each_members_law(x64, rng_key, likelihood):
    d = ARMA(**BATCH, num_steps=T, likelihood=likelihood)
    draws = np.asarray(d.sample(rng_key, (20000,)))
    assert draws.shape == (20000, 3, T)
    for i in range(3):
        covariance = law_covariance(likelihood, phi=np.asarray(BATCH["phi"][i]),
                                    theta=np.asarray(BATCH["theta"]),
                                    sigma=float(BATCH["sigma"]))
        np.testing.assert_allclose(np.cov(draws[:, i].T), covariance,
                                   atol=0.08 * covariance[-1, -1])
        np.testing.assert_allclose(draws[:, i].mean(0), float(BATCH["mu"][i]), atol=0.06)


def test_conditional_arma_accepts_batched_parameters(x64, rng_key):
    intercept = jnp.array([0.3, -0.1])
    phi, theta, sigma = jnp.array([[0.6, -0.2], [0.2, 0.1]]), jnp.array([0.4]), 0.7
    initial_y = jnp.array([[1.0, 2.0], [0.0, -1.0]])
    d = ConditionalARMA(intercept, phi, theta, sigma, num_steps=30, initial_y=initial_y)
    assert d.batch_shape == (2,)
    paths = d.sample(rng_key, (4,))
    assert paths.shape == (4, 2, 30)
    got = np.asarray(d.log_prob(paths))
    loop = [[float(arma_conditional_loglik(paths[s, i], intercept[i], phi[i], theta, sigma,
                                           initial_y=initial_y[i])) for i in range(2)]
            for s in range(4)]
    np.testing.assert_allclose(got, loop, rtol=1e-12)
    # each member's paths are that member's recursion: its residuals are N(0, sigma^2)
    # draws, so their density is the log_prob the member gives
    member = ConditionalARMA(intercept[1], phi[1], theta, sigma, num_steps=30,
                             initial_y=initial_y[1])
    np.testing.assert_allclose(float(member.log_prob(paths[0, 1])), got[0, 1], rtol=1e-12)


def test_conditional_arma_batch_sample_moments(x64, rng_key):
    """Batched sampling keeps members apart: two members, two different means."""
    d = ConditionalARMA(jnp.array([0.0, 5.0]), jnp.array([[0.5], [0.5]]), jnp.zeros((2, 0)),
                        1.0, num_steps=4, initial_y=jnp.array([[0.0], [10.0]]))
    draws = np.asarray(d.sample(rng_key, (20000,)))
    # y_1 = c + 0.5 * y_0 + e: member 0 -> 0, member 1 -> 5 + 5 = 10
    np.testing.assert_allclose(draws[:, :, 0].mean(0), [0.0, 10.0], atol=0.05)
    np.testing.assert_allclose(draws[:, :, 0].std(0), [1.0, 1.0], atol=0.03)


def test_conditional_sampling_uses_the_recursion_it_scores(x64, rng_key):
    """Residuals of sampled paths are the shocks: ``sample`` inverts ``log_prob``'s map."""
    d = ARMA(MU, jnp.asarray(PHI), jnp.asarray(THETA), SIGMA, num_steps=50,
             likelihood="conditional")
    path = d.sample(rng_key)
    intercept = MU * (1 - PHI.sum())
    loglik = arma_conditional_loglik(path, intercept, jnp.asarray(PHI), jnp.asarray(THETA),
                                     SIGMA, initial_y=jnp.full(2, MU))
    np.testing.assert_allclose(float(d.log_prob(path)), float(loglik), rtol=1e-12)
    assert jax.numpy.all(jnp.isfinite(path))
