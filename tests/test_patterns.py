"""Tests of :mod:`patterns`: each primitive against a NumPy or plain-Python oracle.

Oracles run in float64 NumPy; comparisons that need float64 on the JAX side too (agreement
to 1e-10) use the ``x64`` fixture. ``strict_dtypes`` guards the functions that must not rely
on implicit promotion (a float32 model stays float32).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import patterns
from patterns import parallel, sequential

# ---------------------------------------------------------------------------- push_lag


def test_push_lag_puts_the_newest_value_first_and_drops_the_oldest(strict_dtypes) -> None:
    lags = jnp.array([3.0, 2.0, 1.0])
    pushed = patterns.push_lag(lags, 4.0)
    np.testing.assert_array_equal(pushed, [4.0, 3.0, 2.0])
    assert pushed.dtype == lags.dtype


def test_push_lag_leaves_the_original_untouched() -> None:
    lags = jnp.array([3, 2, 1])
    patterns.push_lag(lags, 4)
    np.testing.assert_array_equal(lags, [3, 2, 1])


def test_push_lag_repeated_pushes_hold_the_last_n_values_newest_first() -> None:
    values = np.arange(1.0, 11.0)
    lags = jnp.zeros(4)
    for v in values:
        lags = patterns.push_lag(lags, v)
    np.testing.assert_array_equal(lags, values[::-1][:4])


def test_push_lag_length_one_and_empty_buffers() -> None:
    np.testing.assert_array_equal(patterns.push_lag(jnp.array([7.0]), 8.0), [8.0])
    empty = patterns.push_lag(jnp.zeros(0), 1.0)
    assert empty.shape == (0,)


def test_push_lag_as_a_scan_carry_gives_the_lagged_series() -> None:
    ys = jnp.arange(1.0, 7.0)

    def step(lags, y):
        lags = patterns.push_lag(lags, y)
        return lags, lags

    _, history = jax.lax.scan(step, jnp.zeros(2), ys)
    # Row t holds (y_t, y_{t-1}); the first row's second entry is the zero start.
    np.testing.assert_array_equal(history[:, 0], ys)
    np.testing.assert_array_equal(history[1:, 1], ys[:-1])
    assert float(history[0, 1]) == 0.0


@pytest.mark.parametrize("buffer", [jnp.array(1.0), jnp.zeros((2, 3))])
def test_push_lag_rejects_a_buffer_that_is_not_one_dimensional(buffer) -> None:
    with pytest.raises(ValueError, match="push_lag"):
        patterns.push_lag(buffer, 1.0)


# ---------------------------------------------------------------------------- scatter_add


def test_scatter_add_accumulates_repeated_indices(strict_dtypes) -> None:
    totals = patterns.scatter_add(jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([1, 1, 1, 0]), 3)
    np.testing.assert_array_equal(totals, [4.0, 6.0, 0.0])


def test_scatter_add_matches_numpy_add_at(rng_key) -> None:
    key_values, key_index = jax.random.split(rng_key)
    values = jax.random.normal(key_values, (200,))
    index = jax.random.randint(key_index, (200,), 0, 7)
    expected = np.zeros(7)
    np.add.at(expected, np.asarray(index), np.asarray(values, dtype=np.float64))
    np.testing.assert_allclose(patterns.scatter_add(values, index, 7), expected, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("bad_index", [[0, 3], [-1, 0]])
def test_scatter_add_rejects_out_of_range_indices(bad_index) -> None:
    # JAX on its own drops these silently (and wraps -1): the function must refuse them.
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        patterns.scatter_add(jnp.array([1.0, 2.0]), jnp.array(bad_index), 3)


def test_scatter_add_rejects_wrong_shapes_and_float_indices() -> None:
    with pytest.raises(ValueError, match="shape"):
        patterns.scatter_add(jnp.ones(3), jnp.array([0, 1]), 2)
    with pytest.raises(ValueError, match="shape"):
        patterns.scatter_add(jnp.ones((2, 2)), jnp.zeros((2, 2), dtype=jnp.int32), 2)
    with pytest.raises(TypeError, match="integer"):
        patterns.scatter_add(jnp.ones(2), jnp.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="num_bins"):
        patterns.scatter_add(jnp.ones(0), jnp.zeros(0, dtype=jnp.int32), -1)


def test_scatter_add_works_under_jit() -> None:
    jitted = jax.jit(patterns.scatter_add, static_argnums=2)
    values = jnp.array([1.0, 2.0, 3.0, 4.0])
    index = jnp.array([0, 2, 0, 2])
    np.testing.assert_array_equal(jitted(values, index, 3), [4.0, 0.0, 6.0])
    # Differentiable in the values: each value's gradient is 1 in its own bin.
    grad = jax.grad(lambda v: patterns.scatter_add(v, index, 3)[0])(values)
    np.testing.assert_array_equal(grad, [1.0, 0.0, 1.0, 0.0])


# ---------------------------------------------------------------------------- fill_at


def test_fill_at_fills_the_gaps_and_leaves_the_rest(strict_dtypes) -> None:
    series = jnp.array([1.0, jnp.nan, 3.0, jnp.nan, 5.0])
    gaps = jnp.flatnonzero(jnp.isnan(series))
    filled = patterns.fill_at(series, gaps, jnp.array([2.0, 4.0]))
    np.testing.assert_array_equal(filled, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert bool(jnp.isnan(series[1]))  # the original keeps its gaps


def test_fill_at_broadcasts_a_scalar_and_casts_to_the_series_dtype() -> None:
    filled = patterns.fill_at(jnp.zeros(4), jnp.array([0, 3]), 7)
    np.testing.assert_array_equal(filled, [7.0, 0.0, 0.0, 7.0])
    assert filled.dtype == jnp.zeros(4).dtype


def test_fill_at_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape of positions"):
        patterns.fill_at(jnp.zeros(4), jnp.array([0, 1]), jnp.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="fill_at"):
        patterns.fill_at(jnp.zeros((2, 2)), jnp.array([0]), 1.0)


# ---------------------------------------------------------------------------- map_over_series


def _sum_sq_residuals(y, phi, sigma):
    return jnp.sum((y[1:] - phi * y[:-1]) ** 2) / sigma**2


def test_map_over_series_matches_a_python_loop_over_rows(rng_key) -> None:
    series = jax.random.normal(rng_key, (5, 30))  # (N, T)
    phis = jnp.linspace(-0.5, 0.5, 5)
    sigma = jnp.array(1.3)
    mapped = patterns.map_over_series(_sum_sq_residuals, series, phis, sigma, arg_axes=(0, None))
    looped = [_sum_sq_residuals(series[i], phis[i], sigma) for i in range(5)]
    np.testing.assert_allclose(mapped, looped, rtol=1e-6)


def test_map_over_series_along_a_non_leading_axis(rng_key) -> None:
    columns = jax.random.normal(rng_key, (30, 4))  # (T, N): series stored as columns
    phis = jnp.array([0.1, 0.2, 0.3, 0.4])
    mapped = patterns.map_over_series(
        _sum_sq_residuals, columns, phis, jnp.array(2.0), series_axis=1, arg_axes=(0, None)
    )
    looped = [_sum_sq_residuals(columns[:, i], phis[i], jnp.array(2.0)) for i in range(4)]
    assert mapped.shape == (4,)
    np.testing.assert_allclose(mapped, looped, rtol=1e-6)


def test_map_over_series_shares_arguments_by_default_and_batches_non_leading_args() -> None:
    series = jnp.arange(12.0).reshape(3, 4)
    # Default: every extra argument is shared (in_axes None).
    np.testing.assert_allclose(
        patterns.map_over_series(lambda y, c: jnp.sum(y) * c, series, jnp.array(2.0)),
        2.0 * series.sum(axis=1),
    )
    # An extra argument batched along its axis 1: weights stored (T, N).
    weights = jnp.arange(12.0).reshape(4, 3)
    mapped = patterns.map_over_series(
        lambda y, w: jnp.dot(y, w), series, weights, arg_axes=(1,)
    )
    np.testing.assert_allclose(mapped, [series[i] @ weights[:, i] for i in range(3)])


def test_map_over_series_rejects_wrong_number_of_arg_axes() -> None:
    with pytest.raises(ValueError, match="arg_axes"):
        patterns.map_over_series(_sum_sq_residuals, jnp.zeros((2, 3)), jnp.zeros(2),
                                 jnp.array(1.0), arg_axes=(0,))


# ---------------------------------------------------------------------------- cumulative_sum


@pytest.mark.parametrize("shape", [(1,), (17,), (9, 3)])
def test_cumulative_sum_matches_numpy_cumsum(rng_key, shape) -> None:
    xs = jax.random.normal(rng_key, shape)
    total, partial = patterns.cumulative_sum(xs)
    expected = np.cumsum(np.asarray(xs, dtype=np.float64), axis=0)
    np.testing.assert_allclose(partial, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(total, partial[-1])
    assert total.shape == shape[1:]


def test_cumulative_sum_keeps_integer_dtype(strict_dtypes) -> None:
    total, partial = patterns.cumulative_sum(jnp.array([1, 2, 3, 4, 5]))
    np.testing.assert_array_equal(partial, [1, 3, 6, 10, 15])
    assert int(total) == 15
    assert partial.dtype == jnp.array([1]).dtype


# ---------------------------------------------------------------------------- exponential_smoothing


def _smoothing_loop(xs, weight, init):
    smoothed, out = init, []
    for x in xs:
        smoothed = (1 - weight) * smoothed + weight * x
        out.append(smoothed)
    return np.array(out)


@pytest.mark.parametrize(("weight", "init"), [(1 / 3, 0.0), (0.05, 2.5), (1.0, -1.0)])
def test_exponential_smoothing_matches_a_python_loop(x64, rng_key, weight, init) -> None:
    xs = jax.random.normal(rng_key, (50,), dtype=jnp.float64)
    np.testing.assert_allclose(
        patterns.exponential_smoothing(xs, weight=weight, init=init),
        _smoothing_loop(np.asarray(xs), weight, init),
        rtol=1e-12,
        atol=1e-12,
    )


def test_exponential_smoothing_of_a_constant_has_a_closed_form(x64) -> None:
    # s_t = c + (init - c) (1 - w)^t: the zero start decays geometrically.
    c, init, weight, t = 4.0, 1.0, 0.2, np.arange(1, 41)
    smoothed = patterns.exponential_smoothing(jnp.full(40, c), weight=weight, init=init)
    np.testing.assert_allclose(smoothed, c + (init - c) * (1 - weight) ** t, rtol=1e-12)


def test_exponential_smoothing_stays_float32_by_default(strict_dtypes) -> None:
    smoothed = patterns.exponential_smoothing(jnp.ones(3, dtype=jnp.float32), weight=0.5)
    assert smoothed.dtype == jnp.float32


def test_exponential_smoothing_accepts_integer_data() -> None:
    # Counts are a natural input; the smoothed values are fractional, so the result is float.
    smoothed = patterns.exponential_smoothing(jnp.array([4, 4, 4]), weight=0.5)
    np.testing.assert_allclose(smoothed, [2.0, 3.0, 3.5])
    assert jnp.issubdtype(smoothed.dtype, jnp.floating)


@pytest.mark.parametrize("weight", [0.0, -0.1, 1.5])
def test_exponential_smoothing_rejects_weights_outside_0_1(weight) -> None:
    with pytest.raises(ValueError, match="weight"):
        patterns.exponential_smoothing(jnp.ones(3), weight=weight)


def test_exponential_smoothing_rejects_more_than_one_dimension() -> None:
    with pytest.raises(ValueError, match=r"\(T,\)"):
        patterns.exponential_smoothing(jnp.ones((3, 2)), weight=0.5)


# ---------------------------------------------------------------------------- moving_average


@pytest.mark.parametrize("window", [1, 2, 5, 20])
def test_moving_average_matches_numpy_convolve_valid(rng_key, window) -> None:
    xs = jax.random.normal(rng_key, (20,))
    expected = np.convolve(np.asarray(xs, dtype=np.float64), np.ones(window) / window, "valid")
    means = patterns.moving_average(xs, window=window)
    assert means.shape == (20 - window + 1,)
    np.testing.assert_allclose(means, expected, rtol=1e-5, atol=1e-6)


def test_moving_average_forgets_a_value_after_window_steps() -> None:
    # An impulse moves each windowed mean for exactly `window` steps, unlike a smoother.
    impulse = jnp.zeros(10).at[4].set(3.0)
    means = patterns.moving_average(impulse, window=3)
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(means)), [2, 3, 4])


@pytest.mark.parametrize("window", [0, -1, 6])
def test_moving_average_rejects_windows_outside_1_t(window) -> None:
    with pytest.raises(ValueError, match="window"):
        patterns.moving_average(jnp.ones(5), window=window)


def test_moving_average_rejects_more_than_one_dimension() -> None:
    with pytest.raises(ValueError, match=r"\(T,\)"):
        patterns.moving_average(jnp.ones((5, 2)), window=2)


# ---------------------------------------------------------------------------- linear_recurrence


def _recurrence_loop(a, b, init):
    """x_t = a_t x_{t-1} + b_t in float64 NumPy, one step at a time."""
    x, out = np.asarray(init, dtype=np.float64), []
    for a_t, b_t in zip(np.asarray(a, np.float64), np.asarray(b, np.float64), strict=True):
        x = a_t * x + b_t
        out.append(x)
    return np.array(out)


def _random_recurrence(key, shape):
    key_a, key_b, key_init = jax.random.split(key, 3)
    # |a| < 1 keeps the products bounded, so the 1e-10 agreement is a fair test.
    a = jax.random.uniform(key_a, shape, minval=-0.99, maxval=0.99, dtype=jnp.float64)
    b = jax.random.normal(key_b, shape, dtype=jnp.float64)
    init = jax.random.normal(key_init, shape[1:], dtype=jnp.float64)
    return a, b, init


@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (64,), (1000,), (33, 2, 3)])
def test_sequential_and_parallel_recurrences_match_a_python_loop(
    x64, strict_dtypes, rng_key, shape
) -> None:
    a, b, init = _random_recurrence(rng_key, shape)
    expected = _recurrence_loop(a, b, init)
    xs_sequential = jax.jit(sequential.linear_recurrence)(a, b, init)
    xs_parallel = jax.jit(parallel.linear_recurrence)(a, b, init)
    assert xs_sequential.shape == xs_parallel.shape == shape
    assert xs_sequential.dtype == xs_parallel.dtype == jnp.float64
    np.testing.assert_allclose(xs_sequential, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xs_parallel, xs_sequential, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(1,), (5,), (200,), (40, 3)])
def test_sequential_and_parallel_recurrences_have_the_same_gradients(
    x64, rng_key, shape
) -> None:
    a, b, init = _random_recurrence(rng_key, shape)
    weights = jnp.cos(jnp.arange(np.prod(shape), dtype=jnp.float64)).reshape(shape)

    def loss(recurrence):
        # A weighted sum of squares touches every output with its own weight.
        return lambda a, b, init: jnp.sum(weights * recurrence(a, b, init) ** 2)

    # compiled: op by op, the associative scan's backward pass dispatches thousands of ops
    grads_sequential = jax.jit(jax.grad(loss(sequential.linear_recurrence), argnums=(0, 1, 2))
                               )(a, b, init)
    grads_parallel = jax.jit(jax.grad(loss(parallel.linear_recurrence), argnums=(0, 1, 2))
                             )(a, b, init)
    for name, g_seq, g_par in zip(("a", "b", "init"), grads_sequential, grads_parallel,
                                  strict=True):
        assert g_seq.shape == g_par.shape, name
        assert bool(jnp.any(g_seq != 0)), name  # a zero gradient would agree vacuously
        np.testing.assert_allclose(g_par, g_seq, rtol=1e-10, atol=1e-10, err_msg=name)


def test_recurrence_gradient_matches_finite_differences(x64, rng_key) -> None:
    a, b, init = _random_recurrence(rng_key, (12,))

    def last(init_value):
        return parallel.linear_recurrence(a, b, init_value)[-1]

    # x_T is linear in x_0 with slope prod(a): the gradient is known exactly.
    np.testing.assert_allclose(jax.grad(last)(init), np.prod(np.asarray(a)), rtol=1e-12)


def test_recurrences_work_under_jit_and_in_float32(rng_key) -> None:
    a = jax.random.uniform(rng_key, (100,), minval=-0.9, maxval=0.9)
    b = jnp.ones(100)
    xs_sequential = jax.jit(sequential.linear_recurrence)(a, b, jnp.array(0.0))
    xs_parallel = jax.jit(parallel.linear_recurrence)(a, b, jnp.array(0.0))
    assert xs_sequential.dtype == xs_parallel.dtype == jnp.float32
    np.testing.assert_allclose(xs_parallel, xs_sequential, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("recurrence", [sequential.linear_recurrence, parallel.linear_recurrence])
def test_recurrences_of_length_zero_are_empty(recurrence) -> None:
    xs = recurrence(jnp.zeros((0, 2)), jnp.zeros((0, 2)), jnp.ones(2))
    assert xs.shape == (0, 2)


@pytest.mark.parametrize("recurrence", [sequential.linear_recurrence, parallel.linear_recurrence])
def test_recurrences_reject_mismatched_shapes(recurrence) -> None:
    with pytest.raises(ValueError, match="same shape"):
        recurrence(jnp.ones(3), jnp.ones(4), jnp.array(0.0))
    with pytest.raises(ValueError, match="same shape"):
        recurrence(jnp.array(1.0), jnp.array(1.0), jnp.array(0.0))
    with pytest.raises(ValueError, match="init must have shape"):
        recurrence(jnp.ones((3, 2)), jnp.ones((3, 2)), jnp.array(0.0))


def test_fill_at_rejects_positions_outside_the_series():
    with pytest.raises(ValueError, match="position"):
        patterns.fill_at(jnp.zeros(3), jnp.array([3]), jnp.array([1.0]))
    with pytest.raises(ValueError, match="position"):
        patterns.fill_at(jnp.zeros(3), jnp.array([-1]), jnp.array([1.0]))


def test_exponential_smoothing_takes_a_traced_weight():
    xs = jnp.array([1.0, 2.0, 3.0])
    by_jit = jax.jit(lambda w: patterns.exponential_smoothing(xs, w, 0.0))(0.5)
    np.testing.assert_allclose(np.asarray(by_jit), [0.5, 1.25, 2.125], rtol=1e-6)
    slope = jax.grad(lambda w: patterns.exponential_smoothing(xs, w, 0.0)[-1])(0.5)
    # s_3 = w x3 + w(1-w) x2 + w(1-w)^2 x1; d/dw at 0.5 = 3 + 2*0 + 1*(0.25 - 0.5) = 2.75
    np.testing.assert_allclose(float(slope), 2.75, rtol=1e-6)
