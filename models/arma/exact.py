"""Exact Gaussian log-likelihood of an ARMA(p, q) series, by a Kalman filter.

The model, parameterised as statsmodels' ``ARIMA(order=(p, 0, q), trend="c")``::

    y_t - mu = sum_i phi_i (y_{t-i} - mu) + eps_t + sum_j theta_j eps_{t-j},  eps_t ~ N(0, sigma^2)

``mu`` is the process mean (statsmodels' ``const``), not an intercept.

State-space form (Harvey), state size r = max(p, q + 1)::

    y_t - mu = alpha_t[0]
    alpha_{t+1} = Tm alpha_t + R eps_{t+1},  Tm = [phi | shift],  R = (1, theta_1, .., theta_{r-1})

and alpha_1 starts from the stationary distribution N(0, P0), P0 = Tm P0 Tm' + sigma^2 R R',
solved exactly as a linear system (vec / Kronecker form), not by iterating.

Several ways to compute it, all giving the same number:

* ``"sequential"`` / ``"parallel"``: the generic filters of :mod:`patterns.sequential` and
  :mod:`patterns.parallel` on the state-space form.
* ``"ao"`` (:mod:`models.arma.exact_ao`), no Kalman filter: the conditional residual
  recursion with the missing values set to 0 and a zero presample, corrected by a
  (p + q + m) square Gaussian integral over the presample and the m missing values (the
  additive-outlier route). ``"fast"`` (the default) takes it for a concrete series with
  gaps when m^3 <= :data:`AO_WORK_RATIO` x (position of the last gap + 1), where it was
  measured faster than the one-pass route (1.4 to 7x, REPORT.md section 4); otherwise
  ``"onepass"``.
* ``"onepass"`` (:mod:`models.arma.exact_onepass`): the covariance recursion
  (P_t, F_t, K_t) does not depend on y, only on the parameters and on *where* y is
  missing, and away from gaps it sits at its limit; for an invertible MA part that limit
  is known in closed form: P = sigma^2 R R', F = sigma^2, K = R, where the filter is the
  conditional residual recursion. The filter runs as one forward ``while_loop`` (the
  head) from the start until P is within ``tol * sigma^2`` of the limit after the last
  gap (to the end of the series when it never gets there: MA roots near or on the unit
  circle, a non-invertible MA); observed steps already at the limit are cheap steps, gaps
  and the steps after them full Kalman steps. The loop carries the forward sensitivities
  of its state w.r.t. (mu, phi, theta) (``jax.custom_jvp``), so nothing is stored for a
  backward pass. After the head the filter is the conditional residual recursion started
  from the head's state, vectorised as :mod:`models.arma.conditional_fast` does it (AR
  part by shifts, MA recursion by :func:`patterns.inverse_ma_filter`), masked before the
  head's dynamic end. Convergence is checked at every step, never assumed.

  One program for every gap pattern and parameter value: nothing in it is unrolled per
  gap, per head length or per window, and the gap positions are data, so the compile
  time does not grow with the number of gaps (it replaced a ``lax.switch`` over six head
  lengths and a clustered gap route with two windows and a full-filter fallback, whose
  NUTS program compiled 2 to 2.5x longer; ``docs/arma_exact.md``).
"""

from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.typing import ArrayLike

from models.arma.checks import check_arma_args
from models.arma.exact_ao import ao_loglik
from models.arma.exact_onepass import arma_system, onepass_loglik, steady_tail
from patterns import parallel, sequential
from patterns.gaussian import LOG_2PI
from patterns.linear_gaussian import LinearGaussianSSM, solve_discrete_lyapunov

__all__ = [
    "arma_exact_loglik",
    "arma_filter_state",
    "arma_pointwise_loglik",
    "arma_state_space",
    "arma_system",
]

FilterMethod = Literal["fast", "ao", "onepass", "sequential", "parallel"]

#: ``method="fast"`` takes the additive-outlier route (:mod:`models.arma.exact_ao`) when
#: the m missing values satisfy m^3 <= AO_WORK_RATIO x (position of the last gap + 1):
#: its dense (p + q + m) square algebra grows like m^3, the one-pass route's head runs
#: to the last gap and on until the covariance settles. Measured crossovers (ARMA(1, 1),
#: value + gradient, last value missing, REPORT.md section 4): m about 165 at T = 2000,
#: 300 to 450 at T = 20000.
AO_WORK_RATIO = 2000


def arma_state_space(
    mu: ArrayLike, phi: ArrayLike, theta: ArrayLike, sigma: ArrayLike
) -> LinearGaussianSSM:
    """ARMA(p, q) as a :class:`~patterns.linear_gaussian.LinearGaussianSSM`, stationary start.

    Args:
        mu: process mean, scalar.
        phi: AR coefficients, shape (p,); must be stationary for the start to exist.
        theta: MA coefficients, shape (q,).
        sigma: innovation standard deviation, scalar.

    Returns:
        The model with state size r = max(p, q + 1) and a scalar observation (m = 1) with
        zero observation noise.

    Example:
        >>> import jax.numpy as jnp
        >>> ssm = arma_state_space(0.0, jnp.array([0.5]), jnp.zeros(0), 1.0)
        >>> print(ssm.initial_cov)  # 1 / (1 - 0.5^2)
        [[1.3333334]]
    """
    _, mu, phi, theta, sigma = check_arma_args(
        jnp.zeros(1), mu, phi, theta, sigma, "arma_state_space"
    )
    transition, loading = arma_system(phi, theta)
    r = transition.shape[0]
    noise_cov = sigma**2 * jnp.outer(loading, loading)
    dtype = transition.dtype
    return LinearGaussianSSM(
        initial_mean=jnp.zeros(r, dtype),
        initial_cov=solve_discrete_lyapunov(transition, noise_cov),
        transition_matrix=transition,
        transition_cov=noise_cov,
        observation_matrix=jnp.zeros((1, r), dtype).at[0, 0].set(1.0),
        observation_offset=mu[None],
        observation_cov=jnp.zeros((1, 1), dtype),
    )


def ma_scan_unroll(q: int) -> int:
    """Steps per loop iteration of the steady-state tail's MA scan (and of the
    additive-outlier route's MA scans). Value + gradient of the
    exact likelihood, measured 2026-12-01 (machine under load 8-25, one process): q <= 1,
    unroll 8 as fast as 1 (ARMA(1,1) T = 2000: 298 vs 229 us; 20000: 1098 vs 1066); q >= 2,
    unroll 8 is 2.5-6.5x unroll 4 (ARMA(1,2) T = 2000: 1403 vs 594 us, T = 20000: 7371 vs
    1125 us; ARMA(2,2) T = 2000: 1546 vs 619 us), the slowdown the conditional path's
    per-order table avoids too."""
    return 8 if q <= 1 else 4


def _covariance_step(transition: Array, noise_cov: Array, P: Array, observed: Array) -> Array:
    """Predicted covariance P_{t+1} from P_t; the update only happens where y_t is observed."""
    reduction = jnp.outer(P[:, 0], P[0, :]) / P[0, 0]
    P_filtered = P - jnp.where(observed, reduction, 0.0)
    P_next = transition @ P_filtered @ transition.T + noise_cov
    return 0.5 * (P_next + P_next.T)


def steps_to_steady_state(
    transition: Array, noise_cov: Array, P0: Array, observed: Array, tol: float,
    give_up_after: int | None = None,
) -> Array:
    """First t after the last gap at which P_t is within ``tol * sigma^2`` of sigma^2 R R'.

    Forward only (a ``while_loop`` on values with the gradient stopped): it picks how far
    the differentiable covariance scan must run, never what it computes. Returns T when the
    recursion does not settle within the series, and also, without running, when the last
    gap or the settling lies beyond ``give_up_after`` steps (static; ``None``: never give
    up): the caller then filters the whole series anyway, and the probe would cost as much.
    """
    transition, noise_cov, P0 = (lax.stop_gradient(a) for a in (transition, noise_cov, P0))
    num_steps = observed.shape[0]
    limit = num_steps if give_up_after is None else min(give_up_after, num_steps)
    sigma2 = noise_cov[0, 0]
    # Index just after the last missing value (0 if none): the limit only holds past it.
    positions = jnp.arange(1, num_steps + 1)
    after_last_gap = jnp.max(jnp.where(observed, 0, positions))

    def is_settled(t, P):
        return (t >= after_last_gap) & (jnp.max(jnp.abs(P - noise_cov)) <= tol * sigma2)

    def not_settled(state):
        t, P = state
        return (t < limit) & (after_last_gap <= limit) & ~is_settled(t, P)

    def advance(state):
        t, P = state
        return t + 1, _covariance_step(transition, noise_cov, P, observed[t])

    t, P = lax.while_loop(not_settled, advance, (jnp.zeros((), positions.dtype), P0))
    return jnp.where(is_settled(t, P), t, num_steps)


def _forward_filter(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array, tol: float,
                    output: str):
    """The fast path's head and tail without forward sensitivities, for quantities that are
    not differentiated (``output`` ``"state"`` or ``"pointwise"``): the covariance
    recursion runs in one ``while_loop`` exactly as long as it needs (until P is within
    ``tol`` of its limit and past the last gap), then the steady-state tail is the inverse
    MA filter over the whole series with everything before the head's end masked to zero.
    One loop and one scan to compile, whatever T: this is what forecasts and the pointwise
    site compile per draw.
    """
    transition, loading = arma_system(phi, theta)
    noise_cov = sigma**2 * jnp.outer(loading, loading)
    P0 = solve_discrete_lyapunov(transition, noise_cov)
    observed = ~jnp.isnan(y)
    deviations = jnp.where(observed, y - mu, 0.0)
    num_steps, r = y.shape[0], transition.shape[0]
    phi_padded = transition[:, 0]
    sigma2 = noise_cov[0, 0]
    positions = jnp.arange(num_steps)
    after_last_gap = jnp.max(jnp.where(observed, 0, positions + 1))

    def not_settled(carry):
        t, _, P, _ = carry
        settled = (t >= after_last_gap) & (jnp.max(jnp.abs(P - noise_cov)) <= tol * sigma2)
        return (t < num_steps) & ~settled

    def head_step(carry):
        t, a, P, terms = carry
        deviation, observed_t = deviations[t], observed[t]
        F = P[0, 0]
        innovation = deviation - a[0]
        term = jnp.where(observed_t, -0.5 * (LOG_2PI + jnp.log(F) + innovation**2 / F), 0.0)
        a_filtered = a + jnp.where(observed_t, P[:, 0] / F * innovation, 0.0)
        a_next = phi_padded * a_filtered[0] + jnp.append(a_filtered[1:], 0.0)
        return (t + 1, a_next, _covariance_step(transition, noise_cov, P, observed_t),
                terms.at[t].set(term))

    start = (jnp.zeros((), positions.dtype), jnp.zeros(r, y.dtype), P0,
             jnp.zeros(num_steps, y.dtype))
    length, a, P, head_terms = lax.while_loop(not_settled, head_step, start)

    # The tail from t = L = length (models.arma.exact_onepass.steady_tail).
    in_tail, innovations = steady_tail(deviations, phi, theta, length, a,
                                       ma_scan_unroll(theta.shape[0]))
    tail = jnp.where(in_tail, deviations, 0.0)
    if output == "pointwise":
        tail_terms = -0.5 * (LOG_2PI + jnp.log(sigma2) + innovations**2 / sigma2)
        return jnp.where(in_tail, tail_terms, head_terms)
    # Final state: if the head is the whole series, its own; else from the tail's end.
    # Only the last r values are read, so a tail shorter than r reaches into the head's
    # masked zeros; the head's state covers those lags (see _steady_state_after).
    tail_steps = num_steps - length
    theta_padded = jnp.append(loading[1:], 0.0)
    entries = []
    for i in range(r):
        entry = jnp.zeros((), y.dtype)
        for k in range(r - i):
            use = k < tail_steps  # lag k is inside the tail
            index = max(num_steps - 1 - k, 0)
            entry = entry + jnp.where(
                use, phi_padded[i + k] * tail[index] + theta_padded[i + k] * innovations[index],
                0.0)
        # a_{T+1-n}[i+n] with n = min(r - i, tail_steps): the head's state, when the tail is
        # shorter than r - i
        n = jnp.minimum(r - i, tail_steps)
        head_part = jnp.where(i + n < r, a[jnp.clip(i + n, 0, r - 1)], 0.0)
        entries.append(entry + head_part)
    steady = jnp.stack(entries)
    whole = length >= num_steps
    return jnp.where(whole, a, steady), jnp.where(whole, P, noise_cov)


def _ao_gaps(y: ArrayLike, method: str) -> int | None:
    """The number of gaps when the additive-outlier route runs, else None: ``method="ao"``
    or ``"fast"`` with few enough gaps (:data:`AO_WORK_RATIO`; no gaps: the one-pass route
    is as fast and cheaper to compile), and only for a concrete series (NumPy or a concrete
    array; a traced series' gap count is unknown at trace time)."""
    if method not in ("fast", "ao") or isinstance(y, jax.core.Tracer):
        return None
    gaps = np.flatnonzero(np.isnan(np.asarray(y)))
    if method == "ao" or (gaps.size > 0 and gaps.size**3 <= AO_WORK_RATIO * (gaps[-1] + 1)):
        return int(gaps.size)
    return None


def _default_tol(dtype) -> float:
    return 1e-12 if dtype == jnp.float64 else 1e-6


def arma_filter_state(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    tol: float | None = None,
) -> tuple[Array, Array]:
    """The filter's predicted state of step T + 1 given y_1..y_T: mean a (r,) and
    covariance P (r, r) of alpha_{T+1}, by the fast path (what a forecast starts from).

    After a steady-state tail the state comes from the tail's last r values and
    innovations, and P is the limit sigma^2 R R' (within ``tol``); no second pass, no
    covariance recursion over the series.

    Args:
        y, mu, phi, theta, sigma, tol: as in :func:`arma_exact_loglik`.

    Returns:
        (a, P), shapes (r,) and (r, r), r = max(p, q + 1).

    Example:
        AR(1): the state is the one-step prediction mu + phi (y_T - mu) minus mu, with
        variance sigma^2.

        >>> import jax.numpy as jnp
        >>> a, P = arma_filter_state(jnp.array([0.0, 2.0]), 0.0, jnp.array([0.5]),
        ...                          jnp.zeros(0), 1.0)
        >>> print(a, P)
        [1.] [[1.]]
    """
    y, mu, phi, theta, sigma = check_arma_args(y, mu, phi, theta, sigma, "arma_filter_state")
    return _forward_filter(y, mu, phi, theta, sigma,
                           _default_tol(y.dtype) if tol is None else tol, "state")


def arma_pointwise_loglik(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    tol: float | None = None,
) -> Array:
    """One-step-ahead log-densities log p(y_t | y_<t), shape (T,), 0 at gaps, by the fast
    path: they sum to :func:`arma_exact_loglik`.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0.3, jnp.nan, -1.2])
        >>> terms = arma_pointwise_loglik(y, 0.0, jnp.array([0.5]), jnp.zeros(0), 1.0)
        >>> print(terms.shape, bool(terms[1] == 0.0))
        (3,) True
    """
    y, mu, phi, theta, sigma = check_arma_args(y, mu, phi, theta, sigma,
                                               "arma_pointwise_loglik")
    return _forward_filter(y, mu, phi, theta, sigma,
                           _default_tol(y.dtype) if tol is None else tol, "pointwise")


def arma_exact_loglik(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    method: FilterMethod = "fast",
    tol: float | None = None,
) -> Array:
    """Exact Gaussian log-likelihood of an ARMA(p, q) series (statsmodels' ``loglike``).

    Missing values (NaN in ``y``) are skipped: the result is the log-density of the
    observed values. Equal to ``statsmodels.tsa.arima.model.ARIMA(y, order=(p, 0, q),
    trend="c").loglike([mu, *phi, *theta, sigma**2])``. Run it in float64
    (``jax.enable_x64``) wherever precision matters.

    Args:
        y: series, shape (T,), NaN where missing.
        mu: process mean, scalar.
        phi: AR coefficients, shape (p,), stationary.
        theta: MA coefficients, shape (q,).
        sigma: innovation standard deviation, scalar.
        method: ``"fast"`` (the default: ``"ao"`` for a concrete series with a few missing values,
            :data:`AO_WORK_RATIO`, else ``"onepass"``), ``"ao"`` (the
            conditional recursion plus a Gaussian correction for the presample and missing
            values, :mod:`models.arma.exact_ao`; float64), ``"onepass"`` (covariance
            recursion held at its checked limit, see the module docstring),
            ``"sequential"`` or ``"parallel"`` (the full generic filters).
        tol: the fast path's convergence test, ``max |P_t - sigma^2 R R'| <= tol sigma^2``;
            default 1e-12 in float64, 1e-6 in float32 (rounding would never let it pass).

    Returns:
        Log-likelihood, scalar.

    Example:
        White noise: the log-density of independent N(mu, sigma^2) values.

        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> y = jnp.array([0.3, jnp.nan, -1.2])
        >>> ll = arma_exact_loglik(y, 0.1, jnp.zeros(0), jnp.zeros(0), 2.0)
        >>> print(jnp.allclose(ll, norm.logpdf(y[jnp.array([0, 2])], 0.1, 2.0).sum()))
        True
    """
    if method not in ("fast", "ao", "onepass", "sequential", "parallel"):
        raise ValueError(
            "arma_exact_loglik: method must be 'fast', 'ao', 'onepass', 'sequential' or "
            f"'parallel', got {method!r}"
        )
    # before the check: inside a jit trace, jnp.asarray turns NumPy data into a tracer
    num_missing = _ao_gaps(y, method)
    y, mu, phi, theta, sigma = check_arma_args(y, mu, phi, theta, sigma, "arma_exact_loglik")
    tol = _default_tol(y.dtype) if tol is None else tol
    return _exact_loglik(y, mu, phi, theta, sigma, num_missing=num_missing, method=method,
                         tol=tol)


@partial(jax.jit, static_argnames=("num_missing", "method", "tol"))
def _exact_loglik(y, mu, phi, theta, sigma, *, num_missing, method, tol):
    """:func:`arma_exact_loglik` after its checks, as one program. Inside a larger jit
    (NumPyro's sampler) it is inlined; called op by op it is compiled once per shape and
    route instead of primitive by primitive. NumPyro starts a single chain that way (its
    initial-point search runs the log-density and its gradient eagerly): a one-chain
    ARMA(1, 1) fit compiled 683 XLA programs before sampling with the likelihood op by op,
    367 with it jitted (REPORT.md section 4)."""
    unroll = ma_scan_unroll(theta.shape[0])
    if num_missing is not None:
        return ao_loglik(y, mu, phi, theta, sigma, num_missing, tol, unroll=unroll)
    if method in ("fast", "ao", "onepass"):
        return onepass_loglik(y, mu, phi, theta, sigma, tol, unroll=unroll)
    ssm = arma_state_space(mu, phi, theta, sigma)
    module = sequential if method == "sequential" else parallel
    return module.kalman_filter(ssm, y[:, None]).log_likelihood

