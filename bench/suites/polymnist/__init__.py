"""The PolyMNIST suite (Sutter et al. 2021, arXiv 2105.02470): five-modality coloured digits, coherence by
per-modality digit classifiers. Data: ``data`` (the embedded default, generated data, or the published files);
networks: ``nets``; presets: ``presets``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from bench.data.dataset import MultimodalDataset
from bench.registry import register_suite
from bench.suites import layouts
from bench.suites.base import Suite, SuiteScale, standard_scales
from bench.suites.polymnist import presets  # noqa: F401  (registers the presets)
from bench.suites.polymnist.nets import NETWORKS


@dataclass(frozen=True)
class PolyMNISTSuite(Suite):
    """PolyMNIST: the embedded default, generated data, or the published files."""

    name = "polymnist"
    title = "PolyMNIST"
    networks = NETWORKS
    data_version = 1  # in the data key: raise it with any change to what the data builders produce (bench.versions)
    data_modules = ("bench.suites.polymnist.data",)
    published_sizes = (60_000, 10_000)  # MNIST's train / test: what ``--plan`` extrapolates the paper scale to

    n_modalities: int = 5
    data_seed: int = 0
    # default: about 25 minutes on 2 cores (README), scored on 500 of the 1,000 test tuples
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: standard_scales(quick_train=1000, quick_test=300, default_test=500)
    )

    def load_data(self, data_root: str | None, *, download: bool = False, derived: Path | None = None
                  ) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        """(train, test, manifest) from ``data_root`` (``bench.suites.polymnist.data.load_polymnist``). ``download``
        fetches MNIST into ``data_root/MNIST/raw`` first (PolyMNIST is then generated from it, unless the folder
        already holds the published PolyMNIST files)."""
        from bench.data.mnist import download_mnist
        from bench.suites.polymnist.data import load_polymnist

        if download:
            download_mnist(data_root)
        return load_polymnist(data_root, n_modalities=self.n_modalities, seed=self.data_seed)

    def summary_columns(self, modalities: tuple[str, ...], spaces: Sequence[str]) -> list:
        """Coherence and FD per number of given modalities, P/R (``bench.suites.layouts.by_size``)."""
        return layouts.by_size(len(modalities), spaces)

    @property
    def data_params(self) -> tuple:
        return (self.n_modalities, self.data_seed, self.data_version)


register_suite(PolyMNISTSuite)
