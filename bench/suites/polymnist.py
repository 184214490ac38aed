"""The PolyMNIST suite: five-modality coloured digits, coherence by per-modality digit classifiers."""

from __future__ import annotations

from dataclasses import dataclass, field


from bench.data.dataset import MultimodalDataset, random_subset
from bench.errors import BenchError
from bench.registry import SUITES
from classifiers.train import ClassifierConfig


@dataclass(frozen=True)
class SuiteScale:
    """How big one scale of a suite is. ``None`` sizes mean the whole split."""

    n_train: int | None
    n_test: int | None
    classifier: ClassifierConfig
    seeds: tuple[int, ...] = (0,)
    eval_batch_size: int = 64  # test tuples per generate call; rows per call = this x (2^M - 1)
    n_joint: int | None = None  # prior samples for joint coherence; None = as many as test tuples
    grid_rows: int = 8  # samples per row block in the picture of each model
    models: tuple[str, ...] | None = None  # the models run when --models is not given; None = the suite's list


@dataclass(frozen=True)
class PolyMNISTSuite:
    """PolyMNIST (Sutter et al. 2021): the embedded default, generated data, or the published files."""

    name: str = "polymnist"
    title: str = "PolyMNIST"  # how tables and the report name the suite
    n_modalities: int = 5
    data_seed: int = 0
    models: tuple[str, ...] = ("mld", "mld_in", "mld_uni", "mopoe", "mvae", "mmvae", "mvtcae", "mmvae_plus", "nexus")
    scales: dict[str, SuiteScale] = field(
        default_factory=lambda: {
            # quick (a minute on 2 cores) runs MLD and MoPoE; default (about 10 minutes) MLD and the six baselines,
            # scored on 500 of the 1,000 test tuples; the MLD ablations run with --models
            "quick": SuiteScale(
                n_train=1000, n_test=300, classifier=ClassifierConfig.preset("quick"), models=("mld", "mopoe")
            ),
            "default": SuiteScale(
                n_train=None,
                n_test=500,
                classifier=ClassifierConfig.preset("default"),
                models=("mld", "mopoe", "mvae", "mmvae", "mvtcae", "mmvae_plus", "nexus"),
            ),
            "paper": SuiteScale(
                n_train=None,
                n_test=None,
                classifier=ClassifierConfig.preset("paper"),
                seeds=(0, 1, 2, 3, 4),
                n_joint=10_000,
            ),
        }
    )

    def load_data(self, data_root: str | None, *, download: bool = False) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        """(train, test, manifest) from ``data_root`` (see ``bench.data.polymnist.load_polymnist``). ``download``
        fetches MNIST into ``data_root/MNIST/raw`` first (PolyMNIST is then generated from it, unless the folder
        already holds the published PolyMNIST files)."""
        from bench.data.files import download_mnist
        from bench.data.polymnist import load_polymnist

        if download:
            if data_root is None:
                raise BenchError("--download needs --data-root (the folder to download into)", "add --data-root DIR")
            download_mnist(data_root)

        return load_polymnist(data_root, n_modalities=self.n_modalities, seed=self.data_seed)

    shrink = staticmethod(random_subset)

    def summary_columns(self, modalities: tuple[str, ...], extractors: list[str]) -> list:
        """The summary table: coherence and FD per number of given modalities, P/R (``tables.summary_columns``)."""
        from bench.tables import summary_columns

        return summary_columns(len(modalities), extractors)

    @property
    def data_params(self) -> tuple:
        """What, besides the source, decides the data's content (part of the data key)."""
        return (self.n_modalities, self.data_seed)


SUITES.register("polymnist")(PolyMNISTSuite)
