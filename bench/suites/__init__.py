"""Benchmark suites; importing this package registers each one in ``SUITES``."""

from bench.suites import mnist_svhn, polymnist  # noqa: F401
