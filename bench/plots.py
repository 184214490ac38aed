"""Pictures of a run: sample grids of real, joint and conditional generations."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from bench.data.dataset import MultimodalDataset, quantize
from bench.devices import device_of
from bench.store import atomic_write


@torch.no_grad()
def save_sample_grid(model, test: MultimodalDataset, path: Path, *, rows: int = 8, seed: int = 0) -> Path:
    """One PNG with three blocks of M image rows x ``rows`` columns: real test tuples (a seeded random pick),
    joint samples ``model.sample``, and every modality generated from the first modality alone."""
    device = device_of([model])
    generator = torch.Generator(device=device).manual_seed(seed)
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:rows]
    x, _ = next(test.subset(pick).batches(rows, device=device))
    observed = torch.zeros(len(x[test.modalities[0]]), len(test.modalities), dtype=torch.bool, device=device)
    observed[:, 0] = True
    blocks = [x, model.sample(len(observed), generator=generator), model.generate(x, observed, generator=generator)]
    images = torch.cat([quantize(block[m]).cpu() for block in blocks for m in test.modalities])
    grid = make_grid(images, nrow=len(observed), padding=1, pad_value=1.0)
    atomic_write(Path(path), lambda fh: save_image(grid, fh, format="png"), "wb")
    return Path(path)
