"""Argument checks shared by every ARMA likelihood, distribution and model.

Each returns its arguments as arrays of one floating dtype, or raises a ``ValueError``
that names the argument, the shape it has and the shape it needs: a user who passes a
(T, 1) series or a scalar phi learns it here, not from a shape error deep inside a scan.
"""

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

__all__ = [
    "check_arma_args",
    "check_coefficients",
    "check_conditional_args",
    "check_model_series",
    "is_stationary",
]


def check_coefficients(phi: ArrayLike, theta: ArrayLike) -> tuple[Array, Array]:
    """``phi`` (p,) and ``theta`` (q,) as arrays, or a ValueError naming their shapes.

    Example:
        >>> check_coefficients([0.5], 0.3)
        Traceback (most recent call last):
        ...
        ValueError: phi and theta must have shapes (p,) and (q,), got (1,) and ()
    """
    phi, theta = jnp.asarray(phi), jnp.asarray(theta)
    if phi.ndim != 1 or theta.ndim != 1:
        raise ValueError(
            f"phi and theta must have shapes (p,) and (q,), got {phi.shape} and {theta.shape}"
        )
    return phi, theta


def check_conditional_args(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    initial_y: ArrayLike | None,
) -> tuple[Array, Array, Array, Array, Array | None]:
    """(y (T,), intercept (), phi (p,), theta (q,), initial_y (p,) or None) of a conditional
    ARMA likelihood, in one floating dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> check_conditional_args(jnp.zeros(3), 0.0, jnp.zeros(2), jnp.zeros(0), jnp.zeros(1))
        Traceback (most recent call last):
        ...
        ValueError: initial_y must have shape (p,) = (2,), got (1,)
    """
    y, intercept = jnp.asarray(y), jnp.asarray(intercept)
    phi, theta = check_coefficients(phi, theta)
    if y.ndim != 1 or intercept.ndim != 0:
        raise ValueError(
            f"y must have shape (T,) and the intercept be a scalar, got {y.shape}, "
            f"{intercept.shape}"
        )
    dtype = jnp.result_type(float, y, intercept, phi, theta)
    if initial_y is not None:
        initial_y = jnp.asarray(initial_y)
        if initial_y.shape != phi.shape:
            raise ValueError(
                f"initial_y must have shape (p,) = ({phi.shape[0]},), got {initial_y.shape}"
            )
        initial_y = initial_y.astype(dtype)
    return (y.astype(dtype), intercept.astype(dtype), phi.astype(dtype), theta.astype(dtype),
            initial_y)


def check_arma_args(
    y: ArrayLike, mu: ArrayLike, phi: ArrayLike, theta: ArrayLike, sigma: ArrayLike, name: str
) -> tuple[Array, Array, Array, Array, Array]:
    """Shapes (T,), (), (p,), (q,), () in one floating dtype, or a ValueError naming the problem.

    Example:
        >>> import jax.numpy as jnp
        >>> check_arma_args(jnp.zeros(4), 0.0, jnp.zeros((2, 1)), jnp.zeros(1), 1.0, "f")
        Traceback (most recent call last):
        ...
        ValueError: f: phi must have shape (p,), got (2, 1)
    """
    y, mu, phi, theta, sigma = (jnp.asarray(a) for a in (y, mu, phi, theta, sigma))
    if y.ndim != 1 or y.shape[0] < 1:
        raise ValueError(f"{name}: y must have shape (T,) with T >= 1, got {y.shape}")
    for label, value in (("phi", phi), ("theta", theta)):
        if value.ndim != 1:
            raise ValueError(f"{name}: {label} must have shape ({label[0]},), got {value.shape}")
    for label, value in (("mu", mu), ("sigma", sigma)):
        if value.ndim != 0:
            raise ValueError(f"{name}: {label} must be a scalar, got shape {value.shape}")
    dtype = jnp.result_type(float, y, mu, phi, theta, sigma)
    return tuple(a.astype(dtype) for a in (y, mu, phi, theta, sigma))


def check_model_series(
    model_name: str, y: ArrayLike | None, num_steps: int | None, order: tuple[int, int]
) -> tuple[Array | None, int]:
    """Validate an ARMA model's order and series; return ``(y as an array or None, T)``.

    Example:
        >>> y, T = check_model_series("arma_model", [1.0, 2.0, 3.0], None, (1, 1))
        >>> print(y.shape, T)
        (3,) 3
    """
    p, q = order
    if p < 0 or q < 0:
        raise ValueError(f"{model_name}: order must be two integers >= 0, got {order}")
    if y is None:
        if num_steps is None:
            raise ValueError(f"{model_name}: give y or num_steps")
        return None, int(num_steps)
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{model_name}: y must have shape (T,), got {y.shape}")
    return y, y.shape[0]


def is_stationary(phi: ArrayLike) -> Array:
    """Whether every root of ``1 - sum_i phi_i z^i`` lies outside the unit circle, as a
    boolean array; forward only (the gradient is stopped: it decides which branch runs, it
    is not differentiated).

    Args:
        phi: shape (p,); p = 0 is stationary.

    Example:
        >>> import jax.numpy as jnp
        >>> print(is_stationary(jnp.array([0.5, 0.3])), is_stationary(jnp.array([1.2])))
        True False
    """
    from models.arma.transforms import coefficients_to_pacf  # transforms import no checks

    phi = jnp.asarray(phi)
    if phi.ndim != 1:
        raise ValueError(f"is_stationary: phi must have shape (p,), got {phi.shape}")
    if phi.shape[0] == 0:
        return jnp.array(True)
    # The step-down recursion: stationary iff every partial autocorrelation is in (-1, 1)
    # (NaN, from a division by 1 - r^2 = 0, compares False). Pure JAX: runs on any device.
    pacf = coefficients_to_pacf(lax.stop_gradient(phi))
    return jnp.all(jnp.abs(pacf) < 1.0)
