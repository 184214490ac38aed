"""Measured cost of a stage: wall time and peak memory, recorded with every trained model and evaluation."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from pathlib import Path

import torch

from bench.store import provenance


_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # /proc exists only where sysconf does


def resident_bytes() -> int | None:
    """The process's current resident set size (Linux /proc), or None where it cannot be read."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def lifetime_peak_mb() -> float:
    """The process's peak resident set size so far (``ru_maxrss``), or NaN where the Unix-only ``resource`` module
    is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return math.nan
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


class StageCost:
    """``with StageCost(device) as cost: ...`` then ``cost.seconds``, ``cost.peak_mb`` and ``cost.start_mb`` (the
    same quantity when the stage began; ``peak_mb - start_mb`` is what the stage itself added), with ``cost.memory``
    naming what was measured:

    - ``"cuda max allocated"``: ``torch.cuda.max_memory_allocated`` over the stage (tensors on the GPU);
    - ``"rss sampled"``: the highest resident set size of the process sampled every ``interval`` s (Linux);
    - ``"rss lifetime peak"``: elsewhere, the process's peak RSS so far (``ru_maxrss``), an upper bound;
    - ``"unavailable"``: neither can be read (Windows); the peak is NaN.
    """

    def __init__(self, device: torch.device | str, interval: float = 0.02) -> None:
        self.device = torch.device(device)
        self.interval = interval
        self.seconds = 0.0
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self.memory = ""
        self._stop = threading.Event()
        self._peak = 0
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, resident_bytes() or 0)

    def __enter__(self) -> "StageCost":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_mb = torch.cuda.memory_allocated(self.device) / 2**20
        elif resident_bytes() is not None:
            self._peak = resident_bytes() or 0
            self.start_mb = self._peak / 2**20
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
            self.memory = "cuda max allocated"
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, resident_bytes() or 0)
            self.peak_mb = self._peak / 2**20
            self.memory = "rss sampled"
        else:
            self.peak_mb = lifetime_peak_mb()
            self.start_mb = math.nan  # unknown: the lifetime peak says nothing about the start
            self.memory = "rss lifetime peak" if not math.isnan(self.peak_mb) else "unavailable"
        self.seconds = time.perf_counter() - self._start

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "peak_memory_mb": self.peak_mb, "start_memory_mb": self.start_mb,
                "memory": self.memory}


def measured(compute, device):
    """``compute`` (-> (payload, record)) with its wall time and peak memory (``StageCost``) and provenance added to
    the record: what every stage's record carries."""

    def run() -> tuple:
        with StageCost(device) as cost:
            payload, record = compute()
        return payload, {**record, "cost": cost.to_dict(), "provenance": provenance(device)}

    return run
