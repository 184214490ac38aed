"""One training loop for every stage that trains by epochs (the VAEs, MLD's autoencoders and score network, the
classifiers): epochs over a stage's batches, the loss summed on the device and read once per epoch, the health
monitor (``bench.health``), resumable checkpoints (``bench.checkpoints``) and a progress bar.

A stage brings what is its own: ``batches()`` (one epoch's batches, with its own shuffling generator), ``step(batch,
log)`` (one optimiser step, or one per network, that adds its detached losses to ``log.add``), and ``state()`` /
``restore(state)`` (its weights, optimisers and generators, for the checkpoint).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from torch import Tensor
from tqdm.auto import tqdm

from bench.checkpoints import NO_CHECKPOINT, Checkpointer
from bench.errors import BenchError
from bench.health import TrainingMonitor


@dataclass
class TrainLog:
    """A stage's training so far: the mean loss per epoch (``losses``), the mean of each other named part per epoch
    (``parts``), the batches stepped over (``steps``) and the wall time (``seconds``, resumed runs included, the
    monitor's epoch hook excluded)."""

    losses: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    _sums: dict[str, Any] = field(default_factory=dict, repr=False)
    _rows: int = field(default=0, repr=False)

    def add(self, parts: Mapping[str, Tensor], rows: int) -> None:
        """Add one step's named losses (``"loss"`` the objective), each a mean over ``rows`` items, to the epoch's
        sums; they stay on the device until the epoch ends."""
        for key, value in parts.items():
            self._sums[key] = self._sums.get(key, 0.0) + value.detach().float() * rows
        self._rows += rows

    def _end_epoch(self) -> float:
        """Close the epoch: its means (one host read per part) join the curves; returns the mean loss."""
        means = {key: float(total) / self._rows for key, total in self._sums.items()}
        self._sums, self._rows = {}, 0
        self.losses.append(means.pop("loss"))
        for key, value in means.items():
            self.parts.setdefault(key, []).append(value)
        return self.losses[-1]


def train_epochs(
    stage: str,
    epochs: int,
    batches: Callable[[], Iterable[Any]],
    step: Callable[[Any, TrainLog], None],
    *,
    state: Callable[[], dict[str, Any]],
    restore: Callable[[dict[str, Any]], None],
    monitor: TrainingMonitor | None = None,
    checkpoint: Checkpointer | None = None,
    progress: bool = False,
    desc: str | None = None,
    begin_epoch: Callable[[int], None] | None = None,
    settled_from: int = 0,
    keep_last: bool = False,
) -> TrainLog:
    """Train stage ``stage`` for ``epochs`` epochs: each calls ``begin_epoch(epoch)``, then ``step(batch, log)`` for
    every batch of ``batches()``, then reports the epoch's mean loss to ``monitor`` (default: a ``TrainingMonitor``
    of the stage, which raises ``Diverged``) and offers the checkpoint ``state()`` plus the log. A ``checkpoint``
    saved by an interrupted run is restored first (``restore``), and the training continues with the next epoch; the
    file is removed at the end, unless ``keep_last`` (a sub-stage whose parent removes it once every sibling is
    done: its state after the last epoch is then always saved)."""
    monitor = TrainingMonitor(stage) if monitor is None else monitor
    checkpoint = NO_CHECKPOINT if checkpoint is None else checkpoint
    log, first, spent = TrainLog(), 0, 0.0
    if (saved := checkpoint.load()) is not None:
        if "state" not in saved or "losses" not in saved:
            raise BenchError(f"{checkpoint.path} was written by another version of the training loop",
                             f"delete {checkpoint.path}: the stage then trains from its first epoch")
        restore(saved["state"])
        log = TrainLog(losses=list(saved["losses"]), parts={k: list(v) for k, v in saved["parts"].items()},
                       steps=saved["steps"])
        monitor.resume(stage, log.losses)
        first, spent = saved["epoch"] + 1, saved["seconds"]
    start = time.perf_counter() - spent
    bar = tqdm(range(first, epochs), desc=desc or stage, disable=not progress, leave=False, initial=first, total=epochs)
    for epoch in bar:
        if begin_epoch is not None:
            begin_epoch(epoch)
        for batch in batches():
            step(batch, log)
            log.steps += 1
        loss = log._end_epoch()
        bar.set_postfix(loss=f"{loss:.1f}")
        ended = time.perf_counter()
        monitor.epoch_end(stage, epoch, log.steps, loss, settled_from=settled_from, seconds=ended - start)
        start += time.perf_counter() - ended  # the monitor's hook (e.g. a probe) is not training time
        checkpoint.maybe_save(epoch, lambda: {
            "state": state(), "losses": log.losses, "parts": log.parts, "steps": log.steps,
            "seconds": time.perf_counter() - start,
        }, final=keep_last and epoch + 1 == epochs)
    if not keep_last:
        checkpoint.done()
    log.seconds = time.perf_counter() - start
    return log
