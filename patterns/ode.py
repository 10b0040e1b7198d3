"""Ordinary differential equations by a fixed-step Runge–Kutta 4, in one ``lax.scan``.

An adaptive solver (Dormand–Prince, Stan's ``ode_rk45``) chooses its steps from the
solution; inside a sampler that means a data-dependent number of steps, a ``while_loop``
and a gradient through it. A fixed step grid is known before tracing: one ``lax.scan``
over the output times, each interval split into ``substeps`` classic RK4 steps, whose
reverse-mode gradient JAX derives like any other scan. The price is that the step is the
caller's choice: RK4's global error falls like ``h**4``, so halving the step divides it
by 16, and the step is chosen once, by measuring that error against the noise of the
data (``docs/sir.md`` does it for the SIR model).

The right-hand side ``f(t, y, args)`` is any JAX function of a time, a state array and
an argument pytree (parameters): the kernel knows nothing of epidemics.

Two solvers with the same values: :func:`rk4_solve` is differentiated by JAX as any scan
(reverse mode: a forward scan that stores its states, then a backward scan), and
:func:`rk4_solve_forward` carries the sensitivities ``dy/dtheta`` of the state to the P
inputs theta that are being differentiated (forward mode, P directions) in the same scan
as the state, under a ``jax.custom_jvp``: a gradient then needs no backward scan at all,
only the product of the stored sensitivities with the cotangent. With a few parameters
and a small state (the SIR model: P = 2, D = 3) that is one loop instead of two, in the
compiled program and at run time (``docs/sir.md`` has the measured cost).
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike

__all__ = ["rk4_solve", "rk4_solve_forward", "rk4_step"]


def rk4_step(
    f: Callable[[Array, Array, Any], Array], t: ArrayLike, y: ArrayLike, h: ArrayLike,
    args: Any = None,
) -> Array:
    """One classic Runge–Kutta 4 step from ``(t, y)`` to ``t + h``.

    ``k1 = f(t, y)``, ``k2 = f(t + h/2, y + h k1/2)``, ``k3 = f(t + h/2, y + h k2/2)``,
    ``k4 = f(t + h, y + h k3)``; ``y_next = y + h (k1 + 2 k2 + 2 k3 + k4) / 6``.

    Args:
        f: right-hand side ``f(t, y, args)`` -> array of the shape of ``y``.
        t: time, scalar.
        y: state, any shape.
        h: step, scalar.
        args: passed to ``f`` unchanged (a pytree of parameters).

    Returns:
        The state at ``t + h``, shape of ``y``.

    Example:
        >>> import jax.numpy as jnp
        >>> y1 = rk4_step(lambda t, y, a: a * y, 0.0, jnp.array([1.0]), 0.1, -1.0)
        >>> print(f"{float(y1[0]):.6f} vs exp(-0.1) = {float(jnp.exp(-0.1)):.6f}")
        0.904837 vs exp(-0.1) = 0.904837
    """
    y = jnp.asarray(y)
    half = h / 2
    k1 = f(t, y, args)
    k2 = f(t + half, y + half * k1, args)
    k3 = f(t + half, y + half * k2, args)
    k4 = f(t + h, y + h * k3, args)
    return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


def rk4_solve(
    f: Callable[[Array, Array, Any], Array],
    y0: ArrayLike,
    t_grid: ArrayLike,
    args: Any = None,
    *,
    substeps: int = 1,
) -> Array:
    """Solve ``dy/dt = f(t, y, args)``, ``y(t_grid[0]) = y0``, at every time of ``t_grid``.

    One ``lax.scan`` over the intervals ``[t_grid[k], t_grid[k+1]]``; each interval is
    split into ``substeps`` equal RK4 steps (:func:`rk4_step`), run by a
    ``lax.fori_loop`` inside the scan's body. The grid need not be even. Everything is
    differentiable in ``y0`` and ``args`` (reverse mode through the scan).

    Args:
        f: right-hand side ``f(t, y, args)`` -> array of the shape of ``y``; any JAX
            function.
        y0: state at ``t_grid[0]``, shape (D,) (or any shape S).
        t_grid: increasing output times, shape (K,), K >= 1; ``t_grid[0]`` is the start.
        args: a pytree passed to ``f`` unchanged (the parameters; they may be traced).
        substeps: RK4 steps per interval (a Python int >= 1); the step on interval k is
            ``(t_grid[k+1] - t_grid[k]) / substeps``.

    Returns:
        The solution at every time of ``t_grid``, shape (K, D) (``(K, *S)``); row 0 is
        ``y0``.

    Raises:
        ValueError: ``t_grid`` not one-dimensional or empty, not increasing (when it is
            concrete), ``substeps`` not an int >= 1.

    Example:
        Exponential decay ``dy/dt = -a y`` from 1, solved at t = 0, 1, 2 with 10 steps a day:

        >>> import jax.numpy as jnp
        >>> ys = rk4_solve(lambda t, y, a: -a * y, jnp.array([1.0]), jnp.arange(3.0), 0.5,
        ...                substeps=10)
        >>> print(ys.shape, jnp.round(ys[:, 0], 6), jnp.round(jnp.exp(-0.5 * jnp.arange(3.0)), 6))
        (3, 1) [1.       0.606531 0.367879] [1.       0.606531 0.367879]
    """
    y0, t_grid = _checked("rk4_solve", y0, t_grid, substeps)
    return _solve(f, y0, t_grid, args, substeps)


def _checked(name: str, y0: ArrayLike, t_grid: ArrayLike, substeps: int) -> tuple[Array, Array]:
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"{name}: substeps must be a Python int >= 1, got {substeps!r}")
    y0 = jnp.asarray(y0)
    if not jnp.issubdtype(y0.dtype, jnp.inexact):
        y0 = y0.astype(jnp.result_type(float))
    t_grid = jnp.asarray(t_grid, dtype=y0.dtype)
    if t_grid.ndim != 1 or t_grid.shape[0] < 1:
        raise ValueError(
            f"{name}: t_grid must have shape (K,) with K >= 1, got shape {t_grid.shape}"
        )
    if not isinstance(t_grid, jax.core.Tracer) and t_grid.shape[0] > 1:
        if not bool(jnp.all(jnp.diff(t_grid) > 0)):
            raise ValueError(f"{name}: t_grid must be strictly increasing, got "
                             f"{t_grid.tolist()}")
    return y0, t_grid


def _solve(f: Callable[[Array, Array, Any], Array], y0: Array, t_grid: Array, args: Any,
           substeps: int) -> Array:
    def interval(y, bounds):
        t_start, t_end = bounds
        h = (t_end - t_start) / substeps

        def one_step(i, y_i):
            return rk4_step(f, t_start + i * h, y_i, h, args)

        y_end = lax.fori_loop(0, substeps, one_step, y)
        return y_end, y_end

    _, ys = lax.scan(interval, y0, (t_grid[:-1], t_grid[1:]))
    return jnp.concatenate([y0[None], ys], axis=0)


def rk4_solve_forward(
    f: Callable[[Array, Array, Any], Array],
    y0: ArrayLike,
    t_grid: ArrayLike,
    args: Any = None,
    *,
    substeps: int = 1,
) -> Array:
    """:func:`rk4_solve`, differentiated in forward mode inside the solver's own scan.

    The values are :func:`rk4_solve`'s (the same operations). Its derivative is a
    ``jax.custom_jvp``: the inputs being differentiated (the leaves of ``y0`` and ``args``
    whose tangent is not a symbolic zero; P numbers in all) are the directions, and each
    RK4 step carries the state and its sensitivities ``dy/dtheta``, shape (D, P), one
    ``jax.jvp`` of :func:`rk4_step` per direction (``vmap``-ed over the P directions, the
    state computed once). The tangent of the solution is then the stored sensitivities
    times the input tangent, linear in it, so reverse mode (``jax.grad``) transposes that
    product only: no backward scan, no stored trajectory to read back. It pays for P
    directions in the one forward loop: worth it when P and the state are small (an
    epidemic's few rates), not for many parameters. ``t_grid`` is not differentiated
    (a tangent there takes :func:`rk4_solve`'s path, the ordinary scan derivative).

    Args and Returns: as :func:`rk4_solve`.

    Example:
        The gradient of the solution at t = 2 of ``dy/dt = -a y`` with respect to a,
        against the closed form ``d/da exp(-2a) = -2 exp(-2a)``:

        >>> import jax
        >>> import jax.numpy as jnp
        >>> def last(a):
        ...     return rk4_solve_forward(lambda t, y, a: -a * y, jnp.array([1.0]),
        ...                              jnp.arange(3.0), a, substeps=20)[-1, 0]
        >>> print(f"{float(jax.grad(last)(0.5)):.6f} vs {float(-2 * jnp.exp(-1.0)):.6f}")
        -0.735759 vs -0.735759
    """
    y0, t_grid = _checked("rk4_solve_forward", y0, t_grid, substeps)
    solve = jax.custom_jvp(partial(_solve, f, substeps=substeps))
    solve.defjvp(partial(_forward_jvp, f, substeps), symbolic_zeros=True)
    return solve(y0, t_grid, args)


def _is_zero(tangent: Any) -> bool:
    return isinstance(tangent, SymbolicZero)


def _forward_jvp(f: Callable[[Array, Array, Any], Array], substeps: int,
                 primals: tuple[Array, Array, Any], tangents: tuple[Any, Any, Any]
                 ) -> tuple[Array, Array]:
    """The JVP rule of :func:`rk4_solve_forward`: state and sensitivities in one scan."""
    y0, t_grid, args = primals
    y0_dot, t_grid_dot, args_dot = tangents
    arg_leaves, treedef = jax.tree_util.tree_flatten(args)
    dot_leaves = treedef.flatten_up_to(args_dot)
    if not _is_zero(t_grid_dot):  # times differentiated: the ordinary scan derivative
        def instantiate(dot, primal):
            return jnp.zeros_like(primal) if _is_zero(dot) else dot
        dots = (instantiate(y0_dot, y0), t_grid_dot, treedef.unflatten(
            [instantiate(d, leaf) for d, leaf in zip(dot_leaves, arg_leaves, strict=True)]))
        return jax.jvp(partial(_solve, f, substeps=substeps), primals, dots)
    varying = [i for i, d in enumerate(dot_leaves) if not _is_zero(d)]
    inputs = ([y0] if not _is_zero(y0_dot) else []) + [jnp.asarray(arg_leaves[i])
                                                      for i in varying]
    input_dots = ([y0_dot] if not _is_zero(y0_dot) else []) + [dot_leaves[i]
                                                               for i in varying]
    if not inputs:
        ys = _solve(f, y0, t_grid, args, substeps)
        return ys, jnp.zeros_like(ys)
    sizes = [x.size for x in inputs]
    dtype = y0.dtype
    theta = jnp.concatenate([jnp.ravel(x).astype(dtype) for x in inputs])
    offsets = np.cumsum([0, *sizes])

    def unpack(vector: Array) -> tuple[Array, Any]:
        """(y0, args) with the varying inputs read from ``vector`` (P,)."""
        parts = [vector[a:b].reshape(x.shape).astype(x.dtype)
                 for a, b, x in zip(offsets[:-1], offsets[1:], inputs, strict=True)]
        start = parts.pop(0) if not _is_zero(y0_dot) else y0
        leaves = list(arg_leaves)
        for i, part in zip(varying, parts, strict=True):
            leaves[i] = part
        return start, treedef.unflatten(leaves)

    directions = jnp.eye(theta.shape[0], dtype=dtype)
    # d y0 / d theta, (D..., P): the identity block where y0 varies, else zero
    sensitivity0 = jax.vmap(lambda e: jax.jvp(lambda v: unpack(v)[0], (theta,), (e,))[1],
                            out_axes=-1)(directions)

    def step_with(t: Array, h: Array):
        def advance(y: Array, vector: Array) -> Array:
            return rk4_step(f, t, y, h, unpack(vector)[1])
        return advance

    def interval(carry, bounds):
        t_start, t_end = bounds
        h = (t_end - t_start) / substeps

        def one_step(i, state):
            y, sensitivity = state
            advance = step_with(t_start + i * h, h)
            return jax.vmap(lambda s, e: jax.jvp(advance, (y, theta), (s, e)),
                            in_axes=(-1, 0), out_axes=(None, -1))(sensitivity, directions)

        carry = lax.fori_loop(0, substeps, one_step, carry)
        return carry, carry

    _, (ys, sensitivities) = lax.scan(interval, (y0, sensitivity0), (t_grid[:-1], t_grid[1:]))
    ys = jnp.concatenate([y0[None], ys], axis=0)
    sensitivities = jnp.concatenate([sensitivity0[None], sensitivities], axis=0)
    theta_dot = jnp.concatenate([jnp.ravel(d).astype(dtype) for d in input_dots])
    return ys, sensitivities @ theta_dot
