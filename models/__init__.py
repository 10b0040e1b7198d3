"""NumPyro models built on :mod:`patterns`.

* :mod:`models.arma` — conditional ARMA(p, q) by one ``lax.scan`` (posteriordb ``arma11``,
  ``arK``).
* :mod:`models.arma_fast` — the same likelihood, faster: AR part vectorised, MA recursion
  in an unrolled scan with a reverse-recurrence custom VJP (``arma_fast_model``).
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
from models.arma_fast import (
    FastConditionalARMA,
    arma_fast_conditional_loglik,
    arma_fast_model,
)

__all__ = [
    "FastConditionalARMA",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "ConditionalARMA",
    "arma_conditional_loglik",
    "arma_model",
    "arma_residuals",
    "simulate_arma",
]
