"""The JAX patterns NumPyro runs on: pure JAX, no NumPyro.

* :mod:`patterns.updates` — immutable ``.at[]`` updates (lag buffer, scatter-add, fill).
* :mod:`patterns.batching` — ``vmap`` with ``in_axes`` over many series.
* :mod:`patterns.scans` — ``lax.scan`` loops with a carry.
* :mod:`patterns.sequential` / :mod:`patterns.parallel` — the same recurrences by
  ``lax.scan`` and by ``lax.associative_scan``, under the same names.
"""

from patterns import parallel, sequential
from patterns.batching import map_over_series
from patterns.scans import cumulative_sum, exponential_smoothing, moving_average
from patterns.updates import fill_at, push_lag, scatter_add

__all__ = [
    "cumulative_sum",
    "exponential_smoothing",
    "fill_at",
    "map_over_series",
    "moving_average",
    "parallel",
    "push_lag",
    "scatter_add",
    "sequential",
]
