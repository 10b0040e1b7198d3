"""Hierarchical ARMA(1, 1) over a panel (``models.panel.hierarchical``).

* Its observed site scores each series as the exact ARMA likelihood does, one series at a
  time in a Python loop (1e-12): the batched likelihood is the loop over series.
* Simulation recovery (``scripts/validate_panel.py``, here with 2 small panels, S = 12 x
  T = 80; its default is 20 seeds of S = 16 x T = 100, and docs/many-series.md has the count):
  panels drawn from a known population (``simulate_arma_panel``); the 90 % intervals of
  the six population parameters cover the truth in most cases (count reported in the
  assertion message), and NUTS at NumPyro's default settings has no divergences (the
  non-centred form). The seeds' fits share one MCMC (its repeated compilations are
  lookups in the session's compilation cache, tests/conftest.py).
"""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from script_runner import SCRIPTS

from models.arma import ARMA, arma_forecast
from models.panel.hierarchical import (
    hierarchical_arma_model,
    hierarchical_defaults,
)
from models.panel.simulate import simulate_arma_panel


def test_the_batched_likelihood_is_the_loop_over_series(x64):
    panel = simulate_arma_panel(jax.random.PRNGKey(1), 4, 30)
    y = np.array(panel.y)
    y[2, 5:9] = np.nan  # gaps are missing values
    defaults = hierarchical_defaults(y)
    with handlers.seed(rng_seed=0):
        trace = handlers.trace(hierarchical_arma_model).get_trace(y, forecast_horizon=3,
                                                                  **defaults)
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
    # the forecasts: each series' exact predictive law, one series at a time
    law = trace["y_forecast"]["fn"]
    assert trace["y_forecast"]["value"].shape == (4, 3)
    ahead = jax.jit(lambda y_s, mu, phi, theta, sigma: arma_forecast(y_s, mu, phi, theta,
                                                                     sigma, 3))
    for s in range(4):
        expected = ahead(jnp.asarray(y[s]), *(trace[name]["value"][s]
                                              for name in ("mu", "phi", "theta", "sigma")))
        np.testing.assert_allclose(law.mean[s], expected.mean, rtol=1e-12)
        np.testing.assert_allclose(law.covariance_matrix[s], expected.covariance, rtol=1e-10,
                                   atol=1e-12)
    with pytest.raises(ValueError, match="forecast_horizon > 0 needs the observed y"):
        hierarchical_arma_model(None, num_series=2, num_steps=5, mu_loc=0.0, mu_scale=1.0,
                                log_sigma_prior_loc=0.0, forecast_horizon=2)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"y must have shape \(S, T\), got \(5,\)"):
        hierarchical_arma_model(np.zeros(5))
    with pytest.raises(ValueError, match="series 1 has fewer than two observed values"), \
            np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        hierarchical_defaults(np.array([[1.0, 2.0], [3.0, np.nan]]))


# 4 seeds of 16 x 100 at 300 + 300 draws took 10 CPU-minutes: over the suite's budget alone
SEEDS, S, T = 2, 12, 80


@pytest.fixture(scope="module")
def validation(tmp_path_factory) -> dict:
    """``scripts/validate_panel.py`` with 2 small panels (its default is 20)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    import validate_panel

    out = tmp_path_factory.mktemp("validate_panel") / "coverage.json"
    code = validate_panel.main(["--seeds", str(SEEDS), "--series", str(S), "--length", str(T),
                                "--warmup", "250", "--samples", "250", "--json", str(out)])
    result = json.loads(out.read_text())
    result["exit_code"] = code
    return result


@pytest.mark.slow
def test_population_intervals_cover_the_truth_without_divergences(validation):
    covered, total = validation["covered"], validation["intervals"]
    print(f"population 90 % intervals covering the truth: {covered} of {total}; divergences: "
          f"{validation['divergences_per_seed']}; missed: {validation['missed']}")
    assert total == SEEDS * 6
    assert sum(validation["covered_per_parameter"].values()) == covered
    assert all(0 <= count <= SEEDS for count in validation["covered_per_parameter"].values())
    # 12 intervals at 90 %: 10.8 expected; fewer than 8 has probability < 1 % (0.43 %)
    from scipy.stats import binom
    bound = validation["lower_bound_1pct"]
    assert binom.cdf(bound - 1, total, 0.9) < 0.01 <= binom.cdf(bound, total, 0.9)
    assert covered >= bound, validation
    assert sum(validation["divergences_per_seed"]) == 0, validation
    assert validation["exit_code"] == 0
