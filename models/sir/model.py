"""The SIR family's NumPyro model: the boarding-school model of the Stan case study
(Grinsztajn, Semenova, Margossian & Riou 2021, "Bayesian workflow for disease transmission
modeling in Stan", Statistics in Medicine 40:6209-6234), with the population and the
initial state as data.
"""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from jax.typing import ArrayLike

from models.sir.checks import initial_state_problem, series_problem
from models.sir.counts import NegativeBinomial2Counts, NegativeBinomial2ObservedCounts
from models.sir.ode import SUBSTEPS, sir_solution
from models.sir.priors import CaseStudyPriors

__all__ = ["MIN_MEAN", "sir_model"]

#: Floor of the negative binomial's mean: I(t) is positive for every (beta, gamma) the
#: solver meets at the default step, but a far-out warm-up point could round it to 0 or
#: below, where NegativeBinomial2 has no density.
MIN_MEAN = 1e-6


def _check(y: ArrayLike | None, num_steps: int | None, population: float | None,
           initial_infected: float, initial_recovered: float) -> tuple[jax.Array | None, int]:
    if population is None:
        raise ValueError("sir_model: population (N) must be given: it is data, not a constant "
                         "of the model (763 for the boarding-school series)")
    problem = initial_state_problem(float(population), float(initial_infected),
                                    float(initial_recovered))
    if problem:
        raise ValueError(f"sir_model: {problem}")
    if y is None:
        if num_steps is None or num_steps < 1:
            raise ValueError(f"sir_model: give num_steps >= 1 to simulate, got {num_steps}")
        return None, int(num_steps)
    if not isinstance(y, jax.core.Tracer):
        found = series_problem(np.asarray(y), float(population))
        if found:
            position, phrase = found
            where = "" if position is None else f"[{position}]"
            raise ValueError(f"sir_model: y{where}: {phrase}")
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"sir_model: y must have shape (T,), got {y.shape}")
    return y, y.shape[0]


def sir_model(
    y: ArrayLike | None = None,
    *,
    num_steps: int | None = None,
    forecast_horizon: int = 0,
    population: float | None = None,
    initial_infected: float = 1,
    initial_recovered: float = 0,
    substeps: int = SUBSTEPS,
) -> None:
    """NumPyro model: deterministic SIR epidemic, negative-binomial daily prevalence.

    ``(S, I, R)(0) = (N - I0 - R0, I0, R0)`` at day 0 (the case study's (N - 1, 1, 0) by
    default); the SIR equations solved by RK4 in one ``lax.scan``
    (:func:`models.sir.ode.sir_solution`, ``substeps`` steps a day); the count on day
    t = 1..T is ``y_t ~ NegativeBinomial2(I(t), phi)`` (mean I(t), variance
    ``I + I^2 / phi``). Priors as in the case study: ``beta ~ Normal(2, 1)`` truncated to
    beta > 0, ``gamma ~ Normal(0.4, 0.5)`` truncated to gamma > 0,
    ``phi_inv = 1 / phi ~ Exponential(5)``.

    Sites: ``theta`` = (beta, gamma, phi_inv), shape (3,), the one latent site
    (:class:`models.sir.priors.CaseStudyPriors`: the three priors above, independent; one
    vector site compiles into a smaller NUTS program than three scalar ones, the same
    density); deterministic ``beta``, ``gamma``, ``phi_inv``, ``R0 = beta / gamma``,
    ``recovery_time = 1 / gamma`` (days) and ``prevalence`` = I(t) for t = 1..T, shape (T,);
    the observed ``y`` (T,); with ``forecast_horizon = h > 0`` also ``prevalence_forecast``
    and ``y_forecast``, shape (h,), for days T+1..T+h.

    Args:
        y: people in bed on days 1..T, shape (T,); ``None`` to simulate (give
            ``num_steps``).
        num_steps: T when ``y`` is ``None``.
        forecast_horizon: h, days forecast after day T (use with ``Predictive``).
        population: N, the size of the closed population (required: 763 for the
            boarding-school series).
        initial_infected: I0 at day 0.
        initial_recovered: R0 at day 0 (immune from the start).
        substeps: RK4 steps per day.

    Example:
        The sites of a fit to the boarding-school series (N = 763), scored at one draw:

        >>> import jax.numpy as jnp
        >>> from numpyro import handlers
        >>> in_bed = jnp.array([3, 8, 26, 76, 225, 298, 258, 233, 189, 128, 68, 29, 14, 4])
        >>> trace = handlers.trace(handlers.seed(sir_model, 0)).get_trace(
        ...     in_bed, population=763)
        >>> print({name: site["value"].shape for name, site in trace.items()
        ...        if name not in ("beta", "gamma", "phi_inv", "R0", "recovery_time")})
        {'theta': (3,), 'prevalence': (14,), 'y': (14,)}
    """
    y, num_days = _check(y, num_steps, population, initial_infected, initial_recovered)
    theta = numpyro.sample("theta", CaseStudyPriors())
    beta = numpyro.deterministic("beta", theta[0])
    gamma = numpyro.deterministic("gamma", theta[1])
    phi_inv = numpyro.deterministic("phi_inv", theta[2])
    numpyro.deterministic("R0", beta / gamma)
    numpyro.deterministic("recovery_time", 1.0 / gamma)
    initial_state = jnp.array([population - initial_infected - initial_recovered,
                               initial_infected, initial_recovered],
                              dtype=jnp.result_type(float))
    states = sir_solution(beta, gamma, population, initial_state, num_days + forecast_horizon,
                          substeps=substeps)
    prevalence = states[1:, 1]
    numpyro.deterministic("prevalence", prevalence[:num_days])
    mean = jnp.maximum(prevalence, MIN_MEAN)
    concentration = 1.0 / phi_inv
    # the observed counts are data known when the model is traced: scored by sums of logs
    numpyro.sample("y", NegativeBinomial2ObservedCounts(mean[:num_days], concentration), obs=y)
    if forecast_horizon:
        numpyro.deterministic("prevalence_forecast", prevalence[num_days:])
        numpyro.sample("y_forecast", NegativeBinomial2Counts(mean[num_days:], concentration))
