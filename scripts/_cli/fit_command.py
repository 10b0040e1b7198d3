"""The fit command every model family shares, driven by :mod:`models.registry`.

``scripts/fit.py FAMILY [options]`` builds its options from the family's contract
(:class:`models.family.ModelFamily`): the shared data, sampling, gate and output flags of
:mod:`_cli.arguments`, ``--likelihood`` from the family's variants, ``--forecast H``, and
one ``--NAME`` per family :class:`~models.family.Option` (for ARMA, ``--order P Q``). No
line here names a family: a new family is a folder under ``models/`` and a registry line.

The run: check the input (one ``error:`` line and exit code 2 for anything unusable),
set the platform up, run NUTS from the family's starting points, draw replicated series
(``model(y=None, num_steps=T)``) and, with ``--forecast H``, forecasts
(``model(y, forecast_horizon=H)``), print the ArviZ summary and the diagnostics, write
``posterior.nc``, ``summary.csv``, ``trace.png``, ``ppc.png``, ``forecast.png`` and
``run.json`` atomically, then apply the gate (exit code 3 when it fails).

This module imports :mod:`models` (and so JAX) but touches no device at import time: the
platform and device count are set by :func:`_cli.platform.configure_platform` first.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from _cli.arguments import (
    SamplerSettings,
    add_common_arguments,
    make_parser,
    nonnegative_int,
    positive_float,
    positive_int,
)
from _cli.data import Series, load_series, require_complete
from _cli.errors import EXIT_OK, CliError, run
from _cli.gate import GateThresholds, diagnostics_gate, summarise_and_diagnose
from _cli.outputs import OutputFolder, check_output_folder, write_json
from _cli.panel import add_panel_arguments, fit_panel, is_panel
from _cli.platform import configure_platform
from _cli.record import run_record
from _cli.sampling import SamplingTimings, run_nuts
from models.family import ModelFamily, Option
from models.registry import FAMILIES

__all__ = ["add_family_arguments", "add_fit_arguments", "build_parser", "family_options", "fit",
           "main", "sample_posterior"]


def _finite_float(text: str) -> float:
    """argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got '{text}'")
    return value


def _argument_type(option: Option) -> Callable[[str], Any]:
    if option.type is int:
        return nonnegative_int if option.minimum == 0 else positive_int if option.minimum == 1 \
            else int
    if option.type is float:
        return positive_float if option.minimum == 0 else _finite_float
    if option.type is str and option.choices:
        return str
    raise TypeError(f"option {option.name}: type must be int, float, or str with choices; got "
                    f"{option.type}")


def _flag(option: Option) -> str:
    return "--" + option.name.replace("_", "-")


def add_family_arguments(parser: argparse.ArgumentParser, family: ModelFamily) -> None:
    """The ``model`` group: the family's options, ``--likelihood`` and ``--forecast``."""
    group = parser.add_argument_group("model")
    for option in family.options:
        only = (f" (--likelihood {' or '.join(option.variants)} only)" if option.variants
                else "")
        group.add_argument(
            _flag(option),
            dest=option.name,
            nargs=option.nargs,
            type=_argument_type(option),
            default=None,  # None: not given; family_options fills in the default
            metavar=option.metavar,
            choices=option.choices,
            help=option.help + only,
        )
    group.add_argument(
        "--likelihood",
        choices=sorted(family.variants),
        default=family.default_variant,
        help="; ".join(f"{name}: {variant.description}"
                       for name, variant in family.variants.items()),
    )
    if family.covariates is not None:
        taking = [name for name, variant in family.variants.items() if variant.covariates]
        group.add_argument(
            "--exog", nargs="+", default=None, metavar="COLUMN",
            help=f"regressors: these columns of the data file (complete) as the model's "
            f"'{family.covariates}' (--likelihood {' or '.join(taking)}); default none")
        group.add_argument(
            "--future-exog", default=None, metavar="CSV",
            help="with --exog and --forecast H: a CSV file with the same columns holding "
            "their next H values (its first H rows are used)")
    forecasting = [name for name, variant in family.variants.items() if variant.forecasts]
    group.add_argument(
        "--forecast",
        type=nonnegative_int,
        default=0,
        metavar="H",
        help=f"with --likelihood {' or '.join(forecasting) or '(none)'}: draw H-step-ahead "
        "forecasts from the posterior (predictions group of posterior.nc, forecast.png); "
        "default 0, none",
    )


def add_fit_arguments(parser: argparse.ArgumentParser, family: ModelFamily) -> None:
    """The options of ``fit.py FAMILY``: the family's own, then every shared one."""
    add_family_arguments(parser, family)
    add_common_arguments(
        parser,
        default_data_help=f"default: {family.default_data.description}, column "
        f"'{family.default_data.column}'",
    )
    if family.panel_ok:
        add_panel_arguments(parser, family)


def build_parser(family: ModelFamily, prog: str | None = None) -> argparse.ArgumentParser:
    """A parser of one family's fit options (``fit_arma.py``)."""
    parser = make_parser(f"Fit {family.title} with NumPyro's NUTS.", prog=prog)
    add_fit_arguments(parser, family)
    return parser


def family_options(args: argparse.Namespace, family: ModelFamily,
                   variant: str) -> dict[str, Any]:
    """The model keywords of ``variant`` that the parsed flags set, defaults filled in
    (tuples where an option takes several); a flag given for a variant that does not take
    it is a :class:`CliError`. Without ``--data``, the bundled series' own options (its
    population size, say) stand in for flags that were not given."""
    options = {}
    bundled = family.default_data.options if getattr(args, "data", None) is None else {}
    for option in family.options:
        given = getattr(args, option.name)
        if option.variants is not None and variant not in option.variants:
            if given is not None:
                raise CliError(f"{_flag(option)} applies to --likelihood "
                               f"{' or '.join(option.variants)} only, not '{variant}'")
            continue
        default = bundled.get(option.name, option.default)
        value = default if given is None else given
        options[option.name] = tuple(value) if option.nargs and value is not None else value
    return options


def recorded_pointwise_site(family: ModelFamily, variant: str) -> str | None:
    """The family's pointwise log-likelihood site if the variant's model records it."""
    return family.pointwise_log_likelihood if family.variants[variant].pointwise else None


def sample_posterior(
    family: ModelFamily,
    variant: str,
    options: dict[str, Any],
    y: Any,
    *,
    settings: SamplerSettings,
    rng_key: Any,
    chain_method: str,
    collect_pointwise: bool = False,
) -> tuple[Any, SamplingTimings]:
    """NUTS on the variant's model as the fit command runs it (the family's starting
    points and NUTS options; the time quantities marked ``after_sampling`` are not
    collected, :func:`fit` draws them with the posterior predictive). Call after
    :func:`_cli.platform.configure_platform`. The ESS benchmark calls this too, so its
    default row is the fit command's own fit.

    The family's pointwise log-likelihood site is left out of the sampler too unless
    ``collect_pointwise``: :func:`fit` draws it afterwards in the program that runs the
    model given y at every draw (the one-step predictions), so NUTS's program holds no
    copy of it (measured: the differenced weekly CO2 series with its 82 gaps, ARMA(2, 1),
    11.0-12.7 s of XLA compilation against 14.6-14.9 s with it)."""
    pointwise = recorded_pointwise_site(family, variant)
    return run_nuts(
        family.variants[variant].model,
        {"y": y, **options},
        rng_key=rng_key,
        chains=settings.chains,
        warmup=settings.warmup,
        samples=settings.samples,
        chain_method=chain_method,
        progress_bar=settings.progress_bar,
        init_strategy=family.init_strategy(),
        nuts_options=family.nuts_options,
        leave_out=[quantity.name for quantity in family.time_quantities
                   if quantity.after_sampling]
        + ([pointwise] if pointwise and not collect_pointwise else []),
    )


def _check_input(series: Series, family: ModelFamily, variant: str, options: dict[str, Any],
                 forecast: int) -> None:
    label = family.label(options)
    if forecast and not family.variants[variant].forecasts:
        forecasting = [name for name, v in family.variants.items() if v.forecasts]
        raise CliError(
            f"--forecast {forecast} needs --likelihood {' or '.join(forecasting)} (the "
            f"'{variant}' likelihood of {label} has no forecast distribution)"
            if forecasting else f"--forecast: {label} has no forecast distribution"
        )
    if not family.variants[variant].accepts_missing:
        require_complete(series, f"the '{variant}' likelihood of {label}")
    reason = family.too_short(series.length, options)
    if reason is not None:
        raise CliError(
            f"series too short for {label}: {series.length} observation(s) in column "
            f"'{series.column}' of {series.source}; {reason}"
        )
    if family.check_series is not None:
        problem = family.check_series(series.values, options)
        if problem is not None:
            position, reason = problem
            where = (f"line {series.lines[position]}, " if position is not None
                     else "")
            raise CliError(f"{series.source} {where}column '{series.column}': {reason} "
                           f"({label})")


def _format_setting(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(f"{item:.4g}" for item in value) + ")"
    return f"{value:.4g}"


def load_covariates(args: argparse.Namespace, family: ModelFamily, variant: str,
                    series: Series, forecast: int) -> dict[str, np.ndarray]:
    """The family's regressor keyword(s) from ``--exog`` and ``--future-exog``, or ``{}``:
    ``{keyword: (T, k)}`` and, with ``--forecast H``, ``{"future_" + keyword: (H, k)}``.
    Every problem is a :class:`CliError` (one line). The family's ``coords_and_dims`` sees
    them too; a coordinate it names ``keyword + "_column"`` (its coefficients' dim) gets the
    column names."""
    keyword = family.covariates
    columns = getattr(args, "exog", None)
    future = getattr(args, "future_exog", None)
    if keyword is None or (not columns and future is None):
        return {}
    if not columns:
        raise CliError("--future-exog needs --exog COLUMN ...: the regressor columns")
    if not family.variants[variant].covariates:
        taking = [name for name, v in family.variants.items() if v.covariates]
        raise CliError(f"--exog applies to --likelihood {' or '.join(taking)} only, not "
                       f"'{variant}'")
    if args.data == "-" or future == "-":
        raise CliError("--exog reads the data file once per column: give files, not '-' "
                       "(stdin)")
    if series.column in columns:
        raise CliError(f"--exog: '{series.column}' is the series being fitted, not a regressor")

    def read(path: str | None, column: str, what: str, flag: str) -> np.ndarray:
        try:
            values = load_series(path, column, None, default_path=family.default_data.path,
                                 default_column=family.default_data.column, sep=args.sep)
        except CliError as error:  # an unknown column is the regressor flag's, not --column's
            unknown = f"--column '{column}' is not a column"
            raise CliError(str(error).replace(unknown, f"{flag} '{column}' is not a column", 1)
                           ) from None
        require_complete(values, what)
        return values.values

    covariates = {keyword: np.column_stack(
        [read(args.data, column, f"the regressor --exog {column}", "--exog")
         for column in columns])}
    if len(covariates[keyword]) != series.length:
        raise CliError(f"--exog: the regressors have {len(covariates[keyword])} rows, the "
                       f"series {series.length}")
    if forecast:
        if future is None:
            raise CliError(f"--forecast {forecast} with --exog needs --future-exog CSV: the "
                           f"next {forecast} values of {', '.join(columns)}")
        rows = [read(future, column, f"the future regressor {column}", "--future-exog")
                for column in columns]
        short = [(column, len(r)) for column, r in zip(columns, rows, strict=True)
                 if len(r) < forecast]
        if short:
            raise CliError(f"--future-exog {future}: column '{short[0][0]}' has "
                           f"{short[0][1]} row(s); --forecast {forecast} needs {forecast}")
        covariates["future_" + keyword] = np.column_stack([r[:forecast] for r in rows])
    elif future is not None:
        raise CliError("--future-exog is only used with --forecast H")
    return covariates


def fit(args: argparse.Namespace, family: ModelFamily) -> int:
    """Validate the input, fit, print the summary, write the outputs, apply the gate."""
    import jax

    if is_panel(args):  # many series: S independent posteriors in one program
        return fit_panel(args, family)
    started = time.perf_counter()
    settings = SamplerSettings.from_args(args)
    limits = GateThresholds.from_args(args)
    variant, forecast = args.likelihood, args.forecast
    options = family_options(args, family, variant)
    label = family.label(options)
    if args.out is not None:
        check_output_folder(args.out, force=args.force)  # refuse before the long part
    time_column = args.time_column
    if args.data is None and time_column is None:
        time_column = family.default_data.time_column
    series = load_series(
        args.data,
        args.column,
        time_column,
        default_path=family.default_data.path,
        default_column=family.default_data.column,
        sep=args.sep,
    )
    if series.separator_guessed:
        print(f"read {series.source} with {series.separator!r} as the field separator "
              "(guessed from its header; --sep sets it)")
    _check_input(series, family, variant, options, forecast)
    covariates = load_covariates(args, family, variant, series, forecast)
    try:
        from_data = family.data_defaults(series.values, variant, {**options, **covariates})
    except ValueError as error:
        raise CliError(f"column '{series.column}' of {series.source}: {error}") from None
    options.update(from_data)

    setup = configure_platform(
        settings.platform, settings.chains, settings.chain_method, float64=True,
        compilation_cache=settings.compilation_cache,
    )
    # ArviZ and matplotlib take seconds to import; bad input above fails before paying that.
    import _arviz_io

    num_missing = int(np.isnan(series.values).sum())
    missing_note = f", {num_missing} missing" if num_missing else ""
    print(
        f"{label}, {variant} likelihood, T = {series.length}{missing_note} "
        f"('{series.column}' of "
        f"{series.source}); {settings.chains} chain(s) x {settings.samples} draws after "
        f"{settings.warmup} warm-up; float64 on {setup.jax_backend}, chains "
        f"{setup.chain_method} over {setup.device_count} device(s)",
        flush=True,
    )
    if from_data:
        print("set from the data: " + ", ".join(f"{name} = {_format_setting(value)}"
                                                 for name, value in from_data.items()))
    mcmc_key, predictive_key, forecast_key = jax.random.split(
        jax.random.PRNGKey(settings.seed), 3)
    y = jax.numpy.asarray(series.values)
    mcmc, timings = sample_posterior(family, variant, {**options, **covariates}, y,
                                     settings=settings,
                                     rng_key=mcmc_key, chain_method=setup.chain_method)
    model = family.variants[variant].model
    vectorised = family.vectorised_draws is not None and family.vectorised_draws(
        series.values, variant, options)

    def draw_from_posterior(sites: list[str], key: Any, timing: str,
                            **model_kwargs) -> dict[str, np.ndarray]:
        from numpyro.infer import Predictive

        def draw(key: Any, samples: dict[str, Any]) -> dict[str, Any]:
            return Predictive(model, posterior_samples=samples, batch_ndims=2,
                              return_sites=sites, parallel=vectorised)(
                key, **options, **covariates, **model_kwargs)

        start = time.perf_counter()
        samples = mcmc.get_samples(group_by_chain=True)
        if setup.jax_backend == "cpu":
            # chains run in parallel leave their draws split over the XLA host devices, and
            # a program over split inputs is split too: 2-4 x slower than on one device
            # (T = 20,000, 4 x 1,000 draws, 2 cores: 18.2 against 6.8 s)
            samples = jax.device_put(samples, jax.devices("cpu")[0])
        # one XLA program: NumPyro's Predictive runs op by op, one small program per operation
        draws = jax.jit(draw)(key, samples)
        # the call returns at dispatch: the time is the work's only once it has finished
        draws = jax.block_until_ready(draws)
        timings.extra[timing] = time.perf_counter() - start
        return {site: np.asarray(value) for site, value in draws.items()}

    # replicated series: simulated afresh from each draw, not conditioned on y; the same
    # program gives the time quantities that depend on the parameters alone, left out of
    # the sampler's (TimeQuantity.after_sampling)
    after_sampling = [quantity.name for quantity in family.time_quantities
                      if quantity.after_sampling]
    predictive_draws = draw_from_posterior(["y", *after_sampling], predictive_key,
                                           "posterior_predictive_s", y=None,
                                           num_steps=series.length)
    posterior_predictive = {"y": predictive_draws["y"]}
    posterior_extra = {name: predictive_draws[name] for name in after_sampling}
    # given the data: the one-step-ahead predictions and the pointwise log-likelihood (left
    # out of the sampler, sample_posterior), from one program
    one_step = family.variants[variant].one_step
    pointwise = recorded_pointwise_site(family, variant)
    given_y = (["y_one_step"] if one_step else []) + ([pointwise] if pointwise else [])
    if given_y:
        given_draws = draw_from_posterior(
            given_y, jax.random.fold_in(predictive_key, 1),
            "one_step_s" if one_step else "pointwise_s", y=y,
            **({"one_step_ahead": True} if one_step else {}))
        if one_step:
            posterior_predictive["y_one_step"] = given_draws["y_one_step"]
        if pointwise:
            posterior_extra[pointwise] = given_draws[pointwise]
    posterior_sites = {**mcmc.get_samples(group_by_chain=True), **posterior_extra}
    tracked = [quantity for quantity in family.time_quantities
               if quantity.name in posterior_sites]
    predictions = None
    if forecast:  # forecasts: conditioned on the observed y
        wanted = ["y_forecast"] + [f"{quantity.name}_forecast" for quantity in tracked]
        predictions = draw_from_posterior(wanted, forecast_key, "forecast_s", y=y,
                                          forecast_horizon=forecast)

    coords, dims = family.coords_and_dims({**options, **covariates})
    if covariates and f"{family.covariates}_column" in coords:
        # the coefficients of the regressors, named by their columns (beta[unemp])
        coords[f"{family.covariates}_column"] = np.asarray(args.exog)
    coords["time"], dims["y"] = series.time_coordinate(), ["time"]
    dims["y_one_step"] = ["time"]
    if pointwise:
        dims[pointwise] = ["time"]
    if forecast:
        coords["horizon"], dims["y_forecast"] = np.arange(1, forecast + 1), ["horizon"]
    for quantity in tracked:  # (chain, draw, T) or (chain, draw, T, K)
        component = [f"{quantity.name}_component"] if np.ndim(
            posterior_sites[quantity.name]) == 4 else []
        dims[quantity.name] = ["time", *component]
        if predictions is not None and f"{quantity.name}_forecast" in predictions:
            dims[f"{quantity.name}_forecast"] = ["horizon", *component]
    idata = _arviz_io.inference_data_from_mcmc(
        mcmc,
        posterior_extra=posterior_extra,
        posterior_predictive=posterior_predictive,
        predictions=predictions,
        coords=coords,
        dims=dims,
        attrs={
            "model": label,
            "likelihood": variant,
            "seed": settings.seed,
            "data_source": series.source.strip("'"),
            "data_column": series.column,
            "time_column": series.time_column or "",
        },
        observed_data={"y": y},  # as the model got it: spares ArviZ a run of the model
    )
    if pointwise and pointwise in idata.posterior:  # one-step densities, for LOO
        _arviz_io.add_pointwise_log_likelihood(idata, pointwise, observed="y", dim="time")
    var_names = [name for name in family.parameters if name in idata.posterior]
    summary, diagnostics = summarise_and_diagnose(idata, var_names)
    drawn = "".join(f", {label} {timings.extra[key]:.1f} s" for key, label in (
        ("posterior_predictive_s", "posterior predictive"),
        ("one_step_s", "one-step and pointwise log-likelihood" if pointwise else "one-step"),
        ("pointwise_s", "pointwise log-likelihood"),
        ("forecast_s", "forecast")) if key in timings.extra)
    print(
        f"compile {timings.compile_s:.1f} s, sampling {timings.sampling_s:.1f} s{drawn} "
        f"(JAX compile time counted apart from the MCMC wall time)"
    )
    gate_failures = diagnostics.failures(limits)

    if args.out is not None:
        with OutputFolder(args.out, force=args.force) as output:
            _arviz_io.write_netcdf(idata, output.path("posterior.nc"))
            summary.to_csv(output.path("summary.csv"), index_label="parameter")
            _arviz_io.save_trace_plot(idata, output.path("trace.png"), var_names)
            _arviz_io.save_ppc_plot(
                idata,
                output.path("ppc.png"),
                observed="y",
                time_label=series.time_column or "time index",
                seed=settings.seed,
                one_step="y_one_step" if "y_one_step" in posterior_predictive else None,
            )
            if forecast:
                _arviz_io.save_forecast_plot(
                    idata,
                    output.path("forecast.png"),
                    observed="y",
                    forecast="y_forecast",
                    time_label=series.time_column or "time index",
                )
            for quantity in tracked:
                _arviz_io.save_time_quantity_plot(
                    idata,
                    output.path(f"{quantity.name}.png"),
                    name=quantity.name,
                    label=quantity.label,
                    reference=quantity.reference,
                    time_label=series.time_column or "time index",
                )
                if quantity.class_probabilities:
                    _arviz_io.save_class_series_plot(
                        idata,
                        output.path(f"{quantity.name}_series.png"),
                        name=quantity.name,
                        observed="y",
                        label=quantity.label,
                        time_label=series.time_column or "time index",
                    )
            timings.extra["total_s"] = time.perf_counter() - started
            record = run_record(
                settings,
                setup,
                timings,
                limits=limits,
                allow_warnings=args.allow_warnings,
                series=series,
                diagnostics=diagnostics,
                gate_failures=gate_failures,
                extra={"model": {
                    "name": family.name,
                    **{name: list(value) if isinstance(value, tuple) else value
                       for name, value in options.items()},
                    "likelihood": variant,
                    "forecast_horizon": forecast,
                    "init": family.init_description,
                    "set_from_data": sorted(from_data),
                    **({"exog": list(args.exog)} if covariates else {}),
                }},
            )
            write_json(output.path("run.json"), record)
            output.commit()
        written = ", ".join(["posterior.nc", "summary.csv", "trace.png", "ppc.png"]
                            + (["forecast.png"] if forecast else [])
                            + [f"{quantity.name}.png" for quantity in tracked]
                            + [f"{quantity.name}_series.png" for quantity in tracked
                               if quantity.class_probabilities] + ["run.json"])
        print(f"wrote {written} to {args.out}")

    diagnostics_gate(diagnostics, limits, allow_warnings=args.allow_warnings,
                     written_to=args.out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, family: str | None = None,
         prog: str | None = None) -> NoReturn:
    """Run the fit command: ``fit.py FAMILY [options]``, or one family's options alone
    when ``family`` is given (the ``fit_arma.py`` alias)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if family is not None:
        chosen = FAMILIES[family]
        run(lambda args: fit(args, chosen), build_parser(chosen, prog), argv)
    parser = make_parser(
        "Fit a model family to a time series with NumPyro's NUTS: "
        + "; ".join(f"{name}: {f.title}" for name, f in FAMILIES.items()),
        prog=prog,
    )
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True,
                                     parser_class=type(parser))
    for name, chosen in FAMILIES.items():
        sub = families.add_parser(name, help=chosen.title,
                                  description=f"Fit {chosen.title} with NumPyro's NUTS.",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        add_fit_arguments(sub, chosen)
    run(lambda args: fit(args, FAMILIES[args.family]), parser, argv)
