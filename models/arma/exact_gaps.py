"""Exact ARMA log-likelihood of a series with gaps at known places: the covariance recursion
only where it moves, a scalar recursion everywhere.

The Kalman filter's covariance recursion (P_t, F_t and the gain k_t = P_t e_1 / F_t) does
not depend on the values, only on the parameters and on *where* values are missing. Away
from gaps it sits at its limit (for an invertible MA part: P = sigma^2 R R', F = sigma^2,
k = R, the conditional residual recursion). After a gap it moves, and it is back within
``tol`` of that limit after at most K_0 observed steps, K_0 the number of steps the
recursion takes from the stationary covariance P0 to the limit with no gap: the covariance
predicted after any gap is at most P0 (it is a conditional variance of a stationary state)
and at least the limit, and the Riccati map is monotone, so the recursion after a gap is
squeezed between the limit and the no-gap path from P0.

So, when the gap positions are known at trace time (``y`` a concrete array, as NumPyro's
samplers pass observed data, closed over), this module

1. marks the *disturbed* steps: the first W of the series (the start from P0) and the W
   after each gap, for a static window W >= K_0 (K_0 from a forward-only probe; a larger
   K_0 falls back to the full filter), merged into clusters, each starting from P0 (the
   first) or from the limit (all others);
2. runs the covariance recursion on the clusters only, all at once (a batched scan over
   the longest cluster of a length class; clusters with the same gap pattern are computed
   once), and writes F_t and k_t into series-long arrays that hold the limit elsewhere;
3. runs the state part of the filter as one scalar recursion over the whole series with
   those time-varying gains. Unrolling a_{t+1} = Tm (a_t + k_t v_t) gives the prediction

       a_t[0] = sum_{i<=r} phi_i x_{t-i} + sum_{1<=j<r} k_{t-j}[j] v_{t-j},

   with x_t = y_t - mu where observed and x_t = a_t[0] (the prediction) at a gap, v_t = 0
   there. A lag buffer of p values and r - 1 innovations: the cost of the conditional
   likelihood's reference scan.

Value and gradient by JAX's reverse mode: the covariance part is short (a cluster's length),
the state part has scalar carries. Same number as the full filter (checked to 1e-8 against
statsmodels and the sequential filter in ``tests/test_arma_exact_gaps.py``).
"""

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from patterns.gaussian import LOG_2PI

#: Static windows W the layout is built for; the probe's K_0 picks the smallest W >= K_0.
#: A larger K_0 (an MA root near the unit circle) goes to the full filter.
WINDOWS = (16, 48)


def static_observed(y) -> np.ndarray | None:
    """The observed-value mask of ``y`` as a NumPy array when ``y`` is concrete (known at
    trace time: NumPy data, or a JAX array closed over by a jitted function, as NumPyro
    passes observed data), else None (a traced argument).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = jnp.array([0.1, jnp.nan, 0.3])
        >>> print(static_observed(y))
        [ True False  True]
        >>> print(jax.jit(lambda y: static_observed(y) is None)(y))  # traced: unknown
        True
    """
    if isinstance(y, jax.core.Tracer):
        return None
    try:
        values = np.asarray(y)
    except Exception:  # noqa: BLE001 - anything that is not plain data
        return None
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.floating):
        return None
    return ~np.isnan(values)


def cluster_plan(observed: np.ndarray, window: int, state_size: int):
    """The disturbed stretches of a series with gaps (NumPy, static).

    A cluster is [start, end): the first starts at 0 (covariance P0), every other one at a
    gap that follows at least ``window`` observed steps (covariance at its limit). It ends
    ``window + state_size`` steps after its last gap (the gains k_{t-j}, j < r, still enter
    the prediction r - 1 steps after the covariance settles), cut at the series' end.

    Returns a list of (start, end) pairs.

    Example:
        Gaps at 30 and 33 (one cluster) and at 90, window 8, state size 2:

        >>> import numpy as np
        >>> observed = np.ones(100, bool)
        >>> observed[[30, 33, 90]] = False
        >>> cluster_plan(observed, 8, 2)
        [(0, 10), (30, 44), (90, 100)]
    """
    num_steps = observed.shape[0]
    gaps = np.flatnonzero(~observed)
    reach = window + state_size
    clusters = []
    start, end = 0, min(reach, num_steps)
    for g in gaps:
        if g < end:
            end = min(max(end, int(g) + 1 + reach), num_steps)
        else:
            clusters.append((start, end))
            start, end = int(g), min(int(g) + 1 + reach, num_steps)
    clusters.append((start, end))
    return clusters


def gap_layout(observed: np.ndarray, window: int, state_size: int):
    """Static layout of the clusters for the batched covariance scans.

    Returns (classes, positions): ``classes`` a list of (length, masks (B, length) bool,
    from_start (B,) bool) of *unique* cluster patterns per padded length; ``positions`` a
    list, per class, of (time index (N,), template row (N,), step (N,)) telling where each
    computed step goes in the series. Cached per mask (it is built at trace time)."""
    return _cached_layout(observed.tobytes(), observed.shape[0], window, state_size)


#: At most this many padded cluster lengths (batched scans): each costs compile time.
MAX_CLASSES = 3


@lru_cache(maxsize=16)
def _cached_layout(mask_bytes: bytes, num_steps: int, window: int, state_size: int):
    observed = np.frombuffer(mask_bytes, dtype=bool, count=num_steps)
    clusters = cluster_plan(observed, window, state_size)
    base = window + state_size + 1  # an isolated gap's cluster
    lengths = []
    for start, end in clusters:
        length = base
        while length < end - start:
            length *= 2
        lengths.append(length)
    kept = sorted(set(lengths))[-MAX_CLASSES:]
    by_class: dict[int, dict] = {}
    for (start, end), length in zip(clusters, lengths, strict=True):
        length = max(length, kept[0])
        n = end - start
        mask = np.ones(length, bool)
        mask[:n] = observed[start:end]
        key = (start == 0, mask.tobytes(), n)
        entry = by_class.setdefault(length, {"keys": {}, "masks": [], "first": [],
                                             "t": [], "row": [], "step": []})
        if key not in entry["keys"]:
            entry["keys"][key] = len(entry["masks"])
            entry["masks"].append(mask)
            entry["first"].append(start == 0)
        entry["t"].append(np.arange(start, end))
        entry["row"].append(np.full(n, entry["keys"][key]))
        entry["step"].append(np.arange(n))
    classes, positions = [], []
    for length, entry in sorted(by_class.items()):
        classes.append((length, np.stack(entry["masks"]), np.array(entry["first"])))
        positions.append(tuple(np.concatenate(entry[k]) for k in ("t", "row", "step")))
    return classes, positions


def _cluster_gains(transition: Array, loading: Array, P0: Array, masks: np.ndarray,
                   from_start: np.ndarray):
    """Covariance recursion (sigma = 1) over B clusters at once: F (B, L), gains (B, L, r)
    (k_t = P_t[:, 0] / F_t where observed, 0 at gaps)."""
    phi_padded = transition[:, 0]
    noise = jnp.outer(loading, loading)
    P_start = jnp.where(jnp.asarray(from_start)[:, None, None], P0[None], noise[None])

    def step(P, observed_t):  # P (B, r, r), observed_t (B,)
        F = P[:, 0, 0]
        column = P[:, :, 0]
        gain = jnp.where(observed_t[:, None], column / F[:, None], 0.0)
        P_filtered = P - gain[:, :, None] * column[:, None, :]
        M = (phi_padded[None, :, None] * P_filtered[:, :1, :]
             + jnp.pad(P_filtered[:, 1:, :], ((0, 0), (0, 1), (0, 0))))
        P_next = (M[:, :, :1] * phi_padded[None, None, :]
                  + jnp.pad(M[:, :, 1:], ((0, 0), (0, 0), (0, 1))) + noise[None])
        return P_next, (F, gain)

    _, (F, gains) = lax.scan(step, P_start, jnp.asarray(masks).T)
    return F.T, jnp.swapaxes(gains, 0, 1)


def gap_loglik(y_filled: Array, observed: np.ndarray, layout, mu: Array, phi: Array,
               transition: Array, loading: Array, P0: Array, sigma: Array, *,
               unroll: int = 1) -> Array:
    """Exact log-likelihood by the clustered covariance and the scalar state recursion
    (module docstring).

    Args:
        y_filled: y with 0 at the gaps, shape (T,).
        observed: (T,) NumPy bool, False at the gaps (static).
        layout: from :func:`gap_layout` for a window at least K_0.
        mu, phi, sigma: the ARMA parameters; ``transition`` (r, r) and ``loading`` (r,) the
            state-space system of (phi, theta), ``P0`` (r, r) the stationary state
            covariance at sigma = 1.

    Returns:
        The log-likelihood of the observed values, scalar.
    """
    p = phi.shape[0]
    num_steps = y_filled.shape[0]
    r = loading.shape[0]
    dtype = y_filled.dtype
    classes, positions = layout
    F = jnp.ones(num_steps, dtype)
    gains = jnp.broadcast_to(loading, (num_steps, r))
    for (_, masks, from_start), (t_index, row, step) in zip(classes, positions, strict=True):
        F_c, gains_c = _cluster_gains(transition, loading, P0, masks, from_start)
        F = F.at[t_index].set(F_c[row, step])
        gains = gains.at[t_index].set(gains_c[row, step])
    observed_j = jnp.asarray(observed)
    observed_f = observed_j.astype(dtype)
    # kappa_t[j] = k_{t-j}[j], j = 1 .. r-1 (0 at gaps: no update there)
    kappa = tuple(jnp.concatenate([jnp.zeros(j, dtype), gains[:, j]])[:num_steps]
                  for j in range(1, r))
    deviations = y_filled - mu
    coefficients = [phi[i] for i in range(p)]

    def step(carry, inputs):
        x_lags, v_lags = carry  # p values and r - 1 innovations, most recent first
        d_t, o_t, kappa_t = inputs
        prediction = jnp.zeros((), dtype)
        for coefficient, x in zip(coefficients, x_lags, strict=True):
            prediction = prediction + coefficient * x
        for k, v in zip(kappa_t, v_lags, strict=True):
            prediction = prediction + k * v
        v = o_t * (d_t - prediction)
        x = prediction + v  # d_t where observed, the prediction at a gap
        return ((x,) + x_lags[:-1], (v,) + v_lags[:-1]), v

    zero = jnp.zeros((), dtype)
    _, v = lax.scan(step, ((zero,) * p, (zero,) * (r - 1)), (deviations, observed_f, kappa),
                    unroll=unroll)
    n_obs = int(observed.sum())
    sigma2 = sigma**2
    logF = jnp.sum(observed_f * jnp.log(F))
    quad = jnp.sum(v * v / F)
    return -0.5 * (n_obs * (LOG_2PI + jnp.log(sigma2)) + logF + quad / sigma2)
