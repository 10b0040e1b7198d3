"""Sequential recurrences: one ``lax.scan`` step per time point (O(T) depth).

Each function here has a twin of the same name in :mod:`patterns.parallel`, computed with
``lax.associative_scan`` in O(log T) depth; tests check that the two agree in values and
gradients.
"""

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

__all__ = ["linear_recurrence"]


def _check_recurrence_args(a: ArrayLike, b: ArrayLike, init: ArrayLike):
    a, b, init = jnp.asarray(a), jnp.asarray(b), jnp.asarray(init)
    if a.shape != b.shape or a.ndim < 1:
        raise ValueError(
            f"linear_recurrence: a and b must have the same shape (T, ...), got "
            f"{a.shape} and {b.shape}"
        )
    if init.shape != a.shape[1:]:
        raise ValueError(
            f"linear_recurrence: init must have shape {a.shape[1:]}, got {init.shape}"
        )
    dtype = jnp.result_type(a, b, init)
    return a.astype(dtype), b.astype(dtype), init.astype(dtype)


def linear_recurrence(a: ArrayLike, b: ArrayLike, init: ArrayLike) -> Array:
    """Solve ``x_t = a_t * x_{t-1} + b_t`` for t = 1..T, with ``x_0 = init``, by ``lax.scan``.

    Elementwise in any trailing dimensions. AR(1) filtering, exponential smoothing and the
    adjoint of every such recurrence have this form.

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

    def step(x_prev, ab):
        a_t, b_t = ab
        x = a_t * x_prev + b_t
        return x, x

    _, xs = lax.scan(step, init, (a, b))
    return xs
