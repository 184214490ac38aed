"""Multimodal VAE baselines. Importing this package registers every baseline in ``bench.registry.MODELS``."""

from baselines import mmvae, mmvae_plus, mopoe, mvae, mvtcae, nexus  # noqa: F401  (each registers its model)
