"""MMVAE: both objectives against loop implementations on torch.distributions, the DReG gradients, the mixture."""

import math

import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

import baselines  # noqa: F401  (registers the models)
from baselines.mmvae import MMVAE, MMVAEConfig, choose_experts, laplace_sample
from bench.errors import BenchError
from bench.seeding import reinitialize
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})


def build(**overrides) -> MMVAE:
    model = MMVAE(SPEC, MMVAEConfig(latent_dim=5, **overrides)).double()
    reinitialize(model, 0)
    with torch.no_grad():
        model.prior_logits.copy_(torch.linspace(-0.5, 0.5, 5, dtype=torch.float64))  # a non-trivial learned prior
    return model


def inputs(batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(batch, 3, 28, 28, generator=g, dtype=torch.float64) for m in MODALITIES}


def test_elbo_form_matches_loop_reference():
    model = build(objective="elbo", beta=1.7, rec_weights=(1.0, 2.0, 0.5))
    x = inputs(7)
    got, _ = model.loss(x, generator=torch.Generator().manual_seed(2))
    eps = torch.randn(7, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mu, logvar = model.encode(x)
    q = [Normal(mu[:, i], torch.exp(0.5 * logvar[:, i])) for i in range(3)]
    which = [0, 0, 1, 1, 2, 2, 2]  # chunks of 7 // 3 = 2 rows, the last expert takes the remainder
    z = torch.stack([q[m].mean[b] + q[m].stddev[b] * eps[b] for b, m in enumerate(which)])
    rec = sum(
        w * -Laplace(model.decoders[i](z), 0.75).log_prob(x[m]).sum() / 7
        for i, (m, w) in enumerate(zip(MODALITIES, (1.0, 2.0, 0.5)))
    )
    kl = sum(kl_divergence(qm, Normal(0.0, 1.0)).sum() / 7 for qm in q) / 3
    torch.testing.assert_close(got, rec + 1.7 * kl, rtol=1e-9, atol=1e-7)


def reference_log_weights(model, x, z):
    """log w_rk by loops on torch.distributions, for given samples z (K, M, B, D)."""
    mu, raw = model.encode(x)
    scale = torch.softmax(raw, dim=-1) * 5 + 1e-6
    prior = Laplace(torch.zeros(5, dtype=torch.float64), torch.softmax(model.prior_logits, -1) * 5)
    k_samples, n, batch, _ = z.shape
    out = torch.empty(k_samples, n, batch, dtype=torch.float64)
    for k in range(k_samples):
        for r in range(n):
            zz = z[k, r]
            mix = torch.stack([Laplace(mu[:, m], scale[:, m]).log_prob(zz).sum(-1) for m in range(n)])
            log_q = torch.logsumexp(mix, 0) - math.log(n)
            log_lik = sum(
                w * Laplace(model.decoders[d](zz), 0.75).log_prob(x[m]).flatten(1).sum(1)
                for d, (m, w) in enumerate(zip(MODALITIES, model.rec_weights))
            )
            out[k, r] = prior.log_prob(zz).sum(-1) + log_lik - log_q
    return out


def test_dreg_log_weights_match_loop_reference():
    model = build(K=3, rec_weights=(1.0, 2.0, 0.5))
    x = inputs(4, seed=1)
    log_w, z = model.log_weights(x, torch.Generator().manual_seed(0))
    assert z.shape == (3, 3, 4, 5)
    torch.testing.assert_close(log_w, reference_log_weights(model, x, z.detach()), rtol=1e-9, atol=1e-6)


def test_dreg_gradients_are_doubly_reparameterised():
    """Encoders get sum_k w~^2 d log w / dz dz/dphi; decoders and the prior get sum_k w~ d log w (experts detached)."""
    model = build(K=4)
    x = inputs(3, seed=2)
    loss, _ = model.loss(x, generator=torch.Generator().manual_seed(5))
    loss.backward()
    got = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    log_w, _ = model.log_weights(x, torch.Generator().manual_seed(5))
    w = torch.softmax(log_w.detach(), dim=0)
    encoder_loss = -(w**2 * log_w).sum(0).mean(0).mean()
    other_loss = -(w * log_w).sum(0).mean(0).mean()
    encoders = [p for name, p in model.named_parameters() if name.startswith("encoders")]
    others = [p for name, p in model.named_parameters() if not name.startswith("encoders")]
    want = dict(zip([n for n, _ in model.named_parameters() if n.startswith("encoders")],
                    torch.autograd.grad(encoder_loss, encoders, retain_graph=True)))
    want.update(zip([n for n, _ in model.named_parameters() if not n.startswith("encoders")],
                    torch.autograd.grad(other_loss, others, allow_unused=True)))
    for name, grad in got.items():
        torch.testing.assert_close(grad, want[name], rtol=1e-7, atol=1e-9, msg=name)
    assert got["prior_logits"].abs().sum() > 0


def test_laplace_samples_have_the_laplace_moments():
    loc, scale = torch.full((200_000,), 1.5), torch.full((200_000,), 0.7)
    z = laplace_sample(loc, scale, torch.Generator().manual_seed(0))
    assert abs(z.median() - 1.5) < 0.01
    assert abs((z - 1.5).abs().mean() - 0.7) < 0.01  # E|z - loc| = scale


def test_mixture_picks_observed_experts_uniformly():
    observed = torch.tensor([[True, False, True]]).expand(30_000, 3)
    choice = choose_experts(observed, torch.Generator().manual_seed(0))
    counts = torch.bincount(choice, minlength=3).double() / 30_000
    assert counts[1] == 0 and abs(counts[0] - 0.5) < 0.01 and abs(counts[2] - 0.5) < 0.01
    single = choose_experts(torch.tensor([[False, True, False]]).expand(100, 3), torch.Generator().manual_seed(1))
    assert (single == 1).all()


def test_config_errors_and_defaults():
    cfg = MMVAEConfig()
    assert (cfg.objective, cfg.K, cfg.learn_prior, cfg.amsgrad) == ("dreg", 10, True, True)
    with pytest.raises(BenchError, match="objective"):
        MMVAEConfig(objective="iwae")
    with pytest.raises(BenchError, match="K"):
        MMVAEConfig(K=0)
