"""The exact ARMA likelihood on series with values missing at random (issue 13).

With a gap late in the series the fast path cannot reach its steady state before the end,
and the whole series goes through the full filter carried with forward sensitivities
(``models.arma.exact._sensitivity_loglik``). Oracles: statsmodels'
``ARIMA(..., trend="c").loglike`` for the values, JAX's reverse mode through the generic
sequential Kalman filter (:mod:`patterns.sequential`) for the gradients.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma.exact import arma_exact_loglik

T = 2000


def _series(p, q, fraction, seed):
    rng = np.random.default_rng(seed)
    phi, theta = np.array([0.5, -0.3][:p]), np.array([0.4, 0.2][:q])
    y = 2.0 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], T,
                                   distrvs=rng.standard_normal)
    y[rng.random(T) < fraction] = np.nan
    y[-1] = np.nan  # a gap at the very end: the steady state is never reached
    return y, (2.1, phi * 0.9, theta * 0.9, 1.1)


def _statsmodels(y, mu, phi, theta, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(y, order=(len(phi), 0, len(theta)), trend="c")
        return model.loglike(np.r_[mu, phi, theta, sigma**2])


@pytest.mark.parametrize("order", [(1, 1), (2, 1)], ids=["arma11", "arma21"])
def test_missing_at_random_values_and_gradients(x64, order):
    p, q = order
    fast = jax.jit(jax.value_and_grad(arma_exact_loglik, argnums=(1, 2, 3, 4)))
    reference = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(*a, method="sequential"), argnums=(1, 2, 3, 4)))
    for fraction, seed in ((0.01, 1), (0.05, 2)):
        y, (mu, phi, theta, sigma) = _series(p, q, fraction, seed)
        args = (jnp.asarray(y), jnp.asarray(mu), jnp.asarray(phi), jnp.asarray(theta),
                jnp.asarray(sigma))
        value, grads = fast(*args)
        np.testing.assert_allclose(value, _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8)
        _, expected = reference(*args)
        for got, want in zip(grads, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10,
                                       err_msg=f"missing {fraction}")


def test_missing_at_random_under_vmap_and_with_a_data_tangent(x64):
    # vmap over parameters (vectorised chains); the derivative w.r.t. y (not what the
    # models need) falls back to JAX's own derivative of the same filter.
    y, (mu, phi, _, sigma) = _series(1, 1, 0.05, 3)
    y = jnp.asarray(y[:300]).at[-1].set(jnp.nan)
    thetas = jnp.array([[0.2], [0.9], [1.5]])  # the last one not invertible

    def batched(method):
        return jax.vmap(jax.value_and_grad(
            lambda th: arma_exact_loglik(y, mu, jnp.asarray(phi), th, sigma, method=method)
        ))(thetas)

    (values, grads), (values_ref, grads_ref) = batched("fast"), batched("sequential")
    np.testing.assert_allclose(values, values_ref, rtol=1e-10)
    np.testing.assert_allclose(grads, grads_ref, rtol=1e-8)

    def data_grad(method):
        return jax.grad(lambda y_: arma_exact_loglik(
            y_, mu, jnp.asarray(phi), jnp.array([0.4]), sigma, method=method))(y)

    got, want = data_grad("fast"), data_grad("sequential")
    observed = ~jnp.isnan(y)
    np.testing.assert_allclose(got[observed], want[observed], rtol=1e-8, atol=1e-12)


# --- gaps at places known at trace time: the clustered route (models.arma.exact_gaps) ---


def _gappy_series(p, q, num_steps, pattern, seed):
    rng = np.random.default_rng(seed)
    phi, theta = np.array([0.5, -0.3, 0.1][:p]), np.array([0.4, 0.2, -0.1][:q])
    y = 1.0 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], num_steps,
                                   distrvs=rng.standard_normal)
    if pattern == "placed":  # at the start, isolated in the middle, a run, at the end
        y[[0, 2, num_steps // 2, -3, -1]] = np.nan
        y[num_steps // 3 : num_steps // 3 + 4] = np.nan
    else:  # scattered at random, and the last value
        y[rng.random(num_steps) < 0.08] = np.nan
        y[-1] = np.nan
    return y, (1.1, phi * 0.9, theta * 0.9, 1.2)


@pytest.fixture
def count_clustered(monkeypatch):
    """How many times the clustered route is traced (it is chosen at trace time)."""
    import models.arma.exact as exact

    calls = []
    original = exact.gap_loglik

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(exact, "gap_loglik", counted)
    return calls


@pytest.mark.parametrize("order", [(1, 1), (2, 1), (1, 2), (3, 3)],
                         ids=["arma11", "arma21", "arma12", "arma33"])
def test_clustered_route_matches_statsmodels_and_the_reference_gradient(x64, order):
    # The clustered computation itself (models.arma.exact_gaps.gap_loglik) at the window
    # the probe picks; arma_exact_loglik's switch around it is tested below.
    from models.arma.exact import arma_system, steps_to_steady_state
    from models.arma.exact_gaps import WINDOWS, gap_layout, gap_loglik
    from patterns import solve_discrete_lyapunov

    p, q = order
    reference = jax.jit(jax.value_and_grad(
        lambda y, *a: arma_exact_loglik(y, *a, method="sequential"), argnums=(1, 2, 3, 4)))
    for seed, pattern in enumerate(("placed", "random") if order == (1, 1) else ("placed",)):
        y, (mu, phi, theta, sigma) = _gappy_series(p, q, 150, pattern, seed)
        observed = ~np.isnan(y)
        params = tuple(jnp.asarray(a) for a in (mu, phi, theta, sigma))
        transition, loading = arma_system(params[1], params[2])
        noise = jnp.outer(loading, loading)
        settle = steps_to_steady_state(transition, noise,
                                       solve_discrete_lyapunov(transition, noise),
                                       jnp.ones(150, bool), 1e-12)
        window = min(w for w in WINDOWS if w >= int(settle))
        layout = gap_layout(observed, window, transition.shape[0])

        def loglik(mu_, phi_, theta_, sigma_, y=y, observed=observed, layout=layout):
            transition, loading = arma_system(phi_, theta_)
            noise = jnp.outer(loading, loading)
            return gap_loglik(jnp.asarray(np.nan_to_num(y)), observed, layout, mu_, phi_,
                              transition, loading, solve_discrete_lyapunov(transition, noise),
                              sigma_)

        value, grads = jax.jit(jax.value_and_grad(loglik, argnums=(0, 1, 2, 3)))(*params)
        np.testing.assert_allclose(value, _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8,
                                   err_msg=pattern)
        _, expected = reference(jnp.asarray(y), *params)
        for got, want in zip(grads, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=pattern)


def test_clustered_route_falls_back_when_the_covariance_settles_slowly(x64, count_clustered):
    # Through the ARMA distribution, as a NumPyro model calls it (series concrete, batched
    # parameters): theta = 0.3 takes the clustered route, theta = 0.97 needs more steps
    # than the largest window and the whole series goes through the full filter (exact
    # too); under vmap the batch runs the longest member's branch.
    from models.arma import ARMA

    y, (mu, phi, _, sigma) = _gappy_series(1, 1, 200, "random", 7)

    def value_and_grad(theta, method):
        y_ = y if method == "fast" else jnp.asarray(y)
        return jax.value_and_grad(lambda th: ARMA(
            mu, jnp.asarray(phi), th, sigma, num_steps=200, method=method).log_prob(y_))(theta)

    thetas = jnp.array([[0.3], [0.97]])
    want = jax.jit(jax.vmap(lambda th: value_and_grad(th, "sequential")))(thetas)
    for batch in (thetas[:1], thetas):  # clustered route; the fallback for the whole batch
        got = jax.jit(jax.vmap(lambda th: value_and_grad(th, "fast")))(batch)
        np.testing.assert_allclose(got[0], want[0][: len(batch)], rtol=1e-10)
        np.testing.assert_allclose(got[1], want[1][: len(batch)], rtol=1e-8)
    np.testing.assert_allclose(
        got[0][1], _statsmodels(y, mu, phi, np.array([0.97]), sigma), rtol=1e-8)
    assert count_clustered


def test_cluster_plan_covers_every_step_where_the_covariance_moves(x64):
    # Brute force: the Kalman covariance recursion in NumPy over the whole series; every
    # step whose F_t or gain is off its limit by more than the tolerance lies in a cluster.
    from models.arma.exact import arma_system, steps_to_steady_state
    from models.arma.exact_gaps import cluster_plan
    from patterns import solve_discrete_lyapunov

    y, (_, phi, theta, _) = _gappy_series(2, 1, 400, "random", 3)
    observed = ~np.isnan(y)
    transition, loading = (np.asarray(a) for a in arma_system(jnp.asarray(phi),
                                                              jnp.asarray(theta)))
    noise = np.outer(loading, loading)
    P = np.asarray(solve_discrete_lyapunov(jnp.asarray(transition), jnp.asarray(noise)))
    settle = int(steps_to_steady_state(jnp.asarray(transition), jnp.asarray(noise),
                                       jnp.asarray(P), jnp.ones(400, bool), 1e-12))
    covered = np.zeros(400, bool)
    for start, end in cluster_plan(observed, settle, transition.shape[0]):
        covered[start:end] = True
    moving = np.zeros(400, bool)
    for t in range(400):
        gain = P[:, 0] / P[0, 0]
        moving[t] = abs(P[0, 0] - 1.0) > 1e-10 or np.max(np.abs(gain - loading)) > 1e-10
        if observed[t]:
            P = P - np.outer(P[:, 0], P[0, :]) / P[0, 0]
        P = transition @ P @ transition.T + noise
    assert moving.sum() > 50 and not np.any(moving & ~covered)
