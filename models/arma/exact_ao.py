"""Exact ARMA log-likelihood as the conditional recursion plus a small Gaussian correction:
the presample values and the missing values integrated out (the additive-outlier route;
Ljung 1989; Gomez, Maravall & Pena 1999; Newbold 1974).

With x_t = y_t - mu, x_t = sum_i phi_i x_{t-i} + e_t + sum_j theta_j e_{t-j}, run the
conditional recursion with a zero presample and the missing x_t set to 0::

    eps_t = x~_t - sum_i phi_i x~_{t-i} - sum_j theta_j eps_{t-j}     (t = 0 .. T-1)

It is linear and unit lower triangular in x, so exactly ``e = eps + A v``: ``v = (u,
x_mis)``, u the p + q presample values (x_{-1..-p}, e_{-1..-q}) ~ N(0, sigma^2 Omega), x_mis
the m missing values, A = [H, Pi] the response of the recursion to a unit in each. With
Omega = C C', u = C w, A_w = [H C, Pi], M = A_w'A_w + diag(I_{p+q}, 0_m), b = A_w' eps,
integrating e (Jacobian 1), w (standard normal, sigma^2) and x_mis (flat) gives::

    log p(y_obs) = -(T - m)/2 log(2 pi sigma^2) - 1/2 log|M| - (eps'eps - b'M^{-1} b) / (2 sigma^2)

Pieces (all exact, no truncation):

* eps: one forward pass (AR part by shifts, MA part by :func:`patterns.inverse_ma_filter`);
* b: every column of A is a short combination of shifted copies of h, the impulse
  response of the MA filter (a column is a few *atoms*: a coefficient at a time), so
  A'eps gathers z = (MA filter)' eps, one reverse pass of the same filter;
* A'A: sum_t h_{t-a} h_{t-b} = r_{|a-b|} - w_{T-a}' X w_{T-b} for atoms a, b < T, with
  X the solution of the q x q Stein equation X = E_11 + Phi' X Phi (Phi the companion
  matrix of the MA recursion), w_n = (h_n, .., h_{n-q+1}) and r_n = (X e_1)' w_n: gathers
  from the impulse response (by doubling with powers of Phi, no scan), no T x m work.
  With gaps most columns are one atom pattern shifted (:func:`_gap_gram`), so their
  block is one gather per pair of gaps from a lag kernel, not one per pair of atoms;
* log|M| and M^{-1} b: one Cholesky of a (p + q + m) square matrix (dense: O(m^3), which
  is why :func:`models.arma.exact.arma_exact_loglik` takes this route only for few gaps).

The gradient: eps'eps - b'M^{-1}b = min_v |eps + A_w v|^2 + |v_u|^2, so (envelope
theorem) its derivative is that of |e^|^2 + |w^|^2 with the minimiser held fixed, e^ the
conditional residuals of the series completed by the smoothed missing and presample
values: one more MA scan, differentiated by reverse mode; eps, z and the solve carry no
derivative. The value is computed the same way (a sum of squares, not a difference), so
there is no cancellation. log|M| is differentiated as tr(M^{-1} dM), M^{-1} from its
Cholesky factor.

The shapes depend on m, so the series must be concrete (NumPyro passes observed data that
way); the gap *positions* are computed at run time from the series (behind
``lax.optimization_barrier``), so nothing of size m^2 is embedded in the program.
Checked in float64 (values and gradients to 1e-8, measured 1e-13); float32 runs (the
doctests) but no tolerance is claimed for it.

Where the MA part is not comfortably invertible (the largest eigenvalue modulus of the MA
recursion's companion matrix, i.e. of the inverse roots of 1 + theta(z), is >=
:data:`MAX_MA_MODULUS`; tested by the step-down recursion, no eigenvalue solver) or the
presample covariance is near singular (AR and MA factors
that almost cancel), the same program runs the one-pass Kalman route of
:mod:`models.arma.exact_onepass` instead (a cond differentiated inside the branch that
runs, :func:`patterns.cond_with_branch_gradients`: a plain ``lax.cond`` under reverse mode
carries both branches' residuals between two conds and compiled 1.4x longer; under
``vmap`` both branches run).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from models.arma.exact_onepass import arma_system, onepass_loglik
from patterns import inverse_ma_filter, solve_discrete_lyapunov
from patterns.branches import cond_with_branch_gradients
from patterns.gaussian import LOG_2PI

__all__ = ["LAG_KERNELS", "MAX_MA_MODULUS", "ao_loglik", "ao_value", "ma_roots_inside"]

#: Largest modulus of the MA recursion's companion eigenvalues this route takes. The
#: Stein solution X grows like 1 / (1 - rho^2) and the subtraction r_d - w'Xw loses about
#: log10 of that in digits: measured against statsmodels (ARMA(1, 1), 4 gaps, value), T =
#: 2000: 3e-15 at theta = 0.9, 2e-13 at 0.99, 5e-12 at 0.998, 6e-12 at 0.99999; T = 200:
#: at most 3e-14. 0.999 keeps the error near 1e-11 with a margin; non-invertible MA
#: (rho >= 1) has no X at all, and there the eps recursion grows like rho^T.
MAX_MA_MODULUS = 0.999

#: Widest atom (slots per column) whose gram is built block by block (:func:`_gram`): the
#: blocks run fastest for the narrow atoms of ARMA gaps, but their number grows like
#: width^2 / 2 and each is compiled on its own.
GRAM_BLOCK_WIDTH = 4

#: Build the gram of the gap columns from lag kernels (:func:`_gap_gram`) when some gap
#: column can be a regular one (m > p + 2 nd: more gaps than the first nd and the last
#: p + nd, whose atoms may be cut at the ends); ``False``: always from every pair of atoms,
#: the reference the lag kernels are tested against.
LAG_KERNELS = True

#: Smallest pivot of the presample covariance's Cholesky factor (sigma = 1) this route
#: takes: near-cancelling AR and MA factors make Omega singular.
MIN_PRESAMPLE_PIVOT = 1e-6


def _ma_companion(theta: Array) -> Array:
    """Phi (q, q): (h_n, .., h_{n-q+1}) = Phi (h_{n-1}, .., h_{n-q}); q >= 1."""
    q = theta.shape[0]
    return jnp.zeros((q, q), theta.dtype).at[0, :].set(-theta).at[1:, :-1].set(
        jnp.eye(q - 1, dtype=theta.dtype))


def ma_roots_inside(theta: Array, bound: float) -> Array:
    """Whether every inverse root of 1 + theta_1 z + .. + theta_q z^q (every eigenvalue of
    the MA companion matrix) has modulus < ``bound`` (gradient stopped), by the step-down
    (Schur-Cohn) recursion on theta_j / bound^j: its reflection coefficients all lie in
    (-1, 1) exactly when the scaled polynomial's roots lie outside the unit circle. No
    eigenvalue solver (``jnp.linalg.eigvals`` has no GPU kernel); agrees with the
    companion matrix's eigenvalues on 15,000 random theta, q = 1..5.

    Args:
        theta: MA coefficients, shape (q,); q = 0 gives True.
        bound: the largest modulus allowed (exclusive).

    Returns:
        Boolean scalar.

    Example:
        1 + 1.8 z + 0.81 z^2 = (1 + 0.9 z)^2: both inverse roots have modulus 0.9.

        >>> import jax.numpy as jnp
        >>> theta = jnp.array([1.8, 0.81])
        >>> print(bool(ma_roots_inside(theta, 0.95)), bool(ma_roots_inside(theta, 0.85)))
        True False
    """
    theta = lax.stop_gradient(theta)
    q = theta.shape[0]
    if q == 0:
        return jnp.ones((), bool)
    coefficients = [theta[j] / bound ** (j + 1) for j in range(q)]
    ok = jnp.ones((), bool)
    for order in range(q, 0, -1):
        k = coefficients[order - 1]
        ok = ok & (jnp.abs(k) < 1.0)
        scale = 1.0 / jnp.where(ok, 1.0 - k * k, 1.0)  # no division by 0 once failed
        coefficients = [(coefficients[j] - k * coefficients[order - 2 - j]) * scale
                        for j in range(order - 1)]
    return ok


def _presample_cov(phi: Array, theta: Array) -> Array:
    """Omega (p + q, p + q), sigma = 1: covariance of (x_{-1}, .., x_{-p}, e_{-1}, .., e_{-q})."""
    p, q = phi.shape[0], theta.shape[0]
    dtype = phi.dtype
    k = p + q
    omega = jnp.zeros((k, k), dtype)
    if p:
        transition, loading = arma_system(phi, theta)
        P = solve_discrete_lyapunov(transition, jnp.outer(loading, loading))
        gammas = []
        for _ in range(p):  # gamma_j = (Tm^j P0)[0, 0]
            gammas.append(P[0, 0])
            P = transition @ P
        gamma = jnp.stack(gammas)
        lags = np.abs(np.arange(p)[:, None] - np.arange(p)[None, :])
        omega = omega.at[:p, :p].set(gamma[lags])
    if q:
        psi = [jnp.ones((), dtype)]  # MA(inf) weights psi_0 .. psi_{q-1}
        for j in range(1, q):
            value = theta[j - 1]
            for i in range(1, min(j, p) + 1):
                value = value + phi[i - 1] * psi[j - i]
            psi.append(value)
        psi = jnp.stack(psi)
        omega = omega.at[p:, p:].set(jnp.eye(q, dtype=dtype))
        if p:
            # Cov(x_{-a}, e_{-b}) = psi_{b-a} for b >= a (a, b >= 1)
            a, b = np.arange(1, p + 1)[:, None], np.arange(1, q + 1)[None, :]
            cross = jnp.where(b >= a, psi[np.clip(b - a, 0, q - 1)], 0.0)
            omega = omega.at[:p, p:].set(cross).at[p:, :p].set(cross.T)
    return omega


def _presample_atoms(p: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and coefficient indices (k, L) of the presample columns of A, L = max(p, q).

    Coefficient index into (0, 1, -phi_1..-phi_p, -theta_1..-theta_q); 0 is an empty atom.
    x_{-a} enters the recursion's input at t = i - a with -phi_i (i = a..p); e_{-b} at
    t = j - b with -theta_j (j = b..q).
    """
    width = max(p, q, 1)
    positions = np.zeros((p + q, width), np.int64)
    index = np.zeros((p + q, width), np.int64)
    for a in range(1, p + 1):
        for n, i in enumerate(range(a, p + 1)):
            positions[a - 1, n], index[a - 1, n] = i - a, 1 + i
    for b in range(1, q + 1):
        for n, j in enumerate(range(b, q + 1)):
            positions[p + b - 1, n], index[p + b - 1, n] = j - b, 1 + p + j
    return positions, index


def _ma_impulse(theta: Array, indices: Array | None, length: int) -> Array:
    """h_n, the MA filter's impulse response (h_0 = 1, h_n = -sum_j theta_j h_{n-j}, 0 for
    n < 0): the whole array n = 0 .. length - 1 when ``indices`` is None, else only at
    ``indices`` (any integers) by binary powers of the companion matrix. The whole array:
    for q = 1 as the powers (-theta)^n, elementwise (no scan: the same run time as the MA
    scan of a unit impulse inside the route's value + gradient, 0.3 s less CPU to compile,
    ARMA(1, 1) with 82 gaps in 2,284 steps); for q >= 2 by doubling with powers of the
    companion matrix, whose reverse mode is no length-T scan to transpose (measured at T =
    2,284, value + gradient: q = 3 scan 500 us against 110 us)."""
    q = theta.shape[0]
    dtype = theta.dtype
    if q == 0:
        if indices is None:
            return jnp.zeros(length, dtype).at[0].set(1.0)
        return (indices == 0).astype(dtype)
    if q == 1 and indices is None:  # (-theta)^n; n = 0 apart: d/dx x^0 would be 0 * x^-1
        steps = jnp.arange(1, length, dtype=dtype)
        return jnp.concatenate([jnp.ones(1, dtype), jnp.power(-theta[0], steps)])
    companion = _ma_companion(theta)
    if indices is None:
        windows = jnp.eye(q, dtype=dtype)[:1]  # rows s_n' = (Phi^n e_1)'
        power = companion
        while windows.shape[0] < length:  # s_{n+L} = Phi^L s_n
            windows = jnp.concatenate([windows, windows @ power.T])
            power = power @ power
        return windows[:length, 0]
    bits = max(int(length).bit_length(), 1)
    vectors = jnp.broadcast_to(jnp.eye(q, dtype=dtype)[0], indices.shape + (q,))
    power = companion
    n = jnp.maximum(indices, 0)
    for bit in range(bits):
        vectors = jnp.where(((n >> bit) & 1)[..., None] == 1, vectors @ power.T, vectors)
        power = power @ power
    return jnp.where(indices >= 0, vectors[..., 0], 0.0)


def _atoms(phi: Array, theta: Array, gaps: Array, num_steps: int,
           delta: tuple[float, ...] = (1.0,)):
    """The columns of A (presample, then gaps) as atoms: positions and coefficients, both
    (p + q + m, width); an atom outside the series has coefficient 0.

    A missing value at position g enters the recursion's input through delta(L) phi(L):
    at g - nd + j with the coefficient of L^j in delta(L) (1 - sum_i phi_i L^i), nd =
    len(delta) - 1. ``delta = (1,)`` is the ARMA case (x_g at g with 1, at g + i with
    -phi_i); with a differencing polynomial the missing value is a *level* and positions
    index the differenced series (:func:`ao_value`)."""
    p, q = phi.shape[0], theta.shape[0]
    m = gaps.shape[0]
    dtype = phi.dtype
    nd = len(delta) - 1
    width = max(p + 1 + nd, q, 1)
    pre_pos, pre_idx = _presample_atoms(p, q)
    pad = width - pre_pos.shape[1]
    pre_pos = np.pad(pre_pos, ((0, 0), (0, pad)))
    pre_idx = np.pad(pre_idx, ((0, 0), (0, pad)))
    table = jnp.concatenate([jnp.zeros(1, dtype), jnp.ones(1, dtype), -phi, -theta])
    ar_poly = table[1 : p + 2]  # (1, -phi_1, .., -phi_p)
    # delta_k u_g lands in w at g - nd + k; before w's start it is a presample value, which
    # the presample columns already carry, so it is dropped before the AR polynomial acts
    terms = jnp.asarray(delta, dtype)[None, :] * (
        gaps[:, None] - nd + jnp.arange(nd + 1)[None, :] >= 0)
    gap_coef = [sum(terms[:, k] * ar_poly[j - k] for k in range(max(0, j - p), min(j, nd) + 1))
                for j in range(p + 1 + nd)]
    gap_coef = jnp.concatenate([jnp.stack(gap_coef, axis=1),
                                jnp.zeros((m, width - p - 1 - nd), dtype)], axis=1)
    positions = jnp.concatenate([jnp.asarray(pre_pos),
                                 gaps[:, None] - nd + jnp.arange(width)[None, :]])
    coef = jnp.concatenate([table[pre_idx], gap_coef])
    inside = (positions >= 0) & (positions < num_steps)
    return jnp.where(inside, positions, 0), jnp.where(inside, coef, 0.0)


def _stein_solution(theta: Array) -> Array:
    """X (q1, q1), q1 = max(q, 1): X = Phi' X Phi + E_11 (Phi the MA companion matrix)."""
    q1 = max(theta.shape[0], 1)
    theta1 = theta if theta.shape[0] else jnp.zeros(1, theta.dtype)
    return solve_discrete_lyapunov(_ma_companion(theta1).T,
                                   jnp.zeros((q1, q1), theta.dtype).at[0, 0].set(1.0))


def _impulse_and_autocovariance(theta: Array, X: Array, length: int) -> tuple[Array, Array]:
    """The impulse response h_0 .. h_{length-1} with q1 - 1 zeros in front (so that
    ``h_padded[n + q1 - 1]`` is h_n for n >= -(q1 - 1)), and r_n = (X e_1)' w_n for
    n = 0 .. length - 1 (:func:`_gram`)."""
    q1 = X.shape[0]
    h = _ma_impulse(theta, None, length)
    h_padded = jnp.concatenate([jnp.zeros(q1 - 1, h.dtype), h])
    return h_padded, sum(X[j, 0] * h_padded[q1 - 1 - j : q1 - 1 - j + length]
                         for j in range(q1))


def _gram(phi: Array, theta: Array, positions: Array, coef: Array, num_steps: int,
          whole_impulse: bool) -> Array:
    """A'A (K, K) for the atoms: sum_{t<T} h_{t-a} h_{t-b} = r_{|a-b|} - w_{T-a}' X w_{T-b}
    (module docstring), X = Phi' X Phi + E_11, r_n = (X e_1)' w_n."""
    q = theta.shape[0]
    q1 = max(q, 1)
    X = _stein_solution(theta)
    width = coef.shape[1]
    wide = width > GRAM_BLOCK_WIDTH
    if whole_impulse:  # gaps: lags anywhere in 0 .. T
        h_padded, r = _impulse_and_autocovariance(theta, X, num_steps + 1)

        def impulse_at(ends):
            return h_padded[ends + q1 - 1]

        def lagged(lags):
            return r[lags]
    else:  # presample only: lags below max(p, q), ends near T
        def impulse_at(ends):
            return _ma_impulse(theta, ends, num_steps + 1)

        def lagged(lags):
            back = lags[..., None] - jnp.arange(q1)[None, None, :]
            return jnp.sum(X[None, None, :, 0] * _ma_impulse(theta, back, num_steps + 1),
                           axis=-1)
    num_columns = coef.shape[0]
    if wide:
        # wide atoms (seasonal and differencing polynomials): every atom against every
        # atom in one (K width, K width) array, summed per column: a program of constant
        # size, where width^2 / 2 blocks would each be compiled (27 slots: 378 blocks, a
        # compile of minutes)
        flat_positions, flat_coef = positions.reshape(-1), coef.reshape(-1)
        # w_{T-a} for every atom a, (K width, q1)
        flat_w = impulse_at(num_steps - flat_positions[:, None] - jnp.arange(q1)[None, :])
        lags = jnp.abs(flat_positions[:, None] - flat_positions[None, :])
        pairs = flat_coef[:, None] * (lagged(lags) - flat_w @ X @ flat_w.T) * flat_coef[None, :]
        return pairs.reshape(num_columns, width, num_columns, width).sum(axis=(1, 3))
    # One (K, K) block per pair of atom slots (i, j), the (j, i) block its transpose: no
    # (K, width, K, width) array, whose reduction and its transpose XLA:CPU runs slowly.
    # w_{T-a} for the atoms of each slot i: (K, q1) each
    w = [impulse_at(num_steps - positions[:, i, None] - jnp.arange(q1)[None, :])
         for i in range(width)]
    gram = jnp.zeros((num_columns,) * 2, phi.dtype)
    for i in range(width):
        for j in range(i, width):
            lags = jnp.abs(positions[:, i, None] - positions[None, :, j])
            block = coef[:, i, None] * (lagged(lags) - w[i] @ X @ w[j].T) * coef[None, :, j]
            gram = gram + (block if i == j else block + block.T)
    return gram


def _gap_gram(phi: Array, theta: Array, positions: Array, coef: Array, gaps: Array,
              num_steps: int, delta: tuple[float, ...]) -> Array:
    """A'A (K, K) with gaps, K = k + m (k = p + q presample columns, then the m gaps), by
    lag kernels instead of one gather per pair of atoms.

    A gap away from the series' ends has the same atoms as every other such gap, shifted:
    coefficients kappa = delta(L)(1 - phi(L)) at g - nd, .., g - nd + width - 1. So for
    two such gaps sum_{i,j} kappa_i kappa_j r_{|g_a - g_b + i - j|} = rho2(|g_a - g_b|),
    rho2(n) = sum_l c_l r_{|n + l|} with c the autocorrelation of kappa, and a presample
    or end column against such a gap is sum_i coef_si rho1(pos_si - g_b + nd), rho1(n) =
    sum_j kappa_j r_{|n - j|}: one gather per pair of columns, where :func:`_gram` gathers
    width^2 (and its reverse mode scatters as many). The columns whose atoms differ (the
    presample, the first nd gaps, whose differencing terms may fall before the start, and
    the last p + nd, whose atoms may pass the end: gaps are distinct and sorted, so no
    other gap can) get :func:`_gram`'s exact sum among themselves. The end correction
    U X U' (U = sum_i coef_i w_{T - pos_i}, (K, q)) is exact for every column.

    Equal to :func:`_gram` in value and gradient (tested through :func:`ao_value`, ten
    orders and gap layouts, to 1e-13 and 1e-11); value + gradient of the route on the
    differenced weekly CO2 series (82 gaps in 2,284 steps), process CPU, side by side in
    one process: ARMA(2, 1) 979 against 1,630 us, ARMA(1, 2) 813 against 968 us, ARMA(1,
    1) 636 against 579 us (width 2: four gathers per pair of gaps before, one now, but
    the rest of the call dominates)."""
    p, q = phi.shape[0], theta.shape[0]
    k, m = p + q, gaps.shape[0]
    nd = len(delta) - 1
    dtype = phi.dtype
    width = coef.shape[1]
    num_columns = k + m
    length = num_steps + nd  # T: gaps index the levels
    q1 = max(q, 1)
    X = _stein_solution(theta)
    num_lags = length + 2 * width + 1
    h_padded, r = _impulse_and_autocovariance(theta, X, num_lags)
    r_sym = jnp.concatenate([r[:0:-1], r])  # r_{|n|} at n + num_lags - 1
    zero = num_lags - 1

    ar_poly = jnp.concatenate([jnp.ones(1, dtype), -phi])
    kappa = [sum(delta[i] * ar_poly[j - i] for i in range(max(0, j - p), min(j, nd) + 1))
             for j in range(p + 1 + nd)]
    # rho1(n), n = -length .. length; rho2(n), n = 0 .. length - 1
    rho1 = sum(kappa[j] * r_sym[zero - length - j : zero + length + 1 - j]
               for j in range(len(kappa)))
    autocorrelation = {lag: sum(kappa[i] * kappa[i + lag] for i in range(len(kappa) - lag))
                       for lag in range(len(kappa))}
    rho2 = sum(autocorrelation[abs(lag)] * r_sym[zero + lag : zero + lag + length]
               for lag in range(1 - len(kappa), len(kappa)))

    special = sorted(set(range(k)) | set(range(k, k + min(m, nd)))
                     | set(range(max(k, num_columns - p - nd), num_columns)))
    special = np.asarray(special, np.int64)
    gram = jnp.zeros((num_columns, num_columns), dtype)
    gram = gram.at[k:, k:].set(rho2[jnp.abs(gaps[:, None] - gaps[None, :])])
    # special columns against every gap taken as regular: (S, m)
    offsets = positions[special][:, :, None] - gaps[None, None, :] + nd + length
    rows = jnp.sum(coef[special][:, :, None] * rho1[offsets], axis=1)
    gram = gram.at[special, k:].set(rows).at[k:, special].set(rows.T)
    # special against special: every pair of atoms
    flat_positions = positions[special].reshape(-1)
    flat_coef = coef[special].reshape(-1)
    lags = jnp.abs(flat_positions[:, None] - flat_positions[None, :])
    pairs = flat_coef[:, None] * r[lags] * flat_coef[None, :]
    size = special.shape[0]
    block = pairs.reshape(size, width, size, width).sum(axis=(1, 3))
    gram = gram.at[special[:, None], special[None, :]].set(block)
    # the end correction, U X U'
    ends = num_steps - positions[:, :, None] - jnp.arange(q1)[None, None, :]
    U = jnp.sum(coef[:, :, None] * h_padded[ends + q1 - 1], axis=1)
    return gram - U @ X @ U.T


@jax.custom_vjp
def _logdet_by_factor(matrix: Array, factor: Array) -> Array:
    """log|M| from M's Cholesky factor L (given, without a derivative), differentiated as
    d log|M| = tr(M^{-1} dM): M^{-1} = L^{-T} L^{-1} by two triangular solves, about half
    the cost of reverse mode through the factorisation."""
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor)))


def _logdet_by_factor_fwd(matrix, factor):
    return _logdet_by_factor(matrix, factor), factor


def _logdet_by_factor_bwd(factor, cotangent):
    eye = jnp.eye(factor.shape[0], dtype=factor.dtype)
    inverse_factor = lax.linalg.triangular_solve(factor, eye, left_side=True, lower=True)
    # L^{-T} (L^{-1}) by a second triangular solve: XLA:CPU's dot with a transposed operand
    # took 2.4x as long (72 against 30 us at 83 x 83, profiled)
    inverse = lax.linalg.triangular_solve(factor, inverse_factor, left_side=True, lower=True,
                                          transpose_a=True)
    return cotangent * inverse, jnp.zeros_like(factor)


_logdet_by_factor.defvjp(_logdet_by_factor_fwd, _logdet_by_factor_bwd)


def ao_value(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array,
             num_missing: int, unroll: int = 8, delta: tuple[float, ...] = (1.0,)) -> Array:
    """The route's formula (module docstring), no fallback: exact wherever the MA part is
    invertible and Omega is positive definite.

    The gradient: the quadratic term is min_v |eps + A_w v|^2 + |v_u|^2, so its
    derivative is that of |e(x^, u^)|^2 + |w^|^2 at the minimiser held fixed (the envelope
    theorem): the conditional residuals of the series completed by the smoothed missing
    values x^ and presample values u^ = C w^, by one MA scan differentiated by reverse
    mode. eps, z and the solve are computed without a derivative; log|M| is differentiated
    as tr(M^{-1} dM) and M through the gathers of the impulse response.

    With a differencing polynomial ``delta`` (nd = len(delta) - 1 > 0) the ARMA is that
    of w = delta(L) y (length T - nd) and the m missing values are *levels* of y, each a
    column of nd + p + 1 atoms (:func:`_atoms`), integrated with a flat prior like the
    ARMA's missing values: the exact diffuse likelihood of an ARIMA series with gaps
    (statsmodels' ``SARIMAX(..., use_exact_diffuse=True)`` plus nd log(2 pi) / 2, the
    constant its diffuse steps add). A complete series gives the ARMA likelihood of w.
    The gaps are filled with the last observed level before them (the first observed one
    for leading gaps) before differencing: the integral does not depend on the fill, and a
    near one keeps the minimiser small.

    Args:
        y: series (T,), NaN where missing; ``num_missing`` of them (static).
        mu, phi, theta, sigma: (), (p,), (q,), (); with ``delta``, mu is the mean of w.
        num_missing: m, the number of NaN in y (static: it sets the shapes).
        unroll: steps per iteration of the MA scans.
        delta: the differencing polynomial's coefficients (delta_0 = 1, static); (1,) for
            none.

    Returns:
        The log-likelihood, scalar.

    Example:
        AR(1) with a gap: N(0, 1 / 0.75) for y_1, then y_3 given y_1 two steps back.

        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> y = jnp.array([0.8, jnp.nan, -0.4])
        >>> ll = ao_value(y, jnp.array(0.0), jnp.array([0.5]), jnp.zeros(0), jnp.array(1.0), 1)
        >>> want = norm.logpdf(0.8, 0.0, (1 / 0.75) ** 0.5) + norm.logpdf(-0.4, 0.2, 1.25 ** 0.5)
        >>> print(bool(jnp.allclose(ll, want)))
        True
    """
    p, q = phi.shape[0], theta.shape[0]
    k, m = p + q, num_missing
    nd = len(delta) - 1
    num_steps = y.shape[0] - nd
    dtype = y.dtype
    observed = ~jnp.isnan(y)
    if nd:
        levels = _forward_filled(y, observed)

        def differenced(series):  # sum_k delta_k series_{t + nd - k}, (T - nd,)
            return sum(delta[j] * series[nd - j : nd - j + num_steps] for j in range(nd + 1))

        x = differenced(levels) - mu
    else:
        x = jnp.where(observed, y - mu, 0.0)

    def ar_part(series, phi):  # x_t - sum_i phi_i x_{t-i}, zero presample
        out = series
        for i in range(1, p + 1):
            out = out - phi[i - 1] * jnp.concatenate([jnp.zeros(i, dtype), series[:-i]])
        return out

    if k + m == 0:
        quad, logdet = jnp.sum(x * x), jnp.zeros((), dtype)
    else:
        gaps = (jnp.nonzero(~observed, size=m, fill_value=0)[0] if m
                else jnp.zeros(0, jnp.arange(1).dtype))
        positions, coef = _atoms(phi, theta, gaps, num_steps, delta)
        gram = (_gap_gram(phi, theta, positions, coef, gaps, num_steps, delta)
                if LAG_KERNELS and m > p + 2 * nd
                else _gram(phi, theta, positions, coef, num_steps, whole_impulse=m > 0))
        chol = jnp.linalg.cholesky(_presample_cov(phi, theta)) if k else None
        if k:  # presample columns through C (Omega = C C'); M = A_w'A_w + diag(I_k, 0)
            top = chol.T @ gram[:k]
            gram = jnp.concatenate([
                jnp.concatenate([top[:, :k] @ chol + jnp.eye(k, dtype=dtype), top[:, k:]], 1),
                jnp.concatenate([top[:, k:].T, gram[k:, k:]], 1)], 0)
        factor = jnp.linalg.cholesky(lax.stop_gradient(gram))
        logdet = _logdet_by_factor(gram, factor)

        # the minimiser v^ = -M^{-1} A_w'eps, without a derivative
        frozen = lax.stop_gradient((x, phi, theta, positions, coef, chol, factor))
        x0, phi0, theta0, positions0, coef0, chol0, factor0 = frozen
        eps = inverse_ma_filter(ar_part(x0, phi0), theta0, unroll=unroll)
        z = inverse_ma_filter(eps, theta0, unroll=unroll, reverse=True)
        b = jnp.sum(coef0 * z[positions0], axis=1)
        if k:
            b = jnp.concatenate([chol0.T @ b[:k], b[k:]])
        v = -jax.scipy.linalg.cho_solve((factor0, True), b)

        # the completed series' residuals, differentiable in (mu, phi, theta); the smoothed
        # missing values are held fixed (with nd > 0 the levels: fill + v, the fill is data)
        if nd:
            smoothed = lax.stop_gradient(levels[gaps]) + v[k:] if m else None
            completed = differenced(levels.at[gaps].set(smoothed) if m else levels) - mu
        else:
            completed = x.at[gaps].set(v[k:]) if m else x
        inputs = ar_part(completed, phi)
        if k:
            presample = chol @ v[:k]  # u^ = C w^
            pre_pos, pre_coef = positions[:k], coef[:k]
            inputs = inputs.at[pre_pos.reshape(-1)].add(
                (pre_coef * presample[:, None]).reshape(-1))
        residuals = inverse_ma_filter(inputs, theta, unroll=unroll)
        quad = jnp.sum(residuals * residuals) + jnp.sum(v[:k] ** 2)
    num_observed = num_steps - m
    sigma2 = sigma**2
    return -0.5 * (num_observed * (LOG_2PI + jnp.log(sigma2)) + logdet + quad / sigma2)


def _forward_filled(y: Array, observed: Array) -> Array:
    """y with each NaN replaced by the last observed value before it (the first observed
    value for leading NaN), (T,)."""
    positions = jnp.arange(y.shape[0])
    last = lax.cummax(jnp.where(observed, positions, -1))
    source = jnp.where(last < 0, jnp.argmax(observed), last)
    return jnp.where(observed, y, y[source])


def _route_applies(phi: Array, theta: Array) -> Array:
    """Whether :func:`ao_value` is used: MA modulus below :data:`MAX_MA_MODULUS` and the
    presample covariance's Cholesky pivots above :data:`MIN_PRESAMPLE_PIVOT` (forward
    only: it picks a branch)."""
    phi, theta = lax.stop_gradient(phi), lax.stop_gradient(theta)
    ok = ma_roots_inside(theta, MAX_MA_MODULUS)
    if phi.shape[0] + theta.shape[0]:
        pivots = jnp.diagonal(jnp.linalg.cholesky(_presample_cov(phi, theta)))
        ok = ok & jnp.all(pivots > MIN_PRESAMPLE_PIVOT)
    return ok


def ao_loglik(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array,
              num_missing: int, tol: float, unroll: int = 8, delta: tuple[float, ...] = (1.0,),
              fallback: Callable[..., Array] | None = None,
              fallback_operands: tuple[Any, ...] = ()) -> Array:
    """Exact log-likelihood of the observed values of ``y`` by this module's route, with
    the one-pass Kalman route (:func:`models.arma.exact_onepass.onepass_loglik`) where it
    does not apply: a near non-invertible MA part or a near-singular presample covariance
    (one cond, differentiated inside the branch taken:
    :func:`patterns.branches.cond_with_branch_gradients`; under ``vmap`` both run).

    Args:
        y: series, shape (T,), NaN where missing (may be traced: a series closed over
            becomes a constant of the trace); its gaps' count must be known.
        mu, phi, theta, sigma: process mean (), AR (p,), MA (q,) coefficients and the
            innovation sd (); checked by the caller.
        num_missing: m, the number of NaN in ``y`` (static: it sets the shapes).
        tol: the fallback's steady-state test (see :func:`onepass_loglik`).
        unroll: steps per iteration of the MA scans.
        delta: differencing polynomial (:func:`ao_value`); (1,) for none.
        fallback: the likelihood where the route does not apply, a function of
            ``*fallback_operands``; ``None``: the one-pass route (only for ``delta = (1,)``).
        fallback_operands: everything ``fallback`` depends on that may be differentiated
            (passed as operands, not closed over: the cond's derivative rule must see them).

    Returns:
        The log-likelihood, scalar.

    Example:
        ARMA(1, 1) with a gap, against the Kalman filter of the same model.

        >>> import jax.numpy as jnp
        >>> from models.arma.exact import arma_exact_loglik
        >>> y = jnp.array([0.3, -0.1, jnp.nan, 0.8, 0.2])
        >>> args = (jnp.array(0.0), jnp.array([0.5]), jnp.array([0.4]), jnp.array(1.0))
        >>> print(bool(jnp.allclose(ao_loglik(y, *args, 1, 1e-6),
        ...                         arma_exact_loglik(y, *args, method="sequential"))))
        True
    """
    if fallback is None:
        if len(delta) > 1:
            raise ValueError("ao_loglik: a differencing polynomial needs its own fallback")

        def fallback(y, mu, phi, theta, sigma):
            return onepass_loglik(y, mu, phi, theta, sigma, tol, unroll)

        fallback_operands = (y, mu, phi, theta, sigma)

    def route(y, mu, phi, theta, sigma, _):
        # The series is a constant of the program; the gap positions are computed from it
        # at run time (XLA would otherwise constant-fold the m x m index arithmetic).
        series = lax.optimization_barrier(y)
        return ao_value(series, mu, phi, theta, sigma, num_missing, unroll, delta)

    def otherwise(y, mu, phi, theta, sigma, others):
        return fallback(*others)

    # A plain lax.cond's reverse mode carries both branches' residuals between a forward
    # and a backward cond: measured 4.3 s of compilation against 2.9 s this way (CO2 gaps).
    return cond_with_branch_gradients(_route_applies(phi, theta), route, otherwise,
                                      y, mu, phi, theta, sigma, tuple(fallback_operands))
