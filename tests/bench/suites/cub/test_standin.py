"""The CUB stand-in: seeded birds whose captions determine every attribute (a rule reader recovers all of them) and
whose images show them (size in the drawn area, the colours among the pixels)."""

import re

import numpy as np
import pytest
import torch

from bench.suites.cub.standin import ATTRIBUTES, COLOURS, birds, named

COLOUR = "|".join(COLOURS)
RULES = {  # an independent reader of the grammar: attribute -> pattern whose first non-empty group is the value
    "body": rf"\b({COLOUR}) (?:body|belly|breast)\b|\b({COLOUR}) bird\b",
    "wings": rf"\b({COLOUR}) (?:wings|feathers on its wings)\b",
    "crown": rf"\b({COLOUR}) (?:crown|head)\b",
    "size": r"\b(small|large)\b",
    "beak": r"\b(short|long) (?:beak|bill)\b|beak is (short|long)\b",
}


def read(caption: str) -> dict[str, str]:
    out = {}
    for name, pattern in RULES.items():
        values = {next(g for g in m.groups() if g) for m in re.finditer(pattern, caption)}
        assert len(values) == 1, (name, caption)
        out[name] = values.pop()
    return out


def test_the_stand_in_is_seeded_and_stored_as_the_real_data():
    a, b = birds(6, captions_per_image=3, seed=5), birds(6, captions_per_image=3, seed=5)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])
    images, captions, attributes = a
    assert images.shape == (6, 3, 64, 64) and images.dtype == np.uint8 and len(captions) == 18
    assert attributes.shape == (6, len(ATTRIBUTES)) and not np.array_equal(birds(6, captions_per_image=3, seed=6)[0], images)


def test_every_caption_names_every_attribute_of_its_bird():
    _, captions, attributes = birds(60, captions_per_image=5, seed=0)
    assert len(set(captions)) > 200  # several phrasings
    for k, text in enumerate(captions):
        assert read(text) == named(attributes[k // 5])


@pytest.mark.parametrize("attribute", ["body", "wings", "crown"])
def test_the_drawn_colours_are_in_the_image(attribute):
    images, _, attributes = birds(40, captions_per_image=1, seed=1)
    pixels = images.transpose(0, 2, 3, 1).reshape(40, -1, 3).astype(float)
    index = list(ATTRIBUTES).index(attribute)
    for image, row in zip(pixels, attributes):
        colour = np.array(COLOURS[ATTRIBUTES[attribute][row[index]]])
        assert (np.linalg.norm(image - colour, axis=1) < 60).sum() >= 10  # crowns: 18 or more


def test_large_birds_cover_more_of_the_picture():
    images, _, attributes = birds(60, captions_per_image=1, seed=2)
    saturated = images.astype(int).max(axis=1) - images.astype(int).min(axis=1)  # backgrounds are muted
    area = (saturated > 110).sum(axis=(1, 2)) + (images.min(axis=1) > 215).sum(axis=(1, 2)) \
        + (images.max(axis=1) < 50).sum(axis=(1, 2))
    large = attributes[:, list(ATTRIBUTES).index("size")] == 1
    assert area[large].mean() > 1.8 * area[~large].mean()


def test_a_stand_in_split_pairs_each_caption_with_its_bird_and_labels_it_by_the_attributes():
    from bench.suites.cub.standin import LABELS, stand_in_split

    train, vocabulary = stand_in_split(12, captions_per_image=3, seed=4)
    test, same = stand_in_split(5, captions_per_image=3, seed=5, vocabulary=vocabulary)
    assert same is vocabulary and len(train) == 36 and train.labels.shape == (36, len(ATTRIBUTES))
    assert LABELS.chance == pytest.approx((3 / 6 + 2 / 2) / 5)
    for ds in (train, test):
        for i in range(0, len(ds), 4):
            words = vocabulary.decode(ds.images["caption"][i].tolist())
            assert read(words) == named(ds.labels[i].numpy())  # the caption describes the item's own attributes
        assert torch.equal(ds.images["image"][0], ds.images["image"][2])  # one bird, three captions
