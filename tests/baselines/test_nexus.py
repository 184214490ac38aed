"""NEXUS: forced dropout frequencies, both levels of the loss against a loop reference, the unimodal KL (the MLD
port's mu/logvar swap), annealing and conditional generation."""

import math

import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

import baselines  # noqa: F401  (registers the models)
from baselines.nexus import Nexus, NexusConfig, forced_dropout
from bench.errors import BenchError
from bench.seeding import reinitialize
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2", "m3")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})
SMALL = {"latent_dim": 5, "nexus_dim": 3, "message_dim": 6, "hidden": (8, 7)}


def build(**overrides) -> Nexus:
    model = Nexus(SPEC, NexusConfig(**{**SMALL, **overrides})).double()
    reinitialize(model, 0)
    return model


def inputs(batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(batch, 3, 28, 28, generator=g, dtype=torch.float64) for m in MODALITIES}


def test_forced_dropout_frequencies():
    """P(all kept) = 1 - p; a dropped row keeps k ~ U{1..M-1} messages, each modality with probability k / M."""
    n, p, rows = 4, 0.5, 40_000
    keep = forced_dropout(rows, n, p, torch.Generator().manual_seed(0), "cpu")
    counts = keep.sum(dim=1)
    assert counts.min() >= 1
    assert abs((counts == n).double().mean().item() - (1 - p)) < 0.01
    dropped = keep[counts < n]
    for k in range(1, n):
        assert abs((dropped.sum(1) == k).double().mean().item() - 1 / (n - 1)) < 0.015
    assert torch.allclose(dropped.double().mean(0), torch.full((n,), 2 / n, dtype=torch.float64), atol=0.015)
    assert forced_dropout(100, n, 0.0, None, "cpu").all()


def reference_loss(model, x, seed):
    """Both levels by loops over modalities and rows, on torch.distributions, with the model's noise order."""
    cfg, g = model.cfg, torch.Generator().manual_seed(seed)
    batch, n = len(x["m0"]), len(MODALITIES)
    eps = torch.randn(batch, n, cfg.latent_dim, generator=g, dtype=torch.float64)
    keep = forced_dropout(batch, n, cfg.dropout, g, "cpu")
    eps_n = torch.randn(batch, cfg.nexus_dim, generator=g, dtype=torch.float64)
    rec = kl = 0.0
    z = []
    for i, m in enumerate(MODALITIES):
        mu, logvar = model.encoders[i](x[m])
        q = Normal(mu, torch.exp(0.5 * logvar))
        z_m = q.mean + q.stddev * eps[:, i]
        rec = rec + model.rec_weights[i] * -Laplace(model.decoders[i](z_m), 0.75).log_prob(x[m]).sum() / batch
        kl = kl + kl_divergence(q, Normal(0.0, 1.0)).sum() / batch
        z.append(z_m.detach())
    rows = []
    for b in range(batch):
        messages = [model.messages[i](z[i][b]) for i in range(n) if keep[b, i]]
        rows.append(torch.stack(messages).mean(0))
    hidden = model.node(torch.stack(rows))
    q_n = Normal(model.node_mu(hidden), torch.exp(0.5 * model.node_logvar(hidden)))
    n_sample = q_n.mean + q_n.stddev * eps_n
    top_rec = sum(((model.top_decoders[i](n_sample) - z[i]) ** 2).sum() / batch for i in range(n))
    top_kl = kl_divergence(q_n, Normal(0.0, 1.0)).sum() / batch
    a = model.anneal
    return rec + a * cfg.beta * kl + top_rec + a * cfg.nexus_beta * top_kl


@pytest.mark.parametrize("anneal", [0.25, 1.0])
def test_loss_matches_loop_reference(anneal):
    model = build(beta=1.5, nexus_beta=0.7, rec_weights=(1.0, 2.0, 0.5, 1.0)).train()
    model.anneal = anneal
    x = inputs(6)
    got, parts = model.loss(x, generator=torch.Generator().manual_seed(3))
    expected = reference_loss(model, x, 3)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-7)
    torch.testing.assert_close(got, parts["rec"] + anneal * (1.5 * parts["kl"] + 0.7 * parts["top_kl"]) + parts["top_rec"])


def test_unimodal_kl_reads_mu_and_logvar_in_order():
    """Encoders that output mu = 2, logvar = -1: KL = 0.5 (e^-1 + 4 - 1 + 1) per dimension. The MLD port's swap
    would give 0.5 (e^2 + 1 - 1 - 2)."""
    model = build()
    with torch.no_grad():
        for encoder in model.encoders:
            for head, value in ((encoder.mu, 2.0), (encoder.logvar, -1.0)):
                head.weight.zero_()
                head.bias.fill_(value)
    _, parts = model.loss(inputs(3), generator=torch.Generator().manual_seed(0))
    per_dim = 0.5 * (math.exp(-1.0) + 4.0 - 1.0 + 1.0)
    torch.testing.assert_close(parts["kl"].item(), len(MODALITIES) * 5 * per_dim)


def test_kl_weights_are_annealed_linearly_over_the_first_epochs():
    model = build(anneal_epochs=4)
    values = []
    for epoch in range(6):
        model.begin_epoch(epoch)
        values.append(model.anneal)
    assert values == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_generation_uses_the_messages_of_observed_modalities_and_their_own_codes():
    """Given {m0, m2}: m0 and m2 come back decoded from their own codes, m1 and m3 from the nexus decoders applied
    to a nexus drawn from the mean of m0's and m2's messages; all with the model's noise order."""
    model = build().eval()
    x = inputs(3)
    observed = torch.tensor([[True, False, True, False]] * 3)
    out = model.generate(x, observed, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    eps = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    z = {}
    for i in (0, 2):
        mu, logvar = model.encoders[i](x[MODALITIES[i]])
        z[i] = mu + torch.exp(0.5 * logvar) * eps[:, i]
    hidden = model.node((model.messages[0](z[0]) + model.messages[2](z[2])) / 2)
    nexus = model.node_mu(hidden) + torch.exp(0.5 * model.node_logvar(hidden)) * torch.randn(
        3, 3, generator=g, dtype=torch.float64
    )
    for i in (1, 3):
        z[i] = model.top_decoders[i](nexus)
    for i, m in enumerate(MODALITIES):
        torch.testing.assert_close(out[m], model.decoders[i](z[i]).float().clamp(0, 1))


def test_config_errors_are_clear():
    with pytest.raises(BenchError, match="dropout"):
        NexusConfig(dropout=1.5)
    with pytest.raises(BenchError, match="nexus_weights"):
        Nexus(SPEC, NexusConfig(**SMALL, nexus_weights=(1.0,)))


def test_fit_anneals_per_epoch_and_records_both_levels(tiny_polymnist):
    train, _ = tiny_polymnist
    spec = suite_spec("polymnist", train.modalities, train.shapes)
    model = Nexus(spec, NexusConfig(**SMALL, epochs=2, anneal_epochs=4, batch_size=32))
    record = model.fit(train, seed=0, device="cpu")
    assert model.anneal == 0.5  # set before the second (last) epoch
    assert len(record.losses) == 2 and set(record.extra) == {"rec", "kl", "top_rec", "top_kl"}
    assert all(math.isfinite(v) for v in record.losses)
