"""What every modality kind shares: the ``ModalitySpec`` of a modality, the ``ModalityKind`` protocol, the ``KINDS``
registry, the uint8 grid of images (``quantize``), what the token kinds share (``TokenKind``) and text drawn as a
picture (``text_picture``). The kinds
themselves are one module each in this package (``bench.data.kinds``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from bench.registry import Registry


@dataclass(frozen=True)
class ModalitySpec:
    """A modality: its ``kind`` (a ``KINDS`` name), the stored shape of one item (image (C, H, W), text and
    sentences (L,)) and the tokens a token index stands for: for text the ``alphabet`` (token i is its i-th
    character), for sentences the ``vocabulary`` (token i is its i-th word)."""

    kind: str = "image"
    shape: tuple[int, ...] = ()
    alphabet: str = ""
    vocabulary: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON form saved with datasets and exported models (``from_dict`` reads it back)."""
        out = {"kind": self.kind, "shape": list(self.shape), "alphabet": self.alphabet}
        return {**out, "vocabulary": list(self.vocabulary)} if self.vocabulary else out

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> "ModalitySpec":
        return cls(saved["kind"], tuple(saved["shape"]), saved.get("alphabet", ""),
                   tuple(saved.get("vocabulary", ())))

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


class TokenKind:
    """What the token kinds (text characters, sentence words) share: stored (N, L) token indices of dtype
    ``stored``, one-hot float (B, L, V) for models over the V tokens of ``tokens(spec)``, a generation read by its
    argmax per position, drawn as ``as_text`` of its tokens. A subclass adds ``name``, ``check`` and those two."""

    stored: torch.dtype

    def tokens(self, spec: ModalitySpec) -> Sequence[str]:
        """What token i stands for, for every i."""
        raise NotImplementedError

    def as_text(self, tokens: Tensor, spec: ModalitySpec) -> str:
        """The text of one row of token indices (L,)."""
        raise NotImplementedError

    def model_shape(self, spec: ModalitySpec) -> tuple[int, ...]:
        return (spec.shape[0], len(self.tokens(spec)))

    def to_model(self, stored: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(stored.long(), len(self.tokens(spec))).float()

    def to_stored(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return generated.argmax(dim=-1).to(self.stored)

    def for_metrics(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(generated.argmax(dim=-1), len(self.tokens(spec))).to(generated.dtype)

    def draw(self, values: Tensor, spec: ModalitySpec, height: int, width: int) -> Tensor:
        rows = values.argmax(dim=-1).cpu()
        return torch.stack([text_picture(self.as_text(row, spec), height, width) for row in rows])


def quantize(x: Tensor) -> Tensor:
    """Clamp to [0, 1] and round to the uint8 grid, as saving a PNG would (float32 out)."""
    return x.clamp(0.0, 1.0).mul(255.0).round_().div_(255.0)


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
