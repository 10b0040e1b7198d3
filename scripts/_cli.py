"""The command-line layer every fit script shares.

A fit script builds its parser with :func:`make_parser` and :func:`add_common_arguments`, adds
only its own model options, and hands ``main`` to :func:`run`. This module then gives all scripts
the same behaviour:

* **Errors.** Bad input raises :class:`CliError`; :func:`run` prints it as one line
  ``error: ...`` on stderr and exits with :data:`EXIT_BAD_INPUT` (2) -- no traceback. A run whose
  diagnostics fail the gate exits with :data:`EXIT_DIAGNOSTICS` (3).
* **Data.** :func:`load_series` reads one column of a CSV file with a header (or stdin for
  ``--data -``) and names the file, line, column and value of anything it cannot use.
* **Platform.** :func:`configure_platform` sets the XLA host device count (one CPU device per
  chain, so chains run in parallel) and the platform *before* JAX starts a backend: XLA reads
  the device count once, when its CPU backend starts, and ignores it afterwards.
* **Sampling.** :func:`run_nuts` runs NumPyro's NUTS and times compilation and sampling.
* **Diagnostics gate.** :func:`diagnostics_gate` turns divergences, R-hat, ESS and E-BFMI into
  sentences naming what failed.
* **Outputs.** :class:`OutputFolder` writes every file into a hidden staging folder next to the
  target and renames it into place only when the run has finished, so a failed run leaves
  nothing half-written.

JAX and NumPyro are imported inside the functions that need them, never at module import: the
platform and device count must be set before anything can touch a backend, and bad input should
be rejected without paying for those imports.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import os
import platform as platform_module
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_DIAGNOSTICS = 3
EXIT_VALIDATION = 4
EXIT_INTERRUPTED = 130

#: Cell contents read as a missing value (compared after stripping, case-insensitively).
MISSING_MARKERS = frozenset({"", "na", "nan", "n/a", "null"})

#: Runs with at least this many iterations per chain show NumPyro's progress bar (when stderr
#: is a terminal): shorter runs finish before a bar is worth its cost.
LONG_RUN_ITERATIONS = 1000


class CliError(Exception):
    """Bad input: :func:`run` prints it as one ``error: ...`` line and exits with code 2."""


class DiagnosticsGateError(Exception):
    """The sampler's diagnostics failed the gate: printed as one line, exit code 3."""


# --------------------------------------------------------------------------- argument parsing


class _OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a :class:`CliError` (one line) instead of usage."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see {self.prog} --help)")


def make_parser(description: str, prog: str | None = None) -> argparse.ArgumentParser:
    """A parser whose usage errors print as one ``error:`` line, like every other bad input."""
    return _OneLineErrorParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _integer(text: str, *, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got '{text}'") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got '{text}'")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(text, minimum=1, what="a positive integer")


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer(text, minimum=0, what="a non-negative integer")


def seed_int(text: str) -> int:
    """argparse type: a seed that ``jax.random.PRNGKey`` takes without wrapping (0 .. 2**32-1)."""
    value = _integer(text, minimum=0, what="an integer from 0 to 4294967295")
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 4294967295, got '{text}'")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{text}'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{text}'")
    return value


def add_common_arguments(parser: argparse.ArgumentParser, *, default_data_help: str) -> None:
    """Add the options every fit script shares: data, sampling and platform, gate, output."""
    add_data_arguments(parser, default_data_help=default_data_help)
    add_sampling_arguments(parser)
    add_gate_arguments(parser)
    add_output_arguments(parser)


def add_data_arguments(parser: argparse.ArgumentParser, *, default_data_help: str) -> None:
    """``--data``, ``--column``, ``--time-column``."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="CSV",
        default=None,
        help=f"CSV file with a header row, or '-' to read it from stdin ({default_data_help})",
    )
    data.add_argument(
        "--column",
        metavar="NAME",
        default=None,
        help="column holding the series (may be left out when the file has one data column)",
    )
    data.add_argument(
        "--time-column",
        metavar="NAME",
        default=None,
        help="column used as the time coordinate and plot axis (default: 0, 1, 2, ...)",
    )


def add_sampling_arguments(parser: argparse.ArgumentParser, *, chains: int = 4,
                           warmup: int = 1000, samples: int = 1000) -> None:
    """``--chains``, ``--warmup``, ``--samples``, ``--seed``, ``--platform``, ``--chain-method``,
    ``--progress-bar``."""
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument(
        "--chains", type=positive_int, default=chains, help=f"number of chains ({chains})"
    )
    sampling.add_argument(
        "--warmup", type=nonnegative_int, default=warmup,
        help=f"warm-up iterations per chain ({warmup})",
    )
    sampling.add_argument(
        "--samples", type=positive_int, default=samples, help=f"draws kept per chain ({samples})"
    )
    sampling.add_argument(
        "--seed", type=seed_int, default=0, help="seed of every random key of the run (0)"
    )
    sampling.add_argument(
        "--platform",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where JAX runs; 'gpu' needs a CUDA GPU and a CUDA-enabled jaxlib (cpu)",
    )
    sampling.add_argument(
        "--chain-method",
        choices=("parallel", "vectorized", "sequential"),
        default=None,
        help="how chains run (default: 'parallel' on CPU, one XLA host device per chain; "
        "'vectorized' on GPU)",
    )
    sampling.add_argument(
        "--compilation-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep XLA's compiled programs in DIR (JAX's persistent compilation cache): a "
        "second run of the same model and shapes skips most of the compile time (default: off)",
    )
    sampling.add_argument(
        "--progress-bar",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"NumPyro's progress bar (default: shown on a terminal for runs of "
        f"{LONG_RUN_ITERATIONS}+ iterations per chain)",
    )


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """The diagnostics gate's limits and ``--allow-warnings``."""
    gate = parser.add_argument_group("diagnostics gate")
    gate.add_argument(
        "--max-divergences",
        type=nonnegative_int,
        default=0,
        help="most divergent transitions accepted (0)",
    )
    gate.add_argument(
        "--max-rhat", type=positive_float, default=1.01, help="largest R-hat accepted (1.01)"
    )
    gate.add_argument(
        "--min-ess", type=positive_float, default=400.0, help="smallest bulk and tail ESS (400)"
    )
    gate.add_argument(
        "--min-bfmi", type=positive_float, default=0.3, help="smallest E-BFMI of any chain (0.3)"
    )
    gate.add_argument(
        "--allow-warnings",
        action="store_true",
        help="report a failed diagnostics gate as a warning and exit 0",
    )


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out`` and ``--force``."""
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder to write the outputs into (default: write nothing)",
    )
    output.add_argument("--force", action="store_true", help="replace --out if it exists")


# --------------------------------------------------------------------------- running main


def run(main: Callable[[argparse.Namespace], int | None], parser: argparse.ArgumentParser,
        argv: Sequence[str] | None = None) -> NoReturn:
    """Parse ``argv``, call ``main(args)`` and exit; expected failures print one line.

    Exit codes: 0 success, 2 bad input (:class:`CliError`), 3 diagnostics gate failed,
    130 interrupted. Anything else is a bug and keeps its traceback.
    """
    try:
        args = parser.parse_args(argv)
        code = main(args)
    except CliError as error:
        _print_one_line_error(str(error))
        sys.exit(EXIT_BAD_INPUT)
    except DiagnosticsGateError as error:
        _print_one_line_error(str(error))
        sys.exit(EXIT_DIAGNOSTICS)
    except KeyboardInterrupt:
        _print_one_line_error("interrupted; nothing was written")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_OK if code is None else code)


def _print_one_line_error(message: str) -> None:
    one_line = " ".join(message.split())
    print(f"error: {one_line}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Series:
    """One column of a CSV file, as float64, with where each value came from.

    ``values`` has shape (T,) and holds NaN where the cell was missing (empty, ``NA``,
    ``NaN``, ``null``); ``lines`` has shape (T,) and holds the 1-based line of the file each
    value was read from, so messages can point at it. ``time`` is the time column, or ``None``.
    """

    values: np.ndarray
    lines: np.ndarray
    column: str
    source: str
    sha256: str
    time: np.ndarray | None = None
    time_column: str | None = None

    @property
    def length(self) -> int:
        return int(self.values.shape[0])

    def time_coordinate(self) -> np.ndarray:
        """The time column, or 0, 1, ..., T-1 when the file has none."""
        return self.time if self.time is not None else np.arange(self.length)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_source(data: str) -> tuple[bytes, str]:
    """The raw bytes of ``data`` (a path, or '-' for stdin) and a name to quote in messages."""
    if data == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(data)
    if not path.exists():
        raise CliError(f"data file '{path}' does not exist")
    if path.is_dir():
        raise CliError(f"data path '{path}' is a folder, not a CSV file")
    try:
        return path.read_bytes(), f"'{path}'"
    except OSError as error:
        raise CliError(f"cannot read data file '{path}': {error.strerror}") from None


def load_series(
    data: str | None,
    column: str | None,
    time_column: str | None = None,
    *,
    default_path: Path | None = None,
    default_column: str | None = None,
) -> Series:
    """Read one numeric column of a CSV file with a header row.

    ``data`` is a path, ``'-'`` for stdin, or ``None`` for ``default_path`` (then ``column``
    defaults to ``default_column``). Raises :class:`CliError` naming the file and, where it
    applies, the line, column and value for: a missing or empty file, no header, an unknown
    column, ragged rows, a cell that is not a number, an infinite value, a bad time column.
    Missing cells become NaN; whether the model can take them is the caller's question
    (:func:`require_complete`).
    """
    if data is None:
        if default_path is None:
            raise CliError("no --data given")
        data = str(default_path)
        column = column if column is not None else default_column
    raw, source = _read_source(data)
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")  # -sig: a byte-order mark would otherwise join the header
    except UnicodeDecodeError as error:
        raise CliError(
            f"{source} is not UTF-8 text (undecodable byte at offset {error.start})"
        ) from None
    if not text.strip():
        raise CliError(f"data file {source} is empty")

    try:
        numbered_rows = [
            (line_number, row)
            for line_number, row in _csv_rows_with_line_numbers(text)
            if any(cell.strip() for cell in row)  # blank lines carry no data
        ]
    except csv.Error as error:
        raise CliError(f"{source} is not a readable CSV file: {error}") from None

    if not numbered_rows:  # e.g. only separators: ",,\n,,"
        raise CliError(f"data file {source} has no non-empty cells")
    header_line, header_cells = numbered_rows[0]
    header = [name.strip() for name in header_cells]
    if all(_looks_numeric(name) for name in header):
        raise CliError(
            f"{source} has no header row: line {header_line} ('{','.join(header_cells)}') is data;"
            " the first line must name the columns, e.g. 't,y'"
        )
    for position, name in enumerate(header, start=1):
        if not name:
            raise CliError(f"{source} header (line {header_line}) has an empty name in column "
                           f"{position}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CliError(f"{source} header names column(s) {', '.join(duplicates)} more than once")

    available = ", ".join(header)
    if column is None:
        candidates = [name for name in header if name != time_column]
        if len(candidates) != 1:
            raise CliError(
                f"{source} has several columns ({available}); choose the series with --column"
            )
        column = candidates[0]
    for option, name in (("--column", column), ("--time-column", time_column)):
        if name is not None and name not in header:
            raise CliError(
                f"{option} '{name}' is not a column of {source}; available columns: {available}"
            )
    if time_column is not None and time_column == column:
        raise CliError(f"--time-column and --column both name '{column}'")

    body = numbered_rows[1:]
    if not body:
        raise CliError(f"{source} has a header (line {header_line}) but no data rows")
    for line_number, row in body:
        if len(row) != len(header):
            raise CliError(
                f"{source} line {line_number} has {len(row)} field(s); the header has "
                f"{len(header)} ({available})"
            )

    value_index = header.index(column)
    values = np.empty(len(body), dtype=np.float64)
    lines = np.array([line_number for line_number, _ in body], dtype=np.int64)
    for i, (line_number, row) in enumerate(body):
        cell = row[value_index].strip()
        if cell.lower() in MISSING_MARKERS:
            values[i] = np.nan
            continue
        try:
            number = float(cell)
        except ValueError:
            raise CliError(
                f"{source} line {line_number}, column '{column}': '{cell}' is not a number"
            ) from None
        if not math.isfinite(number):
            raise CliError(
                f"{source} line {line_number}, column '{column}': '{cell}' is not a finite number"
            )
        values[i] = number

    time = None
    if time_column is not None:
        time_index = header.index(time_column)
        time = _time_coordinate(
            [(line_number, row[time_index].strip()) for line_number, row in body],
            time_column,
            source,
        )
    return Series(
        values=values,
        lines=lines,
        column=column,
        source=source,
        sha256=sha256,
        time=time,
        time_column=time_column,
    )


def _csv_rows_with_line_numbers(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    rows = []
    for row in reader:
        # reader.line_num is the line the row ended on; rows with quoted newlines are rare
        # enough in a numeric series that the end line is a fine pointer.
        rows.append((reader.line_num, row))
    return rows


def _time_coordinate(cells: list[tuple[int, str]], time_column: str, source: str) -> np.ndarray:
    """Integers, floats, ISO dates or, failing those, the labels as strings."""
    for line_number, cell in cells:
        if not cell:
            raise CliError(
                f"{source} line {line_number}: time column '{time_column}' is empty"
            )
    texts = [cell for _, cell in cells]
    seen: dict[str, int] = {}
    for line_number, cell in cells:
        if cell in seen:
            raise CliError(
                f"{source} line {line_number}: time column '{time_column}' repeats '{cell}' "
                f"(first at line {seen[cell]})"
            )
        seen[cell] = line_number
    for convert in (int, float):
        try:
            return np.array([convert(text) for text in texts])
        except ValueError:
            pass
    try:
        return np.array(texts, dtype="datetime64")
    except ValueError:
        return np.array(texts, dtype=str)


def require_complete(series: Series, needed_by: str) -> None:
    """Raise :class:`CliError` naming the lines of missing values, which ``needed_by`` can't take.

    The message reads, e.g., "column 'y' of 'f.csv' has 2 missing values (empty or NaN) at lines
    3, 9; the conditional ARMA likelihood needs a complete series".
    """
    missing = np.flatnonzero(np.isnan(series.values))
    if missing.size == 0:
        return
    shown = ", ".join(str(line) for line in series.lines[missing[:10]])
    more = f" and {missing.size - 10} more" if missing.size > 10 else ""
    plural = "s" if missing.size > 1 else ""
    raise CliError(
        f"column '{series.column}' of {series.source} has {missing.size} missing value{plural} "
        f"(empty or NaN) at line{plural} {shown}{more}; {needed_by} needs a complete series"
    )


# --------------------------------------------------------------------------- platform


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


# --------------------------------------------------------------------------- sampling


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
) -> tuple[Any, SamplingTimings]:
    """Run NumPyro NUTS on ``model(**model_kwargs)``; return the MCMC object and its timings.

    ``init_strategy`` is passed to NUTS (``None``: NumPyro's default, ``init_to_uniform``).
    """
    import jax
    from numpyro.infer import MCMC, NUTS

    kernel = NUTS(model) if init_strategy is None else NUTS(model, init_strategy=init_strategy)
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
        mcmc.run(rng_key, extra_fields=EXTRA_FIELDS, **model_kwargs)
        jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
        wall = time.perf_counter() - start
    timings = SamplingTimings(
        compile_s=compile_timer.seconds,
        sampling_s=max(wall - compile_timer.seconds, 0.0),
        mcmc_wall_s=wall,
    )
    return mcmc, timings


# --------------------------------------------------------------------------- diagnostics gate


@dataclass(frozen=True)
class GateThresholds:
    """Limits of the diagnostics gate (defaults follow Vehtari et al. 2021 and Betancourt 2016)."""

    max_divergences: int = 0
    max_rhat: float = 1.01
    min_ess: float = 400.0
    min_bfmi: float = 0.3

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GateThresholds:
        return cls(args.max_divergences, args.max_rhat, args.min_ess, args.min_bfmi)


@dataclass(frozen=True)
class Diagnostics:
    """The numbers the gate looks at, with the parameter or chain behind each extreme."""

    divergences: int
    draws: int
    max_rhat: float
    max_rhat_parameter: str
    min_ess_bulk: float
    min_ess_bulk_parameter: str
    min_ess_tail: float
    min_ess_tail_parameter: str
    min_bfmi: float
    min_bfmi_chain: int

    @classmethod
    def from_summary(
        cls, summary: Any, *, divergences: int, draws: int, bfmi_per_chain: np.ndarray
    ) -> Diagnostics:
        """From an ArviZ summary table (columns r_hat, ess_bulk, ess_tail; one row a parameter).

        NaN counts as the worst value: an R-hat or ESS that cannot be computed is not a pass.
        """
        rhat = summary["r_hat"].astype(float).fillna(np.inf)
        ess_bulk = summary["ess_bulk"].astype(float).fillna(-np.inf)
        ess_tail = summary["ess_tail"].astype(float).fillna(-np.inf)
        bfmi = np.where(np.isnan(bfmi_per_chain), -np.inf, bfmi_per_chain)
        worst_chain = int(np.argmin(bfmi))
        return cls(
            divergences=int(divergences),
            draws=int(draws),
            max_rhat=float(rhat.max()),
            max_rhat_parameter=str(rhat.idxmax()),
            min_ess_bulk=float(ess_bulk.min()),
            min_ess_bulk_parameter=str(ess_bulk.idxmin()),
            min_ess_tail=float(ess_tail.min()),
            min_ess_tail_parameter=str(ess_tail.idxmin()),
            min_bfmi=float(bfmi[worst_chain]),
            min_bfmi_chain=worst_chain,
        )

    def failures(self, limits: GateThresholds) -> list[str]:
        """One sentence per failed check; empty when the run passes."""
        failed = []
        if self.divergences > limits.max_divergences:
            failed.append(
                f"{self.divergences} divergent transition(s) in {self.draws} draws "
                f"(at most {limits.max_divergences} allowed)"
            )
        if not self.max_rhat <= limits.max_rhat:
            failed.append(
                f"R-hat of {self.max_rhat_parameter} is {_fmt(self.max_rhat, 3)} "
                f"(must be <= {limits.max_rhat})"
            )
        if not self.min_ess_bulk >= limits.min_ess:
            failed.append(
                f"bulk ESS of {self.min_ess_bulk_parameter} is {_fmt(self.min_ess_bulk)} "
                f"(must be >= {limits.min_ess:g})"
            )
        if not self.min_ess_tail >= limits.min_ess:
            failed.append(
                f"tail ESS of {self.min_ess_tail_parameter} is {_fmt(self.min_ess_tail)} "
                f"(must be >= {limits.min_ess:g})"
            )
        if not self.min_bfmi >= limits.min_bfmi:
            failed.append(
                f"E-BFMI of chain {self.min_bfmi_chain} is {_fmt(self.min_bfmi, 2)} "
                f"(must be >= {limits.min_bfmi})"
            )
        return failed

    def as_dict(self) -> dict[str, Any]:
        return {name: _json_number(value) for name, value in self.__dict__.items()}

    def report_line(self) -> str:
        return (
            f"divergences: {self.divergences} of {self.draws} draws; "
            f"max R-hat {_fmt(self.max_rhat, 3)} ({self.max_rhat_parameter}); "
            f"min ESS bulk {_fmt(self.min_ess_bulk)} ({self.min_ess_bulk_parameter}), "
            f"tail {_fmt(self.min_ess_tail)} ({self.min_ess_tail_parameter}); "
            f"min E-BFMI {_fmt(self.min_bfmi, 2)} (chain {self.min_bfmi_chain})"
        )


def _fmt(value: float, decimals: int | None = None) -> str:
    """A diagnostic for a sentence: fixed decimals if given, else ESS-style (whole above 100)."""
    if not math.isfinite(value):
        return "undefined"
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def diagnostics_gate(
    diagnostics: Diagnostics,
    limits: GateThresholds,
    *,
    allow_warnings: bool,
    written_to: Path | None,
) -> list[str]:
    """Print the gate's verdict; raise :class:`DiagnosticsGateError` when it fails.

    With ``allow_warnings`` a failure is printed as a ``warning:`` line and returned instead.
    """
    failed = diagnostics.failures(limits)
    if not failed:
        print("diagnostics gate: passed")
        return failed
    where = f"; outputs were written to '{written_to}'" if written_to is not None else ""
    message = "diagnostics gate failed: " + "; ".join(failed) + where
    if allow_warnings:
        print(f"warning: {message} (accepted by --allow-warnings)", file=sys.stderr)
        return failed
    raise DiagnosticsGateError(message + " (--allow-warnings accepts the run anyway)")


# --------------------------------------------------------------------------- outputs


def check_output_folder(out: Path, *, force: bool) -> Path:
    """Refuse, before any work is done, an ``--out`` that could not or may not be written.

    Returns the nearest existing ancestor folder, where :class:`OutputFolder` stages its files
    (the same file system as ``out``, so the final rename is atomic).
    """
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise CliError(f"--out '{out}' exists and is not a folder")
        if not force:
            raise CliError(f"output folder '{out}' already exists; pass --force to replace it")
        if any(out.iterdir()) and not (out / "run.json").is_file():
            raise CliError(
                f"refusing to replace '{out}' with --force: it is not empty and has no run.json,"
                " so these scripts did not write it"
            )
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CliError(f"cannot create output folder '{out}': '{ancestor}' is not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=".write-probe-", dir=ancestor)
        os.rmdir(probe)
    except OSError as error:
        raise CliError(
            f"cannot write output folder '{out}': {error.strerror or error} in '{ancestor}'"
        ) from None
    return ancestor


class OutputFolder:
    """Stage a run's files in a hidden folder, then move them to ``out`` in one rename.

    Use as a context manager: files go to :meth:`path`; :meth:`commit` renames the staging
    folder to ``out`` (replacing an old one when ``force``); leaving the block without a commit
    -- an exception, Ctrl-C -- deletes the staging folder, so nothing half-written remains.
    """

    def __init__(self, out: Path, *, force: bool) -> None:
        self.out = out
        self.force = force
        self._staging_parent = check_output_folder(out, force=force)
        self._staging: Path | None = None

    def __enter__(self) -> OutputFolder:
        try:
            self._staging = Path(tempfile.mkdtemp(
                prefix=f".{self.out.name}.partial-", dir=self._staging_parent
            ))
        except OSError as error:
            raise CliError(f"cannot write output folder '{self.out}': {error.strerror}") from None
        return self

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` of this run (inside the staging folder)."""
        if self._staging is None:
            raise RuntimeError("OutputFolder.path used outside its with-block")
        return self._staging / name

    def commit(self) -> None:
        """Move the finished files into place: the staging folder becomes ``out``."""
        if self._staging is None:
            raise RuntimeError("OutputFolder.commit used outside its with-block")
        check_output_folder(self.out, force=self.force)  # it may have appeared meanwhile
        self.out.absolute().parent.mkdir(parents=True, exist_ok=True)
        old = None
        if self.out.exists():
            old = self._staging.with_name(f".{self.out.name}.replaced-{os.getpid()}")
            os.rename(self.out, old)
        os.rename(self._staging, self.out)
        self._staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: object) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if isinstance(exc, OSError):  # disk full, folder removed under us: one line, not a trace
            raise CliError(
                f"could not write the outputs to '{self.out}': {exc.strerror or exc}; "
                "nothing was written"
            ) from exc


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented JSON (NaN and infinities become null)."""
    import json

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            value = value.item()
        return _json_number(value)

    path.write_text(json.dumps(clean(record), indent=2, allow_nan=False) + "\n")


def versions() -> dict[str, str]:
    """Versions of what produced the numbers (installed distributions, no imports needed)."""
    from importlib import metadata

    found = {"python": platform_module.python_version()}
    for package in ("jax", "jaxlib", "numpyro", "arviz", "numpy", "xarray", "matplotlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["os"] = platform_module.platform()
    return found


def summarise_and_diagnose(idata: Any, var_names: Sequence[str]) -> tuple[Any, Diagnostics]:
    """Print the ArviZ summary of ``var_names``, the divergence count and the diagnostics
    line; return the summary table and the :class:`Diagnostics` the gate judges."""
    import _arviz_io  # imported late: ArviZ takes seconds to import

    summary = _arviz_io.summary(idata, var_names)
    diagnostics = Diagnostics.from_summary(
        summary,
        divergences=_arviz_io.divergence_count(idata),
        draws=_arviz_io.draw_count(idata),
        bfmi_per_chain=_arviz_io.bfmi_per_chain(idata),
    )
    print(_arviz_io.format_summary(summary))
    print(f"\nNumber of divergences: {diagnostics.divergences}")
    print(diagnostics.report_line())
    return summary, diagnostics


def run_record(
    args: argparse.Namespace,
    setup: DeviceSetup,
    timings: SamplingTimings,
    *,
    series: Series | None = None,
    diagnostics: Diagnostics | None = None,
    gate_failures: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The contents of ``run.json``: what was run, on what, with what result and how long."""
    record: dict[str, Any] = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "argv": list(sys.argv),
        "seed": args.seed,
        "chains": args.chains,
        "warmup": args.warmup,
        "samples": args.samples,
        "platform": setup.platform,
        "jax_backend": setup.jax_backend,
        "device_count": setup.device_count,
        "devices": setup.devices,
        "chain_method": setup.chain_method,
        "float64": setup.float64,
        "xla_flags": setup.xla_flags,
        "compilation_cache": (
            None if args.compilation_cache is None else str(args.compilation_cache)
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
            "max_divergences": args.max_divergences,
            "max_rhat": args.max_rhat,
            "min_ess": args.min_ess,
            "min_bfmi": args.min_bfmi,
            "allow_warnings": args.allow_warnings,
        }
    if extra:
        record.update(extra)
    return record
