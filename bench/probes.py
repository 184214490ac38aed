"""Coherence against compute: every trained model is scored at a few points of its training, and each row's training
status (converged, or still rising) is read from those points.

A ``Probe`` is the training monitor's epoch hook (``bench.health``). For a model that states its plan
(``PlannedTraining``: the optimiser steps of each stage), it scores the model at the end of the first epoch of the
stage planned last (MLD: the score network) whose steps reach each fraction f of that stage's plan
(``ProbeConfig.fractions``), on the same ``tuples`` held-out test tuples (a pick seeded by the run's seed) with a
generator seeded alike at every point, so that two points differ only by the weights:

- ``k1``: the mean over ordered pairs (s, t), s != t, of the accuracy of clf_t on x̂_t generated from x_s alone (the
  tables' k = 1 column on fewer tuples); ``self``: the mean over s of clf_s's accuracy on x̂_s from x_s;
- ``joint``: the share of ``tuples`` joint samples on whose class every modality's classifier agrees (with labels
  of several attributes, the mean over attributes);
- ``fd_clf``: the mean over image modalities of the Fréchet distance, in classifier features, between those joint
  samples and the real test images (biased upwards at this sample size, and alike at every point).

Each point also holds the stage's optimiser ``steps``, its ``fraction`` of the plan and the training ``seconds``
(the probes' own time excluded). Global random state and every module's train/eval mode are restored after a point,
so probing never changes the trained weights. The points are kept beside the training's checkpoint
(``<checkpoint>.points.json``) so that a resumed training keeps those taken before the interruption.

Each run's training status (converged or still rising) is read from its points by ``bench.training_status``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch

from bench.data.dataset import MultimodalDataset, random_subset
from bench.interface import PlannedTraining, ability, generate_subsets
from bench.metrics.frechet import FeatureStats, frechet_distance
from bench.metrics.quality import extract
from bench.metrics.registry import LabelContext
from bench.store import save_json

PROBE_VERSION = 1  # in the trained models' cache key (their records hold the points): raise it when a point changes


@dataclass(frozen=True)
class ProbeConfig:
    """Where and on how much a model is scored during training (a suite scale's ``probe``)."""

    fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    tuples: int = 200  # test tuples per point (capped at the test set); as many joint samples

    def __post_init__(self) -> None:
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions) or self.tuples < 2:
            raise ValueError(f"probe fractions {self.fractions} must lie in (0, 1] and tuples {self.tuples} be >= 2")

    def key(self) -> tuple:
        """What the trained models' cache key holds of the probes."""
        return ("probe", PROBE_VERSION, tuple(self.fractions), self.tuples)


@dataclass(frozen=True)
class ProbePlan:
    """What the probes of one run share: the config, the training set's size (for each model's plan), the test set,
    the classifiers' context and, per image modality, its classifier-feature extractor and real test features."""

    config: ProbeConfig
    n_train: int
    test: MultimodalDataset
    context: LabelContext
    images: Mapping[str, tuple] = field(default_factory=dict)

    def probe(self, model, *, seed: int, saved: Path | None = None) -> "Probe":
        return Probe(model, self.n_train, self.test, self.context, self.config, seed=seed, images=self.images,
                     saved=saved)


class Probe:
    """The epoch hook that scores ``model`` during its training (module docstring); ``points`` after the fit."""

    def __init__(self, model, n_train: int, test: MultimodalDataset, context: LabelContext, config: ProbeConfig, *,
                 seed: int, images: Mapping[str, tuple] | None = None, saved: Path | None = None) -> None:
        self.model, self.context, self.seed, self.saved = model, context, seed, saved
        planner = ability(model, PlannedTraining)
        plan = planner.planned_steps(n_train) if planner is not None else {}
        self.stage = next(reversed(plan), None)
        self.planned = plan.get(self.stage, 0)
        self.thresholds = sorted({max(1, round(f * self.planned)) for f in config.fractions}) if self.planned else []
        self.data = random_subset(test, min(config.tuples, len(test)), seed=seed)
        self.images = dict(images or {})  # modality -> (feature extractor, real test features)
        self.points: list[dict] = self._load()
        self._resumed = False
        self._clock = time.perf_counter()

    def _load(self) -> list[dict]:
        if self.saved is None or not self.saved.is_file():
            return []
        try:
            points = json.loads(self.saved.read_text())
        except ValueError:
            return []
        return points if isinstance(points, list) else []

    def __call__(self, stage: str, epoch: int, steps: int, loss: float, seconds: float | None) -> None:
        if stage != self.stage or not self.thresholds:
            return
        if not self._resumed:  # points saved before an interruption, up to where this training resumed
            self.points = [p for p in self.points if p["steps"] < steps]
            self._resumed = True
        done = {t for p in self.points for t in p["covers"]}
        due = [t for t in self.thresholds if t <= steps and t not in done]
        if not due:
            return
        began = time.perf_counter()
        self.points.append({"covers": due, "epoch": epoch + 1, "steps": steps, "fraction": steps / self.planned,
                            "seconds": seconds if seconds is not None else began - self._clock, "loss": loss,
                            **self.score()})
        if self.saved is not None:
            save_json(self.points, self.saved)
        self._clock += time.perf_counter() - began

    @torch.no_grad()
    def score(self) -> dict[str, float]:
        """k1, self, joint and fd_clf of the model as it is now (module docstring)."""
        model, context = self.model, self.context
        modes = {name: module.training for name, module in model.named_modules()}
        rng = torch.random.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        model.eval()
        try:
            return self._score(model, context)
        finally:
            for name, module in model.named_modules():
                module.training = modes[name]
            torch.random.set_rng_state(rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)

    def _score(self, model, context: LabelContext) -> dict[str, float]:
        modalities = tuple(model.modalities)
        n = len(modalities)
        generator = torch.Generator(device=context.device).manual_seed(self.seed)
        x, y = next(self.data.batches(len(self.data), device=context.device))
        eye = torch.eye(n, dtype=torch.bool, device=context.device)
        out = generate_subsets(model, x, eye, torch.ones_like(eye), generator=generator)
        labels = context.label_space.rows(y).repeat(n, 1)  # (n B, A): the labels once per source
        hits = torch.stack([
            (context.predict(m, out[m]) == labels).view(n, -1).double().mean(1) for m in modalities
        ])  # hits[t, s]: target t given source s (mean over tuples and attributes)
        off = ~eye
        samples = model.sample(len(self.data), generator=generator)
        preds = torch.stack([context.predict(m, samples[m]) for m in modalities])  # (M, B, A)
        point = {"k1": float(hits[off].mean()), "self": float(hits[eye].mean()),
                 "joint": float((preds == preds[0]).all(0).double().mean())}
        if self.images:
            distances = [frechet_distance(FeatureStats.from_features(extract(extractor, samples[m])), real.stats)
                         for m, (extractor, real) in self.images.items()]
            point["fd_clf"] = sum(distances) / len(distances)
        return point

    def finished(self, train_seconds: float | None) -> list[dict]:
        """The points of a finished training, each with ``total_seconds``: its stage's seconds plus the time the
        stages before it took (``train_seconds`` of the whole fit minus the probed stage's own)."""
        if self.saved is not None:
            self.saved.unlink(missing_ok=True)
        if not self.points:
            return []
        offset = max(0.0, (train_seconds or 0.0) - self.points[-1]["seconds"])
        return [{**{k: v for k, v in p.items() if k != "covers"}, "total_seconds": p["seconds"] + offset}
                for p in self.points]
