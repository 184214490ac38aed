"""The multimodal VAEs' networks: the ``"vae"`` family of a suite's networks (``bench.networks``).

A suite supplies, per modality kind, ``make(shape, *, latent_dim, width) -> (encoder, decoder)`` where ``shape`` is
one modality's shape as models see it (``DataSpec.shapes[m]``) and ``width`` multiplies the conv channels (1 = the
reference). The encoder maps (B, *shape) to ``(mu, logvar)``, each (B, D); the decoder maps (B, D) to (B, *shape):
the likelihood's location for an image, per-position logits for text (``baselines.outputs``). ``GaussianHeads``
turns a body that ends in a flat feature vector into such an encoder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:
    from bench.interface import DataSpec

FAMILY = "vae"


class GaussianHeads(nn.Module):
    """body(x) -> (mu, logvar) through two Linear heads."""

    def __init__(self, body: nn.Module, width: int, latent_dim: int) -> None:
        super().__init__()
        self.body = body
        self.mu = nn.Linear(width, latent_dim)
        self.logvar = nn.Linear(width, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


def networks(spec: DataSpec, m: str, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder) for modality ``m`` of ``spec``, from the suite's ``"vae"`` factory for its kind."""
    return spec.network(FAMILY, m, latent_dim=latent_dim, width=width)
