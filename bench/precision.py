"""Mixed precision (``--amp``): models train and generate under ``torch.autocast`` to bfloat16, metrics stay float32;
the cache keys of what it touches say so."""

from __future__ import annotations

import torch

from bench.config import RunConfig
from bench.interface import generate_subsets


def amp_key(cfg: RunConfig) -> tuple:
    """Extra key parts for mixed precision (none at full precision, so full-precision keys stay as they were)."""
    return () if cfg.amp == "none" else ("amp", cfg.amp)


def autocast(cfg: RunConfig, device: torch.device):
    """``torch.autocast`` to bfloat16 on ``device`` with ``--amp bf16``; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.amp == "bf16")


class MixedPrecisionModel:
    """Runs a model's ``generate``/``generate_subsets``/``sample`` under ``autocast`` and hands back float32 images, so that metrics
    (classifiers, features, distances) always run at full precision."""

    def __init__(self, model, cfg: RunConfig, device: torch.device) -> None:
        self.model, self.cfg, self.device = model, cfg, device
        self.modalities = model.modalities

    def generate(self, x, observed, *, generator=None):
        with autocast(self.cfg, self.device):
            out = self.model.generate(x, observed, generator=generator)
        return {m: v.float() for m, v in out.items()}

    def generate_subsets(self, x, subsets, targets, *, generator=None):
        with autocast(self.cfg, self.device):
            out = generate_subsets(self.model, x, subsets, targets, generator=generator)
        return {m: v.float() for m, v in out.items()}

    def sample(self, n, *, generator=None):
        with autocast(self.cfg, self.device):
            out = self.model.sample(n, generator=generator)
        return {m: v.float() for m, v in out.items()}
