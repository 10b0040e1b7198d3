r"""
Fit an ARMA(p, q) model to a time series with NumPyro's NUTS
=============================================================

``fit_arma.py [options]`` is ``fit.py arma [options]``: the same command, kept under this
name so that existing command lines keep working. The command itself is the registry-driven
fit of :mod:`_cli.fit_command`; this page is the ARMA family's maths.

The model, for observations :math:`y_1, \dots, y_T`:

.. math::

    y_t = \mu + \sum_{i=1}^{p} \phi_i\, y_{t-i} + \sum_{j=1}^{q} \theta_j\, \varepsilon_{t-j}
          + \varepsilon_t, \qquad \varepsilon_t \sim \mathcal{N}(0, \sigma^2)

(with the exact likelihood written about the mean :math:`\mu` instead, and with the
intercept called ``intercept`` in the conditional models:
:math:`y_t - \mu = \sum_i \phi_i (y_{t-i} - \mu) + \varepsilon_t + \sum_j \theta_j
\varepsilon_{t-j}`).

Likelihood (``--likelihood``, one variant of ``models.arma.family.FAMILY``):

* ``exact`` (default) -- the exact Gaussian likelihood by a Kalman filter started from the
  stationary distribution (``models.arma.exact``), as statsmodels' ``ARIMA``, R's
  ``arima`` and PyMC's statespace module compute it. Here :math:`\mu` is the *process mean*
  (statsmodels' ``const`` with ``trend="c"``). Priors on the series' own scale:
  :math:`\mu \sim \mathcal N(\bar y, (10\, s_y)^2)` and :math:`\sigma \sim`
  half-Cauchy(:math:`s_y`), :math:`\bar y` and :math:`s_y` the mean and sd of the observed
  values (``--mu-loc``, ``--mu-scale``, ``--sigma-scale`` set them; run.json records the
  numbers used); :math:`\phi` and :math:`\theta` uniform in their partial
  autocorrelations, so every draw is stationary and invertible (Monahan 1984; Jones 1980).
  Missing observations (empty or NaN cells) are allowed: the filter skips their update.
  ``--forecast H`` adds H-step forecast draws.
* ``conditional`` -- the recursive-error ("conditional sum of squares") likelihood, with the
  posteriordb ``arma11`` priors: the site ``intercept`` :math:`\sim \mathcal N(0, 10^2)`
  is the constant of the recursion (process mean ``intercept / (1 - sum_i phi_i)``),
  :math:`\phi_i, \theta_j \sim \mathcal N(0, 2^2)` with no stationarity or invertibility constraint,
  :math:`\sigma \sim` half-Cauchy(2.5). The values before the series are fixed: pre-sample
  observations equal the intercept, pre-sample errors are 0, and the errors are recovered one
  step at a time, :math:`\varepsilon_t = y_t - \nu_t` with :math:`\nu_t = \mu + \sum_i \phi_i
  y_{t-i} + \sum_j \theta_j \varepsilon_{t-j}`; every one of the T errors is scored. That
  recursion is one ``jax.lax.scan`` (``models.arma.conditional``). With ``--order 1 1``
  this is exactly the posteriordb posterior ``arma-arma11``
  (``scripts/validate_posteriordb.py`` checks it). It runs on the fast path of
  ``models.arma.conditional_fast`` (the AR part vectorised, the MA recursion one scan that
  carries the gradient forward); ``conditional-reference`` runs the plain two-buffer scan
  of ``models.arma.conditional``, the same density to 1e-10.

``docs/arma_exact.md`` says when to use which, and what each costs.

The default data is the series that posteriordb's ``arma11`` uses (simulated ARMA(1,1),
T = 200), shipped inside the package as ``models/data/arma11.csv``.

Everything runs in float64 (``numpyro.enable_x64()``): the error recursion of an ARMA model
near the edge of invertibility amplifies rounding, and float32 changes the posterior there.

Outputs (``--out DIR``; the folder appears complete or not at all):

* ``posterior.nc`` -- ArviZ InferenceData: posterior, posterior_predictive (series simulated
  from the recursion at each draw), sample_stats, observed_data; dims ``time``, ``ar_lag``,
  ``ma_lag``, with the time coordinate from ``--time-column``;
* ``summary.csv`` -- mean, sd, 94% HDI, MCSE, bulk and tail ESS, R-hat per parameter;
* ``trace.png``, ``ppc.png`` -- trace plot and posterior predictive check;
* ``forecast.png`` (with ``--forecast H``) -- the data, the forecast median and its 50% and
  90% bands; the draws are in the ``predictions`` group of ``posterior.nc`` (dim
  ``horizon``);
* ``run.json`` -- command line, seed, versions, platform, devices, chain method, timings,
  diagnostics and the gate's verdict.

Exit codes: 0 success; 2 bad input (one ``error:`` line on stderr, nothing written); 3 the
diagnostics gate failed (divergences, R-hat, ESS or E-BFMI; the outputs are written so the
trace plot can be inspected; ``--allow-warnings`` turns this into a warning).

Examples::

    python scripts/fit_arma.py --out results/arma11
    python scripts/fit_arma.py --data sales.csv --column units --time-column month \
        --order 2 1 --out results/sales
    cat series.csv | python scripts/fit_arma.py --data - --column y --chains 2

References:

* J. F. Monahan, "A note on enforcing stationarity in autoregressive-moving average models",
  Biometrika 71 (1984); R. H. Jones, "Maximum likelihood fitting of ARMA models to time
  series with missing observations", Technometrics 22 (1980).
* G. E. P. Box, G. M. Jenkins, G. C. Reinsel, G. M. Ljung, *Time Series Analysis:
  Forecasting and Control*, 5th ed., Wiley (2015), sec. 7.1 (conditional likelihood).
* M. Magnusson, P. Bürkner, A. Vehtari, "posteriordb: a set of posteriors for Bayesian
  inference and probabilistic programming" (posterior ``arma-arma11``).
* A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P. Bürkner, "Rank-normalization, folding,
  and localization: an improved R-hat" (2021), Bayesian Analysis 16(2) -- R-hat, ESS limits.
"""

from _cli.fit_command import main

if __name__ == "__main__":
    main(family="arma", prog="fit_arma.py")
