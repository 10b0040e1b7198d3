"""The order-q moving-average filter and its inverse, as one ``lax.scan``.

An MA(q) filter maps shocks e to ``b_t = e_t + sum_j theta_j e_{t-j}``. Recovering the
shocks from b is a linear recurrence of order q,

    e_t = b_t - sum_{j=1}^q theta_j e_{t-j},      e_t = 0 before the start,

which is the heart of every conditional ARMA likelihood (b is what is left of the series
once the AR part is removed) and of the steady-state Kalman filter of an ARMA model. It is
stable exactly when theta is invertible (all roots of ``1 + sum_j theta_j z^j`` outside the
unit circle); otherwise e grows like the largest inverse root to the power t.

The same recurrence run backwards in time, ``x_t = u_t - sum_j theta_j x_{t+j}``, is its
adjoint: what reverse-mode differentiation of the forward filter computes
(``reverse=True``).

The carry is a lag buffer of the last q outputs, newest first; q = 1 uses a scalar carry
(no buffer shuffling), and ``unroll`` puts several steps in each loop iteration, which
XLA:CPU runs markedly faster for these tiny bodies (``scripts/benchmarks/REPORT.md``).
"""

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

__all__ = ["inverse_ma_filter"]


def inverse_ma_filter(
    inputs: ArrayLike,
    theta: ArrayLike,
    *,
    unroll: int = 1,
    reverse: bool = False,
    input_scale: ArrayLike | None = None,
) -> Array:
    """``x_t = s u_t - sum_j theta_j x_{t-j}`` (``x_{t+j}`` with ``reverse``), zero outside.

    Args:
        inputs: u, shape (T,).
        theta: MA coefficients, shape (q,), q >= 0; q = 0 returns ``s u``.
        unroll: scan steps per loop iteration.
        reverse: run from the end of the series to its start (the adjoint recurrence).
        input_scale: s, a scalar applied inside the loop so that no scaled copy of the
            inputs is stored; ``None`` for 1.

    Returns:
        x, shape (T,).

    Example:
        MA(1) with theta = 0.5: the shocks behind b = (1, 1.5, 0.25).

        >>> import jax.numpy as jnp
        >>> print(inverse_ma_filter(jnp.array([1.0, 1.5, 0.25]), jnp.array([0.5])))
        [ 1.   1.  -0.25]
    """
    inputs, theta = jnp.asarray(inputs), jnp.asarray(theta)
    if inputs.ndim != 1 or theta.ndim != 1:
        raise ValueError(
            f"inverse_ma_filter: inputs and theta must have shapes (T,) and (q,), got "
            f"{inputs.shape} and {theta.shape}"
        )
    q = theta.shape[0]
    theta = theta.astype(inputs.dtype)

    def scaled(u):
        return u if input_scale is None else input_scale * u

    if q == 0:
        return scaled(inputs)
    if q == 1:
        coef = theta[0]

        def step1(prev, u):
            x = scaled(u) - coef * prev
            return x, x

        _, xs = lax.scan(step1, jnp.zeros((), inputs.dtype), inputs, unroll=unroll,
                         reverse=reverse)
        return xs

    def step(lags, u):
        x = scaled(u) - theta @ lags
        return jnp.concatenate([x[None], lags[:-1]]), x

    _, xs = lax.scan(step, jnp.zeros((q,), inputs.dtype), inputs, unroll=unroll,
                     reverse=reverse)
    return xs
