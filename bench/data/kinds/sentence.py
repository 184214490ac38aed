"""Sentences of word tokens (CUB captions, as the MMVAE and MLD code encode them): stored int16 (N, L) token indices
into the modality's ``vocabulary``, whose first three words are the special tokens ``<exc>`` (a word outside the
vocabulary), ``<pad>`` and ``<eos>``; one-hot float (B, L, V) for models (the MLD code's one-hot (32, 1590)
sentences; MMVAE's embedding of token indices is the same linear map of the one-hot rows); a generation is read by
its argmax per position, cut at the first ``<eos>``, and drawn as its words."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from bench.data.kinds.base import KINDS, ModalitySpec, TokenKind

EXC, PAD, EOS = "<exc>", "<pad>", "<eos>"
SPECIAL = (EXC, PAD, EOS)  # token indices 0, 1, 2 of every vocabulary
STORED = torch.int16  # vocabularies of up to 32,767 words (CUB's: about 1,600)


class SentenceKind(TokenKind):
    name = "sentence"
    stored = STORED

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        if len(spec.shape) != 1 or tuple(spec.vocabulary[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"a sentence modality needs shape (L,) and a vocabulary starting {', '.join(SPECIAL)}, "
                             f"got {spec.shape} and {tuple(spec.vocabulary[:3])}")
        if stored.dtype != STORED or stored.ndim != 2 or stored.shape[1] != spec.shape[0]:
            raise ValueError(f"expected int16 tokens (N, {spec.shape[0]}), got {stored.dtype} {tuple(stored.shape)}")
        if stored.numel() and not 0 <= int(stored.min()) <= int(stored.max()) < len(spec.vocabulary):
            raise ValueError(f"tokens {int(stored.min())}..{int(stored.max())} are outside the vocabulary of "
                             f"{len(spec.vocabulary)} words")

    def tokens(self, spec: ModalitySpec) -> tuple[str, ...]:
        return spec.vocabulary

    def as_text(self, tokens: Tensor, spec: ModalitySpec) -> str:
        return words_of(tokens, spec.vocabulary)


KINDS.register("sentence")(SentenceKind())


def words_of(tokens: Sequence[int] | Tensor, vocabulary: Sequence[str]) -> str:
    """The words of ``tokens`` before the first ``<eos>``, special tokens dropped, joined by spaces (the MLD code's
    ``Sentence.get_str``, whose strings its CLIP-S reads)."""
    out = []
    for token in tokens:
        word = vocabulary[int(token)]
        if word == EOS:
            break
        if word not in SPECIAL:
            out.append(word)
    return " ".join(out)
