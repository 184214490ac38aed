"""Learning-rate schedules by epoch, a registry of factors f(e, E) that multiply the configured rate at epoch e
(0-based) of E:

    constant  f = 1                              (every reference recipe: Adam at a fixed rate)
    cosine    f = (1 + cos(pi e / E)) / 2        (Loshchilov & Hutter, arXiv 1608.03983, without restarts)

The cosine is a deviation for small-scale presets whose coherence keeps oscillating at the fixed small-scale rate
(MoPoE's converged preset on MNIST-SVHN, docs/mld_limits.md): the rate falls from ``lr`` at the first epoch to
lr (1 + cos(pi (E - 1) / E)) / 2 at the last. The factor depends on the epoch alone, so a resumed training sets the
same rate as an uninterrupted one and the optimiser state needs nothing more.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

LR_SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda epoch, epochs: 1.0,
    "cosine": lambda epoch, epochs: 0.5 * (1.0 + math.cos(math.pi * epoch / epochs)),
}


def set_lr(optimizer: torch.optim.Optimizer, lr: float, schedule: str, epoch: int, epochs: int) -> None:
    """Set every parameter group of ``optimizer`` to ``lr`` times the factor of ``schedule`` at ``epoch``."""
    rate = lr * LR_SCHEDULES[schedule](epoch, epochs)
    for group in optimizer.param_groups:
        group["lr"] = rate
