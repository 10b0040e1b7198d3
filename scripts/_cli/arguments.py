"""Argument parsing: a parser whose usage errors are one ``error:`` line (a
:class:`~_cli.errors.CliError`), the checked int and float argument types, the option groups
every fit script shares, and :class:`SamplerSettings`, the sampling options as named fields.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from _cli.errors import CliError
from _cli.sampling import LONG_RUN_ITERATIONS


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
        help="column used as the time coordinate and plot axis: integers, numbers, ISO dates "
        "(2020-01-31, 2020-01), or quarters (1959Q2); other labels are kept as text and "
        "plotted by position (default: 0, 1, 2, ...)",
    )
    data.add_argument(
        "--sep",
        metavar="CHAR",
        default=None,
        help="field separator of the CSV file, e.g. ';' or 'tab' (default: guessed from the "
        "header line among ',', ';', tab and '|', and printed when it is not ',')",
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


@dataclass(frozen=True)
class SamplerSettings:
    """What :func:`add_sampling_arguments` asked for, named: the one place that reads those
    argparse attributes, so :func:`~_cli.record.run_record` records fields, not a namespace.

    Example:
        >>> parser = make_parser("demo")
        >>> add_sampling_arguments(parser)
        >>> settings = SamplerSettings.from_args(parser.parse_args(["--chains", "2"]))
        >>> settings.chains, settings.warmup, settings.platform, settings.chain_method
        (2, 1000, 'cpu', None)
    """

    seed: int
    chains: int
    warmup: int
    samples: int
    chain_method: str | None  # as asked; None: the platform's default (configure_platform)
    progress_bar: bool | None  # as asked; None: show_progress_bar decides
    compilation_cache: Path | None
    platform: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SamplerSettings:
        return cls(
            seed=args.seed,
            chains=args.chains,
            warmup=args.warmup,
            samples=args.samples,
            chain_method=args.chain_method,
            progress_bar=args.progress_bar,
            compilation_cache=args.compilation_cache,
            platform=args.platform,
        )
