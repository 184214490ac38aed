"""One generation pass for every metric of an evaluation: each test batch generated under all 2^M - 1 conditioning
subsets (only the (subset, target) pairs some consumer reads) and the unconditional samples, handed to every
consumer (coherence's ``CoherenceCounter``, quality's ``FeatureCollector``, any ``GenerationConsumer``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Mapping, Protocol, Sequence

import torch
from torch import Tensor
from tqdm import tqdm

from bench.data.dataset import MultimodalDataset
from bench.interface import MultimodalModel, generate_subsets
from bench.metrics.subsets import all_subsets


@dataclass(frozen=True)
class SubsetBatch:
    """What one test batch of b tuples generated under the conditioning subsets (``generation_pass``):
    ``images[m]: (S_m, b, C, H, W)`` is target m given each subset in ``rows[m]`` (long (S_m,), ascending rows of
    the ``bench.metrics.subsets`` order); only the (subset, target) pairs some consumer wants are generated.
    ``labels`` (b,) are the tuples' digits."""

    images: dict[str, Tensor]
    rows: dict[str, Tensor]
    labels: Tensor

    def target(self, m: str, wanted: Tensor) -> tuple[Tensor, Tensor]:
        """(rows, images (len(rows), b, C, H, W)) of target ``m`` restricted to the subsets with ``wanted[s]``
        (bool (S,)); empty when none was generated."""
        if m not in self.images:
            return torch.zeros(0, dtype=torch.long), torch.zeros(0)
        keep = wanted.cpu()[self.rows[m]]
        if bool(keep.all()):
            return self.rows[m], self.images[m]
        return self.rows[m][keep], self.images[m][keep.to(self.images[m].device)]


class GenerationConsumer(Protocol):
    """Receives what one evaluation pass generates (``generation_pass``)."""

    wanted: Tensor
    """bool (S, M): the (subset, target) pairs it reads; the pass generates the union over its consumers."""

    def conditional(self, batch: SubsetBatch) -> None:
        """One test batch of b tuples under the subsets."""

    def joint(self, samples: Mapping[str, Tensor]) -> None:
        """One chunk of unconditional samples."""


def generation_pass(
    model: MultimodalModel,
    test: MultimodalDataset,
    consumers: Sequence[GenerationConsumer],
    *,
    batch_size: int = 256,
    n_joint: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> int:
    """Generate once for every metric: each batch of b test tuples goes through one
    ``bench.interface.generate_subsets`` call under all 2^M - 1 subsets, asking only for the (subset, target)
    pairs some consumer wants (ceil(N / batch_size) calls; a model with a native ``generate_subsets`` encodes each
    tuple once and decodes only those rows, any other gets ``generate`` on the b * (2^M - 1) expanded rows). Then
    ``n_joint`` (default ``len(test)``) samples from ``model.sample`` in calls of at most ``batch_size * (2^M - 1)``
    rows. Every output is handed to each consumer. Memory: one call holds at most ``batch_size * (2^M - 1)`` rows of
    every modality (7,936 for PolyMNIST at batch_size=256), plus the model's activations. Returns ``n_joint``."""
    modalities = tuple(model.modalities)
    if len(test) == 0:
        raise ValueError("empty test set")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n_joint = len(test) if n_joint is None else n_joint
    if n_joint < 1:
        raise ValueError(f"n_joint must be positive, got {n_joint}")
    device = torch.device(device)
    masks = all_subsets(len(modalities))
    n_subsets = masks.shape[0]
    targets = torch.stack([c.wanted.cpu() for c in consumers]).any(dim=0) if consumers else torch.zeros_like(masks)
    rows = {m: targets[:, t].nonzero().flatten() for t, m in enumerate(modalities) if bool(targets[:, t].any())}
    masks, on_device = masks.to(device), targets.to(device)
    with torch.no_grad():
        batches = test.resident(device).batches(batch_size, device=device)
        for x, y in tqdm(batches, total=math.ceil(len(test) / batch_size), desc="generate", disable=not progress):
            b = y.shape[0]
            out = generate_subsets(model, x, masks, on_device, generator=generator)
            images = {m: out[m].view(len(rows[m]), b, *out[m].shape[1:]) for m in rows}
            batch = SubsetBatch(images, rows, y)
            for consumer in consumers:
                consumer.conditional(batch)
        chunks = _chunks(n_joint, batch_size * n_subsets)
        total = math.ceil(n_joint / (batch_size * n_subsets))
        for n in tqdm(chunks, total=total, desc="sample", disable=not progress):
            samples = model.sample(n, generator=generator)
            for consumer in consumers:
                consumer.joint(samples)
    return n_joint


def _chunks(total: int, size: int) -> Iterator[int]:
    """Sizes of consecutive chunks of at most ``size`` that add up to ``total``."""
    for start in range(0, total, size):
        yield min(size, total - start)

