"""Multimodal VAE baselines. Importing this package registers every baseline in ``bench.registry.MODELS``."""

from baselines import mmvae, mopoe, mvae, mvtcae  # noqa: F401  (register "mmvae", "mopoe", "mvae", "mvtcae")
