"""Multi-modal Latent Diffusion: per-modality autoencoders, latent standardisation, score network, VP-SDE,
multi-time masking, samplers; registers the models ``mld``, ``mld_in`` and ``mld_uni``."""

from mld import model  # noqa: F401  (registers the models)
