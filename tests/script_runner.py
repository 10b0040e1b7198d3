"""Run the command-line scripts the way a user does: a fresh Python process each time.

A fresh process is not only realism: the XLA host device count (one CPU device per chain) must be
set before JAX starts a backend, which in this test process has long happened.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
BUNDLED_SERIES = ROOT / "models" / "data" / "arma11.csv"

BENCHMARKS = SCRIPTS / "benchmarks"

#: Small enough for a loaded 2-core machine, large enough for NUTS to find the posterior.
TINY = ("--chains", "2", "--warmup", "50", "--samples", "50")


def run_script(
    name: str, *args: str, stdin: str | None = None, timeout: float = 300,
    xla_flags: str | None = None,
) -> subprocess.CompletedProcess:
    """``python scripts/<name> args...``; returns the finished process with text stdout/stderr.
    The caller's XLA_FLAGS are dropped; ``xla_flags`` sets the child's own."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def run_script_in_process(name: str, *args: str, stdin: str | None = None
                          ) -> subprocess.CompletedProcess:
    """``python scripts/<name> args...`` executed in this process (``runpy``, as
    ``__main__``, with ``sys.argv``, stdin, stdout and stderr swapped for the call): the
    same code path as :func:`run_script` for input that is refused before any sampling,
    without paying a fresh interpreter and its JAX import per case. Set-up of the JAX
    platform is refused here (an AssertionError), so input that is wrongly accepted fails
    the test instead of changing this process's JAX configuration."""
    import contextlib
    import io
    import runpy
    from unittest import mock

    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    import _cli.fit_command

    def refuse(*_args, **_kwargs):
        raise AssertionError(f"{name} accepted its input and began to set up JAX")

    stdout, stderr = io.StringIO(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
    code: int | str | None = 0
    with mock.patch.object(sys, "argv", [str(SCRIPTS / name), *args]), \
            mock.patch.object(sys, "stdin", fake_stdin), \
            mock.patch.object(_cli.fit_command, "configure_platform", refuse), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_path(str(SCRIPTS / name), run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code
    return subprocess.CompletedProcess([name, *args], code if isinstance(code, int) else 1,
                                       stdout.getvalue(), stderr.getvalue())


def import_benchmark(name: str) -> ModuleType:
    """Import ``scripts/benchmarks/<name>.py`` (with its folder on ``sys.path``, as the
    benchmarks import each other) for a test of what it measures. Nothing in the package
    imports the scripts; only tests do, through this one door."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)
