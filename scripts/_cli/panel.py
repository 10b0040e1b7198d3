"""``fit.py FAMILY --series-column NAME --column VALUES`` (long format) or ``--columns A B
...`` (wide format): S independent posteriors, one per series, in one compiled program
(:func:`models.panel.fit_independent`), for every family whose contract sets ``panel_ok``.

Series of unequal length (or with gaps) are padded with NaN where the family's likelihood
takes missing values; elsewhere that is an error naming the series. Outputs: ``posterior.nc``
(every site with a ``series`` dim), ``summary.csv`` (ArviZ's summary, one row per parameter
and series), ``series.csv`` (one row per series: posterior means, diagnostics, the gate's
verdict), ``panel.png`` (a few series with their forecasts), ``means.png`` (the posterior
means over series) and ``run.json``. The gate is applied to each series; exit code 3 names
the series that fail.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from _cli.arguments import SamplerSettings
from _cli.data import Panel, load_panel
from _cli.errors import EXIT_OK, CliError, DiagnosticsGateError
from _cli.gate import GateThresholds
from _cli.outputs import OutputFolder, check_output_folder, write_json
from _cli.record import run_record
from _cli.sampling import CompileTimer, SamplingTimings
from models.family import ModelFamily

__all__ = ["add_panel_arguments", "fit_panel", "is_panel", "panel_series_kwargs"]


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--series-column`` (long format) and ``--columns`` (wide format)."""
    group = parser.add_argument_group("many series (a panel)")
    group.add_argument(
        "--series-column", metavar="NAME", default=None,
        help="long format: this column names each row's series and --column holds the "
        "values; every series gets its own posterior, all fitted in one program (families "
        "that allow it; docs/many-series.md)")
    group.add_argument(
        "--columns", metavar="NAME", nargs="+", default=None,
        help="wide format: one column per series, the rows are the time axis")


def is_panel(args: argparse.Namespace) -> bool:
    """Whether the command line asks for a panel fit.

    Example:
        >>> import argparse
        >>> print(is_panel(argparse.Namespace(series_column="store", columns=None)),
        ...       is_panel(argparse.Namespace(data="y.csv")))
        True False
    """
    return bool(getattr(args, "series_column", None) or getattr(args, "columns", None))


def _check_panel(panel: Panel, family: ModelFamily, variant: str,
                 options: dict[str, Any], forecast: int) -> None:
    label = family.label(options)
    if forecast and not family.variants[variant].forecasts:
        raise CliError(f"--forecast {forecast}: the '{variant}' likelihood of {label} has no "
                       "forecast distribution")
    if not family.variants[variant].accepts_missing:
        gaps = [name for name, values in zip(panel.names, panel.values, strict=True)
                if np.isnan(values).any()]
        if gaps:
            raise CliError(
                f"series {', '.join(gaps[:5])}{' ...' if len(gaps) > 5 else ''} of "
                f"{panel.source} have missing values or are shorter than the longest "
                f"({panel.length}); the '{variant}' likelihood of {label} needs complete "
                "series of equal length (a likelihood that takes missing values pads them)")
    for name, count, values in zip(panel.names, panel.observed, panel.values, strict=True):
        reason = family.too_short(int(count), options)
        if reason is not None:
            raise CliError(f"series '{name}' of {panel.source} is too short for {label}: "
                           f"{count} observation(s); {reason}")
        if family.check_series is not None:
            problem = family.check_series(values[~np.isnan(values)], options)
            if problem is not None:
                raise CliError(f"series '{name}' of {panel.source}: {problem[1]} ({label})")


def panel_series_kwargs(panel: Panel, family: ModelFamily, variant: str,
                        options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The family's data-dependent keywords, one value per series: keyword -> (S, ...)."""
    rows = []
    for name, values in zip(panel.names, panel.values, strict=True):
        try:
            rows.append(family.data_defaults(values, variant, options))
        except ValueError as error:
            raise CliError(f"series '{name}' of {panel.source}: {error}") from None
    return {key: np.array([row[key] for row in rows], dtype=np.float64) for key in rows[0]}


def _component_labels(name: str, draws: np.ndarray) -> list[tuple[str, tuple[int, ...]]]:
    """(label, index) of every component of a site whose draws are (S, C, D, ...)."""
    shape = draws.shape[3:]
    if not shape:
        return [(name, ())]
    return [(f"{name}[{', '.join(str(i + 1) for i in index)}]", index)
            for index in np.ndindex(*shape)]


def fit_panel(args: argparse.Namespace, family: ModelFamily) -> int:
    """Validate the panel, fit every series, write the outputs, apply the gate per series."""
    import jax

    # imported here (fit_command imports this module); configure_platform through
    # fit_command, where the in-process test runner replaces it
    from _cli.fit_command import configure_platform, family_options
    from models.panel import (
        failing_series,
        fit_independent,
        predict_independent,
        series_diagnostics,
    )

    started = time.perf_counter()
    if not family.panel_ok:
        raise CliError(f"{family.name} does not fit several series at once (--series-column, "
                       "--columns); fit them one at a time")
    if getattr(args, "exog", None) or getattr(args, "future_exog", None):
        raise CliError("--exog is not available with a panel (--series-column, --columns)")
    if args.data is None:
        raise CliError("a panel (--series-column, --columns) needs --data CSV")
    settings = SamplerSettings.from_args(args)
    limits = GateThresholds.from_args(args)
    variant, forecast = args.likelihood, args.forecast
    options = family_options(args, family, variant)
    label = family.label(options)
    if args.out is not None:
        check_output_folder(args.out, force=args.force)
    panel = load_panel(args.data, column=args.column, series_column=args.series_column,
                       columns=args.columns, time_column=args.time_column, sep=args.sep)
    _check_panel(panel, family, variant, options, forecast)
    series_kwargs = panel_series_kwargs(panel, family, variant, options)
    static = {key: value for key, value in options.items() if key not in series_kwargs}

    setup = configure_platform(settings.platform, 1, None, float64=True,
                               compilation_cache=settings.compilation_cache)
    import _arviz_io

    num_series = len(panel.names)
    print(f"{label}, {variant} likelihood, {num_series} series x T = {panel.length} of "
          f"{panel.source}; {settings.chains} chain(s) x {settings.samples} draws after "
          f"{settings.warmup} warm-up per series, all series in one program (vmap), float64 "
          f"on {setup.jax_backend}", flush=True)
    if series_kwargs:
        print("set from each series' data: " + ", ".join(sorted(series_kwargs)))
    model = family.variants[variant].model
    fit_key, forecast_key = jax.random.split(jax.random.PRNGKey(settings.seed))
    with CompileTimer() as compile_timer:
        start = time.perf_counter()
        fit = fit_independent(model, panel.values, rng_key=fit_key,
                              num_warmup=settings.warmup, num_samples=settings.samples,
                              num_chains=settings.chains, static_kwargs=static,
                              series_kwargs=series_kwargs,
                              init_strategy=family.init_strategy())
        jax.block_until_ready(fit.samples)
        wall = time.perf_counter() - start
    timings = SamplingTimings(compile_timer.seconds, max(wall - compile_timer.seconds, 0.0),
                              wall)
    samples = {name: np.asarray(value) for name, value in fit.samples.items()}
    forecasts = None
    if forecast:
        start = time.perf_counter()
        forecasts = np.asarray(predict_independent(
            model, samples, panel.values, rng_key=forecast_key, sites=("y_forecast",),
            static_kwargs=static, series_kwargs=series_kwargs,
            forecast_horizon=forecast)["y_forecast"])
        timings.extra["forecast_s"] = time.perf_counter() - start

    report = series_diagnostics(samples, diverging=np.asarray(fit.diverging),
                                energy=np.asarray(fit.energy))
    failing = failing_series(report, max_rhat=limits.max_rhat, min_ess=limits.min_ess,
                             max_divergences=limits.max_divergences, min_ebfmi=limits.min_bfmi)
    parameters = [name for name in family.parameters if name in samples]
    table = {"series": list(panel.names), "observed": panel.observed.tolist()}
    means: dict[str, np.ndarray] = {}
    for name in parameters:
        for component, index in _component_labels(name, samples[name]):
            means[component] = samples[name][(slice(None),) * 3 + index].mean(axis=(1, 2))
            table[f"mean_{component}"] = means[component]
    table.update(max_rhat=report.max_rhat, min_ess=report.min_ess,
                 divergences=report.divergences, min_ebfmi=report.min_ebfmi,
                 passed=[s not in failing for s in range(num_series)],
                 failed_checks=["; ".join(failing.get(s, [])) for s in range(num_series)])
    import pandas as pd

    per_series = pd.DataFrame(table)
    with pd.option_context("display.width", 120, "display.max_columns", 12):
        print(per_series.head(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if num_series > 10:
        print(f"... {num_series - 10} more series in series.csv")
    print(f"compile {timings.compile_s:.1f} s, sampling {timings.sampling_s:.1f} s for "
          f"{num_series} series")

    if args.out is not None:
        coords, dims = family.coords_and_dims(options)
        coords["series"] = np.array(panel.names)
        coords["time"] = panel.time_coordinate()
        dims = {name: ["series", *dims.get(name, [])] for name in samples}
        dims["y"] = ["series", "time"]
        posterior = {name: np.moveaxis(value, 0, 2) for name, value in samples.items()}
        stats = {"diverging": fit.diverging, "energy": fit.energy, "lp": fit.potential_energy,
                 "n_steps": fit.num_steps, "acceptance_rate": fit.accept_prob}
        stats = {name: np.moveaxis(np.asarray(value), 0, 2) for name, value in stats.items()}
        for name in stats:
            dims[name] = ["series"]
        stats["lp"] = -stats["lp"]
        predictions = None
        if forecasts is not None:
            predictions = {"y_forecast": np.moveaxis(forecasts, 0, 2)}
            coords["horizon"] = np.arange(1, forecast + 1)
            dims["y_forecast"] = ["series", "horizon"]
        idata = _arviz_io.inference_data_from_draws(
            posterior, sample_stats=stats, observed_data={"y": panel.values},
            predictions=predictions, coords=coords, dims=dims,
            attrs={"model": label, "likelihood": variant, "seed": settings.seed,
                   "data_source": panel.source.strip("'"), "data_column": panel.column,
                   "series_column": args.series_column or "",
                   "time_column": panel.time_column or ""})
        summary = _arviz_io.summary(idata, parameters)
        with OutputFolder(args.out, force=args.force) as output:
            _arviz_io.write_netcdf(idata, output.path("posterior.nc"))
            summary.to_csv(output.path("summary.csv"), index_label="parameter")
            per_series.to_csv(output.path("series.csv"), index=False)
            _arviz_io.save_panel_plot(
                output.path("panel.png"), values=panel.values, times=panel.time_coordinate(),
                names=panel.names,
                forecasts=None if forecasts is None else forecasts.reshape(
                    num_series, -1, forecast),
                time_label=panel.time_column or "time index")
            _arviz_io.save_means_plot(output.path("means.png"), means)
            timings.extra["total_s"] = time.perf_counter() - started
            record = run_record(settings, setup, timings, limits=None, extra={
                "model": {"name": family.name,
                          **{name: list(value) if isinstance(value, tuple) else value
                             for name, value in static.items()},
                          "likelihood": variant, "forecast_horizon": forecast,
                          "init": family.init_description,
                          "set_from_data": sorted(series_kwargs)},
                "panel": {"source": panel.source.strip("'"), "sha256": panel.sha256,
                          "series": num_series, "length": panel.length,
                          "series_column": args.series_column, "columns": args.columns,
                          "column": panel.column, "time_column": panel.time_column},
                "gate": {"limits": limits.__dict__, "allow_warnings": args.allow_warnings,
                         "failed_series": {panel.names[s]: reasons
                                           for s, reasons in failing.items()}},
            })
            write_json(output.path("run.json"), record)
            output.commit()
        print(f"wrote posterior.nc, summary.csv, series.csv, panel.png, means.png, run.json "
              f"to {args.out}")

    if not failing:
        print(f"diagnostics gate: passed for all {num_series} series")
        return EXIT_OK
    shown = "; ".join(f"{panel.names[s]} ({', '.join(reasons)})"
                      for s, reasons in list(failing.items())[:10])
    more = f"; and {len(failing) - 10} more" if len(failing) > 10 else ""
    where = f"; outputs were written to '{args.out}'" if args.out is not None else ""
    message = (f"diagnostics gate failed for {len(failing)} of {num_series} series: "
               f"{shown}{more}{where}")
    if args.allow_warnings:
        import sys

        print(f"warning: {message} (accepted by --allow-warnings)", file=sys.stderr)
        return EXIT_OK
    raise DiagnosticsGateError(message + " (--allow-warnings accepts the run anyway)")
