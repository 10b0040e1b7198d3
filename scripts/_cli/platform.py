"""Platform set-up: :func:`configure_platform` sets the XLA host device count (one CPU device
per chain, so chains run in parallel), the platform, the precision, the XLA:CPU compile
options and the compilation cache *before* JAX starts a backend: XLA reads the device count
once, when its CPU backend starts, and ignores it afterwards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from _cli.errors import CliError


@dataclass(frozen=True)
class DeviceSetup:
    """What :func:`configure_platform` set up, for ``run.json``."""

    platform: str  # as asked: 'cpu' or 'gpu'
    jax_backend: str  # as JAX reports it: 'cpu' or 'gpu'
    device_count: int
    devices: list[str]
    chain_method: str
    float64: bool
    xla_flags: str = ""  # XLA_FLAGS as the backend started with them


#: XLA:CPU options that cut compilation time without changing a single number, per jaxlib
#: minor version they were measured on (an option XLA does not know aborts the process, so
#: none is set for versions nobody measured). ``--xla_cpu_use_fusion_emitters=false`` keeps
#: XLA's older loop emitters: NumPyro's NUTS program for ARMA(1, 1) compiled in 1.6 s
#: instead of 2.2 s on a 2-core CPU, the draws bit for bit the same and the sampling no
#: slower (scripts/benchmarks/REPORT.md). A user's own XLA_FLAGS naming the option win.
FAST_CPU_COMPILE_FLAGS: dict[tuple[int, int], tuple[str, ...]] = {
    (0, 10): ("--xla_cpu_use_fusion_emitters=false",),
}


def fast_cpu_compile_flags(jaxlib_version: str | None = None) -> tuple[str, ...]:
    """The :data:`FAST_CPU_COMPILE_FLAGS` for this jaxlib (none for unmeasured versions).

    Example:
        >>> fast_cpu_compile_flags("0.10.2")
        ('--xla_cpu_use_fusion_emitters=false',)
        >>> fast_cpu_compile_flags("0.4.30")
        ()
    """
    if jaxlib_version is None:
        import importlib.metadata

        jaxlib_version = importlib.metadata.version("jaxlib")
    try:
        major, minor = (int(part) for part in jaxlib_version.split(".")[:2])
    except ValueError:
        return ()
    return FAST_CPU_COMPILE_FLAGS.get((major, minor), ())


def add_fast_cpu_compile_flags() -> str:
    """Append :func:`fast_cpu_compile_flags` to ``XLA_FLAGS`` (those the user has not set
    already); returns the resulting ``XLA_FLAGS``. Call before JAX starts its backend."""
    current = os.environ.get("XLA_FLAGS", "")
    extra = [flag for flag in fast_cpu_compile_flags()
             if flag.split("=")[0] not in current]
    if extra:
        os.environ["XLA_FLAGS"] = " ".join([current, *extra]).strip()
    return os.environ.get("XLA_FLAGS", "")


def use_compilation_cache(folder: Path) -> None:
    """Turn on JAX's persistent compilation cache in ``folder`` (made if missing), for every
    program however small or quick to compile: JAX's defaults skip those, and an MCMC run is
    many small programs. A folder that cannot be made is a :class:`CliError`."""
    import jax

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(
            f"--compilation-cache: cannot use folder '{folder}': {error.strerror or error}"
        ) from None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def configure_platform(
    platform: str,
    chains: int,
    chain_method: str | None,
    *,
    float64: bool,
    compilation_cache: Path | None = None,
) -> DeviceSetup:
    """Set the platform, host device count and precision, then start the backend.

    Must run before anything touches a JAX device: XLA reads the host device count once, when
    its CPU backend starts. On CPU the default chain method is 'parallel' with one XLA host
    device per chain; on a GPU it is 'vectorized' (one device, chains batched). ``gpu`` is passed
    to NumPyro as ``cuda``: recent NumPyro rejects the name ``gpu`` in ``set_platform``.
    ``compilation_cache`` turns on JAX's persistent compilation cache in that folder, for
    every program however small or quick to compile (JAX's defaults skip those, and an MCMC
    run is many small programs).
    """
    import numpyro

    if chain_method is None:
        chain_method = "parallel" if platform == "cpu" else "vectorized"
    if chains == 1:
        chain_method = "sequential"  # one chain: nothing to spread, and NumPyro ignores it
    if platform == "cpu" and chain_method == "parallel":
        numpyro.set_host_device_count(chains)
    if platform == "cpu":
        add_fast_cpu_compile_flags()
    numpyro.set_platform("cuda" if platform == "gpu" else "cpu")
    if float64:
        numpyro.enable_x64()

    import jax

    if compilation_cache is not None:
        use_compilation_cache(compilation_cache)

    try:
        devices = jax.devices()
    except Exception as error:  # JAX reports a missing CUDA backend in several ways
        if platform != "gpu":
            raise
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        raise CliError(
            "--platform gpu: JAX found no usable CUDA GPU here (needs an NVIDIA GPU and a "
            "CUDA-enabled jaxlib, e.g. pip install 'jax[cuda12]')"
            + (f": {reason}" if reason else "")
        ) from None
    if platform == "gpu" and devices[0].platform != "gpu":
        raise CliError(f"--platform gpu: JAX started on '{devices[0].platform}', not a GPU")
    if chain_method == "parallel" and len(devices) < chains:
        if platform == "gpu":
            raise CliError(
                f"--chain-method parallel needs one device per chain: {len(devices)} GPU(s) "
                f"for {chains} chains; use --chain-method vectorized"
            )
        # On CPU this means a backend started before set-up: a bug in the script, not input.
        raise RuntimeError(
            f"JAX started its CPU backend before the host device count was set "
            f"({len(devices)} device(s) for {chains} parallel chains)"
        )
    return DeviceSetup(
        platform=platform,
        jax_backend=devices[0].platform,
        device_count=len(devices),
        devices=[f"{device.platform}:{device.id} {device.device_kind}" for device in devices],
        chain_method=chain_method,
        float64=float64,
        xla_flags=os.environ.get("XLA_FLAGS", ""),
    )
