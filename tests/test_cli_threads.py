"""The scripts run with one BLAS thread per process unless the user says otherwise
(scripts/_cli/threads.py: parallel chains calling LAPACK at once otherwise fight over the
cores; the differenced CO2 fit sampled in 136 s instead of 9.6 s)."""

import json
import os
import subprocess
import sys

import pytest
from script_runner import SCRIPTS

PROBE = (
    "import json, os, sys\n"
    f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
    "import _cli\n"
    "assert 'numpy' in sys.modules  # _cli's modules load NumPy: after the variables\n"
    "print(json.dumps({k: os.environ.get(k) for k in "
    "('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')}))\n"
)


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def test_importing_cli_sets_one_blas_thread_before_numpy_loads():
    assert _probe() == {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_the_users_own_setting_wins():
    assert _probe(OPENBLAS_NUM_THREADS="3") == {"OPENBLAS_NUM_THREADS": "3",
                                                "MKL_NUM_THREADS": "1"}


def test_the_blas_numpy_loads_runs_one_thread():
    """What OpenBLAS itself reports, where threadpoolctl is installed to ask it."""
    pytest.importorskip("threadpoolctl")
    code = PROBE.replace("print(json.dumps(", "from threadpoolctl import threadpool_info\n"
                         "print(json.dumps([i['num_threads'] for i in threadpool_info() "
                         "if i['user_api'] == 'blas']))\nprint(json.dumps(")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert set(json.loads(out.stdout.splitlines()[0])) == {1}


def test_the_compile_profiler_runs_the_fit_with_one_blas_thread(tmp_path):
    """scripts/benchmarks/bench_compile.py runs the fit command in its own process; it once
    imported JAX (and so NumPy's BLAS) before ``_cli``, and its sampling times came from a
    BLAS with one thread per core (the differenced CO2 fit: 104-110 s against 9-10 s)."""
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    record = tmp_path / "profile.json"
    subprocess.run([sys.executable, str(SCRIPTS / "benchmarks" / "bench_compile.py"),
                    "--json", str(record), "--", "arma", "--likelihood", "conditional",
                    "--chains", "1", "--warmup", "20", "--samples", "20", "--allow-warnings",
                    "--no-progress-bar", "--out", str(tmp_path / "fit")],
                   env=env, capture_output=True, text=True, check=True)
    result = json.loads(record.read_text())
    assert result["exit_code"] == 0 and result["total"]["programs"] > 0
    assert set(result["blas_threads"]) == {1}
