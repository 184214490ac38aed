"""Train one classifier per modality (the design the suite's ``"classifier"`` networks give for its kind,
``classifiers.nets``; Adam, cross-entropy summed over the label space's attributes, ``bench.data.labels``) and
measure its test accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass
import torch
from torch import nn

from bench.checkpoints import Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.data.labels import DIGITS, LabelSpace
from bench.devices import device_of
from bench.health import HealthRule, TrainingMonitor
from bench.networks import Networks
from bench.training import TrainLog, train_epochs
from classifiers.nets import FAMILY

FINITE_ONLY = HealthRule(tolerance=math.inf)  # a classifier's loss is only checked for NaN and infinities
CLASSIFIER_VERSION = 1  # in the classifiers' key: raise it with any change that can alter their weights (bench.versions)


@dataclass(frozen=True)
class ClassifierConfig:
    """Reference recipe (MMVAE code ``analyse_ms.py``; MLD code ``src/dataLoaders/MnistSvhnText/train_classifers.py``):
    Adam 1e-3, cross-entropy, 30-50 epochs; batch 256.

    The same recipe trains every modality's classifier, the text one included (MoPoE ships its text classifier
    pretrained, with no training code).

    A suite's scales choose the values (``bench.suites.base.standard_scales``).
    """

    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3


def train_classifiers(
    train: MultimodalDataset,
    cfg: ClassifierConfig,
    *,
    networks: Networks,
    label_space: LabelSpace = DIGITS,
    seed: int,
    device: torch.device | str = "cpu",
    progress: bool = False,
    checkpoint: Checkpointer | None = None,
) -> tuple[dict[str, nn.Module], dict]:
    """Fit ``clf_m`` (``networks.build("classifier", train.specs[m], n_classes=label_space.logits)``, built in
    modality order after seeding the global RNG) on (x_m, y) for every modality m (``label_space.loss``), in the
    shared loop (``bench.training``: stage "classifiers"); all share the batch order of one seeded generator. A
    batch smaller than a classifier's ``MIN_BATCH`` (the text classifier's BatchNorm needs 2) is skipped for that
    classifier. A non-finite epoch loss stops the training with ``Diverged``.

    Returns the classifiers (eval mode, on ``device``) and a record with the loss per epoch and wall time.
    ``checkpoint`` saves weights, optimisers, the generator and global RNG states (dropout) at epoch ends and resumes
    from them.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    clfs = {m: networks.build(FAMILY, train.specs[m], n_classes=label_space.logits).to(device)
            for m in train.modalities}
    optims = {m: torch.optim.Adam(c.parameters(), lr=cfg.lr) for m, c in clfs.items()}
    train = train.resident(device)  # uint8 on the device when it fits: no copy per batch

    def begin_epoch(epoch: int) -> None:
        for c in clfs.values():
            c.train()

    def step(batch: tuple[dict[str, torch.Tensor], torch.Tensor], log: TrainLog) -> None:
        x, y = batch
        for m, clf in clfs.items():
            if len(y) < getattr(clf, "MIN_BATCH", 1):
                continue
            loss = label_space.loss(clf(x[m]), y)
            optims[m].zero_grad(set_to_none=True)
            loss.backward()
            optims[m].step()
            log.add({"loss": loss}, len(y))

    def state() -> dict:
        return {
            "classifiers": {m: c.state_dict() for m, c in clfs.items()},
            "optimizers": {m: o.state_dict() for m, o in optims.items()},
            "generators": generator_states(shuffle=generator), "global_rng": torch.random.get_rng_state(),
            **({"cuda_rng": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
        }

    def restore(saved: dict) -> None:
        for m in clfs:
            clfs[m].load_state_dict(saved["classifiers"][m])
            optims[m].load_state_dict(saved["optimizers"][m])
        restore_generators(saved["generators"], shuffle=generator)
        torch.random.set_rng_state(saved["global_rng"])
        if torch.cuda.is_available() and "cuda_rng" in saved:
            torch.cuda.set_rng_state_all(list(saved["cuda_rng"]))

    log = train_epochs(
        "classifiers", cfg.epochs, lambda: train.batches(cfg.batch_size, shuffle=True, generator=generator, device=device),
        step, state=state, restore=restore, monitor=TrainingMonitor("classifiers", FINITE_ONLY), checkpoint=checkpoint,
        progress=progress, begin_epoch=begin_epoch,
    )
    for c in clfs.values():
        c.eval()
    return clfs, {"losses": log.losses, "seconds": log.seconds}


@torch.no_grad()
def classifier_accuracy(
    clfs: dict[str, nn.Module], test: MultimodalDataset, label_space: LabelSpace = DIGITS, *, batch_size: int = 1024
) -> dict[str, float]:
    """acc_m = mean_i mean_a 1[predicted attribute a of clf_m(x_m^(i)) = y_ia] over the whole test set, in eval mode
    (with one class variable: the share of test items whose argmax is their label)."""
    device = device_of(clfs.values())
    correct = {m: 0 for m in clfs}
    for clf in clfs.values():
        clf.eval()
    for x, y in test.batches(batch_size, device=device):
        for m, clf in clfs.items():
            correct[m] += int((label_space.predict(clf(x[m])) == label_space.rows(y)).sum())
    return {m: c / (len(test) * label_space.n_attributes) for m, c in correct.items()}
