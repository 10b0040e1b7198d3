"""Loops with a carry, written with ``lax.scan``.

``lax.scan(step, init, xs)`` runs ``carry, y = step(carry, x)`` over the leading axis of
``xs`` and returns ``(final_carry, stacked_ys)``. The loop is traced once and compiled as a
single XLA loop, however long the series: that is why NumPyro models use it for time series.

The course page this package grew from calls two of its examples a "cumulative sum" and a
"moving average". Its cumulative sum keeps only the final carry (the total, ``15``) and
throws the partial sums away; its "moving average" is an exponential smoother with weight
1/3 started at 0. Here each function is named for what it computes.
"""

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from patterns.updates import push_lag

__all__ = ["cumulative_sum", "exponential_smoothing", "moving_average"]


def cumulative_sum(xs: ArrayLike) -> tuple[Array, Array]:
    """Every partial sum of ``xs`` and the total, by one ``lax.scan``.

    Args:
        xs: shape (T, ...).

    Returns:
        ``(total, partial_sums)``: the final carry, shape (...), and the partial sums
        ``xs[0], xs[0] + xs[1], ...``, shape (T, ...). ``partial_sums[-1] == total``.

    Example:
        >>> import jax.numpy as jnp
        >>> total, partial = cumulative_sum(jnp.array([1, 2, 3, 4, 5]))
        >>> print(total, partial)
        15 [ 1  3  6 10 15]
    """
    xs = jnp.asarray(xs)

    def step(running, x):
        running = running + x
        return running, running  # carry it on *and* emit it

    return lax.scan(step, jnp.zeros(xs.shape[1:], xs.dtype), xs)


def exponential_smoothing(xs: ArrayLike, weight: ArrayLike, init: ArrayLike = 0.0) -> Array:
    """Exponentially weighted smoother ``s_t = (1 - weight) * s_{t-1} + weight * x_t``.

    ``s_0 = init``. Every past value keeps some weight (``weight * (1 - weight)**k`` for a
    value ``k`` steps back), which is what tells it apart from :func:`moving_average`. The
    course page's "moving average" is this function with ``weight=1/3, init=0``; its output
    ``[3.3333335 6.222223 ...]`` starts far below the data because of the zero start.

    Args:
        xs: shape (T,).
        weight: weight of the newest value, in (0, 1].
        init: value before the first observation, ``s_0``.

    Returns:
        Smoothed series ``s_1 .. s_T``, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(exponential_smoothing(jnp.array([4.0, 4.0, 4.0]), weight=0.5, init=0.0))
        [2.  3.  3.5]
    """
    # a traced weight (a sample site inside a model) cannot be checked here
    if not isinstance(weight, jax.core.Tracer) and not 0.0 < float(weight) <= 1.0:
        raise ValueError(f"exponential_smoothing: weight must lie in (0, 1], got {weight}")
    xs = jnp.asarray(xs)
    if not jnp.issubdtype(xs.dtype, jnp.inexact):
        # Integer data (counts) smooth to fractions; an integer carry would not type-check.
        xs = xs.astype(jnp.result_type(float))
    if xs.ndim != 1:
        raise ValueError(f"exponential_smoothing: xs must have shape (T,), got {xs.shape}")

    def step(smoothed, x):
        smoothed = (1.0 - weight) * smoothed + weight * x
        return smoothed, smoothed

    _, smoothed = lax.scan(step, jnp.asarray(init, dtype=xs.dtype), xs)
    return smoothed


def moving_average(xs: ArrayLike, window: int) -> Array:
    """Mean of the last ``window`` values at each time, once ``window`` values exist.

    The scan carries a lag buffer of the last ``window`` values (:func:`push_lag`); each
    output is the plain mean of the buffer, so a value stops counting ``window`` steps after
    it arrived. Same as ``np.convolve(xs, np.ones(window) / window, "valid")``.

    Args:
        xs: shape (T,), T >= window.
        window: window length, >= 1.

    Returns:
        Windowed means ending at times ``window-1 .. T-1``, shape (T - window + 1,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(moving_average(jnp.array([10.0, 12.0, 14.0, 16.0, 18.0]), window=3))
        [12. 14. 16.]
    """
    xs = jnp.asarray(xs)
    if xs.ndim != 1:
        raise ValueError(f"moving_average: xs must have shape (T,), got {xs.shape}")
    if not 1 <= window <= xs.shape[0]:
        raise ValueError(
            f"moving_average: window must lie in [1, T={xs.shape[0]}], got {window}"
        )

    def step(lags, x):
        lags = push_lag(lags, x)
        return lags, jnp.mean(lags)

    _, means = lax.scan(step, jnp.zeros(window, dtype=xs.dtype), xs)
    return means[window - 1 :]
