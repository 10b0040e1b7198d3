"""NumPyro models built on :mod:`patterns`.

* :mod:`models.arma` — conditional ARMA(p, q) by one ``lax.scan`` (posteriordb ``arma11``,
  ``arK``).
* :mod:`models.arma_fast` — the same likelihood, faster: AR part vectorised, MA recursion
  in one scan that carries its gradient forward (``jax.custom_jvp``; ``arma_fast_model``).
* :mod:`models.arma_statespace` — exact ARMA(p, q) log-likelihood by a Kalman filter
  (stationary start, NaN = missing; fast, sequential and parallel variants).
* :mod:`models.transforms` — partial autocorrelations <-> stationary AR / invertible MA, as
  NumPyro constraints, transforms and priors.
* :mod:`models.arma_exact` — the ``ARMA`` distribution (exact or conditional) and
  ``arma_exact_model``; :mod:`models.arma_forecast` — forecasts at fixed parameters.
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
from models.arma_exact import ARMA, arma_exact_model, simulate_stationary_arma
from models.arma_fast import (
    FastConditionalARMA,
    arma_fast_conditional_loglik,
    arma_fast_model,
)
from models.arma_forecast import ARMAForecast, arma_forecast, arma_forecast_distribution
from models.arma_statespace import arma_exact_loglik, arma_state_space
from models.transforms import (
    PACFToInvertibleMA,
    PACFToStationaryAR,
    invertible_ma,
    invertible_ma_prior,
    stationary_ar,
    stationary_ar_prior,
)

__all__ = [
    "ARMA",
    "ARMAForecast",
    "PACFToInvertibleMA",
    "PACFToStationaryAR",
    "arma_exact_loglik",
    "arma_exact_model",
    "arma_forecast",
    "arma_forecast_distribution",
    "arma_state_space",
    "invertible_ma",
    "invertible_ma_prior",
    "simulate_stationary_arma",
    "stationary_ar",
    "stationary_ar_prior",
    "FastConditionalARMA",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "ConditionalARMA",
    "arma_conditional_loglik",
    "arma_model",
    "arma_residuals",
    "simulate_arma",
]
