"""Benchmarks (not part of the test run): ``python3 -m benchmarks`` runs them all and
writes benchmarks/RESULTS.md; see benchmarks/README.md."""
