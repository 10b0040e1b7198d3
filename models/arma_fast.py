r"""A fast conditional ARMA(p, q) log-likelihood: the same density as :mod:`models.arma`.

:func:`models.arma.arma_conditional_loglik` recovers the errors with one ``lax.scan`` whose
carry holds two lag buffers, the last p observations and the last q errors. Only the second
buffer is a real recursion: the AR part uses observed values, so it is known for every t
at once. This module splits the work accordingly.

1. **AR part, vectorised.** ``b_t = y_t - mu - sum_i phi_i y_{t-i}`` for all t by p shifted
   slices of the series padded with the pre-sample values (no scan).
2. **MA part, a short scan.** ``e_t = b_t - sum_j theta_j e_{t-j}``: a linear recurrence
   in e, run by ``lax.scan`` with ``unroll`` steps per loop iteration (fewer loop
   round-trips; measured best at 8 on a CPU, pathological at 16).

These two steps are the speed-up: about 4x the reference at T = 2000 and 2x at 20000 for
value + gradient, 1.5x and 2x the hand-written numba floor (``scripts/benchmarks/``). On
XLA:CPU what is left is the runtime's cost per loop iteration, not arithmetic.

3. **Optional: a hand-written backward pass** (``custom_adjoint=True``). The adjoint of a
   linear recurrence is the same recurrence run backwards in time:
   ``lam_t = g_t - sum_j theta_j lam_{t+j}`` where ``g = d loglik / d e`` holds the direct
   terms. Then ``d/d b_t = lam_t`` and ``d/d theta_j = -sum_t lam_t e_{t-j}``. For the
   log-likelihood the forward scan accumulates ``sum_t e_t^2`` in its carry and the
   backward scan forms ``2 g e_t`` inside the loop, so no squared-error or cotangent array
   is written. It is exact, and it teaches what JAX's transpose of a scan does, but XLA's
   own transpose of the MA-only scan measured 7 to 13 % faster, so it is not the default
   (:data:`DEFAULT_CUSTOM_ADJOINT`).

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
from jax.typing import ArrayLike
from numpyro.primitives import Messenger

from models.arma import ConditionalARMA, _check_coefficients, arma_model

__all__ = [
    "DEFAULT_CUSTOM_ADJOINT",
    "DEFAULT_UNROLL",
    "FastConditionalARMA",
    "arma_fast_conditional_loglik",
    "arma_fast_model",
    "arma_fast_residuals",
    "fast_model",
]

#: Scan steps per loop iteration for the MA recursion (forward and backward). 8 was the
#: fastest measured on CPU at T = 2000 and 20000 (scripts/benchmarks/REPORT.md); 16 makes
#: XLA's CPU code 30 to 60 times slower.
DEFAULT_UNROLL = 8

#: Whether the gradient goes through the hand-written reverse-recurrence VJP (``True``) or
#: JAX's autodiff of the MA-only scan (``False``). Measured in one process, interleaved, on
#: XLA:CPU (jax 0.10): autodiff 9.7 / 131 us, custom VJP 10.4 / 151 us per value+grad at
#: T = 2000 / 20000 (numba floor 6.6 / 66 us). XLA already turns the scan's transpose into
#: a reverse linear recurrence and fuses the theta cotangent into it; the custom VJP stays
#: as the worked example of that adjoint and for backends where it measures faster.
DEFAULT_CUSTOM_ADJOINT = False


def _ar_innovations(y: Array, mu: Array, phi: Array, initial_y: ArrayLike | None) -> Array:
    """``b_t = y_t - mu - sum_i phi_i y_{t-i}``, shape (T,), pre-sample y from ``initial_y``
    (time order) or ``mu``."""
    p, num_steps = phi.shape[0], y.shape[0]
    if initial_y is None:
        presample = jnp.full((p,), mu, y.dtype)
    else:
        presample = jnp.asarray(initial_y)
        if presample.shape != (p,):
            raise ValueError(
                f"initial_y must have shape (p,) = ({p},), got {presample.shape}"
            )
        presample = presample.astype(y.dtype)
    padded = jnp.concatenate([presample, y])  # padded[p + t] = y_t
    innovations = y - mu
    for lag in range(1, p + 1):  # p is small and static: p slices, no gather
        innovations = innovations - phi[lag - 1] * padded[p - lag : p - lag + num_steps]
    return innovations


def _ma_scan(inputs: Array, coefs: Array, unroll: int, reverse: bool,
             input_scale: Array | None = None) -> Array:
    """``x_t = s inputs_t - sum_j coefs_j x_{t -+ j}`` (``-`` forwards, ``+`` with
    ``reverse``; ``s = input_scale`` or 1), zero before the start; shapes (T,), (q,) -> (T,).
    The scale is applied inside the loop so that no scaled copy of the inputs is stored."""
    q = coefs.shape[0]

    def scaled(u):
        return u if input_scale is None else input_scale * u

    if q == 1:
        # scalar carry: the common ARMA(p, 1) case, no buffer shuffling
        coef = coefs[0]

        def step1(prev, u):
            x = scaled(u) - coef * prev
            return x, x

        _, xs = lax.scan(step1, jnp.zeros((), inputs.dtype), inputs, unroll=unroll,
                         reverse=reverse)
        return xs

    def step(lags, u):
        x = scaled(u) - coefs @ lags
        return jnp.concatenate([x[None], lags[:-1]]), x

    _, xs = lax.scan(step, jnp.zeros((q,), inputs.dtype), inputs, unroll=unroll,
                     reverse=reverse)
    return xs


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _ma_filter(innovations: Array, theta: Array, unroll: int) -> Array:
    """Errors ``e_t = b_t - sum_j theta_j e_{t-j}``, shape (T,), with a reverse-recurrence
    VJP."""
    return _ma_scan(innovations, theta, unroll, reverse=False)


def _ma_filter_fwd(innovations, theta, unroll):
    errors = _ma_scan(innovations, theta, unroll, reverse=False)
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
    adjoint = _ma_scan(errors_bar, theta, unroll, reverse=True)
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
    adjoint = _ma_scan(errors, theta, unroll, reverse=True, input_scale=2.0 * total_bar)
    return adjoint, _theta_cotangent(adjoint, errors, theta.shape[0])


_ma_sum_of_squares.defvjp(_ma_sum_of_squares_fwd, _ma_sum_of_squares_bwd)


def _checked_innovations(y, mu, phi, theta, initial_y):
    """Validated, dtype-matched (b (T,), theta (q,)) for the MA stage."""
    y, mu = jnp.asarray(y), jnp.asarray(mu)
    phi, theta = _check_coefficients(phi, theta)
    if y.ndim != 1 or mu.ndim != 0:
        raise ValueError(f"y must have shape (T,) and mu be a scalar, got {y.shape}, {mu.shape}")
    dtype = jnp.result_type(y, mu, phi, theta)
    y, mu, phi, theta = y.astype(dtype), mu.astype(dtype), phi.astype(dtype), theta.astype(dtype)
    return _ar_innovations(y, mu, phi, initial_y), theta


def arma_fast_residuals(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
    unroll: int = DEFAULT_UNROLL,
    custom_adjoint: bool = DEFAULT_CUSTOM_ADJOINT,
) -> Array:
    """One-step prediction errors of ARMA(p, q), equal to :func:`models.arma.arma_residuals`.

    Args:
        y: modelled observations, shape (T,).
        mu: intercept, scalar.
        phi: AR coefficients, shape (p,).
        theta: MA coefficients, shape (q,).
        initial_y: the p observations before ``y[0]`` in time order, shape (p,), or
            ``None`` (pre-sample observations equal ``mu``). Pre-sample errors are 0.
        unroll: scan steps per loop iteration of the MA recursion.
        custom_adjoint: differentiate by the hand-written reverse recurrence (``True``) or
            by JAX's autodiff of the MA-only scan (``False``); see
            :data:`DEFAULT_CUSTOM_ADJOINT` for the measurements behind the default.

    Returns:
        Errors, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> print(arma_fast_residuals(y, 0.0, jnp.array([0.5]), jnp.array([1.0])))
        [ 1.   0.5 -1. ]
    """
    innovations, theta = _checked_innovations(y, mu, phi, theta, initial_y)
    if theta.shape[0] == 0:
        return innovations
    if custom_adjoint:
        return _ma_filter(innovations, theta, int(unroll))
    return _ma_scan(innovations, theta, int(unroll), reverse=False)


def arma_fast_conditional_loglik(
    y: ArrayLike,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
    unroll: int = DEFAULT_UNROLL,
    custom_adjoint: bool = DEFAULT_CUSTOM_ADJOINT,
) -> Array:
    """Conditional Gaussian log-likelihood of ARMA(p, q), equal to
    :func:`models.arma.arma_conditional_loglik` (same arguments, same ``-inf`` on overflow).

    Args:
        y: modelled observations, shape (T,).
        mu: intercept, scalar.
        phi: shape (p,).
        theta: shape (q,).
        sigma: innovation standard deviation, scalar > 0.
        initial_y: shape (p,) or ``None``; see :func:`arma_fast_residuals`.
        unroll: scan steps per loop iteration of the MA recursion.
        custom_adjoint: see :func:`arma_fast_residuals`.

    Returns:
        Scalar log-likelihood; ``-inf`` when the error recursion overflows.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> ll = arma_fast_conditional_loglik(y, 0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0)
        >>> print(f"{float(ll):.4f}")
        -3.8818
    """
    sigma = jnp.asarray(sigma)
    if custom_adjoint:
        innovations, theta = _checked_innovations(y, mu, phi, theta, initial_y)
        n = innovations.shape[0]
        sum_of_squares = (
            _ma_sum_of_squares(innovations, theta, int(unroll)) if theta.shape[0]
            else jnp.sum(jnp.square(innovations))
        )
    else:
        errors = arma_fast_residuals(y, mu, phi, theta, initial_y=initial_y, unroll=unroll,
                                     custom_adjoint=False)
        n = errors.shape[0]
        sum_of_squares = jnp.sum(jnp.square(errors))
    loglik = (
        -0.5 * sum_of_squares / jnp.square(sigma)
        - n * jnp.log(sigma)
        - 0.5 * n * jnp.log(2 * jnp.pi)
    )
    return jnp.where(jnp.isfinite(loglik), loglik, -jnp.inf)


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
            msg["fn"] = FastConditionalARMA(fn.mu, fn.phi, fn.theta, fn.sigma,
                                            num_steps=fn.num_steps, initial_y=fn.initial_y)


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
        >>> params = {"mu": 0.1, "phi": jnp.array([0.5]), "theta": jnp.array([0.2]),
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
