r"""
Compare fitted ARMA orders by PSIS-LOO (ArviZ's ``loo`` and ``compare``)
=======================================================================

Two ways to call it::

    python scripts/compare.py results/ar1/posterior.nc results/arma21/posterior.nc ...
    python scripts/compare.py --grid 1,0 0,1 1,1 2,1 --data sales.csv --column units \
        --chains 2 --samples 500

The first ranks runs already written by ``scripts/fit.py`` (their ``log_likelihood`` group
holds the one-step-ahead predictive log-densities log p(y_t | y_<t) from the Kalman
filter); the second fits each order of a small grid (``p,q`` or ``p,d,q``; the exact
likelihood, the fit command's priors and starting points) and ranks those. The table is
ArviZ's ``compare``: ``elpd_loo`` (higher is better), its standard error ``se``,
``elpd_diff`` and ``dse`` against the best, ``p_loo``, the stacking ``weight`` and
``warning`` (True when a Pareto k is above ArviZ's threshold: LOO is then unreliable for
that run, and ArviZ's own warning is printed). Nothing here is computed by hand.

A difference within about 2 ``dse`` is not a difference: prefer the simpler model.
Runs compared must score the same observations: equal series, and equal d + sD (the
first d + sD values of a differenced model are not scored).

``--csv FILE`` writes the table; with ``--grid``, ``--save DIR`` writes each fit as
``DIR/<model>.nc``. Exit codes: 0 success; 2 bad input (one ``error:`` line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from _cli.arguments import add_data_arguments, add_sampling_arguments, make_parser
from _cli.errors import CliError, run


def _order(text: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"an order is p,q or p,d,q, got '{text}'") from None
    if len(numbers) not in (2, 3) or min(numbers) < 0:
        raise argparse.ArgumentTypeError(
            f"an order is p,q or p,d,q with integers >= 0, got '{text}'")
    return numbers


def build_parser() -> argparse.ArgumentParser:
    """The options of ``compare.py``."""
    parser = make_parser("Rank fitted ARMA orders by PSIS-LOO (ArviZ's compare).",
                         prog="compare.py")
    parser.add_argument("runs", nargs="*", metavar="POSTERIOR_NC",
                        help="posterior.nc files written by fit.py")
    parser.add_argument("--grid", nargs="+", type=_order, metavar="ORDER",
                        help="fit these orders (p,q or p,d,q) to --data and rank them")
    parser.add_argument("--seasonal-order", nargs=4, type=int, default=None,
                        metavar=("P", "D", "Q", "S"), help="with --grid: the same seasonal "
                        "part for every order")
    parser.add_argument("--csv", type=Path, default=None, help="write the table here")
    parser.add_argument("--save", type=Path, default=None, metavar="DIR",
                        help="with --grid: write each fit's InferenceData to "
                        "DIR/<model>.nc (the posterior and its log_likelihood group)")
    add_data_arguments(parser, default_data_help="default: the bundled arma11 series")
    add_sampling_arguments(parser, chains=2, warmup=500, samples=500)
    return parser


def _read_runs(paths: Sequence[str]) -> dict[str, Any]:
    import _arviz_io

    runs: dict[str, Any] = {}
    for path in paths:
        try:
            idata = _arviz_io.read_inference_data(Path(path))
        except _arviz_io.NotInferenceDataError as error:
            raise CliError(str(error)) from None
        if not _arviz_io.has_log_likelihood(idata):
            raise CliError(f"'{path}' has no log_likelihood group: refit it with this version "
                           "of fit.py (--likelihood exact)")
        name = str(idata.posterior.attrs.get("model", Path(path).parent.name))
        runs[name if name not in runs else f"{name} ({path})"] = idata
    return runs


def fit_grid(args: argparse.Namespace) -> dict[str, Any]:
    """Fit every order of ``args.grid`` with the fit command's exact model; name -> idata
    (with its log_likelihood group)."""
    import jax
    from _cli.arguments import SamplerSettings
    from _cli.data import load_series
    from _cli.fit_command import sample_posterior
    from _cli.platform import configure_platform

    from models.registry import FAMILIES

    family = FAMILIES["arma"]
    settings = SamplerSettings.from_args(args)
    series = load_series(args.data, args.column, args.time_column,
                         default_path=family.default_data.path,
                         default_column=family.default_data.column)
    fits = []
    for order in args.grid:
        p, d, q = order if len(order) == 3 else (order[0], 0, order[1])
        options = {**family.default_options("exact"), "order": (p, q), "difference": d,
                   "seasonal_order": tuple(args.seasonal_order) if args.seasonal_order
                   else None}
        reason = family.too_short(series.length, options)
        if reason is not None:
            raise CliError(f"series too short for {family.label(options)}: {series.length} "
                           f"observation(s); {reason}")
        try:
            options.update(family.data_defaults(series.values, "exact", options))
        except ValueError as error:
            raise CliError(f"column '{series.column}' of {series.source}: {error}") from None
        fits.append(options)
    setup = configure_platform(settings.platform, settings.chains, settings.chain_method,
                               float64=True, compilation_cache=settings.compilation_cache)
    import _arviz_io

    runs = {}
    site = family.pointwise_log_likelihood
    y = jax.numpy.asarray(series.values)
    for options in fits:
        label = family.label(options)
        print(f"fitting {label} ({settings.chains} chain(s) x {settings.samples} draws)",
              flush=True)
        mcmc, _ = sample_posterior(family, "exact", options, y, settings=settings,
                                   rng_key=jax.random.PRNGKey(settings.seed),
                                   chain_method=setup.chain_method, collect_pointwise=True)
        coords, dims = family.coords_and_dims(options)
        coords["time"], dims["y"], dims[site] = series.time_coordinate(), ["time"], ["time"]
        idata = _arviz_io.inference_data_from_mcmc(mcmc, coords=coords, dims=dims,
                                                   attrs={"model": label})
        _arviz_io.add_pointwise_log_likelihood(idata, site, observed="y", dim="time")
        runs[label] = idata
    return runs


def compare(args: argparse.Namespace) -> int:
    """Read or fit the runs, print ArviZ's comparison table, write it with ``--csv``."""
    if bool(args.runs) == bool(args.grid):
        raise CliError("give either posterior.nc files or --grid ORDER ..., not both or "
                       "neither")
    if args.grid and len(args.grid) < 2 or args.runs and len(args.runs) < 2:
        raise CliError("need at least two runs to compare")
    runs = fit_grid(args) if args.grid else _read_runs(args.runs)
    import _arviz_io

    scored = {name: idata.log_likelihood["y"].sizes for name, idata in runs.items()}
    if len({tuple(sizes.items()) for sizes in scored.values()}) > 1:
        raise CliError("the runs do not score the same observations (different series, gaps "
                       "or d + sD): " + "; ".join(f"{name}: {dict(sizes)}"
                                                  for name, sizes in scored.items()))
    if args.grid and args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, idata in runs.items():
            _arviz_io.write_netcdf(idata, args.save / f"{name}.nc")
    table = _arviz_io.compare_runs(runs)
    print(table.to_string())
    if args.csv is not None:
        table.to_csv(args.csv, index_label="model")
        print(f"wrote {args.csv}")
    return 0


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """``compare.py`` from the command line."""
    run(compare, build_parser(), list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
