"""The series axis sharded over devices (one process, two XLA host devices) and over two
processes (``jax.distributed.initialize`` on localhost, CPU collectives): the log-density
and its gradient equal the unsharded ones to 1e-12, and the two-process run's draws,
step sizes, divergences, energies and log-densities equal the one-process run sharded over
two devices (same keys per series, so the same draws). Draws are not compared across
device counts: the per-device programs differ in the last bits of a float (measured: one
series of four differs between one device and two), which NUTS's accept/reject decisions
amplify; docs/many-series.md says so. The runs are fresh processes
(``tests/panel_worker.py``): the device count and the distributed runtime must be set before
JAX starts a backend."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("panel_worker.py")


def _env(xla_flags: str | None) -> dict[str, str]:
    # no shared compilation cache: two processes of one distributed run would write it at once
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAX_PLATFORMS", "JAX_COMPILATION_CACHE_DIR")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    # the session's XLA_FLAGS (conftest's compile options) stay: all three runs share them
    env["XLA_FLAGS"] = " ".join(filter(None, [env.get("XLA_FLAGS", ""), xla_flags or ""]))
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, np.ndarray]:
    """The single-process run (unsharded and sharded over 2 host devices) and the
    two-process run, started together."""
    folder = tmp_path_factory.mktemp("panel_sharding")
    single = folder / "single.npz"
    distributed = folder / "distributed.npz"
    port = str(_free_port())
    processes = [subprocess.Popen(
        [sys.executable, str(WORKER), "single", str(single)], cwd=ROOT,
        env=_env("--xla_force_host_platform_device_count=2"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    processes += [subprocess.Popen(
        [sys.executable, str(WORKER), "distributed", str(distributed), port, str(rank)],
        cwd=ROOT, env=_env(None), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in (0, 1)]
    for process in processes:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output[-3000:]
    return {**np.load(single), **np.load(distributed)}


def _pairs(runs: dict[str, np.ndarray], left: str, right: str,
           prefix: str = "") -> list[tuple[str, str]]:
    names = sorted(key[len(left) + 1:] for key in runs
                   if key.startswith(f"{left}_{prefix}"))
    assert names, (left, prefix)
    return [(f"{left}_{name}", f"{right}_{name}") for name in names]


def _assert_equal(runs, pairs) -> None:
    for left, right in pairs:
        np.testing.assert_allclose(runs[left], runs[right], rtol=1e-12, atol=1e-12,
                                   err_msg=left)


@pytest.mark.slow
def test_sharded_log_density_and_gradient_equal_unsharded(runs):
    pairs = _pairs(runs, "sharded", "unsharded", "density_")
    assert len(pairs) == 5  # the value and the gradient of 4 sites
    _assert_equal(runs, pairs)


@pytest.mark.slow
def test_two_processes_equal_one(runs):
    assert len(runs["devices"]) == 2
    _assert_equal(runs, _pairs(runs, "distributed", "sharded"))
    _assert_equal(runs, _pairs(runs, "distributed", "unsharded", "density_"))


@pytest.mark.slow
def test_the_comparison_can_fail(runs):
    """The draws are not all alike: a check of equal draws would see a swapped series."""
    draws = runs["sharded_draws_phi"]
    assert not np.allclose(draws[0], draws[1], rtol=1e-3)
