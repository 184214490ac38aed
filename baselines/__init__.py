"""Multimodal VAE baselines. Importing this package registers every baseline in ``bench.registry.MODELS``."""

from baselines import mopoe, mvae, mvtcae  # noqa: F401  (register "mopoe", "mvae", "mvtcae")
