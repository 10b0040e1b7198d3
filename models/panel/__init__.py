"""Many series at once: S independent posteriors in one compiled program, sharded over
devices and processes.

One concept per module:

* :mod:`models.panel.independent` — NumPyro's functional NUTS (``hmc`` +
  ``initialize_model``) under ``vmap`` over chains and series: every series keeps its own
  step size and mass matrix (:func:`fit_independent`; :func:`independent_sampler`, the
  same program compiled once and reused on other series), and the vectorised potential
  (:func:`panel_potential`).
* :mod:`models.panel.diagnostics` — R-hat, ESS, divergences and E-BFMI per series, and
  which series fail the gate.
* :mod:`models.panel.sharding` — the series axis split over a device ``Mesh`` with
  ``shard_map``, on one process or many (``jax.distributed``).
"""

from models.panel.diagnostics import SeriesDiagnostics, failing_series, series_diagnostics
from models.panel.independent import (
    NUTSSettings,
    PanelFit,
    PanelModel,
    fit_independent,
    independent_sampler,
    panel_model,
    panel_potential,
    phase_orders,
    predict_independent,
    series_keys,
)
from models.panel.sharding import SERIES_AXIS, series_mesh, shard_over_series

__all__ = [
    "NUTSSettings",
    "PanelFit",
    "PanelModel",
    "SERIES_AXIS",
    "SeriesDiagnostics",
    "failing_series",
    "fit_independent",
    "independent_sampler",
    "panel_model",
    "panel_potential",
    "phase_orders",
    "predict_independent",
    "series_diagnostics",
    "series_keys",
    "series_mesh",
    "shard_over_series",
]
