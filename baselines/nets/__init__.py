"""Per-dataset encoder/decoder pairs for the multimodal VAEs.

``NETS.get(spec.name)(shape, latent_dim, width) -> (encoder, decoder)`` where ``shape`` is one modality's (C, H, W)
and ``width`` multiplies the conv channels (1 = the reference).
The encoder maps (B, C, H, W) to ``(mu, logvar)``, each (B, D); the decoder maps (B, D) to the likelihood's
location, (B, C, H, W). A new dataset adds a module here that registers its factory, plus one import line below.
"""

from __future__ import annotations

from bench.registry import Registry

NETS: Registry = Registry("network")

from baselines.nets import mnist_svhn, polymnist  # noqa: E402,F401  (registers "mnist_svhn", "polymnist")
