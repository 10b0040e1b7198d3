"""What the fit command compiles, and what it no longer compiles.

* ``_arviz_io.inference_data_from_mcmc(..., observed_data=...)`` builds the InferenceData
  without ArviZ's run of the model (op by op: dozens of small XLA programs, seconds of
  compilation per fit); its groups must be identical to ArviZ's own ``from_numpyro``
  (the oracle), values, dims, coords and all, and it must compile nothing.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from script_runner import SCRIPTS

sys.path.insert(0, str(SCRIPTS))
import _arviz_io  # noqa: E402
from _cli.sampling import EXTRA_FIELDS, CompileTimer  # noqa: E402

GROUPS = ("posterior", "sample_stats", "posterior_predictive", "predictions", "observed_data")


def _toy_model(y=None, *, num_steps=None, forecast_horizon=0):
    import numpyro
    import numpyro.distributions as dist

    num_steps = len(y) if y is not None else num_steps
    level = numpyro.sample("level", dist.Normal(0.0, 5.0))
    offsets = numpyro.sample("offsets", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    scale = numpyro.sample("scale", dist.HalfNormal(1.0))
    numpyro.deterministic("total", level + offsets.sum())
    numpyro.sample("y", dist.Normal(level, scale).expand([num_steps]).to_event(1), obs=y)
    if forecast_horizon:
        numpyro.sample("y_forecast",
                       dist.Normal(level, scale).expand([forecast_horizon]).to_event(1))


@pytest.fixture(scope="module")
def toy_mcmc():
    from numpyro.infer import HMC, MCMC

    y = jnp.linspace(-1.0, 2.0, 7)  # the observed values exactly as the model gets them
    # fixed-length HMC: NUTS's statistics, a smaller program to compile than NUTS's
    mcmc = MCMC(HMC(_toy_model, num_steps=4, trajectory_length=None), num_warmup=20,
                num_samples=20, num_chains=2, chain_method="vectorized", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0), extra_fields=EXTRA_FIELDS, y=y)
    return mcmc, y


def test_inference_data_without_the_model_run_equals_arvizs_from_numpyro(toy_mcmc):
    import arviz as az

    mcmc, y = toy_mcmc
    rng = np.random.default_rng(1)
    predictive = {"y": rng.standard_normal((2, 20, 7))}
    predictions = {"y_forecast": rng.standard_normal((2, 20, 3))}
    coords = {"time": np.arange(7) * 10, "horizon": np.arange(1, 4), "offset": ["a", "b"]}
    dims = {"y": ["time"], "y_forecast": ["horizon"], "offsets": ["offset"]}
    attrs = {"model": "toy", "seed": 3}
    kwargs = {"posterior_predictive": predictive, "predictions": predictions,
              "coords": coords, "dims": dims, "attrs": attrs}
    oracle = _arviz_io.inference_data_from_mcmc(mcmc, **kwargs)  # ArviZ's from_numpyro
    with CompileTimer() as timer:
        ours = _arviz_io.inference_data_from_mcmc(mcmc, observed_data={"y": y}, **kwargs)
    assert timer.seconds == 0.0  # no program compiled: the model is not run
    assert sorted(ours.groups()) == sorted(oracle.groups()) == sorted(GROUPS)
    for group in GROUPS:
        expected, got = oracle[group], ours[group]
        assert sorted(got.data_vars) == sorted(expected.data_vars), group
        for name in expected.data_vars:
            assert got[name].dims == expected[name].dims, (group, name)
            assert got[name].dtype == expected[name].dtype, (group, name)
            np.testing.assert_array_equal(got[name].values, expected[name].values,
                                          err_msg=f"{group}.{name}")
        for name in expected.coords:
            np.testing.assert_array_equal(got[name].values, expected[name].values)
        drop = ("created_at",)
        assert ({k: v for k, v in got.attrs.items() if k not in drop}
                == {k: v for k, v in expected.attrs.items() if k not in drop}), group
    # the sampler statistics ArviZ's diagnostics read, by ArviZ's names and signs
    assert {"lp", "step_size", "n_steps", "acceptance_rate", "tree_depth", "diverging",
            "energy"} <= set(ours.sample_stats.data_vars)
    np.testing.assert_array_equal(
        ours.sample_stats["lp"].values,
        -np.asarray(mcmc.get_extra_fields(group_by_chain=True)["potential_energy"]))
    assert az.bfmi(ours).shape == (2,)
