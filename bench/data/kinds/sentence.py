"""Sentences of word tokens (CUB captions, as the MMVAE and MLD code encode them): stored int16 (N, L) token indices
into the modality's ``vocabulary``, whose first three words are the special tokens ``<exc>`` (a word outside the
vocabulary), ``<pad>`` and ``<eos>``; one-hot float (B, L, V) for models (the MLD code's one-hot (32, 1590)
sentences; MMVAE's embedding of token indices is the same linear map of the one-hot rows); a generation is read by
its argmax per position, cut at the first ``<eos>``, and drawn as its words."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from bench.data.kinds.base import KINDS, ModalitySpec, text_picture

EXC, PAD, EOS = "<exc>", "<pad>", "<eos>"
SPECIAL = (EXC, PAD, EOS)  # token indices 0, 1, 2 of every vocabulary
STORED = torch.int16  # vocabularies of up to 32,767 words (CUB's: about 1,600)


class SentenceKind:
    name = "sentence"

    def check(self, stored: Tensor, spec: ModalitySpec) -> None:
        if len(spec.shape) != 1 or tuple(spec.vocabulary[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"a sentence modality needs shape (L,) and a vocabulary starting {', '.join(SPECIAL)}, "
                             f"got {spec.shape} and {tuple(spec.vocabulary[:3])}")
        if stored.dtype != STORED or stored.ndim != 2 or stored.shape[1] != spec.shape[0]:
            raise ValueError(f"expected int16 tokens (N, {spec.shape[0]}), got {stored.dtype} {tuple(stored.shape)}")
        if stored.numel() and not 0 <= int(stored.min()) <= int(stored.max()) < len(spec.vocabulary):
            raise ValueError(f"tokens {int(stored.min())}..{int(stored.max())} are outside the vocabulary of "
                             f"{len(spec.vocabulary)} words")

    def model_shape(self, spec: ModalitySpec) -> tuple[int, ...]:
        return (spec.shape[0], len(spec.vocabulary))

    def to_model(self, stored: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(stored.long(), len(spec.vocabulary)).float()

    def to_stored(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return generated.argmax(dim=-1).to(STORED)

    def for_metrics(self, generated: Tensor, spec: ModalitySpec) -> Tensor:
        return F.one_hot(generated.argmax(dim=-1), len(spec.vocabulary)).to(generated.dtype)

    def draw(self, values: Tensor, spec: ModalitySpec, height: int, width: int) -> Tensor:
        tokens = values.argmax(dim=-1).cpu()
        return torch.stack([text_picture(words_of(row, spec.vocabulary), height, width) for row in tokens])


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
