"""Walk through the course page "JAX patterns", running its code as written.

The course page this package grew from shows ``vmap``, ``in_axes`` and ``lax.scan`` on toy
arrays. This script runs every example on it, in the page's order and with the page's own
code, and prints what each one prints. Two examples carry misleading names, so next to
them it prints what :mod:`patterns` computes under an honest name:

* the page's "cumulative sum" keeps only the final carry (``15``) and throws the partial
  sums away; :func:`patterns.cumulative_sum` returns them as well;
* the page's "moving average" is an exponential smoother with weight 1/3 started at 0;
  :func:`patterns.exponential_smoothing` is that smoother and
  :func:`patterns.moving_average` is a true windowed mean.

Output format (``tests/test_course_page.py`` parses it)::

    --- 1. vmap(square) over a 2x5 array ---
      | <the page's code>
      page> <what the page's code prints>
      | <this package's code>
      ours> <what it prints>

Run it with JAX's defaults (float32), as the page was run::

    python scripts/course_page.py
    python scripts/course_page.py --only 6 7 --hide-code
"""

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One example of the course page, and optionally this package's honest counterpart.

    Attributes:
        title: short description printed in the header.
        page_code: the page's code, verbatim.
        page_shows: expressions the page displays as notebook output without ``print``;
            they are printed after ``page_code`` runs.
        our_code: code using :mod:`patterns` that computes what the title promises.
    """

    title: str
    page_code: str
    page_shows: tuple[str, ...] = ()
    our_code: str = ""


# The page's code, copied as it stands (spelling, spacing and names included): the point
# is to show that it prints what the page says it prints.
EXAMPLES: tuple[Example, ...] = (
    Example(
        title="vmap(square) over a 2x5 array",
        page_code="""\
import jax
import jax.numpy as jnp
from jax import vmap
from jax import lax 

def square(x):
    return x * x

array = jnp.array([jnp.repeat(1,5), jnp.repeat(2,5)])

squared_array = vmap(square)(array)
""",  # noqa: W291 - the trailing space after `lax` is the page's
        page_shows=("squared_array",),
    ),
    Example(
        title="jnp.sum with axis=0 and axis=1: axis says which dimension to collapse",
        page_code="""\
# here `axis=k` says which dimension to collapse 
print(jnp.sum(array, axis=0))

print(jnp.sum(array, axis=1))
""",  # noqa: W291
    ),
    Example(
        title="vmap(sum_array) with in_axes=0 and in_axes=1: in_axes says which axis to map over",
        page_code="""\
def sum_array(x):
    return jnp.sum(x)

# default behavior is to sum along the first axis
print(jax.vmap(sum_array, in_axes=0)(array))

print(jax.vmap(sum_array, in_axes = 1)(array))
""",
    ),
    Example(
        title="Euclidean distance between paired rows, in_axes=(0, 0)",
        page_code="""\
def euclidean_distance(x, y):
    return jnp.sqrt(jnp.sum((x - y) ** 2))

points_1 = jnp.array([[1, 2], [3, 4], [5, 6]])
points_2 = jnp.array([[6, 5], [4, 3], [2, 1]])

distances = vmap(euclidean_distance, in_axes=(0, 0))(points_1, points_2)
""",
        page_shows=("distances",),
    ),
    Example(
        title="add_and_multiply with in_axes=(0, 0, None): the vector argument is shared",
        page_code="""\
def add_and_multiply_scalar(x, y, scalar):
    return (x + y) * scalar

def add_and_multiply_vector(x, y, scalar):
    return vmap(add_and_multiply_scalar, (0, 0, None))(x, y, scalar)

x = jnp.array([1.0, 2.0, 3.0])
y = jnp.array([4.0, 5.0, 6.0])
scalar = jnp.array([2.0, 3.0, 4.0])

result = add_and_multiply_vector(x, y, scalar)
""",
        page_shows=("result",),
    ),
    Example(
        title='lax.scan "cumulative sum": it keeps only the final carry, the total',
        page_code="""\
def cumsum_fn(prev_sum, next_value):
    return prev_sum + next_value, prev_sum + next_value

sequence = jnp.array([1, 2, 3, 4, 5])

initial_sum = jnp.array(0)

cumulative_sum, _ = lax.scan(cumsum_fn, initial_sum, sequence)

print("Cumulative Sum:", cumulative_sum)
""",
        our_code="""\
total, partial_sums = patterns.cumulative_sum(sequence)
print("Cumulative sum (every partial sum):", partial_sums)
print("Total (the final carry):", total)
""",
    ),
    Example(
        title='lax.scan "moving average": an exponential smoother, weight 1/3, started at 0',
        page_code="""\
def moving_average(state, next_value):
    prev_avg, _ = state  
    new_avg = (prev_avg * 2 + next_value) / 3
    return (new_avg, next_value), new_avg

initial_state = (0.0, 0.0)

sensor_data = jnp.array([10.0, 12.0, 14.0, 16.0, 18.0])

final_state, moving_averages = lax.scan(moving_average, initial_state, sensor_data)

print("Moving averages:", moving_averages)
""",  # noqa: W291
        our_code="""\
# The same smoother written as s = (1 - w) s + w x; float32 rounds it differently from
# (2 s + x) / 3 in the last digit.
smoothed = patterns.exponential_smoothing(sensor_data, weight=1/3, init=0.0)
print("Exponential smoothing (weight 1/3, init 0):", smoothed)
# A moving average: the plain mean of the last 3 values, once 3 values exist.
print("Moving average (window 3):", patterns.moving_average(sensor_data, window=3))
""",
    ),
)


def run_code(code: str, namespace: dict[str, object]) -> str:
    """Run ``code`` in ``namespace`` (updated in place) and return what it printed."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        exec(compile(code, "<course page>", "exec"), namespace)  # the page's own code
    return captured.getvalue()


def print_block(text: str, prefix: str) -> None:
    """Print every line of ``text`` after ``prefix``, without trailing blanks."""
    for line in text.rstrip("\n").splitlines():
        print(f"{prefix}{line}".rstrip())


def walk_through(examples: Sequence[Example], selected: set[int], show_code: bool) -> None:
    """Run the examples in order, printing those whose 1-based number is in ``selected``.

    Every example runs, printed or not, because later ones use names that earlier ones
    define (``array``, ``vmap``, ``lax``), as on the page.
    """
    import patterns  # imported here so that `--help` does not start JAX

    page_namespace: dict[str, object] = {}
    for number, example in enumerate(examples, start=1):
        shows = "".join(f"print({expression})\n" for expression in example.page_shows)
        page_output = run_code(example.page_code + shows, page_namespace)
        our_output = ""
        if example.our_code:
            # Our code sees the page's variables (sequence, sensor_data) and the package,
            # but runs in a copy so it cannot change what later page examples see.
            our_output = run_code(example.our_code, {**page_namespace, "patterns": patterns})
        if number not in selected:
            continue
        print(f"--- {number}. {example.title} ---")
        if show_code:
            print_block(example.page_code, "  | ")
            for expression in example.page_shows:
                print(f"  | print({expression})  # the page shows this value without print")
        print_block(page_output, "  page> ")
        if example.our_code:
            print("  this package, named for what it computes:")
            if show_code:
                print_block(example.our_code, "  | ")
            print_block(our_output, "  ours> ")
        print()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        type=int,
        nargs="+",
        metavar="N",
        help=f"print only these examples (1..{len(EXAMPLES)}); all of them still run",
    )
    parser.add_argument(
        "--hide-code", action="store_true", help="print the outputs without the code"
    )
    args = parser.parse_args(argv)
    if args.only is not None:
        wrong = [n for n in args.only if not 1 <= n <= len(EXAMPLES)]
        if wrong:
            parser.error(f"--only: examples are numbered 1..{len(EXAMPLES)}, got {wrong}")
    return args


def main(args: argparse.Namespace) -> int:
    """Walk through the course page as ``args`` say; return the exit status."""
    selected = set(args.only) if args.only else set(range(1, len(EXAMPLES) + 1))
    walk_through(EXAMPLES, selected, show_code=not args.hide_code)
    return 0


if __name__ == "__main__":
    sys.exit(main(parse_args(sys.argv[1:])))
