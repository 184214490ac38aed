"""Masked product of experts against a per-sample loop over experts, and the reparameterisation noise."""

import pytest
import torch

from baselines.fusion import poe, reparameterize


def poe_by_loop(mu, logvar, mask, prior):
    """Reference: for each row, 1/sigma^2 = sum_{m in mask} 1/sigma_m^2 (+1), mu = sum mu_m/sigma_m^2 / (1/sigma^2)."""
    mu, logvar = mu.double(), logvar.double()
    out_mu, out_logvar = [], []
    for b in range(mu.shape[0]):
        precision = torch.full((mu.shape[-1],), 1.0 if prior[b] else 0.0, dtype=torch.float64)
        weighted = torch.zeros(mu.shape[-1], dtype=torch.float64)
        for m in range(mu.shape[1]):
            if mask[b, m]:
                p = 1.0 / torch.exp(logvar[b, m])
                precision = precision + p
                weighted = weighted + mu[b, m] * p
        out_mu.append(weighted / precision)
        out_logvar.append(-torch.log(precision))
    return torch.stack(out_mu), torch.stack(out_logvar)


def random_experts(batch=24, n_experts=4, dim=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, n_experts, dim, generator=g) * 2
    logvar = torch.randn(batch, n_experts, dim, generator=g) * 1.5
    mask = torch.rand(batch, n_experts, generator=g) < 0.5
    return mu, logvar, mask


class TestPoE:
    @pytest.mark.parametrize("prior_kind", ["none", "all", "per_row"])
    def test_matches_loop(self, prior_kind):
        mu, logvar, mask = random_experts()
        if prior_kind == "none":
            prior = torch.zeros(len(mu), dtype=torch.bool)
            mask[~mask.any(dim=1), 0] = True  # every row needs an expert
            arg = False
        elif prior_kind == "all":
            prior, arg = torch.ones(len(mu), dtype=torch.bool), True
        else:
            prior = torch.arange(len(mu)) % 2 == 0
            mask[~prior & ~mask.any(dim=1), 1] = True
            arg = prior
        got_mu, got_logvar = poe(mu, logvar, mask, prior_expert=arg)
        ref_mu, ref_logvar = poe_by_loop(mu, logvar, mask, prior)
        torch.testing.assert_close(got_mu.double(), ref_mu, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got_logvar.double(), ref_logvar, rtol=1e-5, atol=1e-5)

    def test_prior_only_row_is_the_prior(self):
        mu, logvar, _ = random_experts(batch=3)
        got_mu, got_logvar = poe(mu, logvar, torch.zeros(3, 4, dtype=torch.bool), prior_expert=True)
        assert torch.equal(got_mu, torch.zeros_like(got_mu)) and torch.equal(got_logvar, torch.zeros_like(got_logvar))

    def test_broadcast_over_subset_masks(self):
        """Experts (1, B, M, D) with masks (K, 1, M) equal K separate calls."""
        mu, logvar, _ = random_experts(batch=5, n_experts=3)
        masks = torch.tensor([[1, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=torch.bool)
        prior = masks.all(dim=1)
        got_mu, got_logvar = poe(mu[None], logvar[None], masks[:, None], prior_expert=prior[:, None])
        assert got_mu.shape == (3, 5, 6)
        for k in range(3):
            one_mu, one_logvar = poe(mu, logvar, masks[k].expand(5, 3), prior_expert=bool(prior[k]))
            torch.testing.assert_close(got_mu[k], one_mu)
            torch.testing.assert_close(got_logvar[k], one_logvar)

    def test_excluded_experts_may_hold_nan(self):
        mu, logvar, mask = random_experts()
        mask[:, 0] = True
        clean = poe(mu, logvar, mask)
        mu_bad, logvar_bad = mu.clone(), logvar.clone()
        mu_bad[~mask] = float("nan")
        logvar_bad[~mask] = float("inf")
        dirty = poe(mu_bad, logvar_bad, mask)
        assert torch.equal(clean[0], dirty[0]) and torch.equal(clean[1], dirty[1])

    def test_extreme_variances_stay_finite(self):
        """Precisions e^{+-200} overflow float32 when formed directly; the log-space form does not."""
        mu = torch.tensor([[[1.0], [3.0]]])
        logvar = torch.tensor([[[-200.0], [-200.0]]])
        got_mu, got_logvar = poe(mu, logvar, torch.ones(1, 2, dtype=torch.bool))
        torch.testing.assert_close(got_mu, torch.tensor([[2.0]]))
        torch.testing.assert_close(got_logvar, torch.tensor([[-200.0 - torch.log(torch.tensor(2.0)).item()]]))
        got_mu, got_logvar = poe(mu, -logvar, torch.ones(1, 2, dtype=torch.bool), prior_expert=True)
        assert torch.isfinite(got_mu).all() and torch.isfinite(got_logvar).all()

    def test_gradients_finite_with_masked_experts(self):
        mu, logvar, mask = random_experts()
        mask[:, 0] = True
        mu.requires_grad_(True)
        logvar.requires_grad_(True)
        out_mu, out_logvar = poe(mu, logvar, mask, prior_expert=True)
        (out_mu.sum() + out_logvar.sum()).backward()
        assert torch.isfinite(mu.grad).all() and torch.isfinite(logvar.grad).all()
        assert (mu.grad[~mask] == 0).all() and (logvar.grad[~mask] == 0).all()

    def test_row_without_expert_is_an_error(self):
        mu, logvar, _ = random_experts(batch=2)
        mask = torch.tensor([[True, False, False, False], [False] * 4])
        with pytest.raises(ValueError, match="no expert"):
            poe(mu, logvar, mask)
        poe(mu, logvar, mask, prior_expert=torch.tensor([False, True]))  # the prior alone is enough


class TestReparameterize:
    def test_seeded_generators_agree(self):
        mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
        a = reparameterize(mu, logvar, torch.Generator().manual_seed(7))
        b = reparameterize(mu, logvar, torch.Generator().manual_seed(7))
        c = reparameterize(mu, logvar, torch.Generator().manual_seed(8))
        assert torch.equal(a, b) and not torch.equal(a, c)

    def test_is_mu_plus_sigma_eps(self):
        mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
        eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
        got = reparameterize(mu, logvar, torch.Generator().manual_seed(1))
        torch.testing.assert_close(got, mu + torch.exp(0.5 * logvar) * eps)

    def test_moments(self):
        mu, logvar = torch.full((20000, 2), 3.0), torch.full((20000, 2), 2 * torch.log(torch.tensor(0.5)).item())
        z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
        assert abs(z.mean().item() - 3.0) < 0.02 and abs(z.std().item() - 0.5) < 0.02


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_poe_subsets_equals_masked_poe(scale):
    from baselines.fusion import poe_subsets
    from bench.metrics.subsets import all_subsets

    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, 5, generator=g, dtype=torch.float64)
    logvar = scale * torch.randn(4, 3, 5, generator=g, dtype=torch.float64)  # scale 30: variances e^+-90
    masks = all_subsets(3)
    prior = torch.tensor([False, True, False, True, False, False, True])
    got_mu, got_logvar = poe_subsets(mu, logvar, masks, prior)
    ref_mu, ref_logvar = poe(mu.unsqueeze(0), logvar.unsqueeze(0), masks.unsqueeze(1), prior_expert=prior.unsqueeze(1))
    torch.testing.assert_close(got_mu, ref_mu)
    torch.testing.assert_close(got_logvar, ref_logvar)
