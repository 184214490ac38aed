"""Train one classifier per modality (the design the suite's ``"classifier"`` networks give for its kind,
``classifiers.nets``; Adam, cross-entropy) and measure its test accuracy."""

from __future__ import annotations

import time
from dataclasses import dataclass
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from bench.checkpoints import NO_CHECKPOINT, Checkpointer, generator_states, restore_generators
from bench.data.dataset import MultimodalDataset
from bench.devices import device_of
from bench.errors import BenchError
from bench.networks import Networks
from classifiers.nets import FAMILY

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
    n_classes: int = 10,
    seed: int,
    device: torch.device | str = "cpu",
    progress: bool = False,
    checkpoint: Checkpointer | None = None,
) -> tuple[dict[str, nn.Module], dict]:
    """Fit ``clf_m`` (``networks.build("classifier", train.specs[m], n_classes=n_classes)``, built in modality order
    after seeding the global RNG) on
    (x_m, y) for every modality m; all share the batch order of one seeded generator. A batch smaller than a
    classifier's ``MIN_BATCH`` (the text classifier's BatchNorm needs 2) is skipped for that classifier.

    Returns the classifiers (eval mode, on ``device``) and a record with the loss per epoch and wall time.
    ``checkpoint`` saves weights, optimisers, the generator and global RNG states (dropout) and the losses at
    epoch ends and resumes from them.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    clfs = {m: networks.build(FAMILY, train.specs[m], n_classes=n_classes).to(device) for m in train.modalities}
    optims = {m: torch.optim.Adam(c.parameters(), lr=cfg.lr) for m, c in clfs.items()}
    losses: list[float] = []
    checkpoint = NO_CHECKPOINT if checkpoint is None else checkpoint
    first, start = 0, time.perf_counter()
    if (state := checkpoint.load()) is not None:
        for m in clfs:
            clfs[m].load_state_dict(state["classifiers"][m])
            optims[m].load_state_dict(state["optimizers"][m])
        restore_generators(state["generators"], shuffle=generator)
        torch.random.set_rng_state(state["global_rng"])
        if torch.cuda.is_available() and "cuda_rng" in state:
            torch.cuda.set_rng_state_all(list(state["cuda_rng"]))
        losses, first, start = list(state["losses"]), state["epoch"] + 1, start - state["seconds"]
    train = train.resident(device)  # uint8 on the device when it fits: no copy per batch
    for epoch in tqdm(range(first, cfg.epochs), desc="classifiers", disable=not progress, leave=False, initial=first,
                      total=cfg.epochs):
        for c in clfs.values():
            c.train()
        total, count = torch.zeros((), device=device), 0
        for x, y in train.batches(cfg.batch_size, shuffle=True, generator=generator, device=device):
            for m, clf in clfs.items():
                if len(y) < getattr(clf, "MIN_BATCH", 1):
                    continue
                loss = F.cross_entropy(clf(x[m]), y)
                optims[m].zero_grad(set_to_none=True)
                loss.backward()
                optims[m].step()
                total += loss.detach() * len(y)  # summed on the device: one host read per epoch
                count += len(y)
        losses.append(float(total) / count)
        if not torch.isfinite(torch.tensor(losses[-1])):
            raise BenchError(f"classifier training, seed {seed} epoch {epoch}: loss is NaN", "lower the classifier lr")
        checkpoint.maybe_save(epoch, lambda: {
            "classifiers": {m: c.state_dict() for m, c in clfs.items()},
            "optimizers": {m: o.state_dict() for m, o in optims.items()},
            "generators": generator_states(shuffle=generator), "global_rng": torch.random.get_rng_state(),
            **({"cuda_rng": torch.cuda.get_rng_state_all()} if torch.cuda.is_available() else {}),
            "losses": losses, "seconds": time.perf_counter() - start,
        })
    checkpoint.done()
    for c in clfs.values():
        c.eval()
    return clfs, {"losses": losses, "seconds": time.perf_counter() - start}


@torch.no_grad()
def classifier_accuracy(
    clfs: dict[str, nn.Module], test: MultimodalDataset, *, batch_size: int = 1024
) -> dict[str, float]:
    """acc_m = mean_i 1[argmax clf_m(x_m^(i)) = y_i] over the whole test set, in eval mode."""
    device = device_of(clfs.values())
    correct = {m: 0 for m in clfs}
    for clf in clfs.values():
        clf.eval()
    for x, y in test.batches(batch_size, device=device):
        for m, clf in clfs.items():
            correct[m] += int((clf(x[m]).argmax(dim=1) == y).sum())
    return {m: c / len(test) for m, c in correct.items()}
