"""The volatility families: GARCH(p, q) (``garch``) and stochastic volatility (``sv``).

One concept per module:

* :mod:`models.volatility.garch` — the GARCH(p, q) variance recursion (GARCH(1, 1) as a
  linear recurrence, other orders one ``lax.scan``), its log-likelihood (normal or
  standardised Student-t), ``arch``'s backcast and variance forecasts: pure functions.
* :mod:`models.volatility.distribution` — the ``GARCH`` distribution of a whole series
  (``sample`` and ``log_prob`` run one recursion).
* :mod:`models.volatility.model` — the GARCH NumPyro model (stationarity and positivity
  by a Dirichlet simplex).
* :mod:`models.volatility.sv` — stochastic volatility: non-centred (default, whitened by
  the returns' information) and centred models, the ``StationaryAR1`` latent and its
  whitened non-centring (``WhitenedAR1``, ``ar1_whitening``).
* :mod:`models.volatility.family` — the contracts (:data:`GARCH_FAMILY`,
  :data:`SV_FAMILY`).
"""

from models.volatility.distribution import GARCH, garch_path, standardised_shocks
from models.volatility.family import GARCH_FAMILY, SV_FAMILY
from models.volatility.garch import (
    arch_backcast,
    garch_forecast_variance,
    garch_loglik,
    garch_variances,
    innovation_logpdf,
)
from models.volatility.model import garch_data_priors, garch_model, nu_prior
from models.volatility.sv import (
    StationaryAR1,
    WhitenedAR1,
    ar1_from_shocks,
    ar1_from_white,
    ar1_to_white,
    ar1_whitening,
    sv_centred_model,
    sv_model,
)

__all__ = [
    "GARCH",
    "GARCH_FAMILY",
    "SV_FAMILY",
    "StationaryAR1",
    "WhitenedAR1",
    "ar1_from_shocks",
    "ar1_from_white",
    "ar1_to_white",
    "ar1_whitening",
    "arch_backcast",
    "garch_data_priors",
    "garch_forecast_variance",
    "garch_loglik",
    "garch_model",
    "garch_path",
    "garch_variances",
    "innovation_logpdf",
    "nu_prior",
    "standardised_shocks",
    "sv_centred_model",
    "sv_model",
]
