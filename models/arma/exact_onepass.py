"""Exact ARMA log-likelihood in one forward head loop and one vectorised tail: one small
program for every gap pattern and every parameter value.

The Kalman filter of the ARMA state (sigma scaled out: P is P / sigma^2) runs in a
``while_loop`` from t = 0 until its covariance is within ``tol`` of the steady state
R R' *after the last gap* (or to the end of the series: an MA root on or near the unit
circle, a non-invertible MA). On the way, a step whose predicted covariance is already at
the steady state and whose value is observed is a cheap step (the gain is R, F = 1, the
covariance stays R R' exactly: it is the Riccati map's fixed point), chosen by a
``lax.cond``; a gap, and the steps after it until the covariance has settled again, are
full Kalman steps. The loop carries the forward sensitivities of the state, the covariance
and the two running sums along the 1 + p + q directions (mu, phi, theta), so the head's
value and derivative come out of one pass and nothing is stored for a backward pass
(``jax.custom_jvp``; reverse mode transposes the linear map it returns).

After the head the filter is the conditional residual recursion started from the head's
state, vectorised as :mod:`models.arma.conditional_fast` does it (AR part by shifts, MA
part by :func:`patterns.inverse_ma_filter`), over the whole series with the steps before
the head's (dynamic) end masked out: its shapes do not depend on where the head ends.

Nothing in the program depends on the number or the places of the gaps (they are data),
and no branch exists per head length or per window: what is compiled is one loop with two
step kinds, one scan and its backward pass.
"""

from functools import partial

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike

from patterns import inverse_ma_filter
from patterns.gaussian import LOG_2PI

__all__ = ["arma_system", "onepass_loglik", "steady_tail"]


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
    phi_padded, loading = _system(phi, theta, max(phi.shape[0], theta.shape[0] + 1))
    return _transition(phi_padded), loading


def _system(phi: Array, theta: Array, r: int):
    dtype = phi.dtype
    p, q = phi.shape[0], theta.shape[0]
    phi_padded = jnp.zeros(r, dtype).at[:p].set(phi)
    loading = jnp.zeros(r, dtype).at[0].set(1.0).at[1 : q + 1].set(theta)
    return phi_padded, loading


def _transition(phi_padded: Array) -> Array:
    r = phi_padded.shape[0]
    transition = jnp.zeros((r, r), phi_padded.dtype).at[:, 0].set(phi_padded)
    return transition.at[:-1, 1:].set(jnp.eye(r - 1, dtype=phi_padded.dtype))


def _stationary(phi_padded: Array, loading: Array, d_phi: Array | None = None,
                d_loading: Array | None = None):
    """P0 = Tm P0 Tm' + R R' (sigma = 1) as the linear system (I - Tm (x) Tm) vec P0 =
    vec R R', one LU factorisation; with tangents d_phi, d_loading (n, r) also dP0 (n, r, r),
    which solves the same system with right-hand sides d(Tm) P0 Tm' + Tm P0 d(Tm)' + d(R R')."""
    r = phi_padded.shape[0]
    transition = _transition(phi_padded)
    system = jnp.eye(r * r, dtype=phi_padded.dtype) - jnp.kron(transition, transition)
    factors = jax.scipy.linalg.lu_factor(system)
    P0 = jax.scipy.linalg.lu_solve(factors, jnp.outer(loading, loading).reshape(r * r))
    P0 = P0.reshape(r, r)
    P0 = 0.5 * (P0 + P0.T)
    if d_phi is None:
        return P0
    d_transition = jnp.zeros((d_phi.shape[0], r, r), P0.dtype).at[:, :, 0].set(d_phi)
    side = d_transition @ P0 @ transition.T
    d_noise = d_loading[:, :, None] * loading[None, None, :]
    rhs = side + jnp.swapaxes(side, 1, 2) + d_noise + jnp.swapaxes(d_noise, 1, 2)
    dP0 = jax.scipy.linalg.lu_solve(factors, rhs.reshape(-1, r * r).T).T.reshape(-1, r, r)
    return P0, 0.5 * (dP0 + jnp.swapaxes(dP0, 1, 2))


def _shift_rows(X):  # (.., r, r): row i <- row i + 1, last row 0
    return jnp.concatenate([X[..., 1:, :], jnp.zeros_like(X[..., :1, :])], axis=-2)


def _shift_cols(X):
    return jnp.concatenate([X[..., 1:], jnp.zeros_like(X[..., :1])], axis=-1)


def _head(deviations: Array, observed: Array, mu: Array, phi: Array, theta: Array,
          tol: float, tangents: bool):
    """The head loop (module docstring). ``deviations`` is y with 0 at the gaps (mu is
    subtracted here). Returns (length L, state a_L (r,), quad, logF) and, with
    ``tangents``, their derivatives along (mu, phi, theta): (n, r), (n,), (n,)."""
    p, q = phi.shape[0], theta.shape[0]
    r = max(p, q + 1)
    n = 1 + p + q
    dtype = deviations.dtype
    num_steps = deviations.shape[0]
    phi_padded, loading = _system(phi, theta, r)
    noise = jnp.outer(loading, loading)
    positions = jnp.arange(num_steps)
    after_last_gap = jnp.max(jnp.where(observed, 0, positions + 1))
    observed_f = observed.astype(dtype)
    zero = jnp.zeros((), dtype)

    if tangents:
        directions = jnp.eye(n, dtype=dtype)
        d_mu = directions[:, 0]
        d_phi = jnp.zeros((n, r), dtype).at[:, :p].set(directions[:, 1 : p + 1])
        d_loading = jnp.zeros((n, r), dtype).at[:, 1 : q + 1].set(directions[:, p + 1 :])
        P0, dP0 = _stationary(phi_padded, loading, d_phi, d_loading)
        d_noise = d_loading[:, :, None] * loading[None, None, :]
        d_noise = d_noise + jnp.swapaxes(d_noise, 1, 2)
    else:  # placeholders of size 0: the same code, nothing carried
        n = 0
        d_mu = jnp.zeros(0, dtype)
        d_phi = d_loading = jnp.zeros((0, r), dtype)
        dP0 = d_noise = jnp.zeros((0, r, r), dtype)
        P0 = _stationary(phi_padded, loading)

    def full_step(state):
        a, P, quad, logf, da, dP, dquad, dlogf, y_t, o = state
        F = P[0, 0]
        v = y_t - mu - a[0]
        g = o / F
        column = P[:, 0]
        a_f = a + g * column * v
        P_f = P - g * column[:, None] * column[None, :]
        a_next = phi_padded * a_f[0] + _shift_cols(a_f)
        M = phi_padded[:, None] * P_f[:1, :] + _shift_rows(P_f)
        P_next = M[:, :1] * phi_padded[None, :] + _shift_cols(M) + noise
        quad = quad + o * v * v / F
        logf = logf + o * jnp.log(F)
        dF = dP[:, 0, 0]
        dv = -d_mu - da[:, 0]
        dg = -g * dF / F
        dcolumn = dP[:, :, 0]
        da_f = da + (dg * v + g * dv)[:, None] * column[None, :] + (g * v) * dcolumn
        dP_f = (dP - dg[:, None, None] * (column[:, None] * column[None, :])[None]
                - g * (dcolumn[:, :, None] * column[None, None, :]
                       + column[None, :, None] * dcolumn[:, None, :]))
        da_next = d_phi * a_f[0] + phi_padded[None, :] * da_f[:, :1] + _shift_cols(da_f)
        dM = (d_phi[:, :, None] * P_f[None, :1, :]
              + phi_padded[None, :, None] * dP_f[:, :1, :] + _shift_rows(dP_f))
        dP_next = (dM[:, :, :1] * phi_padded[None, None, :]
                   + M[None, :, :1] * d_phi[:, None, :] + _shift_cols(dM) + d_noise)
        dquad = dquad + o * (2.0 * v * dv / F - v * v * dF / (F * F))
        dlogf = dlogf + o * dF / F
        # at the steady state: hold it exactly (the Riccati map's fixed point)
        settled = jnp.max(jnp.abs(P_next - noise)) <= tol
        P_next = jnp.where(settled, noise, P_next)
        dP_next = jnp.where(settled, d_noise, dP_next)
        return a_next, P_next, quad, logf, da_next, dP_next, dquad, dlogf, settled

    def steady_step(state):  # P = R R', observed: gain R, F = 1
        a, P, quad, logf, da, dP, dquad, dlogf, y_t, _ = state
        v = y_t - mu - a[0]
        a_f = a + loading * v
        a_next = phi_padded * a_f[0] + _shift_cols(a_f)
        dv = -d_mu - da[:, 0]
        da_f = da + d_loading * v + loading[None, :] * dv[:, None]
        da_next = d_phi * a_f[0] + phi_padded[None, :] * da_f[:, :1] + _shift_cols(da_f)
        return (a_next, P, quad + v * v, logf, da_next, dP, dquad + 2.0 * v * dv, dlogf,
                jnp.ones((), bool))

    def not_done(carry):
        t, settled = carry[0], carry[1]
        return (t < num_steps) & ~(settled & (t >= after_last_gap))

    def body(carry):
        t, settled, *rest = carry
        o = observed_f[t]
        new = lax.cond(settled & observed[t], steady_step, full_step,
                       (*rest, deviations[t], o))
        return (t + 1, new[-1], *new[:-1])

    start = (jnp.zeros((), positions.dtype), jnp.zeros((), bool), jnp.zeros(r, dtype), P0,
             zero, zero, jnp.zeros((n, r), dtype), dP0, jnp.zeros(n, dtype),
             jnp.zeros(n, dtype))
    length, _, a, _, quad, logf, da, _, dquad, dlogf = lax.while_loop(not_done, body, start)
    if tangents:
        return (length, a, quad, logf), (da, dquad, dlogf)
    return length, a, quad, logf


def _whole_series(deviations: Array, observed: Array, mu: Array, phi: Array, theta: Array):
    """The head's outputs with every step a full Kalman step, as one ``lax.scan`` (so JAX's
    reverse mode goes through it): the route for a tangent in the data."""
    p, q = phi.shape[0], theta.shape[0]
    r = max(p, q + 1)
    phi_padded, loading = _system(phi, theta, r)
    noise = jnp.outer(loading, loading)
    dtype = deviations.dtype
    zero = jnp.zeros((), dtype)

    def step(carry, inputs):
        a, P, quad, logf = carry
        y_t, o = inputs
        F = P[0, 0]
        v = y_t - mu - a[0]
        g = o / F
        a_f = a + g * P[:, 0] * v
        P_f = P - g * P[:, :1] * P[:1, :]
        M = phi_padded[:, None] * P_f[:1, :] + _shift_rows(P_f)
        P_next = M[:, :1] * phi_padded[None, :] + _shift_cols(M) + noise
        return (phi_padded * a_f[0] + _shift_cols(a_f), P_next, quad + o * v * v / F,
                logf + o * jnp.log(F)), None

    start = (jnp.zeros(r, dtype), _stationary(phi_padded, loading), zero, zero)
    (a, _, quad, logf), _ = lax.scan(step, start, (deviations, observed.astype(dtype)))
    return jnp.asarray(deviations.shape[0]), a, quad, logf


@partial(jax.custom_jvp, nondiff_argnums=(5,))
def _head_values(deviations, observed, mu, phi, theta, tol):
    return _head(deviations, observed, mu, phi, theta, tol, tangents=False)


@partial(_head_values.defjvp, symbolic_zeros=True)
def _head_values_jvp(tol, primals, tangents_in):
    deviations, observed, mu, phi, theta = primals
    y_dot, _, mu_dot, phi_dot, theta_dot = tangents_in
    if not isinstance(y_dot, SymbolicZero):
        # a derivative w.r.t. the data (no model needs it): JAX's own, through the scan
        differentiable = (deviations, mu, phi, theta)
        dense = tuple(jnp.zeros(x.shape, x.dtype) if isinstance(t, SymbolicZero) else t
                      for x, t in zip(differentiable, (y_dot, mu_dot, phi_dot, theta_dot),
                                      strict=True))
        (a, quad, logf), (da, dquad, dlogf) = jax.jvp(
            lambda d, m, f, t: _whole_series(d, observed, m, f, t)[1:], differentiable, dense)
        # L = T, computed from the data rather than written as a constant: under vmap the
        # primal's L (a while_loop counter) is batched, and JAX's batching of this rule
        # does not broadcast an unbatched constant to match it ("broadcast_in_dim ...
        # operand ndim 0" in SARIMA.log_prob's vmap over the observed value)
        length = (jnp.sum(observed) * 0 + deviations.shape[0]).astype(jnp.arange(1).dtype)
        return ((length, a, quad, logf),
                (jnp.zeros(length.shape, jax.dtypes.float0), da, dquad, dlogf))
    (length, a, quad, logf), (da, dquad, dlogf) = _head(deviations, observed, mu, phi,
                                                        theta, tol, tangents=True)
    dtype = a.dtype
    direction = jnp.concatenate([
        jnp.zeros(1, dtype) if isinstance(mu_dot, SymbolicZero) else jnp.reshape(mu_dot, (1,)),
        jnp.zeros(phi.shape, dtype) if isinstance(phi_dot, SymbolicZero) else phi_dot,
        jnp.zeros(theta.shape, dtype) if isinstance(theta_dot, SymbolicZero) else theta_dot,
    ])
    length_dot = jnp.zeros(length.shape, jax.dtypes.float0)
    return ((length, a, quad, logf),
            (length_dot, direction @ da, direction @ dquad, direction @ dlogf))


def onepass_loglik(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array,
                   tol: float, unroll: int = 8) -> Array:
    """Exact log-likelihood of the observed values of ``y`` (NaN where missing), the
    module's way (what :func:`models.arma.exact.arma_exact_loglik` runs by default).

    Args:
        y: series, shape (T,), NaN where missing.
        mu, phi, theta, sigma: process mean (), AR (p,), MA (q,) coefficients and the
            innovation sd (); checked by the caller.
        tol: the steady-state test, max |P_t / sigma^2 - R R'| <= tol.
        unroll: steps per iteration of the tail's MA scan.

    Returns:
        The log-likelihood, scalar.

    Example:
        AR(1) with a gap: the density of y_1 under N(0, 1 / (1 - 0.25)), then of y_3
        given y_1 two steps back (mean 0.25 y_1, variance 1 + 0.25).

        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> y = jnp.array([0.8, jnp.nan, -0.4])
        >>> ll = onepass_loglik(y, jnp.array(0.0), jnp.array([0.5]), jnp.zeros(0),
        ...                     jnp.array(1.0), 1e-6)
        >>> want = norm.logpdf(0.8, 0.0, (1 / 0.75) ** 0.5) + norm.logpdf(-0.4, 0.2, 1.25 ** 0.5)
        >>> print(bool(jnp.allclose(ll, want)))
        True
    """
    # A series closed over (as NumPyro passes observed data) is a constant of the program,
    # and XLA constant-folds what is computed from it, once per copy of the loop body:
    # "Constant folding an instruction is taking > 1s: compare(constant, constant)" in the
    # CO2 fit's compile log. Computed at run time instead (T comparisons per call).
    y = lax.optimization_barrier(y)
    observed = ~jnp.isnan(y)
    y_filled = jnp.where(observed, y, 0.0)
    length, a, quad, logf = _head_values(y_filled, observed, mu, phi, theta, tol)
    _, innovations = steady_tail(y_filled - mu, phi, theta, length, a, unroll)
    num_observed = jnp.sum(observed)
    sigma2 = sigma**2
    return -0.5 * (num_observed * (LOG_2PI + jnp.log(sigma2)) + logf
                   + (quad + jnp.sum(innovations**2)) / sigma2)


def steady_tail(deviations: Array, phi: Array, theta: Array, length: Array, state: Array,
                unroll: int = 8) -> tuple[Array, Array]:
    """The steady-state filter from step L = ``length`` on, started from the head's
    predicted state a_L: the innovations of the conditional residual recursion
    ``v_{L+s} = d_{L+s} - sum_{i<=s} phi_i d_{L+s-i} - a_L[s] - sum_{j<=s} theta_j v_{L+s-j}``,
    vectorised over the whole series (AR part by shifts, MA part by
    :func:`patterns.inverse_ma_filter`) with every step before L masked to 0, so its
    shapes do not depend on L. What the likelihood (:func:`onepass_loglik`) and the
    state / pointwise outputs of :mod:`models.arma.exact` share.

    Args:
        deviations: d = y - mu, shape (T,), 0 at gaps (there are none from L on).
        phi, theta: AR (p,) and MA (q,) coefficients.
        length: L, integer scalar (may be traced), 0 <= L <= T.
        state: a_L, the predicted state at L, shape (r,), r = max(p, q + 1).
        unroll: steps per iteration of the MA scan.

    Returns:
        (in_tail, innovations): a mask t >= L, shape (T,), and v_t, shape (T,), 0 before L.

    Example:
        AR(1) from L = 1 with a_1 = 0.5 y_0: v_1 = y_1 - 0.5 y_0, v_2 = y_2 - 0.5 y_1.

        >>> import jax.numpy as jnp
        >>> d = jnp.array([1.0, 2.0, 4.0])
        >>> mask, v = steady_tail(d, jnp.array([0.5]), jnp.zeros(0), 1, jnp.array([0.5]))
        >>> print(mask, v)
        [False  True  True] [0.  1.5 3. ]
    """
    p, q = phi.shape[0], theta.shape[0]
    r = max(p, q + 1)
    num_steps = deviations.shape[0]
    dtype = deviations.dtype
    positions = jnp.arange(num_steps)
    in_tail = positions >= length
    tail = jnp.where(in_tail, deviations, 0.0)
    ar_part = tail
    for i in range(1, p + 1):
        ar_part = ar_part - phi[i - 1] * jnp.concatenate([jnp.zeros(i, dtype), tail[:-i]])
    offset = positions - length  # the head's state enters the first r tail steps
    carried = jnp.where(in_tail & (offset < r), state[jnp.clip(offset, 0, r - 1)], 0.0)
    ma_input = jnp.where(in_tail, ar_part - carried, 0.0)
    return in_tail, inverse_ma_filter(ma_input, theta, unroll=unroll)
