"""Exponential moving average of a network's weights (MLD code ``src/components/ema.py``: decay 0.999,
timm ModelEmaV2 style).

theta_ema <- decay theta_ema + (1 - decay) theta after every call to ``update``; buffers are copied. The average
starts as a copy of the network at construction.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    def __init__(self, net: nn.Module, decay: float) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        mine = list(self.net.parameters())
        theirs = [p.detach() for p in net.parameters()]
        torch._foreach_lerp_(mine, theirs, 1.0 - self.decay)  # mine + (1 - decay)(theirs - mine), one fused call
        for mine, theirs in zip(self.net.buffers(), net.buffers()):
            mine.copy_(theirs)

    def forward(self, *args, **kwargs):
        return self.net(*args, **kwargs)
