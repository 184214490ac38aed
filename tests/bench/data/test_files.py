"""File formats on tiny real-format files: MNIST IDX, PolyMNIST .pt and PNG layouts, our dataset cache."""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.data.cache import load_dataset, save_dataset
from bench.data.dataset import MultimodalDataset
from bench.data.mnist import load_mnist_raw, read_idx
from bench.suites.polymnist.files import load_polymnist_png, load_polymnist_pt
from bench.errors import BenchError


def idx_bytes(array: np.ndarray, *, dtype_code: int = 8, magic: bytes = b"\x00\x00") -> bytes:
    """IDX encoding: 2 zero bytes, dtype code, ndim, big-endian int32 sizes, then the data."""
    header = magic + bytes([dtype_code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def raises_naming(path: Path, *fragments: str):
    """pytest.raises(BenchError) whose message names ``path`` and contains every fragment."""
    pattern = "".join(f"(?=.*{re.escape(f)})" for f in (str(path), *fragments))
    return pytest.raises(BenchError, match=re.compile(pattern, re.S))


def tiny_polymnist(n: int = 12, n_modalities: int = 3, *, seed: int = 0) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    images = {
        f"m{m}": torch.from_numpy(rng.integers(0, 256, size=(n, 3, 28, 28), dtype=np.uint8))
        for m in range(n_modalities)
    }
    return MultimodalDataset(images, torch.from_numpy(rng.integers(0, 10, size=n)).long())


# ---------------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_roundtrip(tmp_path: Path, compress: bool) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    data = idx_bytes(array)
    path = tmp_path / ("x-ubyte.gz" if compress else "x-ubyte")
    path.write_bytes(gzip.compress(data) if compress else data)
    assert np.array_equal(read_idx(path), array)
    labels = np.arange(7, dtype=np.uint8)
    (tmp_path / "l-ubyte").write_bytes(idx_bytes(labels))
    assert np.array_equal(read_idx(tmp_path / "l-ubyte"), labels)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (idx_bytes(np.zeros((2, 3)), magic=b"\x01\x00"), "bad magic"),
        (idx_bytes(np.zeros((2, 3)), dtype_code=0x0D), "0x0d"),
        (idx_bytes(np.zeros((2, 3)))[:-1], "file holds 5"),
        (idx_bytes(np.zeros((2, 3))) + b"\x00", "file holds 7"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated header"),
        (b"\x1f\x8b not really gzip", "decompress"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path: Path, data: bytes, fragment: str) -> None:
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with raises_naming(path, "not a valid MNIST IDX file", fragment, "torchvision.datasets.MNIST", "MNIST/raw"):
        read_idx(path)


def write_raw(root: Path, split: str, digits: np.ndarray, labels: np.ndarray, *, gz: bool = True) -> None:
    prefix = "train" if split == "train" else "t10k"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for kind, array in (("images-idx3", digits), ("labels-idx1", labels)):
        data = idx_bytes(array)
        name = f"{prefix}-{kind}-ubyte"
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (raw / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_raw(tmp_path: Path, gz: bool) -> None:
    digits = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1, 2], dtype=np.uint8)
    write_raw(tmp_path, "test", digits, labels, gz=gz)
    got_digits, got_labels = load_mnist_raw(tmp_path, "test")
    assert np.array_equal(got_digits, digits) and got_digits.dtype == np.uint8
    assert got_labels.tolist() == labels.tolist() and got_labels.dtype == np.int64


def test_load_mnist_raw_errors(tmp_path: Path) -> None:
    expected = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    with raises_naming(expected, "missing", "train-labels-idx1-ubyte", "torchvision.datasets.MNIST"):
        load_mnist_raw(tmp_path, "train")
    digits = np.zeros((4, 28, 28), np.uint8)
    write_raw(tmp_path, "train", digits, np.zeros(3, np.uint8))
    with raises_naming(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz", "3", "4 images"):
        load_mnist_raw(tmp_path, "train")
    write_raw(tmp_path, "train", np.zeros((4, 28, 27), np.uint8), np.zeros(4, np.uint8))
    with raises_naming(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz", "(N, 28, 28)"):
        load_mnist_raw(tmp_path, "train")
    write_raw(tmp_path, "train", digits, np.array([0, 1, 2, 10], np.uint8))
    with raises_naming(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz", "0..9"):
        load_mnist_raw(tmp_path, "train")
    with pytest.raises(BenchError, match="unknown split"):
        load_mnist_raw(tmp_path, "validation")


# --------------------------------------------------------------------------------------- PolyMNIST .pt


def write_pt(root: Path, split: str, ds: MultimodalDataset, *, layout: str = "uint8") -> Path:
    folder = root / "MMNIST" / split
    folder.mkdir(parents=True, exist_ok=True)
    for m, x in ds.images.items():
        stored = {"uint8": x, "last": x.permute(0, 2, 3, 1).contiguous(), "float": x.float() / 255}[layout]
        torch.save(stored, folder / f"{m}.pt")
    torch.save(ds.labels, folder / "labels.pt")
    return folder


@pytest.mark.parametrize("layout", ["uint8", "last", "float"])
def test_load_polymnist_pt_formats(tmp_path: Path, layout: str) -> None:
    ds = tiny_polymnist()
    write_pt(tmp_path, "train", ds, layout=layout)
    got = load_polymnist_pt(tmp_path, "train")
    assert got.modalities == ("m0", "m1", "m2")
    assert all(torch.equal(got.images[m], ds.images[m]) for m in ds.modalities)
    assert torch.equal(got.labels, ds.labels) and got.labels.dtype == torch.int64
    assert load_polymnist_pt(tmp_path, "train", n_modalities=2).modalities == ("m0", "m1")


def test_load_polymnist_pt_detects_contiguous_modalities(tmp_path: Path) -> None:
    folder = write_pt(tmp_path, "test", tiny_polymnist(n_modalities=3))
    (folder / "m1.pt").rename(folder / "m9.pt")
    assert load_polymnist_pt(tmp_path, "test").modalities == ("m0",)
    with pytest.raises(BenchError, match=r"3 modalities requested .* m0\.\.m0"):
        load_polymnist_pt(tmp_path, "test", n_modalities=3)


def test_load_polymnist_pt_errors(tmp_path: Path) -> None:
    ds = tiny_polymnist()
    folder = write_pt(tmp_path, "train", ds)
    with raises_naming(tmp_path / "MMNIST" / "test", "no modality m0", "4899160"):
        load_polymnist_pt(tmp_path, "test")

    torch.save(ds.labels[:-1], folder / "labels.pt")
    with raises_naming(folder / "labels.pt", "11 labels", "12"):
        load_polymnist_pt(tmp_path, "train")
    torch.save(ds.labels.float(), folder / "labels.pt")
    with raises_naming(folder / "labels.pt", "integer labels"):
        load_polymnist_pt(tmp_path, "train")
    (folder / "labels.pt").unlink()
    with raises_naming(folder / "labels.pt", "missing", "Zenodo"):
        load_polymnist_pt(tmp_path, "train")
    torch.save(ds.labels, folder / "labels.pt")

    torch.save(ds.images["m1"][:5], folder / "m1.pt")
    with raises_naming(folder / "m1.pt", "5 images", "12"):
        load_polymnist_pt(tmp_path, "train")
    torch.save(torch.zeros(12, 1, 28, 28, dtype=torch.uint8), folder / "m1.pt")
    with raises_naming(folder / "m1.pt", "(12, 1, 28, 28)", "(N, 3, 28, 28)"):
        load_polymnist_pt(tmp_path, "train")
    torch.save(torch.full((12, 3, 28, 28), 2.0), folder / "m1.pt")
    with raises_naming(folder / "m1.pt", "expected [0, 1]"):
        load_polymnist_pt(tmp_path, "train")
    torch.save({"not": "a tensor"}, folder / "m1.pt")
    with raises_naming(folder / "m1.pt", "expected a tensor"):
        load_polymnist_pt(tmp_path, "train")
    (folder / "m1.pt").write_bytes(b"garbage")
    with raises_naming(folder / "m1.pt", "cannot read"):
        load_polymnist_pt(tmp_path, "train")


# -------------------------------------------------------------------------------------- PolyMNIST PNG


def write_png(folder: Path, ds: MultimodalDataset, order: list[int]) -> None:
    """MoPoE's layout: m{i}/{idx}.{label}.png, written in the given (non-sorted) order."""
    for m, x in ds.images.items():
        (folder / m).mkdir(parents=True, exist_ok=True)
        for k in order:
            Image.fromarray(x[k].permute(1, 2, 0).numpy()).save(folder / m / f"{k}.{ds.labels[k].item()}.png")


@pytest.mark.parametrize("prefix", ["", "MMNIST"])
def test_load_polymnist_png(tmp_path: Path, prefix: str) -> None:
    ds = tiny_polymnist(n=12)
    write_png(tmp_path / prefix / "test", ds, order=[7, 11, 0, 3, 10, 1, 2, 4, 5, 6, 8, 9])
    got = load_polymnist_png(tmp_path, "test")
    assert got.modalities == ds.modalities
    assert all(torch.equal(got.images[m], ds.images[m]) for m in ds.modalities)
    assert torch.equal(got.labels, ds.labels)
    assert load_polymnist_png(tmp_path, "test", n_modalities=1).modalities == ("m0",)


def test_load_polymnist_png_sorts_numerically(tmp_path: Path) -> None:
    ds = tiny_polymnist(n=12, n_modalities=2)
    write_png(tmp_path / "train", ds, order=list(range(12)))
    assert load_polymnist_png(tmp_path, "train").labels.tolist() == ds.labels.tolist()  # 10 after 9, not after 1


def test_load_polymnist_png_errors(tmp_path: Path) -> None:
    with raises_naming(tmp_path / "train", "no PolyMNIST PNG folder", str(tmp_path / "MMNIST" / "train")):
        load_polymnist_png(tmp_path, "train")
    ds = tiny_polymnist(n=4, n_modalities=2)
    folder = tmp_path / "train"
    write_png(folder, ds, order=list(range(4)))

    label = ds.labels[2].item()
    (folder / "m1" / f"2.{label}.png").rename(folder / "m1" / f"2.{(label + 1) % 10}.png")
    with raises_naming(folder / "m1" / f"2.{(label + 1) % 10}.png", "label mismatch for idx 2"):
        load_polymnist_png(tmp_path, "train")
    (folder / "m1" / f"2.{(label + 1) % 10}.png").unlink()
    with raises_naming(folder / "m1", "different files", "only in m0: [2]"):
        load_polymnist_png(tmp_path, "train")
    write_png(folder, ds, order=[2])

    bad_name = folder / "m0" / "seven.png"
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(bad_name)
    with raises_naming(bad_name, "cannot parse"):
        load_polymnist_png(tmp_path, "train")
    bad_name.unlink()

    big = folder / "m0" / f"3.{ds.labels[3].item()}.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(big)
    with raises_naming(big, "32x32", "expected 28x28"):
        load_polymnist_png(tmp_path, "train")
    big.write_bytes(b"not a png")
    with raises_naming(big, "cannot read image"):
        load_polymnist_png(tmp_path, "train")


# ----------------------------------------------------------------------------------------- our cache


def test_save_and_load_dataset(tmp_path: Path) -> None:
    ds = tiny_polymnist()
    path = tmp_path / "cache" / "polymnist-train.pt"
    manifest = {"dataset": "polymnist", "seed": 3}
    save_dataset(ds, path, manifest)
    assert sorted(p.name for p in path.parent.iterdir()) == ["polymnist-train.pt", "polymnist-train.pt.json"]
    got, got_manifest = load_dataset(path)
    assert got_manifest == manifest and torch.equal(got.labels, ds.labels)
    assert all(torch.equal(got.images[m], ds.images[m]) for m in ds.modalities)
    assert isinstance(torch.load(path, weights_only=True), dict)  # plain tensors only


def test_load_dataset_errors(tmp_path: Path) -> None:
    path = tmp_path / "ds.pt"
    with raises_naming(path, "missing", "delete"):
        load_dataset(path)
    save_dataset(tiny_polymnist(), path, {"dataset": "polymnist"})
    path.write_bytes(path.read_bytes()[:100])
    with raises_naming(path, "cannot read", "delete", "rebuilt"):
        load_dataset(path)
    torch.save({"images": {"m0": torch.zeros(3, 3, 28, 28)}, "labels": torch.zeros(3, dtype=torch.long)}, path)
    with raises_naming(path, "not a saved dataset", "delete"):
        load_dataset(path)
    torch.save({"labels": torch.zeros(3, dtype=torch.long)}, path)
    with raises_naming(path, "not a saved dataset"):
        load_dataset(path)
    save_dataset(tiny_polymnist(), path, {"dataset": "polymnist"})
    Path(f"{path}.json").write_text("{not json")
    with raises_naming(Path(f"{path}.json"), "not valid JSON", "delete"):
        load_dataset(path)
