"""Exact Gaussian log-likelihood of an ARMA(p, q) series, by a Kalman filter.

The model, parameterised as statsmodels' ``ARIMA(order=(p, 0, q), trend="c")``::

    y_t - mu = sum_i phi_i (y_{t-i} - mu) + eps_t + sum_j theta_j eps_{t-j},  eps_t ~ N(0, sigma^2)

``mu`` is the process mean (statsmodels' ``const``), not an intercept.

State-space form (Harvey), state size r = max(p, q + 1)::

    y_t - mu = alpha_t[0]
    alpha_{t+1} = Tm alpha_t + R eps_{t+1},  Tm = [phi | shift],  R = (1, theta_1, .., theta_{r-1})

and alpha_1 starts from the stationary distribution N(0, P0), P0 = Tm P0 Tm' + sigma^2 R R',
solved exactly as a linear system (vec / Kronecker form), not by iterating.

Three ways to run the filter, all giving the same number:

* ``"sequential"`` / ``"parallel"``: the generic filters of :mod:`patterns.sequential` and
  :mod:`patterns.parallel` on the state-space form.
* ``"fast"`` (default): the covariance recursion (P_t, F_t, K_t) does not depend on y, only
  on the parameters and on *where* y is missing. It runs in its own short scan and is then
  held at its limit. For an invertible MA part that limit is known in closed form:
  P = sigma^2 R R', F = sigma^2, K = R, where the filter has become the conditional
  residual recursion. Convergence is checked, never assumed: a forward-only probe finds
  the first step after the last NaN where P is within ``tol * sigma^2`` of the limit, and
  the differentiable covariance scan is run at least that far (up to the whole series when
  it never converges: MA roots near or on the unit circle, or a non-invertible MA).
  After that head the filter is the conditional residual recursion started from the
  head's state, computed as :mod:`models.arma.conditional_fast` computes it (AR part
  vectorised, MA recursion as a short unrolled scan, :func:`patterns.inverse_ma_filter`),
  so value and gradient cost about what the conditional likelihood costs. Under ``vmap``
  (vectorised chains, ``Predictive``) the whole batch runs one head, the longest any
  member needs: a longer head is just as exact, and a per-member choice would make JAX run
  every head length.

  With gaps whose places are known at trace time (``y`` concrete: NumPy data, or an array
  closed over by the jitted function, as NumPyro passes observed data) the covariance
  recursion runs only on the stretches after each gap where it moves, and the state part
  is one scalar recursion with time-varying gains (:mod:`models.arma.exact_gaps`).

  When the head would be the whole series (a gap late in the series, as with values
  missing at random; an MA root near or on the unit circle), the value and gradient come
  from the full filter run once forward with **forward sensitivities**: the scan carries
  the derivatives of the state and covariance w.r.t. (mu, phi, theta) along with them, so
  nothing is stored for a backward pass (``jax.custom_jvp``; sigma scales out of the
  recursion and its derivative is closed-form). It is exact at every step (no steady state
  is assumed) and measured 3 to 4x faster than reverse mode through the covariance scan
  (ARMA(1,1), T = 20000, 1 % missing; ``scripts/bench_arma_likelihood.py --missing``).
"""

from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.custom_batching import custom_vmap
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike

from models.arma.checks import check_arma_args
from models.arma.exact_gaps import WINDOWS, gap_layout, gap_loglik, static_observed
from patterns import inverse_ma_filter, parallel, sequential
from patterns.gaussian import LOG_2PI
from patterns.linear_gaussian import LinearGaussianSSM, solve_discrete_lyapunov

__all__ = [
    "arma_exact_loglik",
    "arma_filter_state",
    "arma_pointwise_loglik",
    "arma_state_space",
    "arma_system",
]

FilterMethod = Literal["fast", "sequential", "parallel"]

# Static lengths the fast path may choose for its covariance scan; the whole series is the
# last resort. Few lengths keep compile time low; powers of 4 waste at most 4x the steps.
_COVARIANCE_SCAN_LENGTHS = (16, 64, 256, 1024, 4096, 16384)


def arma_system(phi: ArrayLike, theta: ArrayLike) -> tuple[Array, Array]:
    """Transition matrix Tm (r, r) and shock loading R (r,) of ARMA(p, q) in Harvey's
    state-space form, r = max(p, q + 1).

    Example:
        >>> import jax.numpy as jnp
        >>> transition, loading = arma_system(jnp.array([0.5]), jnp.array([0.4]))
        >>> print(transition, loading)
        [[0.5 1. ]
         [0.  0. ]] [1.  0.4]
    """
    phi, theta = jnp.asarray(phi), jnp.asarray(theta)
    p, q = phi.shape[0], theta.shape[0]
    r = max(p, q + 1)
    dtype = phi.dtype
    phi_padded = jnp.zeros(r, dtype).at[:p].set(phi)
    transition = jnp.zeros((r, r), dtype).at[:, 0].set(phi_padded)
    transition = transition.at[:-1, 1:].set(jnp.eye(r - 1, dtype=dtype))
    loading = jnp.zeros(r, dtype).at[0].set(1.0).at[1 : q + 1].set(theta)
    return transition, loading


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


def _tail_unroll(q: int) -> int:
    """Steps per loop iteration of the steady-state tail's MA scan. Value + gradient of the
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


def _head_length_index(lengths: list[int], tol: float):
    """Index into ``lengths`` of the shortest head the filter needs before its steady state.

    Under ``vmap`` (vectorised chains, ``Predictive``, batched ``log_prob``) a batched
    ``lax.switch`` index would turn the switch into a select that runs *every* branch, the
    whole-series one included. Any head at least as long as needed is exact, so the batched
    rule returns one unbatched index, the largest over the batch, and only that branch runs.
    """

    # A head longer than the last static length below T is the whole series (the
    # sensitivity filter): the probe need not look further.
    give_up_after = lengths[-2] if len(lengths) > 1 else None

    def index(transition, noise_cov, P0, observed):
        needed = steps_to_steady_state(transition, noise_cov, P0, observed, tol,
                                       give_up_after)
        return jnp.searchsorted(jnp.asarray(lengths), needed)  # shortest length >= needed

    shared_index = custom_vmap(index)

    @shared_index.def_vmap
    def _largest_over_batch(axis_size, in_batched, *args):
        in_axes = [0 if batched else None for batched in in_batched]
        return jnp.max(jax.vmap(index, in_axes=in_axes)(*args)), False

    return shared_index


def _filter_with_head(
    deviations: Array,
    observed: Array,
    transition: Array,
    noise_cov: Array,
    P0: Array,
    length: int,
    order: tuple[int, int],
    output: str = "loglik",
):
    """Full filter (state and covariance) for the first ``length`` steps, steady state after.

    ``output`` (static) says what to return: ``"loglik"`` (scalar), ``"pointwise"`` (the T
    one-step-ahead log-densities, 0 at gaps) or ``"state"`` (the predicted state of step
    T + 1: mean (r,) and covariance (r, r), what a forecast starts from).

    ``deviations`` is y - mu with zeros at the gaps, so nothing here ever touches a NaN:
    under ``vmap`` every branch of the ``lax.switch`` runs, and a NaN in a discarded branch
    would still poison the gradient.
    """
    num_steps = deviations.shape[0]
    phi_padded = transition[:, 0]
    log_2pi = LOG_2PI
    pointwise = output == "pointwise"

    def shift(x):  # Tm x = phi x_0 + (x_1, .., x_{r-1}, 0), without the matrix product
        return phi_padded * x[0] + jnp.append(x[1:], 0.0)

    def head_step(carry, inputs):
        a, P, loglik = carry
        deviation, observed_t = inputs
        F = P[0, 0]
        innovation = deviation - a[0]
        term = jnp.where(observed_t, -0.5 * (log_2pi + jnp.log(F) + innovation**2 / F), 0.0)
        a_filtered = a + jnp.where(observed_t, P[:, 0] / F * innovation, 0.0)
        P_next = _covariance_step(transition, noise_cov, P, observed_t)
        return (shift(a_filtered), P_next, loglik + term), (term if pointwise else None)

    a0 = jnp.zeros(transition.shape[0], deviations.dtype)
    carry0 = (a0, P0, jnp.zeros((), deviations.dtype))
    (a, P, loglik), head_terms = lax.scan(head_step, carry0,
                                          (deviations[:length], observed[:length]))
    if length == num_steps:
        return {"loglik": loglik, "pointwise": head_terms, "state": (a, P)}[output]

    # Steady state: P = sigma^2 R R', F = sigma^2, gain R, and no gaps remain (by
    # construction). The filter is then the conditional residual recursion, except that the
    # state a_L carries the past: unrolling a_{t+1} = Tm (a_t + R v_t) from t = L gives
    #   v_{L+s} = d_{L+s} - sum_{i<=s} phi_i d_{L+s-i} - a_L[s] - sum_{j<=s} theta_j v_{L+s-j}
    # (a_L[s] = 0 for s >= r): the AR part is vectorised, a_L enters as an input, and the
    # MA part is the inverse MA filter of patterns (8 steps per loop iteration, as the
    # conditional likelihood's autodiff path).
    sigma2 = noise_cov[0, 0]
    p, q = order
    tail = deviations[length:]
    tail_steps = num_steps - length
    ar_part = tail
    for i in range(1, min(p, tail_steps - 1) + 1):
        ar_part = ar_part - phi_padded[i - 1] * jnp.concatenate(
            [jnp.zeros(i, tail.dtype), tail[:-i]])
    carried = a[: min(a.shape[0], tail_steps)]
    ma_input = ar_part.at[: carried.shape[0]].add(-carried)
    loading = noise_cov[:, 0] / sigma2  # R = (1, theta_1, .., theta_{r-1})
    innovations = inverse_ma_filter(ma_input, loading[1 : q + 1], unroll=_tail_unroll(q))
    if output == "loglik":
        return loglik - 0.5 * (
            tail_steps * (log_2pi + jnp.log(sigma2)) + jnp.sum(innovations**2) / sigma2
        )
    if output == "pointwise":
        tail_terms = -0.5 * (log_2pi + jnp.log(sigma2) + innovations**2 / sigma2)
        return jnp.concatenate([head_terms, tail_terms])
    return _steady_state_after(tail, innovations, a, phi_padded, loading), noise_cov


def _sensitivity_step(coefficients: tuple[Array, Array, Array], a: Array, P: Array,
                      y_t: Array, observed_t: Array):
    """One Kalman step on the ARMA state with sigma = 1 (P is P / sigma^2; the gains and
    the state do not depend on sigma). ``coefficients`` = (mu, phi padded to r, R). Returns
    the predicted state and covariance of the next step, v_t^2 / F_t and log F_t (both 0 at
    a gap). Shifts and broadcasts only: Tm x = phi x_0 + (x_1, .., x_{r-1}, 0), and Tm P Tm'
    the same on both sides (a tiny matrix product or a scatter costs XLA:CPU a call each
    inside a loop)."""
    mu, phi_padded, loading = coefficients
    F = P[0, 0]
    innovation = y_t - mu - a[0]
    gain = observed_t / F
    a_filtered = a + gain * P[:, 0] * innovation
    P_filtered = P - gain * P[:, :1] * P[:1, :]
    a_next = phi_padded * a_filtered[0] + jnp.append(a_filtered[1:], 0.0)
    M = phi_padded[:, None] * P_filtered[:1, :] + jnp.pad(P_filtered[1:, :], ((0, 1), (0, 0)))
    P_next = (M[:, :1] * phi_padded[None, :] + jnp.pad(M[:, 1:], ((0, 0), (0, 1)))
              + loading[:, None] * loading[None, :])
    return a_next, P_next, observed_t * innovation**2 / F, observed_t * jnp.log(F)


def _stationary_covariance(phi: Array, theta: Array) -> Array:
    transition, loading = arma_system(phi, theta)
    return solve_discrete_lyapunov(transition, jnp.outer(loading, loading))


def _sensitivity_pass(y_filled: Array, observed: Array, mu: Array, phi: Array, theta: Array,
                      sigma: Array, gradient: bool):
    """The full filter over the whole series in one forward scan (no steady state, any gap
    pattern, any MA). With ``gradient``, the scan also carries the derivatives of the state
    and covariance w.r.t. (mu, phi, theta) (forward sensitivities along the p + q + 1
    directions, written out) and of the two running sums, so value and
    gradient come out of one pass and no step is stored for a backward pass. sigma scales
    out: d/dsigma = -n/sigma + S/sigma^3 with S = sum v^2/F (F, v at sigma = 1).

    Returns the log-likelihood, and with ``gradient`` its derivatives w.r.t. (mu, phi,
    theta) (shape (1 + p + q,)) and sigma."""
    p, q = phi.shape[0], theta.shape[0]
    dtype = y_filled.dtype
    observed_f = observed.astype(dtype)
    transition, loading = arma_system(phi, theta)
    coefficients = (mu.astype(dtype), transition[:, 0], loading)
    P0 = _stationary_covariance(phi, theta)
    r = P0.shape[0]
    zero = jnp.zeros((), dtype)
    if not gradient:
        def value_step(carry, inputs):
            a, P, quad, logf = carry
            a, P, dq, dl = _sensitivity_step(coefficients, a, P, *inputs)
            return (a, P, quad + dq, logf + dl), None

        (_, _, quad, logf), _ = lax.scan(value_step, (jnp.zeros(r, dtype), P0, zero, zero),
                                         (y_filled, observed_f))
        num_observed = jnp.sum(observed_f)
        return -0.5 * (num_observed * (LOG_2PI + 2.0 * jnp.log(sigma)) + logf
                       + quad / sigma**2)

    n = p + q + 1
    directions = jnp.eye(n, dtype=dtype)  # d/d mu, d/d phi_i, d/d theta_j
    # tangents of (mu, phi padded, R) and of P0 along each direction, outside the loop
    d_coefficients = (directions[:, 0],
                      jnp.zeros((n, r), dtype).at[:, :p].set(directions[:, 1 : p + 1]),
                      jnp.zeros((n, r), dtype).at[:, 1 : q + 1].set(directions[:, p + 1 :]))
    dP0 = jax.vmap(lambda e: jax.jvp(_stationary_covariance, (phi, theta),
                                     (e[1 : p + 1], e[p + 1 :]))[1])(directions)

    d_mu, d_phi, d_loading = d_coefficients
    phi_padded, loading = coefficients[1], coefficients[2]
    # Tm P Tm' + R R' differentiated: the R R' part is constant along the series
    d_noise = d_loading[:, :, None] * loading[None, None, :]
    d_noise = d_noise + jnp.swapaxes(d_noise, 1, 2)

    def shift_rows(X):  # (.., r, r): row i <- row i + 1, last row 0
        return jnp.concatenate([X[..., 1:, :], jnp.zeros_like(X[..., :1, :])], axis=-2)

    def shift_cols(X):
        return jnp.concatenate([X[..., 1:], jnp.zeros_like(X[..., :1])], axis=-1)

    def sensitivity_step(carry, inputs):
        # The step of _sensitivity_step and its derivative along the n directions at once
        # (leading axis of da, dP), written out: JAX's vmap of jvp of the step measured
        # 20 to 30x the value's cost per step on XLA:CPU, these broadcasts about 4x.
        a, P, quad, logf, da, dP, dquad, dlogf = carry
        y_t, o = inputs
        a_next, P_next, q_t, l_t = _sensitivity_step(coefficients, a, P, y_t, o)
        F = P[0, 0]
        v = y_t - coefficients[0] - a[0]
        g = o / F
        column = P[:, 0]
        a_filtered = a + g * column * v
        P_filtered = P - g * column[:, None] * column[None, :]
        dF = dP[:, 0, 0]  # (n,)
        dv = -d_mu - da[:, 0]
        dg = -g * dF / F
        dcolumn = dP[:, :, 0]  # (n, r)
        da_filtered = (da + (dg * v + g * dv)[:, None] * column[None, :]
                       + (g * v) * dcolumn)
        dP_filtered = (dP - dg[:, None, None] * (column[:, None] * column[None, :])[None]
                       - g * (dcolumn[:, :, None] * column[None, None, :]
                              + column[None, :, None] * dcolumn[:, None, :]))
        da_next = (d_phi * a_filtered[0] + phi_padded[None, :] * da_filtered[:, :1]
                   + shift_cols(da_filtered))
        M = phi_padded[:, None] * P_filtered[:1, :] + shift_rows(P_filtered)
        dM = (d_phi[:, :, None] * P_filtered[None, :1, :]
              + phi_padded[None, :, None] * dP_filtered[:, :1, :] + shift_rows(dP_filtered))
        dP_next = (dM[:, :, :1] * phi_padded[None, None, :]
                   + M[None, :, :1] * d_phi[:, None, :] + shift_cols(dM) + d_noise)
        dq_t = o * (2.0 * v * dv / F - v * v * dF / (F * F))
        dl_t = o * dF / F
        return (a_next, P_next, quad + q_t, logf + l_t, da_next, dP_next, dquad + dq_t,
                dlogf + dl_t), None

    carry0 = (jnp.zeros(r, dtype), P0, zero, zero, jnp.zeros((n, r), dtype), dP0,
              jnp.zeros(n, dtype), jnp.zeros(n, dtype))
    (_, _, quad, logf, _, _, dquad, dlogf), _ = lax.scan(sensitivity_step, carry0,
                                                        (y_filled, observed_f))
    num_observed = jnp.sum(observed_f)
    sigma2 = sigma**2
    loglik = -0.5 * (num_observed * (LOG_2PI + jnp.log(sigma2)) + logf + quad / sigma2)
    return loglik, -0.5 * (dlogf + dquad / sigma2), -num_observed / sigma + quad / sigma**3


@jax.custom_jvp
def _sensitivity_loglik(y_filled: Array, observed: Array, mu: Array, phi: Array,
                        theta: Array, sigma: Array) -> Array:
    """Exact log-likelihood by :func:`_sensitivity_pass`; ``y_filled`` is y with 0 at the
    gaps. Its derivative w.r.t. (mu, phi, theta, sigma) comes from the same forward pass
    (``custom_jvp``: ``grad``, ``jit``, ``vmap`` and NumPyro use it unchanged); a tangent in
    the data falls back to JAX's derivative of the plain scan."""
    return _sensitivity_pass(y_filled, observed, mu, phi, theta, sigma, gradient=False)


@partial(_sensitivity_loglik.defjvp, symbolic_zeros=True)
def _sensitivity_loglik_jvp(primals, tangents):
    y_filled, observed, mu, phi, theta, sigma = primals
    y_dot, _, mu_dot, phi_dot, theta_dot, sigma_dot = tangents
    if not isinstance(y_dot, SymbolicZero):
        differentiable = (y_filled, mu, phi, theta, sigma)
        dense = tuple(jnp.zeros(x.shape, x.dtype) if isinstance(t, SymbolicZero) else t
                      for x, t in zip(differentiable, (y_dot, *tangents[2:]), strict=True))
        return jax.jvp(
            lambda y_, mu_, phi_, theta_, sigma_: _sensitivity_pass(
                y_, observed, mu_, phi_, theta_, sigma_, gradient=False),
            differentiable, dense)
    loglik, grad_location, grad_sigma = _sensitivity_pass(y_filled, observed, mu, phi, theta,
                                                          sigma, gradient=True)
    p = phi.shape[0]
    tangent = jnp.zeros((), loglik.dtype)
    if not isinstance(mu_dot, SymbolicZero):
        tangent = tangent + grad_location[0] * mu_dot
    if not isinstance(phi_dot, SymbolicZero) and p:
        tangent = tangent + jnp.dot(grad_location[1 : p + 1], phi_dot)
    if not isinstance(theta_dot, SymbolicZero) and theta.shape[0]:
        tangent = tangent + jnp.dot(grad_location[p + 1 :], theta_dot)
    if not isinstance(sigma_dot, SymbolicZero):
        tangent = tangent + grad_sigma * sigma_dot
    return loglik, tangent


def _steady_state_after(tail: Array, innovations: Array, a_head: Array, phi_padded: Array,
                        loading: Array) -> Array:
    """Predicted state a_{T+1} (r,) at the end of the steady-state tail, from its last
    values: a_{t+1}[i] = phi_{i+1} d_t + theta_{i+1} v_t + a_t[i+1], unrolled n times,

        a_{T+1}[i] = sum_{k<n} (phi_{i+1+k} d_{T-k} + theta_{i+1+k} v_{T-k}) + a_{T+1-n}[i+n]

    with n = min(r - i, tail length): the last term is the head's state (zero once
    i + n = r). Static shapes, at most r^2 products: no pass over the series."""
    r, tail_steps = a_head.shape[0], tail.shape[0]
    theta_padded = jnp.append(loading[1:], 0.0)  # theta_{j+1} at index j
    entries = []
    for i in range(r):
        n = min(r - i, tail_steps)
        entry = a_head[i + n] if i + n < r else jnp.zeros((), tail.dtype)
        for k in range(n):
            entry = (entry + phi_padded[i + k] * tail[tail_steps - 1 - k]
                     + theta_padded[i + k] * innovations[tail_steps - 1 - k])
        entries.append(entry)
    return jnp.stack(entries)


def _fast_filter(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array, tol: float,
                 output: str = "loglik"):
    """The fast path (module docstring); ``output`` as in :func:`_filter_with_head`."""
    transition, loading = arma_system(phi, theta)
    noise_cov = sigma**2 * jnp.outer(loading, loading)
    P0 = solve_discrete_lyapunov(transition, noise_cov)
    observed = ~jnp.isnan(y)
    deviations = jnp.where(observed, y - mu, 0.0)
    num_steps = y.shape[0]

    lengths = [n for n in _COVARIANCE_SCAN_LENGTHS if n < num_steps] + [num_steps]
    # The head length is chosen, not differentiated: stop the gradient before custom_vmap.
    branch = _head_length_index(lengths, tol)(
        *(lax.stop_gradient(a) for a in (transition, noise_cov, P0)), observed
    )
    # jax.checkpoint: a branch keeps only its inputs for the backward pass. Otherwise
    # reverse mode makes every branch return zeros in the shape of every other branch's
    # residuals, the whole-series branch's included, on each call.
    order = (phi.shape[0], theta.shape[0])
    y_filled = jnp.where(observed, y, 0.0)

    def head_branch(length):
        filter_with_head = jax.checkpoint(
            partial(_filter_with_head, length=length, order=order, output=output))
        return lambda operands: filter_with_head(*operands[:5])

    def whole_series(operands):  # gaps late in the series, slow or no convergence
        return _sensitivity_loglik(*operands[5:])

    operands = (deviations, observed, transition, noise_cov, P0,
                y_filled, observed, mu, phi, theta, sigma)
    if output != "loglik":  # only the head branches know the other outputs
        return lax.switch(branch, [head_branch(n) for n in lengths], operands)
    return lax.switch(branch, [head_branch(n) for n in lengths[:-1]] + [whole_series],
                      operands)


def _gap_filter(y: Array, observed: np.ndarray, mu: Array, phi: Array, theta: Array,
                sigma: Array, tol: float) -> Array:
    """Gaps at places known at trace time (:mod:`models.arma.exact_gaps`): the covariance
    recursion on the disturbed stretches only, for the smallest static window W in
    ``WINDOWS`` at least the probe's K_0; a larger K_0 (or none: a non-invertible MA) runs
    the whole series through the full filter with forward sensitivities."""
    num_steps = y.shape[0]
    transition, loading = arma_system(phi, theta)
    r = transition.shape[0]
    P0 = _stationary_covariance(phi, theta)
    windows = [w for w in WINDOWS if w < num_steps]
    observed_j = jnp.asarray(observed)
    y_filled = jnp.where(observed_j, y, 0.0)
    if not windows:  # a short series: the full filter is as cheap
        return _sensitivity_loglik(y_filled, observed_j, mu, phi, theta, sigma)
    noise = jnp.outer(loading, loading)
    # K_0: steps from P0 to the limit without a gap (the probe of the head lengths); index
    # len(windows) when it exceeds the largest window
    probe_steps = windows[-1] + 1
    branch = _head_length_index(windows + [probe_steps], tol)(
        *(lax.stop_gradient(a) for a in (transition, noise, P0)),
        jnp.ones(probe_steps, bool))

    def clustered(window):
        layout = gap_layout(observed, window, r)
        return jax.checkpoint(lambda operands: gap_loglik(
            operands[0], observed, layout, operands[1], operands[2], *operands[4:]))

    def whole_series(operands):
        y_filled, mu, phi, theta, _, _, _, sigma = operands
        return _sensitivity_loglik(y_filled, observed_j, mu, phi, theta, sigma)

    operands = (y_filled, mu, phi, theta, transition, loading, P0, sigma)
    return lax.switch(branch, [clustered(w) for w in windows] + [whole_series], operands)


def _forward_filter(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array, tol: float,
                    output: str):
    """The fast path without its ``lax.switch``, for quantities that are not differentiated
    (``output`` ``"state"`` or ``"pointwise"``): the covariance recursion runs in one
    ``while_loop`` exactly as long as it needs (until P is within ``tol`` of its limit and
    past the last gap), then the steady-state tail is the inverse MA filter over the whole
    series with everything before the head's end masked to zero. One loop and one scan to
    compile, whatever T: this is what forecasts and the pointwise site compile per draw.
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

    # The tail from t = L = length, as in _filter_with_head, over the whole series with
    # the steps before L masked out (their inputs are 0, so the MA filter stays at 0).
    in_tail = positions >= length
    tail = jnp.where(in_tail, deviations, 0.0)
    ar_part = tail
    for i in range(1, phi.shape[0] + 1):
        ar_part = ar_part - phi_padded[i - 1] * jnp.concatenate(
            [jnp.zeros(i, y.dtype), tail[:-i]])
    ar_part = jnp.where(in_tail, ar_part, 0.0)
    offset = positions - length  # the head's state enters the first r tail steps
    carried = jnp.where(in_tail & (offset < r), a[jnp.clip(offset, 0, r - 1)], 0.0)
    innovations = inverse_ma_filter(ar_part - carried, loading[1 : theta.shape[0] + 1],
                                    unroll=_tail_unroll(theta.shape[0]))
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
        method: ``"fast"`` (covariance recursion held at its checked limit, see the module
            docstring), ``"sequential"`` or ``"parallel"`` (the full generic filters).
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
    observed = static_observed(y)
    y, mu, phi, theta, sigma = check_arma_args(y, mu, phi, theta, sigma, "arma_exact_loglik")
    if method == "fast":
        if observed is not None and not observed.all():
            return _gap_filter(y, observed, mu, phi, theta, sigma,
                               _default_tol(y.dtype) if tol is None else tol)
        return _fast_filter(y, mu, phi, theta, sigma,
                            _default_tol(y.dtype) if tol is None else tol)
    if method in ("sequential", "parallel"):
        ssm = arma_state_space(mu, phi, theta, sigma)
        module = sequential if method == "sequential" else parallel
        return module.kalman_filter(ssm, y[:, None]).log_likelihood
    raise ValueError(
        f"arma_exact_loglik: method must be 'fast', 'sequential' or 'parallel', got {method!r}"
    )

