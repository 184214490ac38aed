"""Images: stored uint8 (N, C, H, W) on the 0..255 grid, float (B, C, H, W) in [0, 1] for models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from bench.data.kinds.base import KINDS, ModalitySpec, quantize


class ImageKind:
    """Images: stored uint8 (N, C, H, W), float (B, C, H, W) in [0, 1] for models."""

    name = "image"

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        if stored.dtype != torch.uint8 or stored.ndim != 4 or (spec.shape and tuple(stored.shape[1:]) != spec.shape):
            raise ValueError(f"expected uint8 (N, C, H, W){' with (C, H, W) = ' + str(spec.shape) if spec.shape else ''}, "
                             f"got {stored.dtype} {tuple(stored.shape)}")

    def model_shape(self, spec: ModalitySpec) -> tuple[int, ...]:
        return tuple(spec.shape)

    def to_model(self, stored: Tensor, spec: ModalitySpec) -> Tensor:
        return stored.float().div_(255.0)

    def to_stored(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return quantize(generated).mul_(255.0).round_().to(torch.uint8)

    def for_metrics(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return quantize(generated)

    def draw(self, values: Tensor, spec: ModalitySpec, height: int, width: int) -> Tensor:
        """Quantised, grey repeated to RGB, centred on a white border (modalities of different sizes, e.g. MNIST
        28x28 next to SVHN 32x32, share one grid)."""
        x = quantize(values.float())
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        top, left = (height - x.shape[2]) // 2, (width - x.shape[3]) // 2
        return F.pad(x, (left, width - x.shape[3] - left, top, height - x.shape[2] - top), value=1.0)


KINDS.register("image")(ImageKind())
