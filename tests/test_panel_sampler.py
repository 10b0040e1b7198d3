"""The one-program fit compiled once and reused (``independent_sampler``: the benchmark's
best loop), blocks of series (``batch_size``) and the warm-up tree cap
(``NUTSSettings.warmup_max_tree_depth``), on a conjugate normal model whose posterior is
known in closed form: m ~ Normal(0, 10), y_t ~ Normal(m, 1), so m | y ~ Normal(sum(y) /
(n + 1/100), 1 / (n + 1/100)).

Oracles: the closed form (posterior means within |z| < 4 of it, z from the Monte Carlo
standard error), JAX's own compilation events (a reused sampler compiles nothing), and the
same fit run as one ``vmap`` (blocks of series give the same draws)."""

import jax
import jax.monitoring
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.diagnostics import effective_sample_size

from models.panel import fit_independent, independent_sampler

PRIOR_SD = 10.0


def normal_mean(y=None, *, obs_sd=1.0):
    m = numpyro.sample("m", dist.Normal(0.0, PRIOR_SD))
    numpyro.sample("y", dist.Normal(m, obs_sd).expand([y.shape[-1]]).to_event(1), obs=y)


def closed_form(y: np.ndarray, obs_sd: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    precision = y.shape[-1] / obs_sd**2 + 1 / PRIOR_SD**2
    return y.sum(axis=-1) / obs_sd**2 / precision, np.full(len(y), precision**-0.5)


def z_scores(draws: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """|posterior mean - closed form| / MCSE per series; draws (S, C, D)."""
    ess = np.array([effective_sample_size(d) for d in draws])
    mcse = draws.std(axis=(1, 2)) / np.sqrt(ess)
    return np.abs(draws.mean(axis=(1, 2)) - mean) / mcse


class Compilations:
    """Counts JAX's backend compilations while active."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: str, duration: float, **_: object) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1

    def __enter__(self) -> "Compilations":
        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc: object) -> None:
        jax.monitoring.unregister_event_duration_listener(self)


@pytest.mark.slow
def test_a_compiled_sampler_is_reused_for_other_series_without_compiling(x64):
    rng = np.random.default_rng(0)
    panels = [rng.normal(loc, 1.0, size=(1, 20)) for loc in (-3.0, 0.5, 7.0)]
    sampler = independent_sampler(normal_mean, panels[0], num_warmup=200, num_samples=400,
                                  num_chains=2)
    counts, worst = [], 0.0
    for s, y in enumerate(panels):
        with Compilations() as compilations:
            fit = sampler(jax.random.PRNGKey(s), y)
            jax.block_until_ready(fit.samples)
        counts.append(compilations.count)
        mean, _ = closed_form(y)
        worst = max(worst, float(z_scores(np.asarray(fit.samples["m"]), mean).max()))
    assert counts[0] > 0 and counts[1:] == [0, 0], counts
    assert worst < 4, worst
    with pytest.raises(ValueError, match=r"compiled for y of shape \(1, 20\), got \(2, 20\)"):
        sampler(jax.random.PRNGKey(0), np.zeros((2, 20)))


@pytest.mark.slow
def test_blocks_of_series_give_the_draws_of_one_batch(x64):
    # S = 5 in blocks of 2: two blocks and a remainder of one series
    y = np.random.default_rng(1).normal(size=(5, 10)) + np.arange(5)[:, None]
    kwargs = {"rng_key": jax.random.PRNGKey(3), "num_warmup": 100, "num_samples": 100,
              "num_chains": 2}
    whole = fit_independent(normal_mean, y, **kwargs)
    blocks = fit_independent(normal_mean, y, batch_size=2, **kwargs)
    np.testing.assert_allclose(blocks.samples["m"], whole.samples["m"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(blocks.num_steps, whole.num_steps)
    mean, _ = closed_form(y)
    assert z_scores(np.asarray(blocks.samples["m"]), mean).max() < 4
    with pytest.raises(ValueError, match="batch_size must be None or an integer >= 1, got 0"):
        fit_independent(normal_mean, y, batch_size=0, **kwargs)


@pytest.mark.slow
def test_warm_up_trees_are_capped_and_the_draws_are_not(x64):
    # a posterior sd of 1e-3 against the unit starting step size and mass: early warm-up
    # trees want more than 2^6 - 1 steps (they reach the cap), adapted ones need few
    y = np.zeros((2, 10))
    capped = fit_independent(normal_mean, y, rng_key=jax.random.PRNGKey(5), num_warmup=60,
                             num_samples=60, num_chains=1, static_kwargs={"obs_sd": 3e-3})
    warm = np.asarray(capped.warmup_num_steps)
    assert warm.shape == (2, 1, 60)
    assert warm.max() == 2**6 - 1  # the cap binds, and is never passed
    assert np.asarray(capped.num_steps).max() < 2**6 - 1  # adapted: short trees
    mean, sd = closed_form(y, 3e-3)
    draws = np.asarray(capped.samples["m"])
    assert np.all(np.abs(draws.mean(axis=(1, 2)) - mean) < 4 * sd / np.sqrt(10))
