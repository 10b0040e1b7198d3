"""The latent renewal model recovers a known R_t from data simulated by a plain Python loop
(not by the model): 90 % bands cover the true R_t on at least 85 % of days, the posterior
median crosses R_t = 1 within 3 days of the truth (both crossings); with right truncation,
the last window's R is recovered when the completeness curve is given and biased downward
when it is ignored."""

import jax
import numpy as np
import pytest
from numpyro.infer import MCMC, NUTS

from models.renewal import init_to_guess, renewal_model, resolve_interval

INTERVAL = resolve_interval(None, 2.6, 1.5, None)  # EpiEstim's Flu2009 serial interval shape


def simulate(reproduction, seed_level, rng, concentration=100.0):
    """Infections by the renewal equation in a Python loop (seed_level on each of the L days
    before day 0), and negative-binomial counts of them (mean I_t, concentration)."""
    history = [seed_level] * (len(INTERVAL) - 1)
    infections = []
    for r in reproduction:
        value = r * sum(INTERVAL[s] * history[-s] for s in range(1, len(INTERVAL)))
        history.append(value)
        infections.append(value)
    infections = np.array(infections)
    counts = rng.negative_binomial(concentration, concentration / (concentration + infections))
    return infections, counts.astype(float)


def fit(y, *, warmup, samples, seed, **options):
    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(renewal_model, init_strategy=init_to_guess), num_warmup=warmup,
                    num_samples=samples, num_chains=1, progress_bar=False)
        mcmc.run(jax.random.PRNGKey(seed), y=y, generation_interval=INTERVAL,
                 extra_fields=("diverging",), **options)
        draws = {name: np.asarray(value) for name, value in mcmc.get_samples().items()}
        draws["divergences"] = int(np.sum(mcmc.get_extra_fields()["diverging"]))
    return draws


def downward_crossings(path):
    below = path < 1
    return np.flatnonzero(~below[:-1] & below[1:]) + 1


def upward_crossings(path):
    below = path < 1
    return np.flatnonzero(below[:-1] & ~below[1:]) + 1


@pytest.fixture(scope="module")
def rise_and_fall():
    days = np.arange(60)
    truth = 0.85 + 0.75 * np.exp(-(((days - 25) / 11.0) ** 2))  # 1 crossed near days 11, 39
    _, y = simulate(truth, 40.0, np.random.default_rng(1))
    draws = fit(y, warmup=300, samples=300, seed=0, step=1)
    return truth, draws


@pytest.mark.slow
def test_bands_cover_the_true_r_t(rise_and_fall):
    truth, draws = rise_and_fall
    low, high = np.quantile(draws["R_t"], [0.05, 0.95], axis=0)
    coverage = np.mean((truth >= low) & (truth <= high))
    assert coverage >= 0.85, coverage
    # no divergences: the walk is sampled as the level it drives (IntegratedRandomWalk).
    # Written with standardised steps (log R_t = log R_0 + rw_sd * cumsum(z)) the same
    # fit diverged on 2 to 9 of 300 draws (at the maximum tree depth on 97-99 % of them), a
    # count that moved with a 2e-14 change of the
    # generation interval (docs/renewal.md, "Geometry").
    assert draws["divergences"] == 0, draws["divergences"]


@pytest.mark.slow
def test_the_crossings_of_one_are_within_three_days(rise_and_fall):
    truth, draws = rise_and_fall
    median = np.median(draws["R_t"], axis=0)
    for crossings in (upward_crossings, downward_crossings):
        true_days, fitted_days = crossings(truth), crossings(median)
        assert len(true_days) == 1 and len(fitted_days) >= 1, (true_days, fitted_days)
        assert np.min(np.abs(fitted_days - true_days[0])) <= 3, (true_days, fitted_days)


#: Fraction of the final count reported so far: last day first.
COMPLETENESS = (0.3, 0.5, 0.7, 0.85, 0.95)


@pytest.fixture(scope="module")
def truncated():
    truth = np.repeat([1.5, 1.3, 1.1, 1.0, 0.95, 0.9], 7)
    rng = np.random.default_rng(5)
    _, final = simulate(truth, 30.0, rng)
    factor = np.ones(truth.shape[0])
    factor[-len(COMPLETENESS):] = COMPLETENESS[::-1]
    reported = rng.binomial(final.astype(int), factor).astype(float)
    # (one compiled program for both fits, the curve a traced argument, measured no
    # cheaper: 39.3 vs 39.1 s of CPU side by side)
    common = {"r_model": "windows", "window": 7, "warmup": 300, "samples": 300}
    modelled = fit(reported, seed=1, completeness=COMPLETENESS, **common)
    ignored = fit(reported, seed=2, **common)
    return truth, modelled, ignored


@pytest.mark.slow
def test_right_truncation_modelled_leaves_the_last_r_unbiased(truncated):
    truth, modelled, ignored = truncated
    last = modelled["R"][:, -1]
    low, high = np.quantile(last, [0.05, 0.95])
    assert low <= truth[-1] <= high, (low, truth[-1], high)
    # ignoring it drags the last window's R far down: below the truth, beyond its band
    naive = ignored["R"][:, -1]
    assert np.quantile(naive, 0.95) < truth[-1], np.quantile(naive, [0.05, 0.5, 0.95])
    assert np.mean(naive) < np.mean(last) - 2 * np.std(last)
    assert modelled["divergences"] == 0
