"""Numeric policy for the whole test session.

* Rank promotion raises: ``x + y`` with shapes (3,) and (2, 3) is an error, not a silent
  broadcast. Every test and every doctest runs under it.
* float32 is the default (what users get); tests that compare with float64 oracles
  (Python loops, statsmodels, associative-vs-sequential agreement to 1e-10) ask for the
  ``x64`` fixture, which turns float64 on for that test only.
* Random keys come from the ``rng_key`` fixture; nothing in the library makes its own.
"""

from collections.abc import Iterator

import jax
import pytest

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
