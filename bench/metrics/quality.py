"""Sample quality in a feature space: every registered metric (``bench.metrics.registry``: Fréchet distance,
precision/recall and density/coverage, KID, plug-ins) of generated images against the real test images of the same
modality (the FID protocol of MoPoE and MMVAE+, ``fid/fid_score.py``).

For a feature extractor phi and target modality t:
- unconditional: the n_joint prior samples' phi(x̂_t) against phi(x_t) of every test tuple;
- conditional, for every subset S with t not in S (reconstructions are excluded): phi(x̂_t | x_S) of every test
  tuple against the same real set; per subset size k the mean over every such (S, t), each pair weighted equally.
Generated images are quantised to the uint8 grid first, as for coherence. FD uses ``bench.metrics.frechet``,
precision/recall (k = 3) and density/coverage (k = 5) ``bench.metrics.prdc``, KID ``bench.metrics.kid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from bench.data.dataset import MultimodalDataset, quantize
from bench.metrics.generation import SubsetBatch
from bench.metrics import prdc
from bench.metrics.features import FeatureExtractor
from bench.metrics.frechet import FeatureStats
from bench.metrics.names import UNCOND, given, metric_key
from bench.metrics.registry import feature_metrics
from bench.metrics.subsets import all_subsets, single_source_pairs, subset_names


@dataclass
class QualityResult:
    """One model's quality in one feature space. ``conditional[metric]``: float64 (S, M), NaN where t is in S or t
    is not ``scored``; ``unconditional[metric]``: float64 (M,), NaN where not scored. ``subsets``: bool (S, M) in
    ``bench.metrics.subsets`` order; ``scored``: the modalities scored (those with a feature extractor, e.g. the
    images of a suite with text)."""

    extractor: str
    modalities: tuple[str, ...]
    subsets: Tensor
    conditional: dict[str, Tensor]
    unconditional: dict[str, Tensor]
    n_real: int
    n_conditional: int  # generated images per (S, t)
    n_unconditional: int
    scored: tuple[str, ...] = ()  # empty: every modality

    @property
    def targets(self) -> Tensor:
        """bool (M,): the scored modalities."""
        return torch.tensor([not self.scored or m in self.scored for m in self.modalities])

    def by_size(self, metric: str) -> dict[int, float]:
        """k -> mean of the metric over every (S, t) with |S| = k, t not in S and t scored."""
        sizes = self.subsets.sum(dim=1)
        values = self.conditional[metric]
        return {
            k: float(values[(sizes == k).unsqueeze(1) & ~self.subsets & self.targets].mean())
            for k in range(1, len(self.modalities))
        }

    def metrics(self) -> dict[str, float]:
        """Flat record keys (``bench.metrics.names``): ``<measure>_<space>_<modality>`` (unconditional),
        ``<measure>_<space>_uncond`` (mean over modalities), ``<measure>_<space>_k<k>`` (conditional, per subset
        size), and for a registered metric's ``pairs`` (FD) also ``<measure>_<space>_<s>_to_<t>`` (t generated given s
        alone)."""
        out: dict[str, float] = {}
        targets, space = self.targets, self.extractor
        for measure in self.unconditional:
            per_modality = self.unconditional[measure]
            for m, v, scored in zip(self.modalities, per_modality.tolist(), targets.tolist()):
                if scored:
                    out[metric_key(measure, m, space)] = v
            out[metric_key(measure, UNCOND, space)] = float(per_modality[targets].mean())
            for k, v in self.by_size(measure).items():
                out[metric_key(measure, given(k), space)] = v
        for measure in (p for entry in feature_metrics() for p in entry.pairs if p in self.conditional):
            for row, t, condition in single_source_pairs(self.subsets, self.modalities):
                if bool(targets[t]):
                    out[metric_key(measure, condition, space)] = float(self.conditional[measure][row, t])
        return out

    def to_dict(self) -> dict[str, Any]:
        names = subset_names(self.subsets, self.modalities)
        return {
            "extractor": self.extractor,
            "n_real": self.n_real,
            "n_conditional": self.n_conditional,
            "n_unconditional": self.n_unconditional,
            "unconditional": {k: {m: x for m, x, scored in zip(self.modalities, v.tolist(), self.targets.tolist()) if scored}
                              for k, v in self.unconditional.items()},
            "conditional": {
                metric: {
                    name: {t: v for t, v in zip(self.modalities, row.tolist()) if not math.isnan(v)}
                    for name, row in zip(names, values)
                }
                for metric, values in self.conditional.items()
            },
        }


@dataclass
class RealFeatures:
    """phi of the real test images of one modality, their statistics, and their k-NN radii per (k_pr, k_dc), each
    computed once for every generated set scored against them."""

    features: Tensor  # (N, d)
    stats: FeatureStats = field(init=False)
    _radii: dict[tuple[int, int], tuple[Tensor, Tensor]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.stats = FeatureStats.from_features(self.features)

    def radii(self, k_pr: int = 3, k_dc: int = 5) -> tuple[Tensor, Tensor]:
        if (k_pr, k_dc) not in self._radii:
            self._radii[k_pr, k_dc] = prdc.real_radii(self.features, k_pr=k_pr, k_dc=k_dc)
        return self._radii[k_pr, k_dc]


def extract(extractor: FeatureExtractor, images: Tensor, batch_size: int = 256) -> Tensor:
    """phi(quantize(images)) in batches: float32 (N, d) on the images' device."""
    chunks = [extractor.features(quantize(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
    return torch.cat(chunks).to(images.device)


def real_features(test: MultimodalDataset, modality: str, extractor: FeatureExtractor, device) -> Tensor:
    """phi of every test image of ``modality`` (uint8 stored, read as floats in [0, 1])."""
    images = torch.cat([x[modality] for x, _ in test.batches(256, device=device)])
    return extract(extractor, images)


class FeatureCollector:
    """A ``GenerationConsumer`` (``bench.metrics.generation``) that keeps phi of every generated image that quality
    is scored on: per target t (a modality with an extractor; text has none) the subsets without t, and the
    unconditional samples."""

    def __init__(self, modalities: Sequence[str], extractors: Mapping[str, FeatureExtractor]):
        self.modalities = tuple(modalities)
        self.extractors = extractors
        self.scored = tuple(m for m in self.modalities if m in extractors)
        self.subsets = all_subsets(len(modalities))
        self.wanted = ~self.subsets & torch.tensor([m in extractors for m in self.modalities])
        self.conditional_features: dict[str, list[Tensor]] = {m: [] for m in self.scored}  # (S_t, b, d) per batch
        self.unconditional_features: dict[str, list[Tensor]] = {m: [] for m in self.scored}  # (b, d) per chunk

    def conditional(self, batch: SubsetBatch) -> None:
        for t, m in enumerate(self.modalities):
            if m not in self.extractors:
                continue
            _, images = batch.target(m, self.wanted[:, t])  # every subset without t, in row order
            feats = extract(self.extractors[m], images.flatten(0, 1))
            self.conditional_features[m].append(feats.view(images.shape[0], images.shape[1], -1).cpu())

    def joint(self, samples: Mapping[str, Tensor]) -> None:
        for m in self.scored:
            self.unconditional_features[m].append(extract(self.extractors[m], samples[m]).cpu())

    def result(self, name: str, real: Mapping[str, RealFeatures]) -> QualityResult:
        """Score the collected features against ``real[m]`` for every modality (``score``)."""
        n_subsets, n_mod = self.subsets.shape
        measures = [measure for entry in feature_metrics() for measure in entry.measures]
        conditional = {k: torch.full((n_subsets, n_mod), math.nan, dtype=torch.float64) for k in measures}
        unconditional = {k: torch.full((n_mod,), math.nan, dtype=torch.float64) for k in measures}
        n_conditional = 0
        for t, m in enumerate(self.modalities):
            if m not in self.extractors:
                continue
            ref = real[m]
            generated = torch.cat(self.conditional_features[m], dim=1)  # (S_t, N, d)
            n_conditional = generated.shape[1]
            for row, s in zip(generated, torch.nonzero(~self.subsets[:, t]).flatten().tolist()):
                for k, v in score(row.to(ref.features.device), ref).items():
                    conditional[k][s, t] = v
            joint = torch.cat(self.unconditional_features[m])
            for k, v in score(joint.to(ref.features.device), ref).items():
                unconditional[k][t] = v
        return QualityResult(
            extractor=name,
            modalities=self.modalities,
            subsets=self.subsets,
            conditional=conditional,
            unconditional=unconditional,
            n_real=len(next(iter(real.values())).features),
            n_conditional=n_conditional,
            n_unconditional=sum(len(f) for f in self.unconditional_features[self.scored[0]]),
            scored=self.scored if len(self.scored) < len(self.modalities) else (),
        )


def score(generated: Tensor, real: RealFeatures) -> dict[str, float]:
    """Every registered metric (``bench.metrics.registry``) of one generated feature set against one real set."""
    return {k: v for entry in feature_metrics() for k, v in entry.compute(generated, real).items()}
