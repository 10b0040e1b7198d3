"""Batching a per-series function with ``vmap`` and ``in_axes``.

Write the function for one series, then let ``jax.vmap`` map it over many. ``in_axes``
says, argument by argument, which axis is the batch axis: ``0`` for the leading axis,
``1`` (or any other) for data stored the other way round, and ``None`` for an argument
shared by every series (a prior scale, a design matrix, a fixed lag order).

``vmap`` differs from NumPy's ``axis=`` keyword: ``jnp.sum(x, axis=0)`` *collapses*
axis 0, whereas ``vmap(jnp.sum, in_axes=0)(x)`` *maps over* axis 0 and sums each row.
"""

from collections.abc import Callable, Sequence

import jax
from jax import Array

__all__ = ["map_over_series"]


def map_over_series(
    fn: Callable[..., Array],
    series: Array,
    *args: Array,
    series_axis: int = 0,
    arg_axes: Sequence[int | None] | None = None,
) -> Array:
    """Apply ``fn(one_series, *args)`` to every series in ``series``.

    Args:
        fn: function of one series of shape (T,) and further arguments.
        series: many series, shape (N, T) with ``series_axis=0`` or (T, N) with
            ``series_axis=1``.
        *args: further arguments of ``fn``.
        series_axis: the axis of ``series`` that indexes the series.
        arg_axes: batch axis of each of ``args``; ``None`` marks an argument shared by all
            series. Default: every argument is shared.

    Returns:
        ``fn``'s outputs stacked along a new leading axis of length N.

    Example:
        Log-likelihood of three series under one Gaussian AR(1) coefficient each, with a
        noise scale shared by all; the series are stored as columns (T, N):

        >>> import jax.numpy as jnp
        >>> def ar1_sum_sq(y, phi, sigma):
        ...     return jnp.sum((y[1:] - phi * y[:-1]) ** 2) / sigma**2
        >>> ys = jnp.array([[1.0, 2.0, 0.0], [2.0, 4.0, 1.0], [4.0, 8.0, 2.0]])  # (T=3, N=3)
        >>> phis = jnp.array([2.0, 2.0, 1.0])
        >>> print(map_over_series(ar1_sum_sq, ys, phis, jnp.array(1.0),
        ...                       series_axis=1, arg_axes=(0, None)))
        [0. 0. 2.]
    """
    if arg_axes is None:
        arg_axes = (None,) * len(args)
    if len(arg_axes) != len(args):
        raise ValueError(
            f"map_over_series: {len(args)} extra arguments but {len(arg_axes)} arg_axes"
        )
    return jax.vmap(fn, in_axes=(series_axis, *arg_axes))(series, *args)
