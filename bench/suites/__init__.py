"""Benchmark suites; importing this package registers each one in ``SUITES``."""

from bench.suites import mnist_svhn, mnist_svhn_text, polymnist  # noqa: F401
