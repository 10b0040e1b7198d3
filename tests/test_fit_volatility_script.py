"""``scripts/fit.py garch`` and ``scripts/fit.py sv``: bad input gives one ``error:`` line
and writes nothing; a tiny fit of each writes every output, the volatility on the time
axis with its forecast included."""

from pathlib import Path

import numpy as np
import pytest
from script_runner import run_script, run_script_in_process

RETURNS = "t,y\n" + "".join(f"{t},{v:.3f}\n" for t, v in enumerate(
    [0.3, -1.2, 0.8, 2.0, -0.4, 0.1, -0.9, 1.5, -0.2, 0.6], start=1))


def write(folder: Path, text: str) -> str:
    path = folder / "returns.csv"
    path.write_text(text)
    return str(path)


def data(folder: Path, text: str) -> list[str]:
    return ["--data", write(folder, text), "--column", "y", "--time-column", "t"]


CASES = {
    "NaN in the series": (
        "garch", lambda d: data(d, RETURNS.replace("-0.400", "nan")),
        ["1 missing value (empty or NaN) at line 6", "GARCH(1,1) needs a complete series"]),
    "empty cell (sv)": (
        "sv", lambda d: data(d, RETURNS.replace("-0.400", "")),
        ["missing value", "needs a complete series"]),
    "too short for the order": (
        "garch", lambda d: [*data(d, RETURNS), "--order", "5", "9"],
        ["series too short for GARCH(5,9)", "need more than max(p, q) + 1 = 10"]),
    "too short (sv)": (
        "sv", lambda d: data(d, "t,y\n1,0.5\n2,-0.2\n"),
        ["series too short for SV", "need at least 3 observations"]),
    "negative p": (
        "garch", lambda d: ["--order", "-1", "1"], ["--order", "-1"]),
    "negative q": (
        "garch", lambda d: ["--order", "1", "-2"], ["--order", "-2"]),
    "zero initial variance": (
        "garch", lambda d: ["--initial-variance", "0"], ["--initial-variance", "'0'"]),
    "negative initial variance": (
        "garch", lambda d: ["--initial-variance", "-1.5"], ["--initial-variance", "-1.5"]),
    "negative prior variance scale": (
        "garch", lambda d: ["--variance-scale", "-1"], ["--variance-scale"]),
    "unknown start": (
        "garch", lambda d: ["--start", "zero"], ["--start", "invalid choice: 'zero'"]),
    "constant returns": (
        "garch", lambda d: data(d, "t,y\n" + "".join(f"{t},0.5\n" for t in range(1, 9))),
        ["all 8 values equal 0.5", "needs returns that vary"]),
    "non-positive sv prior scale": (
        "sv", lambda d: ["--sigma-scale", "0"], ["--sigma-scale"]),
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, name):
    family, args, fragments = CASES[name]
    arguments = args(tmp_path)
    before = snapshot(tmp_path)
    process = run_script_in_process("fit.py", family, *arguments, "--out",
                                    str(tmp_path / "out"))
    assert process.returncode == 2, (process.returncode, process.stderr)
    assert "Traceback" not in process.stderr and process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert snapshot(tmp_path) == before


@pytest.mark.slow
@pytest.mark.parametrize(("family", "extra"), [
    ("garch", ["--order", "1", "2", "--likelihood", "t", "--start", "backcast"]),
    ("sv", ["--data", "SHORT"]),
])
def test_tiny_fit_writes_every_output(tmp_path, family, extra):
    import xarray as xr

    if "SHORT" in extra:  # the first 80 bundled SV returns
        lines = (Path(__file__).resolve().parents[1] / "models" / "data"
                 / "sv_simulated.csv").read_text().splitlines()[:81]
        extra = data(tmp_path, "\n".join(lines) + "\n")
    out = tmp_path / "out"
    process = run_script("fit.py", family, *extra, "--chains", "2", "--warmup", "60",
                         "--samples", "40", "--forecast", "4", "--allow-warnings", "--out",
                         str(out), timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    for name in ("posterior.nc", "summary.csv", "trace.png", "ppc.png", "forecast.png",
                 "volatility.png", "run.json"):
        assert (out / name).stat().st_size > 0, name
    posterior = xr.open_dataset(out / "posterior.nc", group="posterior")
    predictions = xr.open_dataset(out / "posterior.nc", group="predictions")
    num_steps = posterior["volatility"].shape[-1]
    assert posterior["volatility"].dims[-1] == "time"
    assert float(posterior["volatility"].min()) > 0
    assert predictions["volatility_forecast"].shape[-1] == 4
    assert predictions["y_forecast"].shape[-1] == 4
    assert np.isfinite(predictions["y_forecast"].values).all()
    assert num_steps in (200, 80)
    if family == "garch":
        alpha, beta = posterior["alpha"].values, posterior["beta"].values
        assert (alpha.sum(-1) + beta.sum(-1) < 1).all()
