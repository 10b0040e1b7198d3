"""The JAX patterns NumPyro runs on: pure JAX, no NumPyro.

* :mod:`patterns.updates` — immutable ``.at[]`` updates (lag buffer, scatter-add, fill).
* :mod:`patterns.batching` — ``vmap`` with ``in_axes`` over many series.
* :mod:`patterns.scans` — ``lax.scan`` loops with a carry.
* :mod:`patterns.sequential` / :mod:`patterns.parallel` — the same recurrences by
  ``lax.scan`` and by ``lax.associative_scan``, under the same names.
* :mod:`patterns.hmm` — hidden Markov models: result containers, checks, log-space matrix
  products; the kernel twins are :mod:`patterns.hmm_sequential` / :mod:`patterns.hmm_parallel`
  (``hmm_filter``, ``hmm_smoother``, ``hmm_viterbi``, ``hmm_backward_sample``), re-exported
  by :mod:`patterns.sequential` / :mod:`patterns.parallel`.
* :mod:`patterns.linear_gaussian` — the state-space containers the Kalman filter twins
  share, the missing-value mask, the discrete Lyapunov solve.
* :mod:`patterns.ma_filter` — the order-q moving-average filter inverted by one scan.
* :mod:`patterns.gaussian` — Gaussian log-densities (sum of squares, masked multivariate).
* :mod:`patterns.branches` — ``lax.cond`` differentiated inside the branch that runs.
* :mod:`patterns.ode` — ODEs by fixed-step Runge–Kutta 4 in one ``lax.scan``.

Kernels take arrays, never model parameters by name: a model family turns its parameters
into the arrays these functions want.
"""

from patterns import parallel, sequential
from patterns.batching import map_over_series
from patterns.branches import cond_with_branch_gradients
from patterns.gaussian import masked_mvn_logpdf, normal_loglik_from_sum_of_squares
from patterns.hmm import HMMFilterResult, HMMPosterior
from patterns.linear_gaussian import (
    KalmanFilterResult,
    LinearGaussianSSM,
    mask_missing,
    solve_discrete_lyapunov,
)
from patterns.ma_filter import inverse_ma_filter
from patterns.ode import rk4_solve, rk4_step
from patterns.scans import cumulative_sum, exponential_smoothing, moving_average
from patterns.updates import fill_at, push_lag, scatter_add

__all__ = [
    "HMMFilterResult",
    "HMMPosterior",
    "KalmanFilterResult",
    "LinearGaussianSSM",
    "cond_with_branch_gradients",
    "cumulative_sum",
    "exponential_smoothing",
    "fill_at",
    "inverse_ma_filter",
    "map_over_series",
    "mask_missing",
    "masked_mvn_logpdf",
    "moving_average",
    "normal_loglik_from_sum_of_squares",
    "parallel",
    "push_lag",
    "rk4_solve",
    "rk4_step",
    "scatter_add",
    "sequential",
    "solve_discrete_lyapunov",
]
