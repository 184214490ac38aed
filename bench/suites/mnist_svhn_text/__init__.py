"""The MNIST-SVHN-Text suite (Sutter et al. 2021, arXiv 2105.02470, MoPoE code ``mnistsvhntext/``): the MNIST-SVHN
pairs plus the digit's English name as 8 characters of text (``data``); coherence by one classifier per modality (a
character-level text classifier for the text), quality on the two image modalities only (as MoPoE:
``Text.gen_quality_eval = False``). Networks: ``nets``; presets: ``presets``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from bench.data.dataset import MultimodalDataset
from bench.registry import register_suite
from bench.suites import layouts
from bench.suites.base import Suite, SuiteScale, standard_scales
from bench.suites.mnist_svhn import MNISTSVHNSuite
from bench.suites.mnist_svhn_text import presets  # noqa: F401  (registers the presets)
from bench.suites.mnist_svhn_text.nets import NETWORKS

SHORT = {"mnist": "M", "svhn": "S", "text": "T"}  # the modalities' names in table headers


@dataclass(frozen=True)
class MNISTSVHNTextSuite(Suite):
    """MNIST-SVHN (real files from ``--data-root``, else the offline stand-in; ``bench.suites.mnist_svhn``) with the
    text modality added to every pair from a seeded draw of the word's position."""

    name = "mnist_svhn_text"
    title = "MNIST-SVHN-Text"
    networks = NETWORKS
    data_version = 1  # in the data key: raise it with any change to what the data builders produce
    data_modules = ("bench.suites.mnist_svhn.data", "bench.suites.mnist_svhn_text.data")
    every_model_at = ("quick",)  # its quick scale runs every model with a preset here

    n_modalities: int = 3
    data_seed: int = 0
    pairs: MNISTSVHNSuite = field(default_factory=MNISTSVHNSuite)
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: standard_scales(quick_train=1000, quick_test=200, default_test=1000)
    )

    def load_data(self, data_root: str | None, *, download: bool = False, derived: Path | None = None
                  ) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        from bench.suites.mnist_svhn.data import content_hashes
        from bench.suites.mnist_svhn_text.data import with_text

        train, test, manifest = self.pairs.load_data(data_root, download=download, derived=derived)
        splits = {"train": with_text(train, seed=self.data_seed), "test": with_text(test, seed=self.data_seed + 1)}
        manifest = {**manifest, **content_hashes(splits), "text": "digit names, 8 characters, MoPoE alphabet"}
        return splits["train"], splits["test"], manifest

    @property
    def published_sizes(self) -> tuple[int, int]:
        return self.pairs.published_sizes

    def summary_columns(self, modalities: tuple[str, ...], spaces: Sequence[str]) -> list:
        """MoPoE's table (``bench.suites.layouts.by_subset``): joint coherence, then every target's coherence given
        each subset without it, self-reconstruction; FD and P/R of the image modalities' joint samples per feature
        space."""
        return layouts.by_subset(tuple(modalities), ("mnist", "svhn"), spaces, SHORT)

    @property
    def data_params(self) -> tuple:
        return (self.n_modalities, self.data_seed, *self.pairs.data_params, self.data_version)


register_suite(MNISTSVHNTextSuite)
