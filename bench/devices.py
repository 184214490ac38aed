"""Which device work runs on: the user's ``--device`` choice, and the device a module lives on."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from bench.errors import BenchError


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; an unavailable CUDA request is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BenchError(f"unknown device {name!r}", "use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"device {name!r} requested but CUDA is not available", "use --device cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise BenchError(f"device {name!r} does not exist ({torch.cuda.device_count()} GPUs)", "use --device cuda:0")
    return device


def device_of(modules: Iterable[object]) -> torch.device:
    """Device of the first parameter of the first ``nn.Module`` that has one; CPU if none has any."""
    params = (p for module in modules if isinstance(module, nn.Module) for p in module.parameters())
    return next((p.device for p in params), torch.device("cpu"))
