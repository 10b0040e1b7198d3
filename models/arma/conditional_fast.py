r"""A fast conditional ARMA(p, q) log-likelihood: the same density as :mod:`models.arma`.

:func:`models.arma.arma_conditional_loglik` recovers the errors with one ``lax.scan`` whose
carry holds two lag buffers, the last p observations and the last q errors. Only the second
buffer is a real recursion: the AR part uses observed values, so it is known for every t
at once. This module splits the work accordingly.

1. **AR part, vectorised.** ``b_t = y_t - c - sum_i phi_i y_{t-i}`` for all t by p shifted
   slices of the series padded with the pre-sample values (no scan).
2. **MA part, a short scan.** ``e_t = b_t - sum_j theta_j e_{t-j}``: a linear recurrence
   in e, run by ``lax.scan`` with ``unroll`` steps per loop iteration (fewer loop
   round-trips; measured best at 8 on a CPU, pathological at 16).

These two steps are the speed-up of the value: about 4x the reference at T = 2000.

Three ways to get the gradient w.r.t. (c, phi, theta) (``gradient=``):

* ``"sensitivities"`` (the default): **forward sensitivities in the same pass.** The
   parameters are few and the series is long, so instead of a backward pass over T steps
   the forward scan carries the derivatives of ``e_t`` along. ``b`` is linear in (c, phi),
   so ``d e / d c`` and ``d e / d phi_i`` are those columns of ``d b`` run through the same
   MA filter, and ``d e_t / d theta_k = -e_{t-k} - sum_j theta_j d e_{t-j} / d theta_k``.
   The scan accumulates ``S = sum_t e_t^2`` and ``dS = 2 sum_t e_t d e_t`` in its carry,
   all scalars, so one pass gives the value and the gradient and nothing of length T is
   stored. It is wired in with ``jax.custom_jvp``, so ``jax.grad``, ``jit`` and ``vmap``
   (and NumPyro's samplers) use it unchanged; a tangent in ``y`` or ``initial_y`` falls back
   to JAX's own derivative. Cost: ``(q + 1)(p + q + 2)`` multiply-adds per step, so it is
   the fast choice for small orders (the ARMA models here), not for q in the tens.
   Measured: 0.8 to 0.9x the hand-written numba adjoint loop at T = 2000 and 20000
   (``scripts/benchmarks/REPORT.md``).
* ``"autodiff"``: JAX's reverse mode through the MA-only scan (``unroll`` 8).
* ``"adjoint"``: **a hand-written backward pass.** The adjoint of a linear recurrence is
   the same recurrence run backwards in time:
   ``lam_t = g_t - sum_j theta_j lam_{t+j}`` where ``g = d loglik / d e`` holds the direct
   terms. Then ``d/d b_t = lam_t`` and ``d/d theta_j = -sum_t lam_t e_{t-j}``. For the
   log-likelihood the forward scan accumulates ``sum_t e_t^2`` in its carry and the
   backward scan forms ``2 g e_t`` inside the loop, so no squared-error or cotangent array
   is written. It is exact and teaches what JAX's transpose of a scan does; XLA's own
   transpose of the MA-only scan measured as fast or faster.

q = 0 skips the scan entirely. The value and gradient equal the reference to rounding
(``tests/test_arma_fast.py`` checks 1e-10 / 1e-8 in float64); the benchmarks in
``scripts/benchmarks/`` report how much faster it is.

:class:`FastConditionalARMA` is :class:`models.arma.ConditionalARMA` with this likelihood,
and :func:`arma_fast_model` is :func:`models.arma.arma_model` with its observed site swapped
for it (same priors, same sites, same posterior).
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike
from numpyro.primitives import Messenger

from models.arma.checks import check_conditional_args
from models.arma.conditional import ConditionalARMA, arma_conditional_loglik, arma_residuals
from models.arma.model import arma_model
from patterns import inverse_ma_filter, normal_loglik_from_sum_of_squares

__all__ = [
    "DEFAULT_GRADIENT",
    "DEFAULT_UNROLL",
    "FALLBACK",
    "GRADIENTS",
    "PLAN",
    "WIDE_BATCH",
    "FastConditionalARMA",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "arma_fast_residuals",
    "batched_formulation",
    "fast_model",
    "planned",
]

#: The ways :func:`arma_fast_conditional_loglik` can differentiate (see the module text).
GRADIENTS = ("sensitivities", "autodiff", "adjoint")

#: Forward sensitivities: one pass, no stored errors. Measured in one process on XLA:CPU
#: (jax 0.10), value + gradient of ARMA(1, 1) inside a compiled loop, T = 2000 / 20000:
#: sensitivities 5.9 / 56 us, autodiff 9.6 / 101 us, reference two-buffer scan 30 / 285 us,
#: hand-written numba adjoint loop 6.7 / 66 us.
DEFAULT_GRADIENT = "sensitivities"

#: Per order (p, q): the formulation and unroll of :func:`arma_fast_conditional_loglik`
#: when neither ``gradient`` nor ``unroll`` is given. Chosen from
#: ``scripts/benchmarks/bench_arma_orders.py`` (value + gradient, one jitted call and inside
#: a compiled loop, T = 200, 2000, 20000, side by side in one process; REPORT.md section
#: "Every order"): the candidate that was never slower than the reference scan in either
#: timing at any T, the fastest such in the loop. ``"reference"`` is the plain two-buffer
#: scan of :func:`models.arma.arma_conditional_loglik` itself (where nothing beat it). The
#: forward-sensitivity scan at unroll 4 is the fastest body for ARMA(1, 1), but for larger
#: bodies XLA:CPU compiles a lone call of it 5-30x slower (the issue's 13 ms ARMA(2, 1)).
PLAN: dict[tuple[int, int], tuple[str, int]] = {
    # measured 2026-12-01 at load 20-27 on the 2-core machine (REPORT.md, "Every order"):
    # q = 0: no scan at all, every formulation is the same vectorised code
    **{(p, 0): ("sensitivities", 4) for p in range(4)},
    # q = 1, p <= 1: the sensitivity scan at unroll 4 (0.15-0.31x the reference per call,
    # 0.19-0.32x in a loop, T >= 2000); for p >= 2 its lone call is 9-28x the reference
    (0, 1): ("sensitivities", 4),
    (1, 1): ("sensitivities", 4),
    # ARMA(2, 1): autodiff unroll 4, 0.48x per call and 0.20-0.35x in a loop (T >= 2000)
    **{(p, 1): ("autodiff", 4) for p in (2, 3)},
    # q = 2: every sensitivity scan is 4-77x the reference per call; autodiff unroll 4 is
    # 0.18-0.53x (T >= 2000), unroll 8 5-27x
    **{(p, 2): ("autodiff", 4) for p in range(4)},
    # q = 3: no fast formulation beat the reference scan at any T (autodiff unroll 8, the
    # best of them, 2.8-5.5x): the reference itself
    **{(p, 3): ("reference", 1) for p in range(4)},
}
#: Orders not in :data:`PLAN` (p or q > 3): the reference scan, the only formulation that
#: was never slower at q = 3 (correct for any order; ``tests/test_arma_orders.py`` checks
#: p, q <= 5).
FALLBACK: tuple[str, int] = ("reference", 1)

#: Scan steps per loop iteration, per gradient. Measured best on CPU at T = 2000 and 20000
#: (scripts/benchmarks/REPORT.md): 8 for the autodiff and adjoint scans; 4 for the
#: sensitivity scan, whose body is larger: at 8 it is faster inside a loop but a lone call
#: hits the same XLA:CPU slowdown (10 to 30x) that 16 gives the plain scan.
DEFAULT_UNROLL = {"sensitivities": 4, "autodiff": 8, "adjoint": 8}


def _padded_series(y: Array, c: Array, p: int, initial_y: Array | None) -> Array:
    """The p pre-sample values (``initial_y`` in time order, or ``c``) then y: shape
    (p + T,), ``padded[p + t] = y_t``."""
    presample = jnp.full((p,), c, y.dtype) if initial_y is None else initial_y
    return jnp.concatenate([presample, y])


def _ar_innovations(y: Array, c: Array, phi: Array, initial_y: Array | None) -> Array:
    """``b_t = y_t - c - sum_i phi_i y_{t-i}``, shape (T,), from checked arguments
    (:func:`models.arma.checks.check_conditional_args`)."""
    p, num_steps = phi.shape[0], y.shape[0]
    padded = _padded_series(y, c, p, initial_y)
    innovations = y - c
    for lag in range(1, p + 1):  # p is small and static: p slices, no gather
        innovations = innovations - phi[lag - 1] * padded[p - lag : p - lag + num_steps]
    return innovations


def _ar_innovation_derivatives(y: Array, c: Array, phi: Array,
                               initial_y: Array | None) -> tuple[Array, ...]:
    """Columns of ``d b / d (c, phi_1..p)``, each shape (T,): b is linear in them.

    ``d b_t / d phi_i = -y_{t-i}`` (pre-sample values included); ``d b_t / d c = -1``,
    plus ``-phi_i`` for every lag that reaches before the start when the pre-sample
    values are ``c`` itself.
    """
    p, num_steps = phi.shape[0], y.shape[0]
    padded = _padded_series(y, c, p, initial_y)
    d_c = jnp.full((num_steps,), -1.0, y.dtype)
    if initial_y is None:
        for lag in range(1, p + 1):
            # y_{t-lag} = c for t < lag
            d_c = d_c - phi[lag - 1] * (jnp.arange(num_steps) < lag)
    d_phi = tuple(-padded[p - lag : p - lag + num_steps] for lag in range(1, p + 1))
    return (d_c,) + d_phi


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _ma_filter(innovations: Array, theta: Array, unroll: int) -> Array:
    """Errors ``e_t = b_t - sum_j theta_j e_{t-j}``, shape (T,), with a reverse-recurrence
    VJP."""
    return inverse_ma_filter(innovations, theta, unroll=unroll)


def _ma_filter_fwd(innovations, theta, unroll):
    errors = inverse_ma_filter(innovations, theta, unroll=unroll)
    return errors, (errors, theta)


def _theta_cotangent(adjoint: Array, errors: Array, q: int) -> Array:
    """``d/d theta_j = -sum_t lam_t e_{t-j}`` (e before the start is 0), shape (q,)."""
    num_steps = errors.shape[0]
    return jnp.stack(
        [-jnp.dot(adjoint[lag:], errors[: num_steps - lag]) for lag in range(1, q + 1)]
    )


def _ma_filter_bwd(unroll, residuals, errors_bar):
    errors, theta = residuals
    # the adjoint recursion: lam_t = g_t - sum_j theta_j lam_{t+j}
    adjoint = inverse_ma_filter(errors_bar, theta, unroll=unroll, reverse=True)
    return adjoint, _theta_cotangent(adjoint, errors, theta.shape[0])


_ma_filter.defvjp(_ma_filter_fwd, _ma_filter_bwd)


def _ma_errors_and_sum_of_squares(innovations: Array, theta: Array,
                                  unroll: int) -> tuple[Array, Array]:
    """The MA recursion with ``sum_t e_t^2`` accumulated in the carry: one pass, no
    separate reduction over the stored errors. Returns (scalar, (T,))."""
    q, dtype = theta.shape[0], innovations.dtype
    if q == 1:
        coef = theta[0]

        def step1(carry, b):
            prev, total = carry
            e = b - coef * prev
            return (e, total + e * e), e

        (_, total), errors = lax.scan(step1, (jnp.zeros((), dtype), jnp.zeros((), dtype)),
                                      innovations, unroll=unroll)
        return total, errors

    def step(carry, b):
        lags, total = carry
        e = b - theta @ lags
        return (jnp.concatenate([e[None], lags[:-1]]), total + e * e), e

    (_, total), errors = lax.scan(step, (jnp.zeros((q,), dtype), jnp.zeros((), dtype)),
                                  innovations, unroll=unroll)
    return total, errors


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _ma_sum_of_squares(innovations: Array, theta: Array, unroll: int) -> Array:
    """``sum_t e_t^2`` of the MA recursion, scalar, with a reverse-recurrence VJP that reads
    the stored errors directly (the cotangent ``2 g e_t`` is formed inside the loop)."""
    return _ma_errors_and_sum_of_squares(innovations, theta, unroll)[0]


def _ma_sum_of_squares_fwd(innovations, theta, unroll):
    total, errors = _ma_errors_and_sum_of_squares(innovations, theta, unroll)
    return total, (errors, theta)


def _ma_sum_of_squares_bwd(unroll, residuals, total_bar):
    errors, theta = residuals
    # d total / d e_t = 2 e_t directly; lam_t = 2 g e_t - sum_j theta_j lam_{t+j}
    adjoint = inverse_ma_filter(errors, theta, unroll=unroll, reverse=True,
                                input_scale=2.0 * total_bar)
    return adjoint, _theta_cotangent(adjoint, errors, theta.shape[0])


_ma_sum_of_squares.defvjp(_ma_sum_of_squares_fwd, _ma_sum_of_squares_bwd)


def planned(order: tuple[int, int]) -> tuple[str, int]:
    """The (formulation, unroll) :func:`arma_fast_conditional_loglik` uses for ``order``
    when neither ``gradient`` nor ``unroll`` is given: :data:`PLAN`, else :data:`FALLBACK`.

    Example:
        >>> print(planned((1, 1)))
        ('sensitivities', 4)
    """
    return PLAN.get(tuple(order), FALLBACK)


def _gradient_and_unroll(gradient: str, unroll: int | None) -> tuple[str, int]:
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
    return gradient, int(DEFAULT_UNROLL[gradient] if unroll is None else unroll)


def _sensitivity_scan(innovations: Array, columns: tuple[Array, ...], theta: Array,
                      unroll: int) -> tuple[Array, tuple[Array, ...], tuple[Array, ...]]:
    """One forward pass of the MA recursion with its derivatives carried along.

    ``e_t = b_t - sum_j theta_j e_{t-j}``; every column ``u`` (shape (T,), the derivative
    of b w.r.t. one parameter) is filtered the same way, ``x_t = u_t - sum_j theta_j
    x_{t-j}``; and ``d_{k,t} = -e_{t-k} - sum_j theta_j d_{k,t-j}`` is ``d e_t / d
    theta_k``. Every quantity is a scalar in the carry (p and q are small and static), so
    XLA keeps them in registers. Returns ``S = sum e_t^2``, ``dS / d column`` per column
    and ``dS / d theta_k`` per k.
    """
    q, dtype = theta.shape[0], innovations.dtype
    coefs = [theta[j] for j in range(q)]
    zero = jnp.zeros((), dtype)

    def filtered(u, lags):
        # u - sum_j theta_j lags[j], lags[0] being the most recent
        for coef, lag in zip(coefs, lags, strict=True):
            u = u - coef * lag
        return u

    def step(carry, inputs):
        e_lags, col_lags, theta_lags, total, col_sums, theta_sums = carry
        b, us = inputs
        e = filtered(b, e_lags)
        xs = tuple(filtered(u, lags) for u, lags in zip(us, col_lags, strict=True))
        ds = tuple(filtered(-e_lags[k], theta_lags[k]) for k in range(q))
        carry = (
            (e,) + e_lags[:-1],
            tuple((x,) + lags[:-1] for x, lags in zip(xs, col_lags, strict=True)),
            tuple((d,) + lags[:-1] for d, lags in zip(ds, theta_lags, strict=True)),
            total + e * e,
            tuple(s + e * x for s, x in zip(col_sums, xs, strict=True)),
            tuple(s + e * d for s, d in zip(theta_sums, ds, strict=True)),
        )
        return carry, None

    lags = (zero,) * q
    init = (lags, tuple(lags for _ in columns), tuple(lags for _ in range(q)), zero,
            tuple(zero for _ in columns), tuple(zero for _ in range(q)))
    (_, _, _, total, col_sums, theta_sums), _ = lax.scan(
        step, init, (innovations, tuple(columns)), unroll=unroll)
    return total, tuple(2 * s for s in col_sums), tuple(2 * s for s in theta_sums)


def _plain_sum_of_squares(y, c, phi, theta, initial_y, unroll):
    """``sum_t e_t^2`` differentiated by JAX (the sensitivity path's fallback)."""
    innovations = _ar_innovations(y, c, phi, initial_y)
    if theta.shape[0] == 0:
        return jnp.sum(jnp.square(innovations))
    return jnp.sum(jnp.square(inverse_ma_filter(innovations, theta, unroll=unroll)))


#: Scan steps per loop iteration of the MA scan JAX differentiates when the sensitivity
#: path is batched (:func:`_sum_of_squares_and_gradient`): 4, the fastest under ``vmap`` at
#: every width measured (``bench_arma_chains.py``, REPORT.md section 4).
BATCHED_UNROLL = 4

#: From this many batch members on, the batched gradient takes the reference two-buffer
#: scan (:func:`models.arma.conditional.arma_residuals` differentiated by JAX) instead of
#: the reverse mode of the MA scan. Measured (``bench_arma_chains.py --x64 --per-series``,
#: ARMA(1, 1), T = 200, one series per member as in a panel, us per batched value +
#: gradient, load 2.7 to 4.2; REPORT.md section 7.4): reverse mode / reference 69 / 195 at
#: 50 members, 176 / 352 at 100, 468-477 / 327-361 at 200, 803 / 445 at 400, 1,435-1,506 /
#: 926-1,293 at 1,000, 3,510-5,088 / 1,973-2,502 at 2,000. A panel fit vmaps its series x
#: chains as one axis (``models.panel.independent``), so the rule sees that width.
WIDE_BATCH = 200


@partial(jax.custom_jvp, nondiff_argnums=(5,))
def _sum_of_squares_and_gradient(y, c, phi, theta, initial_y, unroll):
    """``(S, dS/d(c, phi...), dS/d(theta...))`` of ``S = sum_t e_t^2`` by the forward
    sensitivities (:func:`_sensitivity_scan`), for one parameter set.

    Under ``jax.vmap`` (vectorised chains, a panel's series) the same three values come from
    JAX's reverse mode of the MA scan instead (:func:`_batched_sum_of_squares_and_gradient`):
    XLA:CPU runs the batched sensitivity scan far slower than its one-member loop once the
    batch reaches 3 members (ARMA(1, 1), T = 2000, value + gradient: 13 us for one member,
    300 us for 4, against 42 us for the batched reverse mode; ``bench_arma_chains.py``);
    from :data:`WIDE_BATCH` members on, from the reference two-buffer scan
    (:func:`batched_formulation`).
    """
    return _dispatch_by_batching(y, c, phi, theta, initial_y, unroll)


@_sum_of_squares_and_gradient.defjvp
def _sum_of_squares_and_gradient_jvp(unroll, primals, tangents):
    # second derivatives (Hessians, forward over reverse) differentiate the sensitivity
    # scan itself: JAX cannot differentiate through the batching switch (custom_vmap)
    return jax.jvp(partial(_sensitivity_values, unroll=unroll), primals, tangents)


def _sensitivity_values(y, c, phi, theta, initial_y, unroll):
    innovations = _ar_innovations(y, c, phi, initial_y)
    columns = _ar_innovation_derivatives(y, c, phi, initial_y)
    total, col_grads, theta_grads = _sensitivity_scan(innovations, columns, theta, unroll)
    return total, col_grads, theta_grads


def _reverse_mode(total, c, phi, theta):
    """``total(c, phi, theta)`` and its gradient by JAX's reverse mode, laid out as
    :func:`_sensitivity_values` returns them."""
    value, (g_c, g_phi, g_theta) = jax.value_and_grad(total, argnums=(0, 1, 2))(c, phi, theta)
    return (value, (g_c, *(g_phi[i] for i in range(phi.shape[0]))),
            tuple(g_theta[j] for j in range(theta.shape[0])))


def _reverse_mode_values(y, c, phi, theta, initial_y):
    return _reverse_mode(
        lambda c, phi, theta: _plain_sum_of_squares(y, c, phi, theta, initial_y, BATCHED_UNROLL),
        c, phi, theta)


def _reference_scan_values(y, c, phi, theta, initial_y):
    return _reverse_mode(
        lambda c, phi, theta: jnp.sum(jnp.square(arma_residuals(y, c, phi, theta,
                                                                initial_y=initial_y))),
        c, phi, theta)


def batched_formulation(width: int) -> str:
    """How :func:`arma_fast_conditional_loglik`'s sensitivity orders get their gradient
    under ``jax.vmap`` over ``width`` members: ``"reverse-mode"`` (JAX's reverse mode of the
    MA scan, unroll :data:`BATCHED_UNROLL`) below :data:`WIDE_BATCH` members,
    ``"reference"`` (the two-buffer scan) from there on. One member alone keeps the
    forward sensitivities.

    Example:
        >>> print(batched_formulation(4), batched_formulation(2000))
        reverse-mode reference
    """
    return "reference" if width >= WIDE_BATCH else "reverse-mode"


def _dispatch_by_batching(y, c, phi, theta, initial_y, unroll):
    @jax.custom_batching.custom_vmap
    def values(y, c, phi, theta, initial_y):
        return _sensitivity_values(y, c, phi, theta, initial_y, unroll)

    @values.def_vmap
    def _batched_sum_of_squares_and_gradient(axis_size, in_batched, y, c, phi, theta,
                                             initial_y):
        args = (y, c, phi, theta, initial_y)
        axes = jax.tree.map(lambda batched: 0 if batched else None, in_batched)
        values = (_reference_scan_values if batched_formulation(axis_size) == "reference"
                  else _reverse_mode_values)
        out = jax.vmap(values, in_axes=axes, axis_size=axis_size)(*args)
        return out, jax.tree.map(lambda _: True, out)

    return values(y, c, phi, theta, initial_y)


@partial(jax.custom_jvp, nondiff_argnums=(5,))
def _sensitivity_sum_of_squares(y, c, phi, theta, initial_y, unroll):
    """``sum_t e_t^2``, scalar, whose derivative in (c, phi, theta) comes from
    :func:`_sensitivity_scan`."""
    return _plain_sum_of_squares(y, c, phi, theta, initial_y, unroll)


@partial(_sensitivity_sum_of_squares.defjvp, symbolic_zeros=True)
def _sensitivity_sum_of_squares_jvp(unroll, primals, tangents):
    y, c, phi, theta, initial_y = primals
    y_dot, c_dot, phi_dot, theta_dot, initial_y_dot = tangents
    if not all(isinstance(t, SymbolicZero) or t is None for t in (y_dot, initial_y_dot)):
        # derivatives w.r.t. the data are rare (the models observe y): let JAX do them
        dense = [jnp.zeros(t.shape, t.dtype) if isinstance(t, SymbolicZero) else t
                 for t in tangents]
        return jax.jvp(partial(_plain_sum_of_squares, unroll=unroll), primals, tuple(dense))

    if theta.shape[0] == 0:
        innovations = _ar_innovations(y, c, phi, initial_y)
        columns = _ar_innovation_derivatives(y, c, phi, initial_y)
        total = jnp.sum(jnp.square(innovations))
        col_grads = tuple(2 * jnp.dot(innovations, u) for u in columns)
        theta_grads = ()
    else:
        total, col_grads, theta_grads = _sum_of_squares_and_gradient(y, c, phi, theta,
                                                                     initial_y, unroll)
    total_dot = jnp.zeros_like(total)
    if not isinstance(c_dot, SymbolicZero):
        total_dot = total_dot + col_grads[0] * c_dot
    if not isinstance(phi_dot, SymbolicZero) and phi.shape[0]:
        total_dot = total_dot + jnp.dot(jnp.stack(col_grads[1:]), phi_dot)
    if not isinstance(theta_dot, SymbolicZero) and theta.shape[0]:
        total_dot = total_dot + jnp.dot(jnp.stack(theta_grads), theta_dot)
    return total, total_dot


def arma_fast_residuals(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
    unroll: int | None = None,
    gradient: str = "autodiff",
) -> Array:
    """One-step prediction errors of ARMA(p, q), equal to :func:`models.arma.arma_residuals`.

    Args:
        y: modelled observations, shape (T,).
        intercept: c, scalar.
        phi: AR coefficients, shape (p,).
        theta: MA coefficients, shape (q,).
        initial_y: the p observations before ``y[0]`` in time order, shape (p,), or
            ``None`` (pre-sample observations equal the intercept). Pre-sample errors are 0.
        unroll: scan steps per loop iteration of the MA recursion (``None``: the
            measured best, :data:`DEFAULT_UNROLL`).
        gradient: ``"autodiff"`` (JAX's reverse mode of the scan) or ``"adjoint"`` (the
            hand-written reverse recurrence). Forward sensitivities need a scalar output:
            they exist only for :func:`arma_fast_conditional_loglik`.

    Returns:
        Errors, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> print(arma_fast_residuals(y, 0.0, jnp.array([0.5]), jnp.array([1.0])))
        [ 1.   0.5 -1. ]
    """
    gradient, unroll = _gradient_and_unroll(gradient, unroll)
    if gradient == "sensitivities":
        raise ValueError("gradient='sensitivities' needs a scalar output: use "
                         "arma_fast_conditional_loglik, or 'autodiff' / 'adjoint' here")
    y, c, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                          initial_y)
    innovations = _ar_innovations(y, c, phi, initial_y)
    if theta.shape[0] == 0:
        return innovations
    if gradient == "adjoint":
        return _ma_filter(innovations, theta, unroll)
    return inverse_ma_filter(innovations, theta, unroll=unroll)


def arma_fast_conditional_loglik(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
    unroll: int | None = None,
    gradient: str | None = None,
) -> Array:
    """Conditional Gaussian log-likelihood of ARMA(p, q), equal to
    :func:`models.arma.arma_conditional_loglik` (same arguments, same ``-inf`` on overflow).

    Args:
        y: modelled observations, shape (T,).
        intercept: c, scalar.
        phi: shape (p,).
        theta: shape (q,).
        sigma: innovation standard deviation, scalar > 0.
        initial_y: shape (p,) or ``None``; see :func:`arma_fast_residuals`.
        unroll: scan steps per loop iteration (``None``: :data:`DEFAULT_UNROLL` of the
            chosen gradient).
        gradient: how derivatives are formed, one of :data:`GRADIENTS` (module text);
            every choice gives the same numbers to rounding. ``None`` (default): the
            measured choice for the order (:func:`planned`), or forward sensitivities
            when only ``unroll`` is given.

    Returns:
        Scalar log-likelihood; ``-inf`` when the error recursion overflows.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> ll = arma_fast_conditional_loglik(y, 0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0)
        >>> print(f"{float(ll):.4f}")
        -3.8818
        >>> def by(gradient):  # d loglik / d theta, three ways
        ...     return jax.grad(lambda th: arma_fast_conditional_loglik(
        ...         y, 0.0, jnp.array([0.5]), th, 1.0, gradient=gradient))(jnp.array([1.0]))
        >>> print(by("sensitivities"), by("autodiff"), by("adjoint"))
        [1.] [1.] [1.]
    """
    sigma = jnp.asarray(sigma)
    y, c, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                          initial_y)
    if gradient is None and unroll is None:
        gradient, unroll = planned((phi.shape[0], theta.shape[0]))
        if gradient == "reference":
            return arma_conditional_loglik(y, c, phi, theta, sigma, initial_y=initial_y)
    gradient, unroll = _gradient_and_unroll(gradient or DEFAULT_GRADIENT, unroll)
    n = y.shape[0]
    if gradient == "sensitivities":
        sum_of_squares = _sensitivity_sum_of_squares(y, c, phi, theta, initial_y, unroll)
    elif gradient == "adjoint" and theta.shape[0]:
        sum_of_squares = _ma_sum_of_squares(_ar_innovations(y, c, phi, initial_y), theta,
                                            unroll)
    else:
        sum_of_squares = _plain_sum_of_squares(y, c, phi, theta, initial_y, unroll)
    return normal_loglik_from_sum_of_squares(sum_of_squares, n, sigma)


class FastConditionalARMA(ConditionalARMA):
    """:class:`models.arma.ConditionalARMA` scored by :func:`arma_fast_conditional_loglik`.

    Same arguments, event shape, ``sample`` and density; only ``log_prob`` is faster.

    Example:
        >>> import jax.numpy as jnp
        >>> d = FastConditionalARMA(0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0, num_steps=3)
        >>> print(d.event_shape, f"{float(d.log_prob(jnp.array([1.0, 2.0, 0.5]))):.4f}")
        (3,) -3.8818
    """

    _loglik = staticmethod(arma_fast_conditional_loglik)


class _UseFastLikelihood(Messenger):
    """Effect handler: every ``ConditionalARMA`` sample site is scored by the fast path."""

    def process_message(self, msg: dict[str, Any]) -> None:
        fn = msg.get("fn")
        if msg["type"] == "sample" and type(fn) is ConditionalARMA:
            msg["fn"] = FastConditionalARMA(fn.intercept, fn.phi, fn.theta, fn.sigma,
                                            num_steps=fn.num_steps, initial_y=fn.initial_y,
                                            exog=fn.exog, beta=fn.beta)


def arma_fast_model(y: ArrayLike | None = None, **kwargs: Any) -> None:
    """:func:`models.arma.arma_model` with the fast likelihood: same arguments, priors, sites.

    The model is not copied: it runs under an effect handler that swaps the observed
    ``ConditionalARMA`` site for :class:`FastConditionalARMA`, so the two cannot drift apart.

    Args:
        y: the series, shape (T,), or ``None`` to simulate.
        **kwargs: as :func:`models.arma.arma_model` (``order``, ``num_steps``,
            ``condition_on_first``, prior scales).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> from numpyro.infer.util import log_density
        >>> y = jnp.array([0.3, -0.1, 0.4, 0.2])
        >>> params = {"intercept": 0.1, "phi": jnp.array([0.5]), "theta": jnp.array([0.2]),
        ...           "sigma": 0.8}
        >>> fast, _ = log_density(arma_fast_model, (y,), {}, params)
        >>> slow, _ = log_density(arma_model, (y,), {}, params)
        >>> print(abs(float(fast) - float(slow)) < 1e-5)
        True
    """
    with _UseFastLikelihood():
        arma_model(y, **kwargs)


def fast_model(model: Callable[..., None]) -> Callable[..., None]:
    """Wrap any model built on ``ConditionalARMA`` so its ARMA sites use the fast path.

    Example:
        >>> from functools import partial
        >>> arK_fast = fast_model(partial(arma_model, order=(5, 0), condition_on_first=True))
        >>> callable(arK_fast)
        True
    """

    def wrapped(*args: Any, **kwargs: Any) -> None:
        with _UseFastLikelihood():
            model(*args, **kwargs)

    return wrapped
