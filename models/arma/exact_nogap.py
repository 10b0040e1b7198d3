"""Exact ARMA log-likelihood of a series without gaps in one forward pass at about the
conditional likelihood's cost: the additive-outlier route of :mod:`models.arma.exact_ao`
with m = 0, its presample correction gathered by the same forward scan that carries the
derivatives (no reverse pass, no Stein equation, no impulse response by matrix powers).

With x_t = y_t - mu and the conditional recursion run from a zero presample::

    eps_t = x_t - sum_i phi_i x_{t-i} - sum_j theta_j eps_{t-j}       (x_{<0} = eps_{<0} = 0)

the true innovations are e = eps + H u, u = (x_{-1..-p}, e_{-1..-q}) ~ N(0, sigma^2
Omega), H (T, p + q) the recursion's response to the presample. Every column of H is a
combination of the shifted impulse responses h_{t-s}, s < L = max(p, q), of the MA filter
(h_0 = 1, h_n = -sum_j theta_j h_{n-j}): H = [h_{t-s}]_s B, B (L, p + q) holding -phi_i and
-theta_j. With Omega = C C' and M = C' H'H C + I::

    log p(y) = -T/2 log(2 pi sigma^2) - 1/2 log|M| - (eps'eps - b'M^{-1} b) / (2 sigma^2),
    b = C' H' eps

So the series enters only through three sums, S_ee = eps'eps, S_eh[s] = sum_t eps_t
h_{t-s} and S_hh[s, s'] = sum_t h_{t-s} h_{t-s'} (L + 1 + L (L + 1) / 2 scalars): one
forward scan computes them, and, with ``jax.custom_jvp``, carries their derivatives along
the 1 + p + q directions (mu, phi, theta) in the same pass (the forward-sensitivity trick of
:mod:`models.arma.conditional_fast`): eps's derivatives are its input's derivative columns
run through the MA filter, d eps_t / d theta_k = -eps_{t-k} - sum_j theta_j d eps_{t-j} /
d theta_k, the same for h. What follows the scan is (p + q)-square algebra differentiated
by JAX. Under ``jax.vmap`` the sums' derivatives come from JAX's reverse mode of the plain
scan instead (``jax.custom_batching.custom_vmap``): XLA:CPU runs a batched forward
sensitivity scan far slower than its one-member loop (:mod:`models.arma.conditional_fast`).

The value is exact (no truncation): the subtraction eps'eps - b'M^{-1} b loses only the
rounding of eps'eps (about 1e-16 relative), M is well conditioned (its eigenvalues are >= 1).
Where the MA part is not comfortably invertible or the presample covariance is near
singular the caller runs another route (:func:`models.arma.exact_ao.ao_loglik` decides).
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero

from patterns import solve_discrete_lyapunov
from patterns.gaussian import LOG_2PI

__all__ = ["nogap_loglik", "presample_coefficients", "presample_cov"]


def presample_coefficients(phi: Array, theta: Array) -> Array:
    """B (L, p + q), L = max(p, q): the presample's response is H = [h_{t-s}]_{s<L} B.

    x_{-a} enters the recursion's input at t = i - a with -phi_i (i = a..p); e_{-b} at
    t = j - b with -theta_j (j = b..q).

    Example:
        >>> import jax.numpy as jnp
        >>> print(presample_coefficients(jnp.array([0.5]), jnp.array([0.3])))
        [[-0.5 -0.3]]
    """
    p, q = phi.shape[0], theta.shape[0]
    width = max(p, q)
    rows, cols, coefs = [], [], []
    for a in range(1, p + 1):
        for i in range(a, p + 1):
            rows.append(i - a)
            cols.append(a - 1)
            coefs.append(-phi[i - 1])
    for b in range(1, q + 1):
        for j in range(b, q + 1):
            rows.append(j - b)
            cols.append(p + b - 1)
            coefs.append(-theta[j - 1])
    B = jnp.zeros((width, p + q), phi.dtype)
    if coefs:
        B = B.at[np.array(rows), np.array(cols)].add(jnp.stack(coefs))
    return B


def _ar_part(x: Array, phi: Array) -> tuple[Array, list[Array]]:
    """a_t = x_t - sum_i phi_i x_{t-i} from a zero presample, shape (T,), and the shifted
    copies x_{t-i} (i = 1..p) it used."""
    num_steps, dtype = x.shape[0], x.dtype
    shifted = [jnp.concatenate([jnp.zeros(min(i, num_steps), dtype), x[: max(num_steps - i, 0)]])
               for i in range(1, phi.shape[0] + 1)]
    out = x
    for i, lagged in enumerate(shifted):
        out = out - phi[i] * lagged
    return out, shifted


def _correlations(inputs: Array, theta: Array, width: int, unroll: int, tangent: bool):
    """Pass 1: eps = the MA filter of ``inputs``, h its impulse response; returns S_ee (),
    S_eh (L,), S_hh (L, L) and, with ``tangent``, d S_hh / d theta (L, L, q) (h carries its
    derivatives d h_t / d theta_k = -h_{t-k} - sum_j theta_j d h_{t-j} / d theta_k)."""
    q, dtype = theta.shape[0], inputs.dtype
    zero = jnp.zeros((), dtype)
    coefs = [theta[j] for j in range(q)]
    h_len = max(q, width, 1)  # h_t and its lags
    n_theta = q if tangent else 0
    pairs = [(s, r) for s in range(width) for r in range(s, width)]

    def filtered(u, lags):  # u - sum_j theta_j lags[j], lags[0] the most recent
        for coef, lag in zip(coefs, lags, strict=False):
            u = u - coef * lag
        return u

    def step(carry, a_t):
        # h_lags[0] is h_t itself (h_0 = 1 starts the carry): the impulse needs no input
        e_lags, h_lags, dh_lags, see, seh, shh, dshh = carry
        e = filtered(a_t, e_lags)
        hs = h_lags[:width]  # h_{t-s}, s < L
        dhs = [lags[:width] for lags in dh_lags]
        h_next = filtered(zero, h_lags)
        dh_next = tuple(filtered(-h_lags[k], dh_lags[k]) for k in range(n_theta))
        carry = (
            ((e,) + e_lags)[:q], ((h_next,) + h_lags)[:h_len],
            tuple(((d,) + lags)[:h_len] for d, lags in zip(dh_next, dh_lags, strict=True)),
            see + e * e,
            tuple(acc + e * hs[s] for s, acc in enumerate(seh)),
            tuple(acc + hs[s] * hs[r] for (s, r), acc in zip(pairs, shh, strict=True)),
            tuple(tuple(acc + dhs[k][s] * hs[r] + hs[s] * dhs[k][r]
                        for k, acc in enumerate(row))
                  for (s, r), row in zip(pairs, dshh, strict=True)))
        return carry, None

    one = jnp.ones((), dtype)
    init = ((zero,) * q, (one,) + (zero,) * (h_len - 1),
            tuple((zero,) * h_len for _ in range(n_theta)),
            zero, (zero,) * width, (zero,) * len(pairs),
            tuple((zero,) * n_theta for _ in pairs))
    carry, _ = lax.scan(step, init, inputs, unroll=unroll)
    see, seh, shh, dshh = carry[3:]

    def square(values, tail):  # the upper triangle (pairs) to a symmetric (L, L, ...) array
        if not width:
            return jnp.zeros((0, 0, *tail), dtype)
        out = [[None] * width for _ in range(width)]
        for (s, r), v in zip(pairs, values, strict=True):
            out[s][r] = out[r][s] = jnp.reshape(jnp.asarray(v, dtype), tail)
        return jnp.stack([jnp.stack(row) for row in out])

    seh = jnp.stack(seh) if width else jnp.zeros(0, dtype)
    shh = square(shh, ())
    if not tangent:
        return see, seh, shh
    return see, seh, shh, square(dshh, (q,))


def presample_cov(phi: Array, theta: Array) -> Array:
    """Omega (p + q, p + q), sigma = 1: covariance of (x_{-1}, .., x_{-p}, e_{-1}, .., e_{-q}).

    Example:
        ARMA(1, 1): Var x = (1 + 2 phi theta + theta^2) / (1 - phi^2), Cov(x_{-1}, e_{-1}) = 1.

        >>> import jax.numpy as jnp
        >>> omega = presample_cov(jnp.array([0.5]), jnp.array([0.5]))
        >>> print(bool(jnp.allclose(omega, jnp.array([[7 / 3, 1.0], [1.0, 1.0]]))))
        True
    """
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


def _presample_response(phi: Array, theta: Array) -> Array:
    """B C (L, p + q): the presample's response is H C = [h_{t-s}]_{s<L} B C, Omega = C C'
    (sigma = 1)."""
    return presample_coefficients(phi, theta) @ jnp.linalg.cholesky(presample_cov(phi, theta))


def _correction(response: Array, seh: Array, shh: Array):
    """The (p + q)-square algebra from BC = ``response``: log|M|, b'M^{-1} b and the
    minimiser w^ = -M^{-1} b, M = (BC)' S_hh BC + I, b = (BC)' S_eh."""
    k = response.shape[1]
    b = response.T @ seh
    factor = jnp.linalg.cholesky(response.T @ shh @ response + jnp.eye(k, dtype=seh.dtype))
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(factor)))
    half = jax.scipy.linalg.solve_triangular(factor, b, lower=True)
    w = -jax.scipy.linalg.solve_triangular(factor.T, half, lower=False)
    return logdet, jnp.sum(half * half), w


def _assemble(num_steps, sigma, logdet, quad):
    sigma2 = sigma**2
    return -0.5 * (num_steps * (LOG_2PI + jnp.log(sigma2)) + logdet + quad / sigma2)


def _value(y, mu, phi, theta, sigma, unroll):
    """The log-likelihood by pass 1 and the correction, differentiable by JAX."""
    width = max(phi.shape[0], theta.shape[0])
    inputs, _ = _ar_part(y - mu, phi)
    see, seh, shh = _correlations(inputs, theta, width, unroll, tangent=False)
    if not width:
        return _assemble(y.shape[0], sigma, jnp.zeros((), y.dtype), see)
    logdet, correction, _ = _correction(_presample_response(phi, theta), seh, shh)
    return _assemble(y.shape[0], sigma, logdet, see - correction)


def _value_and_gradient(y, mu, phi, theta, sigma, unroll):
    """(value, d/d(mu, phi, theta, sigma) as one (2 + p + q,) vector) for one series: pass 1
    with d S_hh / d theta, the correction, and pass 2 (the completed residuals' forward
    sensitivities; the envelope theorem holds the minimiser fixed)."""
    # imported here: conditional_fast imports the model modules, which import this one
    from models.arma.conditional_fast import _sensitivity_scan

    p, q = phi.shape[0], theta.shape[0]
    width = max(p, q)
    num_steps, dtype = y.shape[0], y.dtype
    sigma2 = sigma**2
    inputs, shifted = _ar_part(y - mu, phi)
    see, seh, shh, dshh = _correlations(inputs, theta, width, unroll[0], tangent=True)
    g_phi, g_theta = jnp.zeros(p, dtype), jnp.zeros(q, dtype)
    if width:
        response, response_pullback = jax.vjp(_presample_response, phi, theta)
        (logdet, correction, w), correction_pullback = jax.vjp(
            lambda bc, s: _correction(bc, seh, s), response, shh)
        g_response, g_shh = correction_pullback(
            (jnp.ones((), dtype), jnp.zeros((), dtype), jnp.zeros_like(w)))
        c = response @ w  # the completed residuals are eps_t + sum_s c_s h_{t-s}
        # the sum of squares moves with c = (BC) w^ (w^ fixed) by 2 lambda_s per unit of
        # c_s, lambda_s = sum_t r_t h_{t-s} = S_eh[s] + (S_hh c)[s]; log|M| through BC
        # directly and through S_hh(theta)
        lam2 = 2.0 * (seh + shh @ c)
        g_phi, g_theta = response_pullback(-0.5 * (g_response + jnp.outer(lam2, w) / sigma2))
        g_theta = g_theta - 0.5 * jnp.tensordot(g_shh, dshh, axes=2)
        inputs = inputs.at[:width].add(c[: min(width, num_steps)])
    else:
        logdet, correction = jnp.zeros((), dtype), jnp.zeros((), dtype)
    quad = see - correction
    # the completed residuals' sum of squares moved by (mu, phi) through the inputs and
    # by theta through the filter, c held fixed
    steps = jnp.arange(num_steps)
    d_mu = jnp.full((num_steps,), -1.0, dtype)
    for i in range(p):
        d_mu = d_mu + jnp.where(steps >= i + 1, phi[i], 0.0)
    columns = (d_mu, *(-s for s in shifted))
    if q:
        _, col_grads, theta_grads = _sensitivity_scan(inputs, columns, theta, unroll[1])
    else:  # no filter: the residuals are the inputs
        col_grads, theta_grads = tuple(2.0 * jnp.dot(inputs, u) for u in columns), ()
    grad = jnp.concatenate([
        -0.5 * col_grads[0][None] / sigma2,
        g_phi - 0.5 * jnp.asarray(col_grads[1:], dtype).reshape(p) / sigma2,
        g_theta - 0.5 * jnp.asarray(theta_grads, dtype).reshape(q) / sigma2,
        (-num_steps / sigma + quad / (sigma2 * sigma))[None]])
    return _assemble(num_steps, sigma, logdet, quad), grad


def _dispatch(y, mu, phi, theta, sigma, unroll):
    """:func:`_value_and_gradient` for one series; under ``jax.vmap`` JAX's reverse mode
    of :func:`_value` instead (a batched forward-sensitivity scan is slow on XLA:CPU,
    :mod:`models.arma.conditional_fast`)."""

    @jax.custom_batching.custom_vmap
    def one(y, mu, phi, theta, sigma):
        return _value_and_gradient(y, mu, phi, theta, sigma, unroll)

    @one.def_vmap
    def _batched(axis_size, in_batched, y, mu, phi, theta, sigma):
        def by_reverse_mode(y, mu, phi, theta, sigma):
            value, grads = jax.value_and_grad(
                lambda m, f, t, s: _value(y, m, f, t, s, BATCHED_UNROLL),
                argnums=(0, 1, 2, 3))(mu, phi, theta, sigma)
            return value, jnp.concatenate([grads[0][None], grads[1], grads[2],
                                           grads[3][None]])

        axes = tuple(0 if b else None for b in in_batched)
        out = jax.vmap(by_reverse_mode, in_axes=axes, axis_size=axis_size)(
            y, mu, phi, theta, sigma)
        return out, jax.tree.map(lambda _: True, out)

    return one(y, mu, phi, theta, sigma)


@partial(jax.custom_jvp, nondiff_argnums=(5,))
def _loglik(y, mu, phi, theta, sigma, unroll):
    return _value(y, mu, phi, theta, sigma, unroll[0])


@partial(_loglik.defjvp, symbolic_zeros=True)
def _loglik_jvp(unroll, primals, tangents):
    y = primals[0]
    if not isinstance(tangents[0], SymbolicZero):  # a derivative w.r.t. the data: JAX's own
        dense = tuple(jnp.zeros(x.shape, x.dtype) if isinstance(t, SymbolicZero) else t
                      for x, t in zip(primals, tangents, strict=True))
        return jax.jvp(partial(_value, unroll=unroll[0]), primals, dense)
    value, grad = _dispatch(*primals, unroll)
    direction = jnp.concatenate([
        jnp.zeros(x.shape, y.dtype).reshape(-1) if isinstance(t, SymbolicZero)
        else jnp.reshape(t, (-1,))
        for x, t in zip(primals[1:], tangents[1:], strict=True)])
    return value, grad @ direction


#: Steps per loop iteration of the reverse-mode scan used under ``vmap``.
BATCHED_UNROLL = 4


def nogap_loglik(y: Array, mu: Array, phi: Array, theta: Array, sigma: Array,
                 unroll: tuple[int, int] = (1, 4)) -> Array:
    """The log-likelihood of a series without gaps (module docstring), no fallback: exact
    where the MA part is invertible and the presample covariance positive definite.

    Args:
        y: series (T,), no NaN.
        mu, phi, theta, sigma: (), (p,), (q,), ().
        unroll: steps per loop iteration of pass 1 (the correlations) and pass 2 (the
            completed residuals' sensitivities).

    Returns:
        The log-likelihood, scalar.

    Example:
        AR(1): y_0 ~ N(0, 1 / (1 - phi^2)), then y_1 | y_0 ~ N(phi y_0, 1).

        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> ll = nogap_loglik(jnp.array([0.8, -0.4]), jnp.array(0.0), jnp.array([0.5]),
        ...                   jnp.zeros(0), jnp.array(1.0))
        >>> want = norm.logpdf(0.8, 0.0, 1 / 0.75 ** 0.5) + norm.logpdf(-0.4, 0.4, 1.0)
        >>> print(bool(jnp.allclose(ll, want)))
        True
    """
    return _loglik(y, mu, phi, theta, sigma, tuple(unroll))
