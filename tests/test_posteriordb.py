"""Posterior agreement with posteriordb reference posteriors (Stan, 10,000 draws).

z = (our mean - reference mean) / sqrt(our MCSE^2 + reference MCSE^2); a correct density
gives |z| < 4 for every parameter. 4 chains x 2000 draws make our MCSE about 1.3x the
reference's, small enough that a wrong start of the recursion (mu: z of about -19) or a
wrong prior scale on phi (z of about -6) fails the test: the last test here checks that.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS

from models import ConditionalARMA
from models.posteriordb import (
    REFERENCE_POSTERIORS,
    load_data,
    load_reference,
    to_reference_names,
    z_scores,
)

REFDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "refdata"


def fit_z_scores(name, model, key):
    y = jnp.asarray(load_data(name)["y"])
    mcmc = MCMC(NUTS(model), num_warmup=1000, num_samples=2000, num_chains=4,
                chain_method="vectorized", progress_bar=False)
    mcmc.run(key, y, extra_fields=("diverging",))
    draws = to_reference_names(name, mcmc.get_samples(group_by_chain=True))
    means = {k: float(v.mean()) for k, v in draws.items()}
    mcses = {k: float(v.std() / np.sqrt(effective_sample_size(np.asarray(v))))
             for k, v in draws.items()}
    divergences = int(mcmc.get_extra_fields()["diverging"].sum())
    return z_scores(means, mcses, load_reference(name)), divergences


@pytest.mark.parametrize("name", sorted(REFERENCE_POSTERIORS))
def test_posterior_matches_reference(x64, rng_key, name):
    z, divergences = fit_z_scores(name, REFERENCE_POSTERIORS[name].model, rng_key)
    assert set(z) == set(load_reference(name))
    assert divergences == 0
    assert max(abs(v) for v in z.values()) < 4, z


@pytest.mark.parametrize("name", sorted(REFERENCE_POSTERIORS))
def test_bundled_copy_equals_shared_refdata(name):
    shared = REFDATA / name
    if not shared.is_dir():
        pytest.skip("../shared/refdata is not beside this checkout")
    assert load_data(name)["y"].tolist() == json.loads((shared / "data.json").read_text())["y"]
    shared_ref = json.loads((shared / "reference.json").read_text())["parameters"]
    assert load_reference(name) == shared_ref


def test_reference_draws_agree_with_reference_summary():
    """The summary we ship (reference.json) describes the draws nobody here made."""
    for name in REFERENCE_POSTERIORS:
        path = REFDATA / name / "draws.npz"
        if not path.is_file():
            pytest.skip("../shared/refdata is not beside this checkout")
        draws = np.load(path)
        for param, summary in load_reference(name).items():
            assert abs(draws[param].mean() - summary["mean"]) < 1e-9


def test_a_wrong_start_of_the_recursion_is_caught(x64, rng_key):
    """Power check: pre-sample y = 0 instead of mu moves mu by far more than 4 sigma_z."""

    def arma11_started_at_zero(y):
        mu = numpyro.sample("mu", dist.Normal(0, 10))
        phi = numpyro.sample("phi", dist.Normal(0, 2).expand([1]).to_event(1))
        theta = numpyro.sample("theta", dist.Normal(0, 2).expand([1]).to_event(1))
        sigma = numpyro.sample("sigma", dist.HalfCauchy(2.5))
        numpyro.sample("y", ConditionalARMA(mu, phi, theta, sigma, num_steps=y.shape[0],
                                            initial_y=jnp.zeros(1)), obs=y)

    z, _ = fit_z_scores("arma-arma11", arma11_started_at_zero, jax.random.fold_in(rng_key, 1))
    assert abs(z["mu"]) > 4, z
