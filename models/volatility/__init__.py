"""The volatility families: GARCH(p, q) and stochastic volatility.

* :mod:`models.volatility.garch` — the GARCH(p, q) variance recursion (one scan; GARCH(1, 1)
  as a linear recurrence), its log-likelihood (normal or standardised Student-t), ``arch``'s
  backcast and variance forecasts, as pure functions of arrays.
"""

from models.volatility.garch import (
    arch_backcast,
    garch_forecast_variance,
    garch_loglik,
    garch_variances,
    innovation_logpdf,
)

__all__ = [
    "arch_backcast",
    "garch_forecast_variance",
    "garch_loglik",
    "garch_variances",
    "innovation_logpdf",
]
