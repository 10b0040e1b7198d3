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
  from one length-T impulse response, no T x m work;
* log|M| and M^{-1} b: one Cholesky of a (p + q + m) square matrix (dense).

The shapes depend on m, so the series must be concrete (NumPyro passes observed data that
way); the gap *positions* are computed at run time from the series (behind
``lax.optimization_barrier``), so nothing of size m^2 is embedded in the program.
float64 is what it is written and tested for (float32 loses the b'M^{-1}b cancellation
at T in the thousands).

Where the MA part is not comfortably invertible (largest root modulus of the MA
recursion's companion matrix >= :data:`MAX_MA_MODULUS`) or the presample covariance is
near singular (AR and MA factors that almost cancel), the same program runs the one-pass
Kalman route of :mod:`models.arma.exact_onepass` instead (``lax.cond``).
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero

from models.arma.exact_onepass import onepass_loglik
from patterns import inverse_ma_filter, solve_discrete_lyapunov
from patterns.gaussian import LOG_2PI

__all__ = ["MAX_MA_MODULUS", "ao_loglik", "ao_value"]

#: Largest modulus of the MA recursion's companion eigenvalues this route takes. Beyond
#: it the Stein solution X grows like 1 / (1 - rho^2) and the cancellation in
#: eps'eps - b'M^{-1}b and in r_d - w'Xw costs about log10 of that in digits; at 0.999
#: that is under 3 digits of 16 (measured: see the module's tests), and non-invertible
#: MA (rho >= 1) has no stationary X at all.
MAX_MA_MODULUS = 0.999

#: Smallest pivot of the presample covariance's Cholesky factor (sigma = 1) this route
#: takes: near-cancelling AR and MA factors make Omega singular.
MIN_PRESAMPLE_PIVOT = 1e-6


def _ma_companion(theta: Array) -> Array:
    """Phi (q, q): (h_n, .., h_{n-q+1}) = Phi (h_{n-1}, .., h_{n-q}); q >= 1."""
    q = theta.shape[0]
    return jnp.zeros((q, q), theta.dtype).at[0, :].set(-theta).at[1:, :-1].set(
        jnp.eye(q - 1, dtype=theta.dtype))


def _ma_modulus(theta: Array) -> Array:
    """Largest |eigenvalue| of the MA companion matrix (gradient stopped)."""
    theta = lax.stop_gradient(theta)
    if theta.shape[0] == 0:
        return jnp.zeros((), theta.dtype)
    if theta.shape[0] == 1:
        return jnp.abs(theta[0])
    return jnp.max(jnp.abs(jnp.linalg.eigvals(_ma_companion(theta))))


def _presample_cov(phi: Array, theta: Array) -> Array:
    """Omega (p + q, p + q), sigma = 1: covariance of (x_{-1}, .., x_{-p}, e_{-1}, .., e_{-q})."""
    p, q = phi.shape[0], theta.shape[0]
    dtype = phi.dtype
    k = p + q
    omega = jnp.zeros((k, k), dtype)
    if p:
        r = max(p, q + 1)
        phi_padded = jnp.zeros(r, dtype).at[:p].set(phi)
        loading = jnp.zeros(r, dtype).at[0].set(1.0).at[1 : q + 1].set(theta)
        transition = jnp.zeros((r, r), dtype).at[:, 0].set(phi_padded)
        transition = transition.at[:-1, 1:].set(jnp.eye(r - 1, dtype=dtype))
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


def _gram_and_projection(series: Array, mu: Array, phi: Array, theta: Array,
                         num_missing: int, unroll: int) -> tuple[Array, Array, Array]:
    """eps'eps (), b = A_w'eps (K,) and M = A_w'A_w + diag(I_k, 0) (K, K), K = p + q + m:
    everything of the formula that touches the series (module docstring)."""
    p, q = phi.shape[0], theta.shape[0]
    k, m = p + q, num_missing
    num_steps = series.shape[0]
    dtype = series.dtype
    observed = ~jnp.isnan(series)
    x = jnp.where(observed, series - mu, 0.0)

    # eps: the conditional recursion, zero presample, gaps at 0
    ar_part = x
    for i in range(1, p + 1):
        ar_part = ar_part - phi[i - 1] * jnp.concatenate([jnp.zeros(i, dtype), x[:-i]])
    eps = inverse_ma_filter(ar_part, theta, unroll=unroll)
    sum_sq = jnp.sum(eps * eps)
    if k + m == 0:
        return sum_sq, jnp.zeros(0, dtype), jnp.zeros((0, 0), dtype)

    # the columns of A as atoms: (K, width) positions and coefficients
    width = max(p + 1, q, 1)
    pre_pos, pre_idx = _presample_atoms(p, q)
    pad = width - pre_pos.shape[1]
    pre_pos = np.pad(pre_pos, ((0, 0), (0, pad)))
    pre_idx = np.pad(pre_idx, ((0, 0), (0, pad)))
    table = jnp.concatenate([jnp.zeros(1, dtype), jnp.ones(1, dtype), -phi, -theta])
    gaps = (jnp.nonzero(~observed, size=m, fill_value=0)[0] if m
            else jnp.zeros(0, jnp.arange(1).dtype))
    gap_idx = np.zeros((m, width), np.int64)
    gap_idx[:, 0] = 1  # x_g enters at g with 1 and at g + i with -phi_i
    gap_idx[:, 1 : p + 1] = 2 + np.arange(p)
    positions = jnp.concatenate([jnp.asarray(pre_pos),
                                 gaps[:, None] + jnp.arange(width)[None, :]])
    index = jnp.concatenate([jnp.asarray(pre_idx), jnp.asarray(gap_idx)])
    inside = positions < num_steps
    coef = jnp.where(inside, table[index], 0.0)
    positions = jnp.where(inside, positions, 0)

    # b = A'eps through z = (MA filter)' eps, one reverse pass
    z = inverse_ma_filter(eps, theta, unroll=unroll, reverse=True)
    b = jnp.sum(coef * z[positions], axis=1)

    # A'A from the MA impulse response h and the Stein solution X
    q1 = max(q, 1)
    theta1 = theta if q else jnp.zeros(1, dtype)
    impulse = jnp.zeros(num_steps + 1, dtype).at[0].set(1.0)
    h = inverse_ma_filter(impulse, theta, unroll=unroll)
    h_padded = jnp.concatenate([jnp.zeros(q1 - 1, dtype), h])  # h_n at n + q1 - 1
    X = solve_discrete_lyapunov(_ma_companion(theta1).T,
                                jnp.zeros((q1, q1), dtype).at[0, 0].set(1.0))
    # r_n = sum_j X[j, 0] h_{n-j} = sum_{t >= 0} h_t h_{t+n}, n = 0 .. T
    r = sum(X[j, 0] * h_padded[q1 - 1 - j : q1 - 1 - j + num_steps + 1] for j in range(q1))
    flat_pos, flat_coef = positions.reshape(-1), coef.reshape(-1)
    # sum_{t < T} h_{t-a} h_{t-b} = r_{|a-b|} - w_{T-a}' X w_{T-b}
    w = jnp.stack([h_padded[num_steps - flat_pos - j + q1 - 1] for j in range(q1)], axis=1)
    gram = r[jnp.abs(flat_pos[:, None] - flat_pos[None, :])] - w @ X @ w.T
    gram = (flat_coef[:, None] * gram * flat_coef[None, :]).reshape(
        k + m, width, k + m, width).sum(axis=(1, 3))

    # presample columns through C (Omega = C C'), and M = A_w'A_w + diag(I_k, 0)
    if k:
        chol = jnp.linalg.cholesky(_presample_cov(phi, theta))
        top = chol.T @ gram[:k]  # (k, K)
        gram = jnp.concatenate([
            jnp.concatenate([top[:, :k] @ chol + jnp.eye(k, dtype=dtype), top[:, k:]], 1),
            jnp.concatenate([top[:, k:].T, gram[k:, k:]], 1)], 0)
        b = jnp.concatenate([chol.T @ b[:k], b[k:]])
    return sum_sq, b, gram


@partial(jax.custom_jvp, nondiff_argnums=(5, 6))
def _correction(series, mu, phi, theta, unused, num_missing, unroll):
    """(eps'eps - b'M^{-1}b, log|M|): the sigma-free parts of the formula."""
    del unused
    sum_sq, b, gram = _gram_and_projection(series, mu, phi, theta, num_missing, unroll)
    if b.shape[0] == 0:
        return sum_sq, jnp.zeros((), sum_sq.dtype)
    factor = jnp.linalg.cholesky(gram)
    solved = jax.scipy.linalg.cho_solve((factor, True), b)
    return sum_sq - b @ solved, 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor)))


@partial(_correction.defjvp, symbolic_zeros=True)
def _correction_jvp(num_missing, unroll, primals, tangents):
    """Forward sensitivities along the 1 + p + q directions (mu, phi, theta), carried
    through the scans and the gathers by ``vmap`` of ``jvp`` (no reverse pass over T and
    no scatter of the m^2 gathers), then the algebra by hand: d log|M| = tr(M^{-1} dM),
    d(b'M^{-1}b) = 2 s'db - s'dM s with s = M^{-1} b. The series has no tangent: this
    route only runs on a concrete series."""
    series, mu, phi, theta, unused = primals
    _, mu_dot, phi_dot, theta_dot, _ = tangents
    p, q = phi.shape[0], theta.shape[0]
    dtype = series.dtype
    basis = jnp.eye(1 + p + q, dtype=dtype)

    def along(direction):
        return jax.jvp(
            lambda m_, f_, t_: _gram_and_projection(series, m_, f_, t_, num_missing, unroll),
            (mu, phi, theta), (direction[0], direction[1 : p + 1], direction[p + 1 :]))

    (sum_sq, b, gram), (d_sum_sq, d_b, d_gram) = jax.vmap(
        along, out_axes=((None, None, None), 0))(basis)
    if b.shape[0] == 0:
        quad, logdet = sum_sq, jnp.zeros((), dtype)
        d_quad, d_logdet = d_sum_sq, jnp.zeros(basis.shape[0], dtype)
    else:
        factor = jnp.linalg.cholesky(gram)
        solved = jax.scipy.linalg.cho_solve((factor, True), b)
        inverse = jax.scipy.linalg.cho_solve((factor, True), jnp.eye(b.shape[0], dtype=dtype))
        quad = sum_sq - b @ solved
        logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor)))
        d_quad = (d_sum_sq - 2.0 * d_b @ solved
                  + jnp.einsum("i,nij,j->n", solved, d_gram, solved))
        d_logdet = jnp.einsum("ij,nij->n", inverse, d_gram)
    direction = jnp.concatenate([
        jnp.zeros(1, dtype) if isinstance(mu_dot, SymbolicZero) else jnp.reshape(mu_dot, (1,)),
        jnp.zeros(p, dtype) if isinstance(phi_dot, SymbolicZero) else phi_dot,
        jnp.zeros(q, dtype) if isinstance(theta_dot, SymbolicZero) else theta_dot,
    ])
    return (quad, logdet), (direction @ d_quad, direction @ d_logdet)


def ao_value(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array,
             num_missing: int, unroll: int = 8) -> Array:
    """The route's formula (module docstring), no fallback: exact wherever the MA part is
    invertible and Omega is positive definite.

    Args:
        y: series (T,), NaN where missing; ``num_missing`` of them (static).
        mu, phi, theta, sigma: (), (p,), (q,), ().
        num_missing: m, the number of NaN in y (static: it sets the shapes).
        unroll: steps per iteration of the MA scans.

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
    quad, logdet = _correction(y, mu, phi, theta, None, num_missing, unroll)
    num_observed = y.shape[0] - num_missing
    sigma2 = sigma**2
    return -0.5 * (num_observed * (LOG_2PI + jnp.log(sigma2)) + logdet + quad / sigma2)


def _route_applies(phi: Array, theta: Array) -> Array:
    """Whether :func:`ao_value` is used: MA modulus below :data:`MAX_MA_MODULUS` and the
    presample covariance's Cholesky pivots above :data:`MIN_PRESAMPLE_PIVOT` (forward
    only: it picks a branch)."""
    phi, theta = lax.stop_gradient(phi), lax.stop_gradient(theta)
    ok = _ma_modulus(theta) < MAX_MA_MODULUS
    if phi.shape[0] + theta.shape[0]:
        pivots = jnp.diagonal(jnp.linalg.cholesky(_presample_cov(phi, theta)))
        ok = ok & jnp.all(pivots > MIN_PRESAMPLE_PIVOT)
    return ok


def ao_loglik(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array, tol: float,
              unroll: int = 8) -> Array:
    """Exact log-likelihood of the observed values of ``y`` by this module's route, with
    the one-pass Kalman route (:func:`models.arma.exact_onepass.onepass_loglik`) where it
    does not apply: a near non-invertible MA part, a near-singular presample covariance,
    or a series that is not concrete (a jit argument, a ``vmap`` over the data, residuals
    of a regression): the number of gaps sets this route's shapes.

    Args:
        y: series, shape (T,), NaN where missing.
        mu, phi, theta, sigma: process mean (), AR (p,), MA (q,) coefficients and the
            innovation sd (); checked by the caller.
        tol: the fallback's steady-state test (see :func:`onepass_loglik`).
        unroll: steps per iteration of the MA scans.

    Returns:
        The log-likelihood, scalar.

    Example:
        ARMA(1, 1) with a gap, against the Kalman filter of the same model.

        >>> import jax.numpy as jnp
        >>> from models.arma.exact import arma_exact_loglik
        >>> y = jnp.array([0.3, -0.1, jnp.nan, 0.8, 0.2])
        >>> args = (jnp.array(0.0), jnp.array([0.5]), jnp.array([0.4]), jnp.array(1.0))
        >>> print(bool(jnp.allclose(ao_loglik(y, *args, 1e-6),
        ...                         arma_exact_loglik(y, *args, method="sequential"))))
        True
    """
    if isinstance(y, jax.core.Tracer):
        return onepass_loglik(y, mu, phi, theta, sigma, tol, unroll)
    num_missing = int(np.isnan(np.asarray(y)).sum())
    # The series is a constant of the program; the gap positions are computed from it at
    # run time (XLA would otherwise constant-fold the m x m index arithmetic at compile).
    series = lax.optimization_barrier(y)
    return lax.cond(
        _route_applies(phi, theta),
        lambda: ao_value(series, mu, phi, theta, sigma, num_missing, unroll),
        lambda: onepass_loglik(y, mu, phi, theta, sigma, tol, unroll))
