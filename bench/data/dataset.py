"""In-memory multimodal dataset: one stored tensor per modality (uint8, int16 for sentences; its kind:
``bench.data.kinds``) plus shared labels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from bench.data.kinds import KINDS, ModalitySpec, quantize  # noqa: F401  (quantize: re-exported for the metrics)
from bench.errors import BenchError


@dataclass(frozen=True)
class MultimodalDataset:
    """Tuples ``(x_m0, ..., x_m{M-1}, y)`` stored as ``images[m]: (N, ...)`` in its kind's stored form (images
    uint8) and ``labels: int64 (N,)`` (or (N, A) for A attributes, ``bench.data.labels``), with ``specs[m]`` the
    modality's kind and shape (``bench.data.kinds``; a modality without one is an image of its stored shape). Row i
    of every modality belongs to the same tuple (same label). Data stays in its stored form in memory; ``batches``
    converts it to model inputs (images float in [0, 1], text and sentences one-hot) per batch on the requested
    device.
    """

    images: dict[str, Tensor]
    labels: Tensor
    specs: dict[str, ModalitySpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.labels.shape[0]
        specs = {m: self.specs.get(m) or ModalitySpec("image", tuple(x.shape[1:])) for m, x in self.images.items()}
        for m, x in self.images.items():
            try:
                KINDS.get(specs[m].kind).check(x, specs[m])
            except ValueError as exc:
                raise ValueError(f"modality {m}: {exc}") from None
            if x.shape[0] != n:
                raise ValueError(f"modality {m}: {x.shape[0]} items for {n} labels")
        object.__setattr__(self, "specs", specs)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.images)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of one item of each modality as models see it (image (C, H, W), text (L, V))."""
        return {m: self.specs[m].model_shape for m in self.images}

    @property
    def kinds(self) -> dict[str, str]:
        return {m: self.specs[m].kind for m in self.images}

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: Tensor | slice) -> "MultimodalDataset":
        return MultimodalDataset({m: x[index] for m, x in self.images.items()}, self.labels[index], self.specs)

    @property
    def nbytes(self) -> int:
        return sum(x.nbytes for x in self.images.values()) + self.labels.nbytes

    def resident(self, device: torch.device | str, *, budget: float = 0.25) -> "MultimodalDataset":
        """This dataset (still in its stored form) moved to ``device`` when it takes at most ``budget`` of the device's free
        memory, so that ``batches`` index it there with no host-to-device copy per batch; else itself. On the CPU
        it is itself."""
        device = torch.device(device)
        if device.type == "cpu" or self.labels.device == device:
            return self
        free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
        if self.nbytes > budget * free:
            return self
        return MultimodalDataset({m: x.to(device) for m, x in self.images.items()}, self.labels.to(device), self.specs)

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
        drop_last: bool = False,
    ) -> Iterator[tuple[dict[str, Tensor], Tensor]]:
        """Yield ``(dict[str, float model inputs (B, ...)], labels (B,))`` (images (B, C, H, W) in [0, 1], text
        one-hot (B, L, V)); every item once per pass. The order is drawn on the CPU (``generator``) and indexes the
        data where it is (``resident``)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(self.labels.device)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            x = {m: KINDS.get(self.specs[m].kind).to_model(v[idx].to(device), self.specs[m])
                 for m, v in self.images.items()}
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


def dataset_sha256(ds: MultimodalDataset) -> str:
    """SHA-256 over the labels and every modality's image bytes, in modality order."""
    h = hashlib.sha256(ds.labels.numpy().tobytes())
    for m in ds.modalities:
        h.update(m.encode())
        h.update(ds.images[m].numpy().tobytes())
    return h.hexdigest()


def stratified_split(labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices; class d contributes round(test_fraction * n_d) random members to test."""
    if not 0 < test_fraction < 1:
        raise BenchError(f"test_fraction must be in (0, 1), got {test_fraction}", "pass e.g. test_fraction=0.2")
    rng = np.random.default_rng(seed)
    test = [
        rng.permutation(members)[: round(test_fraction * members.size)]
        for members in (np.flatnonzero(labels == d) for d in np.unique(labels))
    ]
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx
