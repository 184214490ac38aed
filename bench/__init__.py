"""mm-latent-bench: Multi-modal Latent Diffusion (arXiv 2306.04445) and the multimodal VAEs it was compared with,
on PolyMNIST and MNIST-SVHN. The public API (``bench.api``, loaded on first use):

- ``evaluate(model, suite, ...)``: score any ``MultimodalModel`` object, no training -> ``Results``;
- ``run_suite(suite, ...)``: what ``mm-bench`` / ``python -m bench.run`` does -> ``Results``;
- ``load_suite(name, ...)``: a suite's data, classifiers and feature extractors;
- ``load_model(name, path)``: weights exported with ``--export``;
- ``register_model(name, scales=...)`` and ``register_presets(suite, name, presets)``: add a model class from your own
  file or package, with its config on each suite it runs on;
- ``register_suite(cls)`` (a ``Suite``) and ``register_metric(metric)`` (a ``LabelMetric`` or ``FeatureMetric``): add a
  suite or a metric (docs/extending/).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "evaluate": "bench.api", "run_suite": "bench.api", "load_suite": "bench.api", "LoadedSuite": "bench.api",
    "load_model": "bench.exports", "Results": "bench.results", "RunConfig": "bench.config",
    "register_model": "bench.registry", "register_presets": "bench.presets", "register_suite": "bench.registry",
    "Suite": "bench.suites.base", "register_metric": "bench.metrics.registry", "LabelMetric": "bench.metrics.registry",
    "FeatureMetric": "bench.metrics.registry", "MultimodalModel": "bench.interface", "DataSpec": "bench.interface",
    "ModelConfig": "bench.interface", "TrainRecord": "bench.interface", "BenchError": "bench.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bench' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
