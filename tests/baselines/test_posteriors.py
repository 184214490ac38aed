"""The KL terms against torch.distributions."""

import torch
from torch.distributions import Normal, kl_divergence

from baselines.posteriors import gaussian_kl


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(2, 5, 7, generator=g) * 2, torch.randn(2, 5, 7, generator=g)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=-1)
    got = gaussian_kl(mu, logvar)
    assert got.shape == (2, 5)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_gaussian_kl_is_zero_at_the_prior():
    assert torch.equal(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
