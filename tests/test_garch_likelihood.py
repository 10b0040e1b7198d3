"""GARCH(p, q) log-likelihood, variances and forecasts against oracles nobody here wrote:
a plain Python loop of the textbook recursion, and the ``arch`` package (Kevin Sheppard)
at the same parameters and the same initial variance."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.volatility import (
    arch_backcast,
    garch_forecast_variance,
    garch_loglik,
    garch_variances,
)

arch = pytest.importorskip("arch")

ORDERS = [(1, 1), (1, 2), (2, 1), (2, 2)]


def simulated_returns(seed: int, num_steps: int = 300) -> np.ndarray:
    """A GARCH(1,1)-like series (its own loop, not ours), mean 0.2."""
    rng = np.random.default_rng(seed)
    y, s2, e_prev = np.empty(num_steps), 1.0, 0.0
    for t in range(num_steps):
        s2 = 0.1 + 0.15 * e_prev**2 + 0.75 * s2
        e_prev = math.sqrt(s2) * rng.standard_normal()
        y[t] = 0.2 + e_prev
    return y


def parameters(p: int, q: int, dist: str) -> np.ndarray:
    """arch's parameter vector: mu, omega, alpha_1..p, beta_1..q (, nu)."""
    values = [0.15, 0.12, *np.linspace(0.12, 0.05, p), *np.linspace(0.6, 0.1, q)[:q]]
    if q == 2:
        values[-2:] = [0.5, 0.15]
    return np.array(values + ([6.5] if dist == "t" else []))


def loop_loglik(y, mu, omega, alpha, beta, v0, nu=None, start="presample"):
    """The recursion and density written out, one Python float at a time."""
    e = [float(v) - mu for v in y]
    s2: list[float] = []
    total = 0.0
    for t in range(len(e)):
        if start == "first" and t == 0:
            var = v0
        else:
            var = omega
            for i, a in enumerate(alpha):
                var += a * (e[t - 1 - i] ** 2 if t - 1 - i >= 0 else v0)
            for j, b in enumerate(beta):
                var += b * (s2[t - 1 - j] if t - 1 - j >= 0 else v0)
        s2.append(var)
        if nu is None:
            total += -0.5 * (math.log(2 * math.pi) + math.log(var) + e[t] ** 2 / var)
        else:
            total += (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)
                      - 0.5 * math.log(math.pi * (nu - 2)) - 0.5 * math.log(var)
                      - (nu + 1) / 2 * math.log(1 + e[t] ** 2 / (var * (nu - 2))))
    return total, np.array(s2)


def split(params, p, q, dist):
    nu = params[-1] if dist == "t" else None
    return params[0], params[1], params[2:2 + p], params[2 + p:2 + p + q], nu


@pytest.mark.parametrize(
    ("order", "dist", "start"),
    [(order, dist, "presample") for order in ORDERS for dist in ("normal", "t")]
    + [((1, 1), "normal", "first"), ((2, 2), "t", "first")],
)
def test_loglik_equals_a_python_loop(x64, order, dist, start):
    p, q = order
    y = simulated_returns(1, 120)
    mu, omega, alpha, beta, nu = split(parameters(p, q, dist), p, q, dist)
    expected, expected_s2 = loop_loglik(y, mu, omega, alpha, beta, 0.9, nu, start)
    got = garch_loglik(jnp.asarray(y), mu, omega, alpha, beta, 0.9, nu=nu, start=start)
    assert abs(float(got) - expected) < 1e-12 * max(1.0, abs(expected))
    s2 = garch_variances(jnp.asarray(y - mu), omega, alpha, beta, 0.9, start=start)
    np.testing.assert_allclose(np.asarray(s2), expected_s2, rtol=1e-13)


def test_garch11_linear_recurrence_path_equals_the_general_scan(x64):
    """GARCH(1,1) goes through patterns.sequential.linear_recurrence; (1, 1) padded with a
    zero second lag goes through the general scan: same variances, same gradients."""
    e = jnp.asarray(simulated_returns(2, 80) - 0.2)

    def both(theta, start):
        omega, alpha, beta, v0 = theta
        fast = garch_variances(e, omega, alpha[None], beta[None], v0, start=start)
        scan = garch_variances(e, omega, jnp.stack([alpha, 0.0]), jnp.stack([beta, 0.0]), v0,
                               start=start)
        return fast, scan

    theta = jnp.array([0.1, 0.2, 0.7, 1.3])
    for start in ("presample", "first"):
        fast, scan = both(theta, start)
        np.testing.assert_allclose(fast, scan, rtol=1e-14)
    g_fast = jax.grad(lambda th: jnp.sum(jnp.log(both(th, "presample")[0])))(theta)
    g_scan = jax.grad(lambda th: jnp.sum(jnp.log(both(th, "presample")[1])))(theta)
    np.testing.assert_allclose(g_fast, g_scan, rtol=1e-12)


@pytest.mark.parametrize("dist", ["normal", "t"])
def test_gradient_equals_finite_differences_of_the_loop(x64, dist):
    p, q = 2, 1
    y = simulated_returns(3, 60)
    params = parameters(p, q, dist)

    def ours(theta):
        mu, omega, alpha, beta, nu = split(theta, p, q, dist)
        return garch_loglik(jnp.asarray(y), mu, omega, alpha, beta, 0.8, nu=nu)

    grad = np.asarray(jax.grad(ours)(jnp.asarray(params)))
    step = 1e-6
    for k in range(params.size):
        up, down = params.copy(), params.copy()
        up[k] += step
        down[k] -= step
        numeric = (loop_loglik(y, *split(up, p, q, dist)[:4], 0.8, split(up, p, q, dist)[4])[0]
                   - loop_loglik(y, *split(down, p, q, dist)[:4], 0.8,
                                 split(down, p, q, dist)[4])[0]) / (2 * step)
        assert abs(grad[k] - numeric) < 1e-5 * max(1.0, abs(numeric)), (k, grad[k], numeric)


def arch_model(y, p, q, dist):
    return arch.arch_model(y, mean="Constant", vol="GARCH", p=p, q=q, dist=dist,
                           rescale=False)


@pytest.mark.parametrize("dist", ["normal", "t"])
@pytest.mark.parametrize("order", ORDERS)
def test_loglik_equals_arch_with_its_backcast(x64, order, dist):
    """arch's ``fix(params)``: the variance recursion started at its backcast (computed
    from y - mean(y)); ours with ``initial_variance="backcast"``."""
    p, q = order
    y = simulated_returns(4)
    params = parameters(p, q, dist)
    fixed = arch_model(y, p, q, dist).fix(params)
    mu, omega, alpha, beta, nu = split(params, p, q, dist)
    ours = garch_loglik(jnp.asarray(y), mu, omega, alpha, beta, "backcast", nu=nu)
    assert abs(float(ours) - fixed.loglikelihood) < 1e-8
    e = jnp.asarray(y - mu)
    s2 = garch_variances(e, omega, alpha, beta, arch_backcast(jnp.asarray(y - y.mean())))
    np.testing.assert_allclose(np.sqrt(np.asarray(s2)), fixed.conditional_volatility,
                               rtol=1e-10)


@pytest.mark.parametrize("dist", ["normal", "t"])
@pytest.mark.parametrize("order", ORDERS)
def test_loglik_equals_arch_with_a_fixed_initial_variance(x64, order, dist):
    """arch's ``fit(backcast=v0)`` starts its recursion at the fixed ``v0``: our
    log-likelihood at its estimates and the same ``v0`` equals its maximum."""
    p, q = order
    y = simulated_returns(5)
    v0 = 2.7
    result = arch_model(y, p, q, dist).fit(backcast=v0, disp="off")
    mu, omega, alpha, beta, nu = split(np.asarray(result.params), p, q, dist)
    ours = garch_loglik(jnp.asarray(y), mu, omega, alpha, beta, v0, nu=nu)
    assert abs(float(ours) - result.loglikelihood) < 1e-8


@pytest.mark.parametrize("order", ORDERS)
def test_variance_forecasts_equal_arch(x64, order):
    p, q = order
    y = simulated_returns(6)
    params = parameters(p, q, "normal")
    forecast = arch_model(y, p, q, "normal").fix(params).forecast(horizon=7, reindex=False)
    mu, omega, alpha, beta, _ = split(params, p, q, "normal")
    e = jnp.asarray(y - mu)
    s2 = garch_variances(e, omega, alpha, beta, arch_backcast(jnp.asarray(y - y.mean())))
    ours = garch_forecast_variance(e, s2, omega, alpha, beta, 7)
    np.testing.assert_allclose(np.asarray(ours), forecast.variance.to_numpy()[-1], rtol=0,
                               atol=1e-8)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="alpha must have shape"):
        garch_variances(jnp.zeros(3), 0.1, 0.2, jnp.array([0.7]), 1.0)
    with pytest.raises(ValueError, match="start must be"):
        garch_variances(jnp.zeros(3), 0.1, jnp.array([0.2]), jnp.array([0.7]), 1.0,
                        start="zero")
    with pytest.raises(ValueError, match="initial_variance must be"):
        garch_loglik(jnp.zeros(3), 0.0, 0.1, jnp.array([0.2]), jnp.array([0.7]), "sample")
    with pytest.raises(ValueError, match="horizon"):
        garch_forecast_variance(jnp.zeros(3), jnp.ones(3), 0.1, jnp.array([0.2]),
                                jnp.array([0.7]), 0)
