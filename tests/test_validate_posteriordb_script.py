"""scripts/validate_posteriordb.py: one real run over every posterior with a model here.

The real run (``posteriordb_validation`` in conftest.py, shared with test_posteriordb.py)
uses the script's defaults (4 chains x 2000 draws): the z-scores it reports must all be
below 4, every reference parameter must have its row, each bundled posterior is listed with
the family that reproduces it (from the registry), and each z must be the formula applied
to the numbers in the same row. A second, tiny run with an absurd ``--z-limit`` proves
that a failed comparison turns into exit code 4 and an error line.
"""

import csv
import json
import math

import pytest
from script_runner import run_script

from models.posteriordb import REFERENCE_POSTERIORS, bundled_posteriors, load_reference

pytestmark = pytest.mark.slow


@pytest.fixture
def validation(posteriordb_validation):
    return posteriordb_validation.process, posteriordb_validation.out


def read_rows(out) -> list[dict[str, str]]:
    with (out / "validation.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", sorted(REFERENCE_POSTERIORS))
def test_posterior_matches_reference(posteriordb_validation, name):
    rows = [row for row in posteriordb_validation.rows if row["posterior"] == name]
    assert {row["parameter"] for row in rows} == set(load_reference(name))
    assert posteriordb_validation.record["diagnostics"][name]["divergences"] == 0
    assert max(abs(float(row["z"])) for row in rows) < 4, rows


def test_real_run_passes_with_every_z_below_4(validation):
    process, out = validation
    assert process.returncode == 0, process.stdout + process.stderr
    rows = read_rows(out)
    assert all(abs(float(row["z"])) < 4 for row in rows), rows
    assert "all |z| < 4" in process.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["validation_passed"] is True
    assert record["max_abs_z"] == pytest.approx(max(abs(float(r["z"])) for r in rows))


def test_every_reference_parameter_of_every_modelled_posterior_has_a_row(validation):
    process, out = validation
    rows = read_rows(out)
    for name in REFERENCE_POSTERIORS:
        assert {r["parameter"] for r in rows if r["posterior"] == name} == set(
            load_reference(name)), name
        assert f"{name}: divergences: 0 of 8000 draws" in process.stdout
    # the bundled posteriors without a model are named, not silently dropped
    assert "no model here for garch-garch11, hmm_example-hmm_example" in process.stdout
    # each bundled posterior is listed with the family that reproduces it, from the registry
    for name, family in bundled_posteriors().items():
        expected = (f"{name}: reproduced by the '{family.name}' family" if family
                    else f"{name}: no model family here yet")
        assert expected in process.stdout
    record = json.loads((out / "run.json").read_text())
    assert record["families"] == {name: "arma" for name in REFERENCE_POSTERIORS}


def test_our_sites_are_named_as_the_fit_command_names_them(validation):
    # lags count from 1 everywhere (the fit command's summary prints phi[1] for lag 1;
    # tests/test_fit_arma_script.py checks that side)
    _, out = validation
    named = {r["parameter"]: r["our_site"] for r in read_rows(out)
             if r["posterior"] == "arma-arma11"}
    assert named == {"mu": "intercept", "phi": "phi[1]", "theta": "theta[1]", "sigma": "sigma"}


def test_each_z_is_the_formula_on_its_row_and_the_reference_is_the_shipped_one(validation):
    _, out = validation
    for row in read_rows(out):
        reference = load_reference(row["posterior"])[row["parameter"]]
        assert float(row["ref_mean"]) == reference["mean"]
        assert float(row["ref_mcse"]) == reference["mcse_mean"]
        expected = (float(row["mean"]) - reference["mean"]) / math.hypot(
            float(row["mcse"]), reference["mcse_mean"])
        assert float(row["z"]) == pytest.approx(expected, rel=1e-12)
        assert 0 < float(row["mcse"]) < 0.01


def test_printed_table_shows_each_row(validation):
    process, out = validation
    for row in read_rows(out):
        printed = [line.split() for line in process.stdout.splitlines()]
        match = [cells for cells in printed if cells[:2] == [row["posterior"], row["parameter"]]]
        assert len(match) == 1
        assert float(match[0][-1]) == pytest.approx(float(row["z"]), abs=0.006)


def test_a_z_over_the_limit_exits_4_and_says_which(tmp_path):
    process = run_script("validate_posteriordb.py", "--only", "arma-arma11", "--z-limit",
                         "1e-6", "--chains", "2", "--warmup", "100", "--samples", "100",
                         "--allow-warnings", timeout=300)
    assert process.returncode == 4
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("error: validation failed, |z| >= 1e-06: arma-arma11 mu z = ")
    assert "Traceback" not in process.stderr
