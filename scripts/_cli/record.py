"""What ``run.json`` records: :func:`run_record` (what was run, on what, with what result and
how long) and :func:`versions` (of Python, the packages behind the numbers and the OS).

:func:`run_record` takes what it records as named arguments -- :class:`SamplerSettings`, the
gate's :class:`GateThresholds` -- never an argparse namespace, so a script cannot change the
record by renaming an option.
"""

from __future__ import annotations

import platform as platform_module
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _cli.arguments import SamplerSettings
from _cli.data import Series
from _cli.gate import Diagnostics, GateThresholds
from _cli.platform import DeviceSetup
from _cli.sampling import SamplingTimings

#: The installed distributions whose versions ``run.json`` records.
RECORDED_PACKAGES = ("jax", "jaxlib", "numpyro", "arviz", "numpy", "xarray", "matplotlib")


def versions(packages: Sequence[str] = RECORDED_PACKAGES, *,
             include_os: bool = True) -> dict[str, str]:
    """Versions of what produced the numbers (installed distributions, no imports needed):
    Python's, then each of ``packages`` ('not installed' when absent), then with
    ``include_os`` the operating system as ``platform.platform()`` names it.

    Example:
        >>> list(versions(("numpy", "no-such-distribution"), include_os=False))
        ['python', 'numpy', 'no-such-distribution']
        >>> versions(("no-such-distribution",))["no-such-distribution"]
        'not installed'
    """
    from importlib import metadata

    found = {"python": platform_module.python_version()}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    if include_os:
        found["os"] = platform_module.platform()
    return found


def run_record(
    settings: SamplerSettings,
    setup: DeviceSetup,
    timings: SamplingTimings,
    *,
    limits: GateThresholds | None = None,
    allow_warnings: bool = False,
    series: Series | None = None,
    diagnostics: Diagnostics | None = None,
    gate_failures: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The contents of ``run.json``: what was run, on what, with what result and how long.

    ``series`` adds where the data came from. ``diagnostics`` adds them and the gate's verdict
    (``gate_failures``) with the ``limits`` it was judged against and ``allow_warnings``; a
    verdict without its limits would not say what passed, so ``limits`` is required then.
    ``extra`` is merged in last (the script's own keys, e.g. the model).
    """
    if diagnostics is not None and limits is None:
        raise ValueError("run_record: diagnostics are recorded with the gate's limits; "
                         "pass limits=")
    record: dict[str, Any] = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "argv": list(sys.argv),
        "seed": settings.seed,
        "chains": settings.chains,
        "warmup": settings.warmup,
        "samples": settings.samples,
        "platform": setup.platform,
        "jax_backend": setup.jax_backend,
        "device_count": setup.device_count,
        "devices": setup.devices,
        "chain_method": setup.chain_method,
        "float64": setup.float64,
        "xla_flags": setup.xla_flags,
        "compilation_cache": (
            None if settings.compilation_cache is None else str(settings.compilation_cache)
        ),
        "versions": versions(),
        "timings_s": timings.as_dict(),
    }
    if series is not None:
        record["data"] = {
            "source": series.source.strip("'"),
            "column": series.column,
            "time_column": series.time_column,
            "observations": series.length,
            "sha256": series.sha256,
        }
    if diagnostics is not None:
        record["diagnostics"] = diagnostics.as_dict()
        record["gate"] = {
            "passed": not gate_failures,
            "failures": list(gate_failures),
            "max_divergences": limits.max_divergences,
            "max_rhat": limits.max_rhat,
            "min_ess": limits.min_ess,
            "min_bfmi": limits.min_bfmi,
            "allow_warnings": allow_warnings,
        }
    if extra:
        record.update(extra)
    return record
