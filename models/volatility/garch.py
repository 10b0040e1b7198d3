"""GARCH(p, q) with a constant mean: the conditional-variance recursion, its
log-likelihood and its variance forecasts, as pure functions of arrays.

The model (Bollerslev 1986), with residuals ``e_t = y_t - mu``::

    sigma2_t = omega + sum_{i=1..p} alpha_i e_{t-i}^2 + sum_{j=1..q} beta_j sigma2_{t-j}
    e_t = sqrt(sigma2_t) z_t,   z_t ~ N(0, 1)  or  standardised Student-t(nu) (unit variance)

(``p`` counts the ARCH terms ``alpha``, ``q`` the GARCH terms ``beta``, as in
``arch.arch_model(..., p=p, q=q)``.) The recursion needs values before t = 1; the
**initial variance** ``v0`` is an explicit argument, and ``start`` says where it goes:

* ``start="presample"`` (``arch``'s convention): every pre-sample squared residual
  ``e_{t}^2`` and variance ``sigma2_t`` (t <= 0) equals ``v0``; ``sigma2_1`` comes from
  the recursion. With ``v0 = arch_backcast(e)`` this is ``arch``'s likelihood exactly.
* ``start="first"`` (posteriordb ``garch11``'s convention, ``sigma[1] = sigma1``): the
  first observation's variance *is* ``v0`` and the recursion runs from t = 2 (pre-sample
  values, which only p, q >= 2 reach, are ``v0`` too).

``v0`` can be a fixed number, a parameter (a traced value), or :func:`arch_backcast` of
the residuals. GARCH(1, 1) is a first-order linear recurrence in ``sigma2``
(``sigma2_t = beta sigma2_{t-1} + (omega + alpha e_{t-1}^2)``), computed by
:func:`patterns.sequential.linear_recurrence`; other orders by one ``lax.scan`` whose
carry holds the last p squared residuals and q variances.
"""

from typing import Literal

import jax.numpy as jnp
from jax import Array, lax
from jax.scipy.special import gammaln
from jax.typing import ArrayLike

from patterns.sequential import linear_recurrence

__all__ = [
    "BACKCAST_DECAY",
    "BACKCAST_WINDOW",
    "Start",
    "arch_backcast",
    "check_garch_args",
    "garch_forecast_variance",
    "garch_loglik",
    "garch_variances",
    "innovation_logpdf",
]

Start = Literal["presample", "first"]
#: ``arch``'s backcast: weights ``BACKCAST_DECAY ** k`` over the first
#: ``min(BACKCAST_WINDOW, T)`` squared residuals, normalised.
BACKCAST_DECAY = 0.94
BACKCAST_WINDOW = 75


def check_garch_args(
    residuals: ArrayLike, omega: ArrayLike, alpha: ArrayLike, beta: ArrayLike
) -> tuple[Array, Array, Array, Array]:
    """(residuals (T,), omega (), alpha (p,), beta (q,)) in one floating dtype, or a
    ``ValueError`` naming the argument and its shape.

    Example:
        >>> check_garch_args([0.1, 0.2], 0.1, 0.2, [0.7])
        Traceback (most recent call last):
        ...
        ValueError: alpha must have shape (p,) and beta shape (q,), got () and (1,)
    """
    residuals, omega, alpha, beta = (jnp.asarray(a) for a in (residuals, omega, alpha, beta))
    if residuals.ndim != 1 or residuals.shape[0] < 1:
        raise ValueError(f"residuals must have shape (T,) with T >= 1, got {residuals.shape}")
    if omega.ndim != 0:
        raise ValueError(f"omega must be a scalar, got shape {omega.shape}")
    if alpha.ndim != 1 or beta.ndim != 1:
        raise ValueError(f"alpha must have shape (p,) and beta shape (q,), got {alpha.shape} "
                         f"and {beta.shape}")
    dtype = jnp.result_type(float, residuals, omega, alpha, beta)
    return tuple(a.astype(dtype) for a in (residuals, omega, alpha, beta))  # type: ignore


def arch_backcast(residuals: ArrayLike) -> Array:
    """``arch``'s starting value of the variance recursion: the exponentially weighted mean
    of the first ``min(75, T)`` squared residuals, weights ``0.94**k`` normalised to 1.

    Args:
        residuals: ``e = y - mu``, shape (T,).

    Returns:
        scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> print(f"{float(arch_backcast(jnp.array([1.0, 2.0]))):.6f}")  # (1 + .94*4)/1.94
        2.453608
    """
    residuals = jnp.asarray(residuals)
    window = min(BACKCAST_WINDOW, residuals.shape[0])
    weights = BACKCAST_DECAY ** jnp.arange(window, dtype=jnp.result_type(float, residuals))
    return jnp.sum(residuals[:window] ** 2 * weights) / jnp.sum(weights)


def _push(buffer: Array, value: Array) -> Array:
    """``value`` in front, the oldest entry dropped; a size-0 buffer stays empty."""
    return jnp.concatenate([value[None], buffer])[: buffer.shape[0]]


def garch_variances(
    residuals: ArrayLike,
    omega: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    initial_variance: ArrayLike,
    *,
    start: Start = "presample",
) -> Array:
    """The conditional variances ``sigma2_1 .. sigma2_T`` of GARCH(p, q).

    Args:
        residuals: ``e = y - mu``, shape (T,).
        omega: the constant, scalar, > 0.
        alpha: ARCH coefficients, shape (p,).
        beta: GARCH coefficients, shape (q,).
        initial_variance: ``v0``, scalar > 0 (a number, a parameter, or
            :func:`arch_backcast` of the residuals).
        start: ``"presample"`` (``arch``) or ``"first"`` (posteriordb); module text.

    Returns:
        shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> e = jnp.array([1.0, -2.0, 0.5])
        >>> print(garch_variances(e, 0.1, jnp.array([0.2]), jnp.array([0.7]), 1.0))
        [1.  1.  1.6]
        >>> s2 = garch_variances(e, 0.1, jnp.array([0.2]), jnp.array([0.7]), 2.0, start="first")
        >>> print([round(float(v), 4) for v in s2])  # sigma2_2 = .1 + .2 + .7 * 2
        [2.0, 1.7, 2.09]
    """
    if start not in ("presample", "first"):
        raise ValueError(f"start must be 'presample' or 'first', got {start!r}")
    e, omega, alpha, beta = check_garch_args(residuals, omega, alpha, beta)
    v0 = jnp.asarray(initial_variance, e.dtype)
    if v0.ndim != 0:
        raise ValueError(f"initial_variance must be a scalar, got shape {v0.shape}")
    squares = e**2
    num_steps = e.shape[0]
    if alpha.shape[0] == 1 and beta.shape[0] == 1:
        # GARCH(1, 1): sigma2_t = beta sigma2_{t-1} + (omega + alpha e_{t-1}^2), linear.
        lagged = jnp.concatenate([v0[None], squares[:-1]])
        a = jnp.full((num_steps,), beta[0])
        b = omega + alpha[0] * lagged
        if start == "first":  # sigma2_1 = v0: a_1 = 0, b_1 = v0
            a, b = a.at[0].set(0.0), b.at[0].set(v0)
        return linear_recurrence(a, b, v0)

    first = jnp.zeros(num_steps, bool).at[0].set(start == "first")

    def step(carry, inputs):
        lagged_squares, lagged_variances = carry
        square, is_first = inputs
        variance = omega + alpha @ lagged_squares + beta @ lagged_variances
        variance = jnp.where(is_first, v0, variance)
        return (_push(lagged_squares, square), _push(lagged_variances, variance)), variance

    init = (jnp.full(alpha.shape, v0), jnp.full(beta.shape, v0))
    _, variances = lax.scan(step, init, (squares, first))
    return variances


def innovation_logpdf(residuals: ArrayLike, variances: ArrayLike,
                      nu: ArrayLike | None = None) -> Array:
    """Log-density of residuals with the given variances: normal, or (``nu`` given, > 2)
    the standardised Student-t of ``arch``'s ``dist="t"`` (variance ``variances``).

    Args:
        residuals, variances: shape (T,) (any common shape).
        nu: degrees of freedom, scalar > 2, or ``None`` for the normal.

    Returns:
        elementwise log-densities, the common shape.

    Example:
        >>> import jax.numpy as jnp
        >>> print(f"{float(innovation_logpdf(jnp.array(0.0), jnp.array(1.0))):.6f}")
        -0.918939
    """
    e, s2 = jnp.asarray(residuals), jnp.asarray(variances)
    if nu is None:
        return -0.5 * (jnp.log(2 * jnp.pi) + jnp.log(s2) + e**2 / s2)
    nu = jnp.asarray(nu, s2.dtype)
    return (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * jnp.log(jnp.pi * (nu - 2))
            - 0.5 * jnp.log(s2) - (nu + 1) / 2 * jnp.log1p(e**2 / (s2 * (nu - 2))))


def garch_loglik(
    y: ArrayLike,
    mu: ArrayLike,
    omega: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    initial_variance: ArrayLike | Literal["backcast"] = "backcast",
    *,
    nu: ArrayLike | None = None,
    start: Start = "presample",
) -> Array:
    """Log-likelihood of ``y`` under GARCH(p, q) with constant mean ``mu``, conditional
    on the initial variance.

    Args:
        y: the series, shape (T,), no NaN.
        mu: the mean, scalar.
        omega, alpha (p,), beta (q,): the variance recursion (module text).
        initial_variance: ``v0``, scalar > 0, or ``"backcast"`` for
            :func:`arch_backcast` of ``y - mean(y)`` (as ``arch`` does: the residuals at
            its starting values, so the start depends on the data only, not on ``mu``).
        nu: Student-t degrees of freedom (> 2), or ``None`` for normal innovations.
        start: ``"presample"`` or ``"first"`` (module text).

    Returns:
        scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0.3, -1.2, 0.8, 2.0])
        >>> ll = garch_loglik(y, 0.0, 0.1, jnp.array([0.2]), jnp.array([0.7]))
        >>> print(f"{float(ll):.4f}")
        -6.9000
    """
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must have shape (T,), got {y.shape}")
    residuals = y - jnp.asarray(mu)
    if isinstance(initial_variance, str):
        if initial_variance != "backcast":
            raise ValueError(f"initial_variance must be a positive number or 'backcast', got "
                             f"{initial_variance!r}")
        initial_variance = arch_backcast(y - jnp.mean(y))
    variances = garch_variances(residuals, omega, alpha, beta, initial_variance, start=start)
    return jnp.sum(innovation_logpdf(residuals, variances, nu))


def garch_forecast_variance(
    residuals: ArrayLike,
    variances: ArrayLike,
    omega: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    horizon: int,
) -> Array:
    """Variance forecasts ``E[e_{T+k}^2 | y_1..y_T] = sigma2_{T+k|T}``, k = 1..h.

    ``sigma2_{T+1}`` is known at time T; beyond it the unknown squared residuals are
    replaced by their expectations, the forecast variances (the recursion of ``arch``'s
    analytic GARCH forecast).

    Args:
        residuals: ``e = y - mu``, shape (T,) with T >= max(p, q).
        variances: the fitted ``sigma2_1 .. sigma2_T`` (:func:`garch_variances`), (T,).
        omega, alpha (p,), beta (q,): the recursion.
        horizon: h >= 1.

    Returns:
        shape (h,).

    Example:
        >>> import jax.numpy as jnp
        >>> e = jnp.array([1.0, -2.0, 0.5])
        >>> s2 = garch_variances(e, 0.1, jnp.array([0.2]), jnp.array([0.7]), 1.0)
        >>> print(garch_forecast_variance(e, s2, 0.1, jnp.array([0.2]), jnp.array([0.7]), 2))
        [1.27  1.243]
    """
    e, omega, alpha, beta = check_garch_args(residuals, omega, alpha, beta)
    s2 = jnp.asarray(variances, e.dtype)
    p, q, num_steps = alpha.shape[0], beta.shape[0], e.shape[0]
    if s2.shape != e.shape:
        raise ValueError(f"variances must have the residuals' shape {e.shape}, got {s2.shape}")
    if int(horizon) < 1 or num_steps < max(p, q):
        raise ValueError(f"need horizon >= 1 and T >= max(p, q) = {max(p, q)}, got horizon "
                         f"{horizon}, T = {num_steps}")
    lagged_squares = (e**2)[::-1][:p]  # most recent first
    lagged_variances = s2[::-1][:q]

    def step(carry, _):
        squares, past = carry
        variance = omega + alpha @ squares + beta @ past
        return (_push(squares, variance), _push(past, variance)), variance

    _, forecasts = lax.scan(step, (lagged_squares, lagged_variances), None, length=int(horizon))
    return forecasts
