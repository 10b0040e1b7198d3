"""The ARMA(p, q) family.

One concept per module:

* :mod:`models.arma.checks` — argument checks shared by everything below.
* :mod:`models.arma.conditional` — the conditional (recursive-error) likelihood by one
  ``lax.scan``, its simulator and the ``ConditionalARMA`` distribution (the reference).
* :mod:`models.arma.conditional_fast` — the same density, fast: AR part vectorised, MA
  recursion in one scan that carries its gradient forward.
* :mod:`models.arma.exact` — the exact Gaussian likelihood by a Kalman filter (stationary
  start, NaN = missing; fast, sequential and parallel variants) and the state-space form.
* :mod:`models.arma.distribution` — the ``ARMA`` distribution of a whole series about its
  mean (exact or conditional law; ``sample`` and ``log_prob`` always agree).
* :mod:`models.arma.transforms` — partial autocorrelations <-> stationary AR / invertible
  MA, as NumPyro constraints, transforms and priors.
* :mod:`models.arma.forecast` — forecasts at fixed parameters.
* :mod:`models.arma.sarima` — seasonal ARIMA(p, d, q)(P, D, Q)_s with regressors: the
  state-space form with differencing in the state (statsmodels' ``SARIMAX`` layout), its
  exact likelihood, pointwise one-step densities, forecasts and the ``SARIMA``
  distribution.
* :mod:`models.arma.model` — the NumPyro models (priors and sites).
* :mod:`models.arma.family` — the family contract (:data:`FAMILY`).
"""

from models.arma.conditional import (
    ConditionalARMA,
    arma_conditional_loglik,
    arma_residuals,
    conditional_path,
    simulate_arma,
)
from models.arma.conditional_fast import (
    FastConditionalARMA,
    arma_fast_conditional_loglik,
    arma_fast_model,
    arma_fast_residuals,
    fast_model,
)
from models.arma.distribution import ARMA, simulate_stationary_arma
from models.arma.exact import arma_exact_loglik, arma_state_space, arma_system
from models.arma.family import FAMILY
from models.arma.forecast import ARMAForecast, arma_forecast, arma_forecast_distribution
from models.arma.model import arma_exact_model, arma_model, sample_coefficients
from models.arma.sarima import (
    SARIMA,
    SARIMASpec,
    expand_seasonal,
    sarima_forecast,
    sarima_loglik,
    sarima_state_space,
)
from models.arma.transforms import (
    PACFToInvertibleMA,
    PACFToStationaryAR,
    coefficients_to_pacf,
    invertible_ma,
    invertible_ma_prior,
    pacf_to_coefficients,
    stationary_ar,
    stationary_ar_prior,
)

__all__ = [
    "ARMA",
    "ARMAForecast",
    "ConditionalARMA",
    "FAMILY",
    "FastConditionalARMA",
    "PACFToInvertibleMA",
    "PACFToStationaryAR",
    "SARIMA",
    "SARIMASpec",
    "arma_conditional_loglik",
    "arma_exact_loglik",
    "arma_exact_model",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "arma_fast_residuals",
    "arma_forecast",
    "arma_forecast_distribution",
    "arma_model",
    "arma_residuals",
    "arma_state_space",
    "arma_system",
    "coefficients_to_pacf",
    "conditional_path",
    "expand_seasonal",
    "fast_model",
    "invertible_ma",
    "invertible_ma_prior",
    "pacf_to_coefficients",
    "sample_coefficients",
    "sarima_forecast",
    "sarima_loglik",
    "sarima_state_space",
    "simulate_arma",
    "simulate_stationary_arma",
    "stationary_ar",
    "stationary_ar_prior",
]
