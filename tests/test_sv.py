"""Stochastic volatility: the non-centred model's density is the centred one after the
change of variables (the whitened non-centring and the classic one), the whitening is the
factor it claims to be, the stationary AR(1) latent and its whitened image sample what
they score, and on series simulated from known parameters (phi = 0.95) the default
posterior covers the truth without divergences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS, Predictive
from numpyro.infer.util import log_density

from models.registry import FAMILIES
from models.volatility import (
    StationaryAR1,
    WhitenedAR1,
    ar1_from_shocks,
    ar1_from_white,
    ar1_to_white,
    ar1_whitening,
    sv_centred_model,
    sv_model,
)


@pytest.mark.parametrize("innovations", ["normal", "t"])
def test_non_centred_density_is_the_centred_one_after_the_change_of_variables(
        x64, rng_key, innovations):
    """log p_nc(theta, z) = log p_c(theta, h(z)) + log |dh/dz|, the log-determinant taken
    from the dense Jacobian (jax.jacfwd, slogdet), at three random points, each with its
    own ``information`` (0 is the classic non-centring: there also the closed form
    T log sigma - log(1 - phi^2) / 2 and h(z) = ar1_from_shocks(z)), for both sampled
    scales: sigma itself (at the classic point, as the variant ``classic`` samples it), and
    the stationary sd s = sigma / sqrt(1 - phi^2) (the default, at the other two), whose
    density adds log |d sigma / d s| (taken by jax.grad) to the centred model's."""
    T = 40
    keys = jax.random.split(rng_key, 4)
    y = jax.random.normal(keys[0], (T,)) * 0.8
    for k, information in enumerate((0.0, 0.5, 2.0)):
        point = jax.random.uniform(jax.random.fold_in(keys[1], k), (4,))
        mu, phi, sigma, nu = -1 + point[0], 1.9 * point[1] - 0.95, 0.1 + point[2], 3 + 20 * point[3]
        z = jax.random.normal(jax.random.fold_in(keys[2], k), (T,))
        common = {"mu": mu, "phi": phi}
        if innovations == "t":
            common["nu"] = nu
        h = ar1_from_white(z, mu, phi, sigma, information)
        centred, _ = log_density(sv_centred_model, (y,), {"innovations": innovations},
                                 {**common, "sigma": sigma, "h": h})
        jacobian = jnp.linalg.slogdet(jax.jacfwd(ar1_from_white)(
            z, mu, phi, sigma, information))[1]
        stationary_sd = sigma / jnp.sqrt(1 - phi**2)
        scale_jacobian = jnp.log(jax.grad(lambda s, p: s * jnp.sqrt(1 - p**2))(stationary_sd, phi))
        for scale, params, extra in ((("innovation", {"sigma": sigma}, 0.0),) if k == 0 else
                                     (("stationary", {"stationary_sd": stationary_sd},
                                       scale_jacobian),)):
            kwargs = {"innovations": innovations, "information": information, "scale": scale}
            non_centred, trace = log_density(sv_model, (y,), kwargs,
                                             {**common, **params, "h_white": z})
            np.testing.assert_allclose(trace["sigma"]["value"], sigma, rtol=1e-14)
            np.testing.assert_allclose(trace["h"]["value"], h, rtol=1e-13, atol=1e-13)
            assert abs(float(non_centred - (centred + jacobian + extra))) < 1e-10, scale
        if information == 0.0:
            closed_form = T * jnp.log(sigma) - 0.5 * jnp.log1p(-phi**2)
            assert abs(float(jacobian - closed_form)) < 1e-10
            np.testing.assert_allclose(h, ar1_from_shocks(z, mu, phi, sigma), rtol=1e-13)


def _ar1_precision(phi: float, sigma: float, T: int) -> np.ndarray:
    """Q / sigma^2, the stationary AR(1) precision, from its covariance (loops)."""
    var = sigma**2 / (1 - phi**2)
    cov = np.array([[var * phi ** abs(s - t) for t in range(T)] for s in range(T)])
    return np.linalg.inv(cov)


@pytest.mark.parametrize(("phi", "sigma", "information"),
                         [(0.95, 0.25, 0.5), (0.99, 0.1, 0.5), (-0.6, 1.2, 2.0), (0.9, 0.3, 0.0)])
def test_the_whitening_factors_the_prior_plus_information_precision(x64, phi, sigma,
                                                                   information):
    """A = d white / d h (dense, jax.jacfwd of ar1_to_white) is lower bidiagonal with
    A^T A = Q / sigma^2 + c I (Q from the inverse of the AR(1) covariance) in every entry
    but the last diagonal one; ar1_from_white inverts ar1_to_white; and the shift kappa mu
    makes the Gaussian-approximation posterior mean of white independent of mu away from
    the ends (d/dmu A (E[h | pseudo-data, mu] - kappa mu) = 0)."""
    T = 400
    target = _ar1_precision(phi, sigma, T) + information * np.eye(T)
    h = jnp.asarray(np.random.default_rng(0).normal(size=T))
    A = np.asarray(jax.jacfwd(lambda v: ar1_to_white(v, 0.3, phi, sigma, information))(h))
    assert np.all(np.triu(A, 1) == 0) and np.all(np.tril(A, -2) == 0)
    implied = A.T @ A
    mismatch = np.abs(implied - target) / np.abs(target).max()
    mismatch[-1, -1] = 0.0
    assert mismatch.max() < 1e-12, mismatch.max()
    white = ar1_to_white(h, 0.3, phi, sigma, information)
    np.testing.assert_allclose(ar1_from_white(white, 0.3, phi, sigma, information), h,
                               rtol=1e-12, atol=1e-12)
    kappa = float(ar1_whitening(phi, sigma, information).kappa)
    prior_part = _ar1_precision(phi, sigma, T) @ np.ones(T)  # d/dmu of (Q/sigma^2) mu 1
    slope = A @ (np.linalg.solve(target, prior_part) - kappa)
    assert np.abs(slope[190:210]).max() < 1e-5, np.abs(slope[190:210]).max()


def test_whitened_ar1_samples_and_scores_the_gaussian_it_is(x64, rng_key):
    """WhitenedAR1 is N(A (1 - kappa) mu 1, A Sigma A^T) for the AR(1) covariance Sigma:
    log_prob equals that dense Gaussian's log-density (jax.scipy) to 1e-10, and 20000
    samples have its mean and covariance; with information 0 it is N(0, I)."""
    mu, phi, sigma, information, T = -1.0, 0.9, 0.4, 0.5, 5
    d = WhitenedAR1(mu, phi, sigma, information, num_steps=T)
    A = np.asarray(jax.jacfwd(lambda v: ar1_to_white(v, mu, phi, sigma, information))(
        jnp.zeros(T)))
    cov_h = np.linalg.inv(_ar1_precision(phi, sigma, T))
    kappa = float(ar1_whitening(phi, sigma, information).kappa)
    mean, cov = A @ np.full(T, (1 - kappa) * mu), A @ cov_h @ A.T
    z = d.sample(rng_key, (20000,))
    oracle = jax.vmap(lambda v: jax.scipy.stats.multivariate_normal.logpdf(v, mean, cov))(
        z[:5])
    np.testing.assert_allclose(d.log_prob(z[:5]), oracle, rtol=0, atol=1e-10)
    assert np.abs(np.mean(z, 0) - mean).max() < 0.03
    assert np.abs(np.cov(z.T) - cov).max() < 0.03
    classic = WhitenedAR1(mu, phi, sigma, 0.0, num_steps=T)
    np.testing.assert_allclose(classic.log_prob(z[:5]),
                               jax.scipy.stats.norm.logpdf(z[:5]).sum(-1), atol=1e-12)


def test_whitened_density_has_no_rounding_noise_as_sigma_vanishes(x64):
    """A warm-up chain can visit sigma = 1e-16 (measured: log sigma = -37 in one of four
    chains, stuck there with every transition divergent while the density divided by
    sigma). As sigma -> 0 the whitening tends to the classic one, whose latent is N(0, I):
    the log-density and its gradient in (white, log sigma) must tend to that limit, not to
    noise."""
    z = jax.random.normal(jax.random.PRNGKey(3), (50,))

    def log_p(white, log_sigma):
        return WhitenedAR1(-1.0, 0.7, jnp.exp(log_sigma), 0.5, num_steps=50).log_prob(white)

    limit = float(jax.scipy.stats.norm.logpdf(z).sum())
    for log_sigma in (-37.0, -300.0):
        value, (grad_z, grad_sigma) = jax.value_and_grad(log_p, argnums=(0, 1))(z, log_sigma)
        assert abs(float(value) - limit) < 1e-9, (log_sigma, float(value) - limit)
        np.testing.assert_allclose(grad_z, -z, atol=1e-9)
        assert abs(float(grad_sigma)) < 1e-9


def test_stationary_ar1_samples_what_it_scores(x64, rng_key):
    """Sampled paths have the stationary variance sigma^2 / (1 - phi^2) at every t and lag-1
    correlation phi (20000 paths); log_prob is the product of its conditionals (a loop)."""
    mu, phi, sigma = 0.5, 0.8, 0.3
    d = StationaryAR1(mu, phi, sigma, num_steps=6)
    h = np.asarray(d.sample(rng_key, (20000,)))
    var = sigma**2 / (1 - phi**2)
    assert np.all(np.abs(h.var(0) / var - 1) < 0.05), h.var(0) / var
    lag1 = np.mean((h[:, 1:] - mu) * (h[:, :-1] - mu), axis=0) / var
    assert np.all(np.abs(lag1 - phi) < 0.03), lag1
    path = h[0]
    loop = -0.5 * np.log(2 * np.pi * var) - 0.5 * (path[0] - mu) ** 2 / var
    for t in range(1, 6):
        m = mu + phi * (path[t - 1] - mu)
        loop += -0.5 * np.log(2 * np.pi * sigma**2) - 0.5 * (path[t] - m) ** 2 / sigma**2
    assert abs(float(d.log_prob(path)) - loop) < 1e-12


@pytest.mark.parametrize("model", [sv_model, sv_centred_model])
def test_one_latent_pass_per_gradient(model):
    """The log density and its gradient (what NUTS's potential energy is made of) run the
    latent recurrence once forwards and once backwards: two scans in the jaxpr (scoring
    h_white and computing h apart took four), and the centred model none."""
    y = jnp.linspace(-1.0, 1.0, 30)
    params = {"mu": -1.0, "phi": 0.9, "stationary_sd" if model is sv_model else "sigma": 0.3,
              ("h_white" if model is sv_model else "h"): jnp.zeros(30)}
    jaxpr = jax.make_jaxpr(jax.value_and_grad(
        lambda p: log_density(model, (y,), {}, p)[0]))(params)
    assert str(jaxpr).count("scan[") == (2 if model is sv_model else 0)


def test_forecast_sites_and_bad_input(rng_key):
    y = jnp.asarray(np.loadtxt(FAMILIES["sv"].default_data.path, delimiter=",",
                               skiprows=1)[:50, 1])
    draws = Predictive(sv_model, num_samples=3)(rng_key, y, forecast_horizon=4)
    assert draws["volatility"].shape == (3, 50) and draws["y_forecast"].shape == (3, 4)
    assert draws["volatility_forecast"].shape == (3, 4)
    np.testing.assert_allclose(draws["volatility"], jnp.exp(draws["h"] / 2), rtol=1e-6)
    with pytest.raises(ValueError, match="innovations"):
        sv_model(y, innovations="cauchy")
    with pytest.raises(ValueError, match="num_steps"):
        StationaryAR1(0.0, 0.5, 1.0, num_steps=0)
    with pytest.raises(ValueError, match="information must be a number >= 0, got -0.5"):
        sv_model(y, information=-0.5)


TRUTH = {"mu": -1.0, "phi": 0.95, "sigma": 0.25}


def _simulated(seed: int, num_steps: int) -> jax.Array:
    key_h, key_y = jax.random.split(jax.random.PRNGKey(seed))
    h = ar1_from_shocks(jax.random.normal(key_h, (num_steps,)), TRUTH["mu"], TRUTH["phi"],
                        TRUTH["sigma"])
    return jnp.exp(h / 2) * jax.random.normal(key_y, (num_steps,))


@pytest.fixture(scope="module")
def recovery():
    """Default fits (the default variant, the fit command's starting points and NUTS
    settings: target acceptance 0.8, 1000 warm-up) of three series of T = 300 simulated
    at TRUTH: 2 chains x 300 draws each."""
    family = FAMILIES["sv"]
    fits = []
    with jax.enable_x64(True):
        for seed in (1, 2, 3):
            mcmc = MCMC(NUTS(family.variants["normal"].model,
                             init_strategy=family.init_strategy()),
                        num_warmup=1000, num_samples=300, num_chains=2,
                        chain_method="vectorized", progress_bar=False,
                        jit_model_args=True)  # one program for the three series
            mcmc.run(jax.random.PRNGKey(100 + seed), y=_simulated(seed, 300),
                     extra_fields=("diverging",))
            fits.append(mcmc)
    return fits


@pytest.mark.slow
def test_simulation_recovery_covers_the_truth_without_divergences(recovery):
    """Coverage, and no divergence at all at phi = 0.95 (the classic non-centring, variant
    ``classic``, diverges there: docs/volatility.md has the counts)."""
    covered, total, divergences = 0, 0, []
    for mcmc in recovery:
        divergences.append(int(mcmc.get_extra_fields()["diverging"].sum()))
        samples = mcmc.get_samples()
        for name, value in TRUTH.items():
            low, high = np.quantile(np.asarray(samples[name]), [0.05, 0.95])
            covered += int(low <= value <= high)
            total += 1
    # 9 intervals at 90 %: P(6 or fewer cover) = 0.053 for correct ones
    print(f"90 % intervals covering the truth: {covered} of {total}; divergences per fit "
          f"(of 600 draws): {divergences}")
    assert covered >= 7, covered
    assert divergences == [0, 0, 0], divergences


@pytest.fixture(scope="module")
def default_fit_of_the_bundled_series():
    """The fit command's fit of the bundled series (T = 1,000 simulated at mu = -1,
    phi = 0.95, sigma = 0.25): the default variant, its starting points (uniform(-0.5,
    0.5) on the unconstrained scale), NUTS defaults, 1000 warm-up, float64; 4 chains x 1500
    draws, so that split R-hat's own noise is well under 0.01 (bulk ESS of phi, the
    slowest parameter, about 1,500: R-hat - 1 then scatters by about 0.002)."""
    family = FAMILIES["sv"]
    y = np.loadtxt(family.default_data.path, delimiter=",", skiprows=1)[:, 1]
    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(family.variants[family.default_variant].model,
                         init_strategy=family.init_strategy()),
                    num_warmup=1000, num_samples=1500, num_chains=4,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(0), y=jnp.asarray(y), extra_fields=("diverging",))
    return mcmc


def _rank_normalised_split_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat (Vehtari et al. 2021; ArviZ's ``az.rhat``, its
    definition) of draws (chains, n, K), vectorised over K: the larger of the bulk R-hat
    (split chains, ranks over all draws mapped to normal scores) and the tail R-hat (the
    same of |x - median|)."""
    from scipy.special import ndtri

    def average_ranks(x):  # scipy.stats.rankdata(x, axis=0), ties averaged, without its loop
        n = x.shape[0]
        order = np.argsort(x, axis=0, kind="stable")
        ordered = np.take_along_axis(x, order, axis=0)
        index = np.broadcast_to(np.arange(n)[:, None], x.shape)
        starts = np.ones(x.shape, bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        ends = np.ones(x.shape, bool)
        ends[:-1] = starts[1:]
        first = np.maximum.accumulate(np.where(starts, index, 0), axis=0)
        last = np.minimum.accumulate(np.where(ends, index, n - 1)[::-1], axis=0)[::-1]
        ranks = np.empty(x.shape)
        np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=0)
        return ranks

    def split(x):
        half = x.shape[1] // 2
        return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)

    def z_scale(x):
        size = x.shape[0] * x.shape[1]
        ranks = average_ranks(x.reshape(size, -1)).reshape(x.shape)
        return ndtri((ranks - 0.375) / (size + 0.25))

    def rhat(x):
        n = x.shape[1]
        between = n * np.var(x.mean(axis=1), axis=0, ddof=1)
        within = np.mean(np.var(x, axis=1, ddof=1), axis=0)
        return np.sqrt((between / within + n - 1) / n)

    folded = np.abs(draws - np.median(draws.reshape(-1, draws.shape[-1]), axis=0))
    return np.maximum(rhat(z_scale(split(draws))), rhat(z_scale(split(folded))))


@pytest.mark.slow
def test_default_fit_mixes_from_the_default_starts_and_stays_stationary(
        default_fit_of_the_bundled_series):
    """4 chains from the default initialisation: rank-normalised split R-hat <= 1.01 for
    every parameter, the latent h's 1,000 entries included (vectorised here; equal to
    ArviZ's ``az.rhat``, which loops in Python, on the scalars and on three entries of h);
    no draw outside |phi| < 1, sigma > 0; no divergence."""
    import arviz as az

    mcmc = default_fit_of_the_bundled_series
    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    assert bool((np.abs(samples["phi"]) < 1).all() & (samples["sigma"] > 0).all()
                & (samples["stationary_sd"] > 0).all())
    rhat = {k: float(np.max(_rank_normalised_split_rhat(samples[k].reshape(4, -1, 1)
                                                         if samples[k].ndim == 2
                                                         else samples[k])))
            for k in ("mu", "phi", "sigma", "stationary_sd", "h")}
    oracle = az.rhat(az.convert_to_dataset({"mu": samples["mu"], "phi": samples["phi"],
                                            "sigma": samples["sigma"],
                                            "h": samples["h"][..., [0, 499, 999]]}))
    for k in ("mu", "phi", "sigma"):
        assert abs(float(oracle[k]) - rhat[k]) < 1e-10, k
    np.testing.assert_allclose(
        _rank_normalised_split_rhat(samples["h"][..., [0, 499, 999]]), oracle["h"],
        rtol=0, atol=1e-10)
    phi_ess = float(az.ess(samples["phi"], method="bulk"))
    print(f"max R-hat {rhat}; phi's bulk ESS {phi_ess:.0f}")
    assert max(rhat.values()) <= 1.01, rhat
    assert int(mcmc.get_extra_fields()["diverging"].sum()) == 0
