"""Bad input to the scripts: exit code 2, one ``error:`` line naming the problem, nothing written.

Every case runs the script's own ``__main__`` with ``--out`` pointing into the test's folder,
then checks the exit code, that stderr is exactly one line holding the expected words, that no
traceback and nothing on stdout came out, and that the folder is byte-for-byte as it was before
(no output folder, no staging folder, no probe left behind). The cases run in this process
(``run_script_in_process``: the same code, no fresh interpreter per case); a few run again as
a user would, in a fresh process, so that nothing in this test process hides a difference.
"""

import os
import stat
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr
from script_runner import run_script, run_script_in_process

# a case: tmp_path -> (script, arguments, stdin, fragments the one error line must contain)
Case = Callable[[Path], tuple[str, list[str], str | None, list[str]]]


def write(folder: Path, text: str, name: str = "series.csv") -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def out(folder: Path) -> list[str]:
    return ["--out", str(folder / "out")]


def fit(folder: Path, *args: str) -> list[str]:
    return [*args, *out(folder)]


SERIES = "t,y\n1,0.5\n2,0.6\n3,0.4\n4,0.7\n5,0.2\n"

CASES: dict[str, Case] = {
    "missing file": lambda d: (
        "fit_arma.py", fit(d, "--data", str(d / "nope.csv")), None,
        ["data file '", "nope.csv' does not exist"]),
    "empty file": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "")), None, ["series.csv' is empty"]),
    "blank lines only": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "\n  \n\n")), None, ["is empty"]),
    "separators only": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, ",,\n,,\n")), None, ["has no non-empty cells"]),
    "empty stdin": lambda d: (
        "fit_arma.py", fit(d, "--data", "-", "--column", "y"), "", ["<stdin> is empty"]),
    "no header": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "1,0.5\n2,0.6\n3,0.4\n"), "--column", "y"),
        None, ["has no header row: line 1 ('1,0.5') is data"]),
    "header but no rows": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n"), "--column", "y"), None,
        ["has a header (line 1) but no data rows"]),
    "unknown column": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, SERIES), "--column", "sales"), None,
        ["--column 'sales' is not a column of", "available columns: t, y"]),
    "unknown time column": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, SERIES), "--column", "y", "--time-column",
                           "date"), None,
        ["--time-column 'date' is not a column of", "available columns: t, y"]),
    "ambiguous column": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, SERIES)), None,
        ["has several columns (t, y); choose the series with --column"]),
    "non-numeric cell": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n1,0.5\n2,0.6\n3,abc\n4,0.7\n"),
                           "--column", "y"), None,
        ["series.csv' line 4, column 'y': 'abc' is not a number"]),
    "infinite cell": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n1,0.5\n2,inf\n3,0.4\n4,0.7\n"),
                           "--column", "y"), None,
        ["line 3, column 'y': 'inf' is not a finite number"]),
    "ragged row": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n1,0.5\n2\n3,0.4\n"), "--column", "y"),
        None, ["line 3 has 1 field(s); the header has 2 (t, y)"]),
    "empty and NaN cells": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n1,0.5\n2,\n3,0.4\n4,NaN\n5,0.1\n6,0.3\n"),
                           "--column", "y", "--likelihood", "conditional"), None,
        ["column 'y' of", "has 2 missing values (empty or NaN) at lines 3, 5",
         "the 'conditional' likelihood of ARMA(1,1) needs a complete series"]),
    "repeated time": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "t,y\n1,0.5\n2,0.6\n2,0.4\n4,0.7\n"),
                           "--column", "y", "--time-column", "t"), None,
        ["line 4: time column 't' repeats '2' (first at line 3)"]),
    "series too short": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "y\n0.5\n0.6\n0.4\n"), "--order", "2", "1"),
        None, ["series too short for ARMA(2,1): 3 observation(s)", "need more than p + q = 3"]),
    "fit.py without a family": lambda d: (
        "fit.py", [], None, ["the following arguments are required: FAMILY"]),
    "fit.py with an unknown family": lambda d: (
        "fit.py", ["egarch", *out(d)], None, ["invalid choice: 'egarch'", "'arma'"]),
    "fit.py arma with a bad order": lambda d: (
        "fit.py", ["arma", *out(d), "--order", "-1", "1"], None,
        ["argument --order: must be a non-negative integer, got '-1'"]),
    "prior flag for a likelihood without it": lambda d: (
        "fit_arma.py", fit(d, "--likelihood", "conditional", "--mu-loc", "3"), None,
        ["--mu-loc applies to --likelihood exact only, not 'conditional'"]),
    "non-positive prior scale": lambda d: (
        "fit_arma.py", fit(d, "--sigma-scale", "0"), None,
        ["argument --sigma-scale: must be a positive number, got '0'"]),
    "prior location that is not a number": lambda d: (
        "fit_arma.py", fit(d, "--mu-loc", "nan"), None,
        ["argument --mu-loc: must be a finite number, got 'nan'"]),
    "constant series cannot scale the priors": lambda d: (
        "fit_arma.py", fit(d, "--data", write(d, "y\n2\n2\n2\n2\n2\n"), "--column", "y"),
        None, ["column 'y' of", "need at least two observed values that differ",
               "give mu_loc, mu_scale and sigma_scale"]),
    "negative order": lambda d: (
        "fit_arma.py", fit(d, "--order", "-1", "1"), None,
        ["argument --order: must be a non-negative integer, got '-1'"]),
    "non-integer order": lambda d: (
        "fit_arma.py", fit(d, "--order", "1.5", "1"), None,
        ["argument --order: must be a non-negative integer, got '1.5'"]),
    "one number for order": lambda d: (
        "fit_arma.py", [*out(d), "--order", "1"], None,
        ["argument --order: expected 2 arguments"]),
    "zero chains": lambda d: (
        "fit_arma.py", fit(d, "--chains", "0"), None,
        ["argument --chains: must be a positive integer, got '0'"]),
    "negative warm-up": lambda d: (
        "fit_arma.py", fit(d, "--warmup", "-5"), None,
        ["argument --warmup: must be a non-negative integer, got '-5'"]),
    "negative draws": lambda d: (
        "fit_arma.py", fit(d, "--samples", "-10"), None,
        ["argument --samples: must be a positive integer, got '-10'"]),
    "zero draws": lambda d: (
        "fit_arma.py", fit(d, "--samples", "0"), None,
        ["argument --samples: must be a positive integer, got '0'"]),
    "unknown platform": lambda d: (
        "fit_arma.py", fit(d, "--platform", "tpu"), None,
        ["argument --platform: invalid choice: 'tpu'"]),
    "unknown option": lambda d: (
        "fit_arma.py", fit(d, "--num-chains", "4"), None,
        ["unrecognized arguments: --num-chains 4"]),
    "output folder exists": lambda d: (
        "fit_arma.py", fit(d), None,
        ["output folder '", "out' already exists; pass --force to replace it"]),
    "--force on a folder these scripts did not write": lambda d: (
        "fit_arma.py", fit(d, "--force"), None,
        ["refusing to replace", "it is not empty and has no run.json"]),
    "output path is a file": lambda d: (
        "fit_arma.py", fit(d), None, ["--out '", "out' exists and is not a folder"]),
    "netCDF file that is not InferenceData": lambda d: (
        "check_posterior.py", [str(d / "plain.nc")], None,
        ["plain.nc' is not ArviZ InferenceData: it has no posterior group"]),
    "file named .nc that is not netCDF": lambda d: (
        "check_posterior.py", [write(d, "t,y\n1,2\n", "posterior.nc")], None,
        ["posterior.nc' is not a netCDF file ArviZ can read"]),
    "missing .nc": lambda d: (
        "check_posterior.py", [str(d / "none.nc")], None,
        ["posterior file '", "none.nc' does not exist"]),
}

def existing_output(folder: Path) -> None:
    (folder / "out").mkdir()
    (folder / "out" / "run.json").write_text("{}")


def foreign_folder(folder: Path) -> None:
    (folder / "out").mkdir()
    (folder / "out" / "thesis.tex").write_text("precious")


def plain_netcdf(folder: Path) -> None:
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(folder / "plain.nc", engine="h5netcdf")


# what some cases need in the folder before the script runs
PREPARE: dict[str, Callable[[Path], object]] = {
    "output folder exists": existing_output,
    "--force on a folder these scripts did not write": foreign_folder,
    "output path is a file": lambda d: (d / "out").write_text("not a folder"),
    "netCDF file that is not InferenceData": plain_netcdf,
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders), hidden ones included."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def assert_one_line_error(process, fragments: list[str], code: int = 2) -> str:
    assert process.returncode == code, (process.returncode, process.stderr)
    assert "Traceback" not in process.stderr
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def check_case(tmp_path: Path, name: str, runner: Callable) -> None:
    script, args, stdin, fragments = CASES[name](tmp_path)
    if name in PREPARE:
        PREPARE[name](tmp_path)
    before = snapshot(tmp_path)
    process = runner(script, *args, stdin=stdin)
    assert_one_line_error(process, fragments)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, name):
    check_case(tmp_path, name, run_script_in_process)


#: One case per kind of refusal (CSV content, stdin, argparse, output folder, family,
#: check_posterior), run as a user runs them.
IN_A_FRESH_PROCESS = ["non-numeric cell", "empty stdin", "negative order",
                      "output folder exists", "fit.py with an unknown family",
                      "netCDF file that is not InferenceData"]


@pytest.mark.parametrize("name", IN_A_FRESH_PROCESS)
def test_bad_input_in_a_fresh_process(tmp_path, name):
    check_case(tmp_path, name, lambda *args, **kwargs: run_script(*args, timeout=120, **kwargs))


def test_the_in_process_runner_refuses_input_that_would_start_a_fit(tmp_path):
    """The guard is real: valid input makes the in-process runner fail, not sample."""
    with pytest.raises(AssertionError, match="began to set up JAX"):
        run_script_in_process("fit_arma.py", *out(tmp_path))


def cuda_present() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except Exception:  # JAX says "no GPU" with RuntimeError or AssertionError, by version
        return False


def test_gpu_asked_for_but_absent(tmp_path):
    if cuda_present():
        pytest.skip("a GPU is present: the absent-GPU error cannot occur")
    before = snapshot(tmp_path)
    process = run_script("fit_arma.py", "--platform", "gpu", *out(tmp_path), timeout=120)
    assert_one_line_error(process, ["--platform gpu: JAX found no usable CUDA GPU here"])
    assert snapshot(tmp_path) == before


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in, or skip if there is none to be had."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return locked
    # root ignores permission bits; sysfs refuses new entries even to root
    candidate = Path("/sys/fs")
    try:
        probe = candidate / "numpyro-patterns-probe"
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return candidate
    pytest.skip("running as root and no read-only folder to point --out at")


def test_output_folder_not_writable(tmp_path):
    locked = unwritable_folder(tmp_path)
    try:
        before = snapshot(tmp_path)
        process = run_script("fit_arma.py", "--out", str(locked / "results" / "arma11"),
                             timeout=120)
        assert_one_line_error(process, ["cannot write output folder '", "results/arma11'"])
        assert not (locked / "results").exists()
        assert snapshot(tmp_path) == before
    finally:
        if locked.is_relative_to(tmp_path):
            locked.chmod(stat.S_IRWXU)
