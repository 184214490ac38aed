"""Modality kinds: what every layer outside a model's core needs to know about a modality, chosen per kind through
``KINDS`` (``image``, ``text``; a new kind is one registered class).

A ``ModalitySpec`` says a modality's kind, its stored per-item shape and, for text, its alphabet. A kind converts
between the three forms a modality takes:

- stored (what datasets hold and what a generation becomes when it is kept): uint8; images (N, C, H, W) on the
  0..255 grid, text (N, L) token indices into the alphabet;
- model inputs and outputs (float): images (B, C, H, W) in [0, 1], text (B, L, V) one-hot rows (a model outputs
  per-position probabilities);
- what metrics read (``for_metrics``): a generation as it would be stored, back in model form (images quantised
  to the uint8 grid, text as the one-hot of its argmax tokens), so that classifiers and feature extractors never see
  values a stored sample could not have;

and draws a modality as an RGB picture for the sample grids (text rendered as its characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from bench.registry import Registry


@dataclass(frozen=True)
class ModalitySpec:
    """A modality: its ``kind`` (a ``KINDS`` name), the stored shape of one item (image (C, H, W), text (L,)) and,
    for text, the ``alphabet`` whose i-th character token i stands for."""

    kind: str = "image"
    shape: tuple[int, ...] = ()
    alphabet: str = ""

    @property
    def model_shape(self) -> tuple[int, ...]:
        """The shape of one item as models see it."""
        return KINDS.get(self.kind).model_shape(self)


class ModalityKind(Protocol):
    name: str

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        """A ValueError unless ``stored`` (N, ...) is valid stored data of ``spec``."""

    def model_shape(self, spec: ModalitySpec) -> tuple[int, ...]: ...

    def to_model(self, stored: Tensor, spec: ModalitySpec) -> Tensor:
        """Stored (B, ...) -> float model inputs."""

    def to_stored(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        """Float model outputs -> stored values (uint8)."""

    def for_metrics(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        """Float model outputs -> ``to_model(to_stored(...))``: what classifiers and feature extractors read."""

    def draw(self, values: Tensor, spec: ModalitySpec, height: int, width: int) -> Tensor:
        """Float model-form values (n, ...) -> RGB pictures float (n, 3, height, width) in [0, 1]."""


KINDS: Registry[ModalityKind] = Registry("modality kind")


def quantize(x: Tensor) -> Tensor:
    """Clamp to [0, 1] and round to the uint8 grid, as saving a PNG would (float32 out)."""
    return x.clamp(0.0, 1.0).mul(255.0).round_().div_(255.0)


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


class TextKind:
    """Character strings of a fixed length L over an alphabet of V characters: stored uint8 (N, L) tokens, one-hot
    float (B, L, V) for models (MoPoE's text modality, ``utils/text.py``)."""

    name = "text"

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        if not spec.alphabet or len(spec.shape) != 1:
            raise ValueError(f"a text modality needs shape (L,) and an alphabet, got {spec.shape} and {spec.alphabet!r}")
        if stored.dtype != torch.uint8 or stored.ndim != 2 or stored.shape[1] != spec.shape[0]:
            raise ValueError(f"expected uint8 tokens (N, {spec.shape[0]}), got {stored.dtype} {tuple(stored.shape)}")
        if stored.numel() and int(stored.max()) >= len(spec.alphabet):
            raise ValueError(f"token {int(stored.max())} is outside the alphabet of {len(spec.alphabet)} characters")

    def model_shape(self, spec: ModalitySpec) -> tuple[int, ...]:
        return (spec.shape[0], len(spec.alphabet))

    def to_model(self, stored: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(stored.long(), len(spec.alphabet)).float()

    def to_stored(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return generated.argmax(dim=-1).to(torch.uint8)

    def for_metrics(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(generated.argmax(dim=-1), len(spec.alphabet)).to(generated.dtype)

    def draw(self, values: Tensor, spec: ModalitySpec, height: int, width: int) -> Tensor:
        tokens = values.argmax(dim=-1).cpu()
        return torch.stack([text_picture(decode(row, spec.alphabet), height, width) for row in tokens])


KINDS.register("image")(ImageKind())
KINDS.register("text")(TextKind())


def encode(text: str, alphabet: str) -> list[int]:
    """Token indices of ``text`` (each character's first position in ``alphabet``, as MoPoE's ``char2Index``)."""
    missing = sorted({c for c in text if c not in alphabet})
    if missing:
        raise ValueError(f"characters {missing} are not in the alphabet")
    return [alphabet.index(c) for c in text]


def decode(tokens: Tensor, alphabet: str) -> str:
    """The string of token indices ``tokens`` (L,)."""
    return "".join(alphabet[int(t)] for t in tokens)


def text_picture(text: str, height: int, width: int) -> Tensor:
    """``text`` drawn black on white in PIL's default font, broken into the number of equal lines that lets it be
    drawn largest (spaces shown as a middle dot and newlines as a pilcrow, so that a word's position is visible),
    scaled to fit and centred in a (3, height, width) picture."""
    shown = text.replace(" ", "\u00b7").replace("\n", "\u00b6") or " "
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    char_w, line_h = (max(v, 1) for v in probe.textbbox((0, 0), "Mg", font=font)[2:])
    char_w = max(char_w // 2, 1)

    def scale(n_lines: int) -> float:
        per_line = -(-len(shown) // n_lines)
        return min(width / (per_line * char_w), height / (n_lines * line_h))

    n_lines = max(range(1, len(shown) + 1), key=scale)
    per_line = -(-len(shown) // n_lines)
    lines = [shown[i : i + per_line] for i in range(0, len(shown), per_line)]
    box = probe.multiline_textbbox((0, 0), "\n".join(lines), font=font, spacing=1)
    canvas = Image.new("L", (max(box[2] - box[0], 1) + 2, max(box[3] - box[1], 1) + 2), 255)
    ImageDraw.Draw(canvas).multiline_text((1 - box[0], 1 - box[1]), "\n".join(lines), fill=0, font=font, spacing=1)
    canvas.thumbnail((width, height))
    picture = Image.new("L", (width, height), 255)
    picture.paste(canvas, ((width - canvas.width) // 2, (height - canvas.height) // 2))
    array = torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)
    return array.expand(3, -1, -1).clone()
