"""patterns.renewal: the renewal scan and the convolutions against jnp.convolve and plain
Python loops (float64, 1e-12), and EpiEstim's discretised interval against the numbers
EpiEstim wrote for the 2009 school outbreak (../shared/refdata/)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from patterns.renewal import (
    causal_convolve,
    check_interval,
    discretise_gamma_interval,
    discretise_lognormal_interval,
    infection_pressure,
    renewal_infections,
)

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"
if not REFDATA.exists():
    REFDATA = Path("/work/shared/refdata")


def epiestim_serial_interval() -> np.ndarray:
    with (REFDATA / "influenza_school_2009_serial_interval.csv").open() as handle:
        return np.array([float(row["w"]) for row in csv.DictReader(handle)])


def python_renewal(r, g, seed):
    history = list(seed)
    out = []
    for r_t in r:
        total = 0.0
        for s in range(1, len(g)):
            total += g[s] * history[-s]
        history.append(r_t * total)
        out.append(r_t * total)
    return np.array(out)


def python_pressure(x, g):
    return np.array([sum(g[s] * x[t - s] for s in range(1, len(g)) if t - s >= 0)
                     for t in range(len(x))])


def python_causal(x, p):
    return np.array([sum(p[d] * x[t - d] for d in range(len(p)) if t - d >= 0)
                     for t in range(len(x))])


@pytest.fixture
def case(x64):
    rng = np.random.default_rng(7)
    g = np.concatenate([[0.0], rng.dirichlet(np.ones(9))])
    r = np.exp(rng.normal(0.0, 0.3, size=60))
    seed = rng.uniform(1, 20, size=9)
    return r, g, seed


def test_renewal_scan_equals_a_python_loop(case):
    r, g, seed = case
    ours = np.asarray(renewal_infections(jnp.asarray(r), jnp.asarray(g), jnp.asarray(seed)))
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, python_renewal(r, g, seed), rtol=1e-12, atol=0)


def test_renewal_scan_solves_the_convolution_equation_of_jnp_convolve(case):
    # I_t = R_t (g * I)_t, with I the seed followed by the scan's infections
    r, g, seed = case
    infections = np.asarray(renewal_infections(jnp.asarray(r), jnp.asarray(g),
                                               jnp.asarray(seed)))
    full = np.concatenate([seed, infections])
    convolved = np.asarray(jnp.convolve(jnp.asarray(full), jnp.asarray(g)))
    np.testing.assert_allclose(infections, r * convolved[len(seed):len(full)],
                               rtol=1e-12, atol=0)


def test_infection_pressure_equals_jnp_convolve_and_a_loop(case):
    _, g, seed = case
    x = np.random.default_rng(3).poisson(30, size=50).astype(float)
    ours = np.asarray(infection_pressure(jnp.asarray(x), jnp.asarray(g)))
    np.testing.assert_allclose(ours, np.asarray(jnp.convolve(jnp.asarray(x), jnp.asarray(g)))
                               [:50], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours, python_pressure(x, g), rtol=1e-12, atol=1e-12)


def test_causal_convolve_equals_jnp_convolve_and_a_loop(x64):
    rng = np.random.default_rng(4)
    x, p = rng.uniform(0, 100, size=40), rng.dirichlet(np.ones(6))
    ours = np.asarray(causal_convolve(jnp.asarray(x), jnp.asarray(p)))
    np.testing.assert_allclose(ours, np.asarray(jnp.convolve(jnp.asarray(x), jnp.asarray(p)))
                               [:40], rtol=1e-12)
    np.testing.assert_allclose(ours, python_causal(x, p), rtol=1e-12)
    # no delay: the identity
    np.testing.assert_array_equal(np.asarray(causal_convolve(jnp.asarray(x),
                                                             jnp.ones(1))), x)


def test_gradients_of_the_scan_equal_finite_differences(case):
    r, g, seed = case

    def total(log_r):
        return jnp.sum(jnp.log(renewal_infections(jnp.exp(log_r), jnp.asarray(g),
                                                  jnp.asarray(seed))))

    log_r = jnp.log(jnp.asarray(r))
    grad = np.asarray(jax.grad(total)(log_r))
    eps = 1e-6
    for i in (0, 17, 59):
        step = jnp.zeros_like(log_r).at[i].set(eps)
        fd = (float(total(log_r + step)) - float(total(log_r - step))) / (2 * eps)
        assert grad[i] == pytest.approx(fd, rel=1e-6)


def test_discretisation_reproduces_epiestims_serial_interval(x64):
    reference = epiestim_serial_interval()
    ours = np.asarray(discretise_gamma_interval(2.6, 1.5, len(reference) - 1,
                                                normalise=False))
    # EpiEstim's discr_si(0:32, 2.6, 1.5), except that it rounds its last, tiny entry to 0;
    # atol: the masses are second differences of k F(k) (k up to 32), so the last digit of
    # the incomplete gamma (JAX's here, R's pgamma there) leaves ~1e-14 in the tail masses
    np.testing.assert_allclose(ours[:-1], reference[:-1], rtol=1e-9, atol=2e-14)
    assert ours[0] == 0.0 and ours[-1] < 1e-9
    normalised = np.asarray(discretise_gamma_interval(2.6, 1.5, len(reference) - 1))
    assert abs(normalised.sum() - 1) < 1e-12
    check_interval(normalised)


@pytest.mark.parametrize(("mean", "sd"), [(2.6, 1.5), (6.5, 4.0), (4.0, 0.8)])
def test_lognormal_discretisation_against_numerical_integration(mean, sd):
    """EpiEstim's triangle-kernel discretisation of 1 + LogNormal (mean - 1, sd), against
    SciPy's quadrature of scipy.stats.lognorm's density times the kernel, lag by lag (an
    oracle that shares no code with the closed form); and the mean is kept."""
    from scipy import integrate, stats

    s2 = np.log1p(sd**2 / (mean - 1) ** 2)
    law = stats.lognorm(s=np.sqrt(s2), scale=(mean - 1) * np.exp(-s2 / 2))
    assert law.mean() == pytest.approx(mean - 1) and law.std() == pytest.approx(sd)
    max_lag = 30
    ours = discretise_lognormal_interval(mean, sd, max_lag, normalise=False)
    quad = [0.0] + [integrate.quad(lambda x, c=k - 1: (1 - abs(x - c)) * law.pdf(x),
                                   max(c - 1, 0.0), c + 1, points=[c] if c > 0 else None,
                                   epsabs=1e-13, epsrel=1e-11)[0]
                    for k in range(1, max_lag + 1) for c in [k - 1]]
    np.testing.assert_allclose(ours, quad, rtol=1e-8, atol=1e-13)
    wide = discretise_lognormal_interval(mean, sd, 2000, normalise=False)
    assert np.sum(np.arange(2001) * wide) == pytest.approx(mean, abs=1e-6)
    normalised = discretise_lognormal_interval(mean, sd, max_lag)
    assert abs(normalised.sum() - 1) < 1e-12
    check_interval(normalised)


def test_the_models_take_a_lognormal_interval(x64):
    """gi_distribution="lognormal" reaches the interval both models score with (spied on,
    the model stopped there: no sampling or scan needed), and the family's series check
    refuses an unknown law; the discretised log-normal is not the gamma."""
    from unittest import mock

    from models.registry import FAMILIES
    from models.renewal import epiestim_model, renewal_model, resolve_interval

    lognormal = resolve_interval(None, 3.0, 2.0, None, "lognormal")
    gamma = resolve_interval(None, 3.0, 2.0, None)
    assert lognormal.size > gamma.size  # the longer tail
    assert np.max(np.abs(lognormal[:gamma.size] - gamma)) > 0.02

    class Resolved(Exception):
        pass

    seen = []

    def spy(*args):
        seen.append(resolve_interval(*args))
        raise Resolved

    y = jnp.array([3.0, 4, 6, 5, 8, 9, 12, 11, 14, 13])
    with mock.patch("models.renewal.model.resolve_interval", side_effect=spy):
        for model in (epiestim_model, renewal_model):
            with pytest.raises(Resolved):
                model(y, gi_mean=3.0, gi_sd=2.0, gi_distribution="lognormal")
    assert len(seen) == 2 and all(np.array_equal(w, lognormal) for w in seen)
    problem = FAMILIES["renewal"].check_series(np.asarray(y), {"gi_distribution": "weibull"})
    assert problem is not None and "--gi-distribution: must be one of" in problem[1]


def test_discretised_interval_has_the_asked_mean(x64):
    # the triangle-kernel discretisation keeps the mean of the continuous interval
    w = np.asarray(discretise_gamma_interval(6.5, 4.0, 80))
    assert np.sum(np.arange(81) * w) == pytest.approx(6.5, abs=1e-6)


@pytest.mark.parametrize("interval, message", [
    ([0.2, 0.4, 0.4], "mass at lag 0 must be 0"),
    ([0.0, 0.5, 0.4], "must sum to 1"),
    ([0.0, 1.5, -0.5], "finite and >= 0"),
    ([1.0], "L >= 1"),
])
def test_check_interval_refuses_bad_vectors(interval, message):
    with pytest.raises(ValueError, match=message):
        check_interval(interval)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="seed"):
        renewal_infections(jnp.ones(3), jnp.array([0.0, 0.5, 0.5]), jnp.ones(3))
    with pytest.raises(ValueError, match="mean must be > 1"):
        discretise_gamma_interval(0.5, 1.0, 10)


def test_incomplete_gamma_equals_scipys():
    """The gamma discretisation's CDF, P(a, x) in plain float64 Python (series below
    a + 1, continued fraction above), against scipy.special.gammainc."""
    from scipy import special

    from patterns.renewal import regularised_lower_gamma

    x = np.concatenate([np.linspace(0.0, 5.0, 51), np.linspace(5.0, 400.0, 80)])
    for a in (0.05, 0.3, 1.0, 1.1378, 2.1378, 5.0, 20.0, 80.0):
        np.testing.assert_allclose(regularised_lower_gamma(a, x), special.gammainc(a, x),
                                   rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="a must be > 0, got 0.0"):
        regularised_lower_gamma(0.0, x)


def test_discretising_the_interval_starts_no_jax_backend():
    """The fit command checks the series (and so discretises the generation interval)
    before it sets JAX's CPU device count for parallel chains: the discretisation must not
    start JAX's backend, or `fit.py renewal --data FILE --chains 4` fails."""
    code = ("from models.renewal import resolve_interval; import jax; "
            "resolve_interval(None, 2.6, 1.5, None); "
            "resolve_interval(None, 2.6, 1.5, None, 'lognormal'); "
            "jax.config.update('jax_num_cpu_devices', 4); print(jax.device_count())")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.split()[-1] == "4", out.stderr[-2000:]
