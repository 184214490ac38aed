"""The PolyMNIST suite: five-modality coloured digits, coherence by per-modality digit classifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.data.dataset import MultimodalDataset, random_subset
from bench.registry import SUITES
from bench.suites.common import SuiteScale, standard_scales


@dataclass(frozen=True)
class PolyMNISTSuite:
    """PolyMNIST (Sutter et al. 2021): the embedded default, generated data, or the published files."""

    name: str = "polymnist"
    title: str = "PolyMNIST"  # how tables and the report name the suite
    n_modalities: int = 5
    data_seed: int = 0
    data_version: int = 1  # in the data key: raise it with any change to what the data builders produce (bench.versions)
    data_modules: tuple[str, ...] = ("bench.data.polymnist", "bench.data.files")  # its builders, for the fingerprint
    # default: about 25 minutes on 2 cores (README), scored on 500 of the 1,000 test tuples
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: standard_scales(quick_train=1000, quick_test=300, default_test=500)
    )

    def load_data(self, data_root: str | None, *, download: bool = False) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        """(train, test, manifest) from ``data_root`` (see ``bench.data.polymnist.load_polymnist``). ``download``
        fetches MNIST into ``data_root/MNIST/raw`` first (PolyMNIST is then generated from it, unless the folder
        already holds the published PolyMNIST files)."""
        from bench.data.files import download_mnist
        from bench.data.polymnist import load_polymnist

        if download:
            download_mnist(data_root)
        return load_polymnist(data_root, n_modalities=self.n_modalities, seed=self.data_seed)

    shrink = staticmethod(random_subset)

    @property
    def published_sizes(self) -> tuple[int, int]:
        """(train, test) tuples of the published PolyMNIST: MNIST's 60,000 / 10,000 (what ``--plan`` extrapolates
        the paper scale to when the embedded stand-in is all there is)."""
        return 60_000, 10_000

    def summary_columns(self, modalities: tuple[str, ...], extractors: list[str]) -> list:
        """The summary table: coherence and FD per number of given modalities, P/R (``tables.summary_columns``)."""
        from bench.tables import summary_columns

        return summary_columns(len(modalities), extractors)

    @property
    def data_params(self) -> tuple:
        """What, besides the source, decides the data's content (part of the data key)."""
        return (self.n_modalities, self.data_seed, self.data_version)


SUITES.register("polymnist")(PolyMNISTSuite)
