"""Benchmarks of the local stack: `make bench` (`python -m bench`) writes bench/results.md."""
