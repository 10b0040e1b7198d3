"""The exact ARMA likelihood on series with values missing at random (issue 13).

With a gap late in the series the fast path's head loop (``models.arma.exact_onepass``)
runs to the end of the series, carrying its forward sensitivities. Oracles: statsmodels'
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

    def batched(method):  # compiled: op by op, the batched filters' small ops dominate
        return jax.jit(jax.vmap(jax.value_and_grad(
            lambda th: arma_exact_loglik(y, mu, jnp.asarray(phi), th, sigma, method=method)
        )))(thetas)

    (values, grads), (values_ref, grads_ref) = batched("fast"), batched("sequential")
    np.testing.assert_allclose(values, values_ref, rtol=1e-10)
    np.testing.assert_allclose(grads, grads_ref, rtol=1e-8)

    def data_grad(method):
        return jax.jit(jax.grad(lambda y_: arma_exact_loglik(
            y_, mu, jnp.asarray(phi), jnp.array([0.4]), sigma, method=method)))(y)

    got, want = data_grad("fast"), data_grad("sequential")
    observed = ~jnp.isnan(y)
    np.testing.assert_allclose(got[observed], want[observed], rtol=1e-8, atol=1e-12)


def test_a_data_tangent_under_vmap_of_jit(x64):
    """A regression's residuals y - X beta, scored under vmap over the observed value (as
    ``SARIMA.log_prob`` does) inside jit: the data carry a tangent through beta. This failed
    to trace once ("broadcast_in_dim ... operand ndim 0": the rule's head length was an
    unbatched constant where the primal's is batched); the value and the derivative in beta
    are the sequential filter's."""
    y, (mu, phi, theta, sigma) = _series(1, 1, 0.05, 4)
    y = jnp.asarray(y[:120])[None, :]
    exog = jnp.sin(jnp.arange(120) / 6.0)

    def score(method):
        scored = jax.jit(lambda u: arma_exact_loglik(u, mu, jnp.asarray(phi),
                                                     jnp.asarray(theta), sigma, method=method))
        return jax.value_and_grad(lambda b: jax.vmap(lambda y_: scored(y_ - b * exog))(y).sum())

    for beta in (0.0, 0.7):
        (value, grad), (value_ref, grad_ref) = score("fast")(beta), score("sequential")(beta)
        np.testing.assert_allclose(value, value_ref, rtol=1e-10)
        np.testing.assert_allclose(grad, grad_ref, rtol=1e-8)


# --- gaps at the start, in the middle, in runs, at the end; every order; one program ---


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


@pytest.mark.parametrize("order", [(1, 1), (2, 1), (1, 2), (3, 3)],
                         ids=["arma11", "arma21", "arma12", "arma33"])
def test_placed_gaps_match_statsmodels_and_the_reference_gradient(x64, order):
    # The series closed over, as NumPyro passes observed data (a traced series: the
    # missing-at-random test above).
    p, q = order
    reference = jax.jit(jax.value_and_grad(
        lambda y, *a: arma_exact_loglik(y, *a, method="sequential"), argnums=(1, 2, 3, 4)))
    for seed, pattern in enumerate(("placed", "random") if order == (1, 1) else ("placed",)):
        y, (mu, phi, theta, sigma) = _gappy_series(p, q, 150, pattern, seed)
        params = tuple(jnp.asarray(a) for a in (mu, phi, theta, sigma))
        series = jnp.asarray(y)
        closed = jax.jit(jax.value_and_grad(
            lambda *a, series=series: arma_exact_loglik(series, *a), argnums=(0, 1, 2, 3)))
        _, expected = reference(jnp.asarray(y), *params)
        value, grads = closed(*params)
        np.testing.assert_allclose(value, _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8,
                                   err_msg=pattern)
        for got, want in zip(grads, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=pattern)


def test_slowly_settling_covariance_under_vmap(x64):
    # Through the ARMA distribution, as a NumPyro model calls it (series concrete, batched
    # parameters): theta = 0.3 settles within a few steps of each gap, theta = 0.97 never
    # within the series (the head loop then runs to the end); both exact, alone and batched.
    from models.arma import ARMA

    y, (mu, phi, _, sigma) = _gappy_series(1, 1, 200, "random", 7)

    def value_and_grad(theta, method):
        y_ = y if method == "fast" else jnp.asarray(y)
        return jax.value_and_grad(lambda th: ARMA(
            mu, jnp.asarray(phi), th, sigma, num_steps=200, method=method).log_prob(y_))(theta)

    thetas = jnp.array([[0.3], [0.97]])
    want = jax.jit(jax.vmap(lambda th: value_and_grad(th, "sequential")))(thetas)
    for batch in (thetas[:1], thetas):
        got = jax.jit(jax.vmap(lambda th: value_and_grad(th, "fast")))(batch)
        np.testing.assert_allclose(got[0], want[0][: len(batch)], rtol=1e-10)
        np.testing.assert_allclose(got[1], want[1][: len(batch)], rtol=1e-8)
    np.testing.assert_allclose(
        got[0][1], _statsmodels(y, mu, phi, np.array([0.97]), sigma), rtol=1e-8)


def test_the_compiled_program_does_not_grow_with_the_number_of_gaps(x64):
    # Issue 13: the CO2 fit's compile time grew with its gaps (a program assembled per gap
    # pattern: batched scans per cluster length, one set per window, and a fallback).
    # Through the ARMA distribution with the series closed over, as NumPyro compiles it:
    # the value-and-gradient program has the same operations for 5, 20 and 60 gaps (the
    # additive-outlier route: only the shapes of its (p + q + m) algebra differ with m; the
    # gap positions are computed at run time), and 0 gaps is the one-pass route's program.
    from models.arma import ARMA

    num_steps = 600
    rng = np.random.default_rng(11)
    base = rng.normal(size=num_steps)

    def operations(num_gaps):
        y = base.copy()
        y[rng.choice(num_steps, num_gaps, replace=False)] = np.nan

        def loglik(params):
            return ARMA(params[0], params[1:2], params[2:3], params[3],
                        num_steps=num_steps).log_prob(y)

        text = jax.jit(jax.value_and_grad(loglik)).lower(
            jnp.array([0.1, 0.5, -0.75, 0.9])).as_text()
        return [line.split("=", 1)[-1].split()[0].split("(")[0] for line in text.splitlines()
                if "stablehlo." in line and "stablehlo.constant" not in line]

    with_gaps = operations(5)
    assert len(with_gaps) > 50 and sum("stablehlo.while" in op for op in with_gaps) >= 1
    for num_gaps in (20, 60):
        assert operations(num_gaps) == with_gaps, num_gaps
    assert operations(0) != with_gaps  # the one-pass route
