import torch
from torch import nn

from mld.ema import EMA


def test_update_is_the_exponential_average():
    net = nn.Linear(3, 2)
    ema = EMA(net, decay=0.9)
    start = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)
    torch.testing.assert_close(ema.net.weight, start + 0.1)
    ema.update(net)
    torch.testing.assert_close(ema.net.weight, start + 0.19)  # start + 1 - 0.9^2


def test_average_does_not_track_gradients_and_is_a_copy():
    net = nn.Linear(3, 2)
    ema = EMA(net, decay=0.999)
    assert all(not p.requires_grad for p in ema.net.parameters())
    assert ema.net.weight.data_ptr() != net.weight.data_ptr()
    x = torch.randn(4, 3)
    torch.testing.assert_close(ema(x), net(x))
