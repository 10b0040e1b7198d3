"""Posterior agreement with posteriordb reference posteriors (Stan, 10,000 draws).

z = (our mean - reference mean) / sqrt(our MCSE^2 + reference MCSE^2), by the one harness
(``scripts/_cli/posteriordb.py``, ArviZ's MCSE); a correct density gives |z| < 4 for every
parameter. The fits at the validator's settings (4 chains x 2000 draws, our MCSE about 1.3x
the reference's) are the validator's own run, checked in
``test_validate_posteriordb_script.py`` (``test_posterior_matches_reference``). Here: which
family reproduces which posterior, the bundled copies, and the power check that a wrong
start of the recursion (intercept: z of about -19 at the validator's settings) fails.
"""

import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest

from models import ConditionalARMA
from models.posteriordb import (
    REFERENCE_POSTERIORS,
    bundled_posteriors,
    load_data,
    load_reference,
    reference_model,
)
from models.registry import FAMILIES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _cli.posteriordb import fit_reference, reference_rows  # noqa: E402

REFDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "refdata"


def test_every_reproduced_posterior_names_its_family_variant_and_sites():
    for name, spec in REFERENCE_POSTERIORS.items():
        family = bundled_posteriors()[name]
        assert family is FAMILIES[family.name] and spec.variant in family.variants
        assert set(spec.parameters) == set(load_reference(name))
        model, kwargs = reference_model(name)
        trace = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(**kwargs)
        for site, index in spec.parameters.values():
            assert site in trace, (name, site)
            assert (index is None) == (trace[site]["value"].ndim == 0)


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


@pytest.mark.slow
def test_a_wrong_start_of_the_recursion_is_caught(x64, rng_key):
    """Power check: pre-sample y = 0 instead of the intercept moves the intercept by far
    more than 4 sigma_z, even with a quarter of the validator's draws."""

    def arma11_started_at_zero(y):
        intercept = numpyro.sample("intercept", dist.Normal(0, 10))
        phi = numpyro.sample("phi", dist.Normal(0, 2).expand([1]).to_event(1))
        theta = numpyro.sample("theta", dist.Normal(0, 2).expand([1]).to_event(1))
        sigma = numpyro.sample("sigma", dist.HalfCauchy(2.5))
        numpyro.sample("y", ConditionalARMA(intercept, phi, theta, sigma,
                                            num_steps=y.shape[0],
                                            initial_y=jnp.zeros(1)), obs=y)

    mcmc, _ = fit_reference("arma-arma11", rng_key=jax.random.fold_in(rng_key, 1), chains=4,
                            warmup=500, samples=500, chain_method="vectorized",
                            model=arma11_started_at_zero)
    z = {row["parameter"]: row["z"]
         for row in reference_rows("arma-arma11", mcmc.get_samples(group_by_chain=True))}
    assert abs(z["mu"]) > 4, z
