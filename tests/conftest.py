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
* The test processes compile with the XLA:CPU options the scripts add themselves
  (``_cli.FAST_CPU_COMPILE_FLAGS``: XLA's older loop emitters). Compilation is most of this
  suite's time and those options cut its CPU time by about 40 % (tests/test_arma_exact.py
  with tests/test_arma_fast.py: 197 s of CPU without, 122 s with, measured side by side on
  a loaded 2-core machine). They change how XLA compiles, not what it computes: the fit
  command's draws are bit-for-bit the same with and without them
  (``test_fast_cpu_compile_options_leave_the_draws_bit_for_bit_unchanged`` runs the
  command without them). Set XLA_FLAGS yourself to run the suite under other options.
* Each test session has one persistent XLA compilation cache, in a fresh temporary folder
  removed at exit, made by the first process that loads this file and passed through
  ``JAX_COMPILATION_CACHE_DIR`` to the processes it starts: the pytest-xdist workers (which
  share it) and the scripts the tests run. NumPyro 0.22's ``MCMC.run`` compiles its sampling loop
  again on every run, and once per chain with sequential chains, although the program is
  the same (``jit_model_args=True`` included): the per-series oracle of
  ``test_panel_independent.py``, ``validate_panel.py``'s seeds and a fit re-run with the same
  seed paid a full compilation each. The cache makes those repeats a lookup (measured: an
  ARMA(1, 1) MCMC run again on new data, 11-13 s -> 2.1 s). It changes no number: a cached
  executable is the one XLA compiled (``test_compilation_cache_is_filled_and_reused_without_
  changing_the_draws`` checks the draws bit for bit), and every program is still compiled
  once per session, from a clean folder. Set JAX_COMPILATION_CACHE_DIR yourself to use
  another folder.
"""

import atexit
import csv
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from types import SimpleNamespace

from script_runner import SCRIPTS, run_script

# Before JAX starts its backend, which reads XLA_FLAGS once.
if "XLA_FLAGS" not in os.environ:
    sys.path.insert(0, str(SCRIPTS))
    from _cli.platform import add_fast_cpu_compile_flags

    add_fast_cpu_compile_flags()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="numpyro-patterns-xla-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE  # the scripts' processes read it
    # programs that compile in under half a second are cheaper to compile than to look up
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


#: float64 as the session started (off: what users get); only contexts may change it.
X64_AT_START = jax.config.jax_enable_x64


@pytest.fixture(autouse=True)
def no_global_x64_switch(request) -> Iterator[None]:
    """Fail a test that starts or ends with float64 switched on globally (a module that
    calls ``jax.config.update("jax_enable_x64", ...)`` at import leaks it into every later
    test of its worker: it changed a docs example's printed numbers in another file). Runs
    before the ``x64`` fixture enters its context and after it leaves."""
    def check(when: str) -> None:
        assert jax.config.jax_enable_x64 == X64_AT_START, (
            f"jax_enable_x64 is {jax.config.jax_enable_x64} {when} {request.node.nodeid}: "
            "something switched it globally; use the x64 fixture or jax.enable_x64(...)")

    check("before")
    yield
    check("after")


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
