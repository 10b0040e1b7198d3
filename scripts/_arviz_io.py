"""Every ArviZ call of the project, in one file.

ArviZ 1.x replaces ``InferenceData`` with ``xarray.DataTree`` and moves plotting and statistics
into ``arviz-plots`` and ``arviz-stats``. Keeping each call here means that move is a change to
this module alone: the scripts only pass NumPyro objects in and get tables, numbers and files
out.

Plots use matplotlib's Agg backend (files, no display), chosen before pyplot is imported.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # must precede pyplot: scripts write files and may run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

with warnings.catch_warnings():
    # arviz 0.2x announces its 1.x refactor with a FutureWarning on import; users of these
    # scripts cannot act on it, and it would bury the one-line messages the scripts promise.
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az  # noqa: E402

#: Probability mass of the highest-density interval in summaries (ArviZ's default).
HDI_PROB = 0.94


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence ArviZ's numerical warnings (a chain stuck at one value divides by zero).

    The scripts report the same problems in words through their diagnostics gate; a screen of
    RuntimeWarnings would only bury that one line.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


class NotInferenceDataError(ValueError):
    """A file read back is not an ArviZ InferenceData netCDF file."""


def version() -> str:
    """The installed ArviZ version."""
    return az.__version__


def inference_data_from_mcmc(
    mcmc: Any,
    *,
    posterior_predictive: Mapping[str, Any] | None = None,
    predictions: Mapping[str, Any] | None = None,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, Sequence[str]] | None = None,
    attrs: Mapping[str, Any] | None = None,
    observed_data: Mapping[str, Any] | None = None,
    posterior_extra: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """InferenceData with posterior, sample_stats, observed_data (and posterior_predictive).

    ``posterior_predictive`` maps observed-site names to arrays shaped (chain, draw, ...).
    ``dims`` names each site's event dimensions (e.g. ``{"y": ["time"]}``) and ``coords`` gives
    their values. ``predictions`` (forecasts) go to the ``predictions`` group, with their
    dims taken from ``dims`` too. The pointwise log-likelihood is left out: it is not used
    here and a model whose likelihood is one joint distribution has none to give. ``attrs``
    are added to the posterior group (model name, order, ...).

    ``observed_data`` (the observed sites' values, e.g. ``{"y": y}``) spares ArviZ's
    ``from_numpyro`` its run of the model, op by op, to find them: dozens of small XLA
    programs, seconds of compilation for a group the caller already holds. The groups are
    then built here the way ``from_numpyro`` builds them (its names and signs of the sampler
    statistics: ``lp`` = -potential energy, ``tree_depth`` = log2(steps) + 1), and are
    identical to its own (``tests/test_fit_compile.py``).

    ``posterior_extra`` (needs ``observed_data``) adds posterior variables drawn after
    sampling, shaped (chain, draw, ...), after the sampler's own: deterministic sites that
    the sampler did not collect (:attr:`models.family.TimeQuantity.after_sampling`).
    """
    if observed_data is not None:
        return _inference_data_without_model_run(
            mcmc, observed_data, posterior_predictive=posterior_predictive,
            predictions=predictions, coords=coords, dims=dims, attrs=attrs,
            posterior_extra=posterior_extra)
    if posterior_extra:
        raise ValueError("inference_data_from_mcmc: posterior_extra needs observed_data")
    idata = az.from_numpyro(
        mcmc,
        posterior_predictive=dict(posterior_predictive) if posterior_predictive else None,
        predictions=dict(predictions) if predictions else None,
        coords=dict(coords) if coords else None,
        dims={name: list(names) for name, names in dims.items()} if dims else None,
        pred_dims=(
            {name: list(dims[name]) for name in predictions if name in dims}
            if predictions and dims
            else None
        ),
        log_likelihood=False,
    )
    if attrs:
        idata.posterior.attrs.update({key: _netcdf_attr(value) for key, value in attrs.items()})
    return idata


#: NumPyro's sampler statistics under ArviZ's names (as ``az.from_numpyro`` renames them).
_SAMPLE_STAT_NAMES = {"potential_energy": "lp", "adapt_state.step_size": "step_size",
                      "num_steps": "n_steps", "accept_prob": "acceptance_rate"}


def _inference_data_without_model_run(
    mcmc: Any,
    observed_data: Mapping[str, Any],
    *,
    posterior_predictive: Mapping[str, Any] | None,
    predictions: Mapping[str, Any] | None,
    coords: Mapping[str, Any] | None,
    dims: Mapping[str, Sequence[str]] | None,
    attrs: Mapping[str, Any] | None,
    posterior_extra: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """:func:`inference_data_from_mcmc` from arrays alone: no run of the model."""
    import numpyro
    from arviz.data.base import dict_to_dataset

    coords = dict(coords) if coords else None
    dims = {name: list(names) for name, names in dims.items()} if dims else None

    def dataset(values: Mapping[str, Any] | None, group_dims: Any, **kwargs: Any) -> Any:
        if not values:
            return None
        return dict_to_dataset({name: np.asarray(value) for name, value in values.items()},
                               library=numpyro, coords=coords, dims=group_dims, **kwargs)

    stats = {}
    for name, value in mcmc.get_extra_fields(group_by_chain=True).items():
        if isinstance(value, (dict, tuple)):
            continue
        value = np.asarray(value)
        stats[_SAMPLE_STAT_NAMES.get(name, name)] = -value if name == "potential_energy" \
            else value.copy()
        if name == "num_steps":
            stats["tree_depth"] = np.log2(value).astype(int) + 1
    pred_dims = ({name: dims[name] for name in predictions if name in dims}
                 if predictions and dims else None)
    idata = az.InferenceData(
        posterior=dataset({**mcmc.get_samples(group_by_chain=True), **(posterior_extra or {})},
                          dims),
        sample_stats=dataset(stats, None),
        posterior_predictive=dataset(posterior_predictive, dims),
        predictions=dataset(predictions, pred_dims),
        observed_data=dataset(observed_data, dims, default_dims=[]),
    )
    if attrs:
        idata.posterior.attrs.update({key: _netcdf_attr(value) for key, value in attrs.items()})
    return idata


def _netcdf_attr(value: Any) -> Any:
    # netCDF attributes take numbers, strings and flat arrays, not None or nested objects
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


def summary(idata: az.InferenceData, var_names: Sequence[str]) -> pd.DataFrame:
    """Mean, sd, HDI, MCSE, bulk and tail ESS and R-hat per parameter, unrounded."""
    with _quiet():
        return az.summary(
            idata, var_names=list(var_names), hdi_prob=HDI_PROB, round_to="none", kind="all"
        )


def mean_and_mcse(draws: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Posterior mean and ArviZ's Monte Carlo standard error of the mean (``az.mcse``,
    ``method="mean"``: the same number as ``mcse_mean`` in :func:`summary`) of each scalar
    quantity, draws shaped (chains, draws): the one MCSE the posteriordb comparisons use."""
    dataset = az.convert_to_dataset({name: np.asarray(value) for name, value in draws.items()})
    with _quiet():
        mcse = az.mcse(dataset, method="mean")
    return {name: (float(np.mean(value)), float(mcse[name])) for name, value in draws.items()}


def bulk_ess(draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """ArviZ's bulk effective sample size (``az.ess``, ``method="bulk"``: the ``ess_bulk`` of
    :func:`summary`) of each scalar quantity, draws shaped (chains, draws). The benchmarks
    use it for every sampler, so their ESS figures share one estimator."""
    dataset = az.convert_to_dataset({name: np.asarray(value) for name, value in draws.items()})
    with _quiet():
        ess = az.ess(dataset, method="bulk")
    return {name: float(ess[name]) for name in draws}


def rhat(draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """ArviZ's rank-normalised split R-hat (``az.rhat``: the ``r_hat`` of :func:`summary`) of
    each scalar quantity, draws shaped (chains, draws)."""
    dataset = az.convert_to_dataset({name: np.asarray(value) for name, value in draws.items()})
    with _quiet():
        values = az.rhat(dataset)
    return {name: float(values[name]) for name in draws}


def format_summary(table: pd.DataFrame) -> str:
    """The summary as aligned text: 4 significant digits, ESS as whole numbers."""
    shown = table.copy()
    for name in ("ess_bulk", "ess_tail"):
        if name in shown:
            shown[name] = shown[name].map(lambda v: "nan" if np.isnan(v) else f"{v:.0f}")
    return shown.to_string(float_format=lambda v: f"{v:.4g}")


def divergence_count(idata: az.InferenceData) -> int:
    """Divergent transitions among the kept draws, all chains."""
    return int(idata.sample_stats["diverging"].sum())


def draw_count(idata: az.InferenceData) -> int:
    """Kept draws, all chains."""
    return int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"])


def bfmi_per_chain(idata: az.InferenceData) -> np.ndarray:
    """E-BFMI of each chain (Betancourt 2016); needs ``energy`` in sample_stats."""
    with _quiet():
        return np.asarray(az.bfmi(idata), dtype=float)


def save_trace_plot(idata: az.InferenceData, path: Path, var_names: Sequence[str]) -> None:
    """Marginal densities and traces of ``var_names``, one row per parameter, as PNG."""
    with _quiet():
        axes = az.plot_trace(idata, var_names=list(var_names), compact=True, legend=True)
    figure = np.ravel(axes)[0].get_figure()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def save_ppc_plot(
    idata: az.InferenceData,
    path: Path,
    *,
    observed: str,
    time_label: str,
    seed: int,
    num_pp_samples: int = 100,
    one_step: str | None = None,
) -> None:
    """Posterior predictive check of ``observed`` as PNG, two panels.

    Left: ArviZ's density overlay (observed values against ``num_pp_samples`` replicated
    series, chosen with ``seed``). Right: the observed series over time against the median and
    the 50% and 90% bands of the one-step-ahead predictions (the posterior predictive
    variable ``one_step``, each value predicted from the data before it) when the family
    draws them, else of the replicated series; it shows *when* the model misses.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    total = draw_count(idata)
    with _quiet():
        az.plot_ppc(
            idata,
            var_names=[observed],
            ax=left,
            num_pp_samples=min(num_pp_samples, total),
            random_seed=seed,
        )
    left.set_title(f"{observed}: observed vs posterior predictive")
    # A few explosive replicated series (draws with |phi| > 1 are allowed) would otherwise
    # stretch the axis until the data is a sliver; the view keeps 99% of replicated values.
    observed_values = idata.observed_data[observed].to_numpy()
    low, high = np.nanquantile(idata.posterior_predictive[observed].to_numpy(), [0.005, 0.995])
    low, high = min(low, np.nanmin(observed_values)), max(high, np.nanmax(observed_values))
    if np.isfinite(low) and np.isfinite(high) and high > low:
        pad = 0.05 * (high - low)
        left.set_xlim(low - pad, high + pad)

    replicated = idata.posterior_predictive[observed if one_step is None else one_step]
    time_dim = replicated.dims[-1]
    times = replicated[time_dim].to_numpy()
    if not (np.issubdtype(times.dtype, np.number) or np.issubdtype(times.dtype, np.datetime64)):
        times = np.arange(times.shape[0])  # text labels: plot by position
    draws = replicated.stack(sample=("chain", "draw")).transpose("sample", time_dim).to_numpy()
    q05, q25, q50, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    what = "one-step-ahead" if one_step is not None else "predictive"
    right.fill_between(times, q05, q95, color="C0", alpha=0.2, label=f"90% {what}")
    right.fill_between(times, q25, q75, color="C0", alpha=0.35, label=f"50% {what}")
    right.plot(times, q50, color="C0", linewidth=1, label=f"{what} median")
    right.plot(times, observed_values, color="k", linewidth=1, label="observed")
    right.set_xlabel(time_label)
    right.set_ylabel(observed)
    right.set_title("one-step-ahead predictions over time" if one_step is not None
                    else "replicated series over time")
    # a fixed corner, never "best": matplotlib warns on stderr when its search for the best
    # corner is slow (a busy machine), and a run's stderr is one line per problem
    right.legend(loc="upper left", fontsize="small")
    if np.issubdtype(times.dtype, np.datetime64):
        right.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def forecast_times(times: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The observed time axis and ``horizon`` steps after it, for plotting.

    Numbers continue by their typical step (the median difference); dates continue by whole
    months when the series is monthly, quarterly or yearly (first days of months), else by
    their median spacing. Text labels have no arithmetic: both axes are then positions, and
    the third value is ``False``.

    Example:
        >>> past, future, real = forecast_times(np.array([1990, 1991, 1992]), 2)
        >>> future.tolist(), real
        ([1993, 1994], True)
        >>> dates = np.array(["2020-01-01", "2020-04-01", "2020-07-01"], dtype="datetime64[D]")
        >>> [str(day) for day in forecast_times(dates, 2)[1]]
        ['2020-10-01', '2021-01-01']
    """
    count = times.shape[0]
    steps = np.arange(1, horizon + 1)
    if np.issubdtype(times.dtype, np.number) and count >= 2:
        step = np.median(np.diff(times))
        if np.issubdtype(times.dtype, np.integer) and step == round(step):
            step = int(step)  # years stay integers
        if step > 0:
            return times, times[-1] + step * steps, True
    if np.issubdtype(times.dtype, np.datetime64) and count >= 2:
        months = times.astype("datetime64[M]")
        if np.all(months.astype(times.dtype) == times):  # all on the first of a month
            step_months = int(np.median(np.diff(months).astype(int)))
            if step_months > 0:
                future = months[-1] + step_months * steps
                return times, future.astype(times.dtype), True
        step = np.median(np.diff(times).astype("timedelta64[s]").astype(np.int64))
        if step > 0:
            future = times[-1].astype("datetime64[s]") + (step * steps).astype("timedelta64[s]")
            return times, future.astype(times.dtype), True
    return np.arange(count), np.arange(count, count + horizon), False


def _bands(axis: Any, times: np.ndarray, draws: np.ndarray, color: str, what: str) -> None:
    """Median line with 50 % and 90 % bands of ``draws`` (sample, time)."""
    q05, q25, q50, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    axis.fill_between(times, q05, q95, color=color, alpha=0.2, label=f"90% {what}")
    axis.fill_between(times, q25, q75, color=color, alpha=0.4, label=f"50% {what}")
    axis.plot(times, q50, color=color, linewidth=1.3, label=f"{what} median")


def save_forecast_plot(
    idata: az.InferenceData,
    path: Path,
    *,
    observed: str,
    forecast: str,
    time_label: str,
    min_history: int = 60,
) -> None:
    """Forecast plot as PNG: the last part of the data on its own time axis (the last
    ``max(min_history, 4 h)`` observations), then the forecast median with 50 % and 90 %
    bands on the same axis (:func:`forecast_times`).

    The forecast draws are in the ``predictions`` group, shaped (chain, draw, horizon).
    """
    observed_data = idata.observed_data[observed]
    observed_values = observed_data.to_numpy()
    draws = idata.predictions[forecast].stack(sample=("chain", "draw"))
    draws = draws.transpose("sample", ...).to_numpy()
    horizon = draws.shape[1]
    times, ahead, real_axis = forecast_times(observed_data[observed_data.dims[0]].to_numpy(),
                                             horizon)
    shown = slice(max(0, observed_values.shape[0] - max(min_history, 4 * horizon)), None)
    figure, axis = plt.subplots(figsize=(10, 4))
    axis.plot(times[shown], observed_values[shown], color="k", linewidth=1, label="observed")
    _bands(axis, ahead, draws, "C1", "forecast")
    axis.axvline(times[-1], color="grey", linewidth=0.8, linestyle=":")
    axis.set_xlabel(time_label if real_axis else f"{time_label} (position)")
    axis.set_ylabel(observed)
    axis.set_title(f"{horizon}-step posterior predictive forecast")
    axis.legend(loc="upper left", fontsize="small")
    if np.issubdtype(ahead.dtype, np.datetime64):
        axis.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def save_time_quantity_plot(
    idata: az.InferenceData,
    path: Path,
    *,
    name: str,
    label: str,
    reference: float | None,
    time_label: str,
) -> None:
    """A quantity tracked over time (posterior group, dims (chain, draw, time[, component])) as
    PNG: median with 50 % and 90 % bands per component, its forecast from the predictions group
    (``name + "_forecast"``) after the last observation, and a line at ``reference``."""
    values = idata.posterior[name]
    time_dim = values.dims[2]
    forecast_name = f"{name}_forecast"
    future = None
    if "predictions" in idata.groups() and forecast_name in idata.predictions:
        future = idata.predictions[forecast_name]
    horizon = 0 if future is None else future.shape[2]
    times, ahead, real_axis = forecast_times(values[time_dim].to_numpy(), horizon)
    components = values.dims[3:]
    figure, axis = plt.subplots(figsize=(10, 4))
    count = 1 if not components else values.shape[3]
    for k in range(count):
        select = {} if not components else {components[0]: k}
        suffix = "" if not components else f" [{k}]"
        draws = values.isel(select).stack(sample=("chain", "draw"))
        _bands(axis, times, draws.transpose("sample", ...).to_numpy(), f"C{k}",
               f"posterior{suffix}")
        if future is not None:
            ahead_draws = future.isel(select).stack(sample=("chain", "draw"))
            _bands(axis, ahead, ahead_draws.transpose("sample", ...).to_numpy(), f"C{k}",
                   f"forecast{suffix}")
    if future is not None:
        axis.axvline(times[-1], color="grey", linewidth=0.8, linestyle=":")
    if reference is not None:
        axis.axhline(reference, color="k", linewidth=0.8, linestyle="--",
                     label=f"{reference:g}")
    axis.set_xlabel(time_label if real_axis else f"{time_label} (position)")
    axis.set_ylabel(label)
    axis.set_title(label)
    axis.legend(loc="upper left", fontsize="x-small", ncol=2)
    if np.issubdtype(times.dtype, np.datetime64):
        axis.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def most_probable_class(probabilities: np.ndarray) -> np.ndarray:
    """The per-step posterior mode of a class (hidden state): the argmax over the last axis
    of ``probabilities`` (sample, time, K) averaged over the samples; shape (time,).

    Example:
        >>> p = np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.7, 0.3], [0.2, 0.8]]])
        >>> most_probable_class(p).tolist()
        [0, 1]
    """
    return np.argmax(np.asarray(probabilities).mean(axis=0), axis=-1)


def save_class_series_plot(
    idata: az.InferenceData,
    path: Path,
    *,
    name: str,
    observed: str,
    label: str,
    time_label: str,
) -> dict[str, Any]:
    """The observed series coloured by its most probable class, above the class
    probabilities over time, as PNG (two panels, one time axis).

    ``name`` is a posterior variable (chain, draw, time, K): the probability of each of K
    classes (hidden states) at each step given the data and the draw. Top: ``observed``
    over time, each point in the colour ``C<k>`` of its most probable class
    (:func:`most_probable_class`: the argmax of the posterior mean probability, the
    per-step posterior mode). Bottom: the posterior mean probability of each class
    (``C<k>`` lines, stacked to 1).

    Returns what was drawn, for checks: ``classes`` (time,) the colour index of each point,
    ``point_colors`` (time, 4) the RGBA colours as rendered, ``legend`` the class labels.
    """
    import matplotlib.colors as mcolors

    values = idata.posterior[name]
    time_dim = values.dims[2]
    probabilities = values.stack(sample=("chain", "draw")).transpose(
        "sample", time_dim, ...).to_numpy()
    mean = probabilities.mean(axis=0)  # (time, K)
    classes = most_probable_class(probabilities)
    series = idata.observed_data[observed].to_numpy()
    times, _, real_axis = forecast_times(values[time_dim].to_numpy(), 0)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 2]})
    top.plot(times, series, color="0.75", linewidth=0.6, zorder=1)
    palette = np.array([mcolors.to_rgba(f"C{k % 10}") for k in range(mean.shape[1])])
    points = top.scatter(times, series, c=palette[classes], s=9, zorder=2)
    legend = [f"state {k}" for k in range(mean.shape[1])]
    for k in np.unique(classes):
        top.scatter([], [], color=palette[k], s=9, label=f"{legend[k]}: most probable at "
                    f"{int(np.sum(classes == k))} steps")
    top.set_ylabel(observed)
    top.set_title(f"{observed} coloured by its most probable state (posterior mode per step)")
    top.legend(loc="upper left", fontsize="x-small")
    bottom.stackplot(times, mean.T, colors=palette, alpha=0.8, labels=legend)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("probability")
    bottom.set_title(f"{label} (posterior mean)")
    bottom.set_xlabel(time_label if real_axis else f"{time_label} (position)")
    bottom.legend(loc="upper right", fontsize="x-small")
    if np.issubdtype(times.dtype, np.datetime64):
        bottom.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    figure.canvas.draw()
    drawn = {"classes": classes, "point_colors": np.asarray(points.get_facecolors()),
             "legend": legend}
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return drawn


def write_netcdf(idata: az.InferenceData, path: Path) -> None:
    """Write ``idata`` as a netCDF-4 file (one group per InferenceData group), uncompressed.

    ArviZ compresses every variable with zlib by default. Posterior draws are random
    float64 values that zlib cannot shrink (measured: 1,230 MB against 1,280 MB for a
    T = 20,000 fit's 4 x 1,000 replicated and one-step series), yet compressing them took
    41 s of that fit's 97 s, against 5.5 s for writing them as they are.
    """
    idata.to_netcdf(str(path), compress=False)


def read_inference_data(path: Path) -> az.InferenceData:
    """Read an InferenceData netCDF file; :class:`NotInferenceDataError` if ``path`` is not one.

    A netCDF file written by something else opens without error as an *empty* InferenceData,
    so having a posterior group is what is checked.
    """
    try:
        idata = az.from_netcdf(str(path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise NotInferenceDataError(
            f"'{path}' is not a netCDF file ArviZ can read"
            + (f" ({type(error).__name__}: {first_line[:120]})" if first_line else "")
        ) from None
    if "posterior" not in idata.groups():
        groups = ", ".join(idata.groups()) or "none"
        raise NotInferenceDataError(
            f"'{path}' is not ArviZ InferenceData: it has no posterior group (groups: {groups})"
        )
    return idata



def missing_sample_stats(idata: az.InferenceData, names: Sequence[str]) -> list[str]:
    """Which of ``names`` the sample_stats group lacks (all of them if there is no such group)."""
    if "sample_stats" not in idata.groups():
        return list(names)
    return [name for name in names if name not in idata.sample_stats]


def posterior_variables(idata: az.InferenceData) -> list[str]:
    """Names of the posterior's variables, in file order."""
    return list(idata.posterior.data_vars)


# --- Model comparison: the pointwise log-likelihood group, LOO and compare -------------------


def add_pointwise_log_likelihood(
    idata: az.InferenceData, site: str, observed: str = "y", dim: str = "time"
) -> int:
    """Move the posterior variable ``site`` (chain, draw, T) into the ``log_likelihood``
    group as ``observed``, keeping only the time steps that were scored.

    ``site`` holds log p(y_t | y_<t) per draw; a step that is not part of the likelihood
    (a gap, or the first d + sD steps of a differenced model) is 0 in every draw and is
    dropped, so LOO counts only real observations. Returns the number of steps kept.
    """
    values = idata.posterior[site]
    posterior = idata.posterior.drop_vars(site)
    if dim in posterior.coords and not any(dim in var.dims for var in posterior.data_vars.values()):
        posterior = posterior.drop_dims(dim)  # the time axis served only this variable
    idata.posterior = posterior
    scored = (values != 0).any(dim=("chain", "draw"))
    kept = values.isel({dim: np.flatnonzero(scored.values)})
    idata.add_groups({"log_likelihood": kept.to_dataset(name=observed)})
    return int(scored.sum())


def loo(idata: az.InferenceData) -> Any:
    """ArviZ's PSIS-LOO of a run with a ``log_likelihood`` group (ELPDData: ``elpd_loo``,
    ``se``, ``p_loo``, ``pareto_k``); ArviZ's Pareto-k warning is passed on, not hidden."""
    return az.loo(idata, pointwise=True)


def compare_runs(runs: Mapping[str, az.InferenceData]) -> pd.DataFrame:
    """ArviZ's ``compare`` (PSIS-LOO, stacking weights) of named runs, best first: columns
    rank, elpd_loo, p_loo, elpd_diff, weight, se, dse, warning, scale."""
    return az.compare(dict(runs), ic="loo")


def has_log_likelihood(idata: az.InferenceData) -> bool:
    """Whether ``idata`` has a pointwise ``log_likelihood`` group."""
    return "log_likelihood" in idata.groups()


def inference_data_from_draws(
    posterior: Mapping[str, np.ndarray],
    *,
    sample_stats: Mapping[str, np.ndarray],
    observed_data: Mapping[str, np.ndarray],
    predictions: Mapping[str, np.ndarray] | None = None,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, Sequence[str]] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> az.InferenceData:
    """InferenceData from arrays shaped (chain, draw, ...): a panel fit's posterior (one
    ``series`` dim among the dims), its sampler statistics, data and forecasts."""
    idata = az.from_dict(
        posterior=dict(posterior),
        sample_stats=dict(sample_stats),
        observed_data=dict(observed_data),
        predictions=dict(predictions) if predictions else None,
        coords=dict(coords) if coords else None,
        dims={name: list(names) for name, names in dims.items()} if dims else None,
        pred_dims=({name: list(dims[name]) for name in predictions if name in dims}
                   if predictions and dims else None),
    )
    if attrs:
        idata.posterior.attrs.update({key: _netcdf_attr(value) for key, value in attrs.items()})
    return idata


def save_panel_plot(path: Path, *, values: np.ndarray, times: np.ndarray,
                    names: Sequence[str], forecasts: np.ndarray | None, time_label: str,
                    shown: int = 6) -> None:
    """The first ``shown`` series of a panel, one panel each: the data (S, T) and, when
    ``forecasts`` (S, sample, H) are given, their median and 50 % / 90 % bands after the
    last time."""
    count = min(shown, values.shape[0])
    figure, axes = plt.subplots(count, 1, figsize=(10, 2.2 * count), squeeze=False)
    all_times, ahead, real_axis = forecast_times(
        times, forecasts.shape[-1] if forecasts is not None else 1)
    for s, axis in enumerate(axes[:, 0]):
        axis.plot(all_times, values[s], color="k", linewidth=1, label="observed")
        if forecasts is not None:
            _bands(axis, ahead, forecasts[s], "C1", "forecast")
        axis.set_title(f"series {names[s]}", fontsize="small")
        if s == 0 and forecasts is not None:
            axis.legend(loc="upper left", fontsize="x-small")
    axes[-1, 0].set_xlabel(time_label if real_axis else f"{time_label} (position)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def save_means_plot(path: Path, means: Mapping[str, np.ndarray],
                    population: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None
                    ) -> None:
    """One histogram per parameter component of its posterior means over the series
    (``means``: label -> (S,)), with the mean and sd over series in the title; with
    ``population`` (label -> (grid, density)), the histogram is a density and the
    population law is drawn over it."""
    count = len(means)
    population = population or {}
    figure, axes = plt.subplots(1, count, figsize=(3.2 * count, 3), squeeze=False)
    for axis, (label, values) in zip(axes[0], means.items(), strict=True):
        axis.hist(values, bins=min(30, max(5, len(values) // 4)), color="C0", alpha=0.8,
                  density=label in population)
        if label in population:
            grid, density = population[label]
            axis.plot(grid, density, color="C1", label="population law")
            axis.legend(loc="upper left", fontsize="x-small")
        axis.set_title(f"{label}: {np.mean(values):.3g} ± {np.std(values):.2g}",
                       fontsize="small")
        axis.set_xlabel("posterior mean per series")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
