"""Benchmark suites; importing this package registers each one in ``SUITES``."""

from bench.suites import polymnist  # noqa: F401
