"""Input checks of the renewal family: counts, the generation interval, the reporting
delay, the completeness curve. Each raises a ``ValueError`` naming the argument, its value
or shape and what is expected, or (:func:`count_problem`) says why a series is not counts.
"""

from collections.abc import Sequence

import numpy as np

from patterns.renewal import (
    check_interval,
    discretise_gamma_interval,
    discretise_lognormal_interval,
)

__all__ = [
    "GI_DISTRIBUTIONS",
    "TAIL_MASS",
    "check_completeness",
    "check_delay",
    "count_problem",
    "resolve_interval",
]

#: The automatic last lag of a gamma generation interval keeps all but this much mass.
TAIL_MASS = 1e-6


def count_problem(values: np.ndarray) -> tuple[int | None, str] | None:
    """Why ``values`` are not daily counts, as (0-based position, phrase), or ``None``.

    Example:
        >>> import numpy as np
        >>> print(count_problem(np.array([1.0, 2.0, -3.0])))
        (2, '-3 is not a count: counts must be non-negative integers')
        >>> print(count_problem(np.array([1.0, 2.5])))
        (1, '2.5 is not a count: counts must be non-negative integers')
        >>> print(count_problem(np.array([0.0, 4.0])))
        None
    """
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if not np.any(bad):
        return None
    position = int(np.flatnonzero(bad)[0])
    return position, (f"{values[position]:g} is not a count: counts must be non-negative "
                      "integers")


#: The continuous generation-interval laws, by name: each discretised as EpiEstim does.
GI_DISTRIBUTIONS = {"gamma": discretise_gamma_interval,
                    "lognormal": discretise_lognormal_interval}


def resolve_interval(generation_interval: Sequence[float] | np.ndarray | None,
                     gi_mean: float, gi_sd: float, gi_max_lag: int | None,
                     gi_distribution: str = "gamma") -> np.ndarray:
    """The discretised generation interval the models use: ``generation_interval`` as
    given (checked: 0 at lag 0, sums to one), or else EpiEstim's discretisation of a gamma
    (or, with ``gi_distribution="lognormal"``, a log-normal) with mean ``gi_mean`` and sd
    ``gi_sd`` up to lag ``gi_max_lag`` (default: the first lag where less than
    :data:`TAIL_MASS` is left), normalised to sum to one.

    Example:
        >>> w = resolve_interval(None, 2.6, 1.5, None)
        >>> print(w.shape, round(float(w.sum()), 12), w[0])
        (22,) 1.0 0.0
        >>> print(resolve_interval([0.0, 0.25, 0.75], 2.6, 1.5, None))
        [0.   0.25 0.75]
        >>> w = resolve_interval(None, 2.6, 1.5, None, "lognormal")
        >>> print(w.shape, round(float(w @ range(w.size)), 3))
        (53,) 2.6
    """
    if generation_interval is not None:
        return check_interval(generation_interval, "generation_interval")
    if gi_distribution not in GI_DISTRIBUTIONS:
        raise ValueError(f"gi_distribution: must be one of {sorted(GI_DISTRIBUTIONS)}, got "
                         f"{gi_distribution!r}")
    if not gi_mean > 1:
        raise ValueError(f"gi_mean: the mean generation interval must be > 1 day, got {gi_mean}")
    if not gi_sd > 0:
        raise ValueError(f"gi_sd: the generation interval's sd must be > 0, got {gi_sd}")
    discretise = GI_DISTRIBUTIONS[gi_distribution]
    if gi_max_lag is None:  # the log-normal's tail is longer: search far enough for it
        reach = gi_mean + (40 if gi_distribution == "gamma" else 400) * gi_sd
        wide = discretise(gi_mean, gi_sd, int(np.ceil(reach)), normalise=False)
        gi_max_lag = max(1, int(np.argmax(np.cumsum(wide) >= 1 - TAIL_MASS)))
    return discretise(gi_mean, gi_sd, gi_max_lag)


def check_delay(delay: Sequence[float] | np.ndarray) -> np.ndarray:
    """A reporting-delay distribution: masses at delays 0, 1, ..., D (mass at 0 allowed),
    non-negative, summing to one within 1e-6.

    Example:
        >>> check_delay([0.5, 0.6])
        Traceback (most recent call last):
        ...
        ValueError: delay: masses must sum to 1 (within 1e-06), got 1.1
    """
    p = np.asarray(delay, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] < 1:
        raise ValueError(f"delay: need a vector of masses at delays 0, 1, ..., D, got shape "
                         f"{p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"delay: masses must be finite and >= 0, got {p.tolist()}")
    if abs(float(p.sum()) - 1) > 1e-6:
        raise ValueError(f"delay: masses must sum to 1 (within 1e-06), got {p.sum():.6g}")
    return p


def check_completeness(completeness: Sequence[float] | np.ndarray | None,
                       num_steps: int) -> np.ndarray:
    """The right-truncation curve as a factor per day of the series, shape (T,): given
    ``c = (c_0, c_1, ..., c_m)``, the fraction of the final count already reported for the
    last day (c_0), the day before (c_1), ...; every c in (0, 1]; 1 for the older days.

    Example:
        >>> print(check_completeness([0.5, 0.9], 4))
        [1.  1.  0.9 0.5]
    """
    factor = np.ones(num_steps)
    if completeness is None:
        return factor
    c = np.asarray(completeness, dtype=np.float64)
    if c.ndim != 1 or c.shape[0] > num_steps:
        raise ValueError(f"completeness: need a vector of at most T = {num_steps} fractions "
                         f"(last day first), got shape {c.shape}")
    if not np.all((c > 0) & (c <= 1)):
        raise ValueError(f"completeness: every fraction must lie in (0, 1], got {c.tolist()}")
    factor[num_steps - c.shape[0]:] = c[::-1]
    return factor
