"""Benchmarks of the project's speed and memory targets: `python benchmarks/run.py --help`."""
