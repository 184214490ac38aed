import pytest
import torch

from bench.data.dataset import MultimodalDataset, quantize, to_float


def make(n=10):
    images = {m: torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8) for m in ("m0", "m1")}
    return MultimodalDataset(images, torch.arange(n))


def test_batches_cover_every_item_once_and_scale_to_unit_interval():
    ds = make(10)
    seen, g = [], torch.Generator().manual_seed(0)
    for x, y in ds.batches(4, shuffle=True, generator=g):
        assert x["m0"].dtype == torch.float32 and 0 <= x["m0"].min() and x["m0"].max() <= 1
        for row, label in zip(x["m1"], y):
            assert torch.equal((row * 255).round().to(torch.uint8), ds.images["m1"][label])
        seen += y.tolist()
    assert sorted(seen) == list(range(10))


def test_rejects_mismatched_lengths_and_dtypes():
    with pytest.raises(ValueError, match="m1"):
        MultimodalDataset({"m0": torch.zeros(3, 3, 4, 4, dtype=torch.uint8), "m1": torch.zeros(2, 3, 4, 4, dtype=torch.uint8)}, torch.arange(3))
    with pytest.raises(ValueError):
        MultimodalDataset({"m0": torch.zeros(3, 3, 4, 4)}, torch.arange(3))


def test_quantize_matches_uint8_round_trip():
    x = torch.tensor([-0.2, 0.0, 0.5, 0.50196, 1.3])
    assert torch.equal(quantize(x), to_float(torch.tensor([0, 0, 128, 128, 255], dtype=torch.uint8)))
