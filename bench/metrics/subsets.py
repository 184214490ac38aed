"""Non-empty subsets of M modalities as boolean mask rows, in one fixed order, and their names.

Order (used by every metric that reports per subset): by size first, then lexicographically by the sorted
modality indices of the members. For M = 3 the rows are {0}, {1}, {2}, {0,1}, {0,2}, {1,2}, {0,1,2}; the
last row is always the full set, and within one size the order is that of ``itertools.combinations``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import torch
from torch import Tensor

from bench.metrics.names import SUBSET_SEPARATOR, direction


def all_subsets(n_modalities: int) -> Tensor:
    """Every non-empty subset of ``range(n_modalities)`` as a row of a ``bool (2^M - 1, M)`` mask, in the
    module's order (size, then lexicographic by member indices). Row s, column m is True iff m is in s."""
    if n_modalities < 1:
        raise ValueError(f"need at least one modality, got {n_modalities}")
    members = [c for k in range(1, n_modalities + 1) for c in combinations(range(n_modalities), k)]
    masks = torch.zeros(len(members), n_modalities, dtype=torch.bool)
    for row, subset in enumerate(members):
        masks[row, list(subset)] = True
    return masks


def subset_members(mask: Tensor) -> tuple[int, ...]:
    """Indices of the modalities in one mask row ``bool (M,)``, ascending."""
    return tuple(int(i) for i in torch.nonzero(mask, as_tuple=False).flatten().tolist())


def subset_name(mask: Tensor, modalities: Sequence[str]) -> str:
    """Name of one mask row: member modality names joined by ``+`` in modality order, e.g. ``"m0+m2"``."""
    if mask.shape != (len(modalities),):
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match {len(modalities)} modalities")
    members = subset_members(mask)
    if not members:
        raise ValueError("the empty subset has no name")
    return SUBSET_SEPARATOR.join(modalities[i] for i in members)


def subset_names(subsets: Tensor, modalities: Sequence[str]) -> list[str]:
    """Names of every row of a ``bool (S, M)`` mask, in row order."""
    return [subset_name(row, modalities) for row in subsets]


def single_source_pairs(subsets: Tensor, modalities: Sequence[str]) -> list[tuple[int, int, str]]:
    """(row of the subset {s}, target index t, ``"<s>_to_<t>"``) for every ordered pair of distinct modalities, in
    subset-row then target order: the cross-modal directions of a bimodal table (e.g. ``mnist_to_svhn``)."""
    out = []
    for row, mask in enumerate(subsets):
        members = subset_members(mask)
        if len(members) == 1:
            (s,) = members
            out += [(row, t, direction(modalities[s], modalities[t])) for t in range(len(modalities)) if t != s]
    return out
