"""Character strings of a fixed length over an alphabet (MoPoE's text modality): stored uint8 (N, L) tokens,
one-hot float (B, L, V) for models, drawn as their characters."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.data.kinds.base import KINDS, ModalitySpec, TokenKind


class TextKind(TokenKind):
    """Character strings of a fixed length L over an alphabet of V characters: stored uint8 (N, L) tokens, one-hot
    float (B, L, V) for models (MoPoE's text modality, ``utils/text.py``)."""

    name = "text"
    stored = torch.uint8

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        if not spec.alphabet or len(spec.shape) != 1:
            raise ValueError(f"a text modality needs shape (L,) and an alphabet, got {spec.shape} and {spec.alphabet!r}")
        if stored.dtype != torch.uint8 or stored.ndim != 2 or stored.shape[1] != spec.shape[0]:
            raise ValueError(f"expected uint8 tokens (N, {spec.shape[0]}), got {stored.dtype} {tuple(stored.shape)}")
        if stored.numel() and int(stored.max()) >= len(spec.alphabet):
            raise ValueError(f"token {int(stored.max())} is outside the alphabet of {len(spec.alphabet)} characters")

    def tokens(self, spec: ModalitySpec) -> str:
        return spec.alphabet

    def as_text(self, tokens: Tensor, spec: ModalitySpec) -> str:
        return decode(tokens, spec.alphabet)


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
