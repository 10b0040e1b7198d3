"""Stationary AR and invertible MA coefficients from partial autocorrelations.

Every stationary AR(p) polynomial ``1 - phi_1 z - .. - phi_p z^p`` corresponds to exactly
one vector of partial autocorrelations (PACF) in (-1, 1)^p, and back (Barndorff-Nielsen &
Schou 1973; Monahan 1984; Jones 1980). The map is the Durbin-Levinson recursion, for
k = 1..p::

    phi^(k)_j = phi^(k-1)_j - r_k phi^(k-1)_{k-j}   (j < k),      phi^(k)_k = r_k

written here as a ``lax.scan`` whose carry is the coefficient vector, updated with ``.at``.
Its inverse is the step-down recursion. An invertible MA polynomial
``1 + theta_1 z + .. + theta_q z^q`` is the same set with the sign flipped:
``theta = -phi(r)`` (statsmodels' convention).

Log-Jacobian (Monahan 1984): step k changes (phi^(k-1), r_k) by the matrix
``I - r_k E`` on the old coefficients (E reverses k - 1 entries, eigenvalues +1 and -1),
so ``log|det d phi / d r| = sum_k ceil((k-1)/2) log(1 - r_k) + floor((k-1)/2) log(1 + r_k)``.

As NumPyro objects: constraints :data:`stationary_ar` and :data:`invertible_ma`, transforms
:class:`PACFToStationaryAR` and :class:`PACFToInvertibleMA` from (-1, 1)^p, and
``biject_to`` registered for both constraints (NumPyro's map of the reals onto (-1, 1),
a scaled sigmoid, then the PACF map), so a
site whose support is one of them is sampled on unconstrained reals by NUTS.
"""

import jax.numpy as jnp
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints
from numpyro.distributions.transforms import (
    ComposeTransform,
    ParameterFreeTransform,
    biject_to,
)

__all__ = [
    "PACFToInvertibleMA",
    "PACFToStationaryAR",
    "coefficients_to_pacf",
    "invertible_ma",
    "invertible_ma_prior",
    "pacf_log_abs_det_jacobian",
    "pacf_to_coefficients",
    "stationary_ar",
    "stationary_ar_prior",
]


def _durbin_levinson(pacf: Array) -> Array:
    p = pacf.shape[0]
    index = jnp.arange(p)

    def step(phi, inputs):
        k, r = inputs
        # phi[k - 1 - j] for j < k: the first k coefficients, reversed.
        reversed_head = phi[jnp.clip(k - 1 - index, 0, p - 1)]
        phi = jnp.where(index < k, phi - r * reversed_head, phi)
        return phi.at[k].set(r), None

    # p is small and static: unroll the scan fully, no loop overhead inside NUTS.
    phi, _ = lax.scan(step, jnp.zeros_like(pacf), (index, pacf), unroll=True)
    return phi


def _step_down(phi: Array) -> Array:
    p = phi.shape[0]
    index = jnp.arange(p)

    def step(coefficients, k):
        r = coefficients[k]
        reversed_head = coefficients[jnp.clip(k - 1 - index, 0, p - 1)]
        previous = (coefficients + r * reversed_head) / (1.0 - r**2)
        coefficients = jnp.where(index < k, previous, 0.0)
        return coefficients, r

    _, pacf = lax.scan(step, phi, index, reverse=True, unroll=True)
    return pacf


def _as_vector(x: ArrayLike, name: str) -> Array:
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{name}: need shape (..., p), got a scalar")
    return x.astype(jnp.result_type(float, x))


def pacf_to_coefficients(pacf: ArrayLike) -> Array:
    """Stationary AR coefficients from partial autocorrelations (Durbin-Levinson).

    Args:
        pacf: shape (..., p), entries in (-1, 1).

    Returns:
        phi, shape (..., p): all roots of ``1 - sum_i phi_i z^i`` outside the unit circle.

    Example:
        >>> import jax.numpy as jnp
        >>> print(pacf_to_coefficients(jnp.array([0.5, 0.2])))  # (r1 (1 - r2), r2)
        [0.4 0.2]
    """
    pacf = _as_vector(pacf, "pacf_to_coefficients")
    return jnp.vectorize(_durbin_levinson, signature="(p)->(p)")(pacf)


def coefficients_to_pacf(phi: ArrayLike) -> Array:
    """Partial autocorrelations of stationary AR coefficients (step-down recursion).

    The inverse of :func:`pacf_to_coefficients`; an entry outside (-1, 1) means ``phi`` is
    not stationary.

    Args:
        phi: shape (..., p).

    Returns:
        pacf, shape (..., p).

    Example:
        >>> import jax.numpy as jnp
        >>> print(coefficients_to_pacf(jnp.array([0.375, 0.25])))
        [0.5  0.25]
    """
    phi = _as_vector(phi, "coefficients_to_pacf")
    return jnp.vectorize(_step_down, signature="(p)->(p)")(phi)


def pacf_log_abs_det_jacobian(pacf: ArrayLike) -> Array:
    """``log|det d phi / d pacf|`` of :func:`pacf_to_coefficients`, in closed form.

    Args:
        pacf: shape (..., p).

    Returns:
        shape (...).

    Example:
        >>> import jax.numpy as jnp
        >>> # p = 2: phi = (r1 (1 - r2), r2), det = 1 - r2
        >>> print(jnp.allclose(pacf_log_abs_det_jacobian(jnp.array([0.5, 0.2])), jnp.log(0.8)))
        True
    """
    pacf = _as_vector(pacf, "pacf_log_abs_det_jacobian")
    k_minus_1 = jnp.arange(pacf.shape[-1])
    plus_one_count = (k_minus_1 + 1) // 2  # eigenvalue +1 of E: log(1 - r)
    minus_one_count = k_minus_1 // 2  # eigenvalue -1 of E: log(1 + r)
    return jnp.sum(plus_one_count * jnp.log1p(-pacf) + minus_one_count * jnp.log1p(pacf), -1)


class _StationaryAR(constraints.ParameterFreeConstraint):
    """AR coefficients (..., p) whose polynomial has all roots outside the unit circle."""

    event_dim = 1

    def __call__(self, x):
        return jnp.all(jnp.abs(coefficients_to_pacf(x)) < 1.0, axis=-1)

    def feasible_like(self, prototype):
        return jnp.zeros_like(prototype)


class _InvertibleMA(constraints.ParameterFreeConstraint):
    """MA coefficients (..., q) of ``1 + sum_j theta_j z^j`` with all roots outside |z| = 1."""

    event_dim = 1

    def __call__(self, x):
        return jnp.all(jnp.abs(coefficients_to_pacf(-jnp.asarray(x))) < 1.0, axis=-1)

    def feasible_like(self, prototype):
        return jnp.zeros_like(prototype)


stationary_ar = _StationaryAR()
invertible_ma = _InvertibleMA()
_unit_interval = constraints.open_interval(-1.0, 1.0)
_open_unit_cube = constraints.independent(_unit_interval, 1)


class PACFToStationaryAR(ParameterFreeTransform):
    """NumPyro transform (-1, 1)^p -> stationary AR(p) coefficients.

    Example:
        >>> import jax.numpy as jnp
        >>> t = PACFToStationaryAR()
        >>> phi = t(jnp.array([0.5, 0.25]))
        >>> print(phi, t.inv(phi))
        [0.375 0.25 ] [0.5  0.25]
    """

    domain = _open_unit_cube
    codomain = stationary_ar
    sign = 1

    def __call__(self, x):
        return pacf_to_coefficients(x)

    def _inverse(self, y):
        return coefficients_to_pacf(y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return pacf_log_abs_det_jacobian(x)


class PACFToInvertibleMA(ParameterFreeTransform):
    """NumPyro transform (-1, 1)^q -> invertible MA(q) coefficients, ``theta = -phi(pacf)``.

    Example:
        >>> import jax.numpy as jnp
        >>> print(PACFToInvertibleMA()(jnp.array([0.5])))
        [-0.5]
    """

    domain = _open_unit_cube
    codomain = invertible_ma
    sign = 1

    def __call__(self, x):
        return -pacf_to_coefficients(x)

    def _inverse(self, y):
        return coefficients_to_pacf(-jnp.asarray(y))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # The sign flip has |det| = 1.
        return pacf_log_abs_det_jacobian(x)


@biject_to.register(type(stationary_ar))
def _unconstrained_to_stationary_ar(constraint):
    return ComposeTransform([biject_to(_unit_interval), PACFToStationaryAR()])


@biject_to.register(type(invertible_ma))
def _unconstrained_to_invertible_ma(constraint):
    return ComposeTransform([biject_to(_unit_interval), PACFToInvertibleMA()])


def stationary_ar_prior(p: int) -> dist.Distribution:
    """Prior on stationary AR(p) coefficients: uniform partial autocorrelations, mapped.

    Its support is :data:`stationary_ar`, so NUTS samples it through
    ``biject_to(stationary_ar)`` and can never leave the stationary region. Replace the
    uniform base by any distribution on (-1, 1)^p to put another prior on the PACF.

    Args:
        p: order, >= 1.

    Returns:
        A distribution with event shape (p,).

    Example:
        >>> import jax
        >>> d = stationary_ar_prior(3)
        >>> print(d.event_shape, bool(stationary_ar(d.sample(jax.random.PRNGKey(1)))))
        (3,) True
    """
    if p < 1:
        raise ValueError(f"stationary_ar_prior: p must be >= 1, got {p}")
    base = dist.Uniform(-1.0, 1.0).expand([p]).to_event(1)
    return dist.TransformedDistribution(base, PACFToStationaryAR())


def invertible_ma_prior(q: int) -> dist.Distribution:
    """Prior on invertible MA(q) coefficients: uniform partial autocorrelations, mapped.

    Args:
        q: order, >= 1.

    Returns:
        A distribution with event shape (q,) and support :data:`invertible_ma`.

    Example:
        >>> import jax
        >>> d = invertible_ma_prior(2)
        >>> print(d.event_shape, bool(invertible_ma(d.sample(jax.random.PRNGKey(1)))))
        (2,) True
    """
    if q < 1:
        raise ValueError(f"invertible_ma_prior: q must be >= 1, got {q}")
    base = dist.Uniform(-1.0, 1.0).expand([q]).to_event(1)
    return dist.TransformedDistribution(base, PACFToInvertibleMA())
