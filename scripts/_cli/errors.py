"""Exit codes, the two expected failures, and :func:`run`, the entry wrapper that turns them
into one ``error: ...`` line on stderr and an exit code (never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_DIAGNOSTICS = 3
EXIT_VALIDATION = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """Bad input: :func:`run` prints it as one ``error: ...`` line and exits with code 2."""


class DiagnosticsGateError(Exception):
    """The sampler's diagnostics failed the gate: printed as one line, exit code 3."""


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
