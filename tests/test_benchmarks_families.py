"""Smoke tests of the families' benchmark jobs (issues 14-16) and of the loop-vs-scan and HMM
jobs: every case is the posterior the fit command fits, the priors-only floor drops the
likelihood and nothing else, the report shows every row, ratio, skip reason and
same-posterior check, the ARMA part of REPORT.md survives a families-only run, and peers
that the test environment lacks are skipped with a reason. Speed itself is never
asserted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from script_runner import BENCHMARKS as BENCH
from script_runner import ROOT, import_benchmark

bench_families = import_benchmark("bench_families")
run_all = import_benchmark("run_all")

LENGTHS = {"garch": 200, "sv": 1000, "hmm-k2": 100, "hmm-k3": 2000, "sir": 14, "renewal": 200}


def run_job(script, tmp_path, *args, timeout=300):
    out = tmp_path / f"{script}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    subprocess.run([sys.executable, str(BENCH / script), *args, "--json", str(out)],
                   check=True, capture_output=True, text=True, timeout=timeout, env=env)
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_every_case_is_the_fit_commands_posterior_and_its_columns_exist(x64, name):
    """The case's options are the family's defaults plus the data-dependent ones the fit
    command sets (recomputed here from the series); every report column is a site of the
    registry's model, read with the right shape."""
    from numpyro import handlers

    from models.registry import FAMILIES

    case = bench_families.build_case(name)
    family = FAMILIES[case.family]
    assert case.y.shape == (LENGTHS[name],) and np.all(np.isfinite(case.y))
    y, options = case.y, case.options
    # the settings the fit command takes from the series, as the families' help texts say
    expected = {"garch": lambda: {"mu_loc": np.mean(y), "mu_scale": 10 * np.std(y, ddof=1),
                                  "variance_scale": np.var(y, ddof=1)},
                "renewal": lambda: {"seed_loc": np.log(np.mean(y[:7]) + 1)},
                "hmm-k3": lambda: {"sigma_scale": np.std(y, ddof=1), "states": 3,
                                   "sigma": 1.0, "initial": "fixed"}}.get(name, dict)()
    for key, value in expected.items():
        assert options[key] == pytest.approx(value), key
    for option in family.options:  # every other option at the fit command's default
        if option.name not in expected and option.name in options and name != "hmm-k2" \
                and not (name == "hmm-k3" and option.name in ("mu_loc", "mu_scale")) \
                and not (name == "sir" and option.name == "population"):
            assert options[option.name] == option.default, option.name
    if name == "sir":
        assert case.options["population"] == 763
    if name == "hmm-k2":  # posteriordb's settings, as the validator fits them
        assert case.options["mu_loc"] == (3.0, 10.0) and case.options["positive_means"]
    if name.startswith("hmm"):
        # the sites' shapes from the family's dims (tracing the HMM model eagerly compiles
        # its smoother and Viterbi scans: seconds for nothing here)
        k = options["states"]
        sites = {"mu": np.zeros((2, 3, k)), "transition_matrix": np.zeros((2, 3, k, k))}
        assert family.coords_and_dims(options)[1]["transition_matrix"] == ["state",
                                                                         "to_state"]
    else:
        model = family.variants[case.variant].model
        trace = handlers.trace(handlers.seed(model, 0)).get_trace(case.y, **case.options)
        sites = {k: np.broadcast_to(np.asarray(v["value"]), (2, 3, *np.shape(v["value"])))
                 for k, v in trace.items()}
    columns = bench_families.columns_of(case, sites)
    assert set(columns) == set(case.columns)
    for label, value in columns.items():
        assert value.shape == (2, 3), label


@pytest.mark.parametrize("name", ["garch"])
def test_priors_only_floor_drops_the_likelihood_and_nothing_else(x64, name):
    from numpyro.infer.util import log_density

    from models.registry import FAMILIES

    case = bench_families.build_case(name)
    model = FAMILIES[case.family].variants[case.variant].model
    from numpyro import handlers

    trace = handlers.trace(handlers.seed(model, 1)).get_trace(case.y, **case.options)
    params = {k: v["value"] for k, v in trace.items()
              if v["type"] == "sample" and not v["is_observed"]}
    full, _ = log_density(model, (case.y,), dict(case.options), params)
    floor, _ = log_density(bench_families.mask_observed(model), (case.y,), dict(case.options),
                           params)
    likelihood = trace["y"]["fn"].log_prob(trace["y"]["value"]).sum()
    np.testing.assert_allclose(float(floor), float(full - likelihood), rtol=1e-12)
    assert abs(float(likelihood)) > 1.0


def _result(sampler, rate, means, *, mcse=0.01, total=10.0, compile_s=4.0, **extra):
    ess = rate * total
    return {"job": "family", "case": "sir", "title": "SIR test case", "sampler": sampler,
            "warmup": 100, "draws": 100, "chains": 4, "num_steps": 14,
            "description": f"{sampler} row", "total_s": total, "compile_s": compile_s,
            "min_bulk_ess": ess, "ess_per_s": rate, "divergences": 0, "max_rhat": 1.001,
            "steps_per_draw": 7.0, "means": means,
            "mcse": {k: mcse for k in means}, **extra}


def test_family_report_shows_rows_ratio_checks_and_what_limits_it():
    ours = _result("numpyro", 30.0, {"beta": 1.70, "gamma": 0.54})
    peer = _result("nutpie", 20.0, {"beta": 1.75, "gamma": 0.54}, compile_s=2.0)
    floor = _result("numpyro-priors-only", 5.0, {"beta": 2.0, "gamma": 0.4}, total=6.0)
    trivial = _result("numpyro-trivial", 50.0, {"x": 0.0}, total=3.0, compile_s=2.0)
    skipped = {"skipped": True, "reason": "pymc is not importable here (no module)"}
    grouped = {"family-sir-numpyro": [ours, {**ours, "total_s": 12.0, "ess_per_s": 25.0}],
               "family-sir-nutpie": [peer], "family-sir-pymc": [skipped],
               "family-sir-numpyro-priors-only": [floor],
               "family-sir-numpyro-trivial": [trivial]}
    report = "\n".join(run_all.family_section(grouped))
    # z of nutpie's beta against ours: 0.05 / sqrt(2) / 0.01 = 3.54
    assert "| 3.54 |" in report
    assert "= 1.50 × | no |" in report  # 30 / 20, the goal of 2x not met
    assert "skipped: pymc is not importable here (no module)" in report
    assert "10.0 / 12.0" in report  # both runs
    assert "compilation is 4.0 s of our 10.0 s (40 %)" in report
    assert "on the priors alone takes 6.0 s" in report
    # the trivial model's row is a floor: no ratio against the peer, none in the targets
    trivial_row = next(line for line in report.splitlines()
                       if line.startswith("| numpyro-trivial |"))
    assert "| 50.0 | – |" in trivial_row, trivial_row
    # ours compiles in 4.0 s = 2.0 x the floor's 2.0 s; 300 ESS over 6.0 s sampling + 2.0 s
    assert "compiles in 2.0 s: our compilation is 2.0 x that floor" in report
    assert "with only the floor's compilation our ESS/s would be 37.5" in report
    assert report.startswith(run_all.FAMILIES_START)
    assert report.rstrip().endswith(run_all.FAMILIES_END)


def test_a_families_only_run_keeps_the_arma_part_of_the_report():
    grouped = {"family-sir-numpyro": [_result("numpyro", 30.0, {"beta": 1.7})]}
    new = run_all.render_report(grouped, "cmd")
    old = "# Benchmarks\n\n## 2. ESS per second, ARMA\n\n| arma row |\n"
    merged = run_all.merge_family_part(old, new)
    assert merged.startswith(old.rstrip("\n")) and "SIR test case" in merged
    # a second run replaces the families' part, never appends another one
    again = run_all.merge_family_part(merged, run_all.render_report(
        {"family-sir-numpyro": [_result("numpyro", 40.0, {"beta": 1.7})]}, "cmd"))
    assert again.count(run_all.FAMILIES_START) == 1 and "| arma row |" in again
    assert "400" in again and "| 300 |" not in again


def test_plan_runs_each_case_with_its_peers_and_the_hmm_forward_pass():
    jobs = dict(run_all.family_plan(quick=True))
    for case in LENGTHS:
        for sampler in ("numpyro", "nutpie", "numpyro-priors-only", "numpyro-trivial"):
            assert f"family-{case}-{sampler}" in jobs
        assert (f"family-{case}-pymc" in jobs) == (case not in run_all.PYMC_NOT_RUN)
    assert "not run" in "\n".join(run_all.family_section(
        {"family-sv-numpyro": [_result("numpyro", 30.0, {"mu": 1.0})]}))
    assert {j for j in jobs if j.endswith("enumeration")} == {
        "family-hmm-k2-numpyro-enumeration", "family-hmm-k3-numpyro-enumeration"}
    assert jobs["hmm-logp"] == ["bench_hmm.py", "--no-nuts"]


def test_a_missing_peer_is_skipped_with_a_reason(tmp_path):
    try:
        import pymc  # noqa: F401
    except ImportError:
        result = run_job("bench_families.py", tmp_path, "--case", "sir", "--sampler", "pymc")
        assert result["skipped"] and "pymc is not importable" in result["reason"]
        report = "\n".join(run_all.family_section({"family-sir-pymc": [result]}))
        assert "skipped: pymc is not importable" in report
    else:
        pytest.skip("pymc is installed here: the benchmark runs it (minutes)")


def test_the_family_job_runs_the_fit_commands_sampling(tmp_path):
    """numpyro through the fit command's own set-up and sample_posterior, a few draws: the
    figures the report reads are all there."""
    result = run_job("bench_families.py", tmp_path, "--case", "sv", "--sampler", "numpyro",
                     "--warmup", "30", "--draws", "20", "--chains", "2")
    assert "scripts/fit.py sv" in result["description"]
    assert set(result["means"]) == set(result["mcse"]) == {"mu", "phi", "sigma"}
    assert -1 < result["means"]["phi"] < 1 and result["means"]["sigma"] > 0
    assert result["compile_s"] > 0 and result["total_s"] > result["compile_s"]
    assert result["steps_per_draw"] >= 1 and result["min_bulk_ess"] > 0


def test_renewal_loop_job_compares_equal_densities(x64):
    """bench_renewal_loop's two models (a Python loop with one site per day, the scan) have
    the same potential energy, and its timer returns positive times."""
    import bench_renewal_loop

    from models.renewal import renewal_model

    y = np.random.default_rng(0).poisson(30, 3).astype(float)
    kwargs = {"y": y, "generation_interval": bench_renewal_loop.INTERVAL, "step": 1,
              "seed_loc": 3.0}
    z, scan_potential, compile_s, run_s = bench_renewal_loop.timed_gradients(
        renewal_model, kwargs, 2)
    _, loop_potential, _, _ = bench_renewal_loop.timed_gradients(
        bench_renewal_loop.loop_model, {"y": y}, 2)
    np.testing.assert_allclose(float(loop_potential(z)), float(scan_potential(z)), rtol=1e-10)
    assert compile_s > 0 and run_s > 0


def test_sir_loop_job_compares_equal_densities(x64):
    """bench_sir_loop's course-style loop and the package's scan give the same potential
    energy (the first 2 days, one RK4 step a day: the unrolled loop stays small)."""
    import bench_sir_loop
    import jax.numpy as jnp

    from models.sir import sir_model

    days = bench_sir_loop.IN_BED[:2]
    loop = bench_sir_loop.compile_and_run(bench_sir_loop.course_style_model,
                                          ([float(v) for v in days],), {"substeps": 1}, 2)
    scan = bench_sir_loop.compile_and_run(sir_model, (jnp.asarray(days, float),),
                                          {"population": 763, "substeps": 1}, 2)
    np.testing.assert_allclose(loop[0], scan[0], rtol=1e-10)
    assert loop[1] > 0 and scan[2] > 0


def test_hmm_job_forward_pass_equals_dynamax(tmp_path):
    """bench_hmm's forward-pass rows (dynamax's hmm_filter, then ours: hmm_log_likelihood
    sequential and parallel, log-space hmm_filter, on the same arrays): equal values and
    gradients, positive times (a fresh process: the job turns on float64 at import)."""
    pytest.importorskip("dynamax", reason="dynamax belongs to the test and bench extras")
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import bench_hmm; "
            "from dynamax.hidden_markov_model import hmm_filter; "
            "print(json.dumps(bench_hmm.forward_pass_rows(3, 60, 1, hmm_filter)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(BENCH)], check=True,
                         capture_output=True, text=True, timeout=300, env=env)
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert [r["name"].split()[0] for r in rows] == ["dynamax", "ours", "ours", "ours"]
    assert all(r["case"] == "forward pass K=3 T=60" for r in rows)
    assert all(r["value_rel_diff"] < 1e-12 and r["grad_rel_diff"] < 1e-10 for r in rows[1:])
    assert all(r["logp_grad_us"] > 0 for r in rows)


def _pymc_point(model, values):
    """PyMC's value variables (transformed where PyMC transforms) at constrained values."""
    point = {}
    for rv in model.free_RVs:
        value = np.asarray(values[rv.name], float)
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            value = transform.forward(value, *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point


def _ordered_inverse(mu, positive):
    """NumPyro's unconstrained vector of ordered (positive: exp of ordered) means, and the
    log Jacobian of the map from it."""
    ordered = np.log(mu) if positive else mu
    free = np.concatenate([ordered[:1], np.log(np.diff(ordered))])
    return free, free[1:].sum() + (ordered.sum() if positive else 0.0)


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_each_pymc_peer_has_our_log_density(x64, name):
    """The same posterior, by value: at three draws of the prior, the PyMC model's log
    density (without its transforms' Jacobians) minus ours (NumPyro's, at the same
    constrained values) is one constant. Runs where PyMC is installed (the bench venv)."""
    pytest.importorskip("pymc", reason="PyMC belongs to the bench environment")
    from _peer_models import PYMC_MODELS
    from numpyro import handlers
    from numpyro.infer.util import log_density

    from models.registry import FAMILIES

    case = bench_families.build_case(name)
    if name == "hmm-k3":
        case = case._replace(y=case.y[:200])
    model = FAMILIES[case.family].variants[case.variant].model
    peer = PYMC_MODELS[case.family](case.y, case.options)
    logp = peer.compile_logp(jacobian=False, mode="FAST_COMPILE")
    differences = []
    for seed in range(3):
        trace = handlers.trace(handlers.seed(model, seed)).get_trace(case.y, **case.options)
        params = {k: v["value"] for k, v in trace.items()
                  if v["type"] == "sample" and not v["is_observed"]}
        if name == "sv":  # a Cauchy draw of mu puts exp(h) where float64 rounds to 2^k
            phi = 0.9 - 0.1 * seed  # sigma = 0.2 + 0.1 seed, sampled as its stationary sd
            params.update(mu=-1.0 + 0.2 * seed, phi=phi,
                          stationary_sd=(0.2 + 0.1 * seed) / np.sqrt(1 - phi**2),
                          h_white=np.random.default_rng(seed).normal(size=len(case.y)))
        ours, _ = log_density(model, (case.y,), dict(case.options), params)
        values = {k: np.asarray(v) for k, v in params.items()}
        extra = 0.0
        if case.family == "hmm":
            # ours samples the means in any order and sorts them: PyMC's ordered vector
            free, extra = _ordered_inverse(np.sort(values.pop("mu_unordered")),
                                           case.options.get("positive_means", False))
            values["mu_unconstrained"] = free
        differences.append(float(logp(_pymc_point(peer, values))) - float(ours) - extra)
    assert np.ptp(differences) < 1e-6 * max(1.0, abs(float(ours))), differences


def test_hmm_logp_section_shows_each_row_with_its_ratio_to_the_peer():
    """A finished hmm-logp job (its "skipped" is the list of skipped peers) is rendered row
    by row; x peer is the peer row's best time over this row's."""
    rows = [{"case": "forward pass K=2 T=100", "name": "dynamax hmm_filter",
             "logp_grad_us": 300.0, "value_rel_diff": 0.0, "grad_rel_diff": 0.0},
            {"case": "forward pass K=2 T=100", "name": "ours hmm_log_likelihood",
             "logp_grad_us": 100.0, "value_rel_diff": 1e-16, "grad_rel_diff": 2e-16}]
    result = {"job": "hmm", "rows": rows, "skipped": [{"name": "pymc", "reason": "elsewhere"}]}
    text = "\n".join(run_all.hmm_logp_section({"hmm-logp": [result]}))
    assert "| forward pass K=2 T=100 | ours hmm_log_likelihood | 100.0 | 3.00 |" in text
    assert "failed" not in text and "Skipped: pymc" in text
