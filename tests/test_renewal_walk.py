"""The renewal model's random walk of log R, written as the level it drives
(:class:`models.renewal.IntegratedRandomWalk`), is the same Gaussian law as the walk: its
density equals SciPy's multivariate normal of the linear map, its draws have the walk's
moments, and the model's data-based start is the counts' level."""

import jax
import numpy as np
import pytest
from scipy import stats

from models.renewal import IntegratedRandomWalk, interval_mean, level_guess


def walk_as_gaussian(start, rate, loc, scale, step_sd, k):
    """x = start + rate C C e, e = (log R_0, increments) ~ N((loc, 0, ...), diag(scale^2,
    step_sd^2, ...)), C the cumulative-sum matrix: the mean and covariance of x."""
    cumsum = np.tril(np.ones((k, k)))
    a = rate * cumsum @ cumsum
    mean = start + a @ np.r_[loc, np.zeros(k - 1)]
    sd = np.r_[scale, np.full(k - 1, step_sd)]
    return mean, a @ np.diag(sd**2) @ a.T


@pytest.mark.parametrize("k", [1, 2, 6])
def test_density_is_the_gaussian_of_the_linear_map(x64, k):
    params = (1.3, 7 / 2.6, 0.2, 0.8, 0.15)
    walk = IntegratedRandomWalk(*params, k)
    mean, cov = walk_as_gaussian(*params, k)
    rng = np.random.default_rng(k)
    for x in rng.multivariate_normal(mean, cov, size=3):
        assert float(walk.log_prob(x)) == pytest.approx(
            stats.multivariate_normal(mean, cov).logpdf(x), rel=1e-10)


def test_draws_have_the_walks_moments(x64):
    params = (1.0, 2.0, 0.1, 0.5, 0.2)
    walk = IntegratedRandomWalk(*params, 4)
    draws = np.asarray(walk.sample(jax.random.PRNGKey(0), (20000,)))
    mean, cov = walk_as_gaussian(*params, 4)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(0) - mean) < 4 * sd / np.sqrt(20000))
    np.testing.assert_allclose(draws.std(0), sd, rtol=0.03)
    log_r = np.asarray(walk.log_reproduction(draws))
    np.testing.assert_allclose(np.diff(log_r, axis=1).std(0), 0.2, rtol=0.03)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rate > 0 and num_steps >= 1, got 0.0 and 3"):
        IntegratedRandomWalk(0.0, 0.0, 0.0, 1.0, 0.1, 3)


def test_level_guess_and_interval_mean_by_hand():
    y = np.array([1.0, 3.0, 6.0, 8.0, 15.0])
    np.testing.assert_allclose(level_guess(y, 2, 3), np.log1p([2.0, 7.0, 15.0]))
    np.testing.assert_allclose(level_guess(y, 1, 5), np.log1p(y))
    assert interval_mean([0.0, 0.2, 0.3, 0.5]) == pytest.approx(0.2 + 0.6 + 1.5)
