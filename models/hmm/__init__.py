"""Hidden Markov models with Gaussian emissions, on the family contract.

Modules:

* :mod:`models.hmm.distribution` — :class:`GaussianHMM` (a whole series, states summed out
  by the forward algorithm of :mod:`patterns.hmm_sequential` / :mod:`patterns.hmm_parallel`)
  :class:`OrderedNormal` (ordered means: no label switching) and :class:`UnorderedNormal`
  (the same means in any order, which the model samples and sorts);
* :mod:`models.hmm.model` — :func:`gaussian_hmm_model`, the NumPyro model;
* :mod:`models.hmm.generated` — per-draw generated quantities with an explicit key:
  forward-filtering backward-sampling paths, Viterbi paths, state probabilities;
* :mod:`models.hmm.family` — the contract (``scripts/fit.py hmm --states K``).
"""

from models.hmm.distribution import (
    GaussianHMM,
    OrderedNormal,
    UnorderedNormal,
    emission_log_likelihoods,
)
from models.hmm.generated import posterior_state_paths
from models.hmm.model import INITIAL_CHOICES, gaussian_hmm_model, hmm_parameters

__all__ = [
    "INITIAL_CHOICES",
    "GaussianHMM",
    "OrderedNormal",
    "UnorderedNormal",
    "emission_log_likelihoods",
    "gaussian_hmm_model",
    "hmm_parameters",
    "posterior_state_paths",
]
