"""CUB captions as word tokens, the way the MMVAE code builds them (iffsid/mmvae ``src/datasets.py``,
``CUBSentences``; the MLD code ``src/dataLoaders/CUB/CUB.py`` and MultiVae ``data/datasets/cub.py`` repeat it):

- each caption is split into words by nltk's word tokenizer (Treebank rules: "crown," -> "crown", ","), with no
  lower-casing (``lowercase=True`` is a deviation);
- the vocabulary is built from the training captions only: the special tokens ``<exc>`` = 0, ``<pad>`` = 1,
  ``<eos>`` = 2, then every word seen **more than** ``min_occ`` = 3 times, in the order first seen; every other word
  (and every word unseen in training) becomes ``<exc>``;
- a caption keeps its first ``max_length - 1`` = 31 words, then ``<eos>``, then ``<pad>`` up to ``max_length`` = 32;
- decoding cuts at the first ``<eos>`` and drops the special tokens, as the MLD code's ``Sentence.get_str`` (its
  CLIP-S reads these strings; ``bench.data.kinds.sentence``, the modality kind these tokens are stored as).

The references run nltk's sentence splitter over the whole caption file and pair the k-th sentence with image
k // 10, which assumes one sentence per line; here each line of the file is one caption, so the pairing holds by
construction (both agree wherever the splitter finds one sentence per line). The vocabulary file is the references'
``cub.vocab`` JSON, ``{"w2i": {word: index}, "i2w": {"index": word}}``, so a vocabulary written by their code reads
here and ours reads there. The references hard-code its size as 1,590; ours is whatever the training captions give,
recorded with the data.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from nltk.tokenize import NLTKWordTokenizer
from torch import Tensor

from bench.data.kinds import ModalitySpec
from bench.data.kinds.sentence import EOS, PAD, SPECIAL, STORED, words_of
from bench.errors import BenchError

MAX_LENGTH = 32
MIN_OCC = 3

_WORDS = NLTKWordTokenizer()


def words(caption: str, *, lowercase: bool = False) -> list[str]:
    """The word tokens of one caption (nltk's ``word_tokenize`` of one line, which needs no downloaded model)."""
    return _WORDS.tokenize(caption.lower() if lowercase else caption)


@dataclass(frozen=True)
class Vocabulary:
    """Token index -> word (``words[i]``), the special tokens first; ``max_length`` tokens per encoded caption."""

    words: tuple[str, ...]
    max_length: int = MAX_LENGTH
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.words[: len(SPECIAL)] != SPECIAL:
            raise BenchError(f"a caption vocabulary must start with {', '.join(SPECIAL)}, not {self.words[:3]}",
                             "rebuild it from the training captions (Vocabulary.build)")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, captions: Iterable[str], *, min_occ: int = MIN_OCC, max_length: int = MAX_LENGTH,
              lowercase: bool = False) -> Vocabulary:
        """The special tokens, then each word of ``captions`` seen more than ``min_occ`` times, in first-seen
        order."""
        counts = Counter()  # insertion-ordered: first seen first
        for caption in captions:
            counts.update(words(caption, lowercase=lowercase))
        kept = [w for w, n in counts.items() if n > min_occ and w not in SPECIAL]
        return cls((*SPECIAL, *kept), max_length=max_length, lowercase=lowercase)

    def encode(self, caption: str) -> tuple[list[int], int]:
        """(``max_length`` token indices, length with ``<eos>``): the first ``max_length - 1`` words (``<exc>`` for
        a word not in the vocabulary), ``<eos>``, ``<pad>`` to the end."""
        tokens = [self._index.get(w, 0) for w in words(caption, lowercase=self.lowercase)[: self.max_length - 1]]
        length = len(tokens) + 1
        return tokens + [SPECIAL.index(EOS)] + [SPECIAL.index(PAD)] * (self.max_length - length), length

    @property
    def spec(self) -> ModalitySpec:
        """The ``sentence`` modality these captions are stored as."""
        return ModalitySpec("sentence", (self.max_length,), vocabulary=self.words)

    def tokens(self, captions: Sequence[str]) -> Tensor:
        """The stored form of ``captions``: int16 (N, ``max_length``) token indices (``encode`` of each)."""
        return torch.tensor([self.encode(c)[0] for c in captions], dtype=STORED).reshape(len(captions), self.max_length)

    def decode(self, indices: Sequence[int]) -> str:
        """The words before the first ``<eos>``, special tokens dropped, joined by spaces (``words_of``)."""
        return words_of(indices, self.words)

    def save(self, path: str | Path) -> None:
        """Write the references' ``cub.vocab`` JSON (plus our ``max_length`` and ``lowercase``)."""
        Path(path).write_text(json.dumps({
            "w2i": {w: i for i, w in enumerate(self.words)}, "i2w": {str(i): w for i, w in enumerate(self.words)},
            "max_length": self.max_length, "lowercase": self.lowercase,
        }, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a ``cub.vocab`` file, ours or the references' (whose files hold only ``w2i`` and ``i2w``)."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            i2w = document["i2w"]
            vocabulary = tuple(i2w[str(i)] for i in range(len(i2w)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"cannot read the caption vocabulary {path}: {exc!r}",
                             "delete it: the vocabulary is rebuilt from the training captions") from None
        if any(document.get("w2i", {}).get(w) != i for i, w in enumerate(vocabulary)):
            raise BenchError(f"{path}: its w2i and i2w disagree", "delete it: the vocabulary is rebuilt from the "
                             "training captions")
        return cls(vocabulary, max_length=document.get("max_length", MAX_LENGTH),
                   lowercase=document.get("lowercase", False))
