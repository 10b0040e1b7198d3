"""Hierarchical ARMA(1, 1) over a panel (``models.panel.hierarchical``).

* Its observed site scores each series as the exact ARMA likelihood does, one series at a
  time in a Python loop (1e-12): the batched likelihood is the loop over series.
* Simulation recovery: panels drawn from a known population (``simulate_arma_panel``);
  the 90 % intervals of the six population parameters cover the truth in most cases over
  several seeds (count reported in the assertion message), and NUTS at NumPyro's defaults
  has no divergences (the non-centred form).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import MCMC, NUTS

from models.arma import ARMA
from models.panel.hierarchical import (
    POPULATION_SITES,
    hierarchical_arma_model,
    hierarchical_defaults,
)
from models.panel.simulate import Population, simulate_arma_panel


def test_the_batched_likelihood_is_the_loop_over_series(x64):
    panel = simulate_arma_panel(jax.random.PRNGKey(1), 4, 30)
    y = np.array(panel.y)
    y[2, 5:9] = np.nan  # gaps are missing values
    defaults = hierarchical_defaults(y)
    with handlers.seed(rng_seed=0):
        trace = handlers.trace(hierarchical_arma_model).get_trace(y, **defaults)
    site = trace["y"]
    scores = site["fn"].log_prob(site["value"])
    assert scores.shape == (4,)
    # the oracle: one series at a time (compiled once, the series an argument)
    one = jax.jit(lambda mu, phi, theta, sigma, y_s: ARMA(mu, phi, theta, sigma,
                                                          num_steps=30).log_prob(y_s))
    for s in range(4):
        expected = one(*(trace[name]["value"][s] for name in ("mu", "phi", "theta", "sigma")),
                       jnp.asarray(y[s]))
        np.testing.assert_allclose(scores[s], expected, rtol=1e-12)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"y must have shape \(S, T\), got \(5,\)"):
        hierarchical_arma_model(np.zeros(5))
    with pytest.raises(ValueError, match="series 1 has fewer than two observed values"), \
            np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        hierarchical_defaults(np.array([[1.0, 2.0], [3.0, np.nan]]))


SEEDS, S, T = (0, 1, 2, 3), 16, 100
TRUTH = Population()


@pytest.mark.slow
def test_population_intervals_cover_the_truth_without_divergences():
    truth = {"ar_loc": TRUTH.ar_loc, "ar_scale": TRUTH.ar_scale, "ma_loc": TRUTH.ma_loc,
             "ma_scale": TRUTH.ma_scale, "log_sigma_loc": TRUTH.log_sigma_loc,
             "log_sigma_scale": TRUTH.log_sigma_scale}
    covered, total, divergences = 0, 0, 0
    misses = []
    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(hierarchical_arma_model), num_warmup=400, num_samples=400,
                    num_chains=2, chain_method="sequential", jit_model_args=True,
                    progress_bar=False)
        for seed in SEEDS:
            y = np.asarray(simulate_arma_panel(jax.random.PRNGKey(seed), S, T).y)
            defaults = hierarchical_defaults(y)
            mcmc.run(jax.random.PRNGKey(100 + seed), jnp.asarray(y),
                     **{k: jnp.asarray(v) for k, v in defaults.items()},
                     extra_fields=("diverging",))
            divergences += int(mcmc.get_extra_fields()["diverging"].sum())
            draws = mcmc.get_samples()
            for name in POPULATION_SITES:
                low, high = np.quantile(np.asarray(draws[name]).reshape(800, -1)[:, 0],
                                        [0.05, 0.95])
                total += 1
                if low <= truth[name] <= high:
                    covered += 1
                else:
                    misses.append((seed, name, round(low, 3), round(high, 3)))
    print(f"population 90 % intervals covering the truth: {covered} of {total}; "
          f"divergences: {divergences}; missed: {misses}")  # shown with pytest -s
    assert total == len(SEEDS) * 6
    # 24 intervals at 90 %: 21.6 expected; fewer than 18 has probability < 2 %
    assert covered >= 18, (covered, total, misses)
    assert divergences == 0
