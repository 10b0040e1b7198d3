"""Parallel recurrences with ``lax.associative_scan`` (O(log T) depth, O(T) work).

A recurrence can run in parallel when its steps compose associatively. For
``x_t = a_t x_{t-1} + b_t`` each step is the affine map ``x -> a_t x + b_t``, and two maps
compose into one: applying ``(a_1, b_1)`` then ``(a_2, b_2)`` is ``(a_2 a_1, a_2 b_1 + b_2)``.
The prefix compositions, applied to ``x_0``, give every ``x_t``. On a GPU this turns a
length-T loop into about 2 log2(T) rounds; on a CPU the extra work usually costs more than it
saves (see the benchmarks).

Each function here has a twin of the same name in :mod:`patterns.sequential`.
"""

from jax import Array, lax
from jax.typing import ArrayLike

from patterns.sequential import _check_recurrence_args

__all__ = ["linear_recurrence"]


def _compose_affine(earlier, later):
    a1, b1 = earlier
    a2, b2 = later
    return a2 * a1, a2 * b1 + b2


def linear_recurrence(a: ArrayLike, b: ArrayLike, init: ArrayLike) -> Array:
    """Solve ``x_t = a_t * x_{t-1} + b_t`` for t = 1..T, with ``x_0 = init``, in parallel.

    Same contract as :func:`patterns.sequential.linear_recurrence`.

    Args:
        a: coefficients, shape (T, ...).
        b: inputs, shape (T, ...).
        init: ``x_0``, shape (...).

    Returns:
        ``x_1 .. x_T``, shape (T, ...).

    Example:
        >>> import jax.numpy as jnp
        >>> print(linear_recurrence(jnp.array([2.0, 2.0, 0.5]), jnp.array([1.0, 1.0, 1.0]),
        ...                         jnp.array(0.0)))
        [1. 3. 2.5]
    """
    a, b, init = _check_recurrence_args(a, b, init)
    if a.shape[0] == 0:
        return b  # T = 0: nothing to solve, and b.at[0] below would index an empty axis
    # Fold x_0 into the first input: x_1 = a_1 x_0 + b_1, so later steps need no init.
    b = b.at[0].add(a[0] * init)
    _, xs = lax.associative_scan(_compose_affine, (a, b))
    return xs
