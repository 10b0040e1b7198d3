"""The renewal-equation family: R_t from incidence (Fraser 2007; Cori et al. 2013).

One concept per module:

* :mod:`models.renewal.checks` -- counts, generation interval, delay and completeness checks.
* :mod:`models.renewal.model` -- the NumPyro models (latent renewal with reporting;
  EpiEstim's Poisson model and its closed-form posterior).
* :mod:`models.renewal.family` -- the family contract (:data:`FAMILY`).

The kernels (renewal scan, infection pressure, delay convolution, EpiEstim's interval
discretisation) are generic and live in :mod:`patterns.renewal`.
"""

from models.renewal.checks import (
    check_completeness,
    check_delay,
    count_problem,
    resolve_interval,
)
from models.renewal.family import FAMILY
from models.renewal.model import (
    EpiEstimPosterior,
    IntegratedRandomWalk,
    PoissonRenewal,
    epiestim_model,
    epiestim_posterior,
    gamma_shape_rate,
    init_to_guess,
    interval_mean,
    level_guess,
    renewal_model,
    seed_location,
    window_index,
)

__all__ = [
    "EpiEstimPosterior",
    "FAMILY",
    "IntegratedRandomWalk",
    "PoissonRenewal",
    "check_completeness",
    "check_delay",
    "count_problem",
    "epiestim_model",
    "epiestim_posterior",
    "gamma_shape_rate",
    "init_to_guess",
    "interval_mean",
    "level_guess",
    "renewal_model",
    "resolve_interval",
    "seed_location",
    "window_index",
]
