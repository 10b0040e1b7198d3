"""The hierarchical ARMA over a panel lives with its family, in
:mod:`models.arma.hierarchical` (the ARMA family's contract names it as its pooled model);
this module keeps the names where the many-series guide first put them.

Example:
    >>> from models.panel.hierarchical import POPULATION_SITES
    >>> print(POPULATION_SITES[:2])
    ('ar_loc', 'ar_scale')
"""

from models.arma.hierarchical import (
    HIERARCHICAL_ARMA,
    POPULATION_LAWS,
    POPULATION_SITES,
    hierarchical_arma_model,
    hierarchical_defaults,
)

__all__ = ["HIERARCHICAL_ARMA", "POPULATION_LAWS", "POPULATION_SITES",
           "hierarchical_arma_model", "hierarchical_defaults"]
