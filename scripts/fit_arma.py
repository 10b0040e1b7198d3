r"""
Fit an ARMA(p, q) model to a time series with NumPyro's NUTS
=============================================================

The model, for observations :math:`y_1, \dots, y_T`:

.. math::

    y_t = \mu + \sum_{i=1}^{p} \phi_i\, y_{t-i} + \sum_{j=1}^{q} \theta_j\, \varepsilon_{t-j}
          + \varepsilon_t, \qquad \varepsilon_t \sim \mathcal{N}(0, \sigma^2)

(with the exact likelihood written about the mean instead:
:math:`y_t - \mu = \sum_i \phi_i (y_{t-i} - \mu) + \varepsilon_t + \sum_j \theta_j
\varepsilon_{t-j}`).

Likelihood (``--likelihood``, one entry of :data:`LIKELIHOODS`):

* ``exact`` (default) -- the exact Gaussian likelihood by a Kalman filter started from the
  stationary distribution (``models.arma_statespace``), as statsmodels' ``ARIMA``, R's
  ``arima`` and PyMC's statespace module compute it. Here :math:`\mu` is the *process mean*
  (statsmodels' ``const`` with ``trend="c"``). Priors: :math:`\mu \sim \mathcal N(0, 10^2)`,
  :math:`\phi` and :math:`\theta` uniform in their partial autocorrelations, so every draw is
  stationary and invertible (Monahan 1984; Jones 1980), :math:`\sigma \sim`
  half-Cauchy(2.5). Missing observations (empty or NaN cells) are allowed: the filter skips
  their update. ``--forecast H`` adds H-step forecast draws.
* ``conditional`` -- the recursive-error ("conditional sum of squares") likelihood, with the
  posteriordb ``arma11`` priors: :math:`\mu \sim \mathcal N(0, 10^2)` is the *intercept*
  (process mean :math:`\mu / (1 - \sum_i \phi_i)`), :math:`\phi_i, \theta_j \sim
  \mathcal N(0, 2^2)` with no stationarity or invertibility constraint,
  :math:`\sigma \sim` half-Cauchy(2.5). The values before the series are fixed: pre-sample
  observations equal :math:`\mu`, pre-sample errors are 0, and the errors are recovered one
  step at a time, :math:`\varepsilon_t = y_t - \nu_t` with :math:`\nu_t = \mu + \sum_i \phi_i
  y_{t-i} + \sum_j \theta_j \varepsilon_{t-j}`; every one of the T errors is scored. That
  recursion is one ``jax.lax.scan`` (``models.arma``). With ``--order 1 1`` this is exactly
  the posteriordb posterior ``arma-arma11`` (``scripts/validate_posteriordb.py`` checks it).
  It runs on the fast path of ``models.arma_fast`` (the AR part vectorised, the MA recursion
  one scan that carries the gradient forward); ``conditional-reference`` runs the plain
  two-buffer scan of ``models.arma``, the same density to 1e-10.

``docs/arma_exact.md`` says when to use which, and what each costs.

The default data is the series that posteriordb's ``arma11`` uses (simulated ARMA(1,1),
T = 200), shipped inside the package as ``models/data/arma11.csv``.

Everything runs in float64 (``numpyro.enable_x64()``): the error recursion of an ARMA model
near the edge of invertibility amplifies rounding, and float32 changes the posterior there.

Outputs (``--out DIR``; the folder appears complete or not at all):

* ``posterior.nc`` -- ArviZ InferenceData: posterior, posterior_predictive (series simulated
  from the recursion at each draw), sample_stats, observed_data; dims ``time``, ``ar_lag``,
  ``ma_lag``, with the time coordinate from ``--time-column``;
* ``summary.csv`` -- mean, sd, 94% HDI, MCSE, bulk and tail ESS, R-hat per parameter;
* ``trace.png``, ``ppc.png`` -- trace plot and posterior predictive check;
* ``forecast.png`` (with ``--forecast H``) -- the data, the forecast median and its 50% and
  90% bands; the draws are in the ``predictions`` group of ``posterior.nc`` (dim
  ``horizon``);
* ``run.json`` -- command line, seed, versions, platform, devices, chain method, timings,
  diagnostics and the gate's verdict.

Exit codes: 0 success; 2 bad input (one ``error:`` line on stderr, nothing written); 3 the
diagnostics gate failed (divergences, R-hat, ESS or E-BFMI; the outputs are written so the
trace plot can be inspected; ``--allow-warnings`` turns this into a warning).

Examples::

    python scripts/fit_arma.py --out results/arma11
    python scripts/fit_arma.py --data sales.csv --column units --time-column month \
        --order 2 1 --out results/sales
    cat series.csv | python scripts/fit_arma.py --data - --column y --chains 2

References:

* J. F. Monahan, "A note on enforcing stationarity in autoregressive-moving average models",
  Biometrika 71 (1984); R. H. Jones, "Maximum likelihood fitting of ARMA models to time
  series with missing observations", Technometrics 22 (1980).
* G. E. P. Box, G. M. Jenkins, G. C. Reinsel, G. M. Ljung, *Time Series Analysis:
  Forecasting and Control*, 5th ed., Wiley (2015), sec. 7.1 (conditional likelihood).
* M. Magnusson, P. Bürkner, A. Vehtari, "posteriordb: a set of posteriors for Bayesian
  inference and probabilistic programming" (posterior ``arma-arma11``).
* A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P. Bürkner, "Rank-normalization, folding,
  and localization: an improved R-hat" (2021), Bayesian Analysis 16(2) -- R-hat, ESS limits.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import _cli
import jax
import numpy as np
from numpyro.infer import Predictive, init_to_uniform

from models import arma_exact_model, arma_fast_model, arma_model

# The bundled series: the data of posteriordb's arma11 posterior, column "y".
DEFAULT_DATA = Path(str(resources.files("models") / "data" / "arma11.csv"))
DEFAULT_COLUMN = "y"

#: Where chains start: uniform in (-0.5, 0.5) on the unconstrained scale. NumPyro's default
#: radius 2 puts half the starts of theta outside the invertible region, where the conditional
#: likelihood's errors grow like |theta|^t: the density there is finite (float64 does not
#: overflow at T = 200) but astronomically low, and a chain started there can stall on it for
#: the whole run (seen with the bundled series: theta = 1.05, step size 3e-8, R-hat 2.3).
#: Radius 0.5 keeps every start of an ARMA(1,1) stationary and invertible yet dispersed enough
#: for R-hat to mean something.
INIT_RADIUS = 0.5

#: Parameters in the order they are reported; phi and theta are absent when p or q is 0.
PARAMETERS = ("mu", "phi", "theta", "sigma")


@dataclass(frozen=True)
class Likelihood:
    """A likelihood choice for ``--likelihood``.

    ``model`` is a NumPyro model called as ``model(y=y, order=(p, q))`` to fit and as
    ``model(y=None, order=(p, q), num_steps=T)`` to simulate the posterior predictive; it has
    sites ``mu``, ``phi`` (p,), ``theta`` (q,), ``sigma`` and the observed ``y`` (T,).
    ``accepts_missing`` says whether ``y`` may hold NaN.
    """

    model: Callable[..., None]
    accepts_missing: bool
    description: str


LIKELIHOODS: dict[str, Likelihood] = {
    "exact": Likelihood(
        model=arma_exact_model,
        accepts_missing=True,
        description="exact Gaussian likelihood by a Kalman filter, stationary and invertible "
        "priors, mu = process mean; missing values allowed (default)",
    ),
    "conditional": Likelihood(
        model=arma_fast_model,
        accepts_missing=False,
        description="conditional likelihood (pre-sample y = mu, pre-sample errors = 0), "
        "the posteriordb arma11 posterior; computed by the fast path (AR part vectorised, "
        "MA recursion in one scan that carries its own gradient)",
    ),
    "conditional-reference": Likelihood(
        model=arma_model,
        accepts_missing=False,
        description="the same conditional likelihood by the plain two-buffer scan of "
        "models.arma (the reference the fast path is tested against; slower)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Options of this script: the shared ones plus the ARMA order and likelihood."""
    parser = _cli.make_parser("Fit an ARMA(p, q) model to a time series with NumPyro's NUTS.")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--order",
        nargs=2,
        type=_cli.nonnegative_int,
        default=(1, 1),
        metavar=("P", "Q"),
        help="AR order p and MA order q (default: 1 1)",
    )
    model.add_argument(
        "--likelihood",
        choices=sorted(LIKELIHOODS),
        default="exact",
        help="; ".join(f"{name}: {spec.description}" for name, spec in LIKELIHOODS.items()),
    )
    model.add_argument(
        "--forecast",
        type=_cli.nonnegative_int,
        default=0,
        metavar="H",
        help="with the exact likelihood: draw H-step-ahead forecasts from the posterior "
        "(predictions group of posterior.nc, forecast.png); default 0, none",
    )
    _cli.add_common_arguments(
        parser, default_data_help=f"default: the bundled arma11 series, column '{DEFAULT_COLUMN}'"
    )
    return parser


def coords_and_dims(
    series: _cli.Series, order: tuple[int, int]
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Named dimensions for InferenceData: ``time`` for y, ``ar_lag``/``ma_lag`` from 1."""
    p, q = order
    coords: dict[str, np.ndarray] = {"time": series.time_coordinate()}
    dims: dict[str, list[str]] = {"y": ["time"]}
    if p > 0:
        coords["ar_lag"], dims["phi"] = np.arange(1, p + 1), ["ar_lag"]
    if q > 0:
        coords["ma_lag"], dims["theta"] = np.arange(1, q + 1), ["ma_lag"]
    return coords, dims


def sample_posterior(
    model: Callable[..., None],
    y: jax.Array,
    order: tuple[int, int],
    *,
    rng_key: jax.Array,
    chains: int,
    warmup: int,
    samples: int,
    chain_method: str,
    progress_bar: bool | None = None,
) -> tuple[object, _cli.SamplingTimings]:
    """NUTS on ``model(y=y, order=order)`` as this script runs it (starts uniform in
    (-INIT_RADIUS, INIT_RADIUS)); the MCMC object and its timings. Call after
    :func:`_cli.configure_platform`. The ESS benchmark calls this too, so its
    ``numpyro-default`` row is this script's fit."""
    return _cli.run_nuts(
        model,
        {"y": y, "order": order},
        rng_key=rng_key,
        chains=chains,
        warmup=warmup,
        samples=samples,
        chain_method=chain_method,
        progress_bar=progress_bar,
        init_strategy=init_to_uniform(radius=INIT_RADIUS),
    )


def main(args: argparse.Namespace) -> int:
    """Validate the input, fit, print the summary, write the outputs, apply the gate."""
    started = time.perf_counter()
    order = (p, q) = tuple(args.order)
    likelihood = LIKELIHOODS[args.likelihood]
    limits = _cli.GateThresholds.from_args(args)
    if args.out is not None:
        _cli.check_output_folder(args.out, force=args.force)  # refuse before the long part
    series = _cli.load_series(
        args.data,
        args.column,
        args.time_column,
        default_path=DEFAULT_DATA,
        default_column=DEFAULT_COLUMN,
    )
    if args.forecast and args.likelihood != "exact":
        raise _cli.CliError(
            f"--forecast {args.forecast} needs --likelihood exact (the forecast distribution "
            "is the exact one given the whole series)"
        )
    if not likelihood.accepts_missing:
        _cli.require_complete(series, f"the {args.likelihood.split('-')[0]} ARMA likelihood")
    if series.length <= p + q:
        raise _cli.CliError(
            f"series too short for ARMA({p},{q}): {series.length} observation(s) in column "
            f"'{series.column}' of {series.source}; need more than p + q = {p + q}"
        )

    setup = _cli.configure_platform(
        args.platform, args.chains, args.chain_method, float64=True,
        compilation_cache=args.compilation_cache,
    )
    # ArviZ and matplotlib take seconds to import; bad input above fails before paying that.
    import _arviz_io

    print(
        f"ARMA({p},{q}), {args.likelihood} likelihood, T = {series.length} ('{series.column}' "
        f"of {series.source}); {args.chains} chain(s) x {args.samples} draws after "
        f"{args.warmup} warm-up; float64 on {setup.jax_backend}, chains {setup.chain_method}"
        f" over {setup.device_count} device(s)",
        flush=True,
    )
    mcmc_key, predictive_key, forecast_key = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    y = jax.numpy.asarray(series.values)
    mcmc, timings = sample_posterior(
        likelihood.model,
        y,
        order,
        rng_key=mcmc_key,
        chains=args.chains,
        warmup=args.warmup,
        samples=args.samples,
        chain_method=setup.chain_method,
        progress_bar=args.progress_bar,
    )

    def draw_from_posterior(site: str, key: jax.Array, timing: str, **model_kwargs) -> np.ndarray:
        start = time.perf_counter()
        draws = Predictive(
            likelihood.model,
            posterior_samples=mcmc.get_samples(group_by_chain=True),
            batch_ndims=2,
            return_sites=[site],
        )(key, order=order, **model_kwargs)[site]
        timings.extra[timing] = time.perf_counter() - start
        return np.asarray(draws)

    # replicated series: simulated afresh from each draw, not conditioned on y
    replicated = draw_from_posterior("y", predictive_key, "posterior_predictive_s",
                                     y=None, num_steps=series.length)
    predictions = None
    if args.forecast:  # forecasts: conditioned on the observed y
        predictions = {"y_forecast": draw_from_posterior(
            "y_forecast", forecast_key, "forecast_s", y=y, forecast_horizon=args.forecast)}

    coords, dims = coords_and_dims(series, order)
    if args.forecast:
        coords["horizon"], dims["y_forecast"] = np.arange(1, args.forecast + 1), ["horizon"]
    idata = _arviz_io.inference_data_from_mcmc(
        mcmc,
        posterior_predictive={"y": replicated},
        predictions=predictions,
        coords=coords,
        dims=dims,
        attrs={
            "model": f"ARMA({p},{q})",
            "likelihood": args.likelihood,
            "seed": args.seed,
            "data_source": series.source.strip("'"),
            "data_column": series.column,
            "time_column": series.time_column or "",
        },
    )
    var_names = [name for name in PARAMETERS if name in idata.posterior]
    summary, diagnostics = _cli.summarise_and_diagnose(idata, var_names)
    print(
        f"compile {timings.compile_s:.1f} s, sampling {timings.sampling_s:.1f} s "
        f"(JAX compile time counted apart from the MCMC wall time)"
    )
    gate_failures = diagnostics.failures(limits)

    if args.out is not None:
        with _cli.OutputFolder(args.out, force=args.force) as output:
            _arviz_io.write_netcdf(idata, output.path("posterior.nc"))
            summary.to_csv(output.path("summary.csv"), index_label="parameter")
            _arviz_io.save_trace_plot(idata, output.path("trace.png"), var_names)
            _arviz_io.save_ppc_plot(
                idata,
                output.path("ppc.png"),
                observed="y",
                time_label=series.time_column or "time index",
                seed=args.seed,
            )
            if args.forecast:
                _arviz_io.save_forecast_plot(
                    idata,
                    output.path("forecast.png"),
                    observed="y",
                    forecast="y_forecast",
                    time_label=series.time_column or "time index",
                )
            timings.extra["total_s"] = time.perf_counter() - started
            record = _cli.run_record(
                args,
                setup,
                timings,
                series=series,
                diagnostics=diagnostics,
                gate_failures=gate_failures,
                extra={"model": {"name": "arma", "order": [p, q], "likelihood": args.likelihood,
                                 "forecast_horizon": args.forecast,
                                 "init": f"uniform(-{INIT_RADIUS}, {INIT_RADIUS}), "
                                         "unconstrained scale"}},
            )
            _cli.write_json(output.path("run.json"), record)
            output.commit()
        written = "posterior.nc, summary.csv, trace.png, ppc.png, "
        written += "forecast.png, run.json" if args.forecast else "run.json"
        print(f"wrote {written} to {args.out}")

    _cli.diagnostics_gate(
        diagnostics, limits, allow_warnings=args.allow_warnings, written_to=args.out
    )
    return _cli.EXIT_OK


if __name__ == "__main__":
    _cli.run(main, build_parser())
