"""Resumable training: a training loop saves its whole state (weights, optimiser, EMA, generator states, epoch, loss
history) at epoch ends through a ``Checkpointer``, atomically, every ``every_seconds`` of training or every
``every_epochs`` epochs; a rerun after a kill loads it and continues with the next epoch. Every random draw of our
loops comes from generators whose states are saved, so a resumed training ends with the same weights as an
uninterrupted one on the same device. The file is removed when the stage completes (kept with ``keep``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from bench.logs import LOG
from bench.store import load_torch, save_torch


class Checkpointer:
    """The checkpoint file of one training stage, ``path`` (None: checkpointing off, every call a no-op)."""

    def __init__(
        self, path: str | Path | None, *, every_seconds: float = 600.0, every_epochs: int | None = None, keep: bool = False
    ) -> None:
        self.path = None if path is None else Path(path)
        self.every_seconds, self.every_epochs, self.keep = every_seconds, every_epochs, keep
        self._last = time.monotonic()

    def child(self, name: str) -> "Checkpointer":
        """The checkpointer of a sub-stage (e.g. one autoencoder of MLD), beside this one, with its settings."""
        path = None if self.path is None else self.path.with_name(f"{self.path.stem}-{name.replace(' ', '_')}.ckpt")
        return Checkpointer(path, every_seconds=self.every_seconds, every_epochs=self.every_epochs, keep=self.keep)

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (no file, or checkpointing off). A damaged file is a ``BenchError`` that says to
        delete it (the stage then restarts from its first epoch)."""
        if self.path is None or not self.path.is_file():
            return None
        state = load_torch(self.path, fix=f"delete {self.path}: the stage then trains from its first epoch")
        LOG.info("%s: resuming after epoch %d", self.path, state["epoch"] + 1)
        return state

    def due(self, epoch: int) -> bool:
        """Whether the end of 0-based ``epoch`` should be saved."""
        if self.path is None:
            return False
        if self.every_epochs is not None and (epoch + 1) % self.every_epochs == 0:
            return True
        return time.monotonic() - self._last >= self.every_seconds

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        """Save ``state`` as the end of 0-based ``epoch`` (atomically: a kill during the write keeps the old file)."""
        if self.path is None:
            return
        save_torch({**state, "epoch": epoch}, self.path)
        self._last = time.monotonic()
        LOG.debug("checkpoint %s: end of epoch %d", self.path, epoch + 1)

    def maybe_save(self, epoch: int, state, *, final: bool = False) -> None:
        """``save(epoch, state())`` when ``due(epoch)`` or ``final`` (the last epoch of a sub-stage whose parent
        completes later); ``state`` is only called then."""
        if final and self.path is not None or self.due(epoch):
            self.save(epoch, state())

    def done(self) -> None:
        """The stage completed: remove the file unless ``keep``."""
        if self.path is not None and not self.keep:
            self.path.unlink(missing_ok=True)


def generator_states(**generators: torch.Generator) -> dict[str, torch.Tensor]:
    """``name -> state`` of each generator, for a checkpoint."""
    return {name: g.get_state() for name, g in generators.items()}


def restore_generators(states: dict[str, torch.Tensor], **generators: torch.Generator) -> None:
    for name, g in generators.items():
        g.set_state(states[name])


NO_CHECKPOINT = Checkpointer(None)


def stage_checkpointer(cache: Path, stage: str, key: str, *, every_minutes: float, keep: bool) -> Checkpointer:
    """The resumable-training file of a cached stage, ``<cache>/checkpoints/<stage>-<key>.ckpt``, saved every
    ``every_minutes`` minutes (``--checkpoint-every``) and removed when the stage completes (kept with ``keep``,
    ``--keep-checkpoints``)."""
    return Checkpointer(cache / "checkpoints" / f"{stage}-{key}.ckpt", every_seconds=60 * every_minutes, keep=keep)
