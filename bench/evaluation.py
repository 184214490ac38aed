"""The evaluation of one trained model: one generation pass (``bench.metrics.generation``) read by every registered
metric (``bench.metrics.registry``), each label metric through its counter and the feature metrics through one
feature collector per feature space, cached as a stage. ``consumers`` is the one list of what reads a pass, used by
the pipeline and by ``--plan``'s probes alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from bench.config import RunConfig
from bench.measure import measured
from bench.metrics.generation import generation_pass
from bench.metrics.names import metric_key
from bench.metrics.quality import FeatureCollector, RealFeatures
from bench.metrics.registry import LabelContext, LabelMetric, label_metrics, metrics_identity
from bench.precision import MixedPrecisionModel, amp_key
from bench.prepare import Prepared
from bench.store import stable_hash

EVALUATION_VERSION = 5  # in the evaluation key: raise it with any change that can alter a metric (bench.versions)


@dataclass
class Consumers:
    """What reads one generation pass: each label metric with its counter, and a feature collector per feature
    space (by name)."""

    label: list[tuple[LabelMetric, Any]]
    quality: dict[str, FeatureCollector]

    def all(self) -> list:
        return [*(counter for _, counter in self.label), *self.quality.values()]

    def results(self, n_test: int, n_joint: int, real: Mapping[str, Mapping[str, RealFeatures]]) -> dict:
        """Every metric's numbers under their keys (``bench.metrics.names``), each label metric's detail and each
        feature space's quality detail, once the pass is over."""
        metrics, details = {}, {}
        for metric, counter in self.label:
            values, details[metric.name] = metric.read(counter, n_test, n_joint)
            metrics.update({metric_key(metric.name, condition): v for condition, v in values.items()})
        quality = {space: collector.result(space, real[space]) for space, collector in self.quality.items()}
        for result in quality.values():
            metrics.update(result.metrics())
        return {"metrics": metrics, "details": details, "quality": {space: q.to_dict() for space, q in quality.items()}}


def consumers(context: LabelContext, spaces: Mapping[str, tuple[Mapping, str]]) -> Consumers:
    """Fresh consumers of one pass: every registered label metric's counter built from ``context``, and a feature
    collector for each feature space (``spaces``: name -> (extractor per modality, identity))."""
    return Consumers([(metric, metric.counter(context)) for metric in label_metrics()],
                     {space: FeatureCollector(context.modalities, extractors) for space, (extractors, _) in spaces.items()})


def label_context(prep: Prepared) -> LabelContext:
    """What the label metrics of a run read with: its modalities, classifiers, specs, device and classes."""
    return LabelContext(tuple(prep.spec.modalities), prep.clfs, dict(prep.spec.specs), prep.device,
                        prep.suite.label_space)


def evaluation_key(model_key: str, clf_key: str, spaces: dict, n_test: int, scale, seed: int, cfg: RunConfig) -> str:
    """The cache key of one evaluation: the model, the classifiers, the feature spaces, the settings and the
    registered metrics (``bench.metrics.registry.metrics_identity``)."""
    identities = {space: identity for space, (_, identity) in spaces.items()}
    return stable_hash("evaluation", EVALUATION_VERSION, model_key, clf_key, identities, n_test, scale.n_joint,
                       scale.eval_batch_size, seed, *amp_key(cfg), metrics_identity())


def evaluate_model(prep: Prepared, name: str, seed: int, model, model_key: str) -> tuple[dict, bool]:
    """Every metric of one trained model from one generation pass, cached as a stage keyed by the model, the
    classifiers, the feature spaces, the evaluation settings and the metrics. Returns (results, whether from the
    cache): ``metrics``, ``counts`` (test tuples, joint samples, classes), ``details`` and ``quality``."""
    cfg, scale, device = prep.cfg, prep.scale, prep.device
    key = evaluation_key(model_key, prep.clf_record["key"], prep.spaces, len(prep.test), scale, seed, cfg)

    def compute() -> tuple[dict, dict]:
        generator = torch.Generator(device=device).manual_seed(seed)
        readers = consumers(label_context(prep), prep.spaces)
        n_joint = generation_pass(
            MixedPrecisionModel(model, cfg, device) if cfg.amp != "none" else model,
            prep.test,
            readers.all(),
            batch_size=scale.eval_batch_size,
            n_joint=scale.n_joint,
            generator=generator,
            device=device,
            progress=cfg.progress,
        )
        results = readers.results(len(prep.test), n_joint, prep.real)
        results["counts"] = {"n_test": len(prep.test), "n_joint": n_joint, "n_classes": prep.suite.label_space.logits,
                              "chance": prep.suite.label_space.chance}
        return {}, results  # the results are the record; the payload is empty

    _, results = prep.store.cached_torch("evaluations", key, measured(compute, device),
                                         label=f"{name} seed {seed}: evaluation")
    return {**results, "key": key}, ("evaluations", key) in prep.store.hits
