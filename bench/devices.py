"""Which device work runs on: the user's ``--device`` choice, and the device a module lives on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from bench.errors import BenchError
from bench.logs import LOG


def cuda_problem(device: torch.device | None = None) -> str | None:
    """Why CUDA cannot run work here (not built in, no GPU, a driver too old for this torch, ...), or None: one
    small tensor operation on the device, since ``torch.cuda.is_available()`` alone can be true on a machine where
    the first kernel fails."""
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no usable CUDA device"
    try:
        (torch.ones(1, device=device or "cuda") + 1).item()
    except Exception as exc:  # RuntimeError / torch.AcceleratorError from the driver or runtime
        return f"CUDA fails on {device or 'cuda'}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return None


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when it works, else cpu (with a logged warning saying why); an explicit CUDA request that
    cannot run is a clear error. The choice is logged."""
    if name == "auto":
        problem = cuda_problem()
        if problem is None:
            device = torch.device("cuda")
            LOG.info("device: %s (%s; --device auto)", device, torch.cuda.get_device_name(device))
        else:
            device = torch.device("cpu")
            LOG.warning("device: cpu (--device auto: %s); every stage runs on the CPU", problem)
        return device
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BenchError(f"unknown device {name!r}", "use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and (device.index or 0) >= max(torch.cuda.device_count(), 1):
        raise BenchError(f"device {name!r} does not exist ({torch.cuda.device_count()} GPUs)", "use --device cuda:0")
    if device.type == "cuda" and (problem := cuda_problem(device)) is not None:
        raise BenchError(f"device {name!r} requested but {problem}", "use --device cpu, or fix the CUDA install")
    LOG.info("device: %s", device)
    return device


def usable_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may keep busy: its affinity mask, capped by a cgroup CPU quota (v2 ``cpu.max``, v1
    ``cpu/cpu.cfs_quota_us``) where a container or CI runner sets one; ``os.cpu_count()`` sees neither, and a torch
    that starts a thread per visible core under a 2-CPU quota runs several times slower."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota(cgroup)
    return max(1, min(cpus, int(quota))) if quota else cpus


def _cgroup_quota(cgroup: Path) -> float | None:
    """The cgroup CPU quota in CPUs, or None where there is none (or no cgroup file to read)."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(int(quota) / int(period), 1.0)
    except (ValueError, ZeroDivisionError):
        return None


def device_of(modules: Iterable[object]) -> torch.device:
    """Device of the first parameter of the first ``nn.Module`` that has one; CPU if none has any."""
    params = (p for module in modules if isinstance(module, nn.Module) for p in module.parameters())
    return next((p.device for p in params), torch.device("cpu"))


CPU_ROWS = 1024
"""Rows per network call on the CPU when a call could take more: past about a thousand images the activations leave
the caches (measured on 2 cores: a PolyMNIST decoder costs 49 us/row at 1,024 rows and 70 at 4,096, a classifier 10.6
and 16.9). On a GPU calls stay whole."""


def chunked(fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
    """``fn(*inputs)`` computed on consecutive chunks of ``CPU_ROWS`` rows of every input on the CPU, concatenated
    (a network that treats rows independently gives the same values either way), in one call elsewhere."""
    rows = inputs[0].shape[0]
    if inputs[0].device.type != "cpu" or rows <= CPU_ROWS:
        return fn(*inputs)
    return torch.cat([fn(*parts) for parts in zip(*(x.split(CPU_ROWS) for x in inputs))])
