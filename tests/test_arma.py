"""Conditional ARMA: the scan against plain Python loops, and robustness at bad points."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS, Predictive, init_to_uniform
from numpyro.infer.util import initialize_model

from models import ConditionalARMA, arma_conditional_loglik, arma_model, arma_residuals


def loop_loglik(y, mu, phi, theta, sigma, initial_y=None, xp=np):
    """Transcription of the Stan program, one time step per Python iteration."""
    p, q = len(phi), len(theta)
    history = [mu] * p if initial_y is None else list(initial_y)  # time order
    errors = []
    total = 0.0
    for t in range(len(y)):
        nu = mu
        for i in range(p):
            nu = nu + phi[i] * history[-1 - i]
        for j in range(q):
            if j < len(errors):
                nu = nu + theta[j] * errors[-1 - j]
        err = y[t] - nu
        errors.append(err)
        history.append(y[t])
        total = total - 0.5 * (err / sigma) ** 2 - xp.log(sigma) - 0.5 * np.log(2 * np.pi)
    return total


def random_case(seed, p, q, T, condition):
    rng = np.random.default_rng(seed)
    # keep the MA part well inside the invertible region so the loop's float64 error stays
    # at rounding level over 500 steps
    phi = rng.uniform(-0.5, 0.5, p)
    theta = rng.uniform(-0.5, 0.5, q)
    y = rng.normal(size=T).cumsum() * 0.1 + rng.normal(size=T)
    mu, sigma = rng.normal(), rng.uniform(0.5, 2.0)
    initial_y = rng.normal(size=p) if condition else None
    return y, mu, phi, theta, sigma, initial_y


CASES = [
    (seed, p, q, T, condition)
    for seed, (p, q, T, condition) in enumerate(
        [(0, 0, 5, False), (1, 0, 50, False), (0, 1, 50, False), (1, 1, 200, False),
         (2, 1, 500, False), (3, 3, 500, True), (2, 3, 120, True), (3, 0, 300, True),
         (0, 3, 80, False), (3, 2, 40, True), (1, 2, 500, False), (2, 2, 7, True)]
    )
]


@pytest.mark.parametrize(("seed", "p", "q", "T", "condition"), CASES)
def test_scan_equals_python_loop_values(x64, seed, p, q, T, condition):
    y, mu, phi, theta, sigma, initial_y = random_case(seed, p, q, T, condition)
    expected = loop_loglik(y, mu, phi, theta, sigma, initial_y)
    got = arma_conditional_loglik(jnp.asarray(y), mu, jnp.asarray(phi), jnp.asarray(theta),
                                  sigma, initial_y=initial_y)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(float(got), expected, rtol=1e-12)


@pytest.mark.parametrize(("seed", "p", "q", "T", "condition"), CASES[1::2])
def test_scan_equals_python_loop_gradients(x64, seed, p, q, T, condition):
    y, mu, phi, theta, sigma, initial_y = random_case(seed, p, q, T, condition)
    y = jnp.asarray(y)
    args = (jnp.asarray(mu), jnp.asarray(phi), jnp.asarray(theta), jnp.asarray(sigma))

    def by_scan(mu, phi, theta, sigma):
        return arma_conditional_loglik(y, mu, phi, theta, sigma, initial_y=initial_y)

    got = jax.grad(by_scan, argnums=(0, 1, 2, 3))(*args)
    expected = complex_step_gradient(
        lambda mu, phi, theta, sigma: loop_loglik(np.asarray(y), mu, phi, theta, sigma,
                                                  initial_y),
        [np.asarray(a, dtype=float) for a in args])
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-12, atol=1e-12)


def complex_step_gradient(f, args: list[np.ndarray], step: float = 1e-30) -> list[np.ndarray]:
    """Gradient of a real-analytic f (written with NumPy, e.g. the Python loop) by the
    complex step, d f / d x_k = Im f(x + i h e_k) / h: no subtraction, so exact to rounding
    at h = 1e-30 (Squire & Trapp 1998), and independent of JAX's autodiff."""
    gradient = []
    for k, arg in enumerate(args):
        flat = np.zeros(arg.size)
        for i in range(arg.size):
            shifted = arg.astype(complex).ravel()
            shifted[i] += 1j * step
            moved = [*args[:k], shifted.reshape(arg.shape), *args[k + 1:]]
            flat[i] = np.imag(f(*moved)) / step
        gradient.append(flat.reshape(arg.shape))
    return gradient


def test_residuals_start_from_mu_by_default(x64):
    # posteriordb arma11: nu[1] = mu + phi * mu, err[1] = y[1] - nu[1]; then the MA term uses it
    y = jnp.array([1.0, 2.0])
    err = arma_residuals(y, 0.5, jnp.array([0.8]), jnp.array([0.3]))
    e1 = 1.0 - (0.5 + 0.8 * 0.5)
    e2 = 2.0 - (0.5 + 0.8 * 1.0 + 0.3 * e1)
    np.testing.assert_allclose(np.asarray(err), [e1, e2], rtol=1e-15)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="shapes"):
        arma_residuals(jnp.ones(4), 0.0, jnp.ones((1, 1)), jnp.zeros(0))
    with pytest.raises(ValueError, match="initial_y"):
        arma_residuals(jnp.ones(4), 0.0, jnp.ones(2), jnp.zeros(0), initial_y=jnp.ones(3))
    with pytest.raises(ValueError, match="too short"):
        numpyro.handlers.seed(arma_model, 0)(jnp.ones(2), order=(2, 0), condition_on_first=True)


def test_overflowing_recursion_gives_minus_infinity_not_nan():
    # float32, |theta| = 1.9: the errors grow like 1.9^t and overflow long before t = 500
    y = jnp.sin(jnp.arange(500.0))
    d = ConditionalARMA(0.0, jnp.array([0.1]), jnp.array([-1.9]), 1.0, num_steps=500,
                        validate_args=True)
    assert not bool(jnp.all(jnp.isfinite(arma_residuals(y, 0.0, d.phi, d.theta))))
    assert float(d.log_prob(y)) == -np.inf


@pytest.mark.slow
def test_initialisation_survives_points_outside_the_invertible_region(rng_key):
    """NumPyro's default init draws phi, theta uniformly in (-2, 2): most draws are not
    invertible and, in float32 at T = 500 (|theta|^T > 3e38 once |theta| > 1.2), overflow.
    Init must reject them and go on."""
    key_data, key_init, key_mcmc = jax.random.split(rng_key, 3)
    truth = {"intercept": jnp.array(0.2), "phi": jnp.array([0.5]), "theta": jnp.array([0.3]),
             "sigma": jnp.array(1.0)}
    y = Predictive(arma_model, truth, batch_ndims=0)(key_data, num_steps=500)["y"]
    assert y.dtype == jnp.float32
    with numpyro.validation_enabled():
        info = initialize_model(key_init, arma_model, model_args=(y,),
                                init_strategy=init_to_uniform(radius=2))
        assert np.isfinite(float(info.potential_fn(info.param_info.z)))
        # two chains, each started by the same rejecting init (the check above is the one
        # on the init itself); the means below only need a short run
        mcmc = MCMC(NUTS(arma_model), num_warmup=150, num_samples=150, num_chains=2,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(key_mcmc, y)
    post = mcmc.get_samples()
    assert abs(float(post["theta"].mean()) - 0.3) < 0.15
    assert abs(float(post["phi"].mean()) - 0.5) < 0.15


def test_sample_has_the_density_log_prob_scores(x64, rng_key):
    """Simulated paths reproduce their own shocks as residuals, so sample and log_prob
    describe the same distribution."""
    d = ConditionalARMA(0.3, jnp.array([0.6, -0.2]), jnp.array([0.4]), 0.7, num_steps=50)
    paths = d.sample(rng_key, (3,))
    assert paths.shape == (3, 50)
    shocks = jax.vmap(lambda k: 0.7 * jax.random.normal(k, (50,)))(jax.random.split(rng_key, 3))
    residuals = jax.vmap(lambda y: arma_residuals(y, 0.3, d.phi, d.theta))(paths)
    np.testing.assert_allclose(np.asarray(residuals), np.asarray(shocks), atol=1e-12)
    expected = dist.Normal(0, 0.7).log_prob(shocks).sum(-1)
    np.testing.assert_allclose(np.asarray(jax.vmap(d.log_prob)(paths)), np.asarray(expected),
                               rtol=1e-12)
