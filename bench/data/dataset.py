"""In-memory multimodal dataset: one uint8 image tensor per modality plus shared labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor


@dataclass(frozen=True)
class MultimodalDataset:
    """Tuples ``(x_m0, ..., x_m{M-1}, y)`` stored as ``images[m]: uint8 (N, C, H, W)`` and ``labels: int64 (N,)``.

    Row i of every modality belongs to the same tuple (same digit label). Images stay uint8 in memory;
    ``batches`` converts to float in [0, 1] per batch on the requested device.
    """

    images: dict[str, Tensor]
    labels: Tensor

    def __post_init__(self) -> None:
        n = self.labels.shape[0]
        for m, x in self.images.items():
            if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[0] != n:
                raise ValueError(f"modality {m}: expected uint8 (N={n}, C, H, W), got {x.dtype} {tuple(x.shape)}")

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.images)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {m: tuple(x.shape[1:]) for m, x in self.images.items()}

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: Tensor | slice) -> "MultimodalDataset":
        return MultimodalDataset({m: x[index] for m, x in self.images.items()}, self.labels[index])

    @property
    def nbytes(self) -> int:
        return sum(x.nbytes for x in self.images.values()) + self.labels.nbytes

    def resident(self, device: torch.device | str, *, budget: float = 0.25) -> "MultimodalDataset":
        """This dataset (still uint8) moved to ``device`` when it takes at most ``budget`` of the device's free
        memory, so that ``batches`` index it there with no host-to-device copy per batch; else itself. On the CPU
        it is itself."""
        device = torch.device(device)
        if device.type == "cpu" or self.labels.device == device:
            return self
        free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
        if self.nbytes > budget * free:
            return self
        return MultimodalDataset({m: x.to(device) for m, x in self.images.items()}, self.labels.to(device))

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        drop_last: bool = False,
    ) -> Iterator[tuple[dict[str, Tensor], Tensor]]:
        """Yield ``(dict[str, float (B, C, H, W) in [0, 1]], labels (B,))``; every item once per pass. The order
        is drawn on the CPU (``generator``) and indexes the images where they are (``resident``)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(self.labels.device)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            x = {m: to_float(v[idx].to(device)) for m, v in self.images.items()}
            yield x, self.labels[idx].to(device)


def random_subset(ds: MultimodalDataset, n: int | None, *, seed: int) -> MultimodalDataset:
    """A seeded random subset of ``n`` tuples in their original order (all of them when ``n`` is None or too large)."""
    if n is None or n >= len(ds):
        return ds
    index = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    return ds.subset(index.sort().values)


def to_float(x: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [0, 1]."""
    return x.float().div_(255.0)


def quantize(x: Tensor) -> Tensor:
    """Clamp to [0, 1] and round to the uint8 grid, as saving a PNG would (float32 out)."""
    return x.clamp(0.0, 1.0).mul(255.0).round_().div_(255.0)
