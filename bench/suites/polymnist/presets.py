"""Every model's presets on PolyMNIST (``bench.presets``): what differs from its config's field defaults, which are
the PolyMNIST reference recipes (MoPoE code ``job_polymnist``, MLD code ``experiments/mmnist/``), so ``paper`` changes
nothing.

``quick`` and ``default`` are the small-scale recipes (each model family's own shrink, ``small_scale`` for the VAEs and
``mld.model.QUICK``/``DEFAULT`` for MLD) with the sizes chosen on the embedded PolyMNIST with
``benchmarks/learning_curves.py`` on 2 CPU cores (docs/study.md): the VAEs D = 64 for 50 epochs (3,150 steps, coherence
given one modality about 0.45 for MoPoE), MMVAE+ 16 + 16 latents at batch 32 for 25 epochs (3,125 steps; each step
decodes every modality from every modality's sample, 5x the decoder work of MoPoE), NEXUS smaller latents and nexus
node, MMVAE one importance sample.

``converged``: the ``default`` recipes of the default models trained until their coherence given one modality stops
rising (docs/study.md): the VAEs 6x longer (MoPoE and MVTCAE 300 epochs, MMVAE+ 150), MLD's score network 4x (1,200
epochs, 38,400 steps) and its autoencoders 3x (60 epochs).
"""

from __future__ import annotations

import dataclasses

from baselines.vae import small_scale
from bench.presets import register_presets
from mld.model import DEFAULT as MLD_DEFAULT, IN_QUICK as MLD_IN_QUICK, QUICK as MLD_QUICK

VAE_QUICK, VAE_DEFAULT = small_scale(latent_dim=16, epochs=2), small_scale(latent_dim=64, epochs=50)
VAE_CONVERGED = small_scale(latent_dim=64, epochs=300)
MLD_CONVERGED = {**MLD_DEFAULT, "epochs": 1200,
                 "autoencoder": dataclasses.replace(MLD_DEFAULT["autoencoder"], epochs=60)}

PRESETS = {
    "mld": {"quick": MLD_QUICK, "default": MLD_DEFAULT, "converged": MLD_CONVERGED, "paper": {}},
    "mld_in": {"quick": MLD_IN_QUICK, "default": MLD_DEFAULT, "paper": {}},
    "mld_uni": {"quick": MLD_QUICK, "default": MLD_DEFAULT, "paper": {}},
    "mopoe": {"quick": VAE_QUICK, "default": VAE_DEFAULT, "converged": VAE_CONVERGED, "paper": {}},
    "mvae": {"quick": VAE_QUICK, "default": VAE_DEFAULT, "paper": {}},
    "mvtcae": {"quick": VAE_QUICK, "default": VAE_DEFAULT, "converged": VAE_CONVERGED, "paper": {}},
    "mmvae": {"quick": {**VAE_QUICK, "K": 2}, "default": {**VAE_DEFAULT, "K": 1}, "paper": {}},
    "mmvae_plus": {
        "quick": small_scale(latent_dim=8, private_dim=8, epochs=2),
        "default": small_scale(latent_dim=16, private_dim=16, epochs=25, batch_size=32),
        "converged": small_scale(latent_dim=16, private_dim=16, epochs=150, batch_size=32),
        "paper": {},
    },
    "nexus": {
        "quick": small_scale(latent_dim=16, nexus_dim=8, message_dim=32, hidden=(64, 64), epochs=2, anneal_epochs=2),
        "default": small_scale(latent_dim=32, nexus_dim=32, message_dim=128, hidden=(256, 256), epochs=50,
                               anneal_epochs=10),
        "paper": {},
    },
}

for _model, _presets in PRESETS.items():
    register_presets("polymnist", _model, _presets)
