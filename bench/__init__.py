"""Benchmarks: each module writes its section to bench/results/, and `python -m bench`
runs them all and joins the sections into bench/RESULTS.md."""
