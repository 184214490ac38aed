"""MNIST-SVHN-Text (Sutter et al. 2021, "Generalized Multimodal ELBO", arXiv 2105.02470; MoPoE code
``mnistsvhntext/SVHNMNISTDataset.py``, ``utils/text.py``): the MNIST-SVHN pairs (``bench.suites.mnist_svhn.data``) plus the
digit's English name as a text modality.

- The text of a pair with label l is ``WORDS[l]`` written into ``LENGTH`` = 8 slots of spaces at a start index drawn
  uniformly from 0 .. 8 - 1 - len(word) (both ends included, so the last slot is always a space), as MoPoE's
  ``create_text_from_label_mnist``. MoPoE redraws the position on every access from an unseeded RNG; here it is
  drawn once per pair from ``seed`` (a reproducible evaluation), and stored.
- Tokens index ``ALPHABET``, MoPoE's ``alphabet.json`` joined into one string of 71 characters (a-z, 0-9,
  punctuation with '-' twice, space, newline); a character's token is its first position, as MoPoE's ``char2Index``
  (so token 59, the second '-', never occurs). Models see one-hot (8, 71) rows (``bench.data.kinds``).
"""

from __future__ import annotations

import numpy as np
import torch

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec, encode

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"\\/|_@#$%^&*~`+-=<>()[]{} \n"
LENGTH = 8
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEXT = ModalitySpec("text", (LENGTH,), ALPHABET)


def digit_texts(labels: torch.Tensor, *, seed: int) -> torch.Tensor:
    """uint8 (N, LENGTH) tokens: each label's word at a seeded uniform start position in a row of spaces."""
    rng = np.random.default_rng(seed)
    space = ALPHABET.index(" ")
    out = np.full((len(labels), LENGTH), space, dtype=np.uint8)
    words = [np.array(encode(w, ALPHABET), dtype=np.uint8) for w in WORDS]
    for i, label in enumerate(labels.tolist()):
        word = words[label]
        start = int(rng.integers(0, LENGTH - 1 - len(word), endpoint=True))
        out[i, start : start + len(word)] = word
    return torch.from_numpy(out)


def with_text(ds: MultimodalDataset, *, seed: int) -> MultimodalDataset:
    """``ds`` with a ``text`` modality added after its others: each tuple's digit name (``digit_texts``)."""
    images = {**ds.images, "text": digit_texts(ds.labels, seed=seed)}
    return MultimodalDataset(images, ds.labels, {**ds.specs, "text": TEXT})
