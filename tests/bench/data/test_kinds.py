"""Modality kinds: stored <-> model form, what metrics read, drawing; datasets that mix images, text and sentences."""

import pytest
import torch

from bench.data.dataset import MultimodalDataset
from bench.data.cache import load_dataset, save_dataset
from bench.data.kinds import KINDS, ModalitySpec, decode, encode, quantize, text_picture, words_of

TEXT = ModalitySpec("text", (4,), "ab c")
SENTENCE = ModalitySpec("sentence", (5,), vocabulary=("<exc>", "<pad>", "<eos>", "a", "red", "bird", "."))


def test_image_kind_is_the_uint8_grid():
    kind, spec = KINDS.get("image"), ModalitySpec("image", (1, 2, 2))
    stored = torch.tensor([[[[0, 128], [255, 7]]]], dtype=torch.uint8)
    x = kind.to_model(stored, spec)
    assert torch.equal(kind.to_stored(x, spec), stored) and x.dtype == torch.float32
    generated = torch.tensor([[[[-0.2, 0.5013], [1.4, 0.0271]]]])
    assert torch.equal(kind.for_metrics(generated, spec), quantize(generated))
    assert torch.equal(kind.to_model(kind.to_stored(generated, spec), spec), kind.for_metrics(generated, spec))


def test_text_kind_is_one_hot_tokens_and_argmax():
    kind = KINDS.get("text")
    stored = torch.tensor([[0, 1, 2, 3], [3, 3, 0, 1]], dtype=torch.uint8)
    x = kind.to_model(stored, TEXT)
    assert x.shape == (2, 4, 4) and torch.equal(x.argmax(-1), stored.long()) and torch.equal(x.sum(-1), torch.ones(2, 4))
    probs = torch.softmax(torch.randn(2, 4, 4), dim=-1)
    assert torch.equal(kind.to_stored(probs, TEXT), probs.argmax(-1).to(torch.uint8))
    assert torch.equal(kind.for_metrics(probs, TEXT), kind.to_model(kind.to_stored(probs, TEXT), TEXT))
    assert TEXT.model_shape == (4, 4)
    assert decode(torch.tensor(encode("a cb", TEXT.alphabet)), TEXT.alphabet) == "a cb"
    with pytest.raises(ValueError, match="not in the alphabet"):
        encode("z", TEXT.alphabet)


@pytest.mark.parametrize("stored, message", [
    (torch.zeros(2, 5, dtype=torch.uint8), "expected uint8 tokens"),
    (torch.full((2, 4), 4, dtype=torch.uint8), "outside the alphabet"),
    (torch.zeros(2, 4, dtype=torch.int64), "expected uint8 tokens"),
])
def test_a_bad_text_modality_is_refused(stored, message):
    with pytest.raises(ValueError, match=f"modality t: .*{message}"):
        MultimodalDataset({"t": stored}, torch.zeros(2, dtype=torch.int64), {"t": TEXT})


def test_a_mixed_dataset_batches_subsets_and_round_trips(tmp_path):
    images = torch.randint(0, 256, (5, 1, 2, 2), dtype=torch.uint8)
    tokens = torch.randint(0, 4, (5, 4), dtype=torch.uint8)
    ds = MultimodalDataset({"img": images, "t": tokens}, torch.arange(5), {"t": TEXT})
    assert ds.kinds == {"img": "image", "t": "text"} and ds.shapes == {"img": (1, 2, 2), "t": (4, 4)}
    x, y = next(ds.batches(5))
    assert torch.equal(x["img"], images.float() / 255) and torch.equal(x["t"].argmax(-1), tokens.long())
    assert ds.subset(torch.tensor([1, 3])).specs == ds.specs
    save_dataset(ds, tmp_path / "d.pt", {"source": "test"})
    back, _ = load_dataset(tmp_path / "d.pt")
    assert back.specs == ds.specs and torch.equal(back.images["t"], tokens)


def test_text_is_drawn_as_its_characters():
    blank = torch.ones(3, 32, 32)
    word, other = text_picture("  seven ", 32, 32), text_picture("  eight ", 32, 32)
    assert word.shape == (3, 32, 32) and (word < 0.5).any() and not torch.equal(word, blank)
    assert not torch.equal(word, other)
    drawn = KINDS.get("text").draw(KINDS.get("text").to_model(torch.tensor([[0, 1, 2, 3]], dtype=torch.uint8), TEXT),
                                   TEXT, 28, 28)
    assert drawn.shape == (1, 3, 28, 28)


def test_sentence_kind_is_int16_word_tokens_one_hot_for_models():
    kind = KINDS.get("sentence")
    stored = torch.tensor([[3, 4, 5, 2, 1], [5, 0, 6, 2, 1]], dtype=torch.int16)
    x = kind.to_model(stored, SENTENCE)
    assert x.shape == (2, 5, 7) == (2, *SENTENCE.model_shape) and torch.equal(x.argmax(-1), stored.long())
    probs = torch.softmax(torch.randn(2, 5, 7), dim=-1)
    assert kind.to_stored(probs, SENTENCE).dtype == torch.int16
    assert torch.equal(kind.for_metrics(probs, SENTENCE), kind.to_model(kind.to_stored(probs, SENTENCE), SENTENCE))
    assert [words_of(row, SENTENCE.vocabulary) for row in stored] == ["a red bird", "bird ."]
    drawn = kind.draw(x, SENTENCE, 32, 64)
    assert drawn.shape == (2, 3, 32, 64) and not torch.equal(drawn[0], drawn[1])


@pytest.mark.parametrize("stored, spec, message", [
    (torch.zeros(2, 5, dtype=torch.uint8), SENTENCE, "expected int16 tokens"),
    (torch.full((2, 5), 7, dtype=torch.int16), SENTENCE, "outside the vocabulary of 7 words"),
    (torch.full((2, 5), -1, dtype=torch.int16), SENTENCE, "outside the vocabulary"),
    (torch.zeros(2, 5, dtype=torch.int16), ModalitySpec("sentence", (5,), vocabulary=("a", "b", "c")), "starting <exc>"),
])
def test_a_bad_sentence_modality_is_refused(stored, spec, message):
    with pytest.raises(ValueError, match=f"modality s: .*{message}"):
        MultimodalDataset({"s": stored}, torch.zeros(2, dtype=torch.int64), {"s": spec})


def test_a_dataset_with_sentences_round_trips_with_its_vocabulary(tmp_path):
    tokens = torch.tensor([[3, 4, 5, 2, 1], [5, 6, 2, 1, 1], [4, 2, 1, 1, 1]], dtype=torch.int16)
    images = torch.randint(0, 256, (3, 3, 2, 2), dtype=torch.uint8)
    ds = MultimodalDataset({"image": images, "caption": tokens}, torch.arange(3), {"caption": SENTENCE})
    save_dataset(ds, tmp_path / "d.pt", {"source": "test"})
    back, _ = load_dataset(tmp_path / "d.pt")
    assert back.specs == ds.specs and back.specs["caption"].vocabulary == SENTENCE.vocabulary
    assert torch.equal(back.images["caption"], tokens) and back.images["caption"].dtype == torch.int16
    x, _ = next(back.batches(3))
    assert x["caption"].shape == (3, 5, 7) and torch.equal(x["caption"].argmax(-1), tokens.long())
