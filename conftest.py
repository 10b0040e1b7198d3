"""Rank promotion raises for every doctest (patterns/, models/, docs/, README.md), however
pytest is started: ``pytest docs/`` alone does not load ``tests/conftest.py``, which holds the
rest of the numeric policy and the fixtures.

This file sits at the root (not in a collected folder) because ``--doctest-modules`` would
otherwise collect two modules named ``conftest`` and stop on the clash.
"""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
