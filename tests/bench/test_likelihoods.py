"""The image likelihoods against torch.distributions."""

import pytest
import torch
from torch.distributions import Laplace, Normal

from bench.likelihoods import LIKELIHOODS, gaussian_nll, laplace_nll


@pytest.mark.parametrize("scale", [0.75, 0.2])
def test_laplace_nll_matches_torch_distributions(scale):
    g = torch.Generator().manual_seed(1)
    x, loc = torch.rand(4, 3, 28, 28, generator=g), torch.randn(4, 3, 28, 28, generator=g)
    ref = -Laplace(loc, scale).log_prob(x).sum(dim=(1, 2, 3))
    got = laplace_nll(x, loc, scale)
    assert got.shape == (4,)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("std", [0.25, 1.0])
def test_gaussian_nll_matches_torch_distributions_and_broadcasts(std):
    g = torch.Generator().manual_seed(2)
    x, loc = torch.rand(4, 3, 28, 28, generator=g), torch.randn(2, 4, 3, 28, 28, generator=g)
    ref = -Normal(loc, std).log_prob(x).sum(dim=(2, 3, 4))
    got = gaussian_nll(x, loc, std)
    assert got.shape == (2, 4)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)


def test_default_scales_and_registry():
    x, loc = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    torch.testing.assert_close(laplace_nll(x, loc), laplace_nll(x, loc, 0.75))
    assert LIKELIHOODS == {"laplace": laplace_nll, "gaussian": gaussian_nll}
