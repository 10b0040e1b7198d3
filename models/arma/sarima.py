"""Seasonal ARIMA(p, d, q)(P, D, Q)_s with regressors, exact likelihood by a Kalman filter.

The model (statsmodels' ``SARIMAX(y, exog=X, order=(p, d, q), seasonal_order=(P, D, Q, s),
trend="c")``, regression with SARIMA errors)::

    u_t = y_t - x_t' beta                                  (beta: the regression, (k,))
    w_t = (1 - L)^d (1 - L^s)^D u_t                        (the differenced errors)
    phi(L) Phi(L^s) (w_t - mu) = theta(L) Theta(L^s) eps_t,   eps_t ~ N(0, sigma^2)

``mu`` is the mean of the differenced series w (with d = D = 0 the process mean, statsmodels'
``ARIMA`` ``const``; with differencing a drift). The seasonal polynomials are multiplied
out (:func:`expand_seasonal`) into an ARMA(p + sP, q + sQ) with many zero coefficients.

State-space form, the layout of statsmodels' ``SARIMAX`` with the differencing kept in the
state vector (``simple_differencing=False``, its default), so that gaps (NaN) need no
special care::

    state = (d differencing states, s D seasonal differencing states, r ARMA states),
    r = max(p + sP, q + sQ + 1)
    u_t = Z state_t,  Z = (1,..,1 | (0,..,0,1) per seasonal block | 1, 0,..,0)
    state_{t+1} = Tm state_t + c + R eps_{t+1},  c = mu phi(1) Phi(1) at the first ARMA state

The ARMA block starts from its stationary law (mean mu, Lyapunov covariance). The start
of the differencing states depends on whether the series has gaps:

* **complete series** (no NaN, and the series concrete, as NumPyro passes observed data):
  the *exact diffuse* likelihood, which is the exact ARMA likelihood of the differenced
  series w (Harvey 1989, 3.4; Durbin & Koopman 2012, 5.7), computed by
  :func:`models.arma.exact.arma_exact_loglik` on w: its fast path, no covariance scan
  (ARIMA(1, 1, 1), T = 2,283: 119 µs per value + gradient against 5,800 µs for the state
  filter below). It equals statsmodels' ``SARIMAX(..., simple_differencing=True)``.
* **gaps** in a concrete series, m of them with m^3 <= ``AO_WORK_RATIO`` T: the exact
  diffuse likelihood too, by the additive-outlier route of :mod:`models.arma.exact_ao`
  with the differencing polynomial: the differenced series' ARMA density with each missing
  *level* a column (its differencing and AR polynomials' product spread over the
  differenced series) integrated out under a flat prior. A level before and one after a
  gap still constrain their difference, which differencing the NaN away would lose. It
  equals statsmodels' ``SARIMAX(..., use_exact_diffuse=True)`` plus (d + sD) log(2 pi) / 2
  (the constant statsmodels' diffuse steps add; tested also against the dense Gaussian
  integral). Raw weekly CO2, ARIMA(1, 1, 1), T = 2,284 with 59 missing levels: 576 µs per
  value + gradient against 4,657 µs for the state filter; the fit's sampling 169 s -> 17 s.
  Where the route does not apply (an MA root of modulus >= 0.999, a near-singular
  presample covariance) the state filter below takes over.
* **otherwise** (many gaps, a traced series as in the panel's ``vmap``): the state filter
  :func:`sarima_filter`, the differencing states *approximately diffuse*, N(0, 10^6 I), the
  first d + sD one-step densities left out (statsmodels' default
  ``initialization="approximate_diffuse"`` with ``loglikelihood_burn = d + sD``); it equals
  statsmodels' default ``SARIMAX`` to 1e-8. It keeps the levels in its state.

The two starts differ by the approximate one's error, which grows with the level of the
series: about |y| / 10^6 in the first innovations (5e-6 to 1.5e-4 in the log-likelihood of
a series near 300, measured for ARIMA(1,1,1), (2,2,1) and (1,1,1)(1,1,0)12). A gap among
the first d + sD values is worse for the approximate start: it burns those *steps*, so an
observation that only starts to pin down the diffuse levels is scored with variance about
10^6: about -0.5 log(2 pi 10^6) ~ -7.8 per such gap (monthly CO2 with two gaps in its first
13 months, ARIMA(1,1,1)(1,1,1)12: 15 nats below the exact value). The pointwise terms
(``pointwise=True``, for LOO) come from the state filter on every route with gaps, so
there they sum to statsmodels' default value, not to the exact one.

Without differencing the filter is the ARMA filter of :mod:`models.arma.exact` on the
expanded coefficients (its fast path: the covariance recursion held at its checked limit).
The state filter also returns the pointwise one-step-ahead log-densities used for model
comparison (LOO); on the exact diffuse route they are the differenced series' (0 in the
first d + sD steps).
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jax import Array, lax
from jax.typing import ArrayLike
from numpyro.distributions import constraints

from models.arma.checks import check_coefficients, is_stationary
from models.arma.exact import (
    AO_WORK_RATIO,
    arma_exact_loglik,
    arma_pointwise_loglik,
    ma_scan_unroll,
)
from models.arma.exact_ao import ao_loglik
from models.arma.forecast import ARMAForecast, arma_forecast, shock_loading_matrix
from patterns import solve_discrete_lyapunov
from patterns.gaussian import LOG_2PI

__all__ = [
    "DIFFUSE_VARIANCE",
    "SARIMA",
    "SARIMASpec",
    "SARIMAStateSpace",
    "check_spec",
    "difference_series",
    "expand_seasonal",
    "regression_residuals",
    "sarima_forecast",
    "sarima_filter",
    "sarima_loglik",
    "sarima_one_step",
    "sarima_state_space",
]

#: Variance of the approximately diffuse differencing states (statsmodels' default).
DIFFUSE_VARIANCE = 1e6


class SARIMASpec(NamedTuple):
    """The integer part of a SARIMA model: orders, differencing, season.

    Attributes:
        p, d, q: non-seasonal AR order, differences, MA order.
        P, D, Q: seasonal AR order, seasonal differences, seasonal MA order.
        s: season length (>= 2 whenever P, D or Q > 0; 0 otherwise).
    """

    p: int = 1
    d: int = 0
    q: int = 1
    P: int = 0
    D: int = 0
    Q: int = 0
    s: int = 0

    @property
    def diffuse_states(self) -> int:
        """d + s D: the differencing states (and the observations left out at the start)."""
        return self.d + self.s * self.D

    @property
    def arma_order(self) -> tuple[int, int]:
        """(p + sP, q + sQ): the orders of the multiplied-out ARMA polynomial."""
        return self.p + self.s * self.P, self.q + self.s * self.Q

    @property
    def seasonal(self) -> bool:
        """Whether there is any seasonal term."""
        return self.P + self.D + self.Q > 0


def check_spec(spec: SARIMASpec, name: str = "sarima") -> SARIMASpec:
    """A valid :class:`SARIMASpec`, or a ``ValueError`` that says which number is wrong.

    Example:
        >>> check_spec(SARIMASpec(0, 1, 1, 0, 1, 1, 1))
        Traceback (most recent call last):
        ...
        ValueError: sarima: the seasonal period s must be an integer >= 2 when P, D or Q > 0, got 1
    """
    values = [int(v) for v in spec]
    if any(v < 0 for v in values):
        raise ValueError(f"{name}: orders, differences and period must be integers >= 0, "
                         f"got (p, d, q)(P, D, Q)_s = {tuple(spec)}")
    spec = SARIMASpec(*values)
    if spec.seasonal and spec.s < 2:
        raise ValueError(f"{name}: the seasonal period s must be an integer >= 2 when P, D or "
                         f"Q > 0, got {spec.s}")
    if not spec.seasonal:
        spec = spec._replace(s=0)
    return spec


def expand_seasonal(
    phi: ArrayLike, theta: ArrayLike, seasonal_phi: ArrayLike, seasonal_theta: ArrayLike,
    period: int,
) -> tuple[Array, Array]:
    """Multiply out phi(L) Phi(L^s) and theta(L) Theta(L^s).

    Args:
        phi: (p,), in ``1 - sum phi_i L^i``.
        theta: (q,), in ``1 + sum theta_j L^j``.
        seasonal_phi: (P,), in ``1 - sum Phi_i L^(s i)``.
        seasonal_theta: (Q,), in ``1 + sum Theta_j L^(s j)``.
        period: s (ignored when P = Q = 0).

    Returns:
        (phi_full (p + sP,), theta_full (q + sQ,)), signs as in the inputs.

    Example:
        >>> import jax.numpy as jnp
        >>> phi, theta = expand_seasonal(jnp.array([0.5]), jnp.zeros(0), jnp.array([0.2]),
        ...                              jnp.array([0.4]), 4)
        >>> print(phi + 0.0, theta)  # (1 - .5L)(1 - .2L^4) = 1 - .5L - .2L^4 + .1L^5
        [ 0.5  0.   0.   0.2 -0.1] [0.  0.  0.  0.4]
    """
    phi, theta = check_coefficients(phi, theta)
    seasonal_phi, seasonal_theta = check_coefficients(seasonal_phi, seasonal_theta)
    dtype = jnp.result_type(float, phi, theta, seasonal_phi, seasonal_theta)

    def seasonal_poly(coefficients: Array, sign: float) -> Array:
        n = coefficients.shape[0]
        if n == 0:
            return jnp.ones(1, dtype)
        poly = jnp.zeros(period * n + 1, dtype).at[0].set(1.0)
        return poly.at[period * jnp.arange(1, n + 1)].set(sign * coefficients)

    ar = jnp.convolve(jnp.concatenate([jnp.ones(1, dtype), -phi.astype(dtype)]),
                      seasonal_poly(seasonal_phi, -1.0))
    ma = jnp.convolve(jnp.concatenate([jnp.ones(1, dtype), theta.astype(dtype)]),
                      seasonal_poly(seasonal_theta, 1.0))
    return -ar[1:], ma[1:]


def difference_series(y: np.ndarray, spec: SARIMASpec) -> np.ndarray:
    """(1 - L)^d (1 - L^s)^D y, in NumPy (NaN propagates): the series the ARMA part models.

    Example:
        >>> import numpy as np
        >>> print(difference_series(np.array([1.0, 2.0, 4.0, 7.0, 11.0]), SARIMASpec(0, 2, 0)))
        [1. 1. 1.]
    """
    return _differenced(np.asarray(y, dtype=np.float64), spec)


class SARIMAStateSpace(NamedTuple):
    """The state-space form of the module docstring (k states, scalar observation).

    Attributes:
        design: Z, (k,).
        transition: Tm, (k, k).
        selection: R, (k,).
        intercept: c, (k,).
        sigma2: shock variance, scalar.
        initial_mean, initial_cov: the first state's law, (k,), (k, k).
        burn: number of leading observations left out of the likelihood (d + sD).
    """

    design: Array
    transition: Array
    selection: Array
    intercept: Array
    sigma2: Array
    initial_mean: Array
    initial_cov: Array
    burn: int


def sarima_state_space(
    spec: SARIMASpec,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    seasonal_phi: ArrayLike,
    seasonal_theta: ArrayLike,
    sigma: ArrayLike,
    *,
    diffuse_variance: float = DIFFUSE_VARIANCE,
) -> SARIMAStateSpace:
    """The SARIMA model as a :class:`SARIMAStateSpace` (statsmodels' ``SARIMAX`` layout).

    Args:
        spec: orders, differences and period.
        mu: mean of the differenced series, scalar.
        phi, theta, seasonal_phi, seasonal_theta: (p,), (q,), (P,), (Q,).
        sigma: innovation sd, scalar.
        diffuse_variance: variance of the differencing states at the start.

    Example:
        ARIMA(0, 1, 0): one differencing state plus one (white-noise) ARMA state.

        >>> import jax.numpy as jnp
        >>> ssm = sarima_state_space(SARIMASpec(0, 1, 0), 0.0, jnp.zeros(0), jnp.zeros(0),
        ...                          jnp.zeros(0), jnp.zeros(0), 1.0)
        >>> print(ssm.design, ssm.transition.tolist(), ssm.burn)
        [1. 1.] [[1.0, 1.0], [0.0, 0.0]] 1
    """
    spec = check_spec(spec, "sarima_state_space")
    phi, theta = check_coefficients(phi, theta)
    seasonal_phi, seasonal_theta = check_coefficients(seasonal_phi, seasonal_theta)
    arrays = _state_space(spec, jnp.asarray(mu), phi, theta, seasonal_phi, seasonal_theta,
                          jnp.asarray(sigma), float(diffuse_variance))
    return arrays._replace(burn=spec.diffuse_states)


def _structure(spec: SARIMASpec, r: int) -> tuple[np.ndarray, np.ndarray]:
    """The parameter-free parts of Tm and Z (NumPy: fixed by the spec, built once)."""
    d, D, s = spec.d, spec.D, spec.s
    kd = spec.diffuse_states
    k = kd + r
    transition = np.zeros((k, k))
    transition[kd + np.arange(r - 1), kd + 1 + np.arange(r - 1)] = 1.0  # ARMA shift
    # Seasonal differencing blocks: each a cyclic shift whose first entry adds the ARMA
    # state (and the next block's last entry).
    for block in range(D):
        start = d + block * s
        transition[start, start + s - 1] = 1.0
        transition[start + 1 + np.arange(s - 1), start + np.arange(s - 1)] = 1.0
        if block < D - 1:
            transition[start, start + 2 * s - 1] = 1.0
        transition[start, kd] = 1.0
    # Differencing states: upper-triangular ones, plus the last entry of each seasonal
    # block and the ARMA state.
    if d > 0:
        transition[np.triu_indices(d)] = 1.0
        for block in range(D):
            transition[:d, d + block * s + s - 1] = 1.0
        transition[:d, kd] = 1.0
    design = np.zeros(k)
    design[:d] = 1.0
    design[[d + block * s + s - 1 for block in range(D)]] = 1.0
    design[kd] = 1.0
    return transition, design


@partial(jax.jit, static_argnums=(0, 7))
def _state_space(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma, diffuse_variance):
    return _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma,
                               diffuse_variance)


def _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma,
                        diffuse_variance=DIFFUSE_VARIANCE):
    phi_full, theta_full = expand_seasonal(phi, theta, seasonal_phi, seasonal_theta, spec.s)
    mu, sigma = jnp.asarray(mu), jnp.asarray(sigma)
    dtype = jnp.result_type(phi_full, mu, sigma)
    p_full, q_full = phi_full.shape[0], theta_full.shape[0]
    r = max(p_full, q_full + 1)
    kd = spec.diffuse_states
    k = kd + r
    structure, design = _structure(spec, r)
    transition = jnp.asarray(structure, dtype).at[kd:kd + p_full, kd].set(
        phi_full.astype(dtype))
    selection = jnp.zeros(k, dtype).at[kd].set(1.0).at[kd + 1:kd + 1 + q_full].set(
        theta_full.astype(dtype))
    intercept = jnp.zeros(k, dtype).at[kd].set(mu * (1.0 - jnp.sum(phi_full)))
    sigma2 = (sigma**2).astype(dtype)
    arma_transition = transition[kd:, kd:]
    arma_selection = selection[kd:]
    arma_cov = solve_discrete_lyapunov(arma_transition,
                                       sigma2 * jnp.outer(arma_selection, arma_selection))
    arma_mean = jnp.linalg.solve(jnp.eye(r, dtype=dtype) - arma_transition, intercept[kd:])
    diffuse = np.zeros((k, k))
    diffuse[np.arange(kd), np.arange(kd)] = diffuse_variance
    initial_cov = jnp.asarray(diffuse, dtype).at[kd:, kd:].set(arma_cov)
    initial_mean = jnp.zeros(k, dtype).at[kd:].set(arma_mean)
    return SARIMAStateSpace(jnp.asarray(design, dtype), transition, selection, intercept,
                            sigma2, initial_mean, initial_cov, kd)


def sarima_filter(u: ArrayLike, ssm: SARIMAStateSpace) -> tuple[Array, Array, Array]:
    """Kalman filter of the series ``u`` (T,), NaN = missing.

    Returns:
        (pointwise, a, P): the one-step-ahead log-densities log p(u_t | u_<t), shape (T,),
        0 at gaps and in the first ``ssm.burn`` steps; and the predicted state of step T + 1,
        mean (k,) and covariance (k, k).

    Example:
        In float64: the approximately diffuse start (variance 1e6) needs it.

        >>> import jax
        >>> import jax.numpy as jnp
        >>> with jax.enable_x64(True):
        ...     ssm = sarima_state_space(SARIMASpec(0, 1, 0), 0.0, jnp.zeros(0), jnp.zeros(0),
        ...                              jnp.zeros(0), jnp.zeros(0), 1.0)
        ...     pointwise, a, P = sarima_filter(jnp.array([5.0, 6.0, jnp.nan, 6.5]), ssm)
        >>> print(pointwise.round(4))  # burned, N(1; 0, 1), gap, N(0.5; 0, 2)
        [ 0.     -1.4189  0.     -1.328 ]
    """
    return _filter(jnp.asarray(u), ssm)


@partial(jax.jit, static_argnames=("ssm_burn",))
def _filter_jit(u, design, transition, selection, intercept, sigma2, initial_mean,
                initial_cov, ssm_burn):
    pointwise, _, _, a, P = _filter_scan(u, SARIMAStateSpace(
        design, transition, selection, intercept, sigma2, initial_mean, initial_cov, ssm_burn))
    return pointwise, a, P


def _filter_scan(u: Array, ssm: SARIMAStateSpace):
    """The Kalman scan: (pointwise log-densities (T,), one-step predictive means Z a_t (T,)
    and variances F_t (T,), and the predicted state of step T + 1, mean and covariance)."""
    Z, Tm, R = ssm.design, ssm.transition, ssm.selection
    Q = ssm.sigma2 * jnp.outer(R, R)
    observed = ~jnp.isnan(u)
    values = jnp.where(observed, u, 0.0)
    counted = observed & (jnp.arange(u.shape[0]) >= ssm.burn)

    def step(carry, inputs):
        a, P = carry
        value, observed_t, counted_t = inputs
        PZ = P @ Z
        F = Z @ PZ
        safe_F = jnp.where(observed_t, F, 1.0)
        v = value - Z @ a
        gain = PZ / safe_F
        a_f = a + jnp.where(observed_t, gain * v, 0.0)
        P_f = P - jnp.where(observed_t, jnp.outer(gain, PZ), 0.0)
        a_next = Tm @ a_f + ssm.intercept
        P_next = Tm @ P_f @ Tm.T + Q
        term = -0.5 * (LOG_2PI + jnp.log(safe_F) + v**2 / safe_F)
        return (a_next, 0.5 * (P_next + P_next.T)), (jnp.where(counted_t, term, 0.0), Z @ a, F)

    (a, P), (pointwise, means, variances) = lax.scan(
        step, (ssm.initial_mean, ssm.initial_cov), (values, observed, counted))
    return pointwise, means, variances, a, P


@partial(jax.jit, static_argnums=(0,))
def _one_step(spec, u, mu, phi, theta, seasonal_phi, seasonal_theta, sigma):
    ssm = _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)
    _, means, variances, _, _ = _filter_scan(u, ssm)
    return means, variances


@partial(jax.jit, static_argnums=(0,))
def _integrated_one_step(spec, u, mu, phi, theta, seasonal_phi, seasonal_theta, sigma):
    """The exact diffuse route's one-step predictions (a complete series): the differenced
    series' ARMA filter (no differencing states), and u_t = w_t - sum_k delta_k u_{t-k}
    with the past known; the first d + sD steps, which are not predictions, get mean 0 and
    the approximately diffuse variance, as the state filter gives them."""
    burn = spec.diffuse_states
    arma_only = SARIMASpec(spec.p, 0, spec.q, spec.P, 0, spec.Q, spec.s if spec.P + spec.Q
                           else 0)
    w = _differenced(u, spec)
    means_w, variances_w = _one_step(arma_only, w, mu, phi, theta, seasonal_phi,
                                     seasonal_theta, sigma)
    known = u[burn:] - w  # -sum_k delta_k u_{t-k}, t >= d + sD
    filler = jnp.zeros(burn, u.dtype)
    return (jnp.concatenate([filler, means_w + known]),
            jnp.concatenate([filler + DIFFUSE_VARIANCE, variances_w]))


def sarima_one_step(
    y: ArrayLike,
    spec: SARIMASpec,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    seasonal_phi: ArrayLike | None = None,
    seasonal_theta: ArrayLike | None = None,
    exog: ArrayLike | None = None,
    beta: ArrayLike | None = None,
) -> tuple[Array, Array]:
    """One-step-ahead predictive means and variances of y_t given y_<t, from the filter.

    Equal to statsmodels' ``SARIMAX(...).filter(params).filter_results.forecasts[0]`` and
    ``forecasts_error_cov[0, 0]`` (the regression ``x_t' beta`` added to the mean). The
    prediction at a gap is defined as at any other step (the filter only skips the update
    after it); in the first d + sD steps the variance holds the approximately diffuse start
    (about 10^6): those steps are not predictions. A complete series with differencing
    takes the exact diffuse route (:func:`sarima_loglik`): the differenced series' ARMA
    filter, the known past added back (equal to statsmodels' exact diffuse filter after
    the first d + sD steps; there the mean is 0 and the variance 10^6).

    Args:
        y, spec, mu, phi, theta, sigma, seasonal_phi, seasonal_theta, exog, beta: as in
            :func:`sarima_loglik`.

    Returns:
        (mean, variance), each shape (T,).

    Example:
        A random walk predicts the last observed value; the variance grows by sigma^2 per
        missing step.

        >>> import jax
        >>> import jax.numpy as jnp
        >>> with jax.enable_x64(True):
        ...     mean, variance = sarima_one_step(jnp.array([5.0, 6.0, jnp.nan, 6.5]),
        ...                                      SARIMASpec(0, 1, 0), 0.0, jnp.zeros(0),
        ...                                      jnp.zeros(0), 1.0)
        >>> print(mean[1:], variance[1:])
        [5. 6. 6.] [1. 1. 2.]
    """
    complete = _is_complete(y)
    spec, u, phi, theta, seasonal_phi, seasonal_theta = _checked_inputs(
        y, spec, phi, theta, seasonal_phi, seasonal_theta, exog, beta, "sarima_one_step")
    if spec.diffuse_states and complete:
        means, variances = _integrated_one_step(spec, u, jnp.asarray(mu), phi, theta,
                                                seasonal_phi, seasonal_theta,
                                                jnp.asarray(sigma))
    else:
        means, variances = _one_step(spec, u, jnp.asarray(mu), phi, theta, seasonal_phi,
                                     seasonal_theta, jnp.asarray(sigma))
    if exog is not None:
        means = means + jnp.asarray(exog) @ jnp.asarray(beta)
    return means, variances


def _filter(u: Array, ssm: SARIMAStateSpace) -> tuple[Array, Array, Array]:
    return _filter_jit(u, *ssm[:-1], ssm_burn=ssm.burn)


def regression_residuals(y: ArrayLike, exog: ArrayLike | None, beta: ArrayLike | None,
                         name: str = "sarima") -> Array:
    """``y - exog @ beta`` (NaN stays NaN), checking shapes: y (T,), exog (T, k), beta (k,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(regression_residuals(jnp.array([1.0, 2.0]), jnp.array([[1.0], [2.0]]),
        ...                            jnp.array([0.5])))
        [0.5 1. ]
    """
    y = jnp.asarray(y)
    if exog is None and beta is None:
        return y
    if exog is None or beta is None:
        raise ValueError(f"{name}: give exog and beta together (got exog "
                         f"{'None' if exog is None else 'an array'}, beta "
                         f"{'None' if beta is None else 'an array'})")
    exog, beta = jnp.asarray(exog), jnp.asarray(beta)
    if beta.ndim != 1 or exog.ndim != 2 or exog.shape != (y.shape[0], beta.shape[0]):
        raise ValueError(f"{name}: exog must have shape (T, k) = ({y.shape[0]}, "
                         f"{beta.shape[0] if beta.ndim == 1 else 'k'}) and beta (k,), got exog "
                         f"{exog.shape} and beta {beta.shape}")
    return y - exog @ beta


def sarima_loglik(
    y: ArrayLike,
    spec: SARIMASpec,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    *,
    seasonal_phi: ArrayLike | None = None,
    seasonal_theta: ArrayLike | None = None,
    exog: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    pointwise: bool = False,
) -> Array:
    """Exact log-likelihood of a (seasonal) ARIMA series with regressors.

    With differencing, a concrete series takes the exact diffuse likelihood: without gaps
    the differenced series' exact ARMA likelihood, statsmodels' ``SARIMAX(...,
    simple_differencing=True)``; with a few gaps (module docstring) the same with the
    missing levels integrated out, statsmodels' ``SARIMAX(..., use_exact_diffuse=True)``
    plus (d + sD) log(2 pi) / 2. A traced y, many gaps, and the pointwise terms with gaps
    take the state filter: statsmodels' default ``SARIMAX(y, exog, order=(p, d, q),
    seasonal_order=(P, D, Q, s), trend="c").loglike([c, *beta, *phi, *theta, *Phi, *Theta,
    sigma**2])`` with ``c = mu (1 - sum phi)(1 - sum Phi)`` (its approximately diffuse
    start). With d = D = 0 all are statsmodels'
    ``ARIMA(y, exog, order=(p, 0, q), trend="c").loglike([mu, *beta, ...])``.
    Outside the stationary region of the AR polynomials the result is ``-inf`` (not NaN).
    Run it in float64 (``jax.enable_x64``) when d or D > 0: the approximately diffuse start
    (variance 1e6) leaves float32 about one significant digit in the first steps.

    Args:
        y: series (T,), NaN = missing.
        spec: orders, differences, period (:class:`SARIMASpec`).
        mu: mean of the differenced series (the process mean when d = D = 0), scalar.
        phi, theta: (p,), (q,).
        sigma: innovation sd, scalar.
        seasonal_phi, seasonal_theta: (P,), (Q,); ``None`` for empty.
        exog, beta: regressors (T, k) and their coefficients (k,), or both ``None``.
        pointwise: return the T one-step-ahead log-densities (0 at gaps and in the first
            d + sD steps) instead of their sum.

    Returns:
        Scalar, or shape (T,) with ``pointwise``.

    Example:
        ARIMA(0, 1, 0) with drift 0: the increments are N(0, sigma^2).

        >>> import jax
        >>> import jax.numpy as jnp
        >>> from jax.scipy.stats import norm
        >>> with jax.enable_x64(True):
        ...     y = jnp.array([3.0, 3.5, 2.5, 4.0])
        ...     ll = sarima_loglik(y, SARIMASpec(0, 1, 0), 0.0, jnp.zeros(0), jnp.zeros(0), 1.0)
        ...     print(jnp.allclose(ll, norm.logpdf(jnp.diff(y)).sum()))
        True
    """
    return _sarima_loglik(y, spec, mu, phi, theta, sigma, seasonal_phi, seasonal_theta, exog,
                          beta, pointwise, gaps=_gap_count(y))


def _sarima_loglik(y, spec, mu, phi, theta, sigma, seasonal_phi, seasonal_theta, exog, beta,
                   pointwise, *, gaps: int | None):
    """:func:`sarima_loglik` with the route chosen by ``gaps`` (:func:`_gap_count` of the
    concrete series, ``None`` when unknown), so that a batch of concrete series can be
    scored under ``vmap`` the way each one would be alone."""
    spec, u, phi, theta, seasonal_phi, seasonal_theta = _checked_inputs(
        y, spec, phi, theta, seasonal_phi, seasonal_theta, exog, beta, "sarima_loglik")
    burn = spec.diffuse_states
    mu, sigma = jnp.asarray(mu), jnp.asarray(sigma)
    if burn and gaps == 0:  # the exact diffuse likelihood: ARMA of the differenced series
        value = _loglik(spec, False, pointwise, None, _differenced(u, spec), mu, phi, theta,
                        seasonal_phi, seasonal_theta, sigma)
        if pointwise:
            return jnp.concatenate([jnp.zeros(burn, value.dtype), value])
        return value
    if burn and not pointwise and _takes_ao_route(gaps, u.shape[-1]):
        # the same with the missing levels integrated out
        return _loglik(spec, True, False, gaps, u, mu, phi, theta, seasonal_phi,
                       seasonal_theta, sigma)
    # With gaps the sum and the pointwise terms come from one compiled filter; without
    # differencing, both come from the ARMA fast path (steady-state tail, no covariance scan).
    by_filter = burn > 0
    value = _loglik(spec, by_filter, pointwise, None, u, mu, phi, theta, seasonal_phi,
                    seasonal_theta, sigma)
    if by_filter:
        return value if pointwise else jnp.sum(value)
    return value


def _gap_count(y: ArrayLike) -> int | None:
    """The number of NaN in each series of a concrete y, (T,) or (..., T), when every series
    has the same number; ``None`` for a traced y (its gaps are unknown at trace time) or
    unequal counts."""
    if isinstance(y, jax.core.Tracer):
        return None
    missing = np.isnan(np.asarray(y, dtype=np.float64))
    if missing.ndim == 0:  # not a series: the callers' shape checks say so
        return None
    counts = missing.reshape(-1, missing.shape[-1]).sum(axis=1)
    if counts.size == 0 or (counts != counts[0]).any():
        return None
    return int(counts[0])


def _is_complete(y: ArrayLike) -> bool:
    """Whether y is concrete (known at trace time) and has no NaN."""
    return _gap_count(y) == 0


def _takes_ao_route(gaps: int | None, num_steps: int) -> bool:
    """Whether the additive-outlier route scores a series with differencing and ``gaps``
    missing values (:func:`_gap_count`): 0 < m and m^3 <= AO_WORK_RATIO x T (its dense
    algebra grows like m^3; the state filter it replaces runs over all T steps)."""
    return gaps is not None and 0 < gaps and gaps**3 <= AO_WORK_RATIO * num_steps


def _differenced(u: Array | np.ndarray, spec: SARIMASpec) -> Array | np.ndarray:
    """(1 - L)^d (1 - L^s)^D u, shape (T - d - sD,), by slices: a NumPy array stays one
    (:func:`difference_series`), a JAX one may be traced (it carries the regression)."""
    for _ in range(spec.d):
        u = u[1:] - u[:-1]
    for _ in range(spec.D):
        u = u[spec.s:] - u[:-spec.s]
    return u


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _loglik(spec, by_filter, pointwise, ao_gaps, u, mu, phi, theta, seasonal_phi,
            seasonal_theta, sigma):
    """The log-likelihood (pointwise terms with ``pointwise``) of u by one route: the ARMA
    fast path on u (``by_filter`` False: no differencing, or u already differenced), the
    state filter (``by_filter``), or with ``ao_gaps = m`` the exact diffuse likelihood of u
    with its m missing levels integrated out by the additive-outlier route
    (:func:`models.arma.exact_ao.ao_value` with the differencing polynomial), the state
    filter's value where that route does not apply (an MA part near non-invertible, a
    near-singular presample covariance)."""
    phi_full, _ = expand_seasonal(phi, theta, seasonal_phi, seasonal_theta, spec.s)
    stationary = is_stationary(phi_full)
    # Outside the stationary region, score a harmless stand-in (phi = 0) and return -inf:
    # the Lyapunov solve would give NaN, and NaN in an unused branch still poisons gradients.
    safe = [jnp.where(stationary, c, 0.0) for c in (phi, seasonal_phi)]
    phi, seasonal_phi = safe
    phi_full, theta_full = expand_seasonal(phi, theta, seasonal_phi, seasonal_theta, spec.s)

    def by_state_filter(u, mu, phi, theta, seasonal_phi, seasonal_theta, sigma):
        ssm = _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)
        return _filter(u, ssm)[0]

    parameters = (u, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)

    if ao_gaps is not None:
        delta = tuple(float(c) for c in _differencing_polynomial(spec))
        value = ao_loglik(u, mu, phi_full, theta_full, sigma, ao_gaps, tol=0.0,
                          unroll=ma_scan_unroll(theta_full.shape[0]), delta=delta,
                          fallback=lambda *ops: jnp.sum(by_state_filter(*ops)),
                          fallback_operands=parameters)
    elif by_filter:
        value = by_state_filter(*parameters)
    else:
        score = arma_pointwise_loglik if pointwise else arma_exact_loglik
        value = score(u, mu, phi_full, theta_full, sigma)
    return jnp.where(stationary, value, -jnp.inf)


def _checked_inputs(y, spec, phi, theta, seasonal_phi, seasonal_theta, exog, beta, name):
    """The checks every public SARIMA function starts with; returns the regression residuals
    ``u`` (T,) in place of y."""
    spec = check_spec(spec, name)
    seasonal_phi, seasonal_theta, phi, theta = _coefficients(spec, seasonal_phi, seasonal_theta,
                                                             phi, theta, name)
    u = regression_residuals(y, exog, beta, name)
    if u.ndim != 1:
        raise ValueError(f"{name}: y must have shape (T,), got {u.shape}")
    return spec, u, phi, theta, seasonal_phi, seasonal_theta


def _coefficients(spec, seasonal_phi, seasonal_theta, phi, theta, name):
    phi, theta = check_coefficients(phi, theta)
    dtype = jnp.result_type(float, phi, theta)
    seasonal_phi = jnp.zeros(0, dtype) if seasonal_phi is None else jnp.asarray(seasonal_phi)
    seasonal_theta = jnp.zeros(0, dtype) if seasonal_theta is None else jnp.asarray(
        seasonal_theta)
    got = (phi.shape, theta.shape, seasonal_phi.shape, seasonal_theta.shape)
    wanted = ((spec.p,), (spec.q,), (spec.P,), (spec.Q,))
    if got != wanted:
        raise ValueError(f"{name}: phi, theta, seasonal_phi, seasonal_theta must have shapes "
                         f"{wanted} for {tuple(spec)}, got {got}")
    return seasonal_phi, seasonal_theta, phi, theta


def sarima_forecast(
    y: ArrayLike,
    spec: SARIMASpec,
    mu: ArrayLike,
    phi: ArrayLike,
    theta: ArrayLike,
    sigma: ArrayLike,
    horizon: int,
    *,
    seasonal_phi: ArrayLike | None = None,
    seasonal_theta: ArrayLike | None = None,
    exog: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    future_exog: ArrayLike | None = None,
) -> ARMAForecast:
    """h-step-ahead forecasts on the original (undifferenced) scale, at fixed parameters.

    After filtering, the state of step T + 1 is N(a, P); with rows c_j = Z Tm^j and shock
    weights psi_m = Z Tm^m R::

        mean_j = Z a_{T+j} + x_{T+j}' beta,  a_{T+j+1} = Tm a_{T+j} + c
        cov_ij = c_{i-1} P c_{j-1}' + sigma^2 sum_{k=2..min(i,j)} psi_{i-k} psi_{j-k}

    equal to statsmodels' ``get_forecast(h, exog=future_exog)`` ``predicted_mean`` and
    ``var_pred_mean``. With differencing the variances grow without bound, as they must.

    Args:
        y, spec, mu, phi, theta, sigma, seasonal_phi, seasonal_theta, exog, beta: as in
            :func:`sarima_loglik`.
        horizon: h >= 1.
        future_exog: the regressors' next h values, (h, k); needed when ``exog`` is given.

    Returns:
        :class:`~models.arma.forecast.ARMAForecast` (mean (h,), variance (h,),
        covariance (h, h)).

    Example:
        Random walk: the forecast stays at the last value and its variance grows by sigma^2
        a step.

        >>> import jax.numpy as jnp
        >>> f = sarima_forecast(jnp.array([1.0, 2.0, 4.0]), SARIMASpec(0, 1, 0), 0.0,
        ...                     jnp.zeros(0), jnp.zeros(0), 1.0, 3)
        >>> print(f.mean, f.variance.round(6))
        [4. 4. 4.] [1. 2. 3.]
    """
    if not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"sarima_forecast: horizon must be an integer >= 1, got {horizon!r}")
    spec, u, phi, theta, seasonal_phi, seasonal_theta = _checked_inputs(
        y, spec, phi, theta, seasonal_phi, seasonal_theta, exog, beta, "sarima_forecast")
    future = jnp.zeros(horizon, u.dtype)
    if exog is not None:
        if future_exog is None:
            raise ValueError(f"sarima_forecast: the model has regressors (exog of shape "
                             f"{jnp.shape(exog)}): give future_exog, their next {horizon} "
                             "values")
        future_exog = jnp.asarray(future_exog)
        if future_exog.shape != (horizon, jnp.shape(exog)[1]):
            raise ValueError(f"sarima_forecast: future_exog must have shape (h, k) = "
                             f"({horizon}, {jnp.shape(exog)[1]}), got {future_exog.shape}")
        future = future_exog @ jnp.asarray(beta)
    if spec.diffuse_states and _is_complete(y):
        return _integrated_forecast(spec, horizon, u, future, jnp.asarray(mu), phi, theta,
                                    seasonal_phi, seasonal_theta, jnp.asarray(sigma))
    return _forecast(spec, horizon, u, future, jnp.asarray(mu), phi, theta, seasonal_phi,
                     seasonal_theta, jnp.asarray(sigma))


def _differencing_polynomial(spec: SARIMASpec) -> np.ndarray:
    """delta (d + sD + 1,): (1 - L)^d (1 - L^s)^D = sum_k delta_k L^k."""
    poly = np.ones(1)
    for _ in range(spec.d):
        poly = np.convolve(poly, [1.0, -1.0])
    for _ in range(spec.D):
        poly = np.convolve(poly, np.r_[1.0, np.zeros(spec.s - 1), -1.0])
    return poly


@partial(jax.jit, static_argnums=(0, 1))
def _integrated_forecast(spec, horizon, u, future, mu, phi, theta, seasonal_phi,
                         seasonal_theta, sigma):
    """The exact diffuse route's forecasts (a complete series; module docstring): the
    differenced series' ARMA forecast (the fast filter's final state), integrated back. With
    delta(L) u = w, u_{T+j} = w_{T+j} - sum_k delta_k u_{T+j-k}: the levels are A (w + z),
    A[j, i] = the weights of 1 / delta(L) at lag j - i, z_j = -sum_{k>=j} delta_k u_{T+j-k}
    (the known past), so mean_u = A (mean_w + z) and cov_u = A cov_w A'."""
    phi_full, theta_full = expand_seasonal(phi, theta, seasonal_phi, seasonal_theta, spec.s)
    w = _differenced(u, spec)
    moments = arma_forecast(w, mu, phi_full, theta_full, sigma, horizon)
    delta = _differencing_polynomial(spec)
    order = delta.shape[0] - 1
    weights = np.zeros(horizon)  # 1 / delta(L): psi_0 = 1, psi_n = -sum_k delta_k psi_{n-k}
    weights[0] = 1.0
    for n in range(1, horizon):
        weights[n] = -sum(delta[k] * weights[n - k] for k in range(1, min(n, order) + 1))
    A = shock_loading_matrix(jnp.asarray(weights, u.dtype))
    num_steps = u.shape[0]
    past = np.zeros((horizon, order), np.int64)  # u index of u_{T+j-k}, k = 1..order
    known = np.zeros((horizon, order), bool)
    for j in range(1, horizon + 1):
        for k in range(j, order + 1):
            past[j - 1, k - 1], known[j - 1, k - 1] = num_steps + j - k - 1, True
    z = -jnp.sum(jnp.where(known, delta[1:][None, :] * u[past], 0.0), axis=1)
    mean = A @ (moments.mean + z) + future
    covariance = A @ moments.covariance @ A.T
    covariance = 0.5 * (covariance + covariance.T)
    return ARMAForecast(mean, jnp.diag(covariance), covariance)


@partial(jax.jit, static_argnums=(0, 1))
def _forecast(spec, horizon, u, future, mu, phi, theta, seasonal_phi, seasonal_theta, sigma):
    ssm = _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)
    _, a, P = _filter(u, ssm)
    Tm = ssm.transition

    def advance(carry, _):
        row, mean_state = carry
        return (row @ Tm, Tm @ mean_state + ssm.intercept), (row, mean_state)

    _, (rows, states) = lax.scan(advance, (ssm.design, a), None, length=horizon)
    psi = rows @ ssm.selection
    shocks = shock_loading_matrix(psi, first_shock=1)
    covariance = rows @ P @ rows.T + ssm.sigma2 * shocks @ shocks.T
    covariance = 0.5 * (covariance + covariance.T)
    mean = states @ ssm.design + future
    return ARMAForecast(mean, jnp.diag(covariance), covariance)



def _simulate(key: Array, spec: SARIMASpec, num_steps: int, mu, phi, theta, seasonal_phi,
              seasonal_theta, sigma) -> Array:
    """One path of the SARIMA errors u_1..u_T: the ARMA block from its stationary law, the
    differencing states at 0 (the integrated series starts from 0)."""
    ssm = _state_space_arrays(spec, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)
    kd = spec.diffuse_states
    r = ssm.transition.shape[0] - kd
    start_key, shock_key = jax.random.split(key)
    # eigh, not Cholesky: the stationary covariance can be singular.
    eigenvalues, eigenvectors = jnp.linalg.eigh(ssm.initial_cov[kd:, kd:])
    arma_start = ssm.initial_mean[kd:] + eigenvectors @ (
        jnp.sqrt(jnp.clip(eigenvalues, 0.0, None))
        * jax.random.normal(start_key, (r,), ssm.transition.dtype))
    state = jnp.zeros_like(ssm.initial_mean).at[kd:].set(arma_start)
    shocks = jnp.sqrt(ssm.sigma2) * jax.random.normal(shock_key, (num_steps,),
                                                      ssm.transition.dtype)

    def step(state, shock):
        return ssm.transition @ state + ssm.intercept + ssm.selection * shock, ssm.design @ state

    _, path = lax.scan(step, state, shocks)
    return path


class SARIMA(dist.Distribution):
    """A whole (seasonal) ARIMA series with regressors, as one NumPyro distribution.

    ``log_prob`` is :func:`sarima_loglik` (exact, NaN = missing, ``-inf`` outside the
    stationary region); ``sample`` draws the errors from the state-space form (the ARMA
    block from its stationary law; with differencing the integrated part starts at 0) and
    adds ``exog @ beta``. Parameters are unbatched (one series): build it inside the model,
    which ``Predictive`` and MCMC vectorise.

    Args:
        mu, phi, theta, seasonal_phi, seasonal_theta, sigma: as in :func:`sarima_loglik`.
        spec: :class:`SARIMASpec`.
        num_steps: T; the event shape is (T,).
        exog, beta: regressors (T, k) and coefficients (k,), or both ``None``.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> d = SARIMA(0.0, jnp.zeros(0), jnp.array([-0.4]), jnp.zeros(0), jnp.array([-0.5]),
        ...            1.0, spec=SARIMASpec(0, 1, 1, 0, 1, 1, 4), num_steps=20)
        >>> y = d.sample(jax.random.PRNGKey(0))
        >>> print(y.shape, d.pointwise_log_prob(y).shape)
        (20,) (20,)
    """

    arg_constraints = {
        "mu": constraints.real,
        "phi": constraints.real_vector,
        "theta": constraints.real_vector,
        "seasonal_phi": constraints.real_vector,
        "seasonal_theta": constraints.real_vector,
        "sigma": constraints.positive,
    }
    support = constraints.real_vector
    pytree_data_fields = ("mu", "phi", "theta", "seasonal_phi", "seasonal_theta", "sigma",
                          "exog", "beta")
    pytree_aux_fields = ("spec", "num_steps")

    def __init__(
        self,
        mu: ArrayLike,
        phi: ArrayLike,
        theta: ArrayLike,
        seasonal_phi: ArrayLike,
        seasonal_theta: ArrayLike,
        sigma: ArrayLike,
        *,
        spec: SARIMASpec,
        num_steps: int,
        exog: ArrayLike | None = None,
        beta: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self.spec = check_spec(spec, "SARIMA")
        self.num_steps = int(num_steps)
        if self.num_steps < 1:
            raise ValueError(f"SARIMA: num_steps must be >= 1, got {num_steps}")
        mu, sigma = jnp.asarray(mu), jnp.asarray(sigma)
        if mu.ndim or sigma.ndim:
            raise ValueError(f"SARIMA: mu and sigma must be scalars (one series; a time-"
                             f"varying mean goes through exog and beta), got shapes "
                             f"{mu.shape} and {sigma.shape}")
        seasonal_phi, seasonal_theta, phi, theta = _coefficients(
            self.spec, seasonal_phi, seasonal_theta, phi, theta, "SARIMA")
        if exog is not None:
            regression_residuals(jnp.zeros(self.num_steps), exog, beta, "SARIMA")
            exog, beta = jnp.asarray(exog), jnp.asarray(beta)
        elif beta is not None:
            raise ValueError("SARIMA: beta given without exog")
        dtype = jnp.result_type(float, mu, phi, theta, seasonal_phi, seasonal_theta, sigma)
        self.mu, self.phi, self.theta, self.seasonal_phi, self.seasonal_theta, self.sigma = (
            a.astype(dtype) for a in (mu, phi, theta, seasonal_phi, seasonal_theta, sigma))
        self.exog, self.beta = exog, beta
        super().__init__(batch_shape=(), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def _regression(self) -> Array | float:
        return 0.0 if self.exog is None else self.exog @ self.beta

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        keys = jax.random.split(key, max(1, int(np.prod(sample_shape))))

        def one(k):
            return _simulate(k, self.spec, self.num_steps, self.mu, self.phi, self.theta,
                             self.seasonal_phi, self.seasonal_theta, self.sigma)

        paths = jax.vmap(one)(keys)
        if self.exog is not None:
            paths = paths + self._regression()[None, :]
        return paths.reshape(tuple(sample_shape) + self.event_shape)

    def _loglik(self, value: ArrayLike, pointwise: bool) -> Array:
        # Concrete values (NumPyro passes observed data so) have gaps known at trace time:
        # asked before jnp.asarray, which turns NumPy data into a tracer inside a jit trace.
        # Complete ones take the exact diffuse route (sarima_loglik).
        gaps = _gap_count(value)
        value = jnp.asarray(value)
        if value.shape[-1:] != self.event_shape:
            raise ValueError(f"SARIMA.log_prob: value must end in the event shape "
                             f"{self.event_shape}, got {value.shape}")

        def score(y):
            return _sarima_loglik(y, self.spec, self.mu, self.phi, self.theta, self.sigma,
                                  self.seasonal_phi, self.seasonal_theta, self.exog, self.beta,
                                  pointwise, gaps=gaps)

        flat = value.reshape((-1,) + self.event_shape)
        scores = jax.vmap(score)(flat)
        return scores.reshape(value.shape[:-1] + scores.shape[1:])

    def log_prob(self, value: ArrayLike) -> Array:
        return self._loglik(value, pointwise=False)

    def pointwise_log_prob(self, value: ArrayLike) -> Array:
        """log p(y_t | y_<t) per time step, shape (..., T): 0 at gaps and in the first
        d + sD steps (left out of the likelihood)."""
        return self._loglik(value, pointwise=True)

    def forecast(self, value: ArrayLike, horizon: int,
                 future_exog: ArrayLike | None = None) -> dist.MultivariateNormal:
        """The joint law of the next ``horizon`` values given the series ``value`` (T,)
        (:func:`sarima_forecast`)."""
        moments = sarima_forecast(value, self.spec, self.mu, self.phi, self.theta, self.sigma,
                                  horizon, seasonal_phi=self.seasonal_phi,
                                  seasonal_theta=self.seasonal_theta, exog=self.exog,
                                  beta=self.beta, future_exog=future_exog)
        return dist.MultivariateNormal(moments.mean, covariance_matrix=moments.covariance)
