"""What every suite shares: the size of a scale and the three standard scales. Which models a scale runs is a tag on
each model (``bench.registry.register_model``): quick runs MLD and MoPoE; default runs one model of each family that
learns within the budget on 2 CPU cores (README, "Choosing the default scale"): MLD, a mixture of products of experts
(MoPoE), a total-correlation VAE (MVTCAE) and a mixture with private latents (MMVAE+); paper runs every model."""

from __future__ import annotations

from dataclasses import dataclass

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


def standard_scales(*, quick_train: int, quick_test: int, default_test: int) -> dict[str, SuiteScale]:
    """quick (a minute on 2 cores on ``quick_train`` / ``quick_test`` tuples; its models do not learn at this size, the
    tables say "chance"), default (the whole train split and ``default_test`` test tuples) and paper (whole splits,
    five seeds, 10,000 joint samples)."""
    return {
        "quick": SuiteScale(n_train=quick_train, n_test=quick_test, classifier=ClassifierConfig.preset("quick")),
        "default": SuiteScale(n_train=None, n_test=default_test, classifier=ClassifierConfig.preset("default")),
        "paper": SuiteScale(
            n_train=None,
            n_test=None,
            classifier=ClassifierConfig.preset("paper"),
            seeds=(0, 1, 2, 3, 4),
            n_joint=10_000,
        ),
    }
