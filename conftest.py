"""Rank promotion raises for every doctest (patterns/, models/, docs/, README.md), however
pytest is started: ``pytest docs/`` alone does not load ``tests/conftest.py``, which holds the
rest of the numeric policy and the fixtures.

This file sits at the root (not in a collected folder) because ``--doctest-modules`` would
otherwise collect two modules named ``conftest`` and stop on the clash.
"""

import os

# Before anything loads NumPy's or SciPy's BLAS: one BLAS thread per process, as the scripts
# run (scripts/_cli/threads.py says why); the tests' own parallel chains call LAPACK too.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
