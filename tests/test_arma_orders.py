"""The fast conditional likelihood's per-order plan: every planned formulation, and the
fallback for orders up to (5, 5), equals the reference scan in value and gradient.

Oracle: :func:`models.arma.arma_conditional_loglik` (the plain two-buffer scan,
differentiated by JAX), float64, values to 1e-10 and gradients to 1e-8 relative. Timing
is not asserted here: ``scripts/benchmarks/bench_arma_orders.py`` measures it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import arma_conditional_loglik, arma_fast_conditional_loglik
from models.arma.conditional_fast import FALLBACK, GRADIENTS, PLAN, planned

# every planned formulation (q = 0, 1 with p <= 1, 1 with p >= 2, 2, 3) and the fallback
# (p or q in 4..5); test_arma_fast.py covers random orders p, q <= 3 with the default plan
ORDERS = [(3, 0), (1, 1), (3, 1), (2, 2), (1, 3), (4, 0), (0, 5), (5, 4)]


def test_plan_covers_every_order_up_to_three_with_known_formulations():
    for p in range(4):
        for q in range(4):
            gradient, unroll = planned((p, q))
            assert gradient in GRADIENTS + ("reference",) and unroll >= 1, (p, q)
    assert set(PLAN) >= {(p, q) for p in range(4) for q in range(4)}
    assert planned((5, 5)) == FALLBACK


def test_planned_orders_and_the_fallback_up_to_five_equal_the_reference(x64):
    rng = np.random.default_rng(3)
    num_steps = 120
    value_and_grad_fast = jax.value_and_grad(arma_fast_conditional_loglik, argnums=(1, 2, 3, 4))
    value_and_grad_ref = jax.value_and_grad(arma_conditional_loglik, argnums=(1, 2, 3, 4))
    for p, q in ORDERS:
        phi = rng.uniform(-0.9, 0.9, p) / max(1, p)
        theta = rng.uniform(-0.9, 0.9, q) / max(1, q)  # sum |theta| < 1: invertible
        y = jnp.asarray(rng.normal(size=num_steps))
        args = (y, 0.3, jnp.asarray(phi), jnp.asarray(theta), 1.2)
        (v_fast, g_fast), (v_ref, g_ref) = value_and_grad_fast(*args), value_and_grad_ref(*args)
        np.testing.assert_allclose(v_fast, v_ref, rtol=1e-10, err_msg=f"{(p, q)}")
        for a, b in zip(g_fast, g_ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12, err_msg=f"{(p, q)}")


@pytest.mark.parametrize("order", [(2, 1), (1, 2), (3, 3)])
def test_plan_under_vmap_and_jit(x64, order):
    p, q = order
    rng = np.random.default_rng(p * 7 + q)
    y = jnp.asarray(rng.normal(size=50))
    thetas = jnp.asarray(rng.uniform(-0.3, 0.3, (3, q)))

    def grads(fn):
        return jax.jit(jax.vmap(jax.grad(
            lambda th: fn(y, 0.1, jnp.full(p, 0.2), th, 1.0))))(thetas)

    np.testing.assert_allclose(grads(arma_fast_conditional_loglik),
                               grads(arma_conditional_loglik), rtol=1e-8)
