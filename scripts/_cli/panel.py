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

``--hierarchical`` (families whose contract names a pooled model,
:attr:`models.family.ModelFamily.pooled`) fits the panel as one hierarchical posterior
instead (partial pooling across series): the population parameters and every series'
parameters in ``posterior.nc`` and ``summary.csv``, ``series.csv`` (per-series posterior
means), ``means.png`` (the per-series posterior means against the population law),
``panel.png`` (a few series with forecasts), ``trace.png`` (the population parameters);
the gate is the single fit's, over the joint posterior's parameters.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from _cli.arguments import SamplerSettings
from _cli.data import Panel, load_panel
from _cli.errors import EXIT_OK, CliError, DiagnosticsGateError
from _cli.gate import GateThresholds, diagnostics_gate, summarise_and_diagnose
from _cli.outputs import OutputFolder, check_output_folder, write_json
from _cli.record import run_record
from _cli.sampling import CompileTimer, SamplingTimings, run_nuts
from models.family import ModelFamily

__all__ = ["add_panel_arguments", "fit_panel", "is_panel", "panel_series_kwargs",
           "population_density"]


def add_panel_arguments(parser: argparse.ArgumentParser,
                        family: ModelFamily | None = None) -> None:
    """``--series-column`` (long format) and ``--columns`` (wide format); ``--hierarchical``
    when ``family`` has a pooled model."""
    group = parser.add_argument_group("many series (a panel)")
    group.add_argument(
        "--series-column", metavar="NAME", default=None,
        help="long format: this column names each row's series and --column holds the "
        "values; every series gets its own posterior, all fitted in one program (families "
        "that allow it; docs/many-series.md)")
    group.add_argument(
        "--columns", metavar="NAME", nargs="+", default=None,
        help="wide format: one column per series, the rows are the time axis")
    group.add_argument(
        "--batch-size", metavar="B", type=int, default=None,
        help="independent posteriors: run the series in blocks of B, re-sorted by tree depth "
        "at each warm-up window, so a block waits only for its own deepest tree (same draws "
        "per series; faster on a CPU when S is well above 100, e.g. B = 100; default: all "
        "series in one vmap; docs/many-series.md)")
    if family is not None and family.pooled is not None:
        group.add_argument(
            "--hierarchical", action="store_true",
            help=f"with a panel: one hierarchical posterior instead of independent ones "
            f"({family.pooled.description})")


def is_panel(args: argparse.Namespace) -> bool:
    """Whether the command line asks for a panel fit.

    Example:
        >>> import argparse
        >>> print(is_panel(argparse.Namespace(series_column="store", columns=None)),
        ...       is_panel(argparse.Namespace(data="y.csv")))
        True False
    """
    panel = bool(getattr(args, "series_column", None) or getattr(args, "columns", None))
    if getattr(args, "hierarchical", False) and not panel:
        raise CliError("--hierarchical fits many series at once: give them with "
                       "--series-column NAME --column VALUES or --columns A B ...")
    batch_size = getattr(args, "batch_size", None)
    if batch_size is not None:
        if not panel:
            raise CliError("--batch-size runs many series in blocks: give them with "
                           "--series-column NAME --column VALUES or --columns A B ...")
        if batch_size < 1:
            raise CliError(f"--batch-size must be an integer >= 1, got {batch_size}")
        if getattr(args, "hierarchical", False):
            raise CliError("--batch-size is not available with --hierarchical (one joint "
                           "posterior, not one per series)")
    return panel


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
    if getattr(args, "hierarchical", False):
        return _fit_pooled(args, family, panel, settings, limits, started)
    _check_panel(panel, family, variant, options, forecast)
    series_kwargs = panel_series_kwargs(panel, family, variant, options)
    static = {key: value for key, value in options.items() if key not in series_kwargs}

    setup = configure_platform(settings.platform, 1, None, float64=True,
                               compilation_cache=settings.compilation_cache)
    import _arviz_io

    num_series = len(panel.names)
    print(f"{label}, {variant} likelihood, {num_series} series x T = {panel.length} of "
          f"{panel.source}; {settings.chains} chain(s) x {settings.samples} draws after "
          f"{settings.warmup} warm-up per series, all series in one program ("
          + ("vmap" if getattr(args, "batch_size", None) is None else
             f"blocks of {args.batch_size} series, regrouped by tree depth")
          + f"), float64 on {setup.jax_backend}", flush=True)
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
                              init_strategy=family.init_strategy(),
                              batch_size=getattr(args, "batch_size", None))
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
                          "column": panel.column, "time_column": panel.time_column,
                          "batch_size": getattr(args, "batch_size", None)},
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


def population_density(loc: np.ndarray, scale: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The population law of a new series' value, averaged over the posterior: the mean of
    ``Normal(loc_d, scale_d)`` densities over draws d at each point of ``grid``.

    Example:
        >>> grid = np.array([-1.0, 0.0, 1.0])
        >>> print(population_density(np.zeros(2), np.ones(2), grid).round(4))
        [0.242  0.3989 0.242 ]
    """
    loc, scale = np.ravel(loc)[:, None], np.ravel(scale)[:, None]
    z = (grid[None, :] - loc) / scale
    return np.mean(np.exp(-0.5 * z**2) / (scale * np.sqrt(2 * np.pi)), axis=0)


def _pooled_options(args: argparse.Namespace, family: ModelFamily) -> dict[str, Any]:
    """The pooled model's options from the flags; a flag it does not take is refused."""
    pooled = family.pooled
    assert pooled is not None
    if args.likelihood != family.default_variant:
        raise CliError(f"--likelihood {args.likelihood} is not available with --hierarchical "
                       f"(the hierarchical model has its own likelihood: "
                       f"{pooled.description})")
    options = {}
    for option in family.options:
        given = getattr(args, option.name, None)
        if option.name in pooled.options:
            value = option.default if given is None else given
            options[option.name] = tuple(value) if option.nargs and value is not None \
                else value
        elif given is not None:
            flag = "--" + option.name.replace("_", "-")
            raise CliError(f"{flag} is not available with --hierarchical (it takes "
                           f"{', '.join('--' + o.replace('_', '-') for o in pooled.options)}"
                           ")")
    return options


def _fit_pooled(args: argparse.Namespace, family: ModelFamily, panel: Panel,
                settings: SamplerSettings, limits: GateThresholds, started: float) -> int:
    """``--hierarchical``: the family's pooled model on the whole panel, one posterior."""
    import jax

    from _cli.fit_command import configure_platform

    pooled = family.pooled
    assert pooled is not None
    options = _pooled_options(args, family)
    forecast = args.forecast
    variant = family.default_variant
    label = f"hierarchical {family.label(options)}"
    if not pooled.accepts_missing:
        variant = next((name for name, v in family.variants.items()
                        if not v.accepts_missing), variant)
    _check_panel(panel, family, variant, options, forecast)
    try:
        from_data = pooled.data_defaults(panel.values, options)
    except ValueError as error:
        raise CliError(f"{panel.source}: {error}") from None
    setup = configure_platform(settings.platform, settings.chains, settings.chain_method,
                               float64=True, compilation_cache=settings.compilation_cache)
    import _arviz_io

    num_series = len(panel.names)
    print(f"{label}, {num_series} series x T = {panel.length} of {panel.source}; "
          f"{settings.chains} chain(s) x {settings.samples} draws after {settings.warmup} "
          f"warm-up of one joint posterior; float64 on {setup.jax_backend}, chains "
          f"{setup.chain_method} over {setup.device_count} device(s)", flush=True)
    mcmc_key, forecast_key = jax.random.split(jax.random.PRNGKey(settings.seed))
    y = jax.numpy.asarray(panel.values)
    keywords = {**options, **from_data}
    mcmc, timings = run_nuts(pooled.model, {"y": y, **keywords}, rng_key=mcmc_key,
                             chains=settings.chains, warmup=settings.warmup,
                             samples=settings.samples, chain_method=setup.chain_method,
                             progress_bar=settings.progress_bar,
                             init_strategy=family.init_strategy())
    draws = {name: np.asarray(value)
             for name, value in mcmc.get_samples(group_by_chain=True).items()}
    predictions = None
    if forecast:
        from numpyro.infer import Predictive

        start = time.perf_counter()
        predictions = {"y_forecast": np.asarray(Predictive(
            pooled.model, posterior_samples=mcmc.get_samples(group_by_chain=True),
            batch_ndims=2, return_sites=["y_forecast"])(
                forecast_key, y=y, forecast_horizon=forecast, **keywords)["y_forecast"])}
        timings.extra["forecast_s"] = time.perf_counter() - start

    coords, _ = family.coords_and_dims(options)
    coords["series"] = np.array(panel.names)
    coords["time"] = panel.time_coordinate()
    dims: dict[str, list[str]] = {}
    for name, value in draws.items():
        own = list(pooled.dims.get(name, ()))
        per_series = value.ndim - 2 > len(own)  # a leading series axis
        dims[name] = (["series"] if per_series else []) + own
    dims["y"] = ["series", "time"]
    if forecast:
        coords["horizon"] = np.arange(1, forecast + 1)
        dims["y_forecast"] = ["series", "horizon"]
    idata = _arviz_io.inference_data_from_mcmc(
        mcmc, predictions=predictions, coords=coords, dims=dims,
        attrs={"model": label, "likelihood": "hierarchical", "seed": settings.seed,
               "data_source": panel.source.strip("'"), "data_column": panel.column,
               "series_column": args.series_column or "",
               "time_column": panel.time_column or ""})
    population = [name for name in pooled.population if name in draws]
    per_series = [name for name in pooled.per_series if name in draws]
    summary, diagnostics = summarise_and_diagnose(idata, population + per_series)
    print(f"compile {timings.compile_s:.1f} s, sampling {timings.sampling_s:.1f} s for "
          f"{num_series} series")
    gate_failures = diagnostics.failures(limits)

    table: dict[str, Any] = {"series": list(panel.names), "observed": panel.observed.tolist()}
    for name in per_series:
        for component, index in _component_labels(name, np.moveaxis(draws[name], 2, 0)):
            table[f"mean_{component}"] = np.moveaxis(draws[name], 2, 0)[
                (slice(None),) * 3 + index].mean(axis=(1, 2))
    means: dict[str, np.ndarray] = {}
    laws: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for site, loc, scale, _ in pooled.laws:
        if site not in draws:
            continue
        per = np.moveaxis(draws[site], 2, 0)  # (S, C, D, ...)
        for component, index in _component_labels(site, per):
            values = per[(slice(None),) * 3 + index].mean(axis=(1, 2))
            location = draws[loc][(slice(None),) * 2 + index].ravel()
            spread = draws[scale][(slice(None),) * 2 + index].ravel()
            low = min(values.min(), np.quantile(location - 3 * spread, 0.05))
            high = max(values.max(), np.quantile(location + 3 * spread, 0.95))
            grid = np.linspace(low, high, 200)
            means[component] = values
            laws[component] = (grid, population_density(location, spread, grid))
    import pandas as pd

    per_series_table = pd.DataFrame(table)
    if args.out is not None:
        with OutputFolder(args.out, force=args.force) as output:
            _arviz_io.write_netcdf(idata, output.path("posterior.nc"))
            summary.to_csv(output.path("summary.csv"), index_label="parameter")
            per_series_table.to_csv(output.path("series.csv"), index=False)
            _arviz_io.save_trace_plot(idata, output.path("trace.png"), population)
            _arviz_io.save_panel_plot(
                output.path("panel.png"), values=panel.values, times=panel.time_coordinate(),
                names=panel.names,
                forecasts=None if predictions is None else np.moveaxis(
                    predictions["y_forecast"], 2, 0).reshape(num_series, -1, forecast),
                time_label=panel.time_column or "time index")
            _arviz_io.save_means_plot(output.path("means.png"), means, population=laws)
            timings.extra["total_s"] = time.perf_counter() - started
            record = run_record(
                settings, setup, timings, limits=limits, allow_warnings=args.allow_warnings,
                diagnostics=diagnostics, gate_failures=gate_failures, extra={
                    "model": {"name": family.name, "hierarchical": True,
                              **{name: list(value) if isinstance(value, tuple) else value
                                 for name, value in options.items()},
                              "forecast_horizon": forecast, "init": family.init_description,
                              "set_from_data": sorted(from_data),
                              "population": population},
                    "panel": {"source": panel.source.strip("'"), "sha256": panel.sha256,
                              "series": num_series, "length": panel.length,
                              "series_column": args.series_column, "columns": args.columns,
                              "column": panel.column, "time_column": panel.time_column}})
            write_json(output.path("run.json"), record)
            output.commit()
        print(f"wrote posterior.nc, summary.csv, series.csv, trace.png, panel.png, means.png, "
              f"run.json to {args.out}")
    diagnostics_gate(diagnostics, limits, allow_warnings=args.allow_warnings,
                     written_to=args.out)
    return EXIT_OK
