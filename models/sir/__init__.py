"""The SIR family: the boarding-school model of the Stan case study (Grinsztajn et al.
2021), population and initial state as data.

Modules:

* :mod:`models.sir.ode` -- the SIR equations and their RK4 solution (:mod:`patterns.ode`).
* :mod:`models.sir.counts` -- the negative binomial of the counts (also the renewal
  family's), scored by log-gamma terms, or by sums of logs when the counts are data.
* :mod:`models.sir.priors` -- the case study's three priors as one vector site.
* :mod:`models.sir.checks` -- what makes a count series or a starting state unusable.
* :mod:`models.sir.model` -- the NumPyro model :func:`sir_model`.
* :mod:`models.sir.family` -- the contract (:data:`FAMILY`), the bundled series and N.
"""

from models.sir.checks import initial_state_problem, series_problem
from models.sir.model import sir_model
from models.sir.ode import SUBSTEPS, sir_rhs, sir_solution

__all__ = [
    "SUBSTEPS",
    "initial_state_problem",
    "series_problem",
    "sir_model",
    "sir_rhs",
    "sir_solution",
]
