"""Every model family, by its command-line name: the one list the fit command, the
posteriordb validator and the benchmarks read.

Adding a family is one line here (``CONTRIBUTING.md``).

Example:
    >>> print(sorted(FAMILIES))
    ['arma', 'garch', 'hmm', 'renewal', 'sir', 'sv']
    >>> print(sorted(posterior_families()))
    ['arK-arK', 'arma-arma11', 'garch-garch11', 'hmm_example-hmm_example']
"""

from models.arma.family import FAMILY as ARMA_FAMILY
from models.family import ModelFamily
from models.hmm.family import FAMILY as HMM_FAMILY
from models.renewal.family import FAMILY as RENEWAL_FAMILY
from models.sir.family import FAMILY as SIR_FAMILY
from models.volatility.family import GARCH_FAMILY, SV_FAMILY

__all__ = ["FAMILIES", "posterior_families"]

FAMILIES: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        ARMA_FAMILY,
        SIR_FAMILY,
        RENEWAL_FAMILY,
        GARCH_FAMILY,
        SV_FAMILY,
        HMM_FAMILY,
    )
}


def posterior_families() -> dict[str, ModelFamily]:
    """posteriordb posterior name -> the family that reproduces it."""
    return {name: family for family in FAMILIES.values() for name in family.posteriors}
