"""posteriordb ``garch-garch11``: the family reproduces it (the shared validator's run,
``test_validate_posteriordb_script.py``, checks |z| < 4 at 4 x 2000 draws), the density
is Stan's (flat on the stationary triangle, sigma_1 fixed), and a wrong start of the
recursion fails by far more than 4 sigma_z even at 4 x 500 draws."""

import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from numpyro.infer.util import log_density

from models.posteriordb import load_data, reference_model
from models.volatility import garch_loglik
from models.volatility.model import garch_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _cli.posteriordb import fit_reference, reference_rows  # noqa: E402


def test_the_reference_density_is_stans_up_to_a_constant(x64):
    """Stan's log density of garch11 (no priors: the likelihood on the triangle), written
    out, minus ours at two points of the triangle: the same constant (the Dirichlet's
    log 2)."""
    model, kwargs = reference_model("garch-garch11")
    data = load_data("garch-garch11")
    y = np.asarray(data["y"])

    def stan(mu, alpha0, alpha1, beta1):
        sigma = [float(data["sigma1"])]
        for t in range(1, y.size):
            sigma.append(np.sqrt(alpha0 + alpha1 * (y[t - 1] - mu) ** 2
                                 + beta1 * sigma[-1] ** 2))
        sigma = np.array(sigma)
        return float(np.sum(-0.5 * np.log(2 * np.pi) - np.log(sigma)
                            - 0.5 * ((y - mu) / sigma) ** 2))

    gaps = []
    for mu, omega, a, b in [(5.0, 1.4, 0.55, 0.3), (4.8, 0.9, 0.2, 0.7)]:
        params = {"mu": mu, "omega": omega, "weights": np.array([a, b, 1 - a - b])}
        ours, _ = log_density(model, (), kwargs, params)
        gaps.append(float(ours) - stan(mu, omega, a, b))
    assert abs(gaps[0] - gaps[1]) < 1e-9 and abs(gaps[0] - np.log(2.0)) < 1e-9
    # and the likelihood alone is garch_loglik with the "first" start at sigma1^2
    assert abs(float(garch_loglik(y, 5.0, 1.4, np.array([0.55]), np.array([0.3]), 0.25,
                                  start="first")) - stan(5.0, 1.4, 0.55, 0.3)) < 1e-9


@pytest.mark.slow
def test_a_wrong_start_of_the_recursion_is_caught(x64, rng_key):
    """Power check: starting the recursion at the stationary variance instead of Stan's
    sigma_1 = 0.5 moves beta1 and alpha0 by far more than 4 sigma_z (measured z: beta1
    -13.5, alpha0 12.3, alpha1 -4.4 at these settings), with a quarter of the validator's
    draws."""

    def started_at_the_stationary_variance(y, initial_variance):
        garch_model(y, order=(1, 1), priors="flat")

    mcmc, _ = fit_reference("garch-garch11", rng_key=jax.random.PRNGKey(2), chains=4,
                            warmup=500, samples=500, chain_method="vectorized",
                            model=started_at_the_stationary_variance)
    z = {row["parameter"]: row["z"]
         for row in reference_rows("garch-garch11", mcmc.get_samples(group_by_chain=True))}
    assert max(abs(z["beta1"]), abs(z["alpha0"])) > 4, z
