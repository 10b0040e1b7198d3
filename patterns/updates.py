"""Immutable array updates with ``.at[]``.

JAX arrays cannot be assigned in place (``x[i] = v`` raises). ``x.at[i].set(v)`` returns a
new array and leaves ``x`` as it was; inside ``jit`` XLA turns it into an in-place write
when the old array is no longer used, so the functional style costs nothing.

Three updates the models use:

* :func:`push_lag` — a fixed-length lag buffer, the carry of an ARMA scan;
* :func:`scatter_add` — sum values into bins by index (duplicates accumulate);
* :func:`fill_at` — write chosen positions of a series (for example imputed missing values).
"""

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

__all__ = ["fill_at", "push_lag", "scatter_add"]


def push_lag(buffer: ArrayLike, value: ArrayLike) -> Array:
    """Push ``value`` into a lag buffer, newest first, dropping the oldest entry.

    ``buffer[k]`` holds the value ``k + 1`` steps back, so after pushing ``y_t`` the buffer
    is ``(y_t, y_{t-1}, ..., y_{t-n+1})``. A buffer of length 0 stays empty, so ARMA(p, 0)
    and ARMA(0, q) need no special case.

    Args:
        buffer: shape (n,), n >= 0.
        value: scalar, same dtype as ``buffer``.

    Returns:
        New buffer, shape (n,); ``buffer`` itself is unchanged.

    Example:
        >>> import jax.numpy as jnp
        >>> lags = jnp.array([3, 2, 1])
        >>> print(push_lag(lags, 4))
        [4 3 2]
        >>> print(lags)  # the original is untouched
        [3 2 1]
        >>> print(push_lag(jnp.zeros(0), 1.0).shape)
        (0,)
    """
    buffer = jnp.asarray(buffer)
    if buffer.ndim != 1:
        raise ValueError(f"push_lag: buffer must have shape (n,), got {buffer.shape}")
    if buffer.shape[0] == 0:
        return buffer
    # roll moves the oldest entry to the front; .at[0].set overwrites it with the newest.
    return jnp.roll(buffer, 1).at[0].set(jnp.asarray(value, dtype=buffer.dtype))


def scatter_add(values: ArrayLike, index: ArrayLike, num_bins: int) -> Array:
    """Sum ``values`` into ``num_bins`` bins: ``out[b] = sum(values[index == b])``.

    Unlike ``out[index] += values`` in NumPy, repeated indices accumulate.
    Indices outside ``[0, num_bins)`` are rejected (JAX would silently drop them).

    Args:
        values: shape (n,).
        index: integer bin of each value, shape (n,).
        num_bins: number of bins.

    Returns:
        Bin totals, shape (num_bins,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(scatter_add(jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([0, 2, 0, 2]), 3))
        [4. 0. 6.]
    """
    values = jnp.asarray(values)
    index = jnp.asarray(index)
    if values.shape != index.shape or values.ndim != 1:
        raise ValueError(
            f"scatter_add: values and index must both have shape (n,), got "
            f"{values.shape} and {index.shape}"
        )
    if not jnp.issubdtype(index.dtype, jnp.integer):
        raise TypeError(f"scatter_add: index must be integer, got {index.dtype}")
    if num_bins < 0:
        raise ValueError(f"scatter_add: num_bins must be >= 0, got {num_bins}")
    # JAX drops out-of-range scatter indices without a word; check them while they are
    # concrete (under jit the values are unknown and the caller's promise stands).
    if not isinstance(index, jax.core.Tracer) and bool(
        jnp.any((index < 0) | (index >= num_bins))
    ):
        raise ValueError(f"scatter_add: every index must lie in [0, {num_bins})")
    return jnp.zeros(num_bins, dtype=values.dtype).at[index].add(values)


def fill_at(series: ArrayLike, positions: ArrayLike, values: ArrayLike) -> Array:
    """Return ``series`` with ``series[positions] = values``, everything else unchanged.

    Used to put imputed values into the gaps of a series with missing observations.

    Args:
        series: shape (T,).
        positions: integer positions, shape (m,).
        values: shape (m,), or a scalar written at every position.

    Returns:
        Filled series, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, jnp.nan, 3.0, jnp.nan])
        >>> gaps = jnp.flatnonzero(jnp.isnan(y))
        >>> print(fill_at(y, gaps, jnp.array([2.0, 4.0])))
        [1. 2. 3. 4.]
    """
    series = jnp.asarray(series)
    positions = jnp.asarray(positions)
    if series.ndim != 1 or positions.ndim != 1:
        raise ValueError(
            f"fill_at: series and positions must have shape (T,) and (m,), got "
            f"{series.shape} and {positions.shape}"
        )
    # JAX drops out-of-range positions and wraps negative ones; a gap outside the series is
    # a caller's mistake, so say so while the positions are concrete.
    if not isinstance(positions, jax.core.Tracer) and bool(
        jnp.any((positions < 0) | (positions >= series.shape[0]))
    ):
        raise ValueError(f"fill_at: every position must lie in [0, {series.shape[0]})")
    values = jnp.asarray(values, dtype=series.dtype)
    if values.ndim == 0:
        values = jnp.broadcast_to(values, positions.shape)
    if values.shape != positions.shape:
        raise ValueError(
            f"fill_at: values must have the shape of positions {positions.shape}, "
            f"got {values.shape}"
        )
    return series.at[positions].set(values)
