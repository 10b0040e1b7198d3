"""A whole GARCH(p, q) series as one NumPyro distribution.

``numpyro.sample("y", GARCH(mu, omega, alpha, beta, initial_variance=v0, num_steps=T),
obs=y)`` scores the series with :func:`models.volatility.garch.garch_loglik` at a *numeric*
initial variance, and ``sample`` runs the same recursion forward from standard shocks
(normal, or standardised Student-t when ``nu`` is given), so ``sample`` and ``log_prob``
describe one law. (``arch``'s backcast depends on the series itself, so it is not a
parameter of a distribution: the model computes it from the observed series.)
"""

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.volatility.garch import Start, garch_loglik

__all__ = ["GARCH", "garch_path", "standardised_shocks"]


def standardised_shocks(key: Array, shape: tuple[int, ...], nu: ArrayLike | None,
                        dtype=None) -> Array:
    """Unit-variance shocks: standard normal, or Student-t(nu) scaled by sqrt((nu-2)/nu).

    Example:
        >>> import jax
        >>> print(standardised_shocks(jax.random.PRNGKey(0), (3,), 5.0).shape)
        (3,)
    """
    dtype = dtype or jnp.result_type(float)
    if nu is None:
        return jax.random.normal(key, shape, dtype)
    nu = jnp.asarray(nu, dtype)
    return jax.random.t(key, nu, shape, dtype) * jnp.sqrt((nu - 2) / nu)


def garch_path(shocks: ArrayLike, mu: ArrayLike, omega: ArrayLike, alpha: ArrayLike,
               beta: ArrayLike, initial_variance: ArrayLike, *,
               start: Start = "presample") -> tuple[Array, Array]:
    """Run GARCH(p, q) forward from unit-variance shocks z_t: ``y_t = mu + sqrt(sigma2_t)
    z_t``, with the initial variance placed as in :func:`garch_variances`.

    Args:
        shocks: shape (T,).
        mu, omega: scalars; alpha (p,), beta (q,); initial_variance: scalar > 0.
        start: ``"presample"`` or ``"first"``.

    Returns:
        (y, sigma2), each shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y, s2 = garch_path(jnp.array([1.0, -1.0]), 0.0, 0.1, jnp.array([0.2]),
        ...                    jnp.array([0.7]), 1.0)
        >>> print(y, s2)
        [ 1. -1.] [1. 1.]
    """
    z = jnp.asarray(shocks)
    dtype = jnp.result_type(float, z, mu, omega, alpha, beta)
    z, mu, omega, alpha, beta = (jnp.asarray(a, dtype) for a in (z, mu, omega, alpha, beta))
    v0 = jnp.asarray(initial_variance, dtype)
    first = jnp.zeros(z.shape[0], bool).at[0].set(start == "first")

    def push(buffer, value):
        return jnp.concatenate([value[None], buffer])[: buffer.shape[0]]

    def step(carry, inputs):
        squares, variances = carry
        z_t, is_first = inputs
        variance = jnp.where(is_first, v0, omega + alpha @ squares + beta @ variances)
        e = jnp.sqrt(variance) * z_t
        return (push(squares, e**2), push(variances, variance)), (mu + e, variance)

    init = (jnp.full(alpha.shape, v0), jnp.full(beta.shape, v0))
    _, (y, variances) = lax.scan(step, init, (z, first))
    return y, variances


class GARCH(dist.Distribution):
    """A GARCH(p, q) series of length T with constant mean, given its initial variance.

    Args:
        mu: mean, scalar (batch_shape).
        omega: > 0; alpha (..., p), beta (..., q): the variance recursion.
        nu: Student-t degrees of freedom (> 2, unit-variance t shocks), or ``None`` for
            normal shocks.
        initial_variance: ``v0`` > 0, a number or a parameter.
        num_steps: T; the event shape is (T,).
        start: ``"presample"`` (``arch``) or ``"first"`` (posteriordb: ``sigma2_1 = v0``).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> d = GARCH(0.0, 0.1, jnp.array([0.2]), jnp.array([0.7]), initial_variance=1.0,
        ...           num_steps=4)
        >>> y = d.sample(jax.random.PRNGKey(0), (2,))
        >>> print(y.shape, d.log_prob(y).shape)
        (2, 4) (2,)
    """

    arg_constraints = {
        "mu": constraints.real,
        "omega": constraints.positive,
        "alpha": constraints.independent(constraints.nonnegative, 1),
        "beta": constraints.independent(constraints.nonnegative, 1),
        "initial_variance": constraints.positive,
    }
    support = constraints.real_vector
    pytree_data_fields = ("mu", "omega", "alpha", "beta", "nu", "initial_variance")
    pytree_aux_fields = ("num_steps", "start")

    def __init__(self, mu: ArrayLike, omega: ArrayLike, alpha: ArrayLike, beta: ArrayLike,
                 nu: ArrayLike | None = None, *, initial_variance: ArrayLike, num_steps: int,
                 start: Start = "presample", validate_args: bool | None = None) -> None:
        if start not in ("presample", "first"):
            raise ValueError(f"GARCH: start must be 'presample' or 'first', got {start!r}")
        if int(num_steps) < 1:
            raise ValueError(f"GARCH: num_steps must be >= 1, got {num_steps}")
        alpha, beta = jnp.asarray(alpha), jnp.asarray(beta)
        if alpha.ndim < 1 or beta.ndim < 1:
            raise ValueError(f"GARCH: alpha and beta need shapes (..., p) and (..., q), got "
                             f"{alpha.shape} and {beta.shape}")
        dtype = jnp.result_type(float, mu, omega, alpha, beta, initial_variance)
        self.mu, self.omega, self.alpha, self.beta, self.initial_variance = (
            jnp.asarray(a, dtype) for a in (mu, omega, alpha, beta, initial_variance))
        self.nu = None if nu is None else jnp.asarray(nu, dtype)
        self.num_steps, self.start = int(num_steps), start
        batch_shape = jnp.broadcast_shapes(
            self.mu.shape, self.omega.shape, self.alpha.shape[:-1], self.beta.shape[:-1],
            self.initial_variance.shape, () if self.nu is None else self.nu.shape)
        super().__init__(batch_shape=batch_shape, event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def _params(self, batch_shape):
        scalars = [self.mu, self.omega, self.initial_variance,
                   jnp.zeros((), self.mu.dtype) if self.nu is None else self.nu]
        mu, omega, v0, nu = (jnp.broadcast_to(a, batch_shape) for a in scalars)
        alpha = jnp.broadcast_to(self.alpha, batch_shape + self.alpha.shape[-1:])
        beta = jnp.broadcast_to(self.beta, batch_shape + self.beta.shape[-1:])
        return mu, omega, alpha, beta, v0, nu

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape
        z = standardised_shocks(key, shape + (self.num_steps,), self.nu, self.mu.dtype)

        def one(z, mu, omega, alpha, beta, v0, _nu):
            return garch_path(z, mu, omega, alpha, beta, v0, start=self.start)[0]

        return jnp.vectorize(one, signature="(t),(),(),(p),(q),(),()->(t)")(
            z, *self._params(shape))

    def log_prob(self, value: ArrayLike) -> Array:
        value = jnp.asarray(value)
        if value.shape[-1:] != self.event_shape:
            raise ValueError(f"GARCH.log_prob: value must end in the event shape "
                             f"{self.event_shape}, got {value.shape}")
        student = self.nu is not None

        def one(y, mu, omega, alpha, beta, v0, nu):
            return garch_loglik(y, mu, omega, alpha, beta, v0, nu=nu if student else None,
                                start=self.start)

        batch_shape = jnp.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = jnp.broadcast_to(value, batch_shape + self.event_shape)
        return jnp.vectorize(one, signature="(t),(),(),(p),(q),(),()->()")(
            value, *self._params(batch_shape))
