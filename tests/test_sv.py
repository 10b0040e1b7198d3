"""Stochastic volatility: the non-centred model's density is the centred one after the
change of variables, the stationary AR(1) latent samples what it scores, and on series
simulated from known parameters the non-centred posterior covers the truth without
divergences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS, Predictive
from numpyro.infer.util import log_density

from models.registry import FAMILIES
from models.volatility import StationaryAR1, ar1_from_shocks, sv_centred_model, sv_model


@pytest.mark.parametrize("innovations", ["normal", "t"])
def test_non_centred_density_is_the_centred_one_after_the_change_of_variables(
        x64, rng_key, innovations):
    """log p_nc(theta, z) = log p_c(theta, h(z)) + log |dh/dz|, with
    log |dh/dz| = T log sigma - log(1 - phi^2) / 2 (the map is lower triangular)."""
    T = 40
    keys = jax.random.split(rng_key, 4)
    y = jax.random.normal(keys[0], (T,)) * 0.8
    for k in range(3):
        point = jax.random.uniform(jax.random.fold_in(keys[1], k), (4,))
        mu, phi, sigma, nu = -1 + point[0], 1.9 * point[1] - 0.95, 0.1 + point[2], 3 + 20 * point[3]
        z = jax.random.normal(jax.random.fold_in(keys[2], k), (T,))
        common = {"mu": mu, "phi": phi, "sigma": sigma}
        if innovations == "t":
            common["nu"] = nu
        non_centred, _ = log_density(sv_model, (y,), {"innovations": innovations},
                                     {**common, "h_std": z})
        h = ar1_from_shocks(z, mu, phi, sigma)
        centred, _ = log_density(sv_centred_model, (y,), {"innovations": innovations},
                                 {**common, "h": h})
        jacobian = T * jnp.log(sigma) - 0.5 * jnp.log1p(-phi**2)
        assert abs(float(non_centred - (centred + jacobian))) < 1e-10


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


TRUTH = {"mu": -1.0, "phi": 0.9, "sigma": 0.3}


def _simulated(seed: int, num_steps: int) -> jax.Array:
    key_h, key_y = jax.random.split(jax.random.PRNGKey(seed))
    h = ar1_from_shocks(jax.random.normal(key_h, (num_steps,)), TRUTH["mu"], TRUTH["phi"],
                        TRUTH["sigma"])
    return jnp.exp(h / 2) * jax.random.normal(key_y, (num_steps,))


@pytest.fixture(scope="module")
def recovery():
    """Non-centred fits (the fit command's starting points and NUTS settings) of three
    series of T = 300 simulated at TRUTH: 2 chains x 300 draws after the fit command's
    1000 warm-up each."""
    family = FAMILIES["sv"]
    fits = []
    with jax.enable_x64(True):
        for seed in (1, 2, 3):
            mcmc = MCMC(NUTS(family.variants["normal"].model,
                             init_strategy=family.init_strategy()),
                        num_warmup=1000, num_samples=300, num_chains=2,
                        chain_method="vectorized", progress_bar=False)
            mcmc.run(jax.random.PRNGKey(100 + seed), y=_simulated(seed, 300),
                     extra_fields=("diverging",))
            fits.append(mcmc)
    return fits


@pytest.mark.slow
def test_simulation_recovery_covers_the_truth(recovery):
    """Coverage, and divergences rare: NOT zero (measured 0 or 1 per fit; the
    zero-divergence goal of issue 14 is open, docs/volatility.md has the counts)."""
    covered, total, divergences = 0, 0, []
    for mcmc in recovery:
        divergences.append(int(mcmc.get_extra_fields()["diverging"].sum()))
        samples = mcmc.get_samples()
        for name, value in TRUTH.items():
            low, high = np.quantile(np.asarray(samples[name]), [0.05, 0.95])
            covered += int(low <= value <= high)
            total += 1
    # 9 intervals at 90 %: P(6 or fewer cover) = 0.053 for correct ones; measured 9 of 9
    print(f"90 % intervals covering the truth: {covered} of {total}; divergences per fit "
          f"(of 600 draws): {divergences}")
    assert covered >= 7, covered
    assert max(divergences) <= 6, divergences  # under 1 % of a fit's draws
