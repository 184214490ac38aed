import torch
from torch import nn

from bench.seeding import reinitialize


def test_same_seed_same_weights_and_global_rng_untouched():
    a, b = nn.Sequential(nn.Linear(4, 3), nn.GroupNorm(1, 3)), nn.Sequential(nn.Linear(4, 3), nn.GroupNorm(1, 3))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    reinitialize(a, 7)
    assert torch.equal(torch.rand(1), before)  # the global stream is where it was
    reinitialize(b, 7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    reinitialize(b, 8)
    assert not torch.equal(a[0].weight, b[0].weight)


def test_keeps_dtype_and_handles_modules_without_parameters():
    net = nn.Linear(2, 2).double()
    reinitialize(net, 0)
    assert net.weight.dtype == torch.float64
    reinitialize(nn.Flatten(), 0)
