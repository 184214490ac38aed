"""The CUB archive reader on a tiny archive in the MMVAE layout: images as torchvision's ImageFolder with the
references' transform reads them, caption k with image k // 10, species labels, the vocabulary from training
captions only, and one clear error for each missing, damaged or mismatched file."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets, transforms

from bench.errors import BenchError
from bench.suites.cub.files import load_cub

SPECIES = {"train": ["002.Laysan_Albatross", "010.Red_winged_Blackbird"], "test": ["001.Black_footed_Albatross"]}
WORDS = ["red", "white", "small", "bird", "wings", "crown"]


def caption(rng) -> str:
    return "this bird has " + " ".join(rng.choice(WORDS, size=4)) + "."


def write_archive(root, n_per_species=2, seed=0):
    """DATA_ROOT/cub with JPEGs of several sizes and ten captions per image, in ImageFolder order."""
    rng = np.random.default_rng(seed)
    cub = root / "cub"
    for split, files in (("train", "text_trainvalclasses.txt"), ("test", "text_testclasses.txt")):
        lines = []
        for species in SPECIES[split]:
            folder = cub / split / species
            folder.mkdir(parents=True)
            for i in range(n_per_species):
                h, w = rng.integers(70, 120, size=2)
                pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{species.split('.')[1]}_{i:04d}.jpg")
                lines += [caption(rng) for _ in range(10)]
        (cub / files).write_text("\n".join(lines) + "\n")
    return cub


def test_items_pair_each_caption_with_its_image_as_the_references_read_them(tmp_path):
    cub = write_archive(tmp_path)
    train, test, vocabulary = load_cub(tmp_path)
    assert len(train) == 40 and len(test) == 20 and train.kinds == {"image": "image", "caption": "sentence"}
    reference = datasets.ImageFolder(str(cub / "train"), transform=transforms.Compose(
        [transforms.Resize([64, 64]), transforms.ToTensor()]))  # MMVAE/MLD getDataSet_Image
    for k in (0, 9, 10, 25, 39):
        image, _ = reference[k // 10]
        assert torch.equal(train.images["image"][k].float() / 255, image)
    assert train.labels.tolist() == [1] * 20 + [9] * 20 and test.labels.tolist() == [0] * 20
    lines = (cub / "text_trainvalclasses.txt").read_text().splitlines()
    assert [vocabulary.decode(row) for row in train.images["caption"][:3]] == [
        " ".join(w for w in line.replace(".", " .").split()) for line in lines[:3]]  # every word seen > 3 times
    assert vocabulary.words[:4] == ("<exc>", "<pad>", "<eos>", "this")


def test_test_words_unseen_in_training_become_exc(tmp_path):
    cub = write_archive(tmp_path)
    path = cub / "text_testclasses.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["this bird has azure plumage."] + lines[1:]) + "\n")
    _, test, vocabulary = load_cub(tmp_path)
    assert test.images["caption"][0, :6].tolist() == [3, 4, 5, 0, 0, vocabulary.words.index(".")]


def test_a_missing_part_of_the_archive_is_named_with_where_it_comes_from(tmp_path):
    cub = write_archive(tmp_path)
    (cub / "text_testclasses.txt").unlink()
    with pytest.raises(BenchError, match=r"(?s)missing:.*text_testclasses.txt.*cub.zip"):
        load_cub(tmp_path)
    with pytest.raises(BenchError, match="missing"):
        load_cub(tmp_path / "elsewhere")


def test_a_damaged_image_and_a_caption_count_mismatch_are_named(tmp_path):
    cub = write_archive(tmp_path)
    damaged = sorted((cub / "test").rglob("*.jpg"))[1]
    damaged.write_bytes(b"not a jpeg")
    with pytest.raises(BenchError, match=f"cannot read the image {damaged}"):
        load_cub(tmp_path)
    cub = write_archive(tmp_path / "other")
    path = cub / "text_trainvalclasses.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(BenchError, match="39 captions for the 4 images"):
        load_cub(tmp_path / "other")
