"""MMVAE+: the log-weights against loops on torch.distributions, the objectives, generation and the prior sample."""

import math

import pytest
import torch
from torch.distributions import Laplace

import baselines  # noqa: F401  (registers the models)
from baselines.mmvae import laplace_sample
from baselines.mmvae_plus import MMVAEPlus, MMVAEPlusConfig
from bench.errors import BenchError
from bench.seeding import reinitialize
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})
DZ, DW = 4, 3


def build(**overrides) -> MMVAEPlus:
    model = MMVAEPlus(SPEC, MMVAEPlusConfig(latent_dim=DZ, private_dim=DW, **overrides)).double()
    reinitialize(model, 0)
    with torch.no_grad():
        model.aux_logits.copy_(torch.linspace(-0.5, 0.5, 3 * DW, dtype=torch.float64).view(3, DW))
    return model


def inputs(batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(batch, 3, 28, 28, generator=g, dtype=torch.float64) for m in MODALITIES}


def reference_log_weights(model, x, u, w_aux, beta):
    """log w_rk by loops over k, r and d on torch.distributions, for given samples u and auxiliary w."""
    loc, raw = model.encode(x)
    scale = torch.cat([torch.softmax(raw[..., :DZ], -1) * DZ, torch.softmax(raw[..., DZ:], -1) * DW], -1) + 1e-6
    k_samples, n, batch, _ = u.shape
    out = torch.empty(k_samples, n, batch, dtype=torch.float64)
    for k in range(k_samples):
        for r in range(n):
            z, w = u[k, r, :, :DZ], u[k, r, :, DZ:]
            mix = torch.stack([Laplace(loc[:, m, :DZ], scale[:, m, :DZ]).log_prob(z).sum(-1) for m in range(n)])
            log_q_z = torch.logsumexp(mix, 0) - math.log(n)
            log_q_w = Laplace(loc[:, r, DZ:], scale[:, r, DZ:]).log_prob(w).sum(-1)
            log_p = Laplace(0.0, 1.0).log_prob(u[k, r]).sum(-1)
            log_lik = 0.0
            for d, (m, weight) in enumerate(zip(MODALITIES, model.rec_weights)):
                w_d = w if d == r else w_aux[k, r, d]
                log_lik = log_lik + weight * Laplace(model.decoders[d](torch.cat([z, w_d], -1)), 0.75).log_prob(
                    x[m]
                ).flatten(1).sum(1)
            out[k, r] = log_lik + beta * (log_p - log_q_z - log_q_w)
    return out


@pytest.mark.parametrize("objective", ["iwae", "dreg"])
def test_log_weights_match_loop_reference(objective):
    model = build(K=3, beta=2.5, objective=objective, rec_weights=(1.0, 2.0, 0.5))
    x = inputs(4, seed=1)
    log_w, u, w_aux = model.log_weights(x, torch.Generator().manual_seed(0))
    assert u.shape == (3, 3, 4, DZ + DW) and w_aux.shape == (3, 3, 3, 4, DW)
    expected = reference_log_weights(model, x, u.detach(), w_aux.detach(), 2.5)
    torch.testing.assert_close(log_w, expected, rtol=1e-9, atol=1e-6)


def test_auxiliary_samples_follow_the_learned_priors():
    """w_aux[:, r, d] ~ Laplace(0, softmax(theta_d) D_w + 1e-6): per-dimension mean |w| equals the scale."""
    model = build(K=400)
    with torch.no_grad():
        model.aux_logits.copy_(torch.tensor([[2.0, 0.0, -2.0]] * 3, dtype=torch.float64))
        _, _, w_aux = model.log_weights(inputs(1), torch.Generator().manual_seed(3))
    mean_abs = w_aux.abs().mean(dim=(0, 1, 3))  # (M, D_w), 1,200 draws each
    expected = torch.softmax(torch.tensor([2.0, 0.0, -2.0], dtype=torch.float64), 0) * DW
    torch.testing.assert_close(mean_abs, expected.expand(3, DW), rtol=0.12, atol=0)


def test_iwae_loss_is_the_stratified_bound_and_k1_is_the_elbo():
    model = build(K=3, objective="iwae")
    x = inputs(5)
    loss, parts = model.loss(x, generator=torch.Generator().manual_seed(1))
    log_w, _, _ = model.log_weights(x, torch.Generator().manual_seed(1))
    bound = (torch.logsumexp(log_w, 0) - math.log(3)).mean(0).mean()
    torch.testing.assert_close(loss, -bound)
    torch.testing.assert_close(parts["iwae"], bound.detach())
    single = build(K=1, objective="iwae")
    loss1, _ = single.loss(x, generator=torch.Generator().manual_seed(1))
    log_w1, _, _ = single.log_weights(x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(loss1, -log_w1.mean())  # K = 1: (1/M) sum_r log w_r averaged over the batch


def test_dreg_and_iwae_agree_in_value_of_the_bound_but_not_in_encoder_gradients():
    x = inputs(3)
    grads = {}
    for objective in ("iwae", "dreg"):
        model = build(K=4, objective=objective)
        loss, parts = model.loss(x, generator=torch.Generator().manual_seed(2))
        loss.backward()
        grads[objective] = (parts["iwae"], model.encoders[0].mu.weight.grad.clone(), model.aux_logits.grad.clone())
    torch.testing.assert_close(grads["iwae"][0], grads["dreg"][0])
    assert not torch.allclose(grads["iwae"][1], grads["dreg"][1])


def test_generate_draws_w_from_the_posterior_for_observed_and_from_laplace_0_1_for_unobserved(monkeypatch):
    """One test tuple repeated; given {m0}: z ~ q(z | x_0), w_0 ~ q(w | x_0) and w_1, w_2 ~ Laplace(0, 1)."""
    model = build().eval()
    seen = {}
    decode_codes = model.decode_codes
    monkeypatch.setattr(model, "decode_codes", lambda codes: seen.update(codes=codes) or decode_codes(codes))
    n = 1500
    x = {m: v.expand(n, -1, -1, -1) for m, v in inputs(1).items()}
    observed = torch.tensor([[True, False, False]]).expand(n, -1)
    model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    loc, scale = model.experts(*model.encode(inputs(1)))
    codes = seen["codes"]  # (n, M, D_z + D_w): decoder d reads [z, w_d]
    z, w = codes[:, 0, :DZ], codes[..., DZ:]  # (n, D_z), (n, M, D_w)
    assert (codes[..., :DZ] == z.unsqueeze(1)).all()  # one z for every decoder
    torch.testing.assert_close(z.mean(0), loc[0, 0, :DZ], rtol=0, atol=0.1 * scale[0, 0, :DZ].max().item())
    torch.testing.assert_close((z - loc[0, 0, :DZ]).abs().mean(0), scale[0, 0, :DZ], rtol=0.1, atol=0)
    torch.testing.assert_close((w[:, 0] - loc[0, 0, DZ:]).abs().mean(0), scale[0, 0, DZ:], rtol=0.1, atol=0)
    torch.testing.assert_close(w[:, 1:].abs().mean(0), torch.ones(2, DW, dtype=torch.float64), rtol=0.1, atol=0)


def test_sample_decodes_one_prior_draw_with_every_decoder():
    model = build().eval()
    out = model.sample(4, generator=torch.Generator().manual_seed(0))
    ones = torch.ones(4, DZ + DW, dtype=torch.float64)
    draw = laplace_sample(torch.zeros_like(ones), ones, torch.Generator().manual_seed(0))
    for d, m in enumerate(MODALITIES):
        torch.testing.assert_close(out[m], model.decoders[d](draw).float().clamp(0, 1))


def test_config_errors_are_clear():
    with pytest.raises(BenchError, match="objective"):
        MMVAEPlusConfig(objective="elbo")
    with pytest.raises(BenchError, match="K = 0"):
        MMVAEPlusConfig(K=0)
