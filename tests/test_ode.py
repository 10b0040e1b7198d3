"""Tests of :mod:`patterns.ode`: the RK4 scan against a plain Python loop (to 1e-12),
against SciPy's DOP853 at tight tolerances (a solver nobody here wrote), and its observed
order of convergence (4, measured as the step halves).

The right-hand side is the SIR system written out here, independently of ``models/sir``;
float64 throughout (``x64``).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from patterns.ode import rk4_solve, rk4_step

N = 763.0
DAYS = 14


def sir(t, y, params):
    beta, gamma = params[0], params[1]
    infections = beta * y[0] * y[1] / N
    return jnp.stack([-infections, infections - gamma * y[1], gamma * y[1]])


def sir_numpy(t, y, beta, gamma):
    s, i, _ = y
    infections = beta * s * i / N
    return np.array([-infections, infections - gamma * i, gamma * i])


def reference(beta: float, gamma: float, t_eval: np.ndarray) -> np.ndarray:
    """DOP853 at rtol = atol = 1e-12: shape (len(t_eval), 3)."""
    solution = solve_ivp(sir_numpy, (t_eval[0], t_eval[-1]), [N - 1.0, 1.0, 0.0],
                         method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t_eval,
                         args=(beta, gamma))
    assert solution.success
    return solution.y.T


def python_loop_rk4(beta: float, gamma: float, t_grid: list[float], substeps: int) -> np.ndarray:
    """Classic RK4 in plain Python floats, one step at a time."""
    def rhs(y):
        s, i, _ = y
        infections = beta * s * i / N
        return [-infections, infections - gamma * i, gamma * i]

    y = [N - 1.0, 1.0, 0.0]
    out = [list(y)]
    for start, end in zip(t_grid[:-1], t_grid[1:], strict=True):
        h = (end - start) / substeps
        for _ in range(substeps):
            k1 = rhs(y)
            k2 = rhs([a + h / 2 * b for a, b in zip(y, k1, strict=True)])
            k3 = rhs([a + h / 2 * b for a, b in zip(y, k2, strict=True)])
            k4 = rhs([a + h * b for a, b in zip(y, k3, strict=True)])
            y = [a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
                 for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4, strict=True)]
        out.append(list(y))
    return np.array(out)


@pytest.mark.parametrize("substeps", [1, 3, 8])
def test_rk4_scan_equals_a_python_loop(x64, substeps) -> None:
    # an uneven grid: the step differs between intervals
    t_grid = [0.0, 0.5, 1.0, 2.5, 3.0, 5.0, 8.0, 14.0]
    ys = rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]), jnp.array(t_grid),
                   jnp.array([1.7, 0.5]), substeps=substeps)
    expected = python_loop_rk4(1.7, 0.5, t_grid, substeps)
    assert ys.shape == (len(t_grid), 3)
    np.testing.assert_allclose(np.asarray(ys), expected, rtol=1e-12, atol=1e-12 * N)


#: (beta, gamma) grid: R0 from 0.7 to 14, over and beyond the boarding-school posterior
GRID = [(beta, gamma) for beta in (0.7, 1.0, 1.7, 2.5, 3.5) for gamma in (0.25, 0.5, 1.0)]


def test_rk4_scan_matches_dop853_to_1e_6_relative_on_a_grid_of_rates(x64) -> None:
    t_eval = np.arange(DAYS + 1.0)
    params = jnp.array(GRID)
    # one vmap over the grid: args batched, y0 and the time grid shared
    solve = jax.vmap(lambda p: rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]),
                                         jnp.asarray(t_eval), p, substeps=64))
    ours = np.asarray(solve(params))
    for (beta, gamma), solution in zip(GRID, ours, strict=True):
        ref = reference(beta, gamma, t_eval)
        relative = np.max(np.abs(solution - ref) / np.abs(ref).clip(1e-9))
        assert relative < 1e-6, (beta, gamma, relative)


def test_rk4_error_falls_at_fourth_order_as_the_step_halves(x64) -> None:
    t_eval = np.arange(DAYS + 1.0)
    ref = reference(1.7, 0.5, t_eval)
    errors = []
    for substeps in (4, 8, 16, 32):
        ys = rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]), jnp.asarray(t_eval),
                       jnp.array([1.7, 0.5]), substeps=substeps)
        errors.append(float(np.max(np.abs(np.asarray(ys) - ref))))
    orders = [math.log2(coarse / fine) for coarse, fine in zip(errors, errors[1:], strict=False)]
    # measured: 3.82, 3.93, 3.96 -- approaching 4 as the step shrinks
    assert all(3.7 < order < 4.3 for order in orders), (errors, orders)
    assert abs(orders[-1] - 4.0) < 0.1, orders


def test_rk4_solve_gradient_matches_finite_differences(x64) -> None:
    def final_prevalence(params):
        return rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]), jnp.arange(8.0), params,
                         substeps=4)[-1, 1]

    params = jnp.array([1.7, 0.5])
    grad = np.asarray(jax.jit(jax.grad(final_prevalence))(params))
    eps = 1e-6
    shifted = params[None, :] + jnp.array([[eps, 0.0], [-eps, 0.0], [0.0, eps], [0.0, -eps]])
    values = np.asarray(jax.jit(jax.vmap(final_prevalence))(shifted))
    central = [(values[0] - values[1]) / (2 * eps), (values[2] - values[3]) / (2 * eps)]
    np.testing.assert_allclose(grad, central, rtol=1e-6)


def test_rk4_step_is_exact_for_a_cubic() -> None:
    # RK4 integrates dy/dt = 3 t^2 exactly (the quadrature is Simpson's rule)
    y1 = rk4_step(lambda t, y, _: 3 * t**2 * jnp.ones_like(y), 1.0, jnp.array([0.0]), 0.5)
    np.testing.assert_allclose(float(y1[0]), 1.5**3 - 1.0, rtol=1e-6)


def test_rk4_solve_single_time_returns_the_start() -> None:
    ys = rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]), jnp.array([0.0]), jnp.array([1.0, 0.5]))
    np.testing.assert_array_equal(np.asarray(ys), [[N - 1.0, 1.0, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"t_grid": jnp.zeros((2, 2))}, r"t_grid must have shape \(K,\)"),
        ({"t_grid": jnp.zeros(0)}, r"t_grid must have shape \(K,\)"),
        ({"t_grid": jnp.array([0.0, 2.0, 1.0])}, "strictly increasing"),
        ({"substeps": 0}, "substeps must be a Python int >= 1, got 0"),
        ({"substeps": 2.5}, "substeps must be a Python int >= 1, got 2.5"),
    ],
)
def test_rk4_solve_rejects_bad_arguments(kwargs, message) -> None:
    arguments = {"t_grid": jnp.arange(3.0), "substeps": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        rk4_solve(sir, jnp.array([N - 1.0, 1.0, 0.0]), arguments["t_grid"],
                  jnp.array([1.0, 0.5]), substeps=arguments["substeps"])



def _both(solver, y0, args, substeps=4):
    return solver(sir, y0, jnp.arange(8.0), args, substeps=substeps)


def test_rk4_solve_forward_equals_rk4_solve_and_its_gradient(x64) -> None:
    from patterns.ode import rk4_solve_forward

    weights = jnp.linspace(-1.0, 2.0, 24).reshape(8, 3)

    def check(solver_is_forward, y0, params, grid):
        solver = rk4_solve_forward if solver_is_forward else rk4_solve
        values = _both(solver, y0, params)
        # a scalar of the whole trajectory, every input differentiated: y0 and the rates
        full = jax.grad(lambda y, p: jnp.sum(weights * _both(solver, y, p)),
                        argnums=(0, 1))(y0, params)
        # the rates alone (y0 constant: two directions), batched by vmap over the grid
        batched = jax.vmap(jax.grad(lambda p: _both(solver, y0, p)[-1, 1]))(grid)
        return values, full, batched

    check = jax.jit(check, static_argnums=0)
    arguments = (jnp.array([N - 1.0, 1.0, 0.0]), jnp.array([1.7, 0.5]), jnp.array(GRID))
    ours, reference = check(True, *arguments), check(False, *arguments)
    np.testing.assert_allclose(np.asarray(ours[0]), np.asarray(reference[0]), rtol=1e-14)
    for x, y in zip(jax.tree.leaves(ours[1:]), jax.tree.leaves(reference[1:]), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-10, atol=1e-10)


def test_rk4_solve_forward_takes_a_pytree_of_arguments_and_a_time_tangent(x64) -> None:
    from patterns.ode import rk4_solve_forward

    def rhs(t, y, args):
        rates, scale = args["rates"], args["scale"]
        return scale * sir(t, y, rates)

    y0 = jnp.array([N - 1.0, 1.0, 0.0])
    args = {"rates": jnp.array([1.7, 0.5]), "scale": 0.9}

    def gradients(solver):
        def total(a, t_end):
            ys = solver(rhs, y0, jnp.array([0.0, 1.0, t_end]), a, substeps=3)
            return jnp.sum(ys[:, 1])
        # the pytree's leaves, then the time grid (the ordinary scan derivative)
        return jax.jit(jax.grad(total, (0, 1)))(args, 4.0)

    ours, reference = gradients(rk4_solve_forward), gradients(rk4_solve)
    for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(reference), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-11)
    with pytest.raises(ValueError, match="rk4_solve_forward: substeps must be"):
        rk4_solve_forward(rhs, y0, jnp.arange(3.0), args, substeps=0)
