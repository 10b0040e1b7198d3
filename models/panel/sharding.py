"""The series axis split over devices and processes with ``jax.sharding`` and ``shard_map``.

Independent series need no communication: each device runs the vectorised NUTS program on
its own block of series (``jax.shard_map`` with the series axis split over a one-axis
``Mesh`` named ``"series"``), so a device whose trees are shallow never waits for another's
deep ones. The same code runs

* on one process over several devices: XLA host devices on a CPU
  (``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX starts), or GPUs;
* on several processes (one per host) after ``jax.distributed.initialize``: the mesh then
  spans every process's devices (``jax.devices()`` is global), each process computes its own
  block, and :func:`shard_over_series` gathers the results on every process (CPU
  collectives need ``jax.config.update("jax_cpu_collectives_implementation", "gloo")``
  before the backend starts). See ``docs/many-series.md`` for a cluster launch.

Every input is the whole panel on every process (a host array); the outputs come back as
host (NumPy) arrays holding all S series.

Example:
    >>> import jax.numpy as jnp
    >>> mesh = series_mesh()
    >>> row_sums = shard_over_series(lambda x: x.sum(axis=1), mesh)
    >>> print(row_sums(jnp.ones((2 * mesh.size, 3)))[:2])
    [3. 3.]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["SERIES_AXIS", "series_mesh", "shard_over_series"]

#: The name of the mesh axis that the series are split over.
SERIES_AXIS = "series"


def series_mesh(devices: Sequence[Any] | None = None) -> Mesh:
    """A one-axis mesh named ``"series"`` over ``devices`` (default: every device of every
    process, ``jax.devices()``).

    Example:
        >>> mesh = series_mesh()
        >>> print(mesh.axis_names, mesh.size == len(jax.devices()))
        ('series',) True
    """
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("series_mesh: devices must not be empty")
    return Mesh(np.array(devices), (SERIES_AXIS,))


def _global(value: Any, sharding: NamedSharding) -> jax.Array:
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _to_host(value: jax.Array) -> np.ndarray:
    if value.is_fully_addressable:
        return np.asarray(value)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(value, tiled=True))


def shard_over_series(fn: Callable[..., Any], mesh: Mesh) -> Callable[..., Any]:
    """``fn`` (a function of arrays whose leading axis is the series axis, vectorised over
    it, returning arrays with the same leading axis) run with the series split over
    ``mesh``'s devices: ``jax.jit(jax.shard_map(fn, ...))``.

    The returned function takes the whole panel as host or device arrays (the same on every
    process), places each device's block on it, and returns NumPy arrays of all S series
    (gathered from every process when the mesh spans several). S must be a multiple of
    the number of devices.

    Example:
        >>> import jax.numpy as jnp
        >>> mesh = series_mesh(jax.devices()[:1])
        >>> print(shard_over_series(lambda x: 2 * x, mesh)(jnp.arange(3.0)))
        [0. 2. 4.]
    """
    spec = PartitionSpec(SERIES_AXIS)
    sharding = NamedSharding(mesh, spec)
    # check_vma=False: scans inside models carry unvarying initial values (zeros), which the
    # varying-manual-axes check would reject; every value here is per series anyway
    mapped = jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec,
                                   check_vma=False))

    def run(*args: Any) -> Any:
        leaves = jax.tree_util.tree_leaves(args)
        for leaf in leaves:
            shape = np.shape(leaf)
            if not shape or shape[0] % mesh.size:
                raise ValueError(
                    f"shard_over_series: every input needs a leading series axis that is a "
                    f"multiple of the {mesh.size} device(s) of the mesh, got shape {shape}")
        placed = jax.tree_util.tree_map(lambda leaf: _global(leaf, sharding), args)
        return jax.tree_util.tree_map(_to_host, mapped(*placed))

    return run
