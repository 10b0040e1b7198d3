r"""
Compare the renewal family's EpiEstim model with EpiEstim itself
================================================================

``python scripts/validate_renewal_epiestim.py [--draws N] [--out TABLE.md]``

On the bundled 2009 school influenza outbreak (EpiEstim's ``Flu2009``) with its serial
interval, R constant over consecutive 7-day windows from day 2 (EpiEstim's ``t_start`` =
2, 9, 16, ...), Gamma prior with mean 5 and sd 5 (EpiEstim's default), one row per window:

* EpiEstim: ``estimate_R(method = "non_parametric_si")`` run by ``Rscript`` (the Debian
  package ``r-cran-epiestim``); skipped, and said, when ``Rscript`` or EpiEstim is missing;
* the closed form of Cori et al. (2013) as :func:`models.renewal.epiestim_posterior`
  computes it;
* NUTS on :func:`models.renewal.epiestim_model` (``--draws`` draws after 500 warm-up, one
  chain; ``--draws 0`` skips it).

Posterior mean, sd and the 5 % and 95 % quantiles, as a Markdown table (stdout, and
``--out``). Exit code 1 when EpiEstim ran and a closed-form number differs from it by
more than 1e-6 relative.
"""

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "models" / "data"
WINDOW, PRIOR_MEAN, PRIOR_SD = 7, 5.0, 5.0

R_PROGRAM = """
suppressMessages(library(EpiEstim))
inc <- read.csv("{incidence}")
si <- read.csv("{interval}")$w
T <- nrow(inc)
t_start <- seq(2, T, by = {window}); t_end <- pmin(t_start + {window} - 1, T)
res <- estimate_R(inc$I, method = "non_parametric_si",
                  config = make_config(list(si_distr = si / sum(si), t_start = t_start,
                                            t_end = t_end, mean_prior = {mean},
                                            std_prior = {sd})))
out <- res$R[, c("t_start", "t_end", "Mean(R)", "Std(R)", "Quantile.0.05(R)",
                 "Quantile.0.95(R)")]
names(out) <- c("t_start", "t_end", "mean", "sd", "q05", "q95")
write.csv(out, stdout(), row.names = FALSE)
"""


def read_column(path: Path, column: str) -> np.ndarray:
    with path.open() as handle:
        return np.array([float(row[column]) for row in csv.DictReader(handle)])


def run_epiestim() -> np.ndarray | None:
    """EpiEstim's (mean, sd, q05, q95) per window, or None when it cannot run."""
    if shutil.which("Rscript") is None:
        print("Rscript not found: EpiEstim column skipped", file=sys.stderr)
        return None
    program = R_PROGRAM.format(incidence=DATA / "influenza_school_2009_incidence.csv",
                               interval=DATA / "influenza_school_2009_serial_interval.csv",
                               window=WINDOW, mean=PRIOR_MEAN, sd=PRIOR_SD)
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
        handle.write(program)
    process = subprocess.run(["Rscript", handle.name], capture_output=True, text=True,
                             timeout=300)
    Path(handle.name).unlink()
    if process.returncode != 0:
        print(f"EpiEstim did not run (is r-cran-epiestim installed?): "
              f"{process.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    rows = list(csv.DictReader(io.StringIO(process.stdout)))
    return np.array([[float(row[k]) for k in ("mean", "sd", "q05", "q95")] for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--draws", type=int, default=4000, help="NUTS draws (0: skip)")
    parser.add_argument("--out", type=Path, default=None, help="write the table here too")
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    from numpyro.infer import MCMC, NUTS

    from models.renewal import epiestim_model, epiestim_posterior

    incidence = read_column(DATA / "influenza_school_2009_incidence.csv", "I")
    interval = read_column(DATA / "influenza_school_2009_serial_interval.csv", "w")
    interval = interval / interval.sum()
    closed = epiestim_posterior(incidence, interval, WINDOW, PRIOR_MEAN, PRIOR_SD)
    exact = np.column_stack([
        closed.shape / closed.rate, np.sqrt(closed.shape) / closed.rate,
        stats.gamma.ppf(0.05, closed.shape, scale=1 / closed.rate),
        stats.gamma.ppf(0.95, closed.shape, scale=1 / closed.rate)])
    epiestim = run_epiestim()
    nuts = None
    if args.draws:
        mcmc = MCMC(NUTS(epiestim_model), num_warmup=500, num_samples=args.draws,
                    num_chains=1, progress_bar=False)
        mcmc.run(jax.random.PRNGKey(2009), y=incidence, generation_interval=interval,
                 window=WINDOW, r_prior_mean=PRIOR_MEAN, r_prior_sd=PRIOR_SD)
        draws = np.asarray(mcmc.get_samples()["R"])
        nuts = np.column_stack([draws.mean(0), draws.std(0),
                                np.quantile(draws, 0.05, 0), np.quantile(draws, 0.95, 0)])

    columns = [("EpiEstim", epiestim), ("closed form", exact), ("NUTS", nuts)]
    columns = [(name, values) for name, values in columns if values is not None]
    header = "| days | " + " | ".join(f"{name} mean (sd) [5 %, 95 %]" for name, _ in columns)
    lines = [header + " |", "|---" * (len(columns) + 1) + "|"]
    for w in range(len(closed.shape)):
        cells = [f"{values[w, 0]:.4f} ({values[w, 1]:.4f}) [{values[w, 2]:.4f}, "
                 f"{values[w, 3]:.4f}]" for _, values in columns]
        lines.append(f"| {closed.first_day[w] + 1}-{closed.last_day[w] + 1} | "
                     + " | ".join(cells) + " |")
    table = "\n".join(lines)
    if epiestim is not None:
        gap = float(np.max(np.abs(epiestim - exact) / np.abs(exact)))
        table += f"\n\nlargest relative gap, closed form vs EpiEstim: {gap:.1e}"
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n")
    return 1 if epiestim is not None and gap > 1e-6 else 0


if __name__ == "__main__":
    sys.exit(main())
