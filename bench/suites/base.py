"""What every suite is: ``Suite``, the base class of a suite folder's registered class, and the size of each of its
scales (``SuiteScale``, ``standard_scales``). Which models a scale runs by default is a tag on each model
(``bench.registry.register_model``) among those with a preset on the suite (``bench.presets``): quick runs MLD and
MoPoE; default one model of each family that learns within the budget on 2 CPU cores (docs/study.md): MLD, a mixture
of products of experts (MoPoE), a total-correlation VAE (MVTCAE) and a mixture with private latents (MMVAE+); paper
every model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Sequence

from bench.data.dataset import MultimodalDataset, random_subset
from bench.data.labels import DIGITS, LabelSpace
from bench.interface import DataSpec
from bench.networks import Networks
from bench.probes import ProbeConfig
from classifiers.train import ClassifierConfig

if TYPE_CHECKING:
    from bench.tables import Column


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
    probe: ProbeConfig = field(default_factory=ProbeConfig)  # scores during training (``bench.probes``)


CONVERGED_FRACTIONS = tuple(i / 10 for i in range(1, 11))  # the converged scale's learning curve: every 10%


def standard_scales(*, quick_train: int, quick_test: int, default_test: int) -> dict[str, SuiteScale]:
    """quick (a minute on 2 cores on ``quick_train`` / ``quick_test`` tuples; its models do not learn at this size, the
    tables say "chance"), default (the whole train split and ``default_test`` test tuples) and paper (whole splits,
    five seeds, 10,000 joint samples).

    The classifiers train with the reference recipe (``ClassifierConfig``) at the paper scale; ``default`` uses lr
    2e-3, which passes 90% test accuracy on every modality of the embedded 4,000-tuple PolyMNIST within 30 epochs
    (1e-3 leaves two modalities near 88-89%); ``quick`` trains 8 short epochs, only good enough to prove the plumbing."""
    return {
        "quick": SuiteScale(n_train=quick_train, n_test=quick_test, classifier=ClassifierConfig(epochs=8, batch_size=64,
                                                                                                   lr=2e-3),
                            probe=ProbeConfig(tuples=100)),
        "default": SuiteScale(n_train=None, n_test=default_test, classifier=ClassifierConfig(lr=2e-3)),
        "converged": SuiteScale(n_train=None, n_test=default_test, classifier=ClassifierConfig(lr=2e-3),
                                probe=ProbeConfig(fractions=CONVERGED_FRACTIONS, tuples=default_test)),
        "paper": SuiteScale(n_train=None, n_test=None, classifier=ClassifierConfig(), seeds=(0, 1, 2, 3, 4),
                            n_joint=10_000),
    }


@dataclass(frozen=True)
class Suite:
    """A benchmark suite, everything in its folder ``bench/suites/<name>/`` (``bench.suites``). A subclass sets the
    class attributes and implements ``load_data`` and ``summary_columns``; its instances are frozen dataclasses whose
    fields (``scales``, and e.g. a data seed) are the suite's settings."""

    name: ClassVar[str]
    title: ClassVar[str]  # how tables and the report name the suite
    networks: ClassVar[Networks]  # every model family's networks for its modalities (``bench.networks``)
    label_space: ClassVar[LabelSpace] = DIGITS  # what the labels are, what the classifiers predict
    data_version: ClassVar[int] = 1  # in the data key: raise it with any change to what the data builders produce
    data_modules: ClassVar[tuple[str, ...]] = ()  # the builders' modules, whose source the fingerprint follows
    every_model_at: ClassVar[tuple[str, ...]] = ()  # scales that run every model with a preset here by default
    published_sizes: ClassVar[tuple[int, int] | None] = None  # (train, test) of the real data (``--plan``, paper scale)

    scales: dict[str, SuiteScale]
    data_seed: int = 0  # seeds the data's builders and the subsets a scale takes (``shrink``)

    def load_data(self, data_root: str | None, *, download: bool = False, derived: Path | None = None
                  ) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
        """(train, test, manifest) from ``data_root`` (None: the offline default). The manifest names the
        ``source`` and holds ``train_sha256`` and ``test_sha256`` (``bench.data.dataset.dataset_sha256``);
        ``download`` fetches the public files into ``data_root`` first. Files a suite derives from the user's data
        (an index, a pairing) go under ``derived`` (the run's cache), never into ``data_root``, which may be
        read-only."""
        raise NotImplementedError

    def shrink(self, ds: MultimodalDataset, n: int | None, *, seed: int) -> MultimodalDataset:
        """The ``n`` tuples a scale uses (``random_subset``)."""
        return random_subset(ds, n, seed=seed)

    @property
    def data_params(self) -> tuple:
        """What, besides the source, decides the data's content (part of the data key)."""
        return (self.data_version,)

    def summary_columns(self, modalities: tuple[str, ...], spaces: Sequence[str]) -> list[Column]:
        """The columns of the summary table in feature spaces ``spaces`` (e.g. "clf", "inception")."""
        raise NotImplementedError

    def data_spec(self, ds: MultimodalDataset) -> DataSpec:
        """What a model is built from for data shaped as ``ds``: its modalities, shapes, specs and these networks."""
        return DataSpec(self.name, ds.modalities, ds.shapes, ds.specs, self.networks)
