"""What the labels of a suite are: one class variable (a digit: int64 labels (N,) of K classes) or A attributes
(int64 labels (N, A), attribute a taking ``classes[a]`` values, e.g. the CUB stand-in's body colour, size, ...).

A classifier of a modality outputs the concatenated logits of every attribute, sum_a K_a of them (``logits``); it
is trained on the sum over attributes of each attribute's cross-entropy (``loss``), predicts each attribute by the
argmax of its own block (``predict``) and is scored per attribute. A proportion of hits over attributes
(coherence, accuracy) is the mean of the per-attribute proportions, with chance level mean_a 1 / K_a (``chance``);
with one class variable all of this is plain cross-entropy, argmax and 1 / K."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class LabelSpace:
    """``classes[a]``: the number of values of attribute a; ``names[a]`` its name (empty for one unnamed class
    variable)."""

    classes: tuple[int, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.classes or min(self.classes) < 2:
            raise ValueError(f"every attribute needs at least two classes, got {self.classes}")
        if (self.names or len(self.classes) > 1) and len(self.names) != len(self.classes):
            raise ValueError(f"{len(self.names)} names for {len(self.classes)} attributes (several attributes need "
                             "one name each: they name the per-attribute coherences)")

    @classmethod
    def single(cls, n_classes: int) -> LabelSpace:
        return cls((n_classes,))

    @property
    def n_attributes(self) -> int:
        return len(self.classes)

    @property
    def logits(self) -> int:
        """How many logits a classifier outputs: sum_a K_a."""
        return sum(self.classes)

    @property
    def chance(self) -> float:
        """The expected share of hits of a guess uniform over each attribute's values: mean_a 1 / K_a."""
        return sum(1.0 / k for k in self.classes) / len(self.classes)

    @property
    def key(self) -> int | tuple:
        """What enters cache keys: K for one unnamed class variable (as before attributes existed), else both
        tuples."""
        return self.classes[0] if self.n_attributes == 1 and not self.names else (self.classes, self.names)

    def rows(self, labels: Tensor) -> Tensor:
        """Labels as (B, A), one column per attribute."""
        return labels.reshape(labels.shape[0], self.n_attributes)

    def blocks(self, logits: Tensor) -> tuple[Tensor, ...]:
        """Each attribute's logits (B, K_a)."""
        return torch.split(logits, list(self.classes), dim=1)

    def predict(self, logits: Tensor) -> Tensor:
        """int64 (B, A): each attribute's argmax within its own block."""
        return torch.stack([block.argmax(dim=1) for block in self.blocks(logits)], dim=1)

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """sum_a cross-entropy(logits of a, labels of a), each the mean over the batch."""
        rows = self.rows(labels)
        return sum(F.cross_entropy(block, rows[:, a]) for a, block in enumerate(self.blocks(logits)))

    def check(self, labels: Tensor) -> None:
        """A ValueError unless ``labels`` are int64 labels of this space: (N,) for one attribute, (N, A) else."""
        shape = (labels.shape[0],) if self.n_attributes == 1 else (labels.shape[0], self.n_attributes)
        if labels.dtype != torch.int64 or tuple(labels.shape) != shape:
            raise ValueError(f"labels: expected int64 {'(N,)' if len(shape) == 1 else f'(N, {self.n_attributes})'}, "
                             f"got {labels.dtype} {tuple(labels.shape)}")
        rows = self.rows(labels)
        high = torch.tensor(self.classes)
        if labels.numel() and (bool((rows < 0).any()) or bool((rows >= high).any())):
            raise ValueError(f"labels outside 0 .. K_a - 1 for the classes {self.classes}")


DIGITS = LabelSpace.single(10)
