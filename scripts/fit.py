r"""
Fit a model family to a time series with NumPyro's NUTS
=======================================================

``python scripts/fit.py FAMILY [options]``, one command for every family in
:mod:`models.registry`. ``python scripts/fit.py --help`` lists the families;
``python scripts/fit.py FAMILY --help`` lists its options. The family's maths, priors and
references are in its own package docstring (``models/arma/``, ...), and its choices of
likelihood, starting points and parameter sites come from its contract
(:class:`models.family.ModelFamily`).

Families:

* ``arma`` -- ARMA(p, q), ``--order P Q``. ``--likelihood exact`` (default): the exact
  Gaussian likelihood by a Kalman filter started from the stationary distribution, about
  the process mean ``mu``; stationary and invertible priors; missing values allowed;
  ``--forecast H``. ``--likelihood conditional``: the recursive-error likelihood with an
  ``intercept``, the posteriordb ``arma-arma11`` posterior (fast path);
  ``conditional-reference`` is the same density by the plain scan.
  ``docs/arma_exact.md`` says when to use which.

Everything runs in float64 (``numpyro.enable_x64()``): the exact likelihood's Kalman filter
and an ARMA error recursion near the edge of invertibility both need it.

Outputs (``--out DIR``; the folder appears complete or not at all): ``posterior.nc``
(ArviZ InferenceData: posterior, posterior_predictive, predictions with ``--forecast``,
sample_stats, observed_data; the time coordinate from ``--time-column``),
``summary.csv``, ``trace.png``, ``ppc.png``, ``forecast.png`` (with ``--forecast H``) and
``run.json`` (command line, seed, versions, platform, devices, timings, diagnostics, the
gate's verdict and the model's settings).

Exit codes: 0 success; 2 bad input (one ``error:`` line on stderr, nothing written); 3 the
diagnostics gate failed (divergences, R-hat, ESS or E-BFMI; the outputs are written so the
trace plot can be inspected; ``--allow-warnings`` turns this into a warning).

Examples::

    python scripts/fit.py arma --out results/arma11
    python scripts/fit.py arma --data sales.csv --column units --time-column month \
        --order 2 1 --forecast 12 --out results/sales
    cat series.csv | python scripts/fit.py arma --data - --column y --chains 2

Reference: A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P. Bürkner, "Rank-normalization,
folding, and localization: an improved R-hat" (2021), Bayesian Analysis 16(2) -- the
gate's R-hat and ESS limits.
"""

from _cli.fit_command import main

if __name__ == "__main__":
    main(prog="fit.py")
