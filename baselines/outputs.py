"""What a VAE's decoder output means, per modality kind (``bench.data.kinds``), chosen through ``OUTPUTS[kind]``:
how it scores data (the reconstruction term's -ln p(x | out)) and what ``generate``/``sample`` return from it.

- image: the decoder gives the likelihood's location (B, C, H, W); -ln p is the config's Laplace (``laplace_scale``)
  or Gaussian (``gaussian_std``) summed per image (``bench.likelihoods``); generations are the locations clamped to
  [0, 1].
- text and sentence: the decoder gives per-position logits (B, L, V) over the characters or words; -ln p is the
  categorical one, -sum over the L positions of log softmax(logits)[true token]; generations are the probabilities
  softmax(logits) (B, L, V), each row summing to 1 (not clamped). The config's ``likelihood`` applies to images
  only.

A new kind registers an object with ``nll(x, out, cfg)`` and ``generation(out)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from torch import Tensor
from torch.nn import functional as F

from bench.likelihoods import LIKELIHOODS, categorical_nll
from bench.registry import Registry

if TYPE_CHECKING:
    from baselines.vae import VAEConfig


class DecoderOutput(Protocol):
    name: str

    def nll(self, x: Tensor, out: Tensor, cfg: "VAEConfig") -> Tensor:
        """-ln p(x | out) per item: x (B, *shape) against decoder outputs (..., B, *shape) -> (..., B)."""

    def generation(self, out: Tensor) -> Tensor:
        """Decoder outputs -> what ``generate`` and ``sample`` return (float32, the model form of the kind)."""


OUTPUTS: Registry[Any] = Registry("decoder output kind")


class ImageOutput:
    """The decoder output is the image likelihood's location."""

    name = "image"

    def nll(self, x: Tensor, loc: Tensor, cfg: "VAEConfig") -> Tensor:
        scale = cfg.laplace_scale if cfg.likelihood == "laplace" else cfg.gaussian_std
        return LIKELIHOODS[cfg.likelihood](x.to(loc.device), loc, scale)

    def generation(self, loc: Tensor) -> Tensor:
        return loc.float().clamp(0.0, 1.0)


class TextOutput:
    """The decoder output is per-position logits over the tokens (text characters, sentence words; every position
    scored, padding included, as the MLD and MultiVae code)."""

    name = "text"

    def nll(self, x: Tensor, logits: Tensor, cfg: "VAEConfig") -> Tensor:
        return categorical_nll(x, logits)

    def generation(self, logits: Tensor) -> Tensor:
        return F.softmax(logits.float(), dim=-1)


OUTPUTS.register("image")(ImageOutput())
OUTPUTS.register("text")(TextOutput())
OUTPUTS.register("sentence")(OUTPUTS.get("text"))
