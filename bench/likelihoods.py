"""Image likelihoods with a fixed scale, as negative log-densities summed per image (and the categorical of text,
``categorical_nll``):

    -ln Laplace(x | loc, s) = sum_pixels |x - loc| / s + ln(2 s)            (every reference repository, s = 0.75)
    -ln N(x | loc, s^2)     = sum_pixels (x - loc)^2 / (2 s^2) + ln(s sqrt(2 pi))

The Laplace scale is fixed at 0.75 in every reference repository (e.g. MoPoE ``ConvNetworksImgCMNIST.py``, MMVAE
``vae_mnist.py``, MLD ``src/abstract/modality.py``). The Gaussian is a small-scale deviation (``likelihood="gaussian"``
in the VAE and MLD autoencoder configs): under the Laplace the best guess of a pixel whose stroke is uncertain is the
median (here the background), so partial knowledge of the digit lowers the loss by nothing and digits appear late in
training; under the Gaussian the best guess is the mean, a faint digit that already pays (README, "Choosing the default
scale": on the embedded PolyMNIST a Laplace MoPoE was still at chance after 2,600 steps, a Gaussian one at 0.21).
"""

from __future__ import annotations

import math

from torch import Tensor
from torch.nn import functional as F


def gaussian_nll(x: Tensor, loc: Tensor, std: float = 0.25, *, event_dims: int = 3) -> Tensor:
    """-ln N(x | loc, std^2) summed over the last ``event_dims`` dims, broadcasting as ``laplace_nll``."""
    per_pixel = (x - loc).square() / (2.0 * std * std) + math.log(std * math.sqrt(2.0 * math.pi))
    return per_pixel.flatten(start_dim=per_pixel.ndim - event_dims).sum(dim=-1)


def laplace_nll(x: Tensor, loc: Tensor, scale: float = 0.75, *, event_dims: int = 3) -> Tensor:
    """-ln Laplace(x | loc, scale) summed over the last ``event_dims`` dims (an image's C, H, W); ``x`` and ``loc``
    broadcast, so (B, C, H, W) gives (B,) and x (B, C, H, W) against loc (K, B, C, H, W) gives (K, B)."""
    per_pixel = (x - loc).abs() / scale + math.log(2.0 * scale)
    return per_pixel.flatten(start_dim=per_pixel.ndim - event_dims).sum(dim=-1)


def categorical_nll(x: Tensor, logits: Tensor) -> Tensor:
    """-ln Cat(x | softmax(logits)) summed over the L positions: x one-hot (B, L, V) against logits (..., B, L, V)
    -> (..., B), broadcasting as ``laplace_nll``.

    The correct categorical with ``logits`` semantics (``torch.distributions.Categorical(logits=...)``); MoPoE's
    decoder emits log-probabilities and passes them to ``OneHotCategorical`` as ``probs``, a known quirk of its code
    that we deliberately do not reproduce. For one-hot x this is -sum_l log softmax(logits_l)[token_l]; for soft
    rows x it is the cross-entropy against them.
    """
    return -(x.to(logits.device) * F.log_softmax(logits, dim=-1)).sum(dim=(-2, -1))


LIKELIHOODS = {"laplace": laplace_nll, "gaussian": gaussian_nll}  # name -> nll(x, loc, scale), summed per image
