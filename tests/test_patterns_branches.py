"""``patterns.cond_with_branch_gradients`` against ``lax.cond``: same values, same
derivatives (reverse and forward mode, under jit and vmap), and the structure it exists for
(one cond in the gradient's program where ``lax.cond`` needs two)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from patterns import cond_with_branch_gradients


def smooth(x, y, c):
    return jnp.sum(jnp.sin(x) * y) + c * jnp.sum(x**2)


def rough(x, y, c):
    return jnp.exp(c) * jnp.sum(x**3) - jnp.prod(y)


def by_lax(x, y, c):
    return lax.cond(x[0] > 0, smooth, rough, x, y, c)


def by_branches(x, y, c):
    return cond_with_branch_gradients(x[0] > 0, smooth, rough, x, y, c)


Y = np.array([2.0, 0.5, -1.5])
C = np.array(0.7)


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["true-branch", "false-branch"])
def test_value_and_gradient_equal_lax_cond_under_jit(sign, x64):
    x = sign * jnp.array([0.3, -1.2, 0.8])
    expected = jax.jit(jax.value_and_grad(by_lax, argnums=(0, 1, 2)))(x, Y, C)
    got = jax.jit(jax.value_and_grad(by_branches, argnums=(0, 1, 2)))(x, Y, C)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-14)
    for g, e in zip(got[1], expected[1], strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-13)
    # and against the branch differentiated on its own: the cond picked the right one
    branch = smooth if sign > 0 else rough
    np.testing.assert_allclose(got[1][0], jax.grad(branch)(x, Y, C), rtol=1e-13)


def test_forward_mode_and_an_operand_held_constant(x64):
    x = jnp.array([0.3, -1.2, 0.8])
    np.testing.assert_allclose(jax.jacfwd(by_branches, argnums=2)(x, Y, C),
                               jax.jacfwd(by_lax, argnums=2)(x, Y, C), rtol=1e-13)
    # y closed over as data: only x is differentiated
    np.testing.assert_allclose(jax.grad(lambda v: by_branches(v, Y, C))(x),
                               jax.grad(lambda v: by_lax(v, Y, C))(x), rtol=1e-13)


def test_vmap_over_a_batched_predicate_takes_each_members_branch(x64):
    xs = jnp.array([[0.3, -1.2, 0.8], [-0.3, 1.2, 0.1], [1.5, 0.2, -0.4]])
    got = jax.vmap(jax.grad(by_branches), in_axes=(0, None, None))(xs, Y, C)
    expected = jnp.stack([jax.grad(smooth if x[0] > 0 else rough)(x, Y, C) for x in xs])
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_pytree_operands(x64):
    def tree_value(params):
        return cond_with_branch_gradients(
            params["a"] > 0, lambda p: p["a"] * jnp.sum(p["b"] ** 2),
            lambda p: -p["a"] + jnp.sum(p["b"]), params)
    params = {"a": jnp.array(2.0), "b": jnp.array([1.0, -3.0])}
    got = jax.grad(tree_value)(params)
    np.testing.assert_allclose(got["a"], 10.0, rtol=1e-14)
    np.testing.assert_allclose(got["b"], [4.0, -12.0], rtol=1e-14)


def count_conds(jaxpr):
    count = 0
    for equation in jaxpr.eqns:
        count += equation.primitive.name == "cond"
        for param in equation.params.values():
            for sub in param if isinstance(param, (tuple, list)) else [param]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    count += count_conds(inner)
                elif hasattr(sub, "eqns"):
                    count += count_conds(sub)
    return count


def test_the_gradient_program_holds_one_cond_where_lax_cond_needs_two():
    x = jnp.array([0.3, -1.2, 0.8])
    plain = jax.make_jaxpr(jax.grad(by_lax))(x, Y, C).jaxpr
    branches = jax.make_jaxpr(jax.grad(by_branches))(x, Y, C).jaxpr
    assert count_conds(plain) == 2  # forward cond with residuals, backward cond
    assert count_conds(branches) == 1
