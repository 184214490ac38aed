"""CUB caption tokens against the reference rules (iffsid/mmvae ``src/datasets.py``): the special tokens first,
words kept only when seen more than 3 times in training, in first-seen order, 31 words + <eos> + <pad> to 32,
decoding cut at <eos>; and the references' ``cub.vocab`` file format both ways."""

import json

import pytest
import torch

from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.suites.cub.captions import Vocabulary, words

TRAIN = [
    "this bird has a red crown, and white wings.",
    "this bird has a red crown and a short beak.",
    "this bird has a blue belly and white wings.",
    "this bird is small, with a red crown.",
    "A bird with white wings.",
]


def test_words_split_punctuation_and_keep_case():
    assert words("the bird has a yellow crown, and black-and-white wings; it's small.") == [
        "the", "bird", "has", "a", "yellow", "crown", ",", "and", "black-and-white", "wings", ";", "it", "'s", "small",
        ".",
    ]
    assert words("A Bird.") == ["A", "Bird", "."] and words("A Bird.", lowercase=True) == ["a", "bird", "."]


def test_the_vocabulary_keeps_words_seen_more_than_three_times_in_first_seen_order():
    vocabulary = Vocabulary.build(TRAIN)
    # counts: this 4, bird 5, has 3, a 5 (+"A" 1, kept apart), red 3, crown 3, "," 2, and 3, white 3, wings 3, "." 5
    assert vocabulary.words == ("<exc>", "<pad>", "<eos>", "this", "bird", "a", ".")
    lower = Vocabulary.build(TRAIN, lowercase=True)
    assert lower.words == ("<exc>", "<pad>", "<eos>", "this", "bird", "a", ".")  # "a" now 6 times
    assert Vocabulary.build(TRAIN, min_occ=2).words[3:] == (
        "this", "bird", "has", "a", "red", "crown", "and", "white", "wings", ".")


def test_encode_pads_to_32_with_eos_and_maps_unknown_words_to_exc():
    vocabulary = Vocabulary.build(TRAIN)
    tokens, length = vocabulary.encode("this bird has a green crown.")
    assert tokens[:8] == [3, 4, 0, 5, 0, 0, 6, 2] and tokens[8:] == [1] * 24 and length == 8
    long_tokens, long_length = vocabulary.encode(" ".join(["bird"] * 40))
    assert long_tokens == [4] * 31 + [2] and long_length == 32


def test_decode_cuts_at_eos_and_drops_special_tokens():
    vocabulary = Vocabulary.build(TRAIN)
    tokens, _ = vocabulary.encode("this bird has a green crown.")
    assert vocabulary.decode(tokens) == "this bird a ."
    assert vocabulary.decode([4, 1, 5, 2, 3, 3]) == "bird a"


def test_a_reference_vocab_file_reads_and_ours_has_the_reference_layout(tmp_path):
    reference = tmp_path / "cub.vocab"  # what CUBSentences._create_vocab writes
    w2i = {"<exc>": 0, "<pad>": 1, "<eos>": 2, "this": 3, "bird": 4}
    reference.write_text(json.dumps({"w2i": w2i, "i2w": {str(i): w for w, i in w2i.items()}}))
    vocabulary = Vocabulary.load(reference)
    assert vocabulary.words == tuple(w2i) and vocabulary.max_length == 32 and len(vocabulary) == 5
    ours = tmp_path / "ours.vocab"
    Vocabulary.build(TRAIN, lowercase=True).save(ours)
    document = json.loads(ours.read_text())
    assert document["i2w"]["3"] == "this" and document["w2i"]["this"] == 3
    assert Vocabulary.load(ours) == Vocabulary.build(TRAIN, lowercase=True)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"w2i": {"<exc>": 0}}),
                                     json.dumps({"w2i": {"<exc>": 0, "<pad>": 2, "<eos>": 1},
                                                 "i2w": {"0": "<exc>", "1": "<pad>", "2": "<eos>"}})])
def test_a_damaged_vocab_file_is_one_clear_error(content, tmp_path):
    path = tmp_path / "cub.vocab"
    path.write_text(content)
    with pytest.raises(BenchError, match="cub.vocab"):
        Vocabulary.load(path)


def test_captions_are_stored_as_a_sentence_modality_that_decodes_back():
    vocabulary = Vocabulary.build(TRAIN)
    tokens = vocabulary.tokens(["this bird a .", "a bird"])
    assert tokens.dtype == torch.int16 and tokens.shape == (2, 32)
    ds = MultimodalDataset({"caption": tokens}, torch.zeros(2, dtype=torch.int64), {"caption": vocabulary.spec})
    x, _ = next(ds.batches(2))
    assert x["caption"].shape == (2, 32, len(vocabulary))
    assert [vocabulary.decode(row) for row in x["caption"].argmax(-1)] == ["this bird a .", "a bird"]
