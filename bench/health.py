"""Training health: every fit reports its per-epoch losses to a ``TrainingMonitor``, which keeps the loss curve of
each stage and stops a training that diverged, so that no table ever shows numbers from diverged weights.

Rule (``HealthRule``), per stage, on the mean loss of each epoch e (after ``warmup`` epochs and any epochs the model
declares as a changing objective, e.g. KL annealing):

    diverged at e  if  loss_e is NaN or infinite, or
                       loss_j > best_j + tolerance * max(|best_j|, floor * |loss_s|)
                       for the ``patience`` epochs j = e - patience + 1 .. e,

where best_j is the lowest epoch loss before j and loss_s the first judged epoch's. With the defaults (0.5, 2) a
loss 1.5x above its best (for a positive loss) for two epochs in a row is a divergence: MLD's score network falling
from 140 to 43 and jumping back to 131-167 (the loss of a network that outputs zero is about 160) is caught two
epochs after the jump. The ``floor`` (5% of where the curve started) keeps noise on a loss that has fallen near zero
from counting: a text autoencoder's cross-entropy falls from 34 to 0.01 and wobbles to 0.05 between epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from bench.errors import BenchError

EpochHook = Callable[[str, int, int, float, "float | None"], None]
"""``hook(stage, epoch, steps, loss, seconds)`` called after each finished epoch (e.g. to score the model during its
training, ``bench.probes``); ``seconds`` is the stage's training time so far, None when the model does not say."""


@dataclass(frozen=True)
class HealthRule:
    """When a stage's loss curve counts as diverged (module docstring)."""

    tolerance: float = 0.5
    patience: int = 2
    warmup: int = 1  # epochs never judged against the best (the first epoch's mean includes the initial loss)
    floor: float = 0.05  # rises are measured against at least this share of the first judged loss

    def __post_init__(self) -> None:
        if self.tolerance <= 0 or self.patience < 1 or self.warmup < 0:
            raise BenchError(
                f"health rule tolerance={self.tolerance}, patience={self.patience}, warmup={self.warmup}",
                "use tolerance > 0, patience >= 1, warmup >= 0",
            )

    def divergence(self, losses: list[float], settled_from: int = 0) -> int | None:
        """The 0-based epoch at which ``losses`` diverged by this rule, or None. Epochs before ``settled_from`` (a
        changing objective) and before ``warmup`` are only checked for NaN and never set the best."""
        start = max(self.warmup, settled_from)
        best = math.inf
        risen = 0
        for epoch, loss in enumerate(losses):
            if not math.isfinite(loss):
                return epoch
            if epoch < start:
                continue
            scale = max(abs(best), self.floor * abs(losses[start])) if best < math.inf else 0.0
            if best < math.inf and loss > best + self.tolerance * scale:
                risen += 1
                if risen >= self.patience:
                    return epoch
            else:
                risen = 0
            best = min(best, loss)
        return None


class Diverged(BenchError):
    """A training stage diverged. Carries the stage, the epoch and every stage's loss curve so far, so that the
    harness can report the row as "diverged at epoch N" with its curve, and move on to the other models."""

    def __init__(self, model: str, stage: str, epoch: int, loss: float, curves: dict[str, list[float]]) -> None:
        what = "NaN" if math.isnan(loss) else f"{loss:.4g}"
        super().__init__(
            f"{model}: the {stage} loss diverged at epoch {epoch + 1} (epoch loss {what})",
            "lower the learning rate or enable gradient clipping (the config's lr / grad_clip fields)",
        )
        self.model, self.stage, self.epoch, self.loss, self.curves = model, stage, epoch, loss, curves

    def to_dict(self) -> dict:
        """What a run record keeps of a divergence (epoch 1-based, as reported)."""
        return {"stage": self.stage, "epoch": self.epoch + 1, "loss": None if math.isnan(self.loss) else self.loss,
                "message": self.problem, "curves": self.curves}


@dataclass
class TrainingMonitor:
    """Collects ``curves[stage]`` (mean loss per epoch) and raises ``Diverged`` as soon as ``rule`` says so. ``hook``
    is called after every healthy epoch."""

    model: str
    rule: HealthRule = field(default_factory=HealthRule)
    hook: EpochHook | None = None
    curves: dict[str, list[float]] = field(default_factory=dict)

    def resume(self, stage: str, losses: list[float]) -> None:
        """Continue ``stage`` from a checkpoint: its epoch losses so far become the start of its curve."""
        self.curves[stage] = [float(v) for v in losses]

    def epoch_end(self, stage: str, epoch: int, steps: int, loss: float, *, settled_from: int = 0,
                  seconds: float | None = None) -> None:
        """Record the mean loss of epoch ``epoch`` (0-based) of ``stage`` after ``steps`` optimiser steps in all;
        ``settled_from`` is the first epoch whose objective no longer changes (0 without a schedule); ``seconds``
        the stage's training time so far (for the hook)."""
        curve = self.curves.setdefault(stage, [])
        curve.append(float(loss))
        bad = self.rule.divergence(curve, settled_from)
        if bad is not None:
            raise Diverged(self.model, stage, bad, curve[bad], {k: list(v) for k, v in self.curves.items()})
        if self.hook is not None:
            self.hook(stage, epoch, steps, float(loss), seconds)
