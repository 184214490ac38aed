"""The offline stand-in for CUB Image–Captions: procedurally drawn birds and captions generated from the same
attributes, so that cross-modal coherence can be read per attribute with known chance levels.

A bird has five attributes (``ATTRIBUTES``): the colour of its body, wings and crown (six colours each), its size
and its beak (two values each); chance is 1/6 or 1/2 per attribute. It is drawn at 64 x 64 (four times supersampled,
then reduced) on a background that carries no attribute: a vertical gradient between two muted tones with a grass
band or none, texture noise, the bird facing left or right at a random place. Its captions name every attribute in
one of several phrasings (``TEMPLATES``, with synonyms), in varying order, as CUB's ten captions per image describe
one bird in ten ways: a caption always determines the attributes, an image always shows them.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from bench.data.dataset import MultimodalDataset
from bench.data.labels import LabelSpace
from bench.suites.cub.captions import Vocabulary
from bench.suites.cub.files import caption_items

IMAGE_SIZE = 64
COLOURS = {  # saturated bird colours, far from the muted backgrounds
    "red": (205, 30, 35), "blue": (35, 70, 210), "yellow": (240, 210, 30), "green": (30, 150, 50),
    "black": (25, 25, 25), "white": (245, 245, 245),
}
ATTRIBUTES = {
    "body": tuple(COLOURS), "wings": tuple(COLOURS), "crown": tuple(COLOURS),
    "size": ("small", "large"), "beak": ("short", "long"),
}
LABELS = LabelSpace(tuple(len(values) for values in ATTRIBUTES.values()), tuple(ATTRIBUTES))  # chance 0.3
BACKGROUNDS = ((150, 175, 190), (175, 165, 140), (130, 150, 120), (160, 160, 160), (185, 170, 175))

TEMPLATES = (
    "a {size} bird with a {body} {belly}, {wings} wings and a {crown} crown, with a {beak} beak.",
    "this bird has a {crown} crown, {wings} {wingword} and a {body} {belly}; its beak is {beak} and it is {size}.",
    "a {size} {body} bird with {wings} {wingword}, a {crown} {head} and a {beak} beak.",
    "the bird is {size} with a {beak} beak, a {body} {belly}, a {crown} {head} and {wings} wings.",
    "this {size} bird has {wings} wings, a {crown} crown, a {body} {belly} and a {beak} {bill}.",
)
SYNONYMS = {"belly": ("body", "belly", "breast"), "wingword": ("wings", "feathers on its wings"),
            "head": ("crown", "head"), "bill": ("beak", "bill")}


def draw_bird(attributes: dict[str, str], rng: np.random.Generator) -> np.ndarray:
    """One bird, uint8 (3, 64, 64), with ``attributes`` (a value of each ``ATTRIBUTES`` entry) and a random pose
    and background."""
    s = 4  # supersampling
    size = IMAGE_SIZE * s
    top, bottom = (np.array(BACKGROUNDS[i]) for i in rng.choice(len(BACKGROUNDS), 2, replace=False))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    canvas = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1)
    if rng.random() < 0.5:  # a grass band at the bottom
        canvas[int(size * rng.uniform(0.75, 0.9)):] = (95, 125, 75)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    scale = (0.55 if attributes["size"] == "small" else 0.85) * rng.uniform(0.93, 1.07) * s
    facing = 1 if rng.random() < 0.5 else -1
    cx, cy = size / 2 + rng.uniform(-10, 10) * s * (1.2 - scale / s), size / 2 + rng.uniform(-6, 6) * s
    body, wings, crown = (COLOURS[attributes[k]] for k in ("body", "wings", "crown"))
    outline = (60, 60, 60) if attributes["body"] == "white" else None

    def ellipse(x, y, rx, ry, fill):
        draw.ellipse((cx + facing * x * scale - rx * scale, cy + y * scale - ry * scale,
                      cx + facing * x * scale + rx * scale, cy + y * scale + ry * scale), fill=fill, outline=outline)

    draw.polygon([(cx - facing * 14 * scale, cy + 2 * scale), (cx - facing * 27 * scale, cy - 4 * scale),
                  (cx - facing * 27 * scale, cy + 8 * scale)], fill=wings)  # tail
    ellipse(0, 4, 17, 12, body)  # body
    ellipse(-3, 1, 11, 7, wings)  # wing
    hx, hy, r = 13, -10, 8
    ellipse(hx, hy, r, r, body)  # head
    draw.chord((cx + facing * hx * scale - r * scale, cy + hy * scale - r * scale,
                cx + facing * hx * scale + r * scale, cy + hy * scale + r * scale), 180, 360, fill=crown)  # crown
    length = 6 if attributes["beak"] == "short" else 14
    tip = cx + facing * (hx + r - 1 + length) * scale
    draw.polygon([(cx + facing * (hx + r - 2) * scale, cy + (hy - 2.5) * scale), (tip, cy + hy * scale),
                  (cx + facing * (hx + r - 2) * scale, cy + (hy + 2.5) * scale)], fill=(225, 140, 40))  # beak
    ex, ey, er = cx + facing * (hx + 3) * scale, cy + (hy + 1) * scale, 1.6 * scale
    draw.ellipse((ex - er, ey - er, ex + er, ey + er), fill=(10, 10, 10))  # eye
    small = image.filter(ImageFilter.GaussianBlur(s / 2)).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
    pixels = np.asarray(small, dtype=np.float64) + rng.normal(0.0, 6.0, (IMAGE_SIZE, IMAGE_SIZE, 3))
    return np.clip(pixels, 0, 255).round().astype(np.uint8).transpose(2, 0, 1).copy()


def caption(attributes: dict[str, str], rng: np.random.Generator) -> str:
    """One caption naming every attribute, in a random phrasing."""
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    words = {k: v[rng.integers(len(v))] for k, v in SYNONYMS.items()}
    return template.format(**attributes, **words)


def draw_attributes(n: int, rng: np.random.Generator) -> np.ndarray:
    """int64 (n, A): each attribute's value index, uniform and independent."""
    return np.stack([rng.integers(len(values), size=n) for values in ATTRIBUTES.values()], axis=1)


def named(row: np.ndarray) -> dict[str, str]:
    """One row of ``draw_attributes`` as {attribute: value}."""
    return {name: values[int(i)] for (name, values), i in zip(ATTRIBUTES.items(), row)}


def birds(n_images: int, *, captions_per_image: int, seed: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(images uint8 (n_images, 3, 64, 64), captions (captions_per_image per image, image by image), attributes
    int64 (n_images, A)), seeded."""
    rng = np.random.default_rng(seed)
    attributes = draw_attributes(n_images, rng)
    images = np.stack([draw_bird(named(row), rng) for row in attributes])
    captions = [caption(named(row), rng) for row in attributes for _ in range(captions_per_image)]
    return images, captions, attributes


def stand_in_split(n_images: int, *, captions_per_image: int, seed: int, vocabulary: Vocabulary | None = None
                   ) -> tuple[MultimodalDataset, Vocabulary]:
    """One split of the stand-in as the real data is stored (``bench.suites.cub.files``): one item per caption, its
    image repeated, labelled by the bird's attributes (int64 (N, A) of ``LABELS``); the vocabulary is built from
    these captions unless given (the training split's, for the test split)."""
    images, captions, attributes = birds(n_images, captions_per_image=captions_per_image, seed=seed)
    vocabulary = vocabulary or Vocabulary.build(captions)
    data = caption_items(torch.from_numpy(images), torch.from_numpy(attributes), captions, vocabulary,
                         per_image=captions_per_image)
    LABELS.check(data.labels)
    return data, vocabulary
