"""The contract every model family fills, so that one fit command and one validator serve
them all.

A family is one folder under ``models/`` (``models/arma/``, ``models/garch/``, ...) whose
``family.py`` builds one :class:`ModelFamily` value, and one line in
:mod:`models.registry`. Everything a fit needs to know about the family is in that value;
nothing about a family is written in ``scripts/``:

* its NumPyro models, one per likelihood :class:`Variant`, all called the same way::

      model(y=None, *, num_steps=None, forecast_horizon=0, **options)

  ``y`` is the observed series (``None`` with ``num_steps`` to simulate one), ``options``
  are the family's own settings (:class:`Option`, e.g. ARMA's ``order``), and
  ``forecast_horizon=h`` adds the site ``y_forecast`` of shape (h,) (meant for
  ``Predictive`` after inference);
* its parameter sites in the order they are reported, and their dims and coordinates for
  ArviZ (:attr:`ModelFamily.coords_and_dims`);
* the quantities it tracks over time (a filtered volatility, state probabilities, R_t:
  :class:`TimeQuantity`), which the fit command stores on the series' time axis and plots;
* what makes a series unusable for it beyond length and gaps (:attr:`ModelFamily.check_series`:
  counts that are not counts, a population smaller than the cases);
* how chains start (:attr:`ModelFamily.init_strategy`) and, where a measurement justified
  it, NUTS's own settings (:attr:`ModelFamily.nuts_options`: a target acceptance);
* which variants accept missing values (NaN in ``y``) and which forecast;
* the bundled data it runs on by default;
* the posteriordb reference posteriors it reproduces (:class:`ReferencePosterior`).

Plain ``NamedTuple`` values, no class hierarchy: a family is data plus a few functions.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

__all__ = ["DataSource", "ModelFamily", "Option", "PooledModel", "ReferencePosterior",
           "TimeQuantity", "Variant"]

#: An empty read-only mapping: the default of mapping fields (a shared ``{}`` could be mutated).
NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


class Variant(NamedTuple):
    """One likelihood of a family (``--likelihood NAME``).

    Attributes:
        model: the NumPyro model, called as in the module text.
        description: one sentence for ``--help``.
        accepts_missing: whether ``y`` may hold NaN (the likelihood skips them).
        forecasts: whether ``forecast_horizon > 0`` is supported.
        one_step: whether the model takes ``one_step_ahead=True`` with an observed ``y`` and
            then draws the site ``y_one_step``, shape (T,): each value from its one-step-ahead
            predictive law given the observations before it (the posterior predictive check
            plots these over the data; persistent series simulated from scratch say little).
        covariates: whether the model takes the family's regressors
            (:attr:`ModelFamily.covariates`).
        pointwise: whether the model records the family's pointwise log-likelihood site
            (:attr:`ModelFamily.pointwise_log_likelihood`) when scoring an observed ``y``.
            The fit command leaves that site out of NUTS's program and draws it afterwards,
            with the one-step predictions when there are any (one program that runs the
            model given y at every draw).
    """

    model: Callable[..., None]
    description: str
    accepts_missing: bool
    forecasts: bool
    one_step: bool = False
    covariates: bool = False
    pointwise: bool = False


class Option(NamedTuple):
    """A family setting that the fit command exposes as ``--NAME`` and passes to the model
    as the keyword ``NAME`` (a tuple when ``nargs`` is set).

    Attributes:
        name: model keyword; the flag is ``--`` + name with ``_`` as ``-``.
        help: one sentence for ``--help``.
        default: the value when the flag is not given.
        type: ``int``, ``float`` or ``str`` (``str`` needs ``choices``).
        nargs: number of values, or ``None`` for one.
        minimum: smallest allowed value, or ``None``; for floats only 0 is used, meaning
            "strictly positive".
        metavar: names shown in ``--help``.
        variants: the variants whose models take this keyword (``None``: all of them).
        choices: the allowed values of a ``str`` option (``--NAME {a,b}``).
    """

    name: str
    help: str
    default: Any
    type: type = int
    nargs: int | None = None
    minimum: float | None = None
    metavar: str | tuple[str, ...] | None = None
    variants: tuple[str, ...] | None = None
    choices: tuple[str, ...] | None = None


class DataSource(NamedTuple):
    """A bundled CSV series: file, column, and a few words for ``--help``.

    Attributes:
        path: the CSV file (inside the package).
        column: the column fitted.
        description: a few words for ``--help``.
        time_column: the file's time column, used when no ``--data`` is given.
        options: model keywords that belong to this series (a population size, a
            generation interval), used when no ``--data`` is given and the flag is not set.
    """

    path: Path
    column: str
    description: str
    time_column: str | None = None
    options: Mapping[str, Any] = NO_OPTIONS


class TimeQuantity(NamedTuple):
    """A quantity a family's models track over time, for every posterior draw.

    The models record it with ``numpyro.deterministic(name, value)``, ``value`` of shape
    (T,) or (T, K), when they score an observed series; with ``forecast_horizon = h > 0``
    they may also record ``name + "_forecast"`` of shape (h,) or (h, K). The fit command
    keeps both on the series' time axis in ``posterior.nc`` and draws ``<name>.png``: the
    posterior median with 50 % and 90 % bands (one line per component), the forecast after
    the last observation, and a horizontal line at ``reference``.

    Attributes:
        name: the deterministic site, e.g. ``"volatility"``, ``"R_t"``.
        label: axis label and title, e.g. ``"conditional standard deviation"``.
        reference: a value to mark (``1.0`` for a reproduction number), or ``None``.
        class_probabilities: the quantity is (T, K), the probability of each of K classes
            (hidden states) at each step; the fit command then also draws
            ``<name>_series.png``: the observed series with each point coloured by its
            most probable class (the per-step posterior mode), above the posterior mean
            probabilities over time.
        after_sampling: the quantity depends on the parameters alone (not on the observed
            y), so the fit command leaves it out of NUTS's program (NumPyro's ``~z.NAME``
            extra field: the sampler's compiled loop then has no copy of its computation)
            and draws it afterwards in the posterior predictive program, which runs the
            model at every draw anyway; ``posterior.nc`` holds the same values either way.
            Every variant's model must then record it both when scoring y and when
            simulating (``y=None, num_steps=T``).
    """

    name: str
    label: str
    reference: float | None = None
    class_probabilities: bool = False
    after_sampling: bool = False


class ReferencePosterior(NamedTuple):
    """How a family reproduces one posteriordb posterior.

    Attributes:
        name: posteriordb posterior name, e.g. ``"arma-arma11"``.
        variant: the family variant whose model is used.
        options: model keywords (order, prior scales, conventions).
        data: posteriordb data (``data.json``, lists as arrays) -> model keywords, e.g.
            ``lambda data: {"y": data["y"]}``.
        parameters: posteriordb parameter name -> (our site, index into the site, a tuple
            for an entry of a matrix site, or ``None`` for a scalar site).
    """

    name: str
    variant: str
    options: Mapping[str, Any]
    data: Callable[[Mapping[str, Any]], dict[str, Any]]
    parameters: Mapping[str, tuple[str, int | tuple[int, ...] | None]]


class PooledModel(NamedTuple):
    """A family's hierarchical model of a whole panel (partial pooling across S series):
    what ``fit.py FAMILY --series-column ... --hierarchical`` runs as one joint posterior.

    The model is called as ``model(y=(S, T), *, forecast_horizon=0, **options,
    **data_defaults(y, options))``; with an observed ``y`` and ``forecast_horizon = h`` it
    draws ``y_forecast`` (S, h).

    Attributes:
        model: the NumPyro model.
        description: one sentence for ``--help``.
        options: the family options (:class:`Option` names) the model takes; any other
            option given on the command line is refused.
        population: the population sites, in report order (no series axis).
        per_series: the per-series parameter sites, leading axis S, in report order.
        laws: (per-series site, loc site, scale site, label): in the population,
            ``site[s] ~ Normal(loc, scale)`` componentwise (the fit command plots the
            per-series posterior means against it).
        dims: site -> dims of one series' value (or of a population site), e.g.
            ``("ar_lag",)``; coordinates from the family's ``coords_and_dims``.
        data_defaults: (panel (S, T), options) -> the data-scaled keywords (one value
            per series, or one for the panel); a ``ValueError`` when the panel cannot set
            them.
        accepts_missing: whether ``y`` may hold NaN (unequal lengths are padded).
    """

    model: Callable[..., None]
    description: str
    options: tuple[str, ...]
    population: tuple[str, ...]
    per_series: tuple[str, ...]
    laws: tuple[tuple[str, str, str, str], ...]
    dims: Mapping[str, tuple[str, ...]]
    data_defaults: Callable[[np.ndarray, Mapping[str, Any]], dict[str, Any]]
    accepts_missing: bool = True


class ModelFamily(NamedTuple):
    """Everything the fit command, the validator and the benchmarks know about a family.

    Attributes:
        name: the command-line name (``scripts/fit.py NAME``) and registry key.
        title: one line for ``--help``.
        variants: likelihood name -> :class:`Variant`; ``default_variant`` names one.
        default_variant: the variant used when none is asked for.
        options: the family's own settings, as :class:`Option` values.
        parameters: parameter sites in report order (a site a model leaves out, such as
            ARMA's ``phi`` when p = 0, is skipped).
        label: options -> a short name of the fitted model, e.g. ``"ARMA(2,1)"``.
        coords_and_dims: options -> (coords, dims) of the parameter sites for ArviZ.
        too_short: (number of observations, options) -> why the series is too short for
            these options (a phrase such as ``"need more than p + q = 3"``), or ``None``.
        data_defaults: (observed series, variant, options) -> the model keywords whose
            default depends on the data (priors on the series' scale), for the options the
            user left at ``None``; a ``ValueError`` when the series cannot set them. The fit
            command passes them explicitly to every call of the model and records them.
        init_strategy: () -> a NumPyro init strategy (how chains start).
        init_description: how chains start, in words, for ``run.json``.
        default_data: the bundled series fitted when no ``--data`` is given.
        posteriors: posteriordb name -> :class:`ReferencePosterior`.
        check_series: (observed series, options) -> ``None`` when the family can fit the
            series, else (0-based position of the first bad observation, or ``None`` when
            the series as a whole is the problem; a phrase such as ``"-3 is not a count"``).
            Length and missing values are checked apart (``too_short``, ``accepts_missing``);
            ``None`` when the family has nothing more to check.
        time_quantities: the :class:`TimeQuantity` values its models record.
        pointwise_log_likelihood: the name of a deterministic site of shape (T,) that the
            models of the variants marked ``pointwise`` record when fitting an observed y:
            log p(y_t | y_<t) per time step (0
            where a step is not part of the likelihood), or ``None``. The fit command
            stores it as the ``log_likelihood`` group of ``posterior.nc`` (variable ``y``)
            for LOO and ``scripts/compare.py``.
        covariates: the model keyword that takes regressors, shape (T, k) (ARMA:
            ``exog``), or ``None``. The fit command then offers ``--exog COLUMN ...``
            (columns of the data file, complete) and ``--future-exog CSV`` (the same
            columns' next H values, needed with ``--forecast H``), and passes them as that
            keyword and as ``future_`` + keyword to the variants whose ``covariates`` is set.
        panel_ok: whether the fit command may fit many series of one file at once
            (``--series-column`` or ``--columns``: S independent posteriors in one program,
            :mod:`models.panel`): the models must trace with ``y`` traced and every
            data-dependent keyword given (:attr:`data_defaults` returns numbers or tuples
            of numbers, one set per series).
        pooled: the family's hierarchical model of a panel (:class:`PooledModel`), which
            the fit command offers as ``--hierarchical`` with a panel; ``None``: none.
        nuts_options: keywords for NumPyro's ``NUTS`` kernel in the fit command's
            single-series fit (SIR: ``{"target_accept_prob": 0.9}``, a higher ESS per draw
            measured over seeds); empty (NumPyro's defaults) unless the family measured a
            gain. They change how NUTS moves, not the posterior.
        vectorised_draws: (observed series, variant, options) -> whether the fit command
            draws the sites after sampling (posterior predictive, one-step, forecasts)
            vectorised over the posterior draws (NumPyro's ``Predictive(parallel=True)``)
            instead of one draw after another (NumPyro's default, a ``lax.map``); ``None``:
            never. The same numbers either way; set where a measurement showed a gain (a
            long sequential scan per draw), since the vectorised program compiles longer.
    """

    name: str
    title: str
    variants: Mapping[str, Variant]
    default_variant: str
    options: tuple[Option, ...]
    parameters: tuple[str, ...]
    label: Callable[[Mapping[str, Any]], str]
    coords_and_dims: Callable[
        [Mapping[str, Any]], tuple[dict[str, np.ndarray], dict[str, list[str]]]
    ]
    too_short: Callable[[int, Mapping[str, Any]], str | None]
    data_defaults: Callable[[np.ndarray, str, Mapping[str, Any]], dict[str, Any]]
    init_strategy: Callable[[], Callable[..., Any]]
    init_description: str
    default_data: DataSource
    posteriors: Mapping[str, ReferencePosterior]
    check_series: Callable[[np.ndarray, Mapping[str, Any]], tuple[int | None, str] | None] \
        | None = None
    time_quantities: tuple[TimeQuantity, ...] = ()
    pointwise_log_likelihood: str | None = None
    covariates: str | None = None
    panel_ok: bool = False
    pooled: PooledModel | None = None
    nuts_options: Mapping[str, Any] = NO_OPTIONS
    vectorised_draws: Callable[[np.ndarray, str, Mapping[str, Any]], bool] | None = None

    def default_options(self, variant: str) -> dict[str, Any]:
        """The options a fit of ``variant`` uses when no flag is given.

        Example:
            >>> from models.registry import FAMILIES
            >>> options = FAMILIES["arma"].default_options("exact")
            >>> print(options["order"], options["difference"], options["mu_loc"])
            (1, 1) 0 None
            >>> print(FAMILIES["arma"].default_options("conditional"))
            {'order': (1, 1)}
        """
        return {option.name: option.default for option in self.options
                if option.variants is None or variant in option.variants}
