"""Benchmarks: each module writes its section to bench/results/, and `python -m bench`
runs them all and joins the sections into bench/RESULTS.md."""

import os

# One BLAS thread for both sides of the models' comparisons: on a busy 2-core machine
# OpenBLAS's spinning worker threads made small fits several times slower and the timings
# noise. The report's benchmarks run their children without it, as a user runs the command
# (bench.report.USERS_ENVIRONMENT); the report limits its own BLAS (clv_xl.blas_threads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
