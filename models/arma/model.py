"""The ARMA family's NumPyro models: priors, sites and the observed series.

Two models, one per parameterisation (their sites do not share names that mean different
things):

* :func:`arma_exact_model` -- the exact likelihood about the **process mean** ``mu``
  (statsmodels' ``const``), coefficients constrained to be stationary and invertible
  through their partial autocorrelations; missing values allowed; forecasts.
* :func:`arma_model` -- the conditional likelihood with an **intercept** ``intercept``
  (the constant c of ``y_t = c + sum phi_i y_{t-i} + ...``; the mean is
  ``c / (1 - sum phi_i)``) and unconstrained Normal coefficients: the posteriordb
  ``arma11`` and ``arK`` posteriors.

Both follow the family convention ``model(y=None, *, order, num_steps=None,
forecast_horizon=0, ...)``: ``y=None`` with ``num_steps`` simulates, ``forecast_horizon``
adds the site ``y_forecast``.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import Array
from jax.typing import ArrayLike

from models.arma.checks import check_model_series
from models.arma.conditional import ConditionalARMA, arma_residuals
from models.arma.conditional_forecast import conditional_arma_forecast
from models.arma.distribution import ARMA, Likelihood
from models.arma.forecast import arma_forecast_distribution
from models.arma.sarima import (
    SARIMA,
    SARIMASpec,
    check_spec,
    difference_series,
    sarima_loglik,
    sarima_one_step,
)
from models.arma.transforms import invertible_ma_prior, stationary_ar_prior
from patterns.gaussian import LOG_2PI

__all__ = [
    "ARMAPriors",
    "POINTWISE_SITE",
    "beta_prior_scales",
    "model_spec",
    "arma_exact_model",
    "arma_model",
    "data_scaled_priors",
    "one_step_draws",
    "sample_coefficients",
]


def sample_coefficients(
    name: str, size: int, make_prior: Callable[[], dist.Distribution]
) -> Array:
    """Sample the coefficient vector ``name`` of shape (size,), or return an empty one.

    An order of 0 gets no sample site at all (so no ``phi`` in the trace of an MA model);
    the prior is only built when it is needed.

    Example:
        >>> import numpyro
        >>> with numpyro.handlers.seed(rng_seed=3):
        ...     print(sample_coefficients("phi", 0, lambda: None).shape)
        (0,)
    """
    if size == 0:
        return jnp.zeros(0, jnp.result_type(float))
    return numpyro.sample(name, make_prior())


def arma_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    num_steps: int | None = None,
    condition_on_first: bool = False,
    forecast_horizon: int = 0,
    intercept_scale: float = 10.0,
    phi_scale: float = 2.0,
    theta_scale: float = 2.0,
    sigma_scale: float = 2.5,
    exog: ArrayLike | None = None,
    beta_scale: ArrayLike | None = None,
    one_step_ahead: bool = False,
    future_exog: ArrayLike | None = None,
) -> None:
    """NumPyro model: conditional ARMA(p, q) with weakly informative priors.

    Priors: ``intercept ~ Normal(0, intercept_scale)``, ``phi_i ~ Normal(0, phi_scale)``,
    ``theta_j ~ Normal(0, theta_scale)``, ``sigma ~ HalfCauchy(sigma_scale)``. No
    stationarity or invertibility constraint.

    * Defaults with ``order=(1, 1)``: the posteriordb ``arma11`` posterior (pre-sample
      observation = the intercept, pre-sample error = 0, all T observations modelled;
      posteriordb's ``mu`` is the site ``intercept``).
    * ``order=(5, 0), condition_on_first=True, phi_scale=10``: posteriordb ``arK`` (the first
      p observations are conditioned on, not modelled).

    * ``exog`` (T, k): regression with ARMA errors, ``y_t = x_t' beta + z_t`` with z the
      conditional ARMA above (pre-sample z = the intercept, or ``z[:p]`` with
      ``condition_on_first``), site ``beta`` (k,) ``~ Normal(0, beta_scale)``.

    Sites: ``intercept`` (the constant c of the recursion, not the process mean), ``phi``
    (p,) and ``theta`` (q,) when p, q > 0, ``beta`` (k,) with ``exog``, ``sigma``, and the
    observed ``y`` of shape (T,) (or (T - p,) with ``condition_on_first``).

    Args:
        y: the series, shape (T,); ``None`` to simulate (then ``num_steps`` is needed).
        order: (p, q).
        num_steps: T when ``y`` is ``None``.
        condition_on_first: condition on ``y[:p]`` instead of starting from the intercept.
        forecast_horizon: h; with an observed ``y`` and h > 0, also draw ``y_forecast``
            (h,): the recursion's next h values given y, jointly Gaussian
            (:func:`models.arma.conditional_forecast.conditional_arma_forecast`). Use it
            with ``Predictive``, not during inference.
        intercept_scale, phi_scale, theta_scale, sigma_scale: prior scales.
        exog: regressors, shape (T, k), or ``None``.
        beta_scale: prior sd of beta, scalar or (k,); ``None``: ``2.5 sd(y) / sd(x_j)``
            from the observed series (:func:`beta_prior_scales`; needs ``y``).
        one_step_ahead: with an observed ``y``, also draw ``y_one_step`` (T,): each value
            from its one-step-ahead law given the values before it, ``Normal(y_t - e_t,
            sigma)`` (e_t the recursion's error, so ``y_t - e_t`` is its prediction); NaN
            at the first p steps with ``condition_on_first`` (not predicted).
        future_exog: the regressors' next h values, (h, k); needed to forecast with exog.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> from numpyro.infer import Predictive
        >>> prior = Predictive(arma_model, num_samples=2)(jax.random.PRNGKey(2), num_steps=5)
        >>> print(prior["y"].shape, prior["phi"].shape, prior["theta"].shape)
        (2, 5) (2, 1) (2, 1)
        >>> prior = Predictive(arma_model, num_samples=2)(
        ...     jax.random.PRNGKey(2), num_steps=5, exog=jnp.ones((5, 3)), beta_scale=1.0)
        >>> print(prior["y"].shape, prior["beta"].shape)
        (2, 5) (2, 3)
    """
    p, q = order
    y, num_steps = check_model_series("arma_model", y, num_steps, order)
    if forecast_horizon and y is None:
        raise ValueError("arma_model: forecast_horizon needs the observed y")
    if forecast_horizon and exog is not None and (
            future_exog is None or jnp.shape(future_exog) != (forecast_horizon,
                                                               jnp.shape(exog)[1])):
        raise ValueError(f"arma_model: forecasts of a model with exog need future_exog of "
                         f"shape (h, k) = ({forecast_horizon}, {jnp.shape(exog)[1]}), got "
                         f"{None if future_exog is None else jnp.shape(future_exog)}")
    if y is None and condition_on_first and p > 0:
        raise ValueError("arma_model: condition_on_first needs the observed y")
    if num_steps <= (p if condition_on_first else 0):
        raise ValueError(f"arma_model: series of length {num_steps} too short for order {order}")
    intercept = numpyro.sample("intercept", dist.Normal(0.0, intercept_scale))
    phi = sample_coefficients("phi", p, lambda: dist.Normal(0.0, phi_scale).expand([p]).to_event(1))
    theta = sample_coefficients(
        "theta", q, lambda: dist.Normal(0.0, theta_scale).expand([q]).to_event(1)
    )
    beta = None
    if exog is not None:
        exog = jnp.asarray(exog)
        if exog.ndim != 2 or exog.shape[0] != num_steps or exog.shape[1] < 1:
            raise ValueError(f"arma_model: exog must have shape (T, k) = ({num_steps}, k), "
                             f"k >= 1, got {exog.shape}")
        if beta_scale is None:
            if y is None or isinstance(y, jax.core.Tracer):
                raise ValueError("arma_model: beta_scale must be given when there is no "
                                 "observed series to set it from")
            beta_scale = beta_prior_scales(y, exog, model_spec(order))
        scales = jnp.broadcast_to(jnp.asarray(beta_scale, exog.dtype), exog.shape[1:])
        beta = numpyro.sample("beta", dist.Normal(0.0, scales).to_event(1))
    sigma = numpyro.sample("sigma", dist.HalfCauchy(sigma_scale))
    initial_y: Any = None
    obs = y
    if condition_on_first:
        initial_y, obs = y[:p], y[p:]
        if exog is not None:  # the first p errors z = y - exog @ beta are conditioned on
            initial_y = initial_y - exog[:p] @ beta
            exog = exog[p:]
        num_steps = num_steps - p
    law = ConditionalARMA(intercept, phi, theta, sigma, num_steps=num_steps,
                          initial_y=initial_y, exog=exog, beta=beta)
    numpyro.sample("y", law, obs=obs)
    if one_step_ahead:
        if y is None:
            raise ValueError("arma_model: one_step_ahead needs the observed y")
        predicted = obs - arma_residuals(_add_offset(obs, -law.regression()), intercept, phi,
                                         theta, initial_y=initial_y)
        skipped = y.shape[0] - obs.shape[0]
        one_step_draws(jnp.concatenate([jnp.zeros(skipped, obs.dtype), predicted]),
                       jnp.broadcast_to(sigma, y.shape), jnp.arange(y.shape[0]) >= skipped)
    if forecast_horizon > 0:
        future = conditional_arma_forecast(_add_offset(obs, -law.regression()), intercept,
                                           phi, theta, sigma, forecast_horizon,
                                           initial_y=initial_y)
        offset = 0.0 if beta is None else jnp.asarray(future_exog) @ beta
        numpyro.sample("y_forecast", dist.MultivariateNormal(
            future.mean + offset, scale_tril=jnp.linalg.cholesky(future.covariance)))


class ARMAPriors(NamedTuple):
    """Scales of the exact model's priors: ``mu ~ Normal(mu_loc, mu_scale)``,
    ``sigma ~ HalfCauchy(sigma_scale)``."""

    mu_loc: float
    mu_scale: float
    sigma_scale: float


#: How wide the data-scaled prior on the process mean is, in standard deviations of the
#: series. Wider than rstanarm's 2.5 for a regression intercept: the mean of a persistent
#: series is known far less well than its sample sd suggests (sd of the sample mean about
#: sd(y) sqrt((1 + phi) / ((1 - phi) T)); for the bundled arma11 series, phi = 0.97 and
#: T = 200, the posterior sd of mu is 1.3 sd(y)), and the prior must not decide it.
MU_SCALE_IN_SDS = 10.0


def data_scaled_priors(y: ArrayLike) -> ARMAPriors:
    """Priors on the series' own scale, the default of :func:`arma_exact_model`.

    ``mu ~ Normal(mean(y), 10 sd(y))`` and ``sigma ~ HalfCauchy(sd(y))``, over the observed
    (non-NaN) values, the way rstanarm autoscales and brms centres its default priors: the
    answer then does not depend on the units of the series (fitting ``a y + b`` gives the
    posterior of ``y`` mapped by the same affine map), and no fixed ``Normal(0, 10)`` pulls
    the mean of a series that lives near 50 or 10^4 towards 0. The innovation sd is at
    most sd(y) for a stationary ARMA, so ``HalfCauchy(sd(y))`` puts its scale where sigma is.

    Args:
        y: the series, shape (T,), NaN where missing; at least two observed values that
            are not all equal.

    Returns:
        :class:`ARMAPriors` as Python floats.

    Example:
        >>> import jax.numpy as jnp
        >>> print(data_scaled_priors(jnp.array([48.0, 52.0, jnp.nan, 50.0])))
        ARMAPriors(mu_loc=50.0, mu_scale=20.0, sigma_scale=2.0)
    """
    values = np.asarray(y, dtype=np.float64)
    observed = values[~np.isnan(values)]
    sd = float(np.std(observed, ddof=1)) if observed.size >= 2 else 0.0
    if not (np.isfinite(sd) and sd > 0):
        raise ValueError(
            "data_scaled_priors: need at least two observed values that differ to set the "
            f"priors from the series (got {observed.size} observed value(s), sd {sd:g}); "
            "give mu_loc, mu_scale and sigma_scale instead"
        )
    return ARMAPriors(float(np.mean(observed)), MU_SCALE_IN_SDS * sd, sd)


def _resolve_priors(y: Array | None, mu_loc: float | None, mu_scale: float | None,
                    sigma_scale: float | None) -> ARMAPriors:
    given = {"mu_loc": mu_loc, "mu_scale": mu_scale, "sigma_scale": sigma_scale}
    missing = [name for name, value in given.items() if value is None]
    if not missing:
        return ARMAPriors(**given)
    if y is None or isinstance(y, jax.core.Tracer):
        raise ValueError(
            f"arma_exact_model: {', '.join(missing)} must be given when there is no observed "
            "series to set them from (y is None, or traced); data_scaled_priors(y) gives "
            "the defaults a fit on y uses"
        )
    from_data = data_scaled_priors(y)._asdict()
    return ARMAPriors(**{name: from_data[name] if value is None else value
                         for name, value in given.items()})


#: The deterministic site of the exact model that holds log p(y_t | y_<t), shape (T,): the
#: one-step-ahead predictive log-densities from the filter (0 at gaps and in the first
#: d + sD steps), for LOO and model comparison.
POINTWISE_SITE = "pointwise_log_likelihood"

#: rstanarm's scale for regression coefficients, in units of sd(y) / sd(x_j).
BETA_SCALE_IN_SDS = 2.5


def model_spec(order: tuple[int, int], difference: int = 0,
               seasonal_order: tuple[int, int, int, int] | None = None) -> SARIMASpec:
    """The :class:`~models.arma.sarima.SARIMASpec` of the exact model's keywords.

    Example:
        >>> print(tuple(model_spec((0, 1), 1, (0, 1, 1, 12))))
        (0, 1, 1, 0, 1, 1, 12)
    """
    p, q = order
    P, D, Q, s = seasonal_order if seasonal_order is not None else (0, 0, 0, 0)
    return check_spec(SARIMASpec(p, difference, q, P, D, Q, s), "arma_exact_model")


def beta_prior_scales(y: ArrayLike, exog: ArrayLike, spec: SARIMASpec) -> np.ndarray:
    """Prior sds of the regression coefficients on the data's scale (rstanarm's autoscaling):
    2.5 sd(w) / sd(x_j), with w and x_j differenced as the model differences them.

    Example:
        >>> import numpy as np
        >>> x = np.arange(10.0)[:, None]
        >>> print(beta_prior_scales(3 * x[:, 0], x, model_spec((1, 0))))
        [7.5]
    """
    w = difference_series(np.asarray(y, dtype=np.float64), spec)
    x = np.stack([difference_series(np.asarray(column, dtype=np.float64), spec)
                  for column in np.asarray(exog, dtype=np.float64).T], axis=1)
    sd_y = np.nanstd(w, ddof=1)
    sd_x = np.nanstd(x, axis=0, ddof=1)
    if not np.isfinite(sd_y) or sd_y <= 0 or np.any(~np.isfinite(sd_x)) or np.any(sd_x <= 0):
        raise ValueError(
            "beta_prior_scales: the series and every exog column (after differencing) must "
            f"vary to set the regression priors from them (sd(y) = {sd_y:g}, sd(exog) = "
            f"{np.round(sd_x, 6).tolist()}); give beta_scale instead")
    return BETA_SCALE_IN_SDS * sd_y / sd_x


def arma_exact_model(
    y: ArrayLike | None = None,
    *,
    order: tuple[int, int] = (1, 1),
    num_steps: int | None = None,
    likelihood: Likelihood = "exact",
    stationary: bool = True,
    forecast_horizon: int = 0,
    mu_loc: float | None = None,
    mu_scale: float | None = None,
    sigma_scale: float | None = None,
    coefficient_scale: float = 2.0,
    difference: int = 0,
    seasonal_order: tuple[int, int, int, int] | None = None,
    exog: ArrayLike | None = None,
    future_exog: ArrayLike | None = None,
    beta_scale: ArrayLike | None = None,
    one_step_ahead: bool = False,
) -> None:
    """NumPyro model: ARMA(p, q) with the exact likelihood, stationary and invertible.

    Priors: ``mu ~ Normal(mu_loc, mu_scale)`` (the process mean), ``phi`` and ``theta``
    uniform in their partial autocorrelations
    (:func:`models.arma.transforms.stationary_ar_prior`,
    :func:`models.arma.transforms.invertible_ma_prior`), ``sigma ~ HalfCauchy(sigma_scale)``.
    With ``stationary=False`` the coefficients get ``Normal(0, coefficient_scale)`` instead
    (unconstrained, as in :func:`arma_model`; for comparison only).

    ``mu_loc``, ``mu_scale`` and ``sigma_scale`` left at ``None`` are set from the observed
    series by :func:`data_scaled_priors` (``Normal(mean(y), 10 sd(y))``,
    ``HalfCauchy(sd(y))``); without an observed series (simulation, prior predictive) they
    must be given.

    Sites: ``mu``, ``phi`` (p,) if p > 0, ``theta`` (q,) if q > 0, ``sigma``, the observed
    ``y`` (T,) (NaN = missing with the exact likelihood) and, when
    ``forecast_horizon = h > 0``, ``y_forecast`` (h,): the next h values given y.

    Args:
        y: the series, shape (T,); ``None`` to simulate (then give ``num_steps``).
        order: (p, q).
        num_steps: T when ``y`` is ``None``.
        likelihood: ``"exact"`` or ``"conditional"``.
        stationary: constrain phi to stationarity and theta to invertibility.
        forecast_horizon: h; 0 for none. Use it with ``Predictive``, not during inference
            (NUTS would otherwise sample the forecast as a latent variable).
        mu_loc, mu_scale, sigma_scale: prior settings; ``None`` (default): from the data
            (the differenced data when ``difference`` or ``seasonal_order`` difference it).
        coefficient_scale: prior scale of the unconstrained coefficients.
        difference: d, the non-seasonal differences (ARIMA(p, d, q)); ``mu`` is then the
            mean of the differenced series.
        seasonal_order: (P, D, Q, s) or ``None``: seasonal AR order, seasonal
            differences, seasonal MA order, period (s >= 2). Adds the sites
            ``seasonal_phi`` (P,) and ``seasonal_theta`` (Q,), stationary and invertible.
        exog: regressors, shape (T, k): regression with (S)ARIMA errors, site ``beta`` (k,)
            ``~ Normal(0, beta_scale)``.
        future_exog: the regressors' next h values, (h, k); needed to forecast with exog.
        beta_scale: prior sd of beta, scalar or (k,); ``None``: ``2.5 sd(w) / sd(x_j)``
            (:func:`beta_prior_scales`).
        one_step_ahead: with an observed ``y``, also draw ``y_one_step`` (T,): each value
            from its one-step-ahead predictive law given the observations before it, the
            Kalman filter's ``Normal(Z a_t + x_t' beta, F_t)``
            (:func:`models.arma.sarima.sarima_one_step`; defined at gaps too); NaN in the
            first d + sD steps (not predictions: the diffuse start).

    With differencing, seasonal terms or exog the series' law is
    :class:`models.arma.sarima.SARIMA` (statsmodels' ``SARIMAX(..., trend="c")``);
    otherwise :class:`~models.arma.distribution.ARMA` as before. With an observed ``y`` the
    model also records the deterministic site ``pointwise_log_likelihood`` (T,):
    log p(y_t | y_<t) from the filter, 0 at gaps and in the first d + sD steps (for LOO);
    with ``one_step_ahead``, from the same one-step laws as ``y_one_step`` (one filter
    pass for both).

    Example:
        >>> import jax
        >>> from numpyro.infer import Predictive
        >>> draws = Predictive(arma_exact_model, num_samples=3)(
        ...     jax.random.PRNGKey(1), order=(2, 1), num_steps=20, forecast_horizon=4,
        ...     mu_loc=0.0, mu_scale=10.0, sigma_scale=2.5)
        >>> print(draws["y"].shape, draws["phi"].shape, draws["y_forecast"].shape)
        (3, 20) (3, 2) (3, 4)
    """
    p, q = order
    # The observed series as given (NumPy or a concrete array): jnp.asarray inside a jit
    # trace turns it into a tracer (jax 0.10 lifts constants), which hides where its gaps
    # are from the exact likelihood (models.arma.exact: the additive-outlier route needs
    # their count at trace time; NUTS's sampling loop is such a trace).
    given = None if y is None or isinstance(y, jax.core.Tracer) else np.asarray(y)
    y, num_steps = check_model_series("arma_exact_model", y, num_steps, order)
    spec = model_spec(order, difference, seasonal_order)
    plain = spec.diffuse_states == 0 and not spec.seasonal and exog is None
    prior_series = None
    if y is not None and not isinstance(y, jax.core.Tracer):
        prior_series = y if spec.diffuse_states == 0 else difference_series(np.asarray(y), spec)
    elif y is not None:
        prior_series = y
    priors = _resolve_priors(prior_series, mu_loc, mu_scale, sigma_scale)
    mu = numpyro.sample("mu", dist.Normal(priors.mu_loc, priors.mu_scale))

    def coefficient_prior(size: int, constrained: Callable[[int], dist.Distribution]):
        return lambda: (constrained(size) if stationary
                        else dist.Normal(0.0, coefficient_scale).expand([size]).to_event(1))

    phi = sample_coefficients("phi", p, coefficient_prior(p, stationary_ar_prior))
    theta = sample_coefficients("theta", q, coefficient_prior(q, invertible_ma_prior))
    if plain:
        sigma = numpyro.sample("sigma", dist.HalfCauchy(priors.sigma_scale))
        series = numpyro.sample(
            "y", ARMA(mu, phi, theta, sigma, num_steps=num_steps, likelihood=likelihood),
            obs=y if given is None else given)
        moments = (_one_step_moments(y, spec, likelihood, mu, phi, theta, sigma)
                   if one_step_ahead else None)
        if y is not None and likelihood == "exact":
            numpyro.deterministic(POINTWISE_SITE, sarima_loglik(
                series, spec, mu, phi, theta, sigma, pointwise=True)
                if moments is None else _pointwise_from_moments(y, *moments))
        if moments is not None:
            one_step_draws(*moments)
        if forecast_horizon > 0:
            numpyro.sample(
                "y_forecast",
                arma_forecast_distribution(series, mu, phi, theta, sigma, forecast_horizon),
            )
        return

    if likelihood != "exact":
        raise ValueError("arma_exact_model: differencing, seasonal terms and exog need the "
                         f"exact likelihood, got likelihood={likelihood!r}")
    seasonal_phi = sample_coefficients(
        "seasonal_phi", spec.P, coefficient_prior(spec.P, stationary_ar_prior))
    seasonal_theta = sample_coefficients(
        "seasonal_theta", spec.Q, coefficient_prior(spec.Q, invertible_ma_prior))
    beta = None
    if exog is not None:
        exog = jnp.asarray(exog)
        if exog.ndim != 2 or exog.shape[0] != num_steps:
            raise ValueError(f"arma_exact_model: exog must have shape (T, k) = ({num_steps}, k),"
                             f" got {exog.shape}")
        if beta_scale is None:
            if y is None or isinstance(y, jax.core.Tracer):
                raise ValueError("arma_exact_model: beta_scale must be given when there is "
                                 "no observed series to set it from")
            beta_scale = beta_prior_scales(y, exog, spec)
        scales = jnp.broadcast_to(jnp.asarray(beta_scale, exog.dtype), exog.shape[1:])
        beta = numpyro.sample("beta", dist.Normal(0.0, scales).to_event(1))
    sigma = numpyro.sample("sigma", dist.HalfCauchy(priors.sigma_scale))
    law = SARIMA(mu, phi, theta, seasonal_phi, seasonal_theta, sigma, spec=spec,
                 num_steps=num_steps, exog=exog, beta=beta)
    # the series as given (see ``given`` above): SARIMA.log_prob picks the exact diffuse
    # routes for a concrete series only
    series = numpyro.sample("y", law, obs=y if given is None else given)
    moments = (_one_step_moments(y, spec, likelihood, mu, phi, theta, sigma,
                                 seasonal_phi=seasonal_phi, seasonal_theta=seasonal_theta,
                                 exog=exog, beta=beta) if one_step_ahead else None)
    if y is not None:
        numpyro.deterministic(POINTWISE_SITE, law.pointwise_log_prob(series)
                              if moments is None else _pointwise_from_moments(y, *moments))
    if moments is not None:
        one_step_draws(*moments)
    if forecast_horizon > 0:
        if exog is not None and future_exog is None:
            raise ValueError(f"arma_exact_model: forecasts of a model with exog need "
                             f"future_exog, shape (h, k) = ({forecast_horizon}, "
                             f"{exog.shape[1]})")
        numpyro.sample("y_forecast", law.forecast(series, forecast_horizon, future_exog))


def _one_step_moments(y: Array | None, spec: SARIMASpec, likelihood: str, mu: Array,
                      phi: Array, theta: Array, sigma: Array,
                      **kwargs: Any) -> tuple[Array, Array, Array]:
    """The filter's one-step-ahead laws of the exact model: (mean, sd, predicted), each
    (T,); ``predicted`` is False in the first d + sD steps (the diffuse start)."""
    if y is None:
        raise ValueError("arma_exact_model: one_step_ahead needs the observed y")
    if likelihood != "exact":
        raise ValueError("arma_exact_model: one_step_ahead needs likelihood='exact' (the "
                         "conditional models draw their own)")
    mean, variance = sarima_one_step(y, spec, mu, phi, theta, sigma, **kwargs)
    predicted = jnp.arange(y.shape[0]) >= spec.diffuse_states
    return mean, jnp.sqrt(jnp.where(predicted, variance, 1.0)), predicted


def _pointwise_from_moments(y: Array, mean: Array, sd: Array, predicted: Array) -> Array:
    """log p(y_t | y_<t) from the filter's one-step laws (the prediction-error
    decomposition), 0 at gaps and in the diffuse start: the same terms as the likelihood
    routes' pointwise ones (a test checks it), without a second filter pass when the
    one-step predictions are drawn anyway."""
    scored = predicted & ~jnp.isnan(y)
    z = jnp.where(scored, (y - mean) / sd, 0.0)
    return jnp.where(scored, -0.5 * (LOG_2PI + z**2) - jnp.log(sd), 0.0)


def _add_offset(values: Array, offset: Array | float) -> Array:
    return values if isinstance(offset, float) else values + offset


#: The standard normal draws behind ``y_one_step`` (a sample site of their own, so that
#: ``y_one_step`` can be NaN where a step is not predicted).
ONE_STEP_SHOCK_SITE = "y_one_step_shock"


def one_step_draws(mean: Array, sd: Array, predicted: Array) -> Array:
    """Record ``y_one_step`` (T,): ``mean + sd * shock``, one standard normal shock per step
    (the sample site ``y_one_step_shock``), NaN where ``predicted`` is False. Meant for
    ``Predictive`` after inference (``one_step_ahead=True``).

    Example:
        >>> import jax.numpy as jnp
        >>> from numpyro import handlers
        >>> with handlers.seed(rng_seed=0):
        ...     draws = one_step_draws(jnp.zeros(3), jnp.ones(3), jnp.array([False, True, True]))
        >>> print(bool(jnp.isnan(draws[0])), draws.shape)
        True (3,)
    """
    shock = numpyro.sample(ONE_STEP_SHOCK_SITE,
                           dist.Normal(jnp.zeros_like(mean), 1.0).to_event(1))
    return numpyro.deterministic("y_one_step",
                                 jnp.where(predicted, mean + sd * shock, jnp.nan))
