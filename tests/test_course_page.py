"""The course page, reproduced: ``scripts/course_page.py`` prints what the page prints.

The expected outputs are the page's own, written out below as issue 3 lists them; where the
seed text file of the page is present (``../shared/seeds/`` next to the repository) they are
also parsed from it, so a difference between the two lists fails a test too.
"""

import re
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import patterns

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "course_page.py"
SEED = REPO.parent / "shared" / "seeds" / "000_0d3adb1128f86239.txt"

# What the page prints, in its order (issue 3, section 3).
PAGE_OUTPUTS = (
    "[[1 1 1 1 1]\n [4 4 4 4 4]]",
    "[3 3 3 3 3]",
    "[ 5 10]",
    "[ 5 10]",
    "[3 3 3 3 3]",
    "[5.8309517 1.4142135 5.8309517]",
    "[[10. 15. 20.]\n [14. 21. 28.]\n [18. 27. 36.]]",
    "Cumulative Sum: 15",
    "Moving averages: [ 3.3333335  6.222223   8.8148155 11.209877  13.473251 ]",
)
SENSOR_DATA = [10.0, 12.0, 14.0, 16.0, 18.0]


def page_outputs_from_seed(text: str) -> list[str]:
    """The printed outputs of the page's text: array prints and the two labelled prints.

    An output starts on a line that begins with ``[`` (code and prose lines never do) or
    with a label the page prints; a nested array print ends on the line closing all its
    brackets.
    """
    outputs: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        # The seed file may lack a final newline, so the last print can run into whatever
        # follows it; keep the output up to its closing bracket.
        label = re.match(r"(Cumulative Sum: \d+|Moving averages: \[[^\]]*\])", line)
        if label:
            outputs.append(label.group(1))
        elif line.startswith("["):
            block = [line.rstrip()]
            while "".join(block).count("[") > "".join(block).count("]"):
                i += 1
                block.append(lines[i].rstrip())
            outputs.append("\n".join(block))
        i += 1
    return outputs


def run_script(*args: str) -> str:
    """Stdout of ``scripts/course_page.py args``, failing the test on a non-zero exit."""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def prefixed_lines(stdout: str, prefix: str) -> list[str]:
    """Lines the script printed after ``prefix`` (``page>`` or ``ours>``), prefix removed."""
    marker = f"  {prefix} "
    return [line[len(marker) :] for line in stdout.splitlines() if line.startswith(marker)]


@pytest.fixture(scope="module")
def script_stdout() -> str:
    return run_script()


def test_script_prints_exactly_what_the_page_prints(script_stdout: str) -> None:
    expected_lines = "\n".join(PAGE_OUTPUTS).splitlines()
    assert prefixed_lines(script_stdout, "page>") == expected_lines


@pytest.mark.skipif(not SEED.exists(), reason=f"seed text not present at {SEED}")
def test_seed_text_lists_the_same_outputs_as_the_issue() -> None:
    assert page_outputs_from_seed(SEED.read_text(encoding="utf-8")) == list(PAGE_OUTPUTS)


def test_script_prints_the_honest_names_next_to_the_misleading_ones(script_stdout: str) -> None:
    ours = prefixed_lines(script_stdout, "ours>")
    assert ours[0] == "Cumulative sum (every partial sum): [ 1  3  6 10 15]"
    assert ours[1] == "Total (the final carry): 15"
    # Parse the smoother's numbers instead of matching text: they differ from the page's
    # in the last float32 digit (see test_exponential_smoothing_is_the_page_moving_average).
    smoother_line = ours[2]
    assert smoother_line.startswith("Exponential smoothing (weight 1/3, init 0): [")
    smoothed = np.array(smoother_line.split("[")[1].rstrip("]").split(), dtype=float)
    page_numbers = np.array(PAGE_OUTPUTS[-1].split("[")[1].rstrip("]").split(), dtype=float)
    np.testing.assert_allclose(smoothed, page_numbers, rtol=1e-6)
    assert ours[3] == "Moving average (window 3): [12. 14. 16.]"
    assert len(ours) == 4


def test_script_marks_each_example_with_its_code(script_stdout: str) -> None:
    headers = [line for line in script_stdout.splitlines() if line.startswith("--- ")]
    assert len(headers) == 7
    assert "  | cumulative_sum, _ = lax.scan(cumsum_fn, initial_sum, sequence)" in script_stdout


def test_script_only_and_hide_code() -> None:
    stdout = run_script("--only", "6", "--hide-code")
    assert "  | " not in stdout
    assert prefixed_lines(stdout, "page>") == ["Cumulative Sum: 15"]
    assert [line for line in stdout.splitlines() if line.startswith("--- ")] == [
        '--- 6. lax.scan "cumulative sum": it keeps only the final carry, the total ---'
    ]


def test_script_rejects_an_unknown_example_number() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "99"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "--only" in completed.stderr


def test_cumulative_sum_keeps_every_partial_sum() -> None:
    sequence = np.array([1, 2, 3, 4, 5])
    total, partial_sums = patterns.cumulative_sum(jnp.asarray(sequence))
    np.testing.assert_array_equal(partial_sums, np.cumsum(sequence))
    assert int(total) == sequence.sum() == 15


def test_exponential_smoothing_is_the_page_moving_average() -> None:
    data = np.array(SENSOR_DATA, dtype=np.float32)
    smoothed = patterns.exponential_smoothing(jnp.asarray(data), weight=1 / 3, init=0.0)
    assert smoothed.dtype == jnp.float32
    # The page's recursion in float64: s_t = (2 s_{t-1} + x_t) / 3, s_0 = 0.
    page_recursion = []
    s = 0.0
    for x in data.astype(np.float64):
        s = (2 * s + x) / 3
        page_recursion.append(s)
    # (1 - w) s + w x and (2 s + x) / 3 round differently in float32 (6.2222223 against
    # the page's 6.222223): equal to within a few float32 ulps, not bit for bit.
    np.testing.assert_allclose(smoothed, page_recursion, rtol=4 * np.finfo(np.float32).eps)


def test_moving_average_is_a_windowed_mean() -> None:
    data = np.array(SENSOR_DATA, dtype=np.float32)
    window = 3
    np.testing.assert_allclose(
        patterns.moving_average(jnp.asarray(data), window=window),
        np.convolve(data, np.ones(window) / window, "valid"),
        rtol=1e-6,
    )
