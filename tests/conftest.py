"""Numeric policy for the whole test session.

* Rank promotion raises: ``x + y`` with shapes (3,) and (2, 3) is an error, not a silent
  broadcast. Every test and every doctest runs under it.
* float32 is the default (what users get); tests that compare with float64 oracles
  (Python loops, statsmodels, associative-vs-sequential agreement to 1e-10) ask for the
  ``x64`` fixture, which turns float64 on for that test only.
* Random keys come from the ``rng_key`` fixture; nothing in the library makes its own.
* Tests that run NUTS to convergence are marked ``slow``: ``make test-quick`` (``pytest -m
  "not slow"``) skips them in an edit loop; ``make test`` and CI run everything. Long fits
  that several tests read run once: module-scoped fixtures, and ``posteriordb_validation``
  for the posteriordb checks, all of which live in one file
  (``test_validate_posteriordb_script.py``) because ``make test`` runs two pytest-xdist
  workers with ``--dist loadfile`` (a file's tests share a worker and its fixtures).
"""

import csv
import json
from collections.abc import Iterator
from types import SimpleNamespace

import jax
import pytest
from script_runner import run_script

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64() -> Iterator[None]:
    with jax.enable_x64(True):
        yield


@pytest.fixture
def strict_dtypes() -> Iterator[None]:
    """Forbid implicit dtype promotion (int32 + float32 and the like) inside the test."""
    with jax.numpy_dtype_promotion("strict"):
        yield


@pytest.fixture
def rng_key() -> jax.Array:
    return jax.random.PRNGKey(20261125)


@pytest.fixture(scope="session")
def posteriordb_validation(tmp_path_factory) -> SimpleNamespace:
    """One run of ``scripts/validate_posteriordb.py`` at its defaults (4 chains x 2000 draws
    per posterior), shared by the posteriordb tests: ``process``, ``out``, ``rows`` (the
    validation.csv rows) and ``record`` (run.json)."""
    out = tmp_path_factory.mktemp("validation") / "pdb"
    process = run_script("validate_posteriordb.py", "--out", str(out), timeout=900)
    assert process.returncode == 0, process.stdout + process.stderr
    with (out / "validation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    record = json.loads((out / "run.json").read_text())
    return SimpleNamespace(process=process, out=out, rows=rows, record=record)
