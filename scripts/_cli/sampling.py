"""NumPyro NUTS with timings: :func:`run_nuts`, :class:`CompileTimer` (JAX's own count of
tracing, lowering and compiling), :class:`SamplingTimings`, and when to show the progress
bar. JAX and NumPyro are imported inside the functions (see the package docstring)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Runs with at least this many iterations per chain show NumPyro's progress bar (when stderr
#: is a terminal): shorter runs finish before a bar is worth its cost.
LONG_RUN_ITERATIONS = 1000


@dataclass
class SamplingTimings:
    """Seconds spent; ``compile_s`` is JAX's own count of tracing, lowering and compiling."""

    compile_s: float = 0.0
    sampling_s: float = 0.0  # MCMC wall time less compilation: warm-up plus draws
    mcmc_wall_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {
            "compile_s": round(self.compile_s, 4),
            "sampling_s": round(self.sampling_s, 4),
            "mcmc_wall_s": round(self.mcmc_wall_s, 4),
            **{name: round(value, 4) for name, value in self.extra.items()},
        }


class CompileTimer:
    """Sums the durations JAX reports for tracing, lowering and backend compilation."""

    EVENTS = frozenset({
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    })

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, event: str, duration_secs: float, **_: Any) -> None:
        if event in self.EVENTS:
            self.seconds += duration_secs

    def __enter__(self) -> CompileTimer:
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self)


#: Sampler statistics kept for ArviZ's sample_stats (energy is what E-BFMI needs).
EXTRA_FIELDS = ("diverging", "energy", "potential_energy", "num_steps", "accept_prob",
                "adapt_state.step_size")


def show_progress_bar(requested: bool | None, iterations_per_chain: int) -> bool:
    """The progress bar as asked, or by default on a terminal for long runs only."""
    if requested is not None:
        return requested
    return sys.stderr.isatty() and iterations_per_chain >= LONG_RUN_ITERATIONS


def run_nuts(
    model: Callable[..., Any],
    model_kwargs: dict[str, Any],
    *,
    rng_key: Any,
    chains: int,
    warmup: int,
    samples: int,
    chain_method: str,
    progress_bar: bool | None = None,
    init_strategy: Callable[..., Any] | None = None,
    nuts_options: Mapping[str, Any] | None = None,
    leave_out: Sequence[str] = (),
) -> tuple[Any, SamplingTimings]:
    """Run NumPyro NUTS on ``model(**model_kwargs)``; return the MCMC object and its timings.

    ``init_strategy`` is passed to NUTS (``None``: NumPyro's default, ``init_to_uniform``),
    and so are ``nuts_options`` (NUTS keywords such as ``target_accept_prob``; ``None``:
    NumPyro's defaults). ``leave_out`` names deterministic sites not to collect: NumPyro
    drops them from each kept draw (``~z.NAME``), so XLA removes their computation from the
    compiled sampler.
    """
    import jax
    from numpyro.infer import MCMC, NUTS

    kernel_options = dict(nuts_options or {})
    if init_strategy is not None:
        kernel_options["init_strategy"] = init_strategy
    kernel = NUTS(model, **kernel_options)
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=samples,
        num_chains=chains,
        chain_method=chain_method,
        progress_bar=show_progress_bar(progress_bar, warmup + samples),
    )
    with CompileTimer() as compile_timer:
        start = time.perf_counter()
        mcmc.run(rng_key, extra_fields=EXTRA_FIELDS + tuple(f"~z.{name}" for name in leave_out),
                 **model_kwargs)
        jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
        wall = time.perf_counter() - start
    timings = SamplingTimings(
        compile_s=compile_timer.seconds,
        sampling_s=max(wall - compile_timer.seconds, 0.0),
        mcmc_wall_s=wall,
    )
    return mcmc, timings
