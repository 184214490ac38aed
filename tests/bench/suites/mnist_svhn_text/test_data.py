"""MNIST-SVHN-Text's text modality as MoPoE builds it (utils/text.py, alphabet.json), drawn once from a seed."""

import torch

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import decode
from bench.suites.mnist_svhn_text.data import ALPHABET, LENGTH, WORDS, digit_texts, with_text


def test_the_alphabet_is_mopoes():
    assert len(ALPHABET) == 71 and ALPHABET[:36] == "abcdefghijklmnopqrstuvwxyz0123456789"
    assert ALPHABET.index("-") == 36 and ALPHABET[59] == "-"  # first occurrence wins: token 59 never occurs
    assert ALPHABET[-2:] == " \n"


def test_each_word_sits_in_spaces_at_every_start_mopoe_allows():
    labels = torch.arange(10).repeat(200)
    texts = [decode(row, ALPHABET) for row in digit_texts(labels, seed=0)]
    for label in range(10):
        word = WORDS[label]
        rows = [t for t, y in zip(texts, labels.tolist()) if y == label]
        starts = {t.index(word) for t in rows}
        assert starts == set(range(LENGTH - len(word)))  # randint(0, 8 - 1 - len(word)), both ends included
        assert all(len(t) == LENGTH and t.replace(word, "", 1).strip() == "" and t[-1] == " " for t in rows)


def test_seeded_and_added_after_the_images():
    labels = torch.tensor([3, 1, 4, 1, 5])
    assert torch.equal(digit_texts(labels, seed=2), digit_texts(labels, seed=2))
    assert not torch.equal(digit_texts(labels.repeat(20), seed=2), digit_texts(labels.repeat(20), seed=3))
    ds = MultimodalDataset({"mnist": torch.zeros(5, 1, 28, 28, dtype=torch.uint8)}, labels)
    both = with_text(ds, seed=0)
    assert both.modalities == ("mnist", "text") and both.kinds["text"] == "text" and both.shapes["text"] == (8, 71)
    assert [decode(r, ALPHABET).strip() for r in both.images["text"]] == ["three", "one", "four", "one", "five"]
