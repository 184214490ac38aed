"""What every suite shares: the size of a scale, the model lists, and the three standard scales."""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.train import ClassifierConfig

ALL_MODELS = ("mld", "mld_in", "mld_uni", "mopoe", "mvae", "mmvae", "mvtcae", "mmvae_plus", "nexus")
QUICK_MODELS = ("mld", "mopoe")
# The default lists one model of each family that learns within the budget on 2 CPU cores (README, "Choosing the
# default scale"): MLD, a mixture of products of experts (MoPoE), a total-correlation VAE (MVTCAE) and a mixture with
# private latents (MMVAE+). MVAE, MMVAE and NEXUS run with --models all (or by name).
DEFAULT_MODELS = ("mld", "mopoe", "mvtcae", "mmvae_plus")


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


def standard_scales(*, quick_train: int, quick_test: int, default_test: int) -> dict[str, SuiteScale]:
    """quick (a minute on 2 cores: MLD and MoPoE on ``quick_train`` / ``quick_test`` tuples; they do not learn at this
    size, the tables say "chance"), default (``DEFAULT_MODELS`` on the whole train split and ``default_test`` test
    tuples; the others run with --models) and paper (every model, whole splits, five seeds, 10,000 joint samples)."""
    return {
        "quick": SuiteScale(
            n_train=quick_train, n_test=quick_test, classifier=ClassifierConfig.preset("quick"), models=QUICK_MODELS
        ),
        "default": SuiteScale(
            n_train=None, n_test=default_test, classifier=ClassifierConfig.preset("default"), models=DEFAULT_MODELS
        ),
        "paper": SuiteScale(
            n_train=None,
            n_test=None,
            classifier=ClassifierConfig.preset("paper"),
            seeds=(0, 1, 2, 3, 4),
            n_joint=10_000,
        ),
    }
