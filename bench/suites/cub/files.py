"""Reader of the CUB Image–Captions archive as the MMVAE code distributes it (``cub.zip``, iffsid/mmvae README;
the MLD code and MultiVae read the same layout):

    DATA_ROOT/cub/text_trainvalclasses.txt, text_testclasses.txt   ten captions per image, one per line
    DATA_ROOT/cub/train/NNN.Species_Name/*.jpg, DATA_ROOT/cub/test/...   one folder per species (class-disjoint)

Images are read in torchvision ``ImageFolder`` order (sorted species folders, sorted files) and resized to 64 x 64
by ``Resize([64, 64])``, as the references' transform (their ``ToTensor`` scaling is our uint8 / 255). Caption k
goes with image k // 10 of its split, and **every caption is one item**, its image repeated, as the references'
``ResampleDataset(images, k // 10, size=10 N)`` (MMVAE ``mmvae_cub_images_sentences.py``, MLD ``CUB.py``). The label
of an item is its species, NNN - 1 of the folder name (0..199; the test species are not training species). The
vocabulary is built from the training captions (``bench.suites.cub.captions``). Every problem a user can fix
(missing, damaged or mismatched files) raises ``BenchError`` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset
from torchvision.transforms import Resize

from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.suites.cub.captions import Vocabulary

IMAGE_SIZE = 64
CAPTIONS_PER_IMAGE = 10
SPLITS = {"train": "text_trainvalclasses.txt", "test": "text_testclasses.txt"}
CUB_FIX = ("download the CUB Image-Captions archive of the MMVAE code (cub.zip, "
           "http://www.robots.ox.ac.uk/~yshi/mmdgm/datasets/cub.zip) and unzip it into DATA_ROOT, so that "
           "DATA_ROOT/cub holds the two caption files and the train/ and test/ image folders")
_SPECIES = re.compile(r"^(\d+)\.")


def missing_files(root: Path) -> list[Path]:
    """What the archive layout needs under ``root`` (DATA_ROOT/cub) and is not there."""
    needed = [root / name for name in SPLITS.values()] + [root / split for split in SPLITS]
    return [p for p in needed if not p.exists()]


def read_captions(path: Path) -> list[str]:
    """The non-empty lines of a caption file, stripped."""
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot read the caption file {path}: {exc}", CUB_FIX) from None


def image_files(folder: Path) -> list[tuple[Path, int]]:
    """(file, species 0..199) of every image under ``folder`` in ``ImageFolder`` order."""
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    for name in classes:
        if not _SPECIES.match(name):
            raise BenchError(f"{folder / name}: a species folder is named NNN.Species_Name", CUB_FIX)
    samples = make_dataset(str(folder), {c: i for i, c in enumerate(classes)}, extensions=IMG_EXTENSIONS,
                           allow_empty=True)
    return [(Path(path), int(_SPECIES.match(classes[index]).group(1)) - 1) for path, index in samples]


def read_image(path: Path, resize: Resize) -> np.ndarray:
    """One image as uint8 (3, 64, 64): RGB, resized as the references."""
    try:
        with Image.open(path) as image:
            return np.asarray(resize(image.convert("RGB")), dtype=np.uint8).transpose(2, 0, 1)
    except (OSError, UnidentifiedImageError) as exc:
        raise BenchError(f"cannot read the image {path}: {exc}", f"replace or delete it; {CUB_FIX}") from None


def read_split(root: Path, split: str) -> tuple[list[np.ndarray], list[int], list[str]]:
    """(images, species, captions) of one split; ten captions per image, checked."""
    files = image_files(root / split)
    captions = read_captions(root / SPLITS[split])
    if not files:
        raise BenchError(f"{root / split} holds no images", CUB_FIX)
    if len(captions) != CAPTIONS_PER_IMAGE * len(files):
        raise BenchError(f"{root / SPLITS[split]} has {len(captions)} captions for the {len(files)} images of "
                         f"{root / split} (expected {CAPTIONS_PER_IMAGE} per image)", CUB_FIX)
    resize = Resize([IMAGE_SIZE, IMAGE_SIZE])
    return [read_image(path, resize) for path, _ in files], [species for _, species in files], captions


def load_cub(data_root: str | Path) -> tuple[MultimodalDataset, MultimodalDataset, Vocabulary]:
    """(train, test, vocabulary) from ``DATA_ROOT/cub``: items (image uint8 (3, 64, 64), caption int16 (32,)),
    one per caption, labelled by species."""
    root = Path(data_root) / "cub"
    missing = missing_files(root)
    if missing:
        raise BenchError("the CUB archive is incomplete; missing:\n  " + "\n  ".join(map(str, missing)), CUB_FIX)
    splits = {split: read_split(root, split) for split in SPLITS}
    vocabulary = Vocabulary.build(splits["train"][2])
    train, test = (caption_items(torch.from_numpy(np.stack(images)), torch.tensor(species, dtype=torch.int64),
                                 captions, vocabulary, per_image=CAPTIONS_PER_IMAGE)
                   for images, species, captions in splits.values())
    return train, test, vocabulary


def caption_items(images: torch.Tensor, labels: torch.Tensor, captions: list[str], vocabulary: Vocabulary, *,
                  per_image: int) -> MultimodalDataset:
    """One item per caption, caption k with image k // ``per_image`` and its label (images uint8 (n, 3, 64, 64),
    labels (n,) or (n, A), ``per_image`` captions per image, image by image)."""
    image_of = torch.arange(len(captions)) // per_image
    return MultimodalDataset({"image": images[image_of], "caption": vocabulary.tokens(captions)}, labels[image_of],
                             {"caption": vocabulary.spec})
