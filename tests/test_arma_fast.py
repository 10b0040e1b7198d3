"""The fast conditional ARMA likelihood equals the reference scan of models.arma.

Values to 1e-10 relative and gradients (mu, phi, theta, sigma) to 1e-8 in float64, for
random orders p, q in 0..3 and T up to 2000, with both pre-sample conventions, every
``unroll`` the benchmarks try and both backward passes. The posteriordb arma11 posterior
is fitted with the fast likelihood (the family's ``conditional`` variant) by the shared
validation run (tests/test_posteriordb.py).
"""

from functools import partial

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

from models import (
    ConditionalARMA,
    FastConditionalARMA,
    arma_conditional_loglik,
    arma_fast_conditional_loglik,
    arma_fast_model,
    arma_model,
    arma_residuals,
)
from models.arma.conditional_fast import (
    GRADIENTS,
    WIDE_BATCH,
    arma_fast_residuals,
    batched_formulation,
    fast_model,
)


def random_case(seed, p, q, num_steps, condition):
    rng = np.random.default_rng(seed)
    phi = rng.uniform(-0.9, 0.9, p)
    # sum |theta_j| < 1 keeps the MA polynomial invertible (Rouche), so the error recursion
    # stays bounded over 2000 steps and float64 rounding stays at its own level
    theta = rng.uniform(-1.0, 1.0, q)
    theta = theta * rng.uniform(0.5, 0.95) / max(1.0, float(np.abs(theta).sum()))
    y = rng.normal(size=num_steps).cumsum() * 0.1 + rng.normal(size=num_steps)
    mu, sigma = rng.normal(), rng.uniform(0.5, 2.0)
    initial_y = jnp.asarray(rng.normal(size=p)) if condition else None
    return jnp.asarray(y), jnp.asarray(mu), jnp.asarray(phi), jnp.asarray(theta), \
        jnp.asarray(sigma), initial_y


_rng = np.random.default_rng(20261125)
CASES = [(0, 0, 0, 1, False), (1, 0, 1, 2, False), (2, 1, 0, 3, True), (3, 1, 1, 2000, False),
         (4, 3, 3, 2000, True), (5, 0, 3, 1999, False)] + [
    (6 + k, int(_rng.integers(0, 4)), int(_rng.integers(0, 4)), int(_rng.integers(5, 2001)),
     bool(_rng.integers(0, 2)))
    for k in range(6)
]
VARIANTS = [dict(), dict(unroll=1), dict(unroll=3), dict(unroll=16),
            dict(gradient="adjoint"), dict(gradient="adjoint", unroll=3),
            dict(gradient="autodiff"), dict(gradient="autodiff", unroll=4)]
# gradients compile a scan or two per variant: the default (forward sensitivities), an
# unroll that does not divide T, the pathological-speed unroll and the two backward passes
GRADIENT_VARIANTS = [dict(), dict(unroll=3), dict(unroll=16), dict(gradient="adjoint"),
                     dict(gradient="adjoint", unroll=3), dict(gradient="autodiff")]


@pytest.mark.parametrize(("seed", "p", "q", "num_steps", "condition"), CASES)
def test_fast_values_equal_reference(x64, seed, p, q, num_steps, condition):
    y, mu, phi, theta, sigma, initial_y = random_case(seed, p, q, num_steps, condition)
    expected = float(arma_conditional_loglik(y, mu, phi, theta, sigma, initial_y=initial_y))
    np.testing.assert_allclose(
        np.asarray(arma_fast_residuals(y, mu, phi, theta, initial_y=initial_y)),
        np.asarray(arma_residuals(y, mu, phi, theta, initial_y=initial_y)),
        rtol=1e-10, atol=1e-10)
    for options in VARIANTS:
        got = arma_fast_conditional_loglik(y, mu, phi, theta, sigma, initial_y=initial_y,
                                           **options)
        assert got.dtype == jnp.float64
        np.testing.assert_allclose(float(got), expected, rtol=1e-10, err_msg=str(options))


@pytest.mark.parametrize(("seed", "p", "q", "num_steps", "condition"), CASES)
def test_fast_gradients_equal_reference(x64, seed, p, q, num_steps, condition):
    y, mu, phi, theta, sigma, initial_y = random_case(seed, p, q, num_steps, condition)

    def gradient(loglik, **options):
        return jax.grad(
            lambda *params: loglik(y, *params, initial_y=initial_y, **options),
            argnums=(0, 1, 2, 3),
        )(mu, phi, theta, sigma)

    expected = gradient(arma_conditional_loglik)
    scale = max(float(jnp.max(jnp.abs(g))) for g in expected if g.size)
    for options in GRADIENT_VARIANTS:
        got = jax.jit(lambda: gradient(arma_fast_conditional_loglik, **options))()  # noqa: B023
        for name, g, e in zip(("intercept", "phi", "theta", "sigma"), got, expected, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-8,
                                       atol=1e-8 * scale, err_msg=f"{name} {options}")


def test_gradient_near_the_invertibility_boundary(x64):
    """|theta| = 0.99 at T = 2000: the adjoint recursion decays slowly, every step counts."""
    y, mu, phi, _, sigma, _ = random_case(99, 2, 1, 2000, False)
    theta = jnp.array([-0.99])
    args = (mu, phi, theta, sigma)
    expected = jax.grad(arma_conditional_loglik, argnums=(1, 2, 3, 4))(y, *args)
    for gradient in GRADIENTS:
        got = jax.grad(partial(arma_fast_conditional_loglik, gradient=gradient),
                       argnums=(1, 2, 3, 4))(y, *args)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-8)


def test_overflowing_recursion_gives_minus_infinity_not_nan():
    # float32, |theta| = 1.9: as in tests/test_arma.py, the errors overflow long before t = 500
    y = jnp.sin(jnp.arange(500.0))
    phi, theta = jnp.array([0.1]), jnp.array([-1.9])
    assert float(arma_conditional_loglik(y, 0.0, phi, theta, 1.0)) == -np.inf
    assert float(arma_fast_conditional_loglik(y, 0.0, phi, theta, 1.0)) == -np.inf
    d = FastConditionalARMA(0.0, phi, theta, 1.0, num_steps=500)
    assert float(d.log_prob(y)) == -np.inf


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="shapes"):
        arma_fast_conditional_loglik(jnp.ones(4), 0.0, jnp.ones((1, 1)), jnp.zeros(0), 1.0)
    with pytest.raises(ValueError, match="initial_y"):
        arma_fast_conditional_loglik(jnp.ones(4), 0.0, jnp.ones(2), jnp.zeros(0), 1.0,
                                     initial_y=jnp.ones(3))
    with pytest.raises(ValueError, match="event shape"):
        FastConditionalARMA(0.0, jnp.ones(1), jnp.ones(1), 1.0, num_steps=3).log_prob(
            jnp.ones(4))


@pytest.mark.parametrize("kwargs", [dict(order=(1, 1)), dict(order=(2, 3)),
                                    dict(order=(5, 0), condition_on_first=True, phi_scale=10)])
def test_fast_model_has_the_reference_density(x64, rng_key, kwargs):
    p, q = kwargs["order"]
    y, mu, phi, theta, sigma, _ = random_case(7, p, q, 300, False)
    params = {"intercept": mu, "phi": phi, "theta": theta, "sigma": sigma}
    params = {k: v for k, v in params.items() if v.ndim == 0 or v.shape[0] > 0}
    slow, slow_trace = log_density(partial(arma_model, **kwargs), (y,), {}, params)
    fast, fast_trace = log_density(partial(arma_fast_model, **kwargs), (y,), {}, params)
    assert set(fast_trace) == set(slow_trace)
    assert type(slow_trace["y"]["fn"]) is ConditionalARMA
    assert type(fast_trace["y"]["fn"]) is FastConditionalARMA
    assert np.isfinite(float(slow))
    np.testing.assert_allclose(float(fast), float(slow), rtol=1e-10)
    wrapped, _ = log_density(fast_model(partial(arma_model, **kwargs)), (y,), {}, params)
    np.testing.assert_allclose(float(wrapped), float(slow), rtol=1e-10)


def test_sensitivity_gradient_in_the_data_and_second_derivatives(x64):
    """The forward-sensitivity rule covers (mu, phi, theta); a derivative in y or initial_y
    falls back to JAX's, and second derivatives differentiate the rule itself: both must
    still equal the reference."""
    y, mu, phi, theta, sigma, initial_y = random_case(11, 2, 2, 300, True)

    def loglik(fn):
        return lambda y, initial_y, mu, phi, theta: fn(y, mu, phi, theta, sigma,
                                                       initial_y=initial_y)

    fast, slow = loglik(arma_fast_conditional_loglik), loglik(arma_conditional_loglik)
    args = (y, initial_y, mu, phi, theta)
    for argnums in ((0, 1), (0, 2, 3, 4)):
        for g, e in zip(jax.grad(fast, argnums)(*args), jax.grad(slow, argnums)(*args),
                        strict=True):
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-8, atol=1e-9)
    hess_fast = jax.hessian(fast, argnums=(2, 3, 4))(*args)
    hess_slow = jax.hessian(slow, argnums=(2, 3, 4))(*args)
    for g, e in zip(jax.tree.leaves(hess_fast), jax.tree.leaves(hess_slow), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-7, atol=1e-7)


def test_sensitivity_gradient_under_vmap(x64):
    """Vectorised chains: the rule's batched gradient equals the reference per row."""
    y, mu, phi, theta, sigma, _ = random_case(12, 1, 1, 500, False)
    thetas = jnp.linspace(-0.8, 0.8, 5)[:, None]

    def grads(fn):
        return jax.vmap(jax.grad(lambda th: fn(y, mu, phi, th, sigma)))(thetas)

    np.testing.assert_allclose(np.asarray(grads(arma_fast_conditional_loglik)),
                               np.asarray(grads(arma_conditional_loglik)), rtol=1e-9)


def _has_reverse_scan(jaxpr) -> bool:
    if any(eqn.primitive.name == "scan" and eqn.params["reverse"] for eqn in jaxpr.eqns):
        return True
    return any(_has_reverse_scan(getattr(sub, "jaxpr", sub))
               for sub in jax.extend.core.subjaxprs(jaxpr))


@pytest.mark.parametrize(("p", "q"), [(1, 1), (0, 1)])
def test_batched_sensitivity_orders_switch_to_reverse_mode_with_the_same_numbers(x64, p, q):
    """Under vmap the sensitivity orders take JAX's reverse mode of the MA scan (XLA:CPU
    runs the batched sensitivity scan 20x slower from 3 members: bench_arma_chains.py):
    every parameter batched, or only the series, with a presample, and second derivatives
    batched, all equal the reference; one member alone keeps the forward sensitivities."""
    y, _, _, _, _, initial_y = random_case(13, p, q, 400, True)
    rng = np.random.default_rng(14)
    width = 4
    mus, sigmas = jnp.asarray(rng.normal(size=width)), jnp.asarray(rng.uniform(0.5, 2, width))
    phis = jnp.asarray(rng.uniform(-0.6, 0.6, (width, p)))
    thetas = jnp.asarray(rng.uniform(-0.6, 0.6, (width, q)))

    def value_and_grad(fn):
        return jax.jit(jax.vmap(jax.value_and_grad(
            lambda *a: fn(y, *a, initial_y=initial_y), argnums=(0, 1, 2, 3))))

    fast = value_and_grad(arma_fast_conditional_loglik)
    (v_fast, g_fast), (v_ref, g_ref) = (fast(mus, phis, thetas, sigmas),
                                        value_and_grad(arma_conditional_loglik)(
                                            mus, phis, thetas, sigmas))
    np.testing.assert_allclose(v_fast, v_ref, rtol=1e-12)
    for g, e in zip(g_fast, g_ref, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)
    assert _has_reverse_scan(jax.make_jaxpr(fast)(mus, phis, thetas, sigmas).jaxpr)
    one = jax.value_and_grad(lambda m: arma_fast_conditional_loglik(
        y, m, phis[0], thetas[0], sigmas[0], initial_y=initial_y))
    assert not _has_reverse_scan(jax.make_jaxpr(one)(mus[0]).jaxpr)

    series = jnp.asarray(rng.normal(size=(3, 400)))

    def grad_in_theta(fn):
        return jax.vmap(lambda y_s: jax.grad(lambda th: fn(y_s, mus[0], phis[0], th,
                                                           sigmas[0]))(thetas[0]))(series)

    np.testing.assert_allclose(grad_in_theta(arma_fast_conditional_loglik),
                               grad_in_theta(arma_conditional_loglik), rtol=1e-10)

    def hessian_in_theta(fn):
        return jax.vmap(jax.hessian(lambda th: fn(y, mus[0], phis[0], th, sigmas[0])))(thetas)

    np.testing.assert_allclose(hessian_in_theta(arma_fast_conditional_loglik),
                               hessian_in_theta(arma_conditional_loglik), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize(("p", "q"), [(1, 1), (2, 1)])
def test_wide_batches_take_the_reference_scan_with_the_same_numbers(x64, p, q):
    """From WIDE_BATCH members on (a panel's series x chains) the batched gradient is the
    reference two-buffer scan's (2x faster per gradient at 2,000 members, REPORT 7.4), one
    series per member as in a panel, with a presample: values and gradients equal the
    reference evaluated member by member."""
    assert batched_formulation(WIDE_BATCH - 1) == "reverse-mode"
    assert batched_formulation(WIDE_BATCH) == "reference"
    rng = np.random.default_rng(15)
    width, num_steps = WIDE_BATCH, 60
    series = jnp.asarray(rng.normal(size=(width, num_steps)))
    initial_y = jnp.asarray(rng.normal(size=(width, p)))
    args = (jnp.asarray(rng.normal(size=width)), jnp.asarray(rng.uniform(-0.5, 0.5, (width, p))),
            jnp.asarray(rng.uniform(-0.5, 0.5, (width, q))),
            jnp.asarray(rng.uniform(0.5, 2, width)))

    def value_and_grad(fn):
        return jax.value_and_grad(lambda y, y0, *a: fn(y, *a, initial_y=y0),
                                  argnums=(2, 3, 4, 5))

    v_fast, g_fast = jax.jit(jax.vmap(value_and_grad(arma_fast_conditional_loglik)))(
        series, initial_y, *args)
    one = jax.jit(value_and_grad(arma_conditional_loglik))
    for s in range(0, width, 37):
        v_ref, g_ref = one(series[s], initial_y[s], *(a[s] for a in args))
        np.testing.assert_allclose(v_fast[s], v_ref, rtol=1e-12)
        for g, e in zip(g_fast, g_ref, strict=True):
            np.testing.assert_allclose(g[s], e, rtol=1e-10, atol=1e-10)


def test_unknown_gradient_is_named():
    with pytest.raises(ValueError, match="gradient must be one of"):
        arma_fast_conditional_loglik(jnp.ones(4), 0.0, jnp.ones(1), jnp.zeros(1), 1.0,
                                     gradient="finite-differences")
    with pytest.raises(ValueError, match="scalar output"):
        arma_fast_residuals(jnp.ones(4), 0.0, jnp.ones(1), jnp.zeros(1),
                            gradient="sensitivities")


@pytest.mark.parametrize(("p", "num_steps"), [(3, 2), (3, 3), (2, 5)])
def test_sensitivities_when_lags_reach_before_a_short_series(x64, p, num_steps):
    """Pre-sample values equal mu: d b / d mu picks up -phi_i for every lag before the
    start, also when p >= T."""
    y, mu, phi, theta, sigma, _ = random_case(13, p, 1, num_steps, False)
    expected = jax.grad(arma_conditional_loglik, argnums=(1, 2, 3))(y, mu, phi, theta, sigma)
    got = jax.grad(arma_fast_conditional_loglik, argnums=(1, 2, 3))(y, mu, phi, theta, sigma)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-9, atol=1e-12)
