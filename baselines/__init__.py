"""Multimodal VAE baselines. Importing this package registers every baseline in ``bench.registry.MODELS``."""

from baselines import mopoe  # noqa: F401  (registers "mopoe")
