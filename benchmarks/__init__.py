"""Benchmarks (scripts: ``python benchmarks/<name>.py``); a package so tests import their reference code."""
