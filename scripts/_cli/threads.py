"""One BLAS/LAPACK thread per process, set before NumPy or SciPy load their BLAS.

JAX on CPU runs Cholesky factorisations, triangular and linear solves through LAPACK
(SciPy's OpenBLAS), inside the sampling loop of the exact likelihoods (the additive-outlier
route for series with gaps, the Lyapunov solve of the stationary start). OpenBLAS starts
one thread per core for each call and its threads spin while they wait; with parallel
chains (one XLA device per chain, each calling LAPACK at once) they fight over the cores.
Measured on the 2-core machine, default ARMA(1, 1) fit of the differenced weekly CO2 series
(T = 2,283, 81 gaps), 4 parallel chains: sampling 136.3 s with OpenBLAS's default, 9.6 s
with one thread; one chain alone runs as fast either way (scripts/benchmarks/REPORT.md).

Importing this module sets ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 where the
user has not set them; :mod:`_cli` imports it first, before anything loads NumPy. A BLAS
already loaded keeps its threads, so a script must import ``_cli`` before NumPy.
"""

import os

#: The variables set, and the value each gets when the user has not set it.
BLAS_THREAD_VARIABLES = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

for _name, _value in BLAS_THREAD_VARIABLES.items():
    os.environ.setdefault(_name, _value)
