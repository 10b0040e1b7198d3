"""The command-line layer every fit script shares.

A fit script builds its parser with :func:`make_parser` and :func:`add_common_arguments`, adds
only its own model options, and hands ``main`` to :func:`run`. This package then gives all
scripts the same behaviour, one module per concern (every public name is re-exported here, so
scripts write ``_cli.load_series``, ``_cli.CliError``, ...):

* **Errors** (:mod:`_cli.errors`). Bad input raises :class:`CliError`; :func:`run` prints it as
  one line ``error: ...`` on stderr and exits with :data:`EXIT_BAD_INPUT` (2) -- no traceback.
  A run whose diagnostics fail the gate exits with :data:`EXIT_DIAGNOSTICS` (3).
* **Arguments** (:mod:`_cli.arguments`). A parser whose usage errors are one such line, checked
  int and float types, the shared option groups, and :class:`SamplerSettings`, the sampling
  options as named fields (the one place that reads those argparse attributes).
* **Data** (:mod:`_cli.data`). :func:`load_series` reads one column of a CSV file with a header
  (or stdin for ``--data -``) and names the file, line, column and value of anything it cannot
  use; :func:`load_panel` reads many series of one file (long or wide format) into one
  NaN-padded (S, T) array.
* **Panels** (:mod:`_cli.panel`). ``fit.py FAMILY --series-column`` / ``--columns``: every
  series' own posterior in one program (:mod:`models.panel`), the gate applied per series.
* **Platform** (:mod:`_cli.platform`). :func:`configure_platform` sets the XLA host device count
  (one CPU device per chain, so chains run in parallel) and the platform *before* JAX starts a
  backend: XLA reads the device count once, when its CPU backend starts, and ignores it
  afterwards.
* **Sampling** (:mod:`_cli.sampling`). :func:`run_nuts` runs NumPyro's NUTS and times
  compilation and sampling.
* **Diagnostics gate** (:mod:`_cli.gate`). :func:`diagnostics_gate` turns divergences, R-hat, ESS
  and E-BFMI into sentences naming what failed.
* **Outputs** (:mod:`_cli.outputs`). :class:`OutputFolder` writes every file into a hidden
  staging folder next to the target and renames it into place only when the run has finished,
  so a failed run leaves nothing half-written.
* **Run record** (:mod:`_cli.record`). :func:`run_record` builds ``run.json`` from named
  settings, device set-up, timings and results; :func:`versions` names what produced them.

Modules use each other only through public names. JAX, NumPyro and ArviZ are imported inside
the functions that need them, never at module import: the platform and device count must be set
before anything can touch a backend, and bad input should be rejected without paying for those
imports.
"""

# first: sets the BLAS thread count before anything below loads NumPy (its module text)
from _cli import threads  # noqa: F401, I001
from _cli.arguments import (
    SamplerSettings,
    add_common_arguments,
    add_data_arguments,
    add_gate_arguments,
    add_output_arguments,
    add_sampling_arguments,
    make_parser,
    nonnegative_int,
    positive_float,
    positive_int,
    seed_int,
)
from _cli.data import MISSING_MARKERS, Panel, Series, load_panel, load_series, require_complete
from _cli.errors import (
    EXIT_BAD_INPUT,
    EXIT_DIAGNOSTICS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VALIDATION,
    CliError,
    DiagnosticsGateError,
    run,
)
from _cli.gate import Diagnostics, GateThresholds, diagnostics_gate, summarise_and_diagnose
from _cli.outputs import OutputFolder, check_output_folder, json_number, write_json
from _cli.platform import (
    FAST_CPU_COMPILE_FLAGS,
    DeviceSetup,
    add_fast_cpu_compile_flags,
    configure_platform,
    fast_cpu_compile_flags,
    use_compilation_cache,
)
from _cli.record import RECORDED_PACKAGES, run_record, versions
from _cli.sampling import (
    EXTRA_FIELDS,
    LONG_RUN_ITERATIONS,
    CompileTimer,
    SamplingTimings,
    run_nuts,
    show_progress_bar,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DIAGNOSTICS",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_VALIDATION",
    "EXTRA_FIELDS",
    "FAST_CPU_COMPILE_FLAGS",
    "LONG_RUN_ITERATIONS",
    "MISSING_MARKERS",
    "RECORDED_PACKAGES",
    "CliError",
    "CompileTimer",
    "DeviceSetup",
    "Diagnostics",
    "DiagnosticsGateError",
    "GateThresholds",
    "OutputFolder",
    "SamplerSettings",
    "SamplingTimings",
    "Panel",
    "Series",
    "add_common_arguments",
    "add_data_arguments",
    "add_fast_cpu_compile_flags",
    "add_gate_arguments",
    "add_output_arguments",
    "add_sampling_arguments",
    "check_output_folder",
    "configure_platform",
    "diagnostics_gate",
    "fast_cpu_compile_flags",
    "json_number",
    "load_panel",
    "load_series",
    "make_parser",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "require_complete",
    "run",
    "run_nuts",
    "run_record",
    "seed_int",
    "show_progress_bar",
    "summarise_and_diagnose",
    "use_compilation_cache",
    "versions",
    "write_json",
]
