"""Rank promotion raises for every doctest (patterns/, models/, docs/, README.md), however
pytest is started: ``pytest docs/`` alone does not load ``tests/conftest.py``, which holds the
rest of the numeric policy and the fixtures.

This file sits at the root (not in a collected folder) because ``--doctest-modules`` would
otherwise collect two modules named ``conftest`` and stop on the clash.
"""

import runpy
from pathlib import Path

# Before anything loads NumPy's or SciPy's BLAS: one BLAS thread per process, as the scripts
# run (scripts/_cli/threads.py, run here as a file: importing the _cli package would load
# NumPy first); the tests' own parallel chains call LAPACK too.
runpy.run_path(str(Path(__file__).parent / "scripts" / "_cli" / "threads.py"))

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
