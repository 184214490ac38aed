"""The summary tables' layouts the suites choose from (``Suite.summary_columns``), composed of the columns each
metric lays out (``bench.metrics.coherence``, ``frechet``, ``prdc``)."""

from __future__ import annotations

from typing import Sequence

from bench.metrics import coherence, frechet, prdc
from bench.tables import Column


def by_size(n_modalities: int, spaces: Sequence[str]) -> list[Column]:
    """The paper-style row (MLD's PolyMNIST table): coherence joint, per number of given modalities and
    self-reconstruction; then per feature space FD (unconditional mean, per k) and precision/recall."""
    columns = coherence.by_size_columns(n_modalities, prefix="Coh ")
    for space in spaces:
        columns += frechet.fd_by_size_columns(space, n_modalities) + prdc.pr_summary_columns(space)
    return columns


def bimodal(modalities: tuple[str, str], spaces: Sequence[str], short: dict[str, str]) -> list[Column]:
    """The bimodal layout (MLD's MNIST-SVHN table): coherence joint, A->B, B->A, self; then per feature space FD of
    the joint samples of A and of B and of the cross generations A->B and B->A. ``short`` abbreviates the names."""
    columns = coherence.direction_columns(modalities, short)
    for space in spaces:
        columns += frechet.fd_joint_columns(space, modalities, short) + frechet.fd_direction_columns(space, modalities, short)
    return columns


def by_subset(modalities: tuple[str, ...], images: tuple[str, ...], spaces: Sequence[str],
              short: dict[str, str]) -> list[Column]:
    """MoPoE's layout (MNIST-SVHN-Text): joint coherence, every target's coherence given each subset without it,
    self-reconstruction; then per feature space FD of the image modalities' joint samples and precision/recall."""
    columns = coherence.subset_columns(modalities, short)
    for space in spaces:
        columns += frechet.fd_joint_columns(space, images, short) + prdc.pr_summary_columns(space)
    return columns
