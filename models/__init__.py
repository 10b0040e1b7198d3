"""NumPyro models built on :mod:`patterns`.

* :mod:`models.arma` — conditional ARMA(p, q) by one ``lax.scan`` (posteriordb ``arma11``,
  ``arK``).
* :mod:`models.posteriordb` — the bundled posteriordb reference posteriors and which model
  reproduces each.
"""

from models.arma import (
    ConditionalARMA,
    arma_conditional_loglik,
    arma_model,
    arma_residuals,
    simulate_arma,
)

__all__ = [
    "ConditionalARMA",
    "arma_conditional_loglik",
    "arma_model",
    "arma_residuals",
    "simulate_arma",
]
