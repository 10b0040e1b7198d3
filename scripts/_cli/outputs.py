"""Outputs: :class:`OutputFolder` writes every file into a hidden staging folder next to the
target and renames it into place only when the run has finished, so a failed run leaves
nothing half-written; :func:`check_output_folder` refuses a bad ``--out`` before any work;
:func:`write_json` writes JSON without NaN or infinities."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from _cli.errors import CliError


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
        return json_number(value)

    path.write_text(json.dumps(clean(record), indent=2, allow_nan=False) + "\n")


def json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
