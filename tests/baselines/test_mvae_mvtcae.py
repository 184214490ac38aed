"""MVAE and MVTCAE: objectives against loop implementations on torch.distributions, and their subset posteriors."""

import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

import baselines  # noqa: F401  (registers the models)
from baselines.mvae import MVAE, MVAEConfig
from baselines.mvtcae import MVTCAE, MVTCAEConfig
from bench.errors import BenchError
from bench.registry import MODELS
from bench.seeding import reinitialize
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})


def inputs(batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(batch, 3, 28, 28, generator=g, dtype=torch.float64) for m in MODALITIES}


def product(mu, logvar, members, prior: bool) -> Normal:
    """Closed-form product of the Gaussian experts ``members`` (and N(0, I) if ``prior``), as a Normal."""
    precision = sum(torch.exp(-logvar[:, i]) for i in members) + (1.0 if prior else 0.0)
    mean = sum(mu[:, i] * torch.exp(-logvar[:, i]) for i in members) / precision
    return Normal(mean, precision.rsqrt())


def rec(model, x, m, z) -> torch.Tensor:
    i = MODALITIES.index(m)
    loc = model.decoders[i](z)
    return -Laplace(loc, model.cfg.laplace_scale).log_prob(x[m]).sum() / z.shape[0]


def build(cls, cfg):
    model = cls(SPEC, cfg).double()
    reinitialize(model, 0)
    return model


@pytest.mark.parametrize("batch", [7, 16])
def test_mvae_loss_matches_loop_reference(batch):
    cfg = MVAEConfig(latent_dim=5, beta=1.7, rec_weights=(1.0, 2.0, 0.5))
    model = build(MVAE, cfg)
    x = inputs(batch)
    got, parts = model.loss(x, generator=torch.Generator().manual_seed(3))
    eps = torch.randn(4, batch, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    mu, logvar = model.encode(x)
    joint = product(mu, logvar, [0, 1, 2], prior=True)
    z = joint.mean + joint.stddev * eps[0]
    ref = sum(w * rec(model, x, m, z) for m, w in zip(MODALITIES, cfg.rec_weights))
    ref = ref + cfg.beta * kl_divergence(joint, Normal(0.0, 1.0)).sum() / batch
    for i, m in enumerate(MODALITIES):
        q = product(mu, logvar, [i], prior=True)
        ref = ref + rec(model, x, m, q.mean + q.stddev * eps[1 + i])  # unimodal ELBOs: weight 1
        ref = ref + cfg.beta * kl_divergence(q, Normal(0.0, 1.0)).sum() / batch
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-7)
    torch.testing.assert_close(parts["rec"] + cfg.beta * parts["kl"], got.detach())


@pytest.mark.parametrize("prior_expert", [False, True])
def test_mvtcae_loss_matches_loop_reference(prior_expert):
    cfg = MVTCAEConfig(latent_dim=5, rec_weights=(1.0, 2.0, 0.5), prior_expert=prior_expert)
    model = build(MVTCAE, cfg)
    batch, n, alpha = 9, 3, 5 / 6
    x = inputs(batch, seed=1)
    got, _ = model.loss(x, generator=torch.Generator().manual_seed(4))
    eps = torch.randn(batch, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    mu, logvar = model.encode(x)
    q = product(mu, logvar, [0, 1, 2], prior=prior_expert)
    z = q.mean + q.stddev * eps
    reconstruction = sum(w * rec(model, x, m, z) for m, w in zip(MODALITIES, cfg.rec_weights))
    views = sum(kl_divergence(q, Normal(mu[:, i], torch.exp(0.5 * logvar[:, i]))).sum() for i in range(n)) / batch
    prior = kl_divergence(q, Normal(0.0, 1.0)).sum() / batch
    ref = (n - alpha) / n * reconstruction + 2.5 * (alpha / n * views + (1 - alpha) * prior)
    torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-7)


@pytest.mark.parametrize("cls, prior", [(MVAE, True), (MVTCAE, False)])
def test_subset_posterior_is_the_product_of_the_observed_experts(cls, prior):
    model = build(cls, cls.Config(latent_dim=4))
    x = inputs(6, seed=2)
    mu, logvar = model.encode(x)
    observed = torch.tensor([[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.bool)
    q_mu, q_logvar = model.posterior(mu, logvar, observed)
    for b, row in enumerate(observed):
        ref = product(mu[b : b + 1], logvar[b : b + 1], row.nonzero().flatten().tolist(), prior=prior)
        torch.testing.assert_close(q_mu[b], ref.mean[0])
        torch.testing.assert_close(q_logvar[b], 2 * ref.stddev.log()[0])


def test_registered_with_paper_defaults():
    assert MODELS.get("mvae") is MVAE and MODELS.get("mvtcae") is MVTCAE
    cfg = MVTCAEConfig()
    assert (cfg.latent_dim, cfg.alpha, cfg.beta, cfg.lr, cfg.batch_size, cfg.epochs) == (512, 5 / 6, 2.5, 1e-3, 256, 300)
    assert not cfg.prior_expert
    assert MVAEConfig().latent_dim == 512
    with pytest.raises(BenchError, match="alpha"):
        MVTCAEConfig(alpha=1.5)
