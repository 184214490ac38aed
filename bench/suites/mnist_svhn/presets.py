"""Every model's presets on MNIST-SVHN (``bench.presets``), over each config's field defaults (the PolyMNIST
reference recipes).

``paper``: the MLD authors' MNIST-SVHN runs (MLD code ``mnist_svhn_baselines.py``, ``mnist_svhn_ae.py``,
``mnist_svhn_mld.py``; MoPoE code): the VAEs D = 20 (MMVAE+ 10 + 10, NEXUS 64 with a nexus latent of 20) for 150
epochs, MNIST's likelihood weighted 3072 / 784 = 3.92 (numel(SVHN) / numel(MNIST)); MLD's autoencoders D = 16 (MNIST
MLP) and 64 (SVHN conv) with batch 128, its score network width 256 (512 for the ablations MLD-IN and MLD-UNI),
d = 0.5, batch 128, 150 epochs. Our NEXUS has one level-1 size for both modalities, the SVHN one (64), where the MLD
code gives MNIST 16.

``quick`` and ``default``: each family's small-scale recipe with these sizes, and the epochs chosen on the offline
stand-in with ``benchmarks/learning_curves.py`` (docs/study.md): 10 epochs (3,130 steps on its 20,000 pairs) for the
VAEs, MVTCAE 40 (its SVHN-only posterior, which only has to cover the joint one, gives MNIST at chance from SVHN after
10 epochs and 0.26 coherence after 40), MMVAE+ 4 at batch 32 (2,500 steps); MLD's autoencoders 5 epochs at batch 64
and its score network 40 epochs.

``converged``: those recipes trained until coherence given one modality stops rising (docs/study.md): MoPoE 150
epochs (still rising at 60) with the rate decaying on a cosine (``lr_schedule``; at the fixed 2e-3 its k = 1 kept
moving between 0.60 and 0.69 from one probe to the next), MVTCAE 160, MMVAE+ 24, MLD's score network 160 and its
autoencoders 15.
"""

from __future__ import annotations

import dataclasses

from baselines.vae import small_scale
from bench.presets import register_presets
from mld.autoencoders import AutoencoderConfig
from mld.model import DEFAULT as MLD_DEFAULT, IN_QUICK as MLD_IN_QUICK, QUICK as MLD_QUICK

WEIGHTS = (3.92, 1.0)  # reconstruction weights (mnist, svhn): 3072 / 784 and 1 (MoPoE ``set_rec_weights``)
VAE = {"latent_dim": 20, "rec_weights": WEIGHTS}
MMVAE_PLUS = {"latent_dim": 10, "private_dim": 10, "rec_weights": WEIGHTS}

MLD_PAPER = {"autoencoder": AutoencoderConfig(latent_dims=(16, 64), batch_size=128, epochs=150), "init_dim": 256,
             "time_dim": 256, "groups": 8, "d": 0.5, "batch_size": 128, "epochs": 150}
MLD_SMALL = {**MLD_DEFAULT, "d": 0.5, "epochs": 40, "autoencoder": AutoencoderConfig(
    latent_dims=(16, 64), lr=2e-3, batch_size=64, epochs=5, likelihood="gaussian")}
MLD_CONVERGED = {**MLD_SMALL, "epochs": 160, "autoencoder": dataclasses.replace(MLD_SMALL["autoencoder"], epochs=15)}

PRESETS = {
    "mld": {"quick": {**MLD_QUICK, "d": 0.5}, "default": MLD_SMALL, "converged": MLD_CONVERGED, "paper": MLD_PAPER},
    "mld_in": {"quick": {**MLD_IN_QUICK, "d": 0.5}, "default": MLD_SMALL, "paper": {**MLD_PAPER, "init_dim": 512}},
    "mld_uni": {"quick": {**MLD_QUICK, "d": 0.5}, "default": MLD_SMALL, "paper": {**MLD_PAPER, "init_dim": 512}},
    "mopoe": {"quick": small_scale(**VAE, epochs=2), "default": small_scale(**VAE, epochs=10),
              "converged": small_scale(**VAE, epochs=150, lr_schedule="cosine"), "paper": {**VAE, "epochs": 150}},
    "mvae": {"quick": small_scale(**VAE, epochs=2), "default": small_scale(**VAE, epochs=10),
             "paper": {**VAE, "epochs": 150}},
    "mvtcae": {"quick": small_scale(**VAE, epochs=2), "default": small_scale(**VAE, epochs=40),
               "converged": small_scale(**VAE, epochs=160), "paper": {**VAE, "epochs": 150}},
    "mmvae": {"quick": small_scale(**VAE, epochs=2, K=2), "default": small_scale(**VAE, epochs=10, K=1),
              "paper": {**VAE, "epochs": 150}},
    "mmvae_plus": {"quick": small_scale(**MMVAE_PLUS, epochs=2),
                   "default": small_scale(**MMVAE_PLUS, epochs=4, batch_size=32),
                   "converged": small_scale(**MMVAE_PLUS, epochs=24, batch_size=32),
                   "paper": {**MMVAE_PLUS, "epochs": 150}},
    "nexus": {
        "quick": small_scale(latent_dim=16, nexus_dim=8, message_dim=32, hidden=(64, 64), epochs=2, anneal_epochs=2,
                             rec_weights=WEIGHTS),
        "default": small_scale(latent_dim=32, nexus_dim=20, message_dim=128, hidden=(256, 256), epochs=10,
                               anneal_epochs=2, rec_weights=WEIGHTS),
        "paper": {"latent_dim": 64, "nexus_dim": 20, "rec_weights": WEIGHTS, "epochs": 150},
    },
}

for _model, _presets in PRESETS.items():
    register_presets("mnist_svhn", _model, _presets)
