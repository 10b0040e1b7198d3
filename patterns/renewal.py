"""Renewal-equation kernels: generation intervals, the renewal scan, causal convolutions.

The renewal equation (Fraser 2007; Cori et al. 2013) says that the infections of day t are
the infections of the past days, weighted by the generation interval g, times the
reproduction number of day t::

    I_t = R_t * sum_{s >= 1} g_s I_{t-s}

It is a recursion (today's infections feed tomorrow's), so it is a ``lax.scan``; the carry is
a fixed-length buffer of the last ``L`` infections, newest first, updated with ``.at`` by
:func:`patterns.updates.push_lag`. Three kernels:

* :func:`discretise_gamma_interval` -- EpiEstim's discretisation (``discr_si``) of a gamma
  generation interval with a given mean and sd, and :func:`discretise_lognormal_interval`
  the same discretisation of a log-normal one; :func:`check_interval` checks a user-given
  one (sums to one, no mass at lag 0);
* :func:`renewal_infections` -- the renewal scan (latent infections from R_t and a seed);
* :func:`infection_pressure` -- ``Lambda_t = sum_{s>=1} g_s x_{t-s}`` of a given series by the
  same buffer scan (EpiEstim's "total infectiousness" of observed incidence);
* :func:`causal_convolve` -- ``sum_{d>=0} p_d x_{t-d}`` (a reporting delay), one dot product
  per day mapped over the days with ``vmap``.
"""

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from patterns.updates import push_lag

__all__ = [
    "causal_convolve",
    "check_interval",
    "discretise_gamma_interval",
    "discretise_lognormal_interval",
    "infection_pressure",
    "regularised_lower_gamma",
    "renewal_infections",
]

#: How far a generation interval's total may be from one.
INTERVAL_TOLERANCE = 1e-6


def regularised_lower_gamma(a: float, x: ArrayLike) -> np.ndarray:
    """The regularised lower incomplete gamma function P(a, x), the CDF at x of a
    Gamma(a, 1) variable, elementwise, in float64 Python arithmetic (no JAX: a
    data-preparation step). For x < a + 1 the series ``P = e^{-x} x^a / Gamma(a) *
    sum_n x^n / (a (a + 1) ... (a + n))``; beyond, 1 - Q with Q's continued fraction
    (Legendre's, evaluated by the modified Lentz method). Both to double precision.

    Args:
        a: shape, > 0.
        x: points, any shape (values <= 0 give 0).

    Returns:
        P(a, x), float64, the shape of x.

    Example:
        >>> p = regularised_lower_gamma(1.0, [0.0, 1.0, 30.0])  # Gamma(1): 1 - e^{-x}
        >>> print([round(float(v), 12) for v in p])
        [0.0, 0.632120558829, 1.0]
    """
    if not a > 0:
        raise ValueError(f"regularised_lower_gamma: a must be > 0, got {a}")
    log_gamma_a = math.lgamma(a)

    def one(value: float) -> float:
        if value <= 0.0:
            return 0.0
        front = math.exp(a * math.log(value) - value - log_gamma_a)
        if value < a + 1.0:
            term = total = 1.0 / a
            n = 0
            while abs(term) > abs(total) * 1e-17 and n < 10_000:
                n += 1
                term *= value / (a + n)
                total += term
            return front * total
        tiny = 1e-300
        b_n = value + 1.0 - a
        c, d = 1.0 / tiny, 1.0 / b_n
        h = d
        for i in range(1, 10_000):
            a_n = -i * (i - a)
            b_n += 2.0
            d = a_n * d + b_n
            d = tiny if abs(d) < tiny else d
            c = b_n + a_n / c
            c = tiny if abs(c) < tiny else c
            d = 1.0 / d
            delta = d * c
            h *= delta
            if abs(delta - 1.0) < 1e-16:
                break
        return 1.0 - front * h

    x = np.asarray(x, dtype=np.float64)
    return np.vectorize(one, otypes=[np.float64])(x) if x.size else np.zeros(x.shape)


def discretise_gamma_interval(mean: float, sd: float, max_lag: int,
                              normalise: bool = True) -> np.ndarray:
    """EpiEstim's discretised serial/generation interval (``discr_si``; Cori et al. 2013,
    Web Appendix 11).

    The interval is 1 + a gamma variable with mean ``mean - 1`` and sd ``sd``; the mass at
    lag k is the integral of the gamma density against the triangle kernel of width two
    centred on k, which in closed form is::

        w_k = k F_a(k) + (k-2) F_a(k-2) - 2 (k-1) F_a(k-1)
              + a b (2 F_{a+1}(k-1) - F_{a+1}(k-2) - F_{a+1}(k))

    with shape a = ((mean - 1) / sd)^2, scale b = sd^2 / (mean - 1) and F_a the gamma
    cdf of shape a and scale b (0 at negative arguments). w_0 = 0: no mass at lag 0.

    Args:
        mean: mean of the interval in days, > 1.
        sd: standard deviation in days, > 0.
        max_lag: the last lag kept (the mass beyond it is dropped).
        normalise: divide by the total so the vector sums to one (the dropped tail is
            spread pro rata); ``False`` gives EpiEstim's numbers as they are.

    Returns:
        float64 NumPy array, shape (max_lag + 1,), lag 0 first (computed once, before any
        tracing, so NumPy and SciPy's incomplete gamma function).

    Example:
        >>> w = discretise_gamma_interval(2.6, 1.5, 32, normalise=False)
        >>> print(w.shape, float(w[0]), round(float(w[1]), 4), round(float(w[2]), 4))
        (33,) 0.0 0.2332 0.3586
    """
    _check_interval_moments("discretise_gamma_interval", mean, sd, max_lag)
    a = ((mean - 1.0) / sd) ** 2
    b = sd**2 / (mean - 1.0)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        # a data-preparation step, in float64 Python arithmetic: no JAX operation, so it
        # runs before the fit command sets up JAX's devices (one CPU device per chain)
        return regularised_lower_gamma(shape, np.maximum(x, 0.0) / b)

    # E[X; X <= x] = a b F_{a+1}(x) for a gamma X
    return _triangle_discretisation(lambda x: cdf(x, a), lambda x: a * b * cdf(x, a + 1),
                                    max_lag, normalise)


def discretise_lognormal_interval(mean: float, sd: float, max_lag: int,
                                  normalise: bool = True) -> np.ndarray:
    """A log-normal generation interval discretised as EpiEstim discretises a gamma one
    (:func:`discretise_gamma_interval`): 1 + a log-normal variable X with mean
    ``mean - 1`` and sd ``sd``, its density integrated against the triangle kernel of
    width two centred on each lag, so the discretised mean is ``mean``.

    With ``G(x) = integral_0^x F(u) du = x F(x) - E[X; X <= x]`` the mass at lag k is the
    second difference ``G(k) - 2 G(k-1) + G(k-2)``; for the log-normal,
    ``F(x) = Phi((log x - m) / s)`` and ``E[X; X <= x] = exp(m + s^2 / 2)
    Phi((log x - m - s^2) / s)``, with ``s^2 = log(1 + sd^2 / (mean - 1)^2)`` and
    ``m = log(mean - 1) - s^2 / 2``.

    Args:
        mean: mean of the interval in days, > 1.
        sd: standard deviation in days, > 0.
        max_lag: the last lag kept (the mass beyond it is dropped).
        normalise: divide by the total so the vector sums to one.

    Returns:
        float64 NumPy array, shape (max_lag + 1,), lag 0 first (0 there).

    Example:
        >>> w = discretise_lognormal_interval(2.6, 1.5, 400, normalise=False)
        >>> print(float(w[0]), round(float(w[1]), 4), round(float(w.sum()), 9))
        0.0 0.1646 1.0
        >>> print(round(float(w @ range(401)), 6))  # the mean is kept
        2.6
    """
    _check_interval_moments("discretise_lognormal_interval", mean, sd, max_lag)
    s2 = math.log1p(sd**2 / (mean - 1.0) ** 2)
    m, s = math.log(mean - 1.0) - s2 / 2, math.sqrt(s2)
    normal_cdf = np.vectorize(lambda z: 0.5 * math.erfc(-z / math.sqrt(2.0)), otypes=[float])

    def log_of(x: np.ndarray) -> np.ndarray:
        return np.log(np.where(x > 0, x, 1.0))

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, normal_cdf((log_of(x) - m) / s), 0.0)

    def partial_mean(x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, math.exp(m + s2 / 2) * normal_cdf((log_of(x) - m - s2) / s),
                        0.0)

    return _triangle_discretisation(cdf, partial_mean, max_lag, normalise)


def _check_interval_moments(name: str, mean: float, sd: float, max_lag: int) -> None:
    if not mean > 1:
        raise ValueError(f"{name}: mean must be > 1 day, got {mean}")
    if not sd > 0:
        raise ValueError(f"{name}: sd must be > 0, got {sd}")
    if max_lag < 1:
        raise ValueError(f"{name}: max_lag must be >= 1, got {max_lag}")


def _triangle_discretisation(cdf: Callable[[np.ndarray], np.ndarray],
                             partial_mean: Callable[[np.ndarray], np.ndarray], max_lag: int,
                             normalise: bool) -> np.ndarray:
    """Masses at lags 0..max_lag of 1 + X, X >= 0 with ``cdf`` and ``partial_mean``
    ``x -> E[X; X <= x]`` (both 0 for x <= 0): the second differences of
    ``G(x) = x F(x) - E[X; X <= x]`` at k, k - 1, k - 2."""
    k = np.arange(max_lag + 1, dtype=np.float64)

    def integrated_cdf(x: np.ndarray) -> np.ndarray:
        return x * cdf(x) - partial_mean(x)

    w = integrated_cdf(k) - 2 * integrated_cdf(k - 1) + integrated_cdf(k - 2)
    w = np.maximum(w, 0.0)
    return w / np.sum(w) if normalise else w


def check_interval(interval: ArrayLike, name: str = "generation_interval") -> np.ndarray:
    """Check a discretised generation interval given by hand: a vector (lag 0 first) of
    non-negative masses, 0 at lag 0, summing to one within 1e-6.

    Args:
        interval: shape (L + 1,), L >= 1.
        name: the argument's name in the error message.

    Returns:
        the interval as a float64 NumPy array.

    Example:
        >>> print(check_interval([0.0, 0.5, 0.5]))
        [0.  0.5 0.5]
        >>> check_interval([0.1, 0.5, 0.4])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: generation_interval: the mass at lag 0 must be 0 ...
    """
    w = np.asarray(interval, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] < 2:
        raise ValueError(f"{name}: need a vector of masses at lags 0, 1, ..., L with L >= 1, "
                         f"got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name}: masses must be finite and >= 0, got {w.tolist()}")
    if w[0] != 0:
        raise ValueError(f"{name}: the mass at lag 0 must be 0 (an infection cannot cause "
                         f"another on the same day), got {w[0]:g} (the vector starts at lag 0)")
    total = float(np.sum(w))
    if abs(total - 1.0) > INTERVAL_TOLERANCE:
        raise ValueError(f"{name}: masses must sum to 1 (within {INTERVAL_TOLERANCE:g}), "
                         f"got {total:.6g}")
    return w


def renewal_infections(reproduction: ArrayLike, interval: ArrayLike, seed: ArrayLike) -> Array:
    """Infections from the renewal equation ``I_t = R_t sum_{s>=1} g_s I_{t-s}``, by one
    ``lax.scan`` whose carry is the buffer of the last L infections (newest first),
    updated with ``.at`` (:func:`patterns.updates.push_lag`).

    Args:
        reproduction: R_t for the T days to compute, shape (T,).
        interval: g, shape (L + 1,), lag 0 first (g_0 is not used).
        seed: infections of the L days before the first, oldest first, shape (L,).

    Returns:
        I_t for the T days, shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> g = jnp.array([0.0, 0.5, 0.5])
        >>> print(renewal_infections(jnp.array([2.0, 2.0, 1.0]), g, jnp.array([4.0, 2.0])))
        [6. 8. 7.]
    """
    reproduction = jnp.asarray(reproduction)
    interval = jnp.asarray(interval)
    seed = jnp.asarray(seed)
    if reproduction.ndim != 1:
        raise ValueError(f"renewal_infections: reproduction must have shape (T,), got "
                         f"{reproduction.shape}")
    if interval.ndim != 1 or seed.shape != (interval.shape[0] - 1,):
        raise ValueError(f"renewal_infections: interval must have shape (L + 1,) and seed "
                         f"(L,), got {interval.shape} and {seed.shape}")
    weights = interval[1:]  # weights[k] multiplies the infections k + 1 days back

    def step(buffer: Array, r: Array) -> tuple[Array, Array]:
        new = r * jnp.dot(weights, buffer)
        return push_lag(buffer, new), new

    dtype = jnp.result_type(reproduction, interval, seed)
    _, infections = jax.lax.scan(step, seed[::-1].astype(dtype), reproduction.astype(dtype))
    return infections


def infection_pressure(series: ArrayLike, interval: ArrayLike) -> Array:
    """EpiEstim's total infectiousness ``Lambda_t = sum_{s=1}^{L} g_s x_{t-s}`` of a given
    series (zero before its start), by the same buffer scan as :func:`renewal_infections`.

    Args:
        series: x, shape (T,).
        interval: g, shape (L + 1,), lag 0 first.

    Returns:
        Lambda, shape (T,); ``Lambda_0 = 0``.

    Example:
        >>> import jax.numpy as jnp
        >>> print(infection_pressure(jnp.array([2.0, 4.0, 0.0, 0.0]),
        ...                          jnp.array([0.0, 0.5, 0.5])))
        [0. 1. 3. 2.]
    """
    series = jnp.asarray(series)
    interval = jnp.asarray(interval)
    if series.ndim != 1 or interval.ndim != 1 or interval.shape[0] < 1:
        raise ValueError(f"infection_pressure: series and interval must have shapes (T,) and "
                         f"(L + 1,), got {series.shape} and {interval.shape}")
    weights = interval[1:]
    dtype = jnp.result_type(series, interval)

    def step(buffer: Array, x: Array) -> tuple[Array, Array]:
        return push_lag(buffer, x), jnp.dot(weights, buffer)

    _, pressure = jax.lax.scan(step, jnp.zeros(weights.shape[0], dtype), series.astype(dtype))
    return pressure


def causal_convolve(series: ArrayLike, kernel: ArrayLike) -> Array:
    """``out_t = sum_{d=0}^{D} p_d x_{t-d}`` (zero before the start): the first T terms of
    ``jnp.convolve(x, p)``. Each day is one dot product of p with the window of the last
    D + 1 values, mapped over the days with ``vmap``.

    Args:
        series: x, shape (T,).
        kernel: p, shape (D + 1,), lag 0 first (a reporting-delay distribution).

    Returns:
        shape (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> print(causal_convolve(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.5, 0.5])))
        [0.5 1.5 2.5]
    """
    series = jnp.asarray(series)
    kernel = jnp.asarray(kernel)
    if series.ndim != 1 or kernel.ndim != 1 or kernel.shape[0] < 1:
        raise ValueError(f"causal_convolve: series and kernel must have shapes (T,) and "
                         f"(D + 1,), got {series.shape} and {kernel.shape}")
    width = kernel.shape[0]
    padded = jnp.concatenate([jnp.zeros(width - 1, series.dtype), series])
    flipped = kernel[::-1]  # flipped[j] multiplies x_{t - (D - j)}

    def one_day(t: Array) -> Array:
        return jnp.dot(flipped, jax.lax.dynamic_slice(padded, (t,), (width,)))

    return jax.vmap(one_day)(jnp.arange(series.shape[0]))
