"""Readers of the files the published PolyMNIST arrives in:

- the tensors ``DATA_ROOT/MMNIST/{train,test}/m{i}.pt`` + ``labels.pt`` (MVTCAE/MultiVae);
- the PNG folders ``DATA_ROOT/[MMNIST/]{train,test}/m{i}/{idx}.{label}.png`` (MoPoE).

Every problem a user can fix (missing, truncated or malformed files) raises ``BenchError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from bench.data.dataset import MultimodalDataset
from bench.data.mnist import IMAGE_SIZE, N_CLASSES, check_split
from bench.errors import BenchError
from bench.store import load_torch

POLYMNIST_FIX = (
    "download the PolyMNIST release of Sutter et al. 2021 from Zenodo (https://zenodo.org/record/4899160) "
    "and unpack it into DATA_ROOT/MMNIST, or leave --data-root unset to use the embedded default"
)


def _to_uint8_images(x: Any, path: Path) -> Tensor:
    """A loaded modality tensor as uint8 (N, 3, 28, 28): uint8 or float in [0, 1], channels first or last."""
    if not isinstance(x, Tensor):
        raise BenchError(f"{path} holds a {type(x).__name__}, expected a tensor of images", POLYMNIST_FIX)
    side = (IMAGE_SIZE, IMAGE_SIZE)
    if x.ndim == 4 and x.shape[1] == 3 and tuple(x.shape[2:]) == side:
        pass
    elif x.ndim == 4 and tuple(x.shape[1:3]) == side and x.shape[3] == 3:
        x = x.permute(0, 3, 1, 2)
    else:
        raise BenchError(
            f"{path} holds images of shape {tuple(x.shape)}, expected (N, 3, 28, 28) or (N, 28, 28, 3)",
            POLYMNIST_FIX,
        )
    if x.dtype == torch.uint8:
        return x.contiguous()
    if not x.is_floating_point():
        raise BenchError(f"{path} holds {x.dtype} images, expected uint8 or float in [0, 1]", POLYMNIST_FIX)
    if x.numel() and not (x.min() >= 0 and x.max() <= 1):  # also rejects NaN
        raise BenchError(
            f"{path} holds float images in [{x.min():.3g}, {x.max():.3g}], expected [0, 1]", POLYMNIST_FIX
        )
    return x.mul(255).round_().to(torch.uint8).contiguous()


def _check_labels(labels: Any, path: Path, n: int | None, fix: str) -> Tensor:
    """Labels as int64 (N,) in 0..9, with N == n when given."""
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.is_floating_point() or labels.is_complex():
        what = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, Tensor) else type(labels).__name__
        raise BenchError(f"{path} holds {what}, expected integer labels of shape (N,)", fix)
    if n is not None and labels.shape[0] != n:
        raise BenchError(f"{path} holds {labels.shape[0]} labels, the images hold {n}", fix)
    if labels.numel() and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise BenchError(f"{path} holds labels in [{labels.min()}, {labels.max()}], expected 0..9", fix)
    return labels.to(torch.int64)


def _n_present(exists: Callable[[int], bool]) -> int:
    """The number of contiguous modalities m0, m1, ... for which ``exists(i)`` holds."""
    n = 0
    while exists(n):
        n += 1
    return n


def _select_modalities(found: int, n_modalities: int | None, where: str) -> int:
    """How many modalities to read: all contiguous ones found, or the first ``n_modalities`` of them."""
    if found == 0:
        raise BenchError(f"no modality m0 found in {where}", POLYMNIST_FIX)
    if n_modalities is None:
        return found
    if not 1 <= n_modalities <= found:
        raise BenchError(
            f"{n_modalities} modalities requested but {where} holds m0..m{found - 1} ({found})",
            f"request at most {found} modalities, or add the missing files",
        )
    return n_modalities


def damaged_user_file(path: Path, how_to_get_it: str) -> str:
    """The fix for a damaged file of the user's data: nothing here rebuilds it, so get a good copy."""
    return f"{path} is your data, not a cache entry, and is never rebuilt: replace it with a good copy ({how_to_get_it})"


def load_polymnist_pt(data_root: str | Path, split: str, n_modalities: int | None = None) -> MultimodalDataset:
    """Published PolyMNIST tensors ``data_root/MMNIST/{split}/m{i}.pt`` + ``labels.pt`` as a dataset.

    Loads with ``weights_only=True``; images may be uint8 or float in [0, 1], channels first or last.
    Without ``n_modalities``, reads every contiguous ``m0.pt, m1.pt, ...`` present.
    """
    check_split(split)
    folder = Path(data_root) / "MMNIST" / split
    found = _n_present(lambda i: (folder / f"m{i}.pt").is_file())
    n_modalities = _select_modalities(found, n_modalities, f"{folder} (files m{{i}}.pt)")
    labels_path = folder / "labels.pt"
    if not labels_path.is_file():
        raise BenchError(f"missing {labels_path} (the labels of the PolyMNIST {split} split)", POLYMNIST_FIX)
    images: dict[str, Tensor] = {}
    for i in range(n_modalities):
        path = folder / f"m{i}.pt"
        x = _to_uint8_images(load_torch(path, fix=damaged_user_file(path, POLYMNIST_FIX)), path)
        n0 = next(iter(images.values())).shape[0] if images else x.shape[0]
        if x.shape[0] != n0:
            raise BenchError(f"{path} holds {x.shape[0]} images, {folder / 'm0.pt'} holds {n0}", POLYMNIST_FIX)
        images[f"m{i}"] = x
    labels = _check_labels(load_torch(labels_path, fix=damaged_user_file(labels_path, POLYMNIST_FIX)), labels_path, images["m0"].shape[0], POLYMNIST_FIX)
    return MultimodalDataset(images, labels)


def _png_folder(data_root: Path, split: str) -> Path:
    """``data_root/{split}`` or ``data_root/MMNIST/{split}``, whichever holds an ``m0`` folder."""
    candidates = [data_root / split, data_root / "MMNIST" / split]
    for folder in candidates:
        if (folder / "m0").is_dir():
            return folder
    raise BenchError(
        f"no PolyMNIST PNG folder for split {split!r}: expected {candidates[0]}/m0/ or {candidates[1]}/m0/",
        POLYMNIST_FIX,
    )


def _parse_png_name(name: str) -> tuple[int, int] | None:
    """(idx, label) from ``{idx}.{label}.png`` (label = second-to-last dot field), or None if malformed."""
    fields = name.split(".")
    if len(fields) < 3 or not fields[0].isdigit() or not fields[-2].isdigit():
        return None
    idx, label = int(fields[0]), int(fields[-2])
    return (idx, label) if label < N_CLASSES else None


def _png_index(folder: Path) -> dict[int, tuple[int, Path]]:
    """Map idx -> (label, path) for the ``{idx}.{label}.png`` files of one modality folder."""
    index: dict[int, tuple[int, Path]] = {}
    for path in folder.iterdir():
        if path.suffix.lower() != ".png":
            continue
        parsed = _parse_png_name(path.name)
        if parsed is None:
            raise BenchError(
                f"cannot parse {path}: expected the name {{idx}}.{{label}}.png with label 0..9", POLYMNIST_FIX
            )
        idx, label = parsed
        if idx in index:
            raise BenchError(f"{path} and {index[idx][1]} share the index {idx}", POLYMNIST_FIX)
        index[idx] = (label, path)
    if not index:
        raise BenchError(f"{folder} holds no .png files", POLYMNIST_FIX)
    return index


def _read_png(path: Path) -> np.ndarray:
    """One 28x28 image as RGB uint8 (28, 28, 3)."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise BenchError(f"cannot read image {path}: {exc}", POLYMNIST_FIX) from None
    if rgb.shape[:2] != (IMAGE_SIZE, IMAGE_SIZE):
        raise BenchError(f"{path} is {rgb.shape[1]}x{rgb.shape[0]} pixels, expected 28x28", POLYMNIST_FIX)
    return rgb


def load_polymnist_png(data_root: str | Path, split: str, n_modalities: int | None = None) -> MultimodalDataset:
    """PolyMNIST PNG folders ``data_root/[MMNIST/]{split}/m{i}/{idx}.{label}.png`` as a dataset sorted by idx.

    Every modality must hold the same set of idx with the same label for each idx. Without ``n_modalities``,
    reads every contiguous ``m0, m1, ...`` folder present.
    """
    check_split(split)
    folder = _png_folder(Path(data_root), split)
    found = _n_present(lambda i: (folder / f"m{i}").is_dir())
    n_modalities = _select_modalities(found, n_modalities, f"{folder} (folders m{{i}})")
    indices = [_png_index(folder / f"m{i}") for i in range(n_modalities)]
    reference = indices[0]
    order = sorted(reference)
    for i, index in enumerate(indices[1:], start=1):
        if index.keys() != reference.keys():
            extra = sorted(index.keys() - reference.keys())[:3]
            lacking = sorted(reference.keys() - index.keys())[:3]
            raise BenchError(
                f"{folder / f'm{i}'} and {folder / 'm0'} hold different files "
                f"(idx only in m{i}: {extra}, only in m0: {lacking})",
                POLYMNIST_FIX,
            )
        for idx in order:
            if index[idx][0] != reference[idx][0]:
                raise BenchError(
                    f"label mismatch for idx {idx}: {index[idx][1]} vs {reference[idx][1]}", POLYMNIST_FIX
                )
    images = {}
    for i, index in enumerate(indices):
        stack = np.empty((len(order), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        for k, idx in enumerate(order):
            stack[k] = _read_png(index[idx][1])
        images[f"m{i}"] = torch.from_numpy(stack).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([reference[idx][0] for idx in order], dtype=torch.int64)
    return MultimodalDataset(images, labels)
