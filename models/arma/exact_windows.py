"""Exact ARMA log-likelihood with the covariance work after every gap batched: the gap
pattern as data (issue 13).

The Kalman filter's covariance moves only near the start and after gaps; elsewhere it sits
at its steady state R R' (sigma scaled out) and the filter is the conditional residual
recursion. The series is cut, from its NaN mask alone, into

* **windows**: the start [0, D) and, after each gap g, [g, g + 1 + D), merged where they
  overlap or leave fewer than r steps between them (D = ``settle``, a static number of
  steps allowed for the covariance to settle again);
* **segments** between them, where every value is observed and the covariance is (checked
  at each window's end, to ``tol``) at its steady state.

Every window is an affine map of the predicted state a at its start: the full Kalman steps
over it carry (M, m) with a_t = M_t x + m_t, the covariance, and the window's log-density
terms as a quadratic form in x. The windows are padded to one length and run as one batched
scan (``vmap`` over windows, ``scan`` over their steps). Every segment is the steady-state
recursion of the whole series at once: the AR part by shifts masked at segment starts, the
MA part by one :func:`patterns.inverse_ma_filter` over the whole series; what that pass
carries across a window instead of the window's true end state is corrected exactly by the
steady recursion's impulse response H_j = -e_1' A^j (A = Tm (I - R e_1'), computed by
doubling). The states at the window starts then follow one small affine recursion over the
windows (r x r, one step per window). Nothing is unrolled per gap: the windows' index
arrays are data of shapes (n_windows, W), computed from the mask at trace time (the series
must be concrete, as NumPyro's observed data are).

Exact, with a check: if a window's covariance has not settled within ``tol`` at its end
(an MA root near the unit circle, a non-invertible MA, D too short for the parameters), the
caller's fallback runs instead (``lax.cond``). Differentiated by JAX's reverse mode (no
custom rule).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from patterns import inverse_ma_filter
from patterns.gaussian import LOG_2PI

__all__ = ["GapWindows", "gap_windows", "windows_loglik"]


class GapWindows(NamedTuple):
    """The windows and segments of one NaN mask (numpy arrays; shapes in the docstring of
    :func:`gap_windows`)."""

    starts: np.ndarray  # (n,)
    ends: np.ndarray  # (n,)
    window_index: np.ndarray  # (n, W) positions, clipped
    window_valid: np.ndarray  # (n, W) float: step inside the window
    window_observed: np.ndarray  # (n, W) float
    in_segment: np.ndarray  # (T,) float
    segment_id: np.ndarray  # (T,) int, 0 outside segments
    segment_offset: np.ndarray  # (T,) int, 0 outside segments
    ar_masks: np.ndarray  # (p, T) float: in a segment and at least i steps into it
    leak_index: np.ndarray  # (n, r) int: e_k - 1 - j (may be < 0)
    exit_index: np.ndarray  # (n - 1, r) int: s_{k+1} - 1 - j
    exit_offset: np.ndarray  # (n - 1, r) int: exit_index - e_k
    max_segment: int


def gap_windows(observed: np.ndarray, p: int, r: int, settle: int) -> GapWindows:
    """Windows and segments of a NaN mask (module docstring), computed in numpy.

    Args:
        observed: bool mask, shape (T,).
        p: AR order; r: state size max(p, q + 1); settle: D, steps after a gap (and
            after the start) that a window covers.

    Returns:
        :class:`GapWindows`; n windows padded to the longest, W.

    Example:
        >>> import numpy as np
        >>> w = gap_windows(np.array([True] * 10 + [False] + [True] * 29), 1, 2, 4)
        >>> print(w.starts, w.ends, w.window_index.shape)
        [ 0 10] [ 4 15] (2, 5)
    """
    observed = np.asarray(observed, bool)
    num_steps = observed.shape[0]
    settle = max(settle, r)
    intervals = [(0, min(settle, num_steps))]
    for g in np.flatnonzero(~observed):
        start, end = int(g), min(int(g) + 1 + settle, num_steps)
        last_start, last_end = intervals[-1]
        if start < last_end + r:  # overlapping, or a segment shorter than r between
            intervals[-1] = (last_start, max(last_end, end))
        else:
            intervals.append((start, end))
    if num_steps - intervals[-1][1] < r:  # no segment shorter than r at the end either
        intervals[-1] = (intervals[-1][0], num_steps)
    starts = np.array([s for s, _ in intervals], np.int64)
    ends = np.array([e for _, e in intervals], np.int64)
    width = int(np.max(ends - starts))
    steps = np.arange(width)
    window_index = np.minimum(starts[:, None] + steps[None, :], num_steps - 1)
    window_valid = steps[None, :] < (ends - starts)[:, None]
    window_observed = observed[window_index] & window_valid
    segment_starts = ends
    segment_ends = np.append(starts[1:], num_steps)
    in_segment = np.zeros(num_steps, bool)
    segment_id = np.zeros(num_steps, np.int64)
    segment_offset = np.zeros(num_steps, np.int64)
    for k, (s, e) in enumerate(zip(segment_starts, segment_ends, strict=True)):
        in_segment[s:e] = True
        segment_id[s:e] = k
        segment_offset[s:e] = np.arange(e - s)
    ar_masks = np.stack([in_segment & (segment_offset >= i) for i in range(1, p + 1)]
                        ) if p else np.zeros((0, num_steps), bool)
    lags = np.arange(r)
    leak_index = ends[:, None] - 1 - lags[None, :]
    exit_index = starts[1:, None] - 1 - lags[None, :]
    exit_offset = exit_index - ends[:-1, None]
    max_segment = int(np.max(segment_ends - segment_starts, initial=0))
    return GapWindows(starts, ends, window_index, window_valid.astype(float),
                      window_observed.astype(float), in_segment.astype(float), segment_id,
                      segment_offset, ar_masks.astype(float), leak_index, exit_index,
                      exit_offset, max_segment)


def _lag_matrix(coefs: Array) -> Array:
    """C[i, j] = coefs[i + j] (0 beyond r): the state a[i] = sum_j C[i, j] x_{t-1-j}."""
    r = coefs.shape[0]
    index = np.arange(r)[:, None] + np.arange(r)[None, :]
    return jnp.where(index < r, coefs[np.minimum(index, r - 1)], 0.0)


def _shift(x):  # (.., r) -> entry i <- i + 1, last 0
    return jnp.concatenate([x[..., 1:], jnp.zeros_like(x[..., :1])], axis=-1)


def windows_loglik(y_filled: np.ndarray, windows: GapWindows, mu: Array, phi: Array,
                   theta: Array, sigma: Array, P0: Array, tol: float,
                   fallback: Callable[[], Array], unroll: int = 8) -> Array:
    """Exact log-likelihood by windows and segments (module docstring).

    Args:
        y_filled: the series with 0 at gaps, numpy (T,).
        windows: :func:`gap_windows` of its mask.
        mu, phi, theta, sigma: () , (p,), (q,), ().
        P0: the stationary covariance / sigma^2, (r, r).
        tol: max |P / sigma^2 - R R'| at a window's end for the steady state to hold.
        fallback: the log-likelihood by another route, run (``lax.cond``) when a window
            has not settled.
        unroll: steps per iteration of the MA scan.

    Returns:
        The log-likelihood, scalar.
    """
    p, q = phi.shape[0], theta.shape[0]
    r = P0.shape[0]
    dtype = P0.dtype
    phi_padded = jnp.zeros(r, dtype).at[:p].set(phi)
    loading = jnp.zeros(r, dtype).at[0].set(1.0).at[1 : q + 1].set(theta)
    noise = jnp.outer(loading, loading)
    # The index arrays and the series enter behind an optimization barrier: as constants,
    # XLA would fold what is computed from them (index normalisation, masks) element by
    # element at compile time (seconds at T = 20,000).
    w = GapWindows(*(lax.optimization_barrier(jnp.asarray(a)) if isinstance(a, np.ndarray)
                     else a for a in windows))
    y_filled_j = lax.optimization_barrier(jnp.asarray(y_filled, dtype))
    y_w = y_filled_j[w.window_index]
    obs_w = w.window_observed.astype(dtype)
    valid_w = w.window_valid.astype(dtype)

    # --- the windows: full Kalman steps, affine in the state x at the window's start ---
    def window(y_k, o_k, valid_k, P_start):
        def step(carry, inputs):
            M, m, P, Q, h, c, logf = carry
            y_t, o, valid = inputs
            F = P[0, 0]
            g = o / F
            column = P[:, 0]
            row = M[0]
            cc = y_t - mu - m[0]
            Q_n = Q + g * row[:, None] * row[None, :]
            h_n = h + (g * cc) * row
            c_n = c + g * cc * cc
            logf_n = logf + o * jnp.log(F)
            M_f = M - g * column[:, None] * row[None, :]
            m_f = m + (g * cc) * column
            P_f = P - g * column[:, None] * column[None, :]
            M_n = phi_padded[:, None] * M_f[:1, :] + jnp.concatenate(
                [M_f[1:], jnp.zeros_like(M_f[:1])])
            m_n = phi_padded * m_f[0] + _shift(m_f)
            T_P = phi_padded[:, None] * P_f[:1, :] + jnp.concatenate(
                [P_f[1:], jnp.zeros_like(P_f[:1])])
            P_n = T_P[:, :1] * phi_padded[None, :] + _shift(T_P) + noise
            new = (M_n, m_n, P_n, Q_n, h_n, c_n, logf_n)
            return tuple(jnp.where(valid > 0, a, b) for a, b in zip(new, carry, strict=True)
                         ), None

        zero = jnp.zeros((), dtype)
        start = (jnp.eye(r, dtype=dtype), jnp.zeros(r, dtype), P_start,
                 jnp.zeros((r, r), dtype), jnp.zeros(r, dtype), zero, zero)
        out, _ = lax.scan(step, start, (y_k, o_k, valid_k))
        return out

    is_head = w.starts == 0
    P_starts = jnp.where(is_head[:, None, None], P0[None], noise[None])
    M, m, P_end, Q, h, c, logf = jax.vmap(window)(y_w, obs_w, valid_w, P_starts)
    has_segment = jnp.append(w.starts[1:], y_filled.shape[0]) > w.ends
    settled = jnp.max(jnp.abs(P_end - noise[None]), axis=(1, 2)) <= tol
    ok = jnp.all(settled | ~has_segment)

    def by_windows():
        # the steady recursion of the segments; theta held at 0 where not ok, so that
        # nothing here overflows in a branch that is computed but not used (under vmap)
        theta_used = jnp.where(ok, theta, 0.0)
        loading_used = jnp.where(ok, loading, jnp.zeros_like(loading).at[0].set(1.0))
        d = y_filled_j - mu
        ar_masks = w.ar_masks.astype(dtype)
        x = d
        for i in range(1, p + 1):
            x = x - phi[i - 1] * ar_masks[i - 1] * jnp.concatenate(
                [jnp.zeros(i, dtype), d[:-i]])
        x = x * w.in_segment.astype(dtype)
        v_free = inverse_ma_filter(x, theta_used, unroll=unroll)
        # impulse response of the steady recursion to the state at a segment's start
        theta_padded = _shift(loading_used)
        A = (phi_padded[:, None] * jnp.eye(r, dtype=dtype)[:1, :]
             + jnp.eye(r, k=1, dtype=dtype))  # Tm
        A = A - (A @ loading_used)[:, None] * jnp.eye(r, dtype=dtype)[:1, :]
        H = -jnp.eye(r, dtype=dtype)[:1]
        power = A
        while H.shape[0] < y_filled.shape[0]:  # T rows whatever the gaps: one program
            H = jnp.concatenate([H, H @ power])
            power = power @ power
        C_phi, C_theta = _lag_matrix(phi_padded), _lag_matrix(theta_padded)
        leak = jnp.where(w.leak_index >= 0, v_free[jnp.maximum(w.leak_index, 0)], 0.0)
        z_free = leak @ C_theta.T  # (n, r): the state the free MA pass carries in
        base = m - z_free  # delta_k = M_k x_k + base_k
        H_exit = H[w.exit_offset]  # (n - 1, r, r)
        v_exit = v_free[w.exit_index]
        d_exit = d[w.exit_index]
        gain = jnp.einsum("ij,kjl,klm->kim", C_theta, H_exit, M[:-1])
        shift = (d_exit @ C_phi.T + (v_exit + jnp.einsum("kjl,kl->kj", H_exit, base[:-1]))
                 @ C_theta.T)

        def advance(x_k, inputs):
            gain_k, shift_k = inputs
            return gain_k @ x_k + shift_k, x_k

        x_last, x_firsts = lax.scan(advance, jnp.zeros(r, dtype), (gain, shift))
        states = jnp.concatenate([x_firsts, x_last[None]])  # (n, r)
        delta = jnp.einsum("kij,kj->ki", M, states) + base
        quad_windows = (jnp.einsum("ki,kij,kj->", states, Q, states)
                        - 2.0 * jnp.sum(states * h) + jnp.sum(c))
        correction = jnp.sum(H[w.segment_offset] * delta[w.segment_id], axis=1)
        v = (v_free + correction) * w.in_segment.astype(dtype)
        return quad_windows + jnp.sum(v * v)

    quad = by_windows()
    num_observed = float(np.sum(windows.in_segment) + np.sum(windows.window_observed))
    sigma2 = sigma**2
    value = -0.5 * (num_observed * (LOG_2PI + jnp.log(sigma2)) + jnp.sum(logf)
                    + quad / sigma2)
    return lax.cond(ok, lambda: value, fallback)
