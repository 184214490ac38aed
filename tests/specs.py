"""DataSpecs for tests that build models on hand-made data: a built-in suite's networks (and presets) for the given
modalities and shapes."""

from __future__ import annotations

from typing import Mapping

import bench.suites  # noqa: F401  (registers the suites and their presets)
from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.interface import DataSpec
from bench.registry import SUITES


def suite_spec(suite: str, modalities, shapes: Mapping[str, tuple[int, ...]],
               specs: Mapping[str, ModalitySpec] | None = None) -> DataSpec:
    """The spec of ``modalities`` with ``shapes`` on suite ``suite``'s networks."""
    return DataSpec(suite, tuple(modalities), dict(shapes), dict(specs or {}), SUITES.get(suite).networks)


def spec_of(ds: MultimodalDataset, suite: str = "polymnist") -> DataSpec:
    """The spec of dataset ``ds`` on suite ``suite``."""
    return SUITES.get(suite)().data_spec(ds)
