"""The formulations ``scripts/benchmarks/bench_panel_step.py`` times (REPORT section 7.2)
compute one density: the benchmark's own likelihood (the MA recursion by
``lax.associative_scan``) equals the reference scan's value and gradient to 1e-10
(float64), and a model scored through the benchmark's swap (``with_likelihood``) has the
reference panel potential and gradient under ``vmap`` over series. (The fast path's
gradients and unrolls are checked against the reference in tests/test_arma_fast.py.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from script_runner import import_benchmark

from models.arma import arma_conditional_loglik
from models.panel import panel_model, panel_potential
from models.panel.simulate import simulate_arma_panel


@pytest.fixture(scope="module")
def bench():
    return import_benchmark("bench_panel_step")


@pytest.mark.parametrize("initial_y", [None, np.array([0.4, -0.2])])
def test_associative_likelihood_is_the_reference(bench, x64, initial_y):
    y = jnp.asarray(np.random.default_rng(1).normal(size=40))
    args = (jnp.asarray(0.3), jnp.array([0.5, -0.3]), jnp.array([0.7]), jnp.asarray(1.2))

    def value_and_grad(loglik):
        return jax.jit(jax.value_and_grad(
            lambda c, phi, theta, sigma: loglik(y, c, phi, theta, sigma, initial_y=initial_y),
            argnums=(0, 1, 2, 3)))(*args)

    got, want = value_and_grad(bench.associative_loglik), value_and_grad(arma_conditional_loglik)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)
    for g, w in zip(got[1], want[1], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


def test_a_swapped_model_has_the_reference_potential(bench, x64):
    y = simulate_arma_panel(jax.random.PRNGKey(3), 4, 30).y.astype(jnp.float64)
    rng = np.random.default_rng(0)
    params = {"intercept": jnp.asarray(rng.normal(size=4)),
              "phi": jnp.asarray(rng.uniform(-0.9, 0.9, size=(4, 1))),
              "theta": jnp.asarray(rng.uniform(-0.9, 0.9, size=(4, 1))),
              "sigma": jnp.asarray(rng.normal(size=4))}  # unconstrained: log sigma

    def value_and_grad(model):
        potential = panel_potential(panel_model(model, y, static_kwargs={"order": (1, 1)}), y)
        return jax.jit(lambda p: (potential(p), jax.grad(lambda q: jnp.sum(potential(q)))(p)))(
            params)

    want_value, want_grad = value_and_grad(bench.FORMULATIONS["reference scan"])
    value, grad = value_and_grad(bench.FORMULATIONS["associative scan"])
    assert np.all(np.isfinite(want_value))
    np.testing.assert_allclose(value, want_value, rtol=1e-10)
    for site in params:
        np.testing.assert_allclose(grad[site], want_grad[site], rtol=1e-10, atol=1e-10,
                                   err_msg=site)
