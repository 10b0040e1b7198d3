r"""Conditional ARMA(p, q) through one ``lax.scan``.

The model, with intercept :math:`c` (not the process mean, which is
:math:`c / (1 - \sum_i \phi_i)`; the site is called ``intercept`` for that reason):

.. math::

    y_t = c + \sum_{i=1}^p \phi_i y_{t-i} + \sum_{j=1}^q \theta_j \varepsilon_{t-j}
          + \varepsilon_t, \qquad \varepsilon_t \sim \mathcal N(0, \sigma^2).

The *conditional* (recursive-error, "CSS") likelihood fixes the values before the first
modelled observation and recovers the errors one step at a time,
:math:`\varepsilon_t = y_t - \nu_t`. That recursion is a ``lax.scan`` whose carry is two lag
buffers (:func:`patterns.push_lag`): the last p observations and the last q errors.

Two conventions for the values before the start, both from posteriordb:

* ``initial_y=None`` (``arma11``): pre-sample observations equal :math:`c`, pre-sample
  errors are 0, and all T observations are modelled. ``nu[1] = c + phi * c``.
* ``initial_y=y[:p]`` (``arK``): the first p observations are given, not modelled;
  pre-sample errors are 0.

The likelihood is exact for the stated start, but it ignores the information in the first
observations and does not keep :math:`\phi, \theta` stationary or invertible;
:mod:`models.arma.exact` has the exact Gaussian likelihood.

Outside the invertible region the errors grow like :math:`|\theta|^t` and overflow (in
float32 already at T of a few hundred). Written as an observed ``Normal(loc=nu)``, such a
draw makes NumPyro's argument validation raise during initialisation; here the
log-likelihood of a non-finite recursion is :math:`-\infty`, so the point is rejected and
initialisation tries another.

Reference: Box, Jenkins, Reinsel & Ljung, *Time Series Analysis*, 5th ed. (2015), §7.1.
"""

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.arma.checks import check_coefficients, check_conditional_args
from patterns import normal_loglik_from_sum_of_squares, push_lag

__all__ = [
    "ConditionalARMA",
    "arma_conditional_loglik",
    "arma_residuals",
    "conditional_path",
    "simulate_arma",
]


def _initial_lags(intercept: Array, phi: Array, initial_y: Array | None) -> Array:
    """The AR lag buffer before the first modelled value, newest first, shape (p,)."""
    p = phi.shape[0]
    if initial_y is None:
        return jnp.full((p,), intercept, dtype=jnp.result_type(intercept, phi))
    # the lag buffer is newest first; initial_y is in time order
    return jnp.asarray(initial_y)[::-1].astype(jnp.result_type(intercept, phi, initial_y))


def _recursion(inputs: Array, intercept: Array, phi: Array, theta: Array,
               initial_y: Array | None, *, inputs_are_errors: bool) -> Array:
    """The two-buffer scan, both ways round: from the series to its errors
    (``eps_t = y_t - nu_t``) or from errors to the series (``y_t = nu_t + eps_t``), with
    ``nu_t = c + phi . (y lags) + theta . (error lags)``. Returns the other sequence."""
    y_lags = _initial_lags(intercept, phi, initial_y)
    err_lags = jnp.zeros(theta.shape, inputs.dtype)

    def step(lags, x_t):
        y_lags, err_lags = lags
        nu = intercept + phi @ y_lags + theta @ err_lags
        y_t, err = (nu + x_t, x_t) if inputs_are_errors else (x_t, x_t - nu)
        output = y_t if inputs_are_errors else err
        return (push_lag(y_lags, y_t), push_lag(err_lags, err)), output

    _, outputs = lax.scan(step, (y_lags, err_lags), inputs)
    return outputs


def arma_residuals(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """One-step prediction errors ``eps_t = y_t - nu_t`` of ARMA(p, q), by one ``lax.scan``.

    Args:
        y: modelled observations, shape (T,).
        intercept: c, scalar.
        phi: AR coefficients, shape (p,), ``phi[i]`` multiplies ``y_{t-i-1}``.
        theta: MA coefficients, shape (q,), ``theta[j]`` multiplies ``eps_{t-j-1}``.
        initial_y: the p observations before ``y[0]``, in time order, shape (p,); ``None``
            sets them to the intercept (posteriordb ``arma11``). Pre-sample errors are 0.

    Returns:
        Errors, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([1.0, 2.0, 0.5])
        >>> print(arma_residuals(y, 0.0, jnp.array([0.5]), jnp.array([1.0])))
        [ 1.   0.5 -1. ]
    """
    y, intercept, phi, theta, initial_y = check_conditional_args(y, intercept, phi, theta,
                                                                 initial_y)
    return _recursion(y, intercept, phi, theta, initial_y, inputs_are_errors=False)


def arma_conditional_loglik(
    y: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """Conditional Gaussian log-likelihood of ARMA(p, q): ``sum_t log N(eps_t | 0, sigma^2)``.

    Returns ``-inf`` (never NaN, never an exception) when the error recursion overflows,
    which happens far outside the invertible region.

    Args:
        y: modelled observations, shape (T,).
        intercept: c, scalar.
        phi: shape (p,).
        theta: shape (q,).
        sigma: innovation standard deviation, scalar > 0.
        initial_y: see :func:`arma_residuals`.

    Returns:
        Scalar log-likelihood.

    Example:
        >>> import jax.numpy as jnp
        >>> y = jnp.array([0.0, 0.0])
        >>> ll = arma_conditional_loglik(y, 0.0, jnp.zeros(1), jnp.zeros(1), 1.0)
        >>> print(f"{float(ll):.4f}")  # two standard normal densities at 0: -log(2 pi)
        -1.8379
    """
    errors = arma_residuals(y, intercept, phi, theta, initial_y=initial_y)
    return normal_loglik_from_sum_of_squares(jnp.sum(jnp.square(errors)), errors.shape[0],
                                             jnp.asarray(sigma))


def conditional_path(
    shocks: ArrayLike,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    initial_y: ArrayLike | None = None,
) -> Array:
    """The series the conditional recursion makes from given shocks: the inverse of
    :func:`arma_residuals` (``arma_residuals(conditional_path(e, ...), ...) == e``).

    Args:
        shocks: ``eps_1..eps_T`` (already scaled by sigma), shape (T,).
        intercept, phi, theta, initial_y: as in :func:`arma_residuals`.

    Returns:
        y, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(conditional_path(jnp.array([1.0, 0.5, -1.0]), 0.0, jnp.array([0.5]),
        ...                        jnp.array([1.0])))
        [1.  2.  0.5]
    """
    shocks, intercept, phi, theta, initial_y = check_conditional_args(
        shocks, intercept, phi, theta, initial_y)
    return _recursion(shocks, intercept, phi, theta, initial_y, inputs_are_errors=True)


def simulate_arma(
    key: Array,
    intercept: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    num_steps: int,
    *,
    initial_y: ArrayLike | None = None,
) -> Array:
    """Draw a path of the recursion that :func:`arma_conditional_loglik` scores.

    Pre-sample errors are 0 and pre-sample observations are ``initial_y`` (or the
    intercept), so the draw has exactly the density ``exp(arma_conditional_loglik(...))``.

    Args:
        key: PRNG key.
        intercept, phi, theta, sigma: as in :func:`arma_conditional_loglik`.
        num_steps: T.
        initial_y: shape (p,), or ``None``.

    Returns:
        Simulated series, shape (T,).

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> y = simulate_arma(jax.random.PRNGKey(1), 0.0, jnp.array([0.5]), jnp.zeros(0),
        ...                   1.0, num_steps=4)
        >>> print(y.shape)
        (4,)
    """
    intercept, sigma = jnp.asarray(intercept), jnp.asarray(sigma)
    phi, theta = check_coefficients(phi, theta)
    dtype = jnp.result_type(float, intercept, phi, theta, sigma)
    shocks = sigma * jax.random.normal(key, (num_steps,), dtype)
    return conditional_path(shocks, intercept, phi, theta, initial_y)


def _add(values: Array, offset: Array | float) -> Array:
    """``values + offset`` broadcast explicitly (rank promotion may be set to raise)."""
    if isinstance(offset, float):
        return values
    shape = jnp.broadcast_shapes(values.shape, offset.shape)
    return jnp.broadcast_to(values, shape) + jnp.broadcast_to(offset, shape)


class ConditionalARMA(dist.Distribution):
    """A whole ARMA(p, q) series under the conditional likelihood, as one NumPyro distribution.

    ``log_prob`` is :func:`arma_conditional_loglik`; ``sample`` is :func:`simulate_arma`, so
    the two describe the same law and ``Predictive`` gives posterior-predictive series.
    Parameters may be batched: the batch shape is their broadcast (leading dimensions of
    ``phi``, ``theta`` and ``initial_y`` beyond their last), as for any NumPyro distribution,
    so a hierarchical model can score many series in one site.

    With regressors (``exog`` (T, k) and ``beta`` batch_shape + (k,)) it is the law of a
    regression with ARMA errors: ``z = y - exog @ beta`` follows the conditional ARMA
    recursion above (pre-sample z = the intercept, or ``initial_y``, which then holds the
    pre-sample *errors* z), so ``log_prob(y)`` scores ``y - exog @ beta`` and ``sample``
    adds ``exog @ beta`` to a simulated z.

    Args:
        intercept: c, shape batch_shape.
        phi: shape batch_shape + (p,).
        theta: shape batch_shape + (q,).
        sigma: shape batch_shape, > 0.
        num_steps: length T of the modelled series (the event shape is (T,)).
        initial_y: the p observations before the series, shape batch_shape + (p,), or
            ``None`` (the intercept).
        exog: regressors, shape (T, k), or ``None``.
        beta: their coefficients, shape batch_shape + (k,); given with ``exog`` only.

    Example:
        >>> import jax.numpy as jnp
        >>> d = ConditionalARMA(0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0, num_steps=3)
        >>> print(d.event_shape, f"{float(d.log_prob(jnp.array([1.0, 2.0, 0.5]))):.4f}")
        (3,) -3.8818
        >>> batch = ConditionalARMA(jnp.zeros(2), jnp.array([[0.5], [0.1]]), jnp.ones((2, 1)),
        ...                         1.0, num_steps=3)
        >>> print(batch.batch_shape, batch.log_prob(jnp.array([1.0, 2.0, 0.5])).shape)
        (2,) (2,)
        >>> exog = jnp.array([[1.0], [0.0], [2.0]])  # y - exog @ beta is the series above
        >>> regression = ConditionalARMA(0.0, jnp.array([0.5]), jnp.array([1.0]), 1.0,
        ...                              num_steps=3, exog=exog, beta=jnp.array([0.5]))
        >>> print(f"{float(regression.log_prob(jnp.array([1.5, 2.0, 1.5]))):.4f}")
        -3.8818
    """

    arg_constraints = {
        "intercept": constraints.real,
        "phi": constraints.real_vector,
        "theta": constraints.real_vector,
        "sigma": constraints.positive,
    }
    support = constraints.real_vector
    pytree_data_fields = ("intercept", "phi", "theta", "sigma", "initial_y", "exog", "beta")
    pytree_aux_fields = ("num_steps",)

    def __init__(
        self,
        intercept: ArrayLike,
        phi: ArrayLike,
        theta: ArrayLike,
        sigma: ArrayLike,
        *,
        num_steps: int,
        initial_y: ArrayLike | None = None,
        exog: ArrayLike | None = None,
        beta: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        intercept, phi, theta, sigma = (jnp.asarray(a) for a in (intercept, phi, theta, sigma))
        if phi.ndim < 1 or theta.ndim < 1:
            raise ValueError(f"{type(self).__name__}: phi and theta need shapes (..., p) and "
                             f"(..., q), got {phi.shape} and {theta.shape}")
        shapes = [intercept.shape, sigma.shape, phi.shape[:-1], theta.shape[:-1]]
        if initial_y is not None:
            initial_y = jnp.asarray(initial_y)
            if initial_y.shape[-1:] != phi.shape[-1:]:
                raise ValueError(f"{type(self).__name__}: initial_y must end in p = "
                                 f"{phi.shape[-1]}, got shape {initial_y.shape}")
            shapes.append(initial_y.shape[:-1])
        if (exog is None) != (beta is None):
            raise ValueError(f"{type(self).__name__}: give exog and beta together (got exog "
                             f"{'None' if exog is None else 'an array'}, beta "
                             f"{'None' if beta is None else 'an array'})")
        if exog is not None:
            exog, beta = jnp.asarray(exog), jnp.asarray(beta)
            if (exog.ndim != 2 or exog.shape[0] != int(num_steps) or beta.ndim < 1
                    or beta.shape[-1] != exog.shape[1]):
                raise ValueError(f"{type(self).__name__}: exog must have shape (T, k) = "
                                 f"({int(num_steps)}, k) and beta (..., k), got exog "
                                 f"{exog.shape} and beta {beta.shape}")
            shapes.append(beta.shape[:-1])
        dtype = jnp.result_type(float, intercept, phi, theta, sigma)
        self.intercept, self.phi, self.theta, self.sigma = (
            a.astype(dtype) for a in (intercept, phi, theta, sigma))
        self.initial_y = None if initial_y is None else initial_y.astype(dtype)
        self.exog = None if exog is None else exog.astype(dtype)
        self.beta = None if beta is None else beta.astype(dtype)
        self.num_steps = int(num_steps)
        super().__init__(batch_shape=jnp.broadcast_shapes(*shapes),
                         event_shape=(self.num_steps,), validate_args=validate_args)

    def _parameters(self, batch_shape: tuple[int, ...]) -> tuple[Array, ...]:
        """(intercept, phi, theta, sigma[, initial_y]) broadcast explicitly to
        ``batch_shape`` (rank promotion may be set to raise)."""
        params = [
            jnp.broadcast_to(self.intercept, batch_shape),
            jnp.broadcast_to(self.phi, batch_shape + self.phi.shape[-1:]),
            jnp.broadcast_to(self.theta, batch_shape + self.theta.shape[-1:]),
            jnp.broadcast_to(self.sigma, batch_shape),
        ]
        if self.initial_y is not None:
            params.append(jnp.broadcast_to(self.initial_y, batch_shape + self.phi.shape[-1:]))
        return tuple(params)

    def regression(self) -> Array | float:
        """``exog @ beta``, shape batch_shape + (T,) (0.0 without regressors): the part of
        the series that is not ARMA."""
        if self.exog is None:
            return 0.0
        return jnp.einsum("tk,...k->...t", self.exog, self.beta)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = tuple(sample_shape) + self.batch_shape
        keys = jax.random.split(key, math.prod(shape))

        def one_path(k, intercept, phi, theta, sigma, initial_y=None):
            return simulate_arma(k, intercept, phi, theta, sigma, self.num_steps,
                                 initial_y=initial_y)

        if not self.batch_shape:  # one parameter set: only the keys are mapped over
            draws = jax.vmap(lambda k: one_path(k, *self._parameters(())))(keys)
        else:
            flat = [a.reshape((math.prod(shape),) + a.shape[len(shape):])
                    for a in self._parameters(shape)]
            draws = jax.vmap(one_path)(keys, *flat)
        return _add(draws.reshape(shape + self.event_shape), self.regression())

    # subclasses swap in another implementation of the same density
    _loglik = staticmethod(arma_conditional_loglik)

    def log_prob(self, value: ArrayLike) -> Array:
        value = jnp.asarray(value)
        if value.shape[-1:] != self.event_shape:
            raise ValueError(
                f"{type(self).__name__}.log_prob: value must end in the event shape "
                f"{self.event_shape}, got {value.shape}"
            )
        value = _add(value, -self.regression())  # the ARMA errors z = y - exog @ beta
        if value.ndim == 1 and not self.batch_shape:  # one series: no vectorising wrapper
            return self._loglik(value, self.intercept, self.phi, self.theta, self.sigma,
                                initial_y=self.initial_y)
        batch_shape = jnp.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = jnp.broadcast_to(value, batch_shape + self.event_shape)
        loglik = self._loglik

        def one_series(y, intercept, phi, theta, sigma, initial_y=None):
            return loglik(y, intercept, phi, theta, sigma, initial_y=initial_y)

        signature = "(t),(),(p),(q),()" + (",(p)" if self.initial_y is not None else "") + "->()"
        return jnp.vectorize(one_series, signature=signature)(
            value, *self._parameters(batch_shape))
