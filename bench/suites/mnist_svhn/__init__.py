"""The MNIST-SVHN suite (Shi et al. 2019, arXiv 1911.03393): a handwritten and a house-number digit of the same
label, 1x28x28 and 3x32x32; coherence by one digit classifier per modality. Data: ``data`` (the real files with a
seeded pairing, or the offline stand-in); networks: ``nets``; presets: ``presets``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from bench.data.dataset import MultimodalDataset
from bench.registry import register_suite
from bench.suites import layouts
from bench.suites.base import Suite, SuiteScale, standard_scales
from bench.suites.mnist_svhn import presets  # noqa: F401  (registers the presets)
from bench.suites.mnist_svhn.nets import NETWORKS

SHORT = {"mnist": "M", "svhn": "S"}  # the modalities' names in table headers


@dataclass(frozen=True)
class MNISTSVHNSuite(Suite):
    """Real MNIST and SVHN files from ``--data-root`` (seeded pairing, ``dm`` pairs per instance, saved as index files)
    or, without one, the offline stand-in of ``bench.suites.mnist_svhn.data.build_stand_in`` (not SVHN)."""

    name = "mnist_svhn"
    title = "MNIST-SVHN"
    networks = NETWORKS
    data_version = 2  # in the data key: raise it with any change to what the data builders produce (bench.versions)
    data_modules = ("bench.suites.mnist_svhn.data",)  # 2: the stand-in's light-on-dark share

    n_modalities: int = 2
    data_seed: int = 0
    dm: int = 20  # pairs per instance with the real files (MoPoE, MLD)
    stand_in_dm: int = 5  # the stand-in has 4,000 train digits: 20,000 pairs
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: standard_scales(quick_train=2000, quick_test=300, default_test=1000)
    )

    def load_data(self, data_root: str | None, *, download: bool = False, derived: Path | None = None
                  ) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        from bench.suites.mnist_svhn.data import build_stand_in, download as fetch, load_mnist_svhn

        if data_root is None:
            return build_stand_in(dm=self.stand_in_dm, seed=self.data_seed)
        if download:
            fetch(data_root)
        return load_mnist_svhn(data_root, dm=self.dm, seed=self.data_seed, derived=derived)

    @property
    def published_sizes(self) -> tuple[int, int]:
        """(train, test) pairs of the real MNIST-SVHN with ``dm`` pairs per instance (MMVAE/MoPoE pairing: 56,068
        train and 10,000 test instances per pass; 1,121,360 / 200,000 at dm = 20)."""
        return 56_068 * self.dm, 10_000 * self.dm

    def summary_columns(self, modalities: tuple[str, ...], spaces: Sequence[str]) -> list:
        """The paper's bimodal layout (``bench.suites.layouts.bimodal``): coherence joint, M->S, S->M; FD joint (M),
        joint (S), M->S, S->M in each feature space (FD-clf always; FID with Inception weights)."""
        return layouts.bimodal(tuple(modalities), spaces, SHORT)

    @property
    def data_params(self) -> tuple:
        return (self.n_modalities, self.data_seed, self.dm, self.stand_in_dm, self.data_version)


register_suite(MNISTSVHNSuite)
