"""Smoke test of the benchmark scripts: they run with tiny arguments in whatever environment
runs the tests, time only computations that agree with the reference, skip peers that are
not installed with a reason, and the report shows every figure and every skip reason.
Speed itself is never asserted."""

import json
import subprocess
import sys

import jax
import pytest
from script_runner import BENCHMARKS as BENCH
from script_runner import import_benchmark

run_all = import_benchmark("run_all")


def run_job(script, tmp_path, *args):
    out = tmp_path / f"{script}.json"
    subprocess.run([sys.executable, str(BENCH / script), *args, "--json", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def gradient_result(tmp_path_factory):
    return run_job("bench_gradient.py", tmp_path_factory.mktemp("gradient"),
                   "--num-steps", "60", "--repeats", "1", "--min-seconds", "0.001",
                   "--skip", "unroll=16", "unroll=1")


def test_gradient_job_times_only_correct_variants(gradient_result):
    names = [v["name"] for v in gradient_result["variants"]]
    assert names[0].startswith("reference")
    assert sum("(default)" in n for n in names) == 1
    for variant in gradient_result["variants"]:
        assert variant["value_rel_diff_vs_reference"] < 1e-10, variant
        assert variant["grad_max_rel_diff_vs_reference"] < 1e-8, variant
        assert variant["in_loop_us"] > 0 and variant["per_call_us"] > 0
        assert len(variant["grad"]) == 4


def test_numba_floor_is_measured_or_skipped_with_a_reason(gradient_result):
    measured = any(v["name"].startswith("numba") for v in gradient_result["variants"])
    skipped = [s for s in gradient_result["skipped"] if s["name"].startswith("numba")]
    assert measured != bool(skipped)
    for s in skipped:
        assert "numba" in s["reason"] and "not importable" in s["reason"]
    left_out = {s["name"] for s in gradient_result["skipped"] if "--skip" in s["reason"]}
    assert any("unroll=16" in n for n in left_out)


def test_report_shows_every_variant_and_skip_reason(gradient_result):
    report = run_all.render_report({"gradient-T60": [gradient_result, gradient_result]},
                                   "python scripts/benchmarks/run_all.py --quick")
    assert "### T = 60" in report
    for variant in gradient_result["variants"]:
        assert f"| {variant['name']} |" in report
    for s in gradient_result["skipped"]:
        assert s["reason"] in report
    assert gradient_result["versions"]["jax"] in report


def test_ess_job_skips_a_missing_peer_or_runs_it(tmp_path):
    try:
        import blackjax  # noqa: F401
    except ImportError:
        result = run_job("bench_ess.py", tmp_path, "--sampler", "blackjax", "--num-steps", "30")
        assert result["skipped"] and "blackjax is not importable" in result["reason"]
        report = run_all.render_report({"ess-blackjax-T30": [result]}, "cmd")
        assert "skipped: blackjax is not importable" in report
    else:
        result = run_job("bench_ess.py", tmp_path, "--sampler", "blackjax", "--num-steps",
                         "30", "--warmup", "30", "--draws", "20", "--chains", "2")
        assert result["min_bulk_ess"] > 0 and result["ess_per_s"] > 0


@pytest.mark.parametrize("variant", ["conditional-reference", "conditional"])
def test_blackjax_backend_posterior_matches_posteriordb_arma11(x64, variant):
    """The BlackJAX NUTS the ESS benchmark runs (on NumPyro's potential) samples the arma11
    posterior: |z| < 4 against Stan's reference (the job's own z, by the posteriordb
    harness), 4 chains x 2000 draws, no divergence; the report's mu column is the model's
    intercept."""
    pytest.importorskip("blackjax", reason="blackjax belongs to the bench environment")
    import bench_ess
    import numpy as np

    from models.posteriordb import load_data, load_reference

    y = load_data("arma-arma11")["y"]
    fit = bench_ess.blackjax_fit(y, variant, 1000, 2000, 4, 20261125)
    assert fit.divergences == 0
    np.testing.assert_array_equal(fit.draws["mu"], fit.sites["intercept"])
    z = bench_ess.posteriordb_z(fit)
    assert set(z) == set(load_reference("arma-arma11"))
    assert max(abs(v) for v in z.values()) < 4, z


def test_ess_job_runs_the_fit_scripts_own_setup_and_reports_the_floor(tmp_path):
    """numpyro-default goes through the fit command's own set-up (fit.py arma = fit_arma.py:
    the family's starts, chain method, compile options) and samples the arma11 posterior
    (|z| < 4 against Stan's reference, every posteriordb parameter, the model's intercept
    reported as posteriordb's mu); the priors-only floor row runs too, carries no z (its
    ESS is of the prior), and the report's targets table states what limits T = 200 from
    these two figures."""
    results = {}
    for sampler in ("numpyro-default", "numpyro-priors-only"):
        results[sampler] = run_job("bench_ess.py", tmp_path, "--sampler", sampler,
                                   "--num-steps", "200", "--warmup", "300", "--draws", "300")
    ours, floor = results["numpyro-default"], results["numpyro-priors-only"]
    assert "fit_arma.py --likelihood conditional" in ours["description"]
    assert ours["divergences"] == 0 and ours["max_abs_z"] < 4, ours["z_vs_posteriordb"]
    assert set(ours["z_vs_posteriordb"]) == set(ours["means"]) == {"mu", "phi", "theta",
                                                                    "sigma"}
    assert ours["max_rhat"] < 1.05 and ours["min_bulk_ess"] > 100
    assert "max_abs_z" not in floor
    # the prior is what the floor samples: sigma's half-Cauchy(2.5) has median 2.5, far
    # from the posterior's 0.17
    assert floor["means"]["sigma"] > 1.0 > ours["means"]["sigma"]
    report = run_all.render_report({"ess-numpyro-default-T200": [ours],
                                    "ess-numpyro-priors-only-T200": [floor],
                                    "ess-nutpie-T200": [{**ours, "description": "peer"}]},
                                   "cmd")
    assert "what limits T = 200" in report
    assert "| numpyro-priors-only |" in report


def test_numba_floors_compute_the_reference_value_and_gradient(x64):
    """The two hand-written loops the gradient job compiles with numba, run here as plain
    Python (no numba needed): both equal JAX's value and gradient of the reference
    likelihood, so the floor they set is a floor for the same computation."""
    import bench_gradient
    import jax
    import jax.numpy as jnp
    import numpy as np
    from _common import SIMULATION_PARAMS, arma11_series

    from models import arma_conditional_loglik

    y = arma11_series(60)
    params = np.array([SIMULATION_PARAMS[k] for k in ("mu", "phi", "theta", "sigma")])
    expected_value, expected_grad = jax.value_and_grad(
        lambda p: arma_conditional_loglik(jnp.asarray(y), p[0], p[1:2], p[2:3], p[3])
    )(jnp.asarray(params))
    for algorithm in (bench_gradient.adjoint_value_and_grad,
                      bench_gradient.forward_value_and_grad):
        grad = np.empty(4)
        value = algorithm(y, *params, np.empty_like(y), grad)
        np.testing.assert_allclose(value, float(expected_value), rtol=1e-12)
        np.testing.assert_allclose(grad, np.asarray(expected_grad), rtol=1e-10)


def test_batched_chains_job_checks_every_formulation_before_timing_it(tmp_path, monkeypatch):
    chains = import_benchmark("bench_arma_chains")
    out = tmp_path / "chains.json"
    argv = ["--sizes", "40", "--widths", "1", "3", "--orders", "1,1", "0,2", "--rounds", "1",
            "--min-seconds", "0.001", "--json", str(out)]
    chains.main(argv)
    rows = json.loads(out.read_text())["rows"]
    assert [(row["p"], row["q"], row["width"]) for row in rows] == [
        (1, 1, 1), (1, 1, 3), (0, 2, 1), (0, 2, 3)]
    names = {name if unroll is None else f"{name}/{unroll}" for name, unroll in chains.CANDIDATES}
    for row in rows:
        assert set(row["us"]) == names and all(t > 0 for t in row["us"].values())
    # a formulation that computes something else is refused, not timed
    good = chains.batched_candidate

    def off_by_one_for_autodiff(p, q, y, gradient, unroll):
        call = good(p, q, y, gradient, unroll)
        return (lambda x: tuple(v + 1.0 for v in call(x))) if gradient == "autodiff" else call

    monkeypatch.setattr(chains, "batched_candidate", off_by_one_for_autodiff)
    with pytest.raises(AssertionError, match="autodiff/1 disagrees with the reference"):
        chains.main(argv)


def test_panel_warmup_job_runs_each_configuration_and_restores_the_width_rule(tmp_path):
    warmup = import_benchmark("bench_panel_warmup")
    import models.arma.conditional_fast as fast

    assert warmup.parse_config("old+cap5+diag+blocks1") == {
        "wide": False, "cap": 5, "dense": False, "batch_size": 1}
    with pytest.raises(ValueError, match="unknown part 'x'"):
        warmup.parse_config("new+x")
    out = tmp_path / "warmup.json"
    before = fast.WIDE_BATCH
    try:  # the script, a process of its own when run, turns float64 on globally
        warmup.main(["--series", "2", "--length", "30", "--chains", "1", "--warmup", "20",
                     "--samples", "20", "--configs", "old", "new+diag+blocks1", "--json",
                     str(out)])
    finally:
        jax.config.update("jax_enable_x64", False)
    assert fast.WIDE_BATCH == before
    rows = json.loads(out.read_text())["rows"]
    assert [(row["config"], row["batch_size"], row["dense"]) for row in rows] == [
        ("old", None, True), ("new+diag+blocks1", 1, False)]
    for row in rows:
        assert row["series"] == 2 and row["sampling_s"] > 0
        assert 1 <= row["mean_leapfrog_per_draw"] <= row["batch_leapfrog_per_draw"]
        assert 0 < row["ess_min_min"] <= row["ess_min_median"]
