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
* how chains start (:attr:`ModelFamily.init_strategy`);
* which variants accept missing values (NaN in ``y``) and which forecast;
* the bundled data it runs on by default;
* the posteriordb reference posteriors it reproduces (:class:`ReferencePosterior`).

Plain ``NamedTuple`` values, no class hierarchy: a family is data plus a few functions.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["DataSource", "ModelFamily", "Option", "ReferencePosterior", "Variant"]


class Variant(NamedTuple):
    """One likelihood of a family (``--likelihood NAME``).

    Attributes:
        model: the NumPyro model, called as in the module text.
        description: one sentence for ``--help``.
        accepts_missing: whether ``y`` may hold NaN (the likelihood skips them).
        forecasts: whether ``forecast_horizon > 0`` is supported.
    """

    model: Callable[..., None]
    description: str
    accepts_missing: bool
    forecasts: bool


class Option(NamedTuple):
    """A family setting that the fit command exposes as ``--NAME`` and passes to the model
    as the keyword ``NAME`` (a tuple when ``nargs`` is set).

    Attributes:
        name: model keyword; the flag is ``--`` + name with ``_`` as ``-``.
        help: one sentence for ``--help``.
        default: the value when the flag is not given.
        type: ``int`` or ``float``.
        nargs: number of values, or ``None`` for one.
        minimum: smallest allowed value, or ``None``; for floats only 0 is used, meaning
            "strictly positive".
        metavar: names shown in ``--help``.
        variants: the variants whose models take this keyword (``None``: all of them).
    """

    name: str
    help: str
    default: Any
    type: type = int
    nargs: int | None = None
    minimum: float | None = None
    metavar: str | tuple[str, ...] | None = None
    variants: tuple[str, ...] | None = None


class DataSource(NamedTuple):
    """A bundled CSV series: file, column, and a few words for ``--help``."""

    path: Path
    column: str
    description: str


class ReferencePosterior(NamedTuple):
    """How a family reproduces one posteriordb posterior.

    Attributes:
        name: posteriordb posterior name, e.g. ``"arma-arma11"``.
        variant: the family variant whose model is used.
        options: model keywords (order, prior scales, conventions).
        data: posteriordb data (``data.json``, lists as arrays) -> model keywords, e.g.
            ``lambda data: {"y": data["y"]}``.
        parameters: posteriordb parameter name -> (our site, index into the site or
            ``None`` for a scalar site).
    """

    name: str
    variant: str
    options: Mapping[str, Any]
    data: Callable[[Mapping[str, Any]], dict[str, Any]]
    parameters: Mapping[str, tuple[str, int | None]]


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
        pointwise_log_likelihood: the name of a deterministic site of shape (T,) that the
            models record when fitting an observed y: log p(y_t | y_<t) per time step (0
            where a step is not part of the likelihood), or ``None``. The fit command
            stores it as the ``log_likelihood`` group of ``posterior.nc`` (variable ``y``)
            for LOO and ``scripts/compare.py``.
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
    pointwise_log_likelihood: str | None = None

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
