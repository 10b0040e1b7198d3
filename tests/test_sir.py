"""The SIR family's model: its log density against one written from SciPy (DOP853 for the
ODE, ``scipy.stats`` for the negative binomial, truncated normal and exponential), the RK4
step's error against the data's noise, the population as data, and bad arguments.

float64 (``x64``) where values are compared.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy import stats
from scipy.integrate import solve_ivp

from models.sir import SUBSTEPS, series_problem, sir_model, sir_rhs, sir_solution
from models.sir.family import FAMILY

IN_BED = np.array([3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4])
N = 763.0


def theta(beta: float, gamma: float, phi_inv: float) -> dict[str, jax.Array]:
    """The model's one latent site, (beta, gamma, phi_inv)."""
    return {"theta": jnp.array([beta, gamma, phi_inv])}


def dop853_prevalence(beta: float, gamma: float, population: float, days: int,
                      initial=(1.0, 0.0)) -> np.ndarray:
    """I(t) at t = 1..days by SciPy's DOP853 at rtol = atol = 1e-12."""
    i0, r0 = initial

    def rhs(t, y):
        s, i, _ = y
        infections = beta * s * i / population
        return [-infections, infections - gamma * i, gamma * i]

    solution = solve_ivp(rhs, (0.0, days), [population - i0 - r0, i0, r0], method="DOP853",
                         rtol=1e-12, atol=1e-12, t_eval=np.arange(1.0, days + 1))
    assert solution.success
    return solution.y[1]


def scipy_log_joint(beta, gamma, phi_inv, y, population, initial=(1.0, 0.0)) -> float:
    """The case study's density, written from SciPy: truncated-normal priors on beta and
    gamma, Exponential(5) on phi_inv, NegBin2(I(t), 1/phi_inv) for each day."""
    mean = dop853_prevalence(beta, gamma, population, len(y), initial)
    phi = 1.0 / phi_inv
    log_prior = (stats.truncnorm.logpdf(beta, (0 - 2.0) / 1.0, np.inf, loc=2.0, scale=1.0)
                 + stats.truncnorm.logpdf(gamma, (0 - 0.4) / 0.5, np.inf, loc=0.4, scale=0.5)
                 + stats.expon.logpdf(phi_inv, scale=1 / 5.0))
    # NegBin2(mean, phi) is scipy's nbinom(n = phi, p = phi / (phi + mean))
    return float(log_prior + stats.nbinom.logpmf(y, phi, phi / (phi + mean)).sum())


@pytest.mark.parametrize(
    ("beta", "gamma", "phi_inv", "population", "initial"),
    [(1.73, 0.54, 0.14, N, (1.0, 0.0)), (2.4, 0.9, 0.05, N, (1.0, 0.0)),
     (1.2, 0.3, 0.5, 2000.0, (3.0, 100.0))],
)
def test_log_density_equals_scipy_oracle(x64, beta, gamma, phi_inv, population, initial):
    y = IN_BED if population == N else np.minimum(IN_BED, 1500)
    params = theta(beta, gamma, phi_inv)
    kwargs = {"population": population, "initial_infected": initial[0],
              "initial_recovered": initial[1], "substeps": 64}
    ours = jax.jit(lambda p: log_density(sir_model, (jnp.asarray(y),), kwargs, p)[0])(params)
    expected = scipy_log_joint(beta, gamma, phi_inv, y, population, initial)
    np.testing.assert_allclose(float(ours), expected, rtol=1e-7)


def test_default_step_error_is_far_below_the_noise(x64):
    """At the default 4 RK4 steps a day, over (beta, gamma) spanning the posterior (and
    beyond: +-4 posterior sd), the largest ODE error of I(t) is below 1 % of the smallest
    negative-binomial noise sd on any day (phi_inv = 0.02, narrower than the posterior
    allows; measured 2.6e-3 at 4 steps, 1.9e-4 at 8, 3.1e-2 at 2)."""
    phi_inv = 0.02
    solve = jax.jit(lambda b, g: sir_solution(b, g, N, jnp.array([N - 1, 1.0, 0.0]), 14,
                                              substeps=SUBSTEPS))
    worst = 0.0
    for beta in (1.53, 1.73, 1.93):
        for gamma in (0.36, 0.54, 0.72):
            ref = dop853_prevalence(beta, gamma, N, 14)
            ours = np.asarray(solve(beta, gamma))[1:, 1]
            noise_sd = np.sqrt(ref + phi_inv * ref**2)
            worst = max(worst, float(np.max(np.abs(ours - ref) / noise_sd)))
    assert worst < 1e-2, worst


def test_sir_rhs_is_the_kermack_mckendrick_system():
    rate = np.asarray(sir_rhs(0.0, jnp.array([600.0, 100.0, 63.0]), (1.5, 0.5, N)))
    infections = 1.5 * 600 * 100 / N
    np.testing.assert_allclose(rate, [-infections, infections - 50.0, 50.0], rtol=1e-6)


def test_population_is_data_not_a_constant(x64):
    """The same counts scored with N = 763 and N = 2000 give different densities, each
    equal to SciPy's with that N (a model with N hard-coded would score both alike)."""
    params = theta(1.73, 0.54, 0.14)
    values = []
    for population in (763.0, 2000.0):
        ours = jax.jit(lambda p, n=population: log_density(
            sir_model, (jnp.asarray(IN_BED),), {"population": n, "substeps": 64}, p)[0])(params)
        np.testing.assert_allclose(float(ours),
                                   scipy_log_joint(1.73, 0.54, 0.14, IN_BED, population),
                                   rtol=1e-7)
        values.append(float(ours))
    assert abs(values[0] - values[1]) > 10


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [
        (IN_BED, {}, r"population \(N\) must be given"),
        (IN_BED, {"population": 200}, r"y\[4\]: 225 people in bed exceed the population N = 200"),
        (np.array([3.0, -1.0]), {"population": N}, r"y\[1\]: -1 is not a count"),
        (np.array([3.0, 2.5]), {"population": N}, r"y\[1\]: 2.5 is not a count"),
        (IN_BED, {"population": N, "initial_infected": 0}, "initial_infected must be positive"),
        (IN_BED, {"population": 10, "initial_infected": 8, "initial_recovered": 3},
         "exceeds the population N = 10"),
        (None, {"population": N}, "give num_steps >= 1 to simulate"),
    ],
)
def test_bad_arguments_are_named(y, kwargs, message):
    params = theta(1.7, 0.5, 0.1)
    with pytest.raises(ValueError, match=message):
        log_density(sir_model, (None if y is None else jnp.asarray(y),), kwargs, params)


def test_series_problem_finds_the_first_bad_value():
    assert series_problem(IN_BED, N) is None
    assert series_problem(np.array([1.0, np.nan]), N)[0] == 1
    assert series_problem(IN_BED, None) == (
        None, "the population size N is not known: give --population N")


def test_family_check_series_reads_the_options():
    options = {"population": 763, "initial_infected": 1, "initial_recovered": 0}
    assert FAMILY.check_series(IN_BED.astype(float), options) is None
    assert FAMILY.check_series(IN_BED.astype(float), options | {"initial_recovered": 763}) == (
        None, "initial_infected + initial_recovered = 764 exceeds the population N = 763")


def test_forecast_continues_the_same_solution(x64):
    """prevalence_forecast is the ODE solution on days T+1..T+h, the continuation of
    prevalence (not a restart)."""
    from numpyro import handlers

    # y_forecast substituted too: its law is checked, no draw is needed
    substituted = handlers.substitute(sir_model, {**theta(1.73, 0.54, 0.14),
                                                  "y_forecast": jnp.zeros(4)})
    trace = handlers.trace(handlers.seed(substituted, jax.random.PRNGKey(0))).get_trace(
        jnp.asarray(IN_BED), population=N, forecast_horizon=4, substeps=64)
    whole = dop853_prevalence(1.73, 0.54, N, 18)
    np.testing.assert_allclose(np.asarray(trace["prevalence"]["value"]), whole[:14], rtol=1e-8)
    np.testing.assert_allclose(np.asarray(trace["prevalence_forecast"]["value"]), whole[14:],
                               rtol=1e-8)
    forecast_law = trace["y_forecast"]["fn"]
    np.testing.assert_allclose(np.asarray(forecast_law.mean), whole[14:], rtol=1e-8)
    np.testing.assert_allclose(np.asarray(forecast_law.concentration), 1 / 0.14, rtol=1e-12)


def test_negative_binomial_counts_equals_scipy_and_numpyro(x64):
    """The epidemic families' negative binomial (log-gamma terms) against SciPy's pmf, and
    its gradient against the closed form and NumPyro's ``NegativeBinomial2`` (betaln),
    over counts 0..500,
    means 0.01..1000 and concentrations 0.5..1e6 (the Poisson limit)."""
    import numpyro.distributions as dist

    from models.sir.counts import NegativeBinomial2Counts

    counts = np.array([0.0, 1, 3, 14, 76, 298, 500])
    # every (concentration, mean) pair at once: shape (4, 4, 7)
    concentration = np.array([0.5, 7.5, 1e3, 1e6])[:, None, None]
    mean = np.array([0.01, 3.0, 250.0, 1000.0])[None, :, None]
    ours = np.asarray(NegativeBinomial2Counts(mean + 0 * counts, concentration + 0 * counts)
                      .log_prob(counts + 0 * mean * concentration))
    expected = stats.nbinom(concentration, concentration / (concentration + mean)).logpmf(counts)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-8)

    def total(mean, concentration):
        return jnp.sum(NegativeBinomial2Counts(mean, concentration).log_prob(counts))

    from scipy.special import digamma

    gradient = jax.jit(jax.grad(total, (0, 1)))
    numpyro_gradient = jax.jit(jax.grad(lambda m, c: jnp.sum(dist.NegativeBinomial2(m, c)
                                                             .log_prob(counts)), (0, 1)))
    for mean, concentration in ((3.0, 7.5), (250.0, 0.5), (40.0, 1e4)):
        ours = gradient(mean, concentration)
        # d/d mean and d/d concentration of the log pmf, in closed form (SciPy's digamma)
        by_mean = np.sum(counts / mean - (concentration + counts) / (concentration + mean))
        by_concentration = np.sum(digamma(counts + concentration) - digamma(concentration)
                                  + np.log(concentration / (concentration + mean))
                                  + (mean - counts) / (concentration + mean))
        np.testing.assert_allclose(np.asarray(ours), [by_mean, by_concentration], rtol=1e-7)
        # and NumPyro's own (betaln) agrees to its rounding
        np.testing.assert_allclose(np.asarray(ours),
                                   np.asarray(numpyro_gradient(mean, concentration)), rtol=1e-6)


def test_case_study_priors_equal_numpyro_and_scipy_on_a_grid(x64):
    """The one vector prior site: its log density equals the sum of NumPyro's
    TruncatedNormal(2, 1, low=0), TruncatedNormal(0.4, 0.5, low=0) and Exponential(5), and
    SciPy's truncnorm and expon, to 1e-12 on a grid that reaches far into the tails."""
    import numpyro.distributions as dist

    from models.sir.priors import CaseStudyPriors

    axis = np.array([1e-6, 0.01, 0.3, 1.0, 1.73, 2.5, 6.0, 12.0])
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    ours = np.asarray(CaseStudyPriors().log_prob(jnp.asarray(grid)))
    numpyro_sum = np.asarray(dist.TruncatedNormal(2.0, 1.0, low=0.0).log_prob(grid[:, 0])
                             + dist.TruncatedNormal(0.4, 0.5, low=0.0).log_prob(grid[:, 1])
                             + dist.Exponential(5.0).log_prob(grid[:, 2]))
    scipy_sum = (stats.truncnorm.logpdf(grid[:, 0], -2.0, np.inf, loc=2.0, scale=1.0)
                 + stats.truncnorm.logpdf(grid[:, 1], -0.8, np.inf, loc=0.4, scale=0.5)
                 + stats.expon.logpdf(grid[:, 2], scale=0.2))
    np.testing.assert_allclose(ours, numpyro_sum, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours, scipy_sum, rtol=1e-12, atol=1e-12)
    # other hyper-parameters: the normaliser is not the default's
    other = CaseStudyPriors(beta_loc=-1.0, beta_scale=0.3, gamma_loc=3.0, gamma_scale=2.0,
                            phi_inv_rate=0.5)
    np.testing.assert_allclose(
        np.asarray(other.log_prob(jnp.asarray(grid))),
        stats.truncnorm.logpdf(grid[:, 0], 1.0 / 0.3, np.inf, loc=-1.0, scale=0.3)
        + stats.truncnorm.logpdf(grid[:, 1], -1.5, np.inf, loc=3.0, scale=2.0)
        + stats.expon.logpdf(grid[:, 2], scale=2.0), rtol=1e-12, atol=1e-12)
    # its draws follow the three laws (means of 20,000 draws within 5 standard errors)
    draws = np.asarray(CaseStudyPriors().sample(jax.random.PRNGKey(0), (20_000,)))
    assert draws.shape == (20_000, 3) and np.all(draws > 0)
    expected = [stats.truncnorm.mean(-2.0, np.inf, loc=2.0, scale=1.0),
                stats.truncnorm.mean(-0.8, np.inf, loc=0.4, scale=0.5), 0.2]
    assert np.all(np.abs(draws.mean(0) - expected) < 5 * draws.std(0) / np.sqrt(20_000))
    with pytest.raises(ValueError, match="beta_scale must be > 0"):
        CaseStudyPriors(beta_scale=0.0)


def test_observed_counts_negative_binomial_equals_scipy_and_the_log_gamma_form(x64):
    """The observed site's law scores concrete counts by sums of logs: equal to SciPy's pmf
    and to the log-gamma form (NegativeBinomial2Counts) where that is accurate, with the
    same gradient; in the Poisson limit (concentration 1e19, where the log-gamma form is off
    by thousands of nats) it still equals the Poisson pmf. A traced count falls back to the
    log-gamma form."""
    from scipy.special import digamma

    from models.sir.counts import NegativeBinomial2Counts, NegativeBinomial2ObservedCounts

    counts = np.array([0.0, 1, 3, 14, 76, 298, 500])

    def brute_force(count: float, mean: float, concentration: float) -> np.longdouble:
        """The pmf's log in extended precision: the product (c + k) / (k + 1) term by term."""
        c, m = np.longdouble(concentration), np.longdouble(mean)
        terms = [np.log((c + k) / (k + 1)) for k in range(int(count))]
        return np.sum(terms, dtype=np.longdouble) - c * np.log1p(m / c) - count * np.log1p(c / m)

    for concentration in (0.5, 7.5, 1e3, 1e6, 1e19):
        for mean in (0.01, 3.0, 250.0, 1000.0):
            means = mean * np.linspace(0.5, 1.5, counts.size)
            ours = np.asarray(NegativeBinomial2ObservedCounts(means, concentration)
                              .log_prob(counts))
            exact = np.array([brute_force(y, m, concentration)
                              for y, m in zip(counts, means, strict=True)])
            np.testing.assert_allclose(ours, exact.astype(float), rtol=1e-12, atol=1e-10)
            # SciPy's own rounding grows with the concentration (1e-9 nats at 1e6)
            if concentration <= 1e6:
                expected = stats.nbinom(concentration,
                                        concentration / (concentration + means)).logpmf(counts)
                np.testing.assert_allclose(ours, expected, rtol=1e-11 if concentration < 1e6
                                           else 1e-8)
            if concentration < 1e6:
                np.testing.assert_allclose(
                    ours, np.asarray(NegativeBinomial2Counts(means, concentration)
                                     .log_prob(counts)), rtol=1e-12, atol=1e-10)
    # a concentration per count takes the other branch
    per_count = np.linspace(0.5, 50.0, counts.size)
    np.testing.assert_allclose(
        np.asarray(NegativeBinomial2ObservedCounts(40.0, per_count).log_prob(counts)),
        stats.nbinom(per_count, per_count / (per_count + 40.0)).logpmf(counts), rtol=1e-12)
    poisson_limit = np.asarray(NegativeBinomial2ObservedCounts(250.0, 1e19).log_prob(counts))
    np.testing.assert_allclose(poisson_limit, stats.poisson(250.0).logpmf(counts), rtol=1e-12,
                               atol=1e-10)

    def total(mean, concentration):
        return jnp.sum(NegativeBinomial2ObservedCounts(mean, concentration).log_prob(counts))

    gradient = jax.jit(jax.grad(total, (0, 1)))
    for mean, concentration in ((3.0, 7.5), (250.0, 0.5), (40.0, 1e4)):
        by_mean = np.sum(counts / mean - (concentration + counts) / (concentration + mean))
        by_concentration = np.sum(digamma(counts + concentration) - digamma(concentration)
                                  + np.log(concentration / (concentration + mean))
                                  + (mean - counts) / (concentration + mean))
        np.testing.assert_allclose(np.asarray(gradient(mean, concentration)),
                                   [by_mean, by_concentration], rtol=1e-9)
    # traced counts: the log-gamma form, the same numbers
    traced = jax.jit(lambda c: NegativeBinomial2ObservedCounts(250.0, 7.5).log_prob(c))(counts)
    np.testing.assert_allclose(np.asarray(traced), stats.nbinom(7.5, 7.5 / 257.5).logpmf(counts),
                               rtol=1e-9)


def old_three_site_model(y, population, substeps):
    """The model as it was written before its priors became one vector site: three scalar
    sites with NumPyro's TruncatedNormal and Exponential, the log-gamma negative binomial."""
    import numpyro
    import numpyro.distributions as dist

    from models.sir.counts import NegativeBinomial2Counts

    beta = numpyro.sample("beta", dist.TruncatedNormal(2.0, 1.0, low=0.0))
    gamma = numpyro.sample("gamma", dist.TruncatedNormal(0.4, 0.5, low=0.0))
    phi_inv = numpyro.sample("phi_inv", dist.Exponential(5.0))
    states = sir_solution(beta, gamma, population, jnp.array([population - 1.0, 1.0, 0.0]),
                          y.shape[0], substeps=substeps)
    numpyro.sample("y", NegativeBinomial2Counts(jnp.maximum(states[1:, 1], 1e-6),
                                                1.0 / phi_inv), obs=y)


def test_potential_energy_equals_the_three_site_model_at_random_points(x64):
    """What NUTS sees: the potential energy on the unconstrained scale (log beta, log gamma,
    log phi_inv), Jacobian included, and its gradient, equal to the three-site model's to
    1e-10 at 40 random points (the same density, the same transforms)."""
    from numpyro.infer.util import potential_energy

    kwargs = {"y": jnp.asarray(IN_BED, dtype=float), "population": N, "substeps": SUBSTEPS}
    new_value_and_grad = jax.jit(jax.value_and_grad(
        lambda u: potential_energy(sir_model, (), kwargs, {"theta": u})))
    old_value_and_grad = jax.jit(jax.value_and_grad(
        lambda u: potential_energy(old_three_site_model, (), kwargs,
                                   {"beta": u[0], "gamma": u[1], "phi_inv": u[2]})))
    for point in np.random.default_rng(1).uniform(-3.0, 2.0, size=(40, 3)):
        value, gradient = new_value_and_grad(point)
        old_value, old_gradient = old_value_and_grad(point)
        np.testing.assert_allclose(float(value), float(old_value), rtol=1e-10)
        np.testing.assert_allclose(np.asarray(gradient), np.asarray(old_gradient), rtol=1e-10,
                                   atol=1e-10)


def test_solution_of_two_equations_equals_rk4_on_all_three(x64):
    """sir_solution integrates (S, I) alone and sets R = N - S - I: the same states as
    patterns.ode.rk4_solve on the three SIR equations to 1e-12 (relative to N), and the
    same gradient in (beta, gamma), over a 3 x 3 grid of rates and a non-default start."""
    from patterns.ode import rk4_solve

    start = jnp.array([1800.0, 3.0, 197.0])

    def three(beta, gamma):
        return rk4_solve(sir_rhs, start, jnp.arange(15.0), (beta, gamma, 2000.0), substeps=4)

    def two(beta, gamma):
        return sir_solution(beta, gamma, 2000.0, start, 14, substeps=4)

    both = jax.jit(jax.vmap(lambda b, g: (two(b, g), three(b, g),
                                          jax.jacfwd(two, (0, 1))(b, g),
                                          jax.jacrev(three, (0, 1))(b, g))))
    beta, gamma = (np.ravel(a) for a in np.meshgrid([0.5, 1.73, 3.0], [0.2, 0.54, 1.5]))
    ours, reference, our_jacobian, reference_jacobian = both(beta, gamma)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(reference), rtol=0,
                               atol=2000e-12)
    for a, b in zip(our_jacobian, reference_jacobian, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-8)
