import math

import pytest
import torch

from mld.sde import VPSDE

SDE = VPSDE()


def test_marginal_closed_form_matches_simulated_forward_sde():
    """Euler–Maruyama on dz = f dt + g dW from a fixed z0 reaches mean alpha(t) z0 and std sigma(t)."""
    g = torch.Generator().manual_seed(0)
    z0 = torch.tensor([1.5, -0.7, 3.0], dtype=torch.float64)
    n, steps, t_end = 20_000, 400, 0.6
    z = z0.expand(n, 3).clone()
    dt = t_end / steps
    for i in range(steps):
        t = torch.tensor(i * dt, dtype=torch.float64)
        z = z + SDE.drift(z, t) * dt + SDE.diffusion(t) * math.sqrt(dt) * torch.randn(z.shape, generator=g, dtype=torch.float64)
    t = torch.tensor(t_end, dtype=torch.float64)
    torch.testing.assert_close(z.mean(0), SDE.alpha(t) * z0, atol=0.03, rtol=0)
    torch.testing.assert_close(z.std(0), SDE.sigma(t).expand(3), atol=0.02, rtol=0)


def test_perturb_samples_have_the_marginal_moments():
    g = torch.Generator().manual_seed(1)
    t = torch.full((50_000, 1), 0.3)
    z0 = torch.full((50_000, 1), 2.0)
    zt = SDE.perturb(z0, t, torch.randn(z0.shape, generator=g))
    assert abs(zt.mean() - 2.0 * SDE.alpha(torch.tensor(0.3))) < 0.01
    assert abs(zt.std() - SDE.sigma(torch.tensor(0.3))) < 0.01


def test_boundary_values():
    zero, one = torch.tensor(0.0), torch.tensor(1.0)
    assert SDE.alpha(zero) == 1.0 and SDE.sigma(zero) == 0.0
    assert SDE.beta(zero) == pytest.approx(0.1) and SDE.beta(one) == pytest.approx(20.0)
    # alpha(1) = exp(-(20 - 0.1)/4 - 0.05): almost pure noise at T = 1
    assert SDE.alpha(one).item() == pytest.approx(math.exp(-19.9 / 4 - 0.05))
    t = torch.linspace(0, 1, 101)
    torch.testing.assert_close(SDE.alpha(t) ** 2 + SDE.sigma(t) ** 2, torch.ones(101))


def test_training_times_are_uniform_on_eps_one():
    t = SDE.sample_time(100_000, generator=torch.Generator().manual_seed(0))
    assert t.min() >= SDE.t_eps and t.max() <= 1.0
    assert abs(t.mean() - 0.5) < 0.005
