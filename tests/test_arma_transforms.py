"""PACF <-> stationary AR / invertible MA bijection and its NumPyro wrappers.

Oracles: statsmodels' ``constrain_stationary_univariate`` (its own Durbin-Levinson after
x / sqrt(1 + x^2)), polynomial roots from NumPy, and ``jax.jacfwd`` for the Jacobian.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.distributions.transforms import biject_to
from statsmodels.tsa.statespace.tools import constrain_stationary_univariate

from models.arma.transforms import (
    PACFToInvertibleMA,
    PACFToStationaryAR,
    coefficients_to_pacf,
    invertible_ma,
    pacf_log_abs_det_jacobian,
    pacf_to_coefficients,
    stationary_ar,
    stationary_ar_prior,
)

ORDERS = range(1, 9)


def random_pacf(p: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.98, 0.98, size=p)


@pytest.mark.parametrize("p", ORDERS)
def test_round_trip_and_statsmodels_agreement(x64, p):
    # five vectors as one batch (the functions take (..., p)): one pass of op dispatches
    pacf = np.stack([random_pacf(p, seed) for seed in range(5)])
    phi = np.asarray(pacf_to_coefficients(pacf))
    np.testing.assert_allclose(coefficients_to_pacf(phi), pacf, rtol=0, atol=1e-10)
    for one_pacf, one_phi in zip(pacf, phi, strict=True):
        # statsmodels maps x -> r = x / sqrt(1 + x^2) -> its Durbin-Levinson, whose sign
        # convention for the partial autocorrelation is the opposite: it takes -r.
        x = -one_pacf / np.sqrt(1 - one_pacf**2)
        np.testing.assert_allclose(one_phi, constrain_stationary_univariate(x), atol=1e-10)


@pytest.mark.parametrize("p", ORDERS)
def test_every_image_is_stationary_and_invertible(x64, p):
    pacf = np.random.default_rng(p).uniform(-0.999, 0.999, size=(50, p))
    phi = np.asarray(pacf_to_coefficients(pacf))
    theta = np.asarray(PACFToInvertibleMA()(pacf))
    for ar, ma in zip(phi, theta, strict=True):
        # numpy.roots wants the highest power first.
        ar_roots = np.roots(np.r_[-ar[::-1], 1.0])
        ma_roots = np.roots(np.r_[ma[::-1], 1.0])
        assert np.all(np.abs(ar_roots) > 1.0)
        assert np.all(np.abs(ma_roots) > 1.0)
    assert bool(jnp.all(stationary_ar(phi)))
    assert bool(jnp.all(invertible_ma(theta)))


@pytest.mark.parametrize("p", ORDERS)
def test_log_jacobian_equals_log_det_jacfwd(x64, p):
    # three points as one batch, each Jacobian by jacfwd of one vector (vmap), one compile
    pacf = jnp.asarray(np.stack([random_pacf(p, 10 + seed) for seed in range(3)]))
    transform = PACFToInvertibleMA()

    @jax.jit
    def closed_and_autodiff(pacf):
        log_det = jnp.linalg.slogdet(jax.vmap(jax.jacfwd(pacf_to_coefficients))(pacf))[1]
        log_det_ma = jnp.linalg.slogdet(jax.vmap(jax.jacfwd(transform))(pacf))[1]
        closed_ma = jax.vmap(lambda x: transform.log_abs_det_jacobian(x, transform(x)))(pacf)
        return jax.vmap(pacf_log_abs_det_jacobian)(pacf), log_det, closed_ma, log_det_ma

    closed, log_det, closed_ma, log_det_ma = closed_and_autodiff(pacf)
    assert closed.shape == log_det.shape == closed_ma.shape == (3,)
    np.testing.assert_allclose(closed, log_det, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(closed_ma, log_det_ma, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("constraint", [stationary_ar, invertible_ma], ids=["ar", "ma"])
def test_biject_to_maps_reals_onto_the_constraint_with_its_jacobian(x64, constraint):
    transform = biject_to(constraint)
    x = jnp.asarray(np.random.default_rng(4).normal(size=5) * 2.0)
    y = transform(x)
    assert bool(constraint(y))
    np.testing.assert_allclose(transform.inv(y), x, atol=1e-10)
    _, log_det = jnp.linalg.slogdet(jax.jacfwd(transform)(x))
    np.testing.assert_allclose(transform.log_abs_det_jacobian(x, y), log_det, rtol=1e-8)


def test_constraints_reject_non_stationary_and_non_invertible():
    assert bool(stationary_ar(jnp.array([0.5, 0.3])))
    assert not bool(stationary_ar(jnp.array([0.5, 0.6])))  # phi1 + phi2 > 1
    assert not bool(stationary_ar(jnp.array([1.2])))
    assert bool(invertible_ma(jnp.array([0.9])))
    assert not bool(invertible_ma(jnp.array([-1.94])))  # the mode the issue warns about
    np.testing.assert_array_equal(stationary_ar(jnp.array([[0.5], [1.5]])), [True, False])


def test_uniform_pacf_prior_density(x64):
    # p = 2: phi = (r1 (1 - r2), r2), r ~ U(-1, 1)^2, so p(phi) = 1 / (4 (1 - r2)).
    phi = PACFToStationaryAR()(jnp.array([0.3, -0.6]))
    np.testing.assert_allclose(stationary_ar_prior(2).log_prob(phi), -np.log(4 * 1.6),
                               rtol=1e-12)
    np.testing.assert_allclose(stationary_ar_prior(1).log_prob(jnp.array([0.7])), np.log(0.5),
                               rtol=1e-12)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="need shape"):
        pacf_to_coefficients(0.5)
    with pytest.raises(ValueError, match="p must be >= 1"):
        stationary_ar_prior(0)
