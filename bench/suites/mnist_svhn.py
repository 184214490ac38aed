"""The MNIST-SVHN suite (Shi et al. 2019): a handwritten and a house-number digit of the same label, 1x28x28 and
3x32x32; coherence by one digit classifier per modality."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.data.dataset import MultimodalDataset, random_subset
from bench.registry import SUITES
from bench.suites.common import SuiteScale, standard_scales


@dataclass(frozen=True)
class MNISTSVHNSuite:
    """Real MNIST and SVHN files from ``--data-root`` (seeded pairing, ``dm`` pairs per instance, saved as index files)
    or, without one, the offline stand-in of ``bench.data.mnist_svhn.build_stand_in`` (not SVHN)."""

    name: str = "mnist_svhn"
    title: str = "MNIST-SVHN"
    n_modalities: int = 2
    data_seed: int = 0
    dm: int = 20  # pairs per instance with the real files (MoPoE, MLD)
    stand_in_dm: int = 5  # the stand-in has 4,000 train digits: 20,000 pairs
    data_version: int = 2  # in the data key: raise it with any change to what the data builders produce (bench.versions)
    data_modules: tuple[str, ...] = ("bench.data.mnist_svhn",)  # 2: the stand-in's light-on-dark share
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: standard_scales(quick_train=2000, quick_test=300, default_test=1000)
    )

    def load_data(self, data_root: str | None, *, download: bool = False) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        from bench.data.mnist_svhn import build_stand_in, download as fetch, load_mnist_svhn

        if data_root is None:
            return build_stand_in(dm=self.stand_in_dm, seed=self.data_seed)
        if download:
            fetch(data_root)
        return load_mnist_svhn(data_root, dm=self.dm, seed=self.data_seed)

    shrink = staticmethod(random_subset)

    @property
    def published_sizes(self) -> tuple[int, int]:
        """(train, test) pairs of the real MNIST-SVHN with ``dm`` pairs per instance (MMVAE/MoPoE pairing: 56,068
        train and 10,000 test instances per pass; 1,121,360 / 200,000 at dm = 20)."""
        return 56_068 * self.dm, 10_000 * self.dm

    def summary_columns(self, modalities: tuple[str, ...], extractors: list[str]) -> list:
        """The paper's bimodal layout (``tables.bimodal_columns``): coherence joint, M->S, S->M; FD joint (M),
        joint (S), M->S, S->M in each feature space (FD-clf always; FID with Inception weights)."""
        from bench.tables import bimodal_columns

        return bimodal_columns(tuple(modalities), extractors, {"mnist": "M", "svhn": "S"})

    @property
    def data_params(self) -> tuple:
        return (self.n_modalities, self.data_seed, self.dm, self.stand_in_dm, self.data_version)


SUITES.register("mnist_svhn")(MNISTSVHNSuite)
