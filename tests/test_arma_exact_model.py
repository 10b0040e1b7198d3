"""The ARMA distribution, the exact-likelihood model, maximum likelihood on the Nile, NUTS.

Oracles: statsmodels (autocovariances, fitted parameters), a Python loop for the
conditional likelihood, and the simulating parameters for posterior coverage.
"""

import warnings
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from numpyro.diagnostics import split_gelman_rubin
from numpyro.infer import MCMC, NUTS, Predictive
from scipy.linalg import toeplitz
from scipy.stats import norm
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_acovf

from models.arma import ARMA, arma_exact_loglik, arma_exact_model
from models.arma.transforms import invertible_ma, pacf_to_coefficients, stationary_ar

NILE = resources.files("models") / "data" / "nile.csv"


def test_log_prob_is_the_exact_loglik_and_batches(x64):
    rng = np.random.default_rng(0)
    y = rng.normal(size=30)
    y[4] = np.nan
    mu, sigma = jnp.array([0.1, -0.2]), jnp.array([1.0, 1.3])
    phi, theta = jnp.array([[0.5, -0.2], [0.1, 0.3]]), jnp.array([[0.4], [-0.6]])
    d = ARMA(mu, phi, theta, sigma, num_steps=30)
    assert d.batch_shape == (2,) and d.event_shape == (30,)
    # compiled (the series a constant of the program, as op by op): op by op, the filter's
    # many small operations took ~20 s
    one = jax.jit(lambda *args: arma_exact_loglik(y, *args))
    expected = [one(mu[i], phi[i], theta[i], sigma[i]) for i in range(2)]
    np.testing.assert_allclose(jax.jit(lambda: d.log_prob(jnp.asarray(y)))(), expected,
                               rtol=1e-12)


def test_conditional_log_prob_matches_a_python_loop(x64):
    # ARMA(1, 1) with pre-sample value at the mean and pre-sample error 0.
    rng = np.random.default_rng(1)
    y = rng.normal(size=25) + 3.0
    mean, phi, theta, sigma = 3.2, 0.6, -0.3, 0.8
    errors, previous_y, previous_error = [], mean, 0.0
    for value in y:
        error = (value - mean) - phi * (previous_y - mean) - theta * previous_error
        errors.append(error)
        previous_y, previous_error = value, error
    expected = norm.logpdf(errors, 0.0, sigma).sum()
    d = ARMA(mean, jnp.array([phi]), jnp.array([theta]), sigma, num_steps=25,
             likelihood="conditional")
    np.testing.assert_allclose(d.log_prob(jnp.asarray(y)), expected, rtol=1e-12)


def test_samples_come_from_the_stationary_process(x64, rng_key):
    phi, theta, sigma = np.array([0.7, -0.2]), np.array([0.5]), 1.5
    d = ARMA(2.0, jnp.asarray(phi), jnp.asarray(theta), sigma, num_steps=6)
    draws = np.asarray(d.sample(rng_key, (40000,)))
    assert draws.shape == (40000, 6)
    gamma = arma_acovf(np.r_[1, -phi], np.r_[1, theta], nobs=6, sigma2=sigma**2)
    # Stationary from the first value on (no burn-in): the covariance is Toeplitz.
    np.testing.assert_allclose(np.cov(draws.T), toeplitz(gamma), atol=0.06 * gamma[0])
    np.testing.assert_allclose(draws.mean(0), 2.0, atol=0.04)


def test_prior_predictive_is_stationary_and_invertible(x64, rng_key):
    prior = Predictive(arma_exact_model, num_samples=50)(rng_key, order=(2, 1), num_steps=40,
                                                         mu_loc=0.0, mu_scale=10.0,
                                                         sigma_scale=2.5)
    assert prior["y"].shape == (50, 40)
    # Stationary and invertible by construction, whatever the prior draw.
    assert bool(jnp.all(stationary_ar(prior["phi"])))
    assert bool(jnp.all(invertible_ma(prior["theta"])))
    # (Posterior Predictive is exercised by the forecast tests.)


def _nile() -> np.ndarray:
    return np.loadtxt(str(NILE), delimiter=",", skiprows=1)[:, 1]


def test_maximum_likelihood_matches_statsmodels_on_the_nile(x64):
    y = _nile()
    assert y.shape == (100,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # statsmodels' default tolerances stop ~1e-3 short of the optimum on this flat
        # likelihood (mean ~ 900, variance ~ 2e4); tight L-BFGS settings converge.
        fitted = ARIMA(y, order=(1, 0, 1), trend="c").fit(
            method_kwargs={"maxiter": 5000, "pgtol": 1e-12, "factr": 1.0})

    # Ours: unconstrained (mean / 100, atanh PACF, log sigma), BFGS then Newton steps.
    def unpack(u):
        phi = pacf_to_coefficients(jnp.tanh(u[1:2]))
        theta = -pacf_to_coefficients(jnp.tanh(u[2:3]))
        return 100.0 * u[0], phi, theta, jnp.exp(u[3])

    def negative_loglik(u):
        return -arma_exact_loglik(jnp.asarray(y), *unpack(u))

    value_and_grad = jax.jit(jax.value_and_grad(negative_loglik))

    def hessian(u, step=1e-5):  # central differences of the exact gradient: no new compile
        columns = [np.asarray(value_and_grad(u + step * e)[1])
                   - np.asarray(value_and_grad(u - step * e)[1]) for e in np.eye(u.size)]
        H = np.column_stack(columns) / (2 * step)
        return 0.5 * (H + H.T)

    start = np.r_[y.mean() / 100.0, 0.0, 0.0, np.log(y.std())]
    result = scipy.optimize.minimize(
        lambda u: tuple(np.asarray(a) for a in value_and_grad(u)), start, jac=True,
        method="BFGS")
    u = result.x
    for _ in range(5):
        u = u - np.linalg.solve(hessian(u), np.asarray(value_and_grad(u)[1]))
    assert np.max(np.abs(value_and_grad(u)[1])) < 1e-6
    mu, phi, theta, sigma = unpack(u)
    ours = np.r_[mu, phi, theta, sigma**2]
    np.testing.assert_allclose(ours, fitted.params, rtol=1e-4)
    assert -float(negative_loglik(u)) >= fitted.llf - 1e-9


def simulate(rng_key, phi, theta, num_steps, mu=0.5, sigma=1.0):
    return ARMA(mu, jnp.asarray(phi), jnp.asarray(theta), sigma,
                num_steps=num_steps).sample(rng_key)


TRUTH = {"mu": 0.5, "phi": np.array([0.5, -0.3]), "theta": np.array([0.4]), "sigma": 1.0}


@pytest.fixture(scope="module")
def four_chain_fit():
    """One NUTS fit shared by the posterior checks below: ARMA(2, 1), T = 500, four chains
    from NumPyro's default starts (uniform in (-2, 2) on the unconstrained scale)."""
    key = jax.random.PRNGKey(20261125)
    with jax.enable_x64(True):
        y = simulate(jax.random.fold_in(key, 1), TRUTH["phi"], TRUTH["theta"], 500,
                     mu=TRUTH["mu"], sigma=TRUTH["sigma"])
        mcmc = MCMC(NUTS(arma_exact_model), num_warmup=300, num_samples=600, num_chains=4,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(jax.random.fold_in(key, 3), y, order=(2, 1), extra_fields=("diverging",))
        return mcmc


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_without_divergences(four_chain_fit):
    assert int(four_chain_fit.get_extra_fields()["diverging"].sum()) == 0
    samples = four_chain_fit.get_samples()
    for name, value in TRUTH.items():
        lower, upper = np.percentile(np.asarray(samples[name]), [5, 95], axis=0)
        assert np.all((lower < value) & (value < upper)), (name, lower, upper, value)


@pytest.mark.slow
def test_four_chains_from_default_init_agree(four_chain_fit):
    # The failure this prevents: unconstrained, 2 of 4 chains found the non-invertible
    # mode theta ~ -1.94, phi ~ (1.13, -0.52) (R-hat 1.74).
    samples = four_chain_fit.get_samples(group_by_chain=True)
    for name in ("mu", "phi", "theta", "sigma"):
        r_hat = np.asarray(split_gelman_rubin(samples[name]))
        assert np.all(r_hat <= 1.01), (name, r_hat)
    assert np.all(np.asarray(samples["theta"]) > -1.0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="likelihood must be"):
        ARMA(0.0, jnp.zeros(1), jnp.zeros(1), 1.0, num_steps=5, likelihood="css")
    with pytest.raises(ValueError, match="num_steps"):
        ARMA(0.0, jnp.zeros(1), jnp.zeros(1), 1.0, num_steps=0)
    with pytest.raises(ValueError, match="give y or num_steps"):
        arma_exact_model(order=(1, 1))
    with pytest.raises(ValueError, match="cannot skip missing values"):
        ARMA(0.0, jnp.zeros(1), jnp.zeros(1), 1.0, num_steps=2,
             likelihood="conditional").log_prob(jnp.array([0.0, jnp.nan]))
    with pytest.raises(ValueError, match="event shape"):
        ARMA(0.0, jnp.zeros(1), jnp.zeros(1), 1.0, num_steps=5).log_prob(jnp.zeros(4))


def test_conditional_likelihood_runs_under_nuts(x64, rng_key):
    # The missing-value check must not turn the observed series into a traced bool.
    y = simulate(rng_key, [0.5], [0.3], 80)
    mcmc = MCMC(NUTS(arma_exact_model), num_warmup=30, num_samples=10, progress_bar=False)
    mcmc.run(rng_key, y, order=(1, 1), likelihood="conditional")
    assert mcmc.get_samples()["phi"].shape == (10, 1)


@pytest.mark.parametrize("case", ["arma-gaps", "arma-complete", "arima-gaps", "arima-complete",
                                  "seasonal-exog-gaps"])
def test_pointwise_terms_from_the_one_step_laws_equal_the_routes_terms(x64, rng_key, case):
    """With ``one_step_ahead`` the model scores each step from the filter's one-step laws
    (one filter pass for both sites) instead of the likelihood route's own pointwise pass:
    the two must agree at every step, gaps and the diffuse start included."""
    rng = np.random.default_rng(7)
    T = 60
    y = np.cumsum(rng.normal(size=T)) if "arima" in case else rng.normal(size=T)
    if "gaps" in case:
        y[[0, 17, 18, 40, T - 1]] = np.nan
    options = {"order": (1, 1)}
    if "arima" in case:
        options["difference"] = 1
    if case == "seasonal-exog-gaps":
        options.update(seasonal_order=(1, 0, 0, 4),
                       exog=rng.normal(size=(T, 2)), beta_scale=1.0)
        y = y + options["exog"] @ np.array([0.5, -1.0])
    prior = Predictive(arma_exact_model, num_samples=4)(rng_key, y=jnp.asarray(y), **options)
    samples = {k: v for k, v in prior.items()
               if k in ("mu", "phi", "theta", "sigma", "seasonal_phi", "beta")}

    def pointwise(one_step_ahead):
        return np.asarray(Predictive(arma_exact_model, posterior_samples=samples,
                                     return_sites=["pointwise_log_likelihood"])(
            rng_key, y=jnp.asarray(y), one_step_ahead=one_step_ahead,
            **options)["pointwise_log_likelihood"])

    by_route, by_moments = pointwise(False), pointwise(True)
    assert by_route.shape == (4, T) and np.all(np.isfinite(by_moments))
    scored = np.isfinite(y)
    scored[: 1 if "arima" in case else 0] = False
    assert np.all(by_moments[:, ~scored] == 0.0) and np.all(by_moments[:, scored] != 0.0)
    np.testing.assert_allclose(by_moments, by_route, rtol=0, atol=1e-8)


def test_draws_vectorised_over_the_posterior_equal_the_default_loop(x64, rng_key):
    """The fit command vectorises the draws after sampling where the family says so
    (ARMA: the exact likelihood with differencing and gaps); NumPyro's default runs them
    one after another. Same keys, so the same numbers to rounding."""
    from models.arma.family import FAMILY

    rng = np.random.default_rng(4)
    y = np.cumsum(rng.normal(size=50))
    y[[6, 30, 31]] = np.nan
    options = {"order": (1, 1), "difference": 1}
    assert FAMILY.vectorised_draws(y, "exact", options)
    assert not FAMILY.vectorised_draws(y, "exact", {"order": (1, 1), "difference": 0})
    assert not FAMILY.vectorised_draws(np.nan_to_num(y), "exact", options)
    prior = Predictive(arma_exact_model, num_samples=6)(rng_key, y=jnp.asarray(y), **options)
    samples = {k: prior[k].reshape(2, 3, *prior[k].shape[1:])
               for k in ("mu", "phi", "theta", "sigma")}
    sites = ["y_one_step", "pointwise_log_likelihood", "y_forecast"]

    def draws(parallel):
        return Predictive(arma_exact_model, posterior_samples=samples, batch_ndims=2,
                          return_sites=sites, parallel=parallel)(
            rng_key, y=jnp.asarray(y), one_step_ahead=True, forecast_horizon=5, **options)

    looped, vectorised = draws(False), draws(True)
    for site in sites:
        assert looped[site].shape[:2] == (2, 3)
        np.testing.assert_allclose(vectorised[site], looped[site], rtol=1e-10, atol=1e-10)
