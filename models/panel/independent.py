"""S independent posteriors in one compiled program: NumPyro's functional NUTS under ``vmap``.

A panel is S series of equal length T, shape (S, T). Fitting each series on its own means S
separate posteriors, each with its own step size and mass matrix: one joint NUTS run over
all S x k parameters would share one step size, set by the hardest series. Here the NUTS
kernel itself is vectorised over series (and over chains within a series):

* the model's potential energy comes from :func:`numpyro.infer.util.initialize_model` with
  ``dynamic_args=True``: a function of the model keywords (the series ``y`` and any
  per-series keyword, such as priors set from that series) that returns the potential of
  that series' posterior;
* :func:`numpyro.infer.hmc.hmc` (``algo="NUTS"``) gives ``init_kernel`` and
  ``sample_kernel`` that take those keywords; warm-up (dual averaging of the step size,
  mass matrix, in NumPyro's windows) and sampling are one ``lax.scan``;
* ``jax.vmap`` over chains, then over series, turns that into one program. A batch of
  ``while_loop`` trees runs as long as its longest member, so a series whose trees are
  deep costs the others time, never accuracy: every member keeps its own state.

Starting points come from :func:`numpyro.infer.util.find_valid_initial_params` with the
family's init strategy, one key per (series, chain). Everything is traced once, for the
first series' shapes; the keywords of the other series only change values.

Example:
    >>> import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
    >>> def model(y=None, *, prior_scale=1.0):
    ...     m = numpyro.sample("m", dist.Normal(0.0, prior_scale))
    ...     numpyro.sample("y", dist.Normal(m, 1.0).expand([3]).to_event(1), obs=y)
    >>> y = jnp.array([[-0.5, 0.0, 0.5], [9.5, 10.0, 10.5]])
    >>> fit = fit_independent(model, y, rng_key=jax.random.PRNGKey(0), num_warmup=200,
    ...                       num_samples=200, num_chains=2,
    ...                       static_kwargs={"prior_scale": 100.0})
    >>> print(fit.samples["m"].shape, fit.diverging.shape, fit.step_size.shape)
    (2, 2, 200) (2, 2, 200) (2, 2)
    >>> print(jnp.round(fit.samples["m"].mean(axis=(1, 2))).tolist())
    [0.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike
from numpyro.infer.hmc import hmc
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import ParamInfo, find_valid_initial_params, initialize_model

__all__ = ["NUTSSettings", "PanelFit", "PanelModel", "fit_independent", "independent_sampler",
           "panel_model", "panel_potential", "predict_independent", "phase_orders",
           "series_keys"]


class NUTSSettings(NamedTuple):
    """NUTS settings: NumPyro's ``NUTS`` defaults (every series adapts its own step size,
    by dual averaging towards ``target_accept_prob``, and its own diagonal mass matrix, in
    NumPyro's windows), except that warm-up trees are capped.

    ``warmup_max_tree_depth`` caps the trees during warm-up only (NumPyro's ``max_tree_depth``
    as a pair): before the first mass matrix is adapted (NumPyro's first slow window ends at
    warm-up iteration 100 of 150), a series' trees can reach 2^10 - 1 steps, and under
    ``vmap`` the batch pays the deepest tree of all its series at every iteration. Measured
    on 50 simulated ARMA(1, 1) series (T = 200, 2 chains x 150 draws after 150 warm-up,
    dense mass): warm-up cost 59,720 batched leapfrog steps against 5,218 for the draws;
    with the warm-up cap at depth 6, 8,764 (and 8,030 for the draws). The draws after
    warm-up are NUTS with ``max_tree_depth``; ``None`` uncaps warm-up.

    ``dense_mass=True`` adapts a full k x k mass matrix per series: on those 50 series
    8.9 leapfrog steps per draw on average and 34.8 for the batch's deepest tree, against
    35.7 and 248 with the diagonal one (the conditional ARMA's intercept = mu (1 - phi)
    ties two coordinates). It is not the default: on the 20-series test panel
    (tests/test_panel_independent.py, T = 100) it left one chain of each of two good
    series stuck (step size 1e-34 after warm-up took it to phi = 4, theta = -6), where the
    diagonal matrix passes every good series."""

    target_accept_prob: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool = False
    step_size: float = 1.0
    warmup_max_tree_depth: int | None = 6


class PanelModel(NamedTuple):
    """A model prepared for S series: what :func:`panel_model` returns.

    Attributes:
        model: the NumPyro model.
        static_kwargs: keywords shared by every series (an order, a prior scale).
        prototype: one unconstrained point, the parameter shapes of one series.
        potential_gen: model keywords -> potential energy of that series' posterior
            (a function of the unconstrained parameters).
        postprocess_gen: model keywords -> unconstrained -> constrained sites (and
            deterministic sites).
        init_strategy: the NumPyro init strategy (a ``functools.partial``).
    """

    model: Callable[..., Any]
    static_kwargs: Mapping[str, Any]
    prototype: dict[str, Array]
    potential_gen: Callable[..., Callable[[dict[str, Array]], Array]]
    postprocess_gen: Callable[..., Callable[[dict[str, Array]], dict[str, Array]]]
    init_strategy: Any


class PanelFit(NamedTuple):
    """S independent posteriors, C chains each, D draws per chain.

    Attributes:
        samples: site -> draws, shape (S, C, D, *site shape), constrained.
        diverging: (S, C, D) booleans, the post-warm-up divergent transitions.
        energy: (S, C, D) Hamiltonian at each draw (E-BFMI needs it).
        potential_energy: (S, C, D).
        num_steps: (S, C, D) leapfrog steps per draw.
        accept_prob: (S, C, D) mean acceptance probability per draw.
        step_size: (S, C) the adapted step size of every chain of every series.
        inverse_mass_matrix: (S, C, k) its adapted diagonal ((S, C, k, k) with
            ``dense_mass=True``); k unconstrained dimensions.
        warmup_diverging: (S, C) divergent transitions during warm-up.
        warmup_num_steps: (S, C, W) leapfrog steps per warm-up iteration (what warm-up
            cost; under ``vmap`` a batch pays its largest tree at every iteration).
    """

    samples: dict[str, Array]
    diverging: Array
    energy: Array
    potential_energy: Array
    num_steps: Array
    accept_prob: Array
    step_size: Array
    inverse_mass_matrix: Array
    warmup_diverging: Array
    warmup_num_steps: Array


def _check_panel(y: ArrayLike, series_kwargs: Mapping[str, ArrayLike]) -> tuple[Array, int]:
    y = jnp.asarray(y)
    if y.ndim < 2 or y.shape[0] < 1:
        raise ValueError(f"fit_independent: y must have shape (S, T) with S >= 1 series, got "
                         f"shape {y.shape}")
    num_series = y.shape[0]
    for name, value in series_kwargs.items():
        shape = jnp.shape(value)
        if not shape or shape[0] != num_series:
            raise ValueError(f"fit_independent: series_kwargs[{name!r}] must have a leading "
                             f"axis of S = {num_series} (one value per series), got shape "
                             f"{shape}")
    return y, num_series


def _one_series(arrays: dict[str, ArrayLike], index: int) -> dict[str, Array]:
    return {name: jnp.asarray(value)[index] for name, value in arrays.items()}


def panel_model(
    model: Callable[..., Any],
    y: ArrayLike,
    *,
    static_kwargs: Mapping[str, Any] | None = None,
    series_kwargs: Mapping[str, ArrayLike] | None = None,
    init_strategy: Any = None,
    rng_key: Array | None = None,
) -> PanelModel:
    """Prepare ``model`` for S series: trace it once on the first series.

    Args:
        model: a NumPyro model ``model(y=..., **static_kwargs, **series_kwargs)``.
        y: the panel, shape (S, T, ...); series 0 sets the shapes.
        static_kwargs: keywords shared by all series.
        series_kwargs: keyword -> array with a leading axis of S (one value per series).
        init_strategy: NumPyro init strategy; default ``init_to_uniform``.
        rng_key: key for the tracing run (no draw of it is kept); default ``PRNGKey(0)``.

    Example:
        >>> import jax.numpy as jnp, numpyro, numpyro.distributions as dist
        >>> def model(y=None):
        ...     m = numpyro.sample("m", dist.Normal(0.0, 10.0))
        ...     numpyro.sample("y", dist.Normal(m, 1.0).expand([2]).to_event(1), obs=y)
        >>> prepared = panel_model(model, jnp.zeros((5, 2)))
        >>> print({name: value.shape for name, value in prepared.prototype.items()})
        {'m': ()}
    """
    static_kwargs = dict(static_kwargs or {})
    series_kwargs = dict(series_kwargs or {})
    y, _ = _check_panel(y, series_kwargs)
    init_strategy = init_strategy if init_strategy is not None else init_to_uniform()
    key = rng_key if rng_key is not None else jax.random.PRNGKey(0)
    info = initialize_model(
        key, model, init_strategy=init_strategy, dynamic_args=True,
        model_kwargs={"y": y[0], **static_kwargs, **_one_series(series_kwargs, 0)},
    )
    return PanelModel(model, static_kwargs, info.param_info.z, info.potential_fn,
                      info.postprocess_fn, init_strategy)


def panel_potential(prepared: PanelModel, y: ArrayLike,
                    series_kwargs: Mapping[str, ArrayLike] | None = None
                    ) -> Callable[[dict[str, Array]], Array]:
    """The S potential energies (minus log densities, unconstrained scale) as one
    vectorised function: ``params`` site -> (S, *site shape) -> (S,).

    Example:
        >>> import jax.numpy as jnp, numpyro, numpyro.distributions as dist
        >>> def model(y=None):
        ...     m = numpyro.sample("m", dist.Normal(0.0, 1.0))
        ...     numpyro.sample("y", dist.Normal(m, 1.0), obs=y)
        >>> ys = jnp.array([[0.0], [1.0]])
        >>> potential = panel_potential(panel_model(model, ys), ys)  # log(2 pi) + y^2 / 2
        >>> print([round(float(v), 4) for v in potential({"m": jnp.zeros(2)})])
        [1.8379, 2.3379]
    """
    series_kwargs = dict(series_kwargs or {})
    y, _ = _check_panel(y, series_kwargs)

    def one(y_s: Array, kwargs_s: dict[str, Array], params: dict[str, Array]) -> Array:
        return prepared.potential_gen(y=y_s, **prepared.static_kwargs, **kwargs_s)(params)

    return lambda params: jax.vmap(one)(y, series_kwargs, params)


def series_keys(rng_key: Array, num_series: int, num_chains: int) -> Array:
    """One key per (series, chain), shape (S, C, 2): series s's keys are the same whatever
    S is and however the series axis is split over devices or processes
    (``fold_in(rng_key, s)``, then ``split`` into C).

    Example:
        >>> import jax
        >>> keys = series_keys(jax.random.PRNGKey(0), 3, 2)
        >>> print(keys.shape, bool((keys[2] == series_keys(jax.random.PRNGKey(0), 5, 2)[2]).all()))
        (3, 2, 2) True
    """
    return jax.vmap(lambda s: jax.random.split(jax.random.fold_in(rng_key, s), num_chains))(
        jnp.arange(num_series))


def _initial_state(prepared: PanelModel, settings: NUTSSettings, init_kernel: Callable,
                   num_warmup: int, max_tree_depth: int | tuple[int, int], key: Array,
                   kwargs: dict[str, Any]) -> Any:
    """One chain's NUTS state before warm-up, from a valid point of the init strategy."""
    init_key, run_key = jax.random.split(key)
    (z, pe, grad), _ = find_valid_initial_params(
        init_key, prepared.model, init_strategy=prepared.init_strategy,
        model_kwargs=kwargs, prototype_params=prepared.prototype)
    return init_kernel(
        ParamInfo(z, pe, grad), num_warmup, step_size=settings.step_size,
        dense_mass=settings.dense_mass,
        target_accept_prob=settings.target_accept_prob, trajectory_length=None,
        max_tree_depth=max_tree_depth, model_kwargs=kwargs, rng_key=run_key)


def _over_series_and_chains(fn: Callable[..., Any], num_chain_args: int
                            ) -> Callable[..., Any]:
    """``vmap`` of ``fn`` over every (series, chain) pair as one axis of S x C members.

    The first ``num_chain_args`` arguments hold one value per chain, leading axes (S, C);
    the others one value per series, leading axis S (repeated for each chain); the outputs
    come back with leading axes (S, C). One axis rather than a ``vmap`` over chains inside
    a ``vmap`` over series, so that a likelihood's batching rule sees the whole width
    (:func:`models.arma.conditional_fast._sum_of_squares_and_gradient` takes the reference
    scan from :data:`models.arma.conditional_fast.WIDE_BATCH` members on: 2 x faster per
    gradient at 2,000, REPORT.md section 7.4), not the C chains of one series."""

    def run(*args: Any) -> Any:
        chain_args, series_args = args[:num_chain_args], args[num_chain_args:]
        leading = jax.tree_util.tree_leaves(chain_args)[0].shape[:2]
        members = leading[0] * leading[1]
        flat = jax.tree_util.tree_map(
            lambda value: value.reshape(members, *value.shape[2:]), chain_args)
        repeated = jax.tree_util.tree_map(
            lambda value: jnp.repeat(value, leading[1], axis=0), series_args)
        out = jax.vmap(fn)(*flat, *repeated)
        return jax.tree_util.tree_map(lambda value: value.reshape(*leading, *value.shape[1:]),
                                      out)

    return run


def _chain_runner(prepared: PanelModel, num_warmup: int, num_samples: int,
                  settings: NUTSSettings, sites: tuple[str, ...] | None
                  ) -> Callable[[Array, Array, dict[str, Array]], dict[str, Array]]:
    """(key, y_s, kwargs_s) -> one chain's draws and statistics (traceable, vmappable)."""

    max_tree_depth: int | tuple[int, int] = settings.max_tree_depth
    if settings.warmup_max_tree_depth is not None:
        max_tree_depth = (min(settings.warmup_max_tree_depth, settings.max_tree_depth),
                          settings.max_tree_depth)

    def run(key: Array, y_s: Array, kwargs_s: dict[str, Array]) -> dict[str, Array]:
        kwargs = {"y": y_s, **prepared.static_kwargs, **kwargs_s}
        init_kernel, sample_kernel = hmc(potential_fn_gen=prepared.potential_gen, algo="NUTS")
        state = _initial_state(prepared, settings, init_kernel, num_warmup, max_tree_depth,
                               key, kwargs)

        def step(state, _):
            state = sample_kernel(state, model_kwargs=kwargs)
            return state, {"z": state.z, "diverging": state.diverging, "energy": state.energy,
                           "potential_energy": state.potential_energy,
                           "num_steps": state.num_steps, "accept_prob": state.mean_accept_prob}

        # warm-up and sampling in one scan: the kernel (and the model's gradient) is traced
        # and compiled once, not twice; the warm-up part of the trace is dropped
        state, trace = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
        warm_diverging = trace["diverging"][:num_warmup]
        warm_steps = trace["num_steps"][:num_warmup]
        trace = jax.tree_util.tree_map(lambda value: value[num_warmup:], trace)
        constrained = jax.vmap(prepared.postprocess_gen(**kwargs))(trace.pop("z"))
        keep = sites if sites is not None else tuple(prepared.prototype)
        trace["samples"] = {name: constrained[name] for name in keep}
        trace["step_size"] = state.adapt_state.step_size
        trace["inverse_mass_matrix"] = state.adapt_state.inverse_mass_matrix
        trace["warmup_diverging"] = jnp.sum(warm_diverging)
        trace["warmup_num_steps"] = warm_steps
        return trace

    return run


def phase_orders(warmup_num_steps: ArrayLike, num_steps: ArrayLike, *,
                 regroup: bool = True) -> list[tuple[int, int, Array]]:
    """How ``fit_independent(..., batch_size=B)`` ordered the series before cutting them
    into blocks of B, phase by phase: ``(first iteration, iterations, order)``.

    The phases are NumPyro's warm-up windows (the mass matrix changes between them) and the
    draws. With ``regroup`` every phase after the first sorts the series by their trees in
    the phase before, shallowest first: a series' score is the largest, over its chains, of
    the mean leapfrog steps per iteration in that phase (ties keep the series order).
    Consecutive series of the order then share a block, so shallow series no longer wait
    for the deep trees of others.

    Args:
        warmup_num_steps: (S, C, W), :attr:`PanelFit.warmup_num_steps`.
        num_steps: (S, C, D), :attr:`PanelFit.num_steps`.
        regroup: as in :func:`fit_independent`; ``False``: one phase, the series order.

    Returns:
        A list of ``(first, count, order)``, ``order`` an (S,) permutation.

    Example:
        >>> import jax.numpy as jnp
        >>> warm = jnp.array([[[63, 7]], [[3, 3]], [[3, 15]]])  # S = 3, C = 1, W = 2
        >>> [(first, count, order.tolist()) for first, count, order
        ...  in phase_orders(warm, jnp.ones((3, 1, 4), int))]
        [(0, 2, [0, 1, 2]), (2, 4, [1, 2, 0])]
    """
    warm, draws = jnp.asarray(warmup_num_steps), jnp.asarray(num_steps)
    steps = jnp.concatenate([warm, draws], axis=-1)
    score = jnp.zeros(steps.shape[0])
    out = []
    for first, count in _phases(warm.shape[-1], draws.shape[-1], regroup):
        out.append((first, count, jnp.argsort(score, stable=True)))
        score = _phase_score(steps, first, count)
    return out


def _phase_score(steps: Array, first: Array | int, count: Array | int) -> Array:
    """(S, C, L) leapfrog steps -> (S,): the mean over [first, first + count), the largest
    over chains."""
    index = jnp.arange(steps.shape[-1])
    window = (index >= first) & (index < first + count)
    return jnp.max(jnp.sum(jnp.where(window, steps, 0), axis=-1) / count, axis=-1)


def _phases(num_warmup: int, num_samples: int, regroup: bool) -> list[tuple[int, int]]:
    """(first iteration, iterations) of each phase the series are re-sorted for: NumPyro's
    warm-up windows (:func:`numpyro.infer.hmc_util.build_adaptation_schedule`; the mass
    matrix changes between them), then the draws; one phase of all when not ``regroup``."""
    from numpyro.infer.hmc_util import build_adaptation_schedule

    if not regroup or num_warmup < 1:
        return [(0, num_warmup + num_samples)]
    windows = [(w.start, w.end + 1 - w.start) for w in build_adaptation_schedule(num_warmup)]
    return windows + [(num_warmup, num_samples)]


def _regrouped_runner(prepared: PanelModel, num_warmup: int, num_samples: int,
                      settings: NUTSSettings, sites: tuple[str, ...] | None,
                      batch_size: int, regroup: bool
                      ) -> Callable[[Array, Array, dict[str, Array]], dict[str, Array]]:
    """(keys (S, C, 2), y (S, T), kwargs) -> the panel's draws and statistics, in blocks of
    ``batch_size`` series; with ``regroup``, re-sorted at the start of every phase
    (:func:`_phases`) by how deep their trees were in the phase before.

    One program with one copy of the NUTS kernel: a ``lax.scan`` over the phases whose body
    sorts the series by the last phase's mean tree size, pads them to whole blocks, advances
    every chain the phase's iterations (a ``while_loop`` over ``sample_kernel`` carrying the
    chain's whole state: its key, adapted step size and mass matrix, position) block after
    block (``lax.map``), and puts them back in order. A chain's iterations are those of one
    uninterrupted run of the kernel from its own state, so its draws do not depend on its
    block."""
    max_tree_depth: int | tuple[int, int] = settings.max_tree_depth
    if settings.warmup_max_tree_depth is not None:
        max_tree_depth = (min(settings.warmup_max_tree_depth, settings.max_tree_depth),
                          settings.max_tree_depth)
    total = num_warmup + num_samples
    phases = _phases(num_warmup, num_samples, regroup)
    init_kernel, sample_kernel = hmc(potential_fn_gen=prepared.potential_gen, algo="NUTS")

    def init_chain(key: Array, y_s: Array, kwargs_s: dict[str, Array]) -> Any:
        kwargs = {"y": y_s, **prepared.static_kwargs, **kwargs_s}
        return _initial_state(prepared, settings, init_kernel, num_warmup, max_tree_depth,
                              key, kwargs)

    def record(state: Any) -> dict[str, Array]:
        return {"z": state.z, "diverging": state.diverging, "energy": state.energy,
                "potential_energy": state.potential_energy, "num_steps": state.num_steps,
                "accept_prob": state.mean_accept_prob}

    def advance(state: Any, trace: dict[str, Array], y_s: Array, kwargs_s: dict[str, Array],
                first: Array, count: Array) -> tuple[Any, dict[str, Array]]:
        """Iterations [first, first + count) of one chain, written into its ``trace``."""
        kwargs = {"y": y_s, **prepared.static_kwargs, **kwargs_s}

        def body(carry: tuple[Array, Any, dict[str, Array]]) -> tuple[Array, Any, Any]:
            i, state, trace = carry
            state = sample_kernel(state, model_kwargs=kwargs)
            trace = jax.tree_util.tree_map(lambda b, v: b.at[i].set(v), trace, record(state))
            return i + 1, state, trace

        _, state, trace = jax.lax.while_loop(lambda carry: carry[0] < first + count, body,
                                             (first, state, trace))
        return state, trace


    def run_panel(keys: Array, y: Array, kwargs: dict[str, Array]) -> dict[str, Array]:
        num_series = y.shape[0]
        size = min(batch_size, num_series)  # (a device's share of the series, if sharded)
        blocks = -(-num_series // size)
        states = _over_series_and_chains(init_chain, 1)(keys, y, kwargs)
        trace = jax.tree_util.tree_map(
            lambda value: jnp.zeros((*value.shape[:2], total, *value.shape[2:]), value.dtype),
            jax.vmap(jax.vmap(record))(states))

        def phase(carry: tuple[Any, dict[str, Array], Array], phase: tuple[Array, Array]
                  ) -> tuple[tuple[Any, dict[str, Array], Array], None]:
            states, trace, score = carry
            first, count = phase
            order = jnp.argsort(score, stable=True)  # the first phase: the series order
            padded = jnp.concatenate([order, order[:blocks * size - num_series]])

            def gather(value: Array) -> Array:
                return value[padded].reshape(blocks, size, *value.shape[1:])

            def one_block(args: tuple[Any, ...]) -> tuple[Any, dict[str, Array]]:
                return _over_series_and_chains(
                    lambda state, trace, y_s, kwargs_s: advance(state, trace, y_s, kwargs_s,
                                                                first, count), 2)(*args)

            out = jax.lax.map(one_block, jax.tree_util.tree_map(
                gather, (states, trace, y, kwargs)))
            inverse = jnp.argsort(order)
            states, trace = jax.tree_util.tree_map(
                lambda value: value.reshape(blocks * size, *value.shape[2:])[inverse],
                out)
            return (states, trace, _phase_score(trace["num_steps"], first, count)), None

        firsts, counts = (jnp.array(column) for column in zip(*phases, strict=True))
        (states, trace, _), _ = jax.lax.scan(
            phase, (states, trace, jnp.zeros(num_series)), (firsts, counts))
        warm = jax.tree_util.tree_map(lambda value: value[:, :, :num_warmup], trace)
        trace = jax.tree_util.tree_map(lambda value: value[:, :, num_warmup:], trace)

        def constrain(z: dict[str, Array], y_s: Array, kwargs_s: dict[str, Array]
                      ) -> dict[str, Array]:
            postprocess = prepared.postprocess_gen(y=y_s, **prepared.static_kwargs, **kwargs_s)
            return jax.vmap(jax.vmap(postprocess))(z)  # chains, draws

        constrained = jax.vmap(constrain)(trace.pop("z"), y, kwargs)
        keep = sites if sites is not None else tuple(prepared.prototype)
        trace["samples"] = {name: constrained[name] for name in keep}
        trace["step_size"] = states.adapt_state.step_size
        trace["inverse_mass_matrix"] = states.adapt_state.inverse_mass_matrix
        trace["warmup_diverging"] = jnp.sum(warm["diverging"], axis=-1)
        trace["warmup_num_steps"] = warm["num_steps"]
        return trace

    return run_panel


def _check_counts(num_warmup: int, num_samples: int, num_chains: int,
                  batch_size: int | None) -> None:
    for name, value, least in (("num_warmup", num_warmup, 0), ("num_samples", num_samples, 1),
                               ("num_chains", num_chains, 1)):
        if not isinstance(value, int) or value < least:
            raise ValueError(f"fit_independent: {name} must be an integer >= {least}, got "
                             f"{value!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"fit_independent: batch_size must be None or an integer >= 1, got "
                         f"{batch_size!r}")


def independent_sampler(
    model: Callable[..., Any],
    y: ArrayLike,
    *,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    static_kwargs: Mapping[str, Any] | None = None,
    series_kwargs: Mapping[str, ArrayLike] | None = None,
    init_strategy: Any = None,
    settings: NUTSSettings | None = None,
    sites: tuple[str, ...] | None = None,
    mesh: Any = None,
    batch_size: int | None = None,
    regroup: bool = True,
) -> Callable[..., PanelFit]:
    """The one-program fit as a function compiled once: ``sampler(rng_key, y,
    series_kwargs=None) -> PanelFit`` for any panel of the shape of ``y`` (S, T).
    ``rng_key`` is one key (chain c of series s then uses ``series_keys(rng_key, S, C)[s,
    c]``) or those (S, C, 2) keys themselves (to fit the series in another order with the
    keys they had).

    :func:`fit_independent` calls it once. Called again with other series of the same shape
    (and series keywords of the same shapes), it reuses the compiled program: no tracing,
    no compilation. With S = 1 it is the best loop over series a Python program can write
    (one NUTS program compiled once, the data swapped), the benchmark's reference.

    Args: those of :func:`fit_independent`; ``y`` and ``series_kwargs`` here only set the
    shapes (series 0 traces the model).

    Example:
        >>> import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
        >>> def model(y=None):
        ...     m = numpyro.sample("m", dist.Normal(0.0, 100.0))
        ...     numpyro.sample("y", dist.Normal(m, 1.0).expand([3]).to_event(1), obs=y)
        >>> sampler = independent_sampler(model, jnp.zeros((1, 3)), num_warmup=100,
        ...                               num_samples=100, num_chains=1)
        >>> means = [float(sampler(jax.random.PRNGKey(s), jnp.full((1, 3), 5.0 * s))
        ...                .samples["m"].mean()) for s in range(3)]
        >>> print([round(m) for m in means])
        [0, 5, 10]
    """
    static_kwargs = dict(static_kwargs or {})
    series_kwargs = {name: jnp.asarray(value) for name, value in (series_kwargs or {}).items()}
    y, num_series = _check_panel(y, series_kwargs)
    _check_counts(num_warmup, num_samples, num_chains, batch_size)
    prepared = panel_model(model, y, static_kwargs=static_kwargs, series_kwargs=series_kwargs,
                           init_strategy=init_strategy)
    if sites is not None:
        unknown = sorted(set(sites) - set(prepared.postprocess_gen(
            y=y[0], **static_kwargs, **_one_series(series_kwargs, 0))(prepared.prototype)))
        if unknown:
            raise ValueError(f"fit_independent: sites {unknown} are not sites of the model")
    if batch_size is None:
        run_chain = _chain_runner(prepared, num_warmup, num_samples,
                                  settings or NUTSSettings(), sites)
        run_panel = _over_series_and_chains(run_chain, 1)
    else:
        # blocks of batch_size series, one after the other: a block's NUTS iterations last
        # as long as the deepest tree of that block only; after warm-up, re-sorted by depth
        run_panel = _regrouped_runner(prepared, num_warmup, num_samples,
                                      settings or NUTSSettings(), sites, batch_size, regroup)
    if mesh is not None:
        from models.panel.sharding import shard_over_series

        compiled = shard_over_series(run_panel, mesh)
    else:
        compiled = jax.jit(run_panel)
    shape = y.shape

    def sampler(rng_key: Array, y: ArrayLike,
                series_kwargs: Mapping[str, ArrayLike] | None = None) -> PanelFit:
        series_kwargs = {name: jnp.asarray(value)
                         for name, value in (series_kwargs or {}).items()}
        y, count = _check_panel(y, series_kwargs)
        if y.shape != shape:
            raise ValueError(f"fit_independent: this sampler was compiled for y of shape "
                             f"{shape}, got {y.shape}")
        keys = jnp.asarray(rng_key)
        if keys.shape != (count, num_chains, 2):  # one key: series_keys derives them
            keys = series_keys(rng_key, count, num_chains)
        out = compiled(keys, y, series_kwargs)
        return PanelFit(out["samples"], out["diverging"], out["energy"],
                        out["potential_energy"], out["num_steps"], out["accept_prob"],
                        out["step_size"], out["inverse_mass_matrix"],
                        out["warmup_diverging"], out["warmup_num_steps"])

    return sampler


def fit_independent(
    model: Callable[..., Any],
    y: ArrayLike,
    *,
    rng_key: Array,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    static_kwargs: Mapping[str, Any] | None = None,
    series_kwargs: Mapping[str, ArrayLike] | None = None,
    init_strategy: Any = None,
    settings: NUTSSettings | None = None,
    sites: tuple[str, ...] | None = None,
    mesh: Any = None,
    batch_size: int | None = None,
    regroup: bool = True,
) -> PanelFit:
    """Fit ``model`` to each of S series independently, all in one compiled program.

    Series s is fitted as ``model(y=y[s], **static_kwargs, **{k: v[s] for k, v in
    series_kwargs.items()})``, with ``num_chains`` NUTS chains, each adapting its own step
    size and mass matrix (:class:`NUTSSettings`) over ``num_warmup`` iterations.

    Args:
        model: a NumPyro model taking the observed series as ``y``.
        y: the panel, shape (S, T) (or (S, T, ...)); NaN where the model allows it.
        rng_key: the key; chain c of series s uses ``series_keys(rng_key, S, C)[s, c]``.
        num_warmup, num_samples, num_chains: per series.
        static_kwargs: model keywords shared by every series (must not be traced: orders,
            shapes).
        series_kwargs: model keywords with one value per series, leading axis S (priors set
            from each series).
        init_strategy: NumPyro init strategy (a ``functools.partial`` such as
            ``init_to_uniform(radius=0.5)``); default ``init_to_uniform()``.
        settings: NUTS settings (:class:`NUTSSettings`).
        sites: the sites kept in ``samples`` (sample or deterministic); default the latent
            sample sites (deterministic sites of shape (T,) would cost S x C x D x T).
        mesh: a ``jax.sharding.Mesh`` with one axis named ``"series"``: the series are split
            over its devices (:mod:`models.panel.sharding`); S must be a multiple of its size.
        batch_size: ``None`` (default): all S series in one ``vmap``. An integer B: blocks
            of B series run one after the other (``lax.map``), so a block waits only for
            its own deepest tree, at the price of a narrower vector. The draws are the same
            either way (every series keeps its own key and state).
        regroup: with ``batch_size``: at each of NumPyro's warm-up windows and for the
            draws, the series are re-sorted by the depth of their trees in the phase before
            (:func:`phase_orders`) and cut into blocks again, so deep series wait for each
            other, not the shallow ones for them. The draws are the same (each chain
            continues its own state); ``False`` keeps the series order.

    Returns:
        :class:`PanelFit`, leading axes (S, C).

    The example is the module's.
    """
    sampler = independent_sampler(
        model, y, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
        static_kwargs=static_kwargs, series_kwargs=series_kwargs,
        init_strategy=init_strategy, settings=settings, sites=sites, mesh=mesh,
        batch_size=batch_size, regroup=regroup)
    return sampler(rng_key, y, series_kwargs)


def predict_independent(
    model: Callable[..., Any],
    samples: Mapping[str, ArrayLike],
    y: ArrayLike | None,
    *,
    rng_key: Array,
    sites: tuple[str, ...],
    static_kwargs: Mapping[str, Any] | None = None,
    series_kwargs: Mapping[str, ArrayLike] | None = None,
    **model_kwargs: Any,
) -> dict[str, Array]:
    """NumPyro's ``Predictive`` for every series at once: series s's draws (C, D, ...)
    through ``model(y=y[s], **static_kwargs, **series_kwargs[s], **model_kwargs)``.

    Args:
        model: the model that was fitted.
        samples: site -> (S, C, D, ...), e.g. :attr:`PanelFit.samples`.
        y: the panel (S, T) to condition on (forecasts), or ``None`` (then pass
            ``num_steps``: replicated series).
        rng_key: the key; series s uses ``fold_in(rng_key, s)``.
        sites: the sites returned, e.g. ``("y_forecast",)``.
        static_kwargs, series_kwargs: as in :func:`fit_independent`.
        model_kwargs: further keywords for every series (``forecast_horizon=h``).

    Returns:
        site -> (S, C, D, *site shape).

    Example:
        >>> import jax, jax.numpy as jnp, numpyro, numpyro.distributions as dist
        >>> def model(y=None, *, forecast_horizon=0):
        ...     m = numpyro.sample("m", dist.Normal(0.0, 10.0))
        ...     numpyro.sample("y", dist.Normal(m, 1.0).expand([2]).to_event(1), obs=y)
        ...     if forecast_horizon:
        ...         numpyro.sample("y_forecast", dist.Normal(m, 1.0).expand([forecast_horizon]))
        >>> draws = {"m": jnp.array([0.0, 100.0]).reshape(2, 1, 1) + jnp.zeros((2, 1, 50))}
        >>> out = predict_independent(model, draws, jnp.zeros((2, 2)),
        ...                           rng_key=jax.random.PRNGKey(1), sites=("y_forecast",),
        ...                           forecast_horizon=3)
        >>> print(out["y_forecast"].shape, jnp.round(out["y_forecast"].mean(axis=(1, 2, 3)), -1))
        (2, 1, 50, 3) [  0. 100.]
    """
    from numpyro.infer import Predictive

    static_kwargs = dict(static_kwargs or {})
    series_kwargs = {name: jnp.asarray(value) for name, value in (series_kwargs or {}).items()}
    samples = {name: jnp.asarray(value) for name, value in samples.items()}
    num_series = next(iter(samples.values())).shape[0]

    def one(key: Array, y_s: Array | None, kwargs_s: dict[str, Array],
            draws: dict[str, Array]) -> dict[str, Array]:
        return Predictive(model, posterior_samples=draws, batch_ndims=2,
                          return_sites=list(sites))(
            key, y=y_s, **static_kwargs, **kwargs_s, **model_kwargs)

    keys = jax.vmap(lambda s: jax.random.fold_in(rng_key, s))(jnp.arange(num_series))
    if y is None:
        return jax.jit(jax.vmap(lambda k, kw, d: one(k, None, kw, d)))(keys, series_kwargs,
                                                                       samples)
    return jax.jit(jax.vmap(one))(keys, jnp.asarray(y), series_kwargs, samples)
