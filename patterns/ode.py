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
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

__all__ = ["rk4_solve", "rk4_step"]


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
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"rk4_solve: substeps must be a Python int >= 1, got {substeps!r}")
    y0 = jnp.asarray(y0)
    if not jnp.issubdtype(y0.dtype, jnp.inexact):
        y0 = y0.astype(jnp.result_type(float))
    t_grid = jnp.asarray(t_grid, dtype=y0.dtype)
    if t_grid.ndim != 1 or t_grid.shape[0] < 1:
        raise ValueError(
            f"rk4_solve: t_grid must have shape (K,) with K >= 1, got shape {t_grid.shape}"
        )
    if not isinstance(t_grid, jax.core.Tracer) and t_grid.shape[0] > 1:
        if not bool(jnp.all(jnp.diff(t_grid) > 0)):
            raise ValueError("rk4_solve: t_grid must be strictly increasing, got "
                             f"{t_grid.tolist()}")

    def interval(y, bounds):
        t_start, t_end = bounds
        h = (t_end - t_start) / substeps

        def one_step(i, y_i):
            return rk4_step(f, t_start + i * h, y_i, h, args)

        y_end = lax.fori_loop(0, substeps, one_step, y)
        return y_end, y_end

    _, ys = lax.scan(interval, y0, (t_grid[:-1], t_grid[1:]))
    return jnp.concatenate([y0[None], ys], axis=0)
