"""The guide's doctests run under the test suite's numeric policy, however pytest is started.

``tests/conftest.py`` sets it for the whole session when ``tests/`` is collected; running
``pytest docs/`` alone does not load that file, so the same setting is made here: rank
promotion raises (float32 stays JAX's default).
"""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
