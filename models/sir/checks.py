"""What makes a series of daily prevalence counts unusable for the SIR model, in one
place: the fit command's :attr:`models.family.ModelFamily.check_series` and the model's own
argument checks both call :func:`series_problem`.
"""

import numpy as np
from jax.typing import ArrayLike

__all__ = ["initial_state_problem", "series_problem"]


def series_problem(values: ArrayLike, population: float | None) -> tuple[int | None, str] | None:
    """Why ``values`` cannot be the observed prevalence of a population of ``population``.

    Args:
        values: the counts, shape (T,).
        population: N, or ``None`` when not given.

    Returns:
        ``None`` when the series is usable, else (0-based position of the first bad value,
        or ``None`` for the whole series; a phrase saying what is wrong).

    Example:
        >>> print(series_problem([3, 8, 26], 763))
        None
        >>> print(series_problem([3, -8, 26], 763))
        (1, '-8 is not a count: counts must be non-negative integers')
        >>> print(series_problem([3, 8.5], 763))
        (1, '8.5 is not a count: counts must be non-negative integers')
        >>> print(series_problem([3, 800], 763))
        (1, '800 people in bed exceed the population N = 763')
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        return None, f"the counts must have shape (T,), got shape {array.shape}"
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0) | (array != np.round(array)))
    if bad.size:
        position = int(bad[0])
        return position, (f"{array[position]:g} is not a count: counts must be non-negative "
                          "integers")
    if population is None:
        return None, "the population size N is not known: give --population N"
    over = np.flatnonzero(array > population)
    if over.size:
        position = int(over[0])
        return position, (f"{array[position]:g} people in bed exceed the population "
                          f"N = {population:g}")
    return None


def initial_state_problem(population: float, initial_infected: float,
                          initial_recovered: float) -> str | None:
    """Why (N - I0 - R0, I0, R0) is not a valid starting state, or ``None``.

    Example:
        >>> print(initial_state_problem(763, 1, 0))
        None
        >>> print(initial_state_problem(10, 8, 3))
        initial_infected + initial_recovered = 11 exceeds the population N = 10
    """
    if not population > 0:
        return f"the population N must be positive, got {population:g}"
    if not initial_infected > 0:
        return f"initial_infected must be positive (no epidemic without), got {initial_infected:g}"
    if not initial_recovered >= 0:
        return f"initial_recovered must be >= 0, got {initial_recovered:g}"
    if initial_infected + initial_recovered > population:
        return (f"initial_infected + initial_recovered = {initial_infected + initial_recovered:g}"
                f" exceeds the population N = {population:g}")
    return None
