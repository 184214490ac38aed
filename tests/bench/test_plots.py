import numpy as np
import torch
from PIL import Image

from bench.data.dataset import MultimodalDataset
from bench.plots import save_sample_grid


class Constant(torch.nn.Module):
    """A stand-in model: every sample is mid-grey, every conditional output is all white."""

    modalities = ("m0", "m1")

    def sample(self, n, *, generator=None):
        return {m: torch.full((n, 3, 28, 28), 0.5) for m in self.modalities}

    def generate(self, x, observed, *, generator=None):
        return {m: torch.ones_like(v) for m, v in x.items()}


def test_grid_has_three_blocks_of_m_rows(tmp_path):
    images = {m: torch.zeros(10, 3, 28, 28, dtype=torch.uint8) for m in ("m0", "m1")}
    path = save_sample_grid(Constant(), MultimodalDataset(images, torch.arange(10)), tmp_path / "g.png", rows=4)
    grid = np.array(Image.open(path).convert("L"))
    # 3 blocks x 2 modalities = 6 rows of 28 px plus 1 px padding; 4 columns
    assert grid.shape == (6 * 29 + 1, 4 * 29 + 1)
    centres = [int(grid[1 + 29 * r + 14, 15]) for r in range(6)]
    assert centres == [0, 0, 128, 128, 255, 255]
