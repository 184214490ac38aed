"""Differential tests against MultiVae (``multivae==1.0.3``, the ``multivae`` test extra): the same networks (shared
module objects, so identical weights), the same inputs and the same noise (both draw from the global RNG in the same
order) must give the same loss and the same subset posteriors.

Where the definitions differ, the test pins the difference:
- MoPoE with fewer rows than subsets (B < K): MultiVae's chunks of floor(B/K) = 0 rows send every row to the full
  set; ours hand rows to subsets 0..B-1 one each (``subset_assignment``), so every row still trains some subset.
- MVAE with reconstruction weights: MultiVae weights the unimodal ELBOs' reconstructions too; MoPoE's MVAE (ours)
  uses weight 1 there (MoPoE code ``utils.calc_elbo``). Equal weights (PolyMNIST) give the same objective.
- MultiVae's PoE adds 1e-8 to every variance; ours is exact (log space), a 1e-8 relative difference.
- MMVAE and MMVAE+ are compared on our samples (MultiVae draws Laplace noise another way); NEXUS with deterministic
  encoders, and its top-level likelihood differs by a pinned factor and constant.
"""

import math

import pytest
import torch

pytest.importorskip("multivae.models", reason="MultiVae is not installed: pip install -e '.[multivae]'")
from multivae.data.datasets.base import MultimodalBaseDataset  # noqa: E402

import baselines  # noqa: E402,F401  (registers the models)
from baselines.multivae_compat import multivae_twin  # noqa: E402
from bench.metrics.subsets import all_subsets  # noqa: E402
from bench.registry import MODELS  # noqa: E402
from bench.seeding import reinitialize  # noqa: E402
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})
LATENT = 6


def pair(name: str, **overrides):
    """(ours, theirs) in float64 sharing networks; Laplace(0.75) likelihoods, beta 2.5."""
    ours = MODELS.get(name)(SPEC, MODELS.get(name).Config(latent_dim=LATENT, **overrides)).double()
    reinitialize(ours, 0)
    return ours, multivae_twin(ours)


def batch(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.rand(n, 3, 28, 28, generator=g, dtype=torch.float64) for m in MODALITIES}


def losses(ours, theirs, x, seed=5):
    torch.manual_seed(seed)
    a, _ = ours.loss(x)
    torch.manual_seed(seed)
    b = theirs(MultimodalBaseDataset(data=x, labels=torch.zeros(len(x["m0"])))).loss
    return a, b


@pytest.mark.parametrize("n", [7, 16])
def test_mopoe_loss_matches(n):
    ours, theirs = pair("mopoe")
    a, b = losses(ours, theirs, batch(n))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=0)


def test_mopoe_pinned_difference_when_the_batch_is_smaller_than_the_subsets():
    ours, theirs = pair("mopoe")
    a, b = losses(ours, theirs, batch(5))
    assert not torch.isclose(a, b, rtol=1e-3)


def test_mvae_loss_matches(monkeypatch):
    """MultiVae's MVAE with subsampling (joint + unimodal ELBOs, k = 0) and no warm-up. Its M + 1 ELBOs draw their
    noise one after another, ours in one (M + 1, B, D) draw, so the noise is taken out: z = posterior mean."""
    from baselines import mvae as ours_module
    from multivae.models.mvae import mvae_model

    monkeypatch.setattr(ours_module, "reparameterize", lambda mu, logvar, generator=None: mu)
    monkeypatch.setattr(mvae_model, "rsample_from_gaussian", lambda mu, logvar, *a, **k: mu)
    ours, theirs = pair("mvae")
    a, b = losses(ours, theirs, batch(9))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=0)


@pytest.mark.parametrize("name", ["mopoe", "mvtcae"])
def test_reconstruction_weights_match(name):
    ours, theirs = pair(name, rec_weights=(1.0, 2.0, 0.5))
    a, b = losses(ours, theirs, batch(8))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=0)


def test_mvae_pinned_difference_in_unimodal_weights(monkeypatch):
    """MultiVae also weights the unimodal ELBOs' reconstructions by w_m; MoPoE's MVAE (ours) uses 1 there."""
    from baselines import mvae as ours_module
    from multivae.models.mvae import mvae_model

    monkeypatch.setattr(ours_module, "reparameterize", lambda mu, logvar, generator=None: mu)
    monkeypatch.setattr(mvae_model, "rsample_from_gaussian", lambda mu, logvar, *a, **k: mu)
    ours, theirs = pair("mvae", rec_weights=(1.0, 2.0, 0.5))
    a, b = losses(ours, theirs, batch(9))
    assert not torch.isclose(a, b, rtol=1e-3)


def test_mvtcae_loss_matches():
    ours, theirs = pair("mvtcae")
    a, b = losses(ours, theirs, batch(9))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=0)


def test_mopoe_subset_posteriors_match():
    ours, theirs = pair("mopoe")
    x = batch(4)
    latents = theirs.inference(MultimodalBaseDataset(data=x, labels=torch.zeros(4)))
    mu, logvar = ours.encode(x)
    for mask in all_subsets(len(MODALITIES)):
        key = "_".join(m for m, used in zip(MODALITIES, mask.tolist()) if used)
        q_mu, q_logvar = ours.posterior(mu, logvar, mask.expand(4, -1))
        torch.testing.assert_close(q_mu, latents["subsets"][key][0], rtol=1e-5, atol=1e-8)
        torch.testing.assert_close(q_logvar, latents["subsets"][key][1], rtol=1e-5, atol=1e-8)


def test_mvae_subset_posteriors_match():
    ours, theirs = pair("mvae")
    x = batch(4)
    data = MultimodalBaseDataset(data=x, labels=torch.zeros(4))
    mu, logvar = ours.encode(x)
    for mask in all_subsets(len(MODALITIES)):
        subset = [m for m, used in zip(MODALITIES, mask.tolist()) if used]
        their_mu, their_logvar = theirs.compute_mu_log_var_subset(data, subset)
        q_mu, q_logvar = ours.posterior(mu, logvar, mask.expand(4, -1))
        torch.testing.assert_close(q_mu, their_mu, rtol=1e-5, atol=1e-8)
        torch.testing.assert_close(q_logvar, their_logvar, rtol=1e-5, atol=1e-8)


def test_mvtcae_joint_posterior_matches():
    ours, theirs = pair("mvtcae")
    x = batch(4)
    their_mu, their_logvar = theirs._inference(MultimodalBaseDataset(data=x, labels=torch.zeros(4)))["joint"]
    mu, logvar = ours.encode(x)
    q_mu, q_logvar = ours.posterior(mu, logvar, torch.ones(4, 3, dtype=torch.bool))
    torch.testing.assert_close(q_mu, their_mu, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(q_logvar, their_logvar, rtol=1e-5, atol=1e-8)


def test_mmvae_dreg_weights_and_loss_match_on_the_same_samples():
    """MultiVae draws Laplace noise differently (u ~ U(-1, 1)), so both are evaluated on our samples z_rk. Its prior
    scale carries +1e-6 (ours follows the paper: softmax(theta) D) and its loss is a sum over the batch (ours a mean)."""
    from torch.distributions import Laplace

    ours = MODELS.get("mmvae")(SPEC, MODELS.get("mmvae").Config(latent_dim=LATENT, K=3, rec_weights=(1.0, 2.0, 0.5)))
    ours = ours.double()
    reinitialize(ours, 0)
    with torch.no_grad():
        ours.prior_logits.copy_(torch.linspace(-0.5, 0.5, LATENT, dtype=torch.float64))
    theirs = multivae_twin(ours)
    x = batch(4)
    data = MultimodalBaseDataset(data=x, labels=torch.zeros(4))
    log_w, z = ours.log_weights(x, torch.Generator().manual_seed(0))
    loss, _ = ours.loss(x, generator=torch.Generator().manual_seed(0))
    mu, raw = ours.encode(x)
    _, scale = ours.experts(mu, raw)
    detached = {m: Laplace(mu[:, i].detach(), scale[:, i].detach()) for i, m in enumerate(MODALITIES)}
    samples = {m: z[:, i] for i, m in enumerate(MODALITIES)}
    recon = {
        r: {m: theirs.decoders[m](samples[r].reshape(-1, LATENT)).reconstruction.reshape(3, 4, 3, 28, 28)
            for m in MODALITIES}
        for r in MODALITIES
    }
    their_log_w, _ = theirs.compute_k_lws(detached, samples, recon, data)
    for i, m in enumerate(MODALITIES):
        torch.testing.assert_close(log_w[:, i], their_log_w[m], rtol=1e-5, atol=0)
    their_loss = theirs.dreg_looser(detached, samples, recon, data).loss
    torch.testing.assert_close(loss * 4, their_loss, rtol=1e-5, atol=0)


def mmvae_plus_pair(objective: str, K: int):
    """MMVAE+ in float64 with 4 + 3 latents, unequal reconstruction weights and auxiliary priors away from scale 1."""
    cls = MODELS.get("mmvae_plus")
    ours = cls(SPEC, cls.Config(latent_dim=4, private_dim=3, K=K, objective=objective, rec_weights=(1.0, 2.0, 0.5)))
    ours = ours.double()
    reinitialize(ours, 0)
    with torch.no_grad():
        ours.aux_logits.copy_(torch.linspace(-0.5, 0.5, 9, dtype=torch.float64).view(3, 3))
    return ours, multivae_twin(ours)


def mmvae_plus_their_inputs(ours, x, u, w_aux, detach: bool):
    """MultiVae's (posteriors, embeddings, reconstructions) built on our samples: u (K, M, B, D), w_aux (K, M, M, B, Dw)."""
    from torch.distributions import Laplace

    k = ours.cfg.latent_dim
    loc, scale = ours.experts(*ours.encode(x))
    if detach:
        loc, scale = loc.detach(), scale.detach()
    posteriors = {
        m: {"u": Laplace(loc[:, i, :k], scale[:, i, :k]), "w": Laplace(loc[:, i, k:], scale[:, i, k:])}
        for i, m in enumerate(MODALITIES)
    }
    embeddings = {m: {"u": u[:, i, :, :k], "w": u[:, i, :, k:]} for i, m in enumerate(MODALITIES)}
    recon = {}
    for r, m in enumerate(MODALITIES):
        recon[m] = {}
        for d, target in enumerate(MODALITIES):
            w = embeddings[m]["w"] if d == r else w_aux[:, r, d]
            latent = torch.cat([embeddings[m]["u"], w], dim=-1)
            out = ours.decoders[d](latent.reshape(-1, latent.shape[-1]))
            recon[m][target] = out.reshape(*latent.shape[:2], *out.shape[1:])
    return posteriors, embeddings, recon


@pytest.mark.parametrize("objective,K", [("iwae", 1), ("iwae", 3), ("dreg", 3)])
def test_mmvae_plus_log_weights_and_loss_match_on_the_same_samples(objective, K):
    """MultiVae draws its Laplace noise differently, so both are evaluated on our samples (u and the auxiliary w). Its
    fixed prior p(u) has scale 1 + 1e-6 (ours 1; a 1e-9 relative difference) and its loss is a sum over the batch."""
    ours, theirs = mmvae_plus_pair(objective, K)
    x = batch(4)
    data = MultimodalBaseDataset(data=x, labels=torch.zeros(4))
    log_w, u, w_aux = ours.log_weights(x, torch.Generator().manual_seed(0))
    loss, _ = ours.loss(x, generator=torch.Generator().manual_seed(0))
    posteriors, embeddings, recon = mmvae_plus_their_inputs(ours, x, u, w_aux, detach=objective == "dreg")
    their_log_w, _ = theirs._compute_k_lws(posteriors, embeddings, recon, data)
    for i, m in enumerate(MODALITIES):
        torch.testing.assert_close(log_w[:, i], their_log_w[m], rtol=1e-5, atol=0)
    their_loss = (theirs._dreg_looser if objective == "dreg" else theirs._iwae_looser)(posteriors, embeddings, recon, data)
    torch.testing.assert_close(loss * 4, their_loss.loss, rtol=1e-5, atol=0)


def test_mmvae_plus_dreg_gradients_match():
    """The DReG gradient (encoders get w~^2, decoders and the auxiliary priors w~) equals MultiVae's on the same
    samples, for every parameter, to 1e-5 of the parameter's largest gradient entry (MultiVae's prior scale 1 + 1e-6
    moves d log p(u) / du by 1e-6 relative, which entries near zero cannot absorb in a purely relative test)."""
    ours, theirs = mmvae_plus_pair("dreg", 3)
    x = batch(4)
    data = MultimodalBaseDataset(data=x, labels=torch.zeros(4))
    loss, _ = ours.loss(x, generator=torch.Generator().manual_seed(0))
    (loss * 4).backward()
    ours_grads = {name: p.grad.clone() for name, p in ours.named_parameters()}
    ours.zero_grad()
    _, u, w_aux = ours.log_weights(x, torch.Generator().manual_seed(0))
    posteriors, embeddings, recon = mmvae_plus_their_inputs(ours, x, u, w_aux, detach=True)
    theirs._dreg_looser(posteriors, embeddings, recon, data).loss.backward()
    for name, p in ours.named_parameters():
        expected = ours_grads[name]
        torch.testing.assert_close(p.grad, expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item(), msg=name)


def test_nexus_loss_matches_up_to_the_pinned_top_level_likelihood():
    """Both levels on the same weights with the encoders and the nexus node made deterministic (log-variances of
    -60, so no noise enters) and no forced dropout. Pinned difference: MultiVae scores the top-level reconstruction
    as -ln N(z_m | z^_m, I) = ||z^_m - z_m||^2 / 2 + (D/2) ln 2 pi; ours (the MLD port's MSE) as ||z^_m - z_m||^2.
    Its epoch e + 1 is our 0-based epoch e in the annealing."""
    cls = MODELS.get("nexus")
    small = {"latent_dim": 5, "nexus_dim": 3, "message_dim": 6, "hidden": (8, 7), "dropout": 0.0}
    ours = cls(SPEC, cls.Config(**small, beta=1.5, nexus_beta=0.7, anneal_epochs=4, rec_weights=(1.0, 2.0, 0.5)))
    ours = ours.double().train()
    reinitialize(ours, 0)
    with torch.no_grad():
        for head in [e.logvar for e in ours.encoders] + [ours.node_logvar]:
            head.weight.zero_()
            head.bias.fill_(-60.0)
    theirs = multivae_twin(ours).train()
    x = batch(6)
    ours.begin_epoch(1)
    _, parts = ours.loss(x)
    out = theirs(MultimodalBaseDataset(data=x, labels=torch.zeros(6)), epoch=2)
    metrics = out.metrics
    rec = sum(metrics[f"recon_loss_{m}"] for m in MODALITIES)
    kl = sum(metrics[f"kl_{m}"] for m in MODALITIES)
    their_top = sum(metrics[f"recon_z_{m}"] for m in MODALITIES) - 3 * 5 / 2 * math.log(2 * math.pi)
    torch.testing.assert_close(parts["rec"], rec, rtol=1e-5, atol=0)
    torch.testing.assert_close(parts["kl"], kl, rtol=1e-5, atol=0)
    torch.testing.assert_close(parts["top_rec"], 2 * their_top, rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(parts["top_kl"], metrics["joint_KLD"], rtol=1e-5, atol=0)
    annealed = 0.5 * (1.5 * parts["kl"] + 0.7 * parts["top_kl"])
    pinned = parts["rec"] + annealed + parts["top_rec"] / 2 + 7.5 * math.log(2 * math.pi)
    torch.testing.assert_close(out.loss, pinned, rtol=1e-5, atol=0)
