"""The exact ARMA likelihood by windows and segments (``method="windows"``,
``models.arma.exact_windows``): the gap pattern as data, the covariance work after each gap
batched over the windows.

Oracles: statsmodels' ``ARIMA(..., trend="c").loglike`` for the values, JAX's reverse mode
through the generic sequential Kalman filter (:mod:`patterns.sequential`) for the gradients,
and a brute-force check of the windows' layout.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma.exact import arma_exact_loglik
from models.arma.exact_windows import gap_windows


def _statsmodels(y, mu, phi, theta, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(y, order=(len(phi), 0, len(theta)), trend="c")
        return model.loglike(np.r_[mu, phi, theta, sigma**2])


def _series(p, q, num_steps, seed):
    """Gaps at the start, isolated, in a run, two close together, at random, at the end."""
    rng = np.random.default_rng(seed)
    phi, theta = np.array([0.5, -0.3, 0.1][:p]), np.array([0.4, 0.2, -0.1][:q])
    y = 1.0 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], num_steps,
                                   distrvs=rng.standard_normal)
    y[[0, 2, 60, 63, num_steps // 2, -3, -1]] = np.nan
    y[num_steps // 3 : num_steps // 3 + 4] = np.nan
    y[rng.random(num_steps) < 0.02] = np.nan
    return y, (1.1, phi * 0.9, theta * 0.9, 1.2)


def test_windows_under_vmap_match_statsmodels_and_the_reference_gradient(x64):
    # ARMA(1,1) under vmap over theta (vectorised chains): theta = 0.36 settles within its
    # windows, 0.97 does not (the same program falls back to the one-pass route), 1.5 is
    # not invertible (the fallback, and nothing non-finite leaks from the unused branch).
    y, (mu, phi, theta, sigma) = _series(1, 1, 240, seed=7)
    thetas = jnp.array([theta, [0.97], [1.5]])

    params = (jnp.asarray(mu), jnp.asarray(phi), thetas, jnp.asarray(sigma))
    values, grads = jax.jit(jax.vmap(jax.value_and_grad(
        lambda m, f, th, s: arma_exact_loglik(y, m, f, th, s, method="windows"),
        argnums=(0, 1, 2, 3)), in_axes=(None, None, 0, None)))(*params)
    reference = jax.jit(jax.value_and_grad(  # one theta at a time: a smaller program
        lambda *a: arma_exact_loglik(jnp.asarray(y), *a, method="sequential"),
        argnums=(0, 1, 2, 3)))
    each = [reference(params[0], params[1], th, params[3]) for th in thetas]
    values_ref = jnp.stack([v for v, _ in each])
    grads_ref = tuple(jnp.stack([g[i] for _, g in each]) for i in range(4))
    for k in range(2):  # statsmodels refuses the non-invertible one
        want = _statsmodels(y, mu, phi, np.asarray(thetas[k]), sigma)
        np.testing.assert_allclose(values[k], want, rtol=1e-8)
    np.testing.assert_allclose(values, values_ref, rtol=1e-10)
    for got, wanted in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(got, wanted, rtol=1e-8, atol=1e-10)
    # a traced series (a jit argument): the one-pass route, same value
    traced = jax.jit(lambda u: arma_exact_loglik(u, mu, jnp.asarray(phi), thetas[0], sigma,
                                                 method="windows"))(jnp.asarray(y))
    np.testing.assert_allclose(traced, values_ref[0], rtol=1e-10)


def test_windows_of_a_higher_order_match_statsmodels_and_the_reference_gradient(x64):
    # ARMA(3,3): r = 4, AR lags masked at segment starts, a q-lag MA carry corrected
    y, (mu, phi, theta, sigma) = _series(3, 3, 240, seed=24)
    params = tuple(jnp.asarray(a) for a in (mu, phi, theta, sigma))
    value, grads = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(y, *a, method="windows"), argnums=(0, 1, 2, 3)))(*params)
    _, expected = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(jnp.asarray(y), *a, method="sequential"),
        argnums=(0, 1, 2, 3)))(*params)
    np.testing.assert_allclose(value, _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8)
    for got, wanted in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, wanted, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_the_windows_cover_every_gap_and_leave_segments_of_at_least_r_steps(seed):
    rng = np.random.default_rng(seed)
    num_steps, p, r, settle = int(rng.integers(5, 400)), 2, 3, int(rng.integers(1, 20))
    observed = rng.random(num_steps) > rng.choice([0.0, 0.02, 0.2])
    w = gap_windows(observed, p, r, settle)
    covered = np.zeros(num_steps, bool)
    for s, e in zip(w.starts, w.ends, strict=True):
        covered[s:e] = True
    # brute force: every step in exactly one of the windows or the segments
    assert np.array_equal(covered, w.in_segment == 0)
    assert w.starts[0] == 0 and np.all(np.diff(w.starts) > 0)
    assert np.all(covered[~observed])  # every gap in a window
    for g in np.flatnonzero(~observed):  # and at least `settle` steps after it covered
        assert np.all(covered[g : min(g + 1 + max(settle, r), num_steps)])
    lengths = np.append(w.starts[1:], num_steps) - w.ends
    assert np.all(lengths[:-1] >= r) and (lengths[-1] == 0 or lengths[-1] >= r)
    for k, (s, e) in enumerate(zip(w.ends, np.append(w.starts[1:], num_steps), strict=True)):
        assert np.all(w.segment_id[s:e] == k)
        assert np.array_equal(w.segment_offset[s:e], np.arange(e - s))
    # the padded index arrays: each row the window's positions, flagged valid
    for k, (s, e) in enumerate(zip(w.starts, w.ends, strict=True)):
        assert np.array_equal(w.window_index[k][w.window_valid[k] > 0], np.arange(s, e))
        assert np.array_equal(w.window_observed[k][: e - s], observed[s:e])


def test_the_windows_program_does_not_grow_with_the_number_of_gaps(x64):
    # 3 isolated gaps (4 windows) against 40 gaps in two clusters (3 windows, two of them
    # about 130 steps long): the same operations, only the arrays' shapes differ. (0 gaps
    # differs: one window, and JAX drops the operations on the empty arrays of the
    # window-to-window recursion.)
    num_steps = 600
    rng = np.random.default_rng(11)
    base = rng.normal(size=num_steps)

    def operations(gaps):
        y = base.copy()
        y[gaps] = np.nan
        text = jax.jit(jax.value_and_grad(
            lambda a: arma_exact_loglik(y, a[0], a[1:2], a[2:3], a[3], method="windows")
        )).lower(jnp.array([0.1, 0.5, -0.75, 0.9])).as_text()
        return [line.split("stablehlo.", 1)[1].split()[0] for line in text.splitlines()
                if "stablehlo." in line and "stablehlo.constant" not in line]

    isolated = np.array([100, 300, 500])
    clustered = np.r_[150 + rng.choice(100, 20, replace=False),
                      400 + rng.choice(100, 20, replace=False)]
    assert operations(isolated) == operations(clustered)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="'windows'"):
        arma_exact_loglik(jnp.zeros(3), 0.0, jnp.zeros(0), jnp.zeros(0), 1.0, method="nope")
