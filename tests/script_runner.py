"""Run the command-line scripts the way a user does: a fresh Python process each time.

A fresh process is not only realism: the XLA host device count (one CPU device per chain) must be
set before JAX starts a backend, which in this test process has long happened.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
BUNDLED_SERIES = ROOT / "models" / "data" / "arma11.csv"

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
