"""A simulated panel of ARMA(p, q) series: the demo and test data of the many-series fit.

Each series' parameters are drawn from a population (the law a hierarchical model would
put on them): partial autocorrelations ``tanh(Normal(loc, scale))``, mapped to phi and
theta as :class:`~models.arma.transforms.PACFToStationaryAR` and
:class:`~models.arma.transforms.PACFToInvertibleMA` map them (so every series is stationary
and invertible), ``log sigma ~ Normal(log_sigma_loc, log_sigma_scale)``,
``mu ~ Normal(mu_loc, mu_scale)``; the series are drawn from the exact stationary law.

Example:
    >>> import jax
    >>> panel = simulate_arma_panel(jax.random.PRNGKey(0), 3, 50)
    >>> print(panel.y.shape, panel.phi.shape, panel.theta.shape, panel.sigma.shape)
    (3, 50) (3, 1) (3, 1) (3,)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from models.arma.distribution import simulate_stationary_arma
from models.arma.transforms import pacf_to_coefficients

__all__ = ["ARMAPanel", "Population", "simulate_arma_panel"]


class Population(NamedTuple):
    """Where the series' parameters come from (each entry a scalar or a (p,) / (q,) array
    for the partial autocorrelations)."""

    ar_loc: float = 0.6
    ar_scale: float = 0.3
    ma_loc: float = -0.3  # theta = -tanh(-0.3 + ...), about 0.3
    ma_scale: float = 0.3
    log_sigma_loc: float = 0.0
    log_sigma_scale: float = 0.3
    mu_loc: float = 10.0
    mu_scale: float = 2.0


class ARMAPanel(NamedTuple):
    """S series of length T and the parameters each was drawn with."""

    y: Array  # (S, T)
    mu: Array  # (S,)
    phi: Array  # (S, p)
    theta: Array  # (S, q)
    sigma: Array  # (S,)


def simulate_arma_panel(rng_key: Array, num_series: int, num_steps: int, *,
                        order: tuple[int, int] = (1, 1),
                        population: Population | None = None) -> ARMAPanel:
    """Draw S series' parameters from ``population``, then each series.

    Args:
        rng_key: the key.
        num_series: S >= 1.
        num_steps: T >= 1.
        order: (p, q).
        population: :class:`Population`; default ``Population()``.

    Returns:
        :class:`ARMAPanel`.

    The example is the module's.
    """
    p, q = order
    if num_series < 1 or num_steps < 1 or p < 0 or q < 0:
        raise ValueError(f"simulate_arma_panel: need num_series >= 1, num_steps >= 1 and an "
                         f"order of two integers >= 0, got {num_series}, {num_steps}, {order}")
    keys = jax.random.split(rng_key, 5)
    pop = population if population is not None else Population()
    normal = jax.random.normal
    ar = pacf_to_coefficients(jnp.tanh(pop.ar_loc + pop.ar_scale
                                       * normal(keys[0], (num_series, p))))
    # the package's conventions (models.arma.transforms): phi from the AR partial
    # autocorrelations, theta = -(coefficients from the MA ones)
    ma = -pacf_to_coefficients(jnp.tanh(pop.ma_loc + pop.ma_scale
                                        * normal(keys[1], (num_series, q))))
    sigma = jnp.exp(pop.log_sigma_loc + pop.log_sigma_scale * normal(keys[2], (num_series,)))
    mu = pop.mu_loc + pop.mu_scale * normal(keys[3], (num_series,))
    y = jax.vmap(lambda k, m, a, b, s: simulate_stationary_arma(k, m, a, b, s, num_steps))(
        jax.random.split(keys[4], num_series), mu, ar, ma, sigma)
    return ARMAPanel(y, mu, ar, ma, sigma)
