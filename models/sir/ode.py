"""The SIR equations of Kermack and McKendrick (1927) and their solution by
:func:`patterns.ode.rk4_solve_forward` (RK4 in one scan; its gradient by forward
sensitivities carried in that scan, so NUTS's gradient has no backward scan).

``dS/dt = -beta S I / N``, ``dI/dt = beta S I / N - gamma I``, ``dR/dt = gamma I``, with the
population ``N = S + I + R`` passed in (data, never a constant of the code). The step is
``1 / substeps`` days; :data:`SUBSTEPS` is the default the model uses, chosen by measuring
the solution error against the noise of the data (``docs/sir.md``).
"""

from typing import Any

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from patterns.ode import rk4_solve_forward

__all__ = ["SUBSTEPS", "sir_rhs", "sir_solution", "susceptible_infected_rhs"]

#: RK4 steps per day. At the boarding-school posterior (beta 1.7/day, gamma 0.5/day) the
#: largest error of I(t) over the 14 days is 0.017 persons with 4 steps a day (1.2e-3 with
#: 8, 2.4 with 1), against DOP853 at 1e-12 tolerances; the smallest noise sd of the
#: negative binomial there is about 2 persons (day 1, I near 3): over +-4 posterior sd of
#: (beta, gamma) the error stays below 0.3 % of the noise sd on every day. 8 steps would
#: cost twice the gradient (and compile) time for an error nobody could see in the data.
#: docs/sir.md has the table.
SUBSTEPS = 4


def sir_rhs(t: ArrayLike, y: Array, args: Any) -> Array:
    """Right-hand side of the SIR equations, the ``f(t, y, args)`` of
    :func:`patterns.ode.rk4_solve` and :func:`patterns.ode.rk4_solve_forward`.

    Args:
        t: time in days (unused: the system is autonomous).
        y: state (S, I, R), shape (3,).
        args: ``(beta, gamma, population)``: transmission rate per day, recovery rate per
            day, population size N.

    Returns:
        ``(dS/dt, dI/dt, dR/dt)``, shape (3,); the three sum to zero.

    Example:
        >>> import jax.numpy as jnp
        >>> print(sir_rhs(0.0, jnp.array([99.0, 1.0, 0.0]), (2.0, 0.5, 100.0)))
        [-1.98  1.48  0.5 ]
    """
    beta, gamma, population = args
    infections = beta * y[0] * y[1] / population
    recoveries = gamma * y[1]
    return jnp.stack([-infections, infections - recoveries, recoveries])


def susceptible_infected_rhs(t: ArrayLike, y: Array, args: Any) -> Array:
    """The first two SIR equations, ``(dS/dt, dI/dt)`` for the state ``(S, I)``, shape (2,):
    R appears in neither, so ``sir_solution`` integrates these two and recovers R from the
    population. ``args`` as for :func:`sir_rhs`.

    Example:
        >>> import jax.numpy as jnp
        >>> print(susceptible_infected_rhs(0.0, jnp.array([99.0, 1.0]), (2.0, 0.5, 100.0)))
        [-1.98  1.48]
    """
    beta, gamma, population = args
    infections = beta * y[0] * y[1] / population
    return jnp.stack([-infections, infections - gamma * y[1]])


def sir_solution(
    beta: ArrayLike,
    gamma: ArrayLike,
    population: ArrayLike,
    initial_state: ArrayLike,
    num_days: int,
    *,
    substeps: int = SUBSTEPS,
) -> Array:
    """(S, I, R) at days 0, 1, ..., ``num_days`` from ``initial_state`` at day 0.

    Args:
        beta: transmission rate per day, scalar (may be traced).
        gamma: recovery rate per day, scalar.
        population: N, scalar.
        initial_state: (S, I, R) at day 0, shape (3,).
        num_days: last day, a Python int >= 0.
        substeps: RK4 steps per day.

    Returns:
        Shape (num_days + 1, 3); row d is the state at day d. S and I are RK4's solution
        of their two equations (:func:`susceptible_infected_rhs`), the same numbers as RK4
        on all three; R is ``N - S - I`` (with N the sum of ``initial_state``).

    Example:
        Conservation: S + I + R stays N.

        >>> import jax.numpy as jnp
        >>> states = sir_solution(1.7, 0.5, 763.0, jnp.array([762.0, 1.0, 0.0]), 14)
        >>> print(states.shape, bool(jnp.allclose(states.sum(axis=1), 763.0)))
        (15, 3) True
    """
    days = jnp.arange(num_days + 1, dtype=jnp.result_type(float))
    initial_state = jnp.asarray(initial_state, dtype=days.dtype)
    # R never feeds back into S and I: solve for (S, I) alone (RK4 on the two equations
    # gives the same S and I as on the three), then R = N - S - I, the invariant that RK4,
    # like the ODE, conserves exactly (linear invariants are kept by every Runge-Kutta
    # method): a smaller state and 2 x 2 sensitivities instead of 3 x 2 in the compiled
    # gradient (docs/sir.md has the measured cost)
    susceptible_infected = rk4_solve_forward(
        susceptible_infected_rhs, initial_state[:2], days, (beta, gamma, population),
        substeps=substeps)
    recovered = (jnp.sum(initial_state) - jnp.sum(susceptible_infected, axis=1))[:, None]
    return jnp.concatenate([susceptible_infected, recovered], axis=1)
