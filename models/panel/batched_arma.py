r"""The conditional ARMA(p, q) likelihood written for NUTS under ``vmap`` over many chains.

Under ``fit_independent`` every leapfrog step of a batch of chains calls the likelihood's
value and gradient once, vectorised over the batch. On XLA:CPU a ``lax.scan`` over time is
a ``while`` loop whose every iteration runs each fused kernel of its body one after the
other; with the batch in the lanes, a kernel touches a few hundred numbers and its launch,
not its arithmetic, is the cost. So the cost of one batched call is about
(loop iterations) x (kernels per iteration) launches, whatever the width: the fixed cost
of a batched leapfrog step that REPORT.md section 7.1 found.

:func:`models.arma.arma_fast_conditional_loglik` (the conditional variant's likelihood)
carries the forward sensitivities of the errors as 2 + p + q separate scalars in its scan
(``e``, the filtered columns of d b / d (c, phi), d e / d theta_k) and their running
sums: XLA fuses each of them into its own kernel, about 14 kernels per iteration for
ARMA(1, 1). Here the same recurrences are **one stacked array**. Write
``z_t = (e_t, x_{c,t}, x_{phi_1,t}, ..., d_{1,t}, ..., d_{q,t})`` (K = 2 + p + q rows):
every row follows the same MA filter,

.. math::

    z_t = u_t - \sum_{j=1}^q \theta_j z_{t-j} - (0, \dots, 0, e_{t-1}, \dots, e_{t-q}),

with inputs ``u_t = (b_t, d b_t / d c, d b_t / d phi_i, 0, ..., 0)`` (``b`` the AR part,
known for every t at once), and ``sum_t e_t z_t`` holds, in one (K,) vector, the sum of
squares ``S = sum_t e_t^2`` and half of its gradient. The scan's carry is the lag buffer
(q, K) and that sum: one kernel for the update, one for the sum, per step.

:func:`batched_conditional_loglik` is that likelihood (``jax.custom_jvp``: the gradient in
(c, phi, theta) comes from the same pass; a tangent in ``y`` or ``initial_y`` falls back to
JAX's own derivative of the reference). :func:`batched_model` swaps it into any model whose
observed site is a :class:`models.arma.ConditionalARMA` (or its fast subclass), which is
what ``fit_independent(..., likelihood="batched")`` does.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from models.arma import arma_conditional_loglik
    >>> y = jnp.array([1.0, 2.0, 0.5, -0.3])
    >>> args = (y, 0.1, jnp.array([0.5]), jnp.array([0.4, -0.2]), 0.9)
    >>> print(round(float(batched_conditional_loglik(*args)), 6),
    ...       round(float(arma_conditional_loglik(*args)), 6))
    -4.849811 -4.849811
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.custom_derivatives import SymbolicZero
from jax.typing import ArrayLike
from numpyro.primitives import Messenger

from models.arma import ConditionalARMA, arma_conditional_loglik
from models.arma.checks import check_conditional_args
from patterns import normal_loglik_from_sum_of_squares

__all__ = ["BATCHED_UNROLL", "BatchedConditionalARMA", "batched_conditional_loglik",
           "batched_model", "stacked_sensitivities"]

#: Scan steps per loop iteration of the stacked scan (see REPORT.md section 7.2).
BATCHED_UNROLL = 8


def _ar_inputs(y: Array, c: Array, phi: Array, initial_y: Array | None) -> Array:
    """The scan's inputs, shape (T, 2 + p): ``b_t = y_t - c - sum_i phi_i y_{t-i}`` and its
    derivatives in c and phi_i (b is linear in them; pre-sample y = c or ``initial_y``)."""
    p, num_steps = phi.shape[0], y.shape[0]
    presample = jnp.full((p,), c, y.dtype) if initial_y is None else initial_y
    padded = jnp.concatenate([presample, y])
    lagged = [padded[p - lag: p - lag + num_steps] for lag in range(1, p + 1)]
    b = y - c
    d_c = jnp.full((num_steps,), -1.0, y.dtype)
    for lag in range(1, p + 1):
        b = b - phi[lag - 1] * lagged[lag - 1]
        if initial_y is None:  # y_{t-lag} = c before the start
            d_c = d_c - phi[lag - 1] * (jnp.arange(num_steps) < lag)
    return jnp.stack([b, d_c, *(-x for x in lagged)], axis=1)


def stacked_sensitivities(inputs: Array, theta: Array, *, unroll: int = BATCHED_UNROLL
                          ) -> Array:
    """``sum_t e_t z_t`` for the stacked recurrence of the module text, shape (K,), K =
    ``inputs.shape[1] + q``: entry 0 is ``sum_t e_t^2``, entry 1 + i is half of its
    derivative in the parameter of input column i + 1, entry ``inputs.shape[1] + k`` half
    of its derivative in ``theta[k]``.

    Args:
        inputs: (T, 2 + p): ``b`` then the derivative columns.
        theta: (q,).
        unroll: scan steps per loop iteration.

    Example:
        >>> import jax.numpy as jnp
        >>> out = stacked_sensitivities(jnp.array([[1.0, 0.0], [1.5, 0.0]]), jnp.array([0.5]))
        >>> print(out)  # e = (1, 1): S = 2, dS/dtheta / 2 = sum_t e_t d_t = 1 x (-1)
        [ 2.  0. -1.]
    """
    num_steps, width = inputs.shape
    q = theta.shape[0]
    rows = width + q
    dtype = inputs.dtype
    if q == 0:
        return inputs[:, 0] @ inputs
    padded = jnp.concatenate([inputs, jnp.zeros((num_steps, q), dtype)], axis=1)

    def step(carry: tuple[Array, Array], u: Array) -> tuple[tuple[Array, Array], None]:
        lags, total = carry  # (q, K) newest first, (K,)
        feedback = jnp.concatenate([jnp.zeros((width,), dtype), lags[:, 0]])
        z = u - theta @ lags - feedback
        return (jnp.concatenate([z[None], lags[:-1]]), total + z[0] * z), None

    init = (jnp.zeros((q, rows), dtype), jnp.zeros((rows,), dtype))
    (_, total), _ = lax.scan(step, init, padded, unroll=unroll)
    return total


def _reference_sum_of_squares(y, c, phi, theta, initial_y):
    """``sum_t e_t^2`` by the reference two-buffer scan (JAX differentiates it)."""
    return -2.0 * arma_conditional_loglik(y, c, phi, theta, jnp.asarray(1.0, y.dtype),
                                          initial_y=initial_y) \
        - y.shape[0] * jnp.log(2.0 * jnp.pi)


@partial(jax.custom_jvp, nondiff_argnums=(5,))
def _sum_of_squares(y, c, phi, theta, initial_y, unroll):
    return stacked_sensitivities(_ar_inputs(y, c, phi, initial_y), theta, unroll=unroll)[0]


@partial(_sum_of_squares.defjvp, symbolic_zeros=True)
def _sum_of_squares_jvp(unroll, primals, tangents):
    y, c, phi, theta, initial_y = primals
    y_dot, c_dot, phi_dot, theta_dot, initial_y_dot = tangents
    if not all(isinstance(t, SymbolicZero) or t is None for t in (y_dot, initial_y_dot)):
        dense = [jnp.zeros(t.shape, t.dtype) if isinstance(t, SymbolicZero) else t
                 for t in tangents]
        return jax.jvp(_reference_sum_of_squares, primals, tuple(dense))
    p = phi.shape[0]
    sums = stacked_sensitivities(_ar_inputs(y, c, phi, initial_y), theta, unroll=unroll)
    total = sums[0]
    total_dot = jnp.zeros_like(total)
    if not isinstance(c_dot, SymbolicZero):
        total_dot = total_dot + 2.0 * sums[1] * c_dot
    if not isinstance(phi_dot, SymbolicZero) and p:
        total_dot = total_dot + 2.0 * jnp.dot(sums[2:2 + p], phi_dot)
    if not isinstance(theta_dot, SymbolicZero) and theta.shape[0]:
        total_dot = total_dot + 2.0 * jnp.dot(sums[2 + p:], theta_dot)
    return total, total_dot


def batched_conditional_loglik(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
    unroll: int = BATCHED_UNROLL,
) -> Array:
    """Conditional Gaussian log-likelihood of ARMA(p, q), equal to
    :func:`models.arma.arma_conditional_loglik` (same arguments, ``-inf`` on overflow), by
    the stacked sensitivity scan of the module text.

    Args:
        y: (T,); intercept: (); phi: (p,); theta: (q,); sigma: () > 0.
        initial_y: (p,) or ``None`` (pre-sample observations = the intercept).
        unroll: scan steps per loop iteration.

    Returns:
        Scalar log-likelihood.

    The example is the module's.
    """
    sigma = jnp.asarray(sigma)
    y, c, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                          initial_y)
    return normal_loglik_from_sum_of_squares(
        _sum_of_squares(y, c, phi, theta, initial_y, int(unroll)), y.shape[0], sigma)


class BatchedConditionalARMA(ConditionalARMA):
    """:class:`models.arma.ConditionalARMA` scored by :func:`batched_conditional_loglik`:
    same arguments, event shape, ``sample`` and density.

    Example:
        >>> import jax.numpy as jnp
        >>> d = BatchedConditionalARMA(0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0,
        ...                            num_steps=3)
        >>> print(f"{float(d.log_prob(jnp.array([1.0, 2.0, 0.5]))):.4f}")
        -3.8818
    """

    _loglik = staticmethod(batched_conditional_loglik)


class _UseBatchedLikelihood(Messenger):
    """Every observed ``ConditionalARMA`` site (or subclass: the fast path's) is scored by
    :class:`BatchedConditionalARMA`."""

    def process_message(self, msg: dict[str, Any]) -> None:
        fn = msg.get("fn")
        if (msg["type"] == "sample" and isinstance(fn, ConditionalARMA)
                and not isinstance(fn, BatchedConditionalARMA)):
            msg["fn"] = BatchedConditionalARMA(
                fn.intercept, fn.phi, fn.theta, fn.sigma, num_steps=fn.num_steps,
                initial_y=fn.initial_y, exog=fn.exog, beta=fn.beta)


def batched_model(model: Callable[..., Any]) -> Callable[..., None]:
    """``model`` with every ``ConditionalARMA`` site scored by the batched likelihood; other
    sites (and models without such a site) are unchanged.

    Example:
        >>> import jax.numpy as jnp
        >>> from numpyro.infer.util import log_density
        >>> from models.arma import arma_model
        >>> y = jnp.array([0.3, -0.1, 0.4, 0.2])
        >>> params = {"intercept": 0.1, "phi": jnp.array([0.5]), "theta": jnp.array([0.2]),
        ...           "sigma": 0.8}
        >>> fast, _ = log_density(batched_model(arma_model), (y,), {}, params)
        >>> slow, _ = log_density(arma_model, (y,), {}, params)
        >>> print(abs(float(fast) - float(slow)) < 1e-6)
        True
    """

    def wrapped(*args: Any, **kwargs: Any) -> None:
        with _UseBatchedLikelihood():
            model(*args, **kwargs)

    return wrapped
