"""Seeded weight initialisation that is the same on every device and leaves the global RNG alone."""

from __future__ import annotations

import torch
from torch import nn


def reinitialize(module: nn.Module, seed: int) -> None:
    """Re-draw the default init of every submodule of ``module`` (those with ``reset_parameters``) from ``seed``.

    The draw happens on the CPU, so a seed gives the same weights on any device; the module is moved back after.
    """
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    module.to("cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for sub in module.modules():
            if hasattr(sub, "reset_parameters"):
                sub.reset_parameters()
    module.to(device)
