"""The renewal family's NumPyro models.

* :func:`renewal_model` -- latent infections by the renewal equation (``lax.scan`` over a
  ``.at`` lag buffer, :func:`patterns.renewal.renewal_infections`) from a latent R_t
  (Gaussian random walk of log R_t with daily or weekly steps, or piecewise constant over
  windows), seeded by a constant level of infections before day 1; reported cases are the
  infections convolved with a reporting delay (``vmap`` over days,
  :func:`patterns.renewal.causal_convolve`), times a day-of-week effect, times a
  completeness curve for the last days (right truncation), observed with negative-binomial
  or Poisson noise. Forecasts of R_t and of cases h days ahead.
* :func:`epiestim_model` -- Cori et al. (2013), the model of EpiEstim: observed incidence
  y_t ~ Poisson(R_w Lambda_t) with Lambda_t the total infectiousness of the observed past
  (:func:`patterns.renewal.infection_pressure`), R piecewise constant over windows of k
  days with a Gamma prior; its posterior is Gamma in closed form
  (:func:`epiestim_posterior`), the exact oracle of the tests.

Both follow the family convention ``model(y=None, *, num_steps=None, forecast_horizon=0,
**options)``; R_t is recorded as the deterministic site ``R_t`` of shape (T,) and, with a
forecast, ``R_t_forecast`` (h,).
"""

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax import Array
from jax.typing import ArrayLike
from numpyro.distributions import constraints
from numpyro.infer import init_to_median

from models.renewal.checks import (
    check_completeness,
    check_delay,
    count_problem,
    resolve_interval,
)
from models.sir.counts import NegativeBinomial2Counts
from patterns.renewal import causal_convolve, infection_pressure, renewal_infections
from patterns.updates import fill_at, push_lag

__all__ = [
    "EpiEstimPosterior",
    "IntegratedRandomWalk",
    "PoissonRenewal",
    "epiestim_model",
    "epiestim_posterior",
    "gamma_shape_rate",
    "init_to_guess",
    "interval_mean",
    "level_guess",
    "renewal_model",
    "seed_location",
    "window_index",
]

#: Expected counts are floored here so that a collapsed epidemic scores finite.
MIN_RATE = 1e-10


def gamma_shape_rate(mean: float, sd: float) -> tuple[float, float]:
    """Shape and rate of the gamma with this mean and sd.

    Example:
        >>> print(gamma_shape_rate(5.0, 5.0))
        (1.0, 0.2)
    """
    if not (mean > 0 and sd > 0):
        raise ValueError(f"gamma prior: mean and sd must be > 0, got {mean} and {sd}")
    return (mean / sd) ** 2, mean / sd**2


def interval_mean(interval: ArrayLike) -> float:
    """Mean lag of a discretised generation interval, ``sum_s s g_s`` (days).

    Example:
        >>> print(interval_mean([0.0, 0.5, 0.5]))
        1.5
    """
    weights = np.asarray(interval, dtype=np.float64)
    return float(np.arange(weights.shape[0]) @ weights)


def window_index(num_steps: int, window: int, first: int = 0) -> np.ndarray:
    """Which window each day belongs to: days ``first, first+1, ...`` in consecutive
    windows of ``window`` days (the last may be shorter); days before ``first`` get
    window 0 too.

    Example:
        >>> print(window_index(9, 3, first=1))
        [0 0 0 0 1 1 1 2 2]
    """
    if window < 1:
        raise ValueError(f"window must be >= 1 day, got {window}")
    days = np.arange(num_steps)
    return np.maximum(days - first, 0) // window


def _series(name: str, y: ArrayLike | None, num_steps: int | None) -> tuple[Any, int]:
    if y is None:
        if num_steps is None or num_steps < 2:
            raise ValueError(f"{name}: give y, or num_steps >= 2 to simulate; got "
                             f"num_steps={num_steps}")
        return None, int(num_steps)
    y = jnp.asarray(y)
    if y.ndim != 1 or y.shape[0] < 2:
        raise ValueError(f"{name}: y must have shape (T,) with T >= 2, got {y.shape}")
    if not isinstance(y, jax.core.Tracer):
        problem = count_problem(np.asarray(y))
        if problem is not None:
            raise ValueError(f"{name}: y[{problem[0]}]: {problem[1]}")
    return y, int(y.shape[0])


class PoissonRenewal(dist.Distribution):
    """The law of an incidence series under EpiEstim's model: y_0 ~ Poisson(first_mean),
    y_t ~ Poisson(R_t Lambda_t) for t >= 1, Lambda_t = sum_s g_s y_{t-s} of the series
    itself. ``log_prob`` scores a whole series; ``sample`` runs the renewal with Poisson
    draws, one ``lax.scan`` over a ``.at`` lag buffer.

    Args:
        reproduction: R_t, shape (T,) (R_0 is not used).
        interval: g, shape (L + 1,), lag 0 first.
        first_mean: the Poisson mean of y_0 (it does not involve R).

    Example:
        >>> import jax.numpy as jnp
        >>> d = PoissonRenewal(jnp.full(4, 1.5), jnp.array([0.0, 0.5, 0.5]), 10.0)
        >>> print(d.event_shape, round(float(d.log_prob(jnp.array([10.0, 15, 19, 25]))), 3))
        (4,) -12.188
    """

    arg_constraints = {"reproduction": constraints.independent(constraints.positive, 1),
                       "first_mean": constraints.positive}
    support = constraints.independent(constraints.nonnegative_integer, 1)
    pytree_data_fields = ("reproduction", "interval", "first_mean")

    def __init__(self, reproduction: ArrayLike, interval: ArrayLike, first_mean: ArrayLike,
                 *, validate_args: bool | None = None) -> None:
        self.reproduction = jnp.asarray(reproduction)
        self.interval = jnp.asarray(interval)
        self.first_mean = jnp.asarray(first_mean, dtype=self.reproduction.dtype)
        super().__init__(batch_shape=(), event_shape=self.reproduction.shape[-1:],
                         validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        if sample_shape:
            keys = jax.random.split(key, int(np.prod(sample_shape)))
            draws = jax.vmap(lambda k: self.sample(k))(keys)
            return draws.reshape(sample_shape + self.event_shape)
        weights = self.interval[1:]
        first_key, key = jax.random.split(key)
        first = jax.random.poisson(first_key, self.first_mean).astype(self.reproduction.dtype)
        buffer = jnp.zeros(weights.shape[0], self.reproduction.dtype).at[0].set(first)

        def step(buffer: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
            r, k = inputs
            new = jax.random.poisson(k, r * jnp.dot(weights, buffer)).astype(buffer.dtype)
            return push_lag(buffer, new), new

        keys = jax.random.split(key, self.reproduction.shape[0] - 1)
        _, rest = jax.lax.scan(step, buffer, (self.reproduction[1:], keys))
        return jnp.concatenate([first[None], rest])

    def log_prob(self, value: ArrayLike) -> Array:
        value = jnp.asarray(value, self.reproduction.dtype)
        rate = jnp.maximum(self.reproduction * infection_pressure(value, self.interval),
                           MIN_RATE)
        first = dist.Poisson(self.first_mean).log_prob(value[..., 0])
        return first + jnp.sum(dist.Poisson(rate[..., 1:]).log_prob(value[..., 1:]), -1)


def epiestim_model(
    y: ArrayLike | None = None,
    *,
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    generation_interval: Sequence[float] | None = None,
    gi_mean: float = 2.6,
    gi_sd: float = 1.5,
    gi_max_lag: int | None = None,
    gi_distribution: str = "gamma",
    window: int = 7,
    r_prior_mean: float = 5.0,
    r_prior_sd: float = 5.0,
    first_mean: ArrayLike | None = None,
) -> None:
    """NumPyro model: Cori et al. (2013), EpiEstim's model of R.

    ``y_t ~ Poisson(R_w Lambda_t)`` for days t = 1, ..., T - 1 (0-based), Lambda_t the total
    infectiousness ``sum_s g_s y_{t-s}`` of the observed past; R constant over consecutive
    windows of ``window`` days starting on day 1 (EpiEstim's first ``t_start`` = 2 in its
    1-based days), ``R_w ~ Gamma(mean r_prior_mean, sd r_prior_sd)`` (EpiEstim's defaults 5
    and 5). Day 0 is Poisson(``first_mean``, default y_0 or 1): it does not involve R.

    Sites: ``R`` (number of windows,), deterministic ``R_t`` (T,), observed ``y`` (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> from numpyro import handlers
        >>> y = jnp.array([3.0, 4, 6, 5, 8, 9, 12, 11, 14, 13])
        >>> with handlers.seed(rng_seed=0):
        ...     trace = handlers.trace(epiestim_model).get_trace(y, window=7)
        >>> print(trace["R"]["value"].shape, trace["R_t"]["value"].shape)
        (2,) (10,)
    """
    if forecast_horizon:
        raise ValueError("epiestim_model: no forecasts (use renewal_model); got "
                         f"forecast_horizon={forecast_horizon}")
    y, num_steps = _series("epiestim_model", y, num_steps)
    interval = jnp.asarray(resolve_interval(generation_interval, gi_mean, gi_sd, gi_max_lag,
                                            gi_distribution))
    index = window_index(num_steps, window, first=1)
    shape, rate = gamma_shape_rate(r_prior_mean, r_prior_sd)
    r = numpyro.sample("R", dist.Gamma(shape, rate).expand([int(index[-1]) + 1]).to_event(1))
    r_t = numpyro.deterministic("R_t", r[index])
    if first_mean is None:
        if y is None:
            raise ValueError("epiestim_model: first_mean must be given to simulate (y is None)")
        first_mean = jnp.maximum(y[0], 1.0)  # a constant: it does not involve R
    numpyro.sample("y", PoissonRenewal(r_t, interval, first_mean), obs=y)


class EpiEstimPosterior(NamedTuple):
    """Cori et al. (2013)'s Gamma posterior of R per window: shape and rate (shape (W,)),
    and the first and last day (0-based) of each window."""

    shape: np.ndarray
    rate: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray


def epiestim_posterior(incidence: ArrayLike, interval: ArrayLike, window: int,
                       r_prior_mean: float = 5.0, r_prior_sd: float = 5.0
                       ) -> EpiEstimPosterior:
    """The closed-form posterior of :func:`epiestim_model` (Cori et al. 2013, eq. (2)):
    ``R_w | y ~ Gamma(a + sum_{t in w} y_t, b + sum_{t in w} Lambda_t)`` (shape, rate), with
    Gamma(a, b) the prior.

    Example:
        >>> import numpy as np
        >>> post = epiestim_posterior(np.array([1, 2, 4, 6, 9]), np.array([0.0, 1.0]), 2)
        >>> print(post.shape, post.rate, post.first_day, post.last_day)
        [ 7. 16.] [ 3.2 10.2] [1 3] [2 4]
    """
    y = np.asarray(incidence, dtype=np.float64)
    pressure = np.asarray(infection_pressure(jnp.asarray(y), jnp.asarray(interval)))
    index = window_index(y.shape[0], window, first=1)[1:]
    shape, rate = gamma_shape_rate(r_prior_mean, r_prior_sd)
    count = int(index[-1]) + 1
    days = np.arange(1, y.shape[0])
    return EpiEstimPosterior(
        shape=shape + np.bincount(index, weights=y[1:], minlength=count),
        rate=rate + np.bincount(index, weights=pressure[1:], minlength=count),
        first_day=np.array([days[index == w].min() for w in range(count)]),
        last_day=np.array([days[index == w].max() for w in range(count)]),
    )


def _truncation(completeness: ArrayLike | None, num_steps: int) -> Array:
    """The completeness factor per day, shape (T,): ones with the last m days set with
    ``.at`` (:func:`patterns.updates.fill_at`). A traced curve (``jit_model_args``) is
    used as it is; a concrete one is checked first."""
    if completeness is None:
        return jnp.ones(num_steps)
    if not isinstance(completeness, jax.core.Tracer):
        check_completeness(completeness, num_steps)
    curve = jnp.asarray(completeness)
    if curve.ndim != 1 or curve.shape[0] > num_steps:
        raise ValueError(f"completeness: need shape (m,) with m <= T = {num_steps}, got "
                         f"{curve.shape}")
    last = np.arange(num_steps - curve.shape[0], num_steps)
    return fill_at(jnp.ones(num_steps, curve.dtype), last, curve[::-1])


class IntegratedRandomWalk(dist.Distribution):
    """A Gaussian random walk of log R, written as the level it drives.

    ``log R_0 ~ Normal(loc, scale)``, ``log R_k - log R_{k-1} ~ Normal(0, step_sd)`` for
    k = 1, ..., K - 1; the value is ``x_k = start + rate * (log R_0 + ... + log R_k)``, shape
    (K,): with ``rate`` = days per step / mean generation interval, ``x_k`` is close to the
    log infections at the end of step k (growth rate ~ log R / mean generation interval).
    The counts measure that level day by day, so in ``x`` the likelihood's curvature is
    nearly diagonal, where in the standardised steps z of ``log R_k = log R_0 + sd (z_1 +
    ... + z_k)`` it is that of a double cumulative sum (condition number ~ K^4: NUTS at its
    maximum tree depth on 200 days; docs/renewal.md). The map from (log R_0, steps) to x is
    linear with determinant ``rate^K``, so the law is the same random walk.

    Args:
        start: the level before step 0 (the log seed infections), scalar.
        rate: days per step / mean generation interval, > 0 (a Python float).
        loc, scale: the normal law of log R_0.
        step_sd: the sd of the walk's steps, > 0.
        num_steps: K, the number of steps of R (a Python int >= 1).

    Example:
        >>> import jax.numpy as jnp
        >>> walk = IntegratedRandomWalk(1.0, 2.0, 0.0, 1.0, 0.1, 3)
        >>> x = jnp.array([1.2, 1.6, 1.8])  # log R = 0.1, 0.2, 0.1
        >>> print(walk.log_reproduction(x).round(6))
        [0.1 0.2 0.1]
        >>> import numpy as np
        >>> from scipy import stats
        >>> direct = (stats.norm(0, 1).logpdf(0.1) + stats.norm(0, 0.1).logpdf([0.1, -0.1]).sum()
        ...           - 3 * np.log(2.0))
        >>> print(bool(np.isclose(float(walk.log_prob(x)), direct, rtol=1e-6)))
        True
    """

    arg_constraints = {"start": constraints.real, "loc": constraints.real,
                       "scale": constraints.positive, "step_sd": constraints.positive}
    support = constraints.real_vector
    pytree_data_fields = ("start", "loc", "scale", "step_sd")
    pytree_aux_fields = ("rate", "num_steps")

    def __init__(self, start: ArrayLike, rate: float, loc: ArrayLike, scale: ArrayLike,
                 step_sd: ArrayLike, num_steps: int, *,
                 validate_args: bool | None = None) -> None:
        if not rate > 0 or int(num_steps) < 1:
            raise ValueError(f"IntegratedRandomWalk: need rate > 0 and num_steps >= 1, got "
                             f"{rate} and {num_steps}")
        self.start, self.loc, self.scale, self.step_sd = jnp.broadcast_arrays(
            *(jnp.asarray(v, dtype=jnp.result_type(float)) for v in (start, loc, scale, step_sd)))
        self.rate, self.num_steps = float(rate), int(num_steps)
        super().__init__(batch_shape=jnp.shape(self.start), event_shape=(self.num_steps,),
                         validate_args=validate_args)

    def log_reproduction(self, value: ArrayLike) -> Array:
        """log R_k of each step from the level ``value``, shape (..., K)."""
        value = jnp.asarray(value)
        previous = jnp.concatenate([jnp.broadcast_to(self.start[..., None], value.shape[:-1]
                                                     + (1,)), value[..., :-1]], -1)
        return (value - previous) / self.rate

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        shape = sample_shape + self.batch_shape
        noise = jax.random.normal(key, shape + self.event_shape)
        loc, scale, step_sd, start = (jnp.broadcast_to(v, shape)[..., None] for v in (
            self.loc, self.scale, self.step_sd, self.start))
        steps = jnp.concatenate([loc + scale * noise[..., :1], step_sd * noise[..., 1:]], -1)
        return start + self.rate * jnp.cumsum(jnp.cumsum(steps, -1), -1)

    def log_prob(self, value: ArrayLike) -> Array:
        log_r = self.log_reproduction(value)
        first = dist.Normal(self.loc, self.scale).log_prob(log_r[..., 0])
        increments = jnp.diff(log_r, axis=-1)
        step_sd = jnp.broadcast_to(self.step_sd, increments.shape[:-1])[..., None]
        steps = dist.Normal(0.0, step_sd).log_prob(increments)
        return first + jnp.sum(steps, -1) - self.num_steps * np.log(self.rate)


def level_guess(y: ArrayLike, step: int, num_levels: int) -> Array:
    """A starting point of :class:`IntegratedRandomWalk`'s level read off the counts:
    log(1 + mean count) over each step's days (the last step's days repeat the last day
    when the series ends inside it), shape (num_levels,).

    Example:
        >>> print(level_guess([1.0, 3.0, 6.0, 8.0, 15.0], 2, 3).round(4))
        [1.0986 2.0794 2.7726]
    """
    y = jnp.asarray(y)
    days = np.minimum(np.arange(num_levels * step), y.shape[0] - 1)
    return jnp.log1p(y[days].reshape(num_levels, step).mean(-1))


def init_to_guess(site: dict[str, Any] | None = None, num_samples: int = 15) -> Any:
    """NumPyro init strategy: a sample site whose ``infer`` dict holds ``"init_guess"``
    starts there (the renewal model puts the level of its random walk read off the data,
    :func:`level_guess`); every other site at the median of ``num_samples`` prior draws
    (:func:`numpyro.infer.init_to_median`).

    Example:
        >>> from numpyro.infer import NUTS
        >>> kernel = NUTS(renewal_model, init_strategy=init_to_guess(num_samples=15))
    """
    if site is None:
        return partial(init_to_guess, num_samples=num_samples)
    guess = (site.get("infer") or {}).get("init_guess")
    if site["type"] == "sample" and not site["is_observed"] and guess is not None:
        return guess
    return init_to_median(site, num_samples=num_samples)


def seed_location(y: ArrayLike) -> Array:
    """Default prior location of the log seed infections: log(mean of the first week's
    counts + 1).

    Example:
        >>> print(round(float(seed_location([1, 1, 0, 2, 5, 3, 3, 40])), 4))
        1.1451
    """
    return jnp.log(jnp.mean(jnp.asarray(y)[:7]) + 1.0)


def renewal_model(
    y: ArrayLike | None = None,
    *,
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    generation_interval: Sequence[float] | None = None,
    gi_mean: float = 2.6,
    gi_sd: float = 1.5,
    gi_max_lag: int | None = None,
    gi_distribution: str = "gamma",
    r_model: str = "random-walk",
    step: int = 7,
    window: int = 7,
    rw_scale: float = 0.2,
    r_prior_mean: float = 5.0,
    r_prior_sd: float = 5.0,
    noise: str = "negative-binomial",
    delay: Sequence[float] = (1.0,),
    day_of_week: bool | str = False,
    completeness: ArrayLike | None = None,
    seed_loc: ArrayLike | None = None,
) -> None:
    """NumPyro model: latent renewal-equation infections and reported cases.

    * R_t: ``r_model="random-walk"``: log R_t is constant over steps of ``step`` days
      (1 daily, 7 weekly; step j covers days j * step, ..., (j + 1) * step - 1), a Gaussian
      random walk over the steps: ``log R_j - log R_{j-1} ~ Normal(0, rw_sd)``,
      ``rw_sd ~ HalfNormal(rw_scale)``, ``R_start = R_0 ~ LogNormal`` with mean
      ``r_prior_mean`` and sd ``r_prior_sd``. The walk is sampled as the level it drives,
      ``log_level_j = log_seed + (step / mean interval) (log R_0 + ... + log R_j)``
      (:class:`IntegratedRandomWalk`: the same law; the counts measure this level, which
      keeps NUTS's trajectories short), started at :func:`level_guess` of the counts
      (:func:`init_to_guess`). ``r_model="windows"``: R constant over windows of ``window``
      days, each ``~ Gamma(mean r_prior_mean, sd r_prior_sd)``.
    * The generation interval g: ``generation_interval`` as given, or a gamma
      (``gi_distribution="gamma"``) or log-normal (``"lognormal"``) with mean ``gi_mean``
      and sd ``gi_sd`` discretised as EpiEstim does, up to lag ``gi_max_lag``
      (:func:`~models.renewal.checks.resolve_interval`).
    * Seeding: ``exp(log_seed)`` infections on each of the L days before the renewal starts
      (L the generation interval's last lag), ``log_seed ~ Normal(seed_loc, 1)``
      (default :func:`seed_location` of y). The renewal starts D days before day 0 (D the
      last delay), at R_0.
    * Infections ``I_t = R_t sum_s g_s I_{t-s}`` (the scan); expected reports
      ``mu_t = (delay * I)_t x dow_{t mod 7} x c_t`` with the day-of-week effect
      (``day_of_week`` True or ``"on"``: 7 x Dirichlet(5, ..., 5), mean one) and the
      completeness c_t of the last days (``completeness``, last day first; 1 elsewhere).
    * ``y_t ~ NegativeBinomial2(mu_t, 1 / dispersion^2)``, ``dispersion ~ HalfNormal(1)``, or
      ``Poisson(mu_t)`` (``noise="poisson"``).
    * ``forecast_horizon = h``: R_t continues (new random-walk steps ``rw_forecast``, or the
      last window's R), the renewal runs h more days, ``y_forecast`` (h,) are the complete
      counts of those days; deterministic ``R_t_forecast`` (h,). The forecast's steps are
      standardised (``log R_{j+1} = log R_j + rw_sd z``): no data inform them.

    Sites: ``rw_sd``, ``log_level`` (steps,) and deterministic ``R_start`` (random walk)
    or ``R`` (windows), ``log_seed``, ``dispersion``, ``day_of_week``; deterministic
    ``R_t`` and ``infections`` (T,); observed ``y`` (T,).

    Example:
        >>> import jax.numpy as jnp
        >>> from numpyro import handlers
        >>> y = jnp.array([3.0, 4, 6, 5, 8, 9, 12, 11, 14, 13])
        >>> with handlers.seed(rng_seed=1):
        ...     trace = handlers.trace(renewal_model).get_trace(y, step=7)
        >>> print(trace["R_t"]["value"].shape, trace["log_level"]["value"].shape)
        (10,) (2,)
    """
    y, num_steps = _series("renewal_model", y, num_steps)
    if r_model not in ("random-walk", "windows"):
        raise ValueError(f"renewal_model: r_model must be 'random-walk' or 'windows', got "
                         f"{r_model!r}")
    if noise not in ("negative-binomial", "poisson"):
        raise ValueError(f"renewal_model: noise must be 'negative-binomial' or 'poisson', "
                         f"got {noise!r}")
    if day_of_week not in (True, False, "on", "off"):
        raise ValueError(f"renewal_model: day_of_week must be True/False or 'on'/'off', got "
                         f"{day_of_week!r}")
    if step < 1:
        raise ValueError(f"renewal_model: step must be >= 1 day, got {step}")
    interval_np = resolve_interval(generation_interval, gi_mean, gi_sd, gi_max_lag,
                                   gi_distribution)
    interval = jnp.asarray(interval_np)
    delay_pmf = jnp.asarray(check_delay(delay))
    truncation = _truncation(completeness, num_steps)
    if seed_loc is None:
        if y is None:
            raise ValueError("renewal_model: seed_loc must be given to simulate (y is None)")
        seed_loc = seed_location(y)
    horizon = int(forecast_horizon)
    total = num_steps + horizon

    log_seed = numpyro.sample("log_seed", dist.Normal(seed_loc, 1.0))
    if r_model == "random-walk":
        r_shape = np.log1p((r_prior_sd / r_prior_mean) ** 2)
        rw_sd = numpyro.sample("rw_sd", dist.HalfNormal(rw_scale))
        levels = (num_steps - 1) // step + 1
        walk = IntegratedRandomWalk(log_seed, step / interval_mean(interval_np), np.log(
            r_prior_mean) - r_shape / 2, np.sqrt(r_shape), rw_sd, levels)
        level = numpyro.sample("log_level", walk, infer={} if y is None else {
            "init_guess": level_guess(y, step, levels)})
        log_r = walk.log_reproduction(level)
        numpyro.deterministic("R_start", jnp.exp(log_r[0]))
        extra_steps = (total - 1) // step + 1 - levels
        if extra_steps:
            z = numpyro.sample("rw_forecast", dist.Normal(0.0, 1.0).expand([extra_steps])
                               .to_event(1))
            log_r = jnp.concatenate([log_r, log_r[-1] + rw_sd * jnp.cumsum(z)])
        r_all = jnp.exp(log_r[np.arange(total) // step])
    else:
        index = window_index(num_steps, window)
        shape, rate = gamma_shape_rate(r_prior_mean, r_prior_sd)
        r = numpyro.sample("R", dist.Gamma(shape, rate).expand([int(index[-1]) + 1])
                           .to_event(1))
        r_all = r[np.concatenate([index, np.full(horizon, index[-1])])]

    lead = delay_pmf.shape[0] - 1  # renewal days before day 0, for the delay
    seed = jnp.full(interval.shape[0] - 1, jnp.exp(log_seed))
    r_run = jnp.concatenate([jnp.full(lead, r_all[0]), r_all])
    infections_all = renewal_infections(r_run, interval, seed)
    reports = causal_convolve(jnp.concatenate([seed, infections_all]), delay_pmf)
    reports = reports[seed.shape[0] + lead:]  # days 0 .. T + h - 1
    if day_of_week in (True, "on"):
        effect = 7.0 * numpyro.sample("day_of_week", dist.Dirichlet(jnp.full(7, 5.0)))
        reports = reports * effect[np.arange(total) % 7]
    numpyro.deterministic("R_t", r_all[:num_steps])
    numpyro.deterministic("infections", infections_all[lead:lead + num_steps])
    mu = jnp.maximum(reports[:num_steps] * truncation, MIN_RATE)
    if noise == "negative-binomial":
        dispersion = numpyro.sample("dispersion", dist.HalfNormal(1.0))

        def law(mean: Array) -> dist.Distribution:
            return NegativeBinomial2Counts(mean, 1.0 / dispersion**2).to_event(1)
    else:
        def law(mean: Array) -> dist.Distribution:
            return dist.Poisson(mean).to_event(1)
    numpyro.sample("y", law(mu), obs=y)
    if horizon:
        numpyro.deterministic("R_t_forecast", r_all[num_steps:])
        numpyro.sample("y_forecast", law(jnp.maximum(reports[num_steps:], MIN_RATE)))
