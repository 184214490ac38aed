"""The PolyMNIST recipe (MoPoE code ``mmnist/MMNISTDataset.py::_create_mmnist_dataset``): modality m takes a random
28x28 crop of background m per image and inverts the crop's colours where the digit is > 128. Tuples pair M different
handwritings of one digit. Unlike the original, one seeded ``numpy.random.default_rng`` drives every draw, so a seed
fixes the bytes."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from bench.data.dataset import MultimodalDataset
from bench.data.mnist import IMAGE_SIZE
from bench.errors import BenchError

INK_THRESHOLD = 128  # digit pixels strictly above this are ink (MoPoE's binarised mask)


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
    check_seed(seed)
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


def check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BenchError(f"seed must be a non-negative integer, got {seed!r}", "pass e.g. seed=0")


def stream_seed(seed: int, stream: int) -> int:
    """A seed for one independent stream (0: split, 1: train, 2: test) derived from the user's seed."""
    check_seed(seed)
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])
