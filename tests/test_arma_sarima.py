"""Seasonal ARIMA with regressors (models.arma.sarima) against statsmodels, at fixed parameters.

Oracles nobody here wrote: statsmodels' ``SARIMAX(..., trend="c")`` and ``ARIMA`` (their
``loglike``, ``llf_obs``, ``get_forecast`` and state-space matrices), on public series:
monthly CO2 at Mauna Loa with its gaps (statsmodels' ``co2``, weekly, averaged by month: 5
empty months) and the Box-Jenkins airline passengers (pmdarima's copy, the ``test`` extra).

Tolerance. Without differencing the agreement is 1e-8 absolute or better. The
approximately diffuse start (variance 1e6, statsmodels' default) loses about six digits to
cancellation in the first d + sD updates, in any float64 filter: on the airline model
statsmodels itself is 1.6e-7 away from the same recursion run in 80-bit long double, and
ours 1.6e-8 (:func:`test_seasonal_differencing_is_as_accurate_as_long_double_allows`). There
the comparison with statsmodels is to 1e-9 *relative* (about 2e-7 absolute); with
non-seasonal differencing only, to 1e-10 relative (measured 4e-8 absolute on CO2).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.statespace.sarimax import SARIMAX

from models.arma.sarima import (
    SARIMA,
    SARIMASpec,
    check_spec,
    difference_series,
    expand_seasonal,
    sarima_filter,
    sarima_forecast,
    sarima_loglik,
    sarima_one_step,
    sarima_state_space,
)

pmdarima_datasets = pytest.importorskip("pmdarima.datasets")

HORIZON = 24


@pytest.fixture(scope="module")
def co2() -> np.ndarray:
    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().to_numpy()
    assert monthly.shape == (526,) and np.isnan(monthly).sum() == 5
    return monthly


@pytest.fixture(scope="module")
def log_air() -> np.ndarray:
    passengers = pmdarima_datasets.load_airpassengers()
    assert passengers.shape == (144,) and passengers[0] == 112.0
    return np.log(passengers)


def _params(spec, mu, phi, theta, sphi, stheta, sigma):
    """statsmodels' SARIMAX(trend="c") parameter vector for our parameters."""
    phi_full, _ = expand_seasonal(jnp.asarray(phi, float), jnp.asarray(theta, float),
                                  jnp.asarray(sphi, float), jnp.asarray(stheta, float), spec.s)
    intercept = mu * (1.0 - float(jnp.sum(phi_full)))
    return np.r_[intercept, phi, theta, sphi, stheta, sigma**2]


def _ours(y, spec, mu, phi, theta, sphi, stheta, sigma, **kwargs):
    return sarima_loglik(jnp.asarray(y), spec, mu, jnp.asarray(phi, float),
                         jnp.asarray(theta, float), sigma, seasonal_phi=jnp.asarray(sphi, float),
                         seasonal_theta=jnp.asarray(stheta, float), **kwargs)


def _exact_diffuse(y, spec, params, trend="c", exog=None):
    """statsmodels' exact diffuse log-likelihood (``use_exact_diffuse=True``) on our
    convention: plus (d + sD) log(2 pi) / 2, the constant its diffuse steps add (ours is
    the density of the differenced series with the missing levels integrated out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = SARIMAX(y, exog=exog, order=(spec.p, spec.d, spec.q),
                        seasonal_order=(spec.P, spec.D, spec.Q, spec.s), trend=trend,
                        use_exact_diffuse=True).loglike(params)
    return value + 0.5 * spec.diffuse_states * np.log(2 * np.pi)


CASES = {
    # name: (series, spec, mu, phi, theta, Phi, Theta, sigma, tolerance (abs, rel))
    "airline": ("air", SARIMASpec(0, 1, 1, 0, 1, 1, 12), 0.0, [], [-0.4], [], [-0.55], 0.037,
                (0.0, 1e-9)),
    "airline-drift": ("air", SARIMASpec(0, 1, 1, 0, 1, 1, 12), 0.002, [], [-0.4], [], [-0.55],
                      0.037, (0.0, 1e-9)),
    "co2-111-111": ("co2", SARIMASpec(1, 1, 1, 1, 1, 1, 12), 0.01, [0.3], [-0.6], [0.1],
                    [-0.8], 0.3, (0.0, 1e-9)),
    "co2-seasonal-ar": ("co2", SARIMASpec(2, 0, 1, 1, 0, 0, 12), 340.0, [1.2, -0.25], [0.3],
                        [0.5], [], 1.0, (1e-8, 0.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loglik_and_forecasts_match_sarimax(x64, co2, log_air, name):
    series, spec, mu, phi, theta, sphi, stheta, sigma, (atol, rtol) = CASES[name]
    y = {"air": log_air, "co2": co2}[series]
    params = _params(spec, mu, phi, theta, sphi, stheta, sigma)
    model = SARIMAX(y, order=(spec.p, spec.d, spec.q),
                    seasonal_order=(spec.P, spec.D, spec.Q, spec.s), trend="c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.loglike(params)
        result = model.filter(params)
        forecast = result.get_forecast(HORIZON)
    got = float(_ours(y, spec, mu, phi, theta, sphi, stheta, sigma))
    approximate = expected
    if spec.diffuse_states and np.isnan(y).any():
        # gaps with differencing: the exact diffuse likelihood (test below); statsmodels'
        # default start burns the first d + sD steps, two of them gaps here, and lands 15
        # nats lower
        expected = _exact_diffuse(y, spec, params)
        assert abs(expected - approximate) > 1.0
    np.testing.assert_allclose(got, expected, atol=atol, rtol=rtol)

    # the state-space form is statsmodels' own, entry for entry
    ssm = sarima_state_space(spec, mu, jnp.asarray(phi, float), jnp.asarray(theta, float),
                             jnp.asarray(sphi, float), jnp.asarray(stheta, float), sigma)
    transition, design = model.ssm["transition"], model.ssm["design"]
    np.testing.assert_array_equal(np.asarray(ssm.transition),
                                  transition.reshape(transition.shape[:2]))
    np.testing.assert_array_equal(np.asarray(ssm.design), design.reshape(-1))
    assert ssm.burn == model.loglikelihood_burn

    # the one-step-ahead densities, point by point (statsmodels' llf_obs, burn-in zeroed)
    pointwise = np.asarray(_ours(y, spec, mu, phi, theta, sphi, stheta, sigma, pointwise=True))
    expected_pointwise = np.where(np.isnan(y), 0.0, result.llf_obs)
    expected_pointwise[: model.loglikelihood_burn] = 0.0
    # (seasonal differencing: the same float64 floor as the total, spread over the terms)
    np.testing.assert_allclose(pointwise, expected_pointwise, rtol=0,
                               atol=2e-7 if rtol else 1e-8)
    # the pointwise terms are the state filter's (statsmodels' default start)
    np.testing.assert_allclose(pointwise.sum(), approximate, rtol=1e-9)

    # forecasts on the original scale: means and variances at fixed parameters
    ours = sarima_forecast(jnp.asarray(y), spec, mu, jnp.asarray(phi, float),
                           jnp.asarray(theta, float), sigma, HORIZON,
                           seasonal_phi=jnp.asarray(sphi, float),
                           seasonal_theta=jnp.asarray(stheta, float))
    np.testing.assert_allclose(ours.mean, forecast.predicted_mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.variance, forecast.var_pred_mean, rtol=1e-8, atol=1e-10)
    if spec.diffuse_states:  # integrated: the bands keep widening
        assert np.all(np.diff(np.asarray(ours.variance)) > 0)


def test_arima_with_differencing_matches_statsmodels_arima(x64, co2):
    """statsmodels' ARIMA (trend in the regression, not the state) with d = 2: mu = 0. The
    series has gaps, so the likelihood is the exact diffuse one; the state filter (the
    fallback and the pointwise terms) is statsmodels' default, to 1e-10 relative (the
    approximately diffuse start's float64 floor)."""
    params = np.r_[0.4, -0.1, 0.2, 0.25]
    spec = SARIMASpec(2, 2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        approximate = ARIMA(co2, order=(2, 2, 1)).loglike(params)
    got = _ours(co2, spec, 0.0, [0.4, -0.1], [0.2], [], [], 0.5)
    # statsmodels' exact diffuse filter is 8e-8 from the dense integral here, ours 2e-9
    np.testing.assert_allclose(float(got), _exact_diffuse(co2, spec, params, trend="n"),
                               rtol=1e-10)
    ssm = sarima_state_space(spec, 0.0, jnp.array([0.4, -0.1]), jnp.array([0.2]),
                             jnp.zeros(0), jnp.zeros(0), 0.5)
    np.testing.assert_allclose(float(jnp.sum(sarima_filter(jnp.asarray(co2), ssm)[0])),
                               approximate, rtol=1e-10)


def test_seasonal_differencing_is_as_accurate_as_long_double_allows(x64, log_air):
    """The same filter (the route for series with gaps) in 80-bit long double (a plain
    loop): ours is within 1e-7 of it."""
    spec = SARIMASpec(0, 1, 1, 0, 1, 1, 12)
    ssm = sarima_state_space(spec, 0.0, jnp.zeros(0), jnp.array([-0.4]), jnp.zeros(0),
                             jnp.array([-0.55]), 0.037)
    ld = np.longdouble
    Z, Tm = np.asarray(ssm.design).astype(ld), np.asarray(ssm.transition).astype(ld)
    R = np.asarray(ssm.selection).astype(ld)
    a, P = np.asarray(ssm.initial_mean).astype(ld), np.asarray(ssm.initial_cov).astype(ld)
    Q, total = ld(float(ssm.sigma2)) * np.outer(R, R), ld(0.0)
    for t, value in enumerate(log_air.astype(ld)):
        PZ = P @ Z
        F, v = Z @ PZ, value - Z @ a
        if t >= ssm.burn:
            total += -0.5 * (np.log(2 * np.pi) + np.log(F) + v * v / F)
        a, P = Tm @ (a + PZ * v / F), Tm @ (P - np.outer(PZ, PZ) / F) @ Tm.T + Q
    got = jnp.sum(sarima_filter(jnp.asarray(log_air), ssm)[0])
    assert abs(float(got) - float(total)) < 1e-7


@pytest.mark.parametrize("spec,phi,theta,sphi", [
    (SARIMASpec(1, 1, 1), [0.7], [-0.4], []),
    (SARIMASpec(2, 2, 1), [0.4, -0.1], [0.2], []),
    (SARIMASpec(1, 1, 1, 1, 1, 0, 12), [0.5], [-0.3], [0.2]),
])
def test_complete_differenced_series_take_the_exact_diffuse_likelihood(x64, spec, phi, theta,
                                                                        sphi):
    """No gaps: the exact ARMA likelihood of the differenced series, i.e. statsmodels'
    SARIMAX(..., simple_differencing=True): values and pointwise terms to 1e-8, gradients
    against central differences of statsmodels' value; forecasts against its exact diffuse
    filter. On a series near 300 the default
    (approximately diffuse) start differs by more than 1e-6, so this tells the routes apart;
    the SARIMA law (as NumPyro passes the observed series) takes the same route."""
    rng = np.random.default_rng(5)
    w = np.zeros(300)
    shocks = rng.standard_normal(301)
    for t in range(1, 300):
        w[t] = 0.7 * w[t - 1] + shocks[t] - 0.4 * shocks[t - 1]
    y = 300.0 + np.cumsum(w)
    mu, sigma = 0.01, 1.1
    phi_full, _ = expand_seasonal(jnp.asarray(phi, float), jnp.asarray(theta, float),
                                  jnp.asarray(sphi, float), jnp.zeros(0), spec.s)
    order = dict(order=(spec.p, spec.d, spec.q),
                 seasonal_order=(spec.P, spec.D, spec.Q, spec.s), trend="c")
    simple = SARIMAX(y, simple_differencing=True, **order)
    default = SARIMAX(y, **order)

    def statsmodels_loglik(u):  # u = (mu, phi, theta, sphi, sigma)
        m, rest, sd = u[0], u[1:-1], u[-1]
        full = expand_seasonal(jnp.asarray(rest[: spec.p]), jnp.zeros(spec.q),
                               jnp.asarray(rest[spec.p + spec.q:]), jnp.zeros(0), spec.s)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return simple.loglike(np.r_[m * (1.0 - float(jnp.sum(full))), rest, sd**2])

    point = np.r_[mu, phi, theta, sphi, sigma]
    expected = statsmodels_loglik(point)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        approximate = default.loglike(np.r_[mu * (1.0 - float(jnp.sum(phi_full))), phi, theta,
                                            sphi, sigma**2])
        expected_pointwise = simple.filter(np.r_[mu * (1.0 - float(jnp.sum(phi_full))), phi,
                                                 theta, sphi, sigma**2]).llf_obs
    assert abs(approximate - expected) > 1e-6

    def ours(u, **kwargs):
        p, q = spec.p, spec.q
        return sarima_loglik(y, spec, u[0], u[1 : 1 + p], u[1 + p : 1 + p + q], u[-1],
                             seasonal_phi=u[1 + p + q : -1], **kwargs)

    u = jnp.asarray(point)
    np.testing.assert_allclose(float(ours(u)), expected, rtol=0, atol=1e-8)
    pointwise = np.asarray(ours(u, pointwise=True))
    burn = spec.diffuse_states
    np.testing.assert_array_equal(pointwise[:burn], 0.0)
    np.testing.assert_allclose(pointwise[burn:], expected_pointwise, rtol=0, atol=1e-8)
    step = 1e-5
    central = [(statsmodels_loglik(point + step * e) - statsmodels_loglik(point - step * e))
               / (2 * step) for e in np.eye(point.size)]
    np.testing.assert_allclose(jax.grad(ours)(u), central, rtol=1e-6, atol=1e-5)
    law = SARIMA(u[0], u[1 : 1 + spec.p], u[1 + spec.p : 1 + spec.p + spec.q],
                 u[1 + spec.p + spec.q : -1], jnp.zeros(0), u[-1], spec=spec,
                 num_steps=y.shape[0])
    np.testing.assert_allclose(float(law.log_prob(y)), expected, rtol=0, atol=1e-8)

    # forecasts: the differenced series' ARMA forecast integrated back, against statsmodels'
    # exact diffuse filter (which starts every state diffuse, the ARMA ones too: after 300
    # steps its final state is the same)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact_diffuse = SARIMAX(y, initialization="diffuse", **order).filter(
            np.r_[mu * (1.0 - float(jnp.sum(phi_full))), phi, theta, sphi, sigma**2])
        want = exact_diffuse.get_forecast(HORIZON)
    got = sarima_forecast(y, spec, mu, jnp.asarray(phi, float), jnp.asarray(theta, float),
                          sigma, HORIZON, seasonal_phi=jnp.asarray(sphi, float))
    np.testing.assert_allclose(got.mean, want.predicted_mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got.variance, want.var_pred_mean, rtol=1e-8)
    # one-step predictions after the first d + sD steps: statsmodels' filter of the
    # differenced series, plus the known past (y_t - w_t)
    means, variances = sarima_one_step(y, spec, mu, jnp.asarray(phi, float),
                                       jnp.asarray(theta, float), sigma,
                                       seasonal_phi=jnp.asarray(sphi, float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        differenced = simple.filter(np.r_[mu * (1.0 - float(jnp.sum(phi_full))), phi, theta,
                                          sphi, sigma**2]).filter_results
    w = np.asarray(difference_series(y, spec))
    np.testing.assert_allclose(means[burn:], differenced.forecasts[0] + (y[burn:] - w),
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(variances[burn:], differenced.forecasts_error_cov[0, 0],
                               rtol=1e-8)


def test_regression_with_arma_errors_matches_statsmodels(x64):
    """ARIMA(y, exog=X, order, trend="c"): d = 0 with gaps, and d = 1 with forecasts."""
    rng = np.random.default_rng(12)
    T = 120
    X = np.c_[np.sin(np.arange(T) / 5), rng.normal(size=T)]
    y = 2 + X @ [1.5, -0.7] + np.cumsum(rng.normal(size=T)) * 0.1 + rng.normal(size=T)
    y[[10, 50, 51]] = np.nan
    beta = jnp.array([1.5, -0.7])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        level = ARIMA(y, exog=X, order=(2, 0, 1), trend="c").loglike(
            np.r_[2.0, 1.5, -0.7, 0.5, 0.2, 0.3, 1.1])
        differenced = ARIMA(y, exog=X, order=(1, 1, 1))
        params = np.r_[1.5, -0.7, 0.5, 0.3, 1.1]
        future = rng.normal(size=(5, 2))
        forecast = differenced.filter(params).get_forecast(5, exog=future)
        # gaps and d = 1: the exact diffuse likelihood
        expected_differenced = _exact_diffuse(y, SARIMASpec(1, 1, 1), params, trend="n",
                                              exog=X)
    got = sarima_loglik(jnp.asarray(y), SARIMASpec(2, 0, 1), 2.0, jnp.array([0.5, 0.2]),
                        jnp.array([0.3]), np.sqrt(1.1), exog=jnp.asarray(X), beta=beta)
    np.testing.assert_allclose(float(got), level, rtol=0, atol=1e-8)
    spec = SARIMASpec(1, 1, 1)
    got = sarima_loglik(jnp.asarray(y), spec, 0.0, jnp.array([0.5]), jnp.array([0.3]),
                        np.sqrt(1.1), exog=jnp.asarray(X), beta=beta)
    np.testing.assert_allclose(float(got), expected_differenced, rtol=1e-10)
    ours = sarima_forecast(jnp.asarray(y), spec, 0.0, jnp.array([0.5]), jnp.array([0.3]),
                           np.sqrt(1.1), 5, exog=jnp.asarray(X), beta=beta,
                           future_exog=jnp.asarray(future))
    np.testing.assert_allclose(ours.mean, forecast.predicted_mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.variance, forecast.var_pred_mean, rtol=1e-10)
    with pytest.raises(ValueError, match="give future_exog"):
        sarima_forecast(jnp.asarray(y), spec, 0.0, jnp.array([0.5]), jnp.array([0.3]), 1.0, 5,
                        exog=jnp.asarray(X), beta=beta)
    with pytest.raises(ValueError, match=r"exog must have shape \(T, k\) = \(120, 2\)"):
        sarima_loglik(jnp.asarray(y), spec, 0.0, jnp.array([0.5]), jnp.array([0.3]), 1.0,
                      exog=jnp.asarray(X[:-1]), beta=beta)


@pytest.mark.parametrize("d", [0, 1])
def test_outside_the_stationary_region_is_minus_infinity_with_finite_gradient(x64, d):
    y = jnp.asarray(np.random.default_rng(3).normal(size=40))

    def loglik(phi):
        return sarima_loglik(y, SARIMASpec(1, d, 0), 0.0, phi, jnp.zeros(0), 1.0)

    assert float(loglik(jnp.array([1.2]))) == -np.inf
    assert np.isfinite(np.asarray(jax.grad(loglik)(jnp.array([1.2])))).all()
    assert np.isfinite(float(loglik(jnp.array([0.9]))))


def test_bad_specifications_say_what_is_wrong():
    with pytest.raises(ValueError, match="seasonal period s must be an integer >= 2"):
        check_spec(SARIMASpec(1, 0, 0, 1, 0, 0, 1))
    with pytest.raises(ValueError, match="integers >= 0"):
        check_spec(SARIMASpec(1, -1, 0))
    with pytest.raises(ValueError, match=r"must have shapes \(\(1,\), \(0,\), \(1,\), \(0,\)\)"):
        sarima_loglik(jnp.zeros(30), SARIMASpec(1, 0, 0, 1, 0, 0, 4), 0.0, jnp.array([0.1]),
                      jnp.zeros(0), 1.0)


def _dense_diffuse_loglik(y, spec, mu, phi, theta, sphi, stheta, sigma):
    """The exact diffuse likelihood by dense algebra, from its definition: the differenced
    series w = delta(L) y has the ARMA density N(mu, Gamma) (Gamma from statsmodels'
    ``arma_acovf`` of the multiplied-out polynomials), and the missing levels are
    integrated out under a flat prior: with w = w0 + E z (z the missing levels, w0 the
    differenced series with them set to 0), log int N(w0 + E z; mu, Gamma) dz."""
    from statsmodels.tsa.arima_process import arma_acovf

    def lag_poly(coefficients, sign, step):
        poly = np.zeros(step * len(coefficients) + 1)
        poly[0] = 1.0
        poly[step::step] = sign * np.asarray(coefficients, float)
        return poly

    ar = np.convolve(lag_poly(phi, -1, 1), lag_poly(sphi, -1, spec.s or 1))
    ma = np.convolve(lag_poly(theta, 1, 1), lag_poly(stheta, 1, spec.s or 1))
    delta = np.ones(1)
    for _ in range(spec.d):
        delta = np.convolve(delta, [1.0, -1.0])
    for _ in range(spec.D):
        delta = np.convolve(delta, np.r_[1.0, np.zeros(spec.s - 1), -1.0])
    nd, num_steps = delta.size - 1, y.size
    n = num_steps - nd
    difference = np.zeros((n, num_steps))
    for t in range(n):
        difference[t, t + nd - np.arange(nd + 1)] = delta
    missing = np.isnan(y)
    residual = difference @ np.where(missing, 0.0, y) - mu
    E = difference[:, missing]
    acov = arma_acovf(ar, ma, nobs=n, sigma2=sigma**2)
    gamma = acov[np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])]
    factor = np.linalg.cholesky(gamma)
    # whitened: Gamma^{-1/2} (residual, E); then the flat integral is a least-squares fit
    white = np.linalg.solve(factor, np.c_[residual, E])
    r, E = white[:, 0], white[:, 1:]
    information = E.T @ E
    fitted = E @ np.linalg.lstsq(E, r, rcond=None)[0]
    m = int(missing.sum())
    return -0.5 * ((n - m) * np.log(2 * np.pi) + 2 * np.log(np.diag(factor)).sum()
                   + np.linalg.slogdet(information)[1] + (r - fitted) @ (r - fitted))


GAP_CASES = {
    # name: (spec, mu, phi, theta, Phi, Theta, sigma); atoms of width 3 (block gram) and
    # 5, 14, 27 (one gather)
    "arima111": (SARIMASpec(1, 1, 1), 0.2, [0.5], [0.3], [], [], 1.3),
    "arima221": (SARIMASpec(2, 2, 1), 0.0, [0.4, -0.1], [0.2], [], [], 0.5),
    "airline": (SARIMASpec(0, 1, 1, 0, 1, 1, 12), 0.0, [], [-0.4], [], [-0.55], 0.7),
    "seasonal-ar": (SARIMASpec(1, 1, 1, 1, 1, 0, 12), 0.1, [0.5], [-0.3], [0.2], [], 0.9),
}


@pytest.mark.parametrize("name", list(GAP_CASES))
def test_gaps_with_differencing_take_the_exact_diffuse_likelihood(x64, name):
    """Gaps with differencing (a concrete series): the missing levels integrated out of the
    differenced series' ARMA density (the additive-outlier route with the differencing
    polynomial), i.e. statsmodels' SARIMAX(..., use_exact_diffuse=True) plus
    (d + sD) log(2 pi) / 2. Gaps at the start (inside the first d + sD steps, where
    statsmodels' default start goes wrong), in the middle, in a run and at the end; a series
    near 300, where the approximately diffuse start is 1e-5 off. Values to 1e-8 against
    the dense integral and 1e-10 relative against statsmodels; gradients against central
    differences of the dense integral; the SARIMA law scores the same; near a non-invertible
    MA the state filter (statsmodels' default) takes over."""
    spec, mu, phi, theta, sphi, stheta, sigma = GAP_CASES[name]
    rng = np.random.default_rng(5)
    num_steps = 150
    y = 300.0 + np.cumsum(0.2 + rng.normal(size=num_steps))
    if spec.D:
        y += 3.0 * np.sin(2 * np.pi * np.arange(num_steps) / spec.s)
    gaps = [0, 2, 40, 70, 71, 72, 73, 110, num_steps - 1]
    y[gaps] = np.nan
    args = (mu, phi, theta, sphi, stheta)

    def ours(packed):
        sizes = np.cumsum([1, len(phi), len(theta), len(sphi), len(stheta)])
        mu_, phi_, theta_, sphi_, stheta_, sigma_ = jnp.split(packed, sizes)
        return sarima_loglik(jnp.asarray(y), spec, mu_[0], phi_, theta_, sigma_[0],
                             seasonal_phi=sphi_, seasonal_theta=stheta_)

    packed = np.r_[mu, phi, theta, sphi, stheta, sigma]
    got = float(ours(jnp.asarray(packed)))
    dense = _dense_diffuse_loglik(y, spec, *args, sigma)
    np.testing.assert_allclose(got, dense, rtol=0, atol=1e-8)
    params = _params(spec, *args, sigma)
    np.testing.assert_allclose(got, _exact_diffuse(y, spec, params), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        approximate = SARIMAX(y, order=(spec.p, spec.d, spec.q),
                              seasonal_order=(spec.P, spec.D, spec.Q, spec.s),
                              trend="c").loglike(params)
    assert abs(got - approximate) > 1e-6  # the two starts differ: the check can tell

    gradient = np.asarray(jax.grad(ours)(jnp.asarray(packed)))
    step = 1e-5

    def dense_at(vector):
        sizes = np.cumsum([1, len(phi), len(theta), len(sphi), len(stheta)])
        mu_, phi_, theta_, sphi_, stheta_, sigma_ = np.split(vector, sizes)
        return _dense_diffuse_loglik(y, spec, mu_[0], phi_, theta_, sphi_, stheta_, sigma_[0])

    central = np.array([(dense_at(packed + step * e) - dense_at(packed - step * e)) / (2 * step)
                        for e in np.eye(packed.size)])
    np.testing.assert_allclose(gradient, central, rtol=1e-5, atol=1e-5)

    if name == "arima111":  # the law scores the same (one case: its own compile)
        law = SARIMA(mu, jnp.asarray(phi, float), jnp.asarray(theta, float),
                     jnp.asarray(sphi, float), jnp.asarray(stheta, float), sigma, spec=spec,
                     num_steps=num_steps)
        np.testing.assert_allclose(float(law.log_prob(y)), got, rtol=1e-12)

    # an MA root at modulus 0.9995 (route threshold 0.999): the state filter's value
    if spec.q:
        near = [-0.9995] + list(theta[1:])
        fallback = sarima_loglik(jnp.asarray(y), spec, mu, jnp.asarray(phi, float),
                                 jnp.asarray(near), sigma, seasonal_phi=jnp.asarray(sphi, float),
                                 seasonal_theta=jnp.asarray(stheta, float))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = SARIMAX(y, order=(spec.p, spec.d, spec.q),
                               seasonal_order=(spec.P, spec.D, spec.Q, spec.s),
                               trend="c").loglike(_params(spec, mu, phi, near, sphi, stheta,
                                                          sigma))
        np.testing.assert_allclose(float(fallback), expected, rtol=1e-9)


def test_the_model_takes_the_exact_diffuse_route_for_numpy_data_under_jit(x64):
    """NumPyro closes over the observed series and jits the log-density; a NumPy series
    becomes a tracer inside that trace. The model hands SARIMA the series as given, so
    the jitted log-density is the exact diffuse one (the eager value), with a gap at the
    start where the approximately diffuse start is about 8 nats off."""
    from numpyro.infer.util import log_density

    from models.arma import arma_exact_model

    rng = np.random.default_rng(2)
    y = 50.0 + np.cumsum(rng.normal(size=80))
    y[[0, 30, 31]] = np.nan
    kwargs = dict(y=y, order=(1, 1), difference=1, mu_loc=0.0, mu_scale=5.0, sigma_scale=1.0)
    params = {"mu": 0.1, "phi": jnp.array([0.5]), "theta": jnp.array([0.3]), "sigma": 1.2}

    def joint(values):
        return log_density(arma_exact_model, (), kwargs, values)[0]

    eager, jitted = float(joint(params)), float(jax.jit(joint)(params))
    np.testing.assert_allclose(jitted, eager, rtol=0, atol=1e-9)
    spec = SARIMASpec(1, 1, 1)
    exact = float(sarima_loglik(y, spec, 0.1, params["phi"], params["theta"], 1.2))
    approximate = float(sarima_loglik(jnp.asarray(y), spec, 0.1, params["phi"],
                                      params["theta"], 1.2, pointwise=True).sum())
    assert abs(exact - approximate) > 1.0  # the two routes differ: the check can tell
    np.testing.assert_allclose(exact, _exact_diffuse(y, spec, _params(
        spec, 0.1, [0.5], [0.3], [], [], 1.2)), rtol=1e-10)
