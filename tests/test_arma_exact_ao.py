"""The additive-outlier route of the exact ARMA likelihood (``models.arma.exact_ao``): the
conditional recursion plus a Gaussian correction for the presample and missing values.

Oracles: statsmodels' ``ARIMA(..., trend="c").loglike`` for the values, JAX's reverse mode
through the generic sequential Kalman filter for the gradients (float64).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma.exact import arma_exact_loglik
from models.arma.exact_ao import MAX_MA_MODULUS, ma_roots_inside


def _statsmodels(y, mu, phi, theta, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(y, order=(len(phi), 0, len(theta)), trend="c")
        return model.loglike(np.r_[mu, phi, theta, sigma**2])


def _series(p, q, num_steps, pattern, seed):
    rng = np.random.default_rng(seed)
    phi, theta = np.array([0.5, -0.3, 0.1][:p]), np.array([0.4, 0.2, -0.1][:q])
    y = 1.0 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], num_steps,
                                   distrvs=rng.standard_normal)
    if pattern == "placed":  # at the start, isolated, a run, close together, at the end
        y[[0, 2, num_steps // 2, -3, -1]] = np.nan
        y[num_steps // 3 : num_steps // 3 + 4] = np.nan
    elif pattern == "random":
        y[rng.random(num_steps) < 0.08] = np.nan
        y[-1] = np.nan
    return y, (1.1, phi * 0.9, theta * 0.9, 1.2)


def _check(y, params, method="ao", more=()):
    """The route's value against statsmodels and its gradient against the sequential
    filter's, the series closed over (as NumPyro passes it); ``more``: further parameter
    tuples of the same shapes, through the same two compiled programs."""
    got_fn = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(y, *a, method=method), argnums=(0, 1, 2, 3)))
    want_fn = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(jnp.asarray(y), *a, method="sequential"),
        argnums=(0, 1, 2, 3)))
    for mu, phi, theta, sigma in (params, *more):
        args = tuple(jnp.asarray(a) for a in (mu, phi, theta, sigma))
        got, want = got_fn(*args), want_fn(*args)
        np.testing.assert_allclose(got[0], _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8)
        for g, w in zip(got[1], want[1], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)


# Orders with p or q = 0 and mixed ones up to (3, 3), each with a gap pattern (none,
# placed, random); every p, q <= 3 was checked by hand (values 4e-16, gradients 2e-13).
CASES = [((0, 0), "none"), ((1, 0), "placed"), ((0, 1), "random"), ((0, 3), "placed"),
         ((3, 0), "random"), ((1, 1), "placed"), ((2, 1), "random"), ((1, 2), "none"),
         ((3, 3), "placed")]


@pytest.mark.parametrize("order,pattern", CASES,
                         ids=[f"arma{p}{q}-{pattern}" for (p, q), pattern in CASES])
def test_values_and_gradients(x64, order, pattern):
    p, q = order
    y, params = _series(p, q, 80, pattern, seed=10 * p + q)
    _check(y, params)


def test_arma11_missing_at_random_longer_series(x64):
    y, params = _series(1, 1, 600, "random", seed=3)
    _check(y, params)


def test_fast_takes_the_route_for_few_gaps_and_agrees(x64):
    # The default (method="fast") runs this route for a series with a few gaps; the
    # explicit one-pass route is the same number.
    y, params = _series(2, 1, 300, "placed", seed=5)
    args = tuple(jnp.asarray(a) for a in params)
    fast = arma_exact_loglik(y, *args)
    onepass = arma_exact_loglik(y, *args, method="onepass")
    np.testing.assert_allclose(fast, onepass, rtol=1e-10)
    _check(y, params, method="fast")


def test_the_fallback_around_the_ma_threshold(x64):
    # Either side of MAX_MA_MODULUS (0.999): the route itself below, the one-pass route
    # above and for a non-invertible MA (theta = 1.3); all exact, one program.
    assert 0.9985 < MAX_MA_MODULUS < 0.9995
    y, (mu, phi, _, sigma) = _series(1, 1, 200, "placed", seed=7)
    _check(y, (mu, phi, np.array([0.9985]), sigma),
           more=[(mu, phi, np.array([theta]), sigma) for theta in (0.9995, 1.3)])


def test_step_down_modulus_test_agrees_with_the_companion_eigenvalues(x64):
    # The route's MA test (no eigenvalue solver) against numpy's roots of
    # z^q + theta_1 z^(q-1) + .. + theta_q (the inverse roots of 1 + theta(z)), q = 2..5,
    # theta drawn around the unit circle's boundary.
    rng = np.random.default_rng(3)
    for q in range(2, 6):
        thetas = rng.normal(size=(400, q)) * rng.choice([0.3, 1.0, 2.0], size=(400, 1))
        moduli = np.array([np.max(np.abs(np.roots(np.r_[1.0, t]))) for t in thetas])
        keep = np.abs(moduli - MAX_MA_MODULUS) > 1e-9
        got = jax.jit(jax.vmap(lambda t: ma_roots_inside(t, MAX_MA_MODULUS)))(thetas)
        np.testing.assert_array_equal(np.asarray(got)[keep], (moduli < MAX_MA_MODULUS)[keep])
        assert 0 < np.sum(moduli[keep] < MAX_MA_MODULUS) < keep.sum()  # both sides seen


def test_near_cancelling_factors_fall_back(x64):
    # phi = -theta: the series is white noise and the presample covariance is singular;
    # the one-pass route takes it, and the value is the white-noise density.
    y, (mu, _, _, sigma) = _series(1, 1, 120, "placed", seed=8)
    value = arma_exact_loglik(y, mu, jnp.array([0.5]), jnp.array([-0.5]), sigma, method="ao")
    observed = y[~np.isnan(y)]
    want = np.sum(-0.5 * np.log(2 * np.pi * sigma**2) - (observed - mu) ** 2 / (2 * sigma**2))
    np.testing.assert_allclose(value, want, rtol=1e-8)


# (p, q, delta, T, gaps): gaps at both ends (the columns whose atoms are cut: the first nd
# gaps and the last p + nd), in runs, with differencing and a seasonal difference, and
# p or q = 0; each with more than p + 2 nd gaps, so that the lag kernels are used
GRAM_CASES = [
    (1, 1, (1.0,), 50, [0, 3, 4, 20, 49]),
    (2, 1, (1.0,), 60, [1, 2, 30, 58, 59]),
    (1, 2, (1.0,), 40, [0, 10, 11, 12, 38]),
    (3, 3, (1.0,), 70, [2, 3, 4, 5, 40, 66, 67, 69]),
    (2, 2, (1.0, -1.0), 50, [0, 1, 5, 25, 48, 49]),
    (1, 1, (1.0, -2.0, 1.0), 50, [0, 1, 2, 10, 47, 48, 49]),
    (1, 1, (1.0, 0.0, 0.0, 0.0, -1.0), 40, [0, 2, 3, 4, 10, 15, 20, 25, 30, 36, 39]),
    (0, 1, (1.0,), 30, [5, 29]),
    (2, 0, (1.0,), 30, [0, 15, 29]),
    (1, 1, (1.0,), 30, [28, 29]),
]


@pytest.mark.parametrize("case", GRAM_CASES, ids=[f"{i}-arma{c[0]}{c[1]}-d{len(c[2]) - 1}"
                                                  for i, c in enumerate(GRAM_CASES)])
def test_the_gram_by_lag_kernels_gives_the_same_value_and_gradient(x64, monkeypatch, case):
    """ao_value with the gram of the gap columns from lag kernels (LAG_KERNELS, one gather
    per pair of gaps, the columns cut at the ends apart) against the same function with
    the gram from every pair of atoms: values and gradients."""
    import models.arma.exact_ao as exact_ao

    p, q, delta, length, gaps = case
    assert len(gaps) > p + 2 * (len(delta) - 1)  # the lag kernels are used
    rng = np.random.default_rng(length + p + 10 * q)
    y = np.cumsum(rng.normal(size=length)) if len(delta) > 1 else rng.normal(size=length)
    y[gaps] = np.nan
    params = (jnp.asarray(0.1), jnp.asarray(rng.uniform(-0.5, 0.5, p)),
              jnp.asarray(rng.uniform(-0.5, 0.5, q)), jnp.asarray(0.8))
    results = {}
    for lag_kernels in (True, False):
        monkeypatch.setattr(exact_ao, "LAG_KERNELS", lag_kernels)
        results[lag_kernels] = jax.jit(jax.value_and_grad(
            lambda *a: exact_ao.ao_value(jnp.asarray(y), *a, len(gaps), 4, delta),
            argnums=(0, 1, 2, 3)))(*params)
    (value, grads), (want_value, want_grads) = results[True], results[False]
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    for got, want in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
