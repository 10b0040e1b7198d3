"""The exact fast path's final state and pointwise terms against independent filters.

Oracles: the final state against :func:`patterns.sequential.kalman_filter` on the
state-space form (state and covariance recursion over the whole series, no steady state;
itself checked against statsmodels in ``test_arma_exact.py``); the pointwise terms against
statsmodels' ``llf_obs``. Lengths are chosen so the steady-state tail is shorter than,
equal to and longer than the state (r = max(p, q + 1)): every branch of the tail's state
formula runs.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_generate_sample

from models.arma.exact import arma_filter_state, arma_pointwise_loglik, arma_state_space
from patterns.sequential import kalman_filter

ORDERS = [(1, 0), (2, 1), (1, 2), (2, 3)]  # r = 1, 2, 3, 4


def _case(p, q, T, gaps, seed):
    rng = np.random.default_rng(seed)
    phi = np.array([0.5, -0.3, 0.1][:p])
    theta = np.array([0.4, 0.2, -0.1][:q])
    y = 1.5 + arma_generate_sample(np.r_[1.0, -phi], np.r_[1.0, theta], T,
                                   distrvs=rng.standard_normal)
    if gaps:
        y[rng.random(T) < 0.1] = np.nan
        y[T // 2] = np.nan
    return y, (1.5, phi, theta, 1.3)


@pytest.mark.parametrize("order", ORDERS, ids=[f"arma{p}{q}" for p, q in ORDERS])
def test_final_state_and_pointwise_terms_equal_full_filters(x64, order):
    p, q = order
    r = max(p, q + 1)
    state, pointwise = jax.jit(arma_filter_state), jax.jit(arma_pointwise_loglik)
    # the shortest head is 16 steps: T = 15 + r and 16 + r leave a steady-state tail of r - 1
    # and r steps; T = 70 a long one, with and without gaps (gaps move the head's end)
    for T, gaps in ((15 + r, False), (16 + r, False), (70, False), (70, True)):
        y, (mu, phi, theta, sigma) = _case(p, q, T, gaps, seed=10 * p + q + T)
        args = (jnp.asarray(y), mu, jnp.asarray(phi), jnp.asarray(theta), sigma)
        ssm = arma_state_space(*args[1:])
        filtered = jax.jit(kalman_filter)(ssm, args[0][:, None])
        transition = ssm.transition_matrix
        a_full = transition @ filtered.filtered_means[-1]
        P_full = transition @ filtered.filtered_covs[-1] @ transition.T + ssm.transition_cov
        a, P = state(*args)
        where = f"T={T} gaps={gaps}"
        np.testing.assert_allclose(a, a_full, rtol=1e-9, atol=1e-10, err_msg=where)
        np.testing.assert_allclose(P, P_full, rtol=1e-9, atol=1e-10, err_msg=where)

        if T != 70:
            continue  # the pointwise terms: the long tail, with and without gaps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = ARIMA(y, order=(p, 0, q), trend="c").filter(
                np.r_[mu, phi, theta, sigma**2]).llf_obs
        np.testing.assert_allclose(pointwise(*args), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=where)
