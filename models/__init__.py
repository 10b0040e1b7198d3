"""NumPyro models built on :mod:`patterns`, one subpackage per model family.

* :mod:`models.family` — the contract every family fills (:class:`~models.family.ModelFamily`).
* :mod:`models.registry` — the families by name; the fit command and the validator read it.
* :mod:`models.arma` — ARMA(p, q): conditional likelihood (reference scan and fast path),
  exact likelihood by a Kalman filter, the ``ARMA`` distribution, stationary/invertible
  priors, forecasts.
* :mod:`models.posteriordb` — the bundled posteriordb reference posteriors.

The ARMA names below are re-exported here so ``from models import arma_model`` keeps
working.
"""

from models.arma import (
    ARMA,
    ARMAForecast,
    ConditionalARMA,
    FastConditionalARMA,
    PACFToInvertibleMA,
    PACFToStationaryAR,
    arma_conditional_loglik,
    arma_exact_loglik,
    arma_exact_model,
    arma_fast_conditional_loglik,
    arma_fast_model,
    arma_forecast,
    arma_forecast_distribution,
    arma_model,
    arma_residuals,
    arma_state_space,
    invertible_ma,
    invertible_ma_prior,
    simulate_arma,
    simulate_stationary_arma,
    stationary_ar,
    stationary_ar_prior,
)
from models.family import ModelFamily
from models.registry import FAMILIES

__all__ = [
    "ARMA",
    "ARMAForecast",
    "ConditionalARMA",
    "FAMILIES",
    "FastConditionalARMA",
    "ModelFamily",
    "PACFToInvertibleMA",
    "PACFToStationaryAR",
    "arma_conditional_loglik",
    "arma_exact_loglik",
    "arma_exact_model",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "arma_forecast",
    "arma_forecast_distribution",
    "arma_model",
    "arma_residuals",
    "arma_state_space",
    "invertible_ma",
    "invertible_ma_prior",
    "simulate_arma",
    "simulate_stationary_arma",
    "stationary_ar",
    "stationary_ar_prior",
]
