"""The ELBO terms against torch.distributions."""

import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

from baselines.posteriors import gaussian_kl, laplace_nll


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(2, 5, 7, generator=g) * 2, torch.randn(2, 5, 7, generator=g)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=-1)
    got = gaussian_kl(mu, logvar)
    assert got.shape == (2, 5)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_gaussian_kl_is_zero_at_the_prior():
    assert torch.equal(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))


@pytest.mark.parametrize("scale", [0.75, 0.2])
def test_laplace_nll_matches_torch_distributions(scale):
    g = torch.Generator().manual_seed(1)
    x, loc = torch.rand(4, 3, 28, 28, generator=g), torch.randn(4, 3, 28, 28, generator=g)
    ref = -Laplace(loc, scale).log_prob(x).sum(dim=(1, 2, 3))
    got = laplace_nll(x, loc, scale)
    assert got.shape == (4,)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)


def test_laplace_nll_default_scale_is_075():
    x, loc = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    torch.testing.assert_close(laplace_nll(x, loc), laplace_nll(x, loc, 0.75))
