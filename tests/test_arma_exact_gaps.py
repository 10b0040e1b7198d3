"""The exact ARMA likelihood on series with values missing at random (issue 13).

With a gap late in the series the fast path cannot reach its steady state before the end,
and the whole series goes through the full filter carried with forward sensitivities
(``models.arma.exact._sensitivity_loglik``). Oracles: statsmodels'
``ARIMA(..., trend="c").loglike`` for the values, JAX's reverse mode through the generic
sequential Kalman filter (:mod:`patterns.sequential`) for the gradients.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma.exact import arma_exact_loglik

T = 2000


def _series(p, q, fraction, seed):
    rng = np.random.default_rng(seed)
    phi, theta = np.array([0.5, -0.3][:p]), np.array([0.4, 0.2][:q])
    y = 2.0 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], T,
                                   distrvs=rng.standard_normal)
    y[rng.random(T) < fraction] = np.nan
    y[-1] = np.nan  # a gap at the very end: the steady state is never reached
    return y, (2.1, phi * 0.9, theta * 0.9, 1.1)


def _statsmodels(y, mu, phi, theta, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ARIMA(y, order=(len(phi), 0, len(theta)), trend="c")
        return model.loglike(np.r_[mu, phi, theta, sigma**2])


@pytest.mark.parametrize("order", [(1, 1), (2, 1)], ids=["arma11", "arma21"])
def test_missing_at_random_values_and_gradients(x64, order):
    p, q = order
    fast = jax.jit(jax.value_and_grad(arma_exact_loglik, argnums=(1, 2, 3, 4)))
    reference = jax.jit(jax.value_and_grad(
        lambda *a: arma_exact_loglik(*a, method="sequential"), argnums=(1, 2, 3, 4)))
    for fraction, seed in ((0.01, 1), (0.05, 2)):
        y, (mu, phi, theta, sigma) = _series(p, q, fraction, seed)
        args = (jnp.asarray(y), jnp.asarray(mu), jnp.asarray(phi), jnp.asarray(theta),
                jnp.asarray(sigma))
        value, grads = fast(*args)
        np.testing.assert_allclose(value, _statsmodels(y, mu, phi, theta, sigma), rtol=1e-8)
        _, expected = reference(*args)
        for got, want in zip(grads, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10,
                                       err_msg=f"missing {fraction}")


def test_missing_at_random_under_vmap_and_with_a_data_tangent(x64):
    # vmap over parameters (vectorised chains); the derivative w.r.t. y (not what the
    # models need) falls back to JAX's own derivative of the same filter.
    y, (mu, phi, _, sigma) = _series(1, 1, 0.05, 3)
    y = jnp.asarray(y[:300]).at[-1].set(jnp.nan)
    thetas = jnp.array([[0.2], [0.9], [1.5]])  # the last one not invertible

    def batched(method):
        return jax.vmap(jax.value_and_grad(
            lambda th: arma_exact_loglik(y, mu, jnp.asarray(phi), th, sigma, method=method)
        ))(thetas)

    (values, grads), (values_ref, grads_ref) = batched("fast"), batched("sequential")
    np.testing.assert_allclose(values, values_ref, rtol=1e-10)
    np.testing.assert_allclose(grads, grads_ref, rtol=1e-8)

    def data_grad(method):
        return jax.grad(lambda y_: arma_exact_loglik(
            y_, mu, jnp.asarray(phi), jnp.array([0.4]), sigma, method=method))(y)

    got, want = data_grad("fast"), data_grad("sequential")
    observed = ~jnp.isnan(y)
    np.testing.assert_allclose(got[observed], want[observed], rtol=1e-8, atol=1e-12)
