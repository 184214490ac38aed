"""Encoder/decoder pairs for the multimodal VAEs, chosen per modality by its kind (``bench.data.kinds``).

Every factory has the signature ``make(shape, latent_dim, width) -> (encoder, decoder)`` where ``shape`` is one
modality's shape as models see it (``DataSpec.shapes[m]``) and ``width`` multiplies the conv channels (1 = the
reference). The encoder maps (B, *shape) to ``(mu, logvar)``, each (B, D); the decoder maps (B, D) to (B, *shape):
the likelihood's location for an image, per-position logits for text (``baselines.outputs``).

- ``NETS[dataset]``: a dataset's image networks (``DataSpec.name``, e.g. "polymnist", "mnist_svhn"); an image
  modality takes its dataset's entry. A new dataset adds a module here that registers its factory, plus one import
  line below.
- ``KIND_NETS[kind]``: the networks of every other kind, the same on every dataset (e.g. "text").

``networks(spec, m, latent_dim, width)`` picks the pair for modality ``m`` of ``spec``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from bench.registry import Registry

if TYPE_CHECKING:
    from bench.interface import DataSpec

NETS: Registry = Registry("network")
KIND_NETS: Registry = Registry("network kind")


def networks(spec: DataSpec, m: str, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder) for modality ``m`` of ``spec``: an image modality's from its dataset's ``NETS[spec.name]``,
    a modality of another kind from ``KIND_NETS[kind]``."""
    kind = spec.kind(m)
    make = NETS.get(spec.name) if kind == "image" else KIND_NETS.get(kind)
    return make(tuple(spec.shapes[m]), latent_dim, width)


from baselines.nets import mnist_svhn, polymnist, text  # noqa: E402,F401  (register "mnist_svhn", "polymnist", "text")
