"""Coherence of a multimodal generative model, scored by per-modality digit classifiers.

Notation: modalities 0..M-1 in ``model.modalities`` order, test tuples (x^(i), y_i) for i = 1..N, clf_t the
classifier of modality t, and S a non-empty subset of modalities (``bench.metrics.subsets`` order).
Every generated image is passed through ``quantize`` (clamp to [0, 1], round to the uint8 grid) before it is
classified, as if it had been saved as a PNG. Classifiers always run in eval mode under ``torch.no_grad()``.

- Conditional coherence, for every (S, t) with t not in S, and for the reconstructions S = {t} -> t:
  coh(S -> t) = (1/N) sum_i 1[argmax clf_t(x̂_t^(i) | x_S^(i)) = y_i], with x̂^(i) generated given only the
  modalities in S of test tuple i (one generation per tuple and subset), over the whole test set. The other
  reconstructions (t in S, |S| > 1) are no metric; they are scored only with ``reconstructions=True``.
- Conditional coherence per subset size k = 1..M-1 (MVTCAE / MultiVae definition): the mean of coh(S -> t)
  over all pairs (S, t) with |S| = k and t not in S, every pair weighted equally.
- Leave-one-out: coh(all modalities except t -> t) per target t, and their mean over targets.
- Joint coherence: for n_joint unconditional samples x̂ ~ model.sample, the fraction for which all M
  classifiers predict the same label: (1/n) sum_j 1[argmax clf_0(x̂_0^(j)) = ... = argmax clf_{M-1}(x̂_{M-1}^(j))].
  No label is involved.
- Self-reconstruction coherence: the mean over t of coh({t} -> t), the given modality reconstructed from itself
  alone; a model whose own reconstructions are not read as the right digit has learned nothing usable.
- Spread of the joint samples' classes: p_m(c), the share of joint samples whose modality m is read as class c.
  Their top share (the mean over m of max_c p_m(c); 1/K for a uniform spread, 1 when every sample is read as one
  digit) exposes a collapse, and sum_c prod_m p_m(c) is the joint coherence that M independent classifiers with
  these marginals reach by chance (high for a collapsed model, K^(1-M) for uniform marginals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from bench.data.dataset import MultimodalDataset, quantize
from bench.data.kinds import KINDS, ModalitySpec
from bench.devices import chunked, device_of
from bench.interface import MultimodalModel
from bench.metrics.generation import SubsetBatch, generation_pass
from bench.metrics.subsets import all_subsets, single_source_pairs, subset_names

LOO_MEAN = "mean"  # key of the mean over targets in ``CoherenceResult.leave_one_out()``


@dataclass
class CoherenceResult:
    """Conditional and joint coherence of one model (definitions in the module docstring).

    ``subsets: bool (S, M)`` are the conditioning subsets in ``bench.metrics.subsets`` order (S = 2^M - 1);
    ``conditional: float64 (S, M)`` holds coh(subsets[s] -> modalities[t]) at ``[s, t]`` for every scored pair
    (NaN where not scored: by default the reconstructions t in S with |S| > 1); ``joint`` is the joint coherence
    over ``n_joint`` samples; ``n_test`` test tuples were used for every conditional entry. ``joint_classes: int64
    (M, K)`` counts the joint samples whose modality m is read as class c (None when not counted).
    """

    modalities: tuple[str, ...]
    subsets: Tensor
    conditional: Tensor
    joint: float
    n_test: int
    n_joint: int
    joint_classes: Tensor | None = None

    def __post_init__(self) -> None:
        m = len(self.modalities)
        if m < 2:
            raise ValueError(f"coherence needs at least two modalities, got {self.modalities}")
        if LOO_MEAN in self.modalities:
            raise ValueError(f"a modality may not be named {LOO_MEAN!r} (reserved for the leave-one-out mean)")
        s = 2**m - 1
        if self.subsets.shape != (s, m) or self.subsets.dtype != torch.bool:
            raise ValueError(f"subsets: expected bool ({s}, {m}), got {self.subsets.dtype} {tuple(self.subsets.shape)}")
        if self.conditional.shape != (s, m) or self.conditional.dtype != torch.float64:
            raise ValueError(
                f"conditional: expected float64 ({s}, {m}), got {self.conditional.dtype} {tuple(self.conditional.shape)}"
            )

    def by_size(self) -> dict[int, float]:
        """k -> mean of coh(S -> t) over every pair (S, t) with |S| = k and t not in S, for k = 1..M-1."""
        sizes = self.subsets.sum(dim=1)
        result = {}
        for k in range(1, len(self.modalities)):
            pairs = (sizes == k).unsqueeze(1) & ~self.subsets
            result[k] = float(self.conditional[pairs].mean())
        return result

    def leave_one_out(self) -> dict[str, float]:
        """target t -> coh(all modalities except t -> t), plus key ``"mean"``: their mean over targets."""
        result = {}
        for t, name in enumerate(self.modalities):
            rest = torch.ones(len(self.modalities), dtype=torch.bool)
            rest[t] = False
            row = int(torch.nonzero((self.subsets == rest).all(dim=1)).item())
            result[name] = float(self.conditional[row, t])
        result[LOO_MEAN] = sum(result.values()) / len(self.modalities)
        return result

    def self_reconstruction(self) -> float:
        """The mean over targets t of coh({t} -> t)."""
        rows = [int(torch.nonzero((self.subsets == torch.eye(len(self.modalities), dtype=torch.bool)[t]).all(dim=1)))
                for t in range(len(self.modalities))]
        return float(torch.stack([self.conditional[row, t] for t, row in enumerate(rows)]).mean())

    def joint_spread(self) -> dict[str, float]:
        """``top_share``: mean over modalities of the largest class share of the joint samples; ``chance``: the
        joint coherence of independent classifiers with the observed class shares (module docstring)."""
        if self.joint_classes is None:
            raise ValueError("joint class counts were not recorded")
        shares = self.joint_classes.double() / self.joint_classes.sum(dim=1, keepdim=True).clamp_min(1)
        return {"top_share": float(shares.max(dim=1).values.mean()), "chance": float(shares.prod(dim=0).sum())}

    def directions(self) -> dict[str, float]:
        """``"<s>_to_<t>"`` -> coh({s} -> t) for every ordered pair of distinct modalities, then
        ``"<a>+<b>..._to_<t>"`` -> coh(S -> t) for every subset S of two or more modalities and target t not in S
        (the MoPoE table: every subset and target)."""
        out = {name: float(self.conditional[row, t]) for row, t, name in single_source_pairs(self.subsets, self.modalities)}
        for row, (mask, name) in enumerate(zip(self.subsets, subset_names(self.subsets, self.modalities))):
            if int(mask.sum()) > 1:
                out.update({f"{name}_to_{m}": float(self.conditional[row, t])
                            for t, m in enumerate(self.modalities) if not bool(mask[t])})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``joint``, ``coh_k1``..``coh_k{M-1}``, ``loo_<target>`` and ``loo_mean``,
        counts, and the full matrix as ``conditional[subset name][target] = coh(subset -> target)``."""
        names = subset_names(self.subsets, self.modalities)
        return {
            "modalities": list(self.modalities),
            "n_test": self.n_test,
            "n_joint": self.n_joint,
            "joint": self.joint,
            **{f"coh_k{k}": v for k, v in self.by_size().items()},
            **{f"loo_{t}": v for t, v in self.leave_one_out().items()},
            "self": self.self_reconstruction(),
            **({} if self.joint_classes is None else {
                "joint_classes": {m: row.tolist() for m, row in zip(self.modalities, self.joint_classes)},
                **{f"joint_{k}": v for k, v in self.joint_spread().items()},
            }),
            "conditional": {
                name: {t: float(v) for t, v in zip(self.modalities, row.tolist()) if not math.isnan(v)}
                for name, row in zip(names, self.conditional)
            },
        }


def scored_pairs(n_modalities: int, reconstructions: bool = False) -> Tensor:
    """bool (2^M - 1, M): the (subset, target) pairs coherence scores: every t not in S and the self
    reconstructions {t} -> t, or every pair with ``reconstructions``."""
    subsets = all_subsets(n_modalities)
    if reconstructions:
        return torch.ones_like(subsets)
    return ~subsets | (subsets & (subsets.sum(dim=1, keepdim=True) == 1))


class CoherenceCounter:
    """A ``GenerationConsumer`` that counts classifier hits: per (subset, target) and joint agreement."""

    def __init__(
        self, modalities: Sequence[str], classifiers: Mapping[str, nn.Module], device: torch.device,
        *, reconstructions: bool = False, specs: Mapping[str, ModalitySpec] | None = None,
    ):
        missing = [m for m in modalities if m not in classifiers]
        if missing:
            raise ValueError(f"modalities {missing} lack a classifier")
        self.modalities = tuple(modalities)
        self.classifiers = classifiers
        specs = specs or {}
        self.readers = {m: _reader(specs.get(m)) for m in self.modalities}
        self.device = device
        for clf in classifiers.values():
            clf.eval()
        self.wanted = scored_pairs(len(modalities), reconstructions)
        self.correct = torch.zeros(self.wanted.shape, dtype=torch.int64, device=device)
        self.scored = torch.zeros(self.wanted.shape, dtype=torch.bool)
        self.coherent = torch.zeros((), dtype=torch.int64, device=device)
        self.joint_classes: Tensor | None = None  # (M, K) counts, sized at the first joint batch

    def conditional(self, batch: SubsetBatch) -> None:
        labels = batch.labels.to(self.device)
        for t, m in enumerate(self.modalities):
            rows, images = batch.target(m, self.wanted[:, t])
            if len(rows):
                hits = _predict(self.classifiers[m], images.flatten(0, 1), self.device, self.readers[m]).view(
                    len(rows), -1) == labels
                self.correct[rows.to(self.device), t] += hits.sum(dim=1)
                self.scored[rows, t] = True
    def joint(self, samples: Mapping[str, Tensor]) -> None:
        logits = [_logits(self.classifiers[m], samples[m], self.device, self.readers[m]) for m in self.modalities]
        preds = torch.stack([scores.argmax(dim=1) for scores in logits])  # (M, n)
        self.coherent += (preds == preds[0]).all(dim=0).sum()
        if self.joint_classes is None:
            self.joint_classes = torch.zeros(len(self.modalities), logits[0].shape[1], dtype=torch.int64, device=self.device)
        self.joint_classes.scatter_add_(1, preds, torch.ones_like(preds))

    def result(self, n_test: int, n_joint: int) -> CoherenceResult:
        return CoherenceResult(
            modalities=self.modalities,
            subsets=all_subsets(len(self.modalities)),
            conditional=torch.where(self.scored, self.correct.cpu().double() / n_test, math.nan),
            joint=int(self.coherent) / n_joint,
            n_test=n_test,
            n_joint=n_joint,
            joint_classes=None if self.joint_classes is None else self.joint_classes.cpu(),
        )


def evaluate_coherence(
    model: MultimodalModel,
    test: MultimodalDataset,
    classifiers: Mapping[str, nn.Module],
    *,
    batch_size: int = 256,
    n_joint: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    reconstructions: bool = False,
) -> CoherenceResult:
    """Conditional coherence for every (subset, target) over the whole test set, and joint coherence, from one
    ``generation_pass`` (its docstring gives the batching and memory).

    ``classifiers[m]`` maps a quantized ``float (B, C, H, W)`` image of modality m to class scores ``(B, K)``;
    each is switched to eval mode (and left there). ``generator`` is handed to the model's ``generate`` and
    ``sample``. ``device`` (default: that of the first classifier parameter, else CPU) is where inputs,
    classification and counting happen. ``progress`` shows tqdm bars over test batches and joint batches.
    ``reconstructions`` also scores every t in S (default: only the self reconstructions {t} -> t).
    """
    modalities = tuple(model.modalities)
    missing = [m for m in modalities if m not in test.images]
    if missing:
        raise ValueError(f"modalities {missing} lack test images")
    device = device_of(classifiers.values()) if device is None else torch.device(device)
    counter = CoherenceCounter(modalities, classifiers, device, reconstructions=reconstructions, specs=test.specs)
    n_joint = generation_pass(
        model, test, [counter], batch_size=batch_size, n_joint=n_joint, generator=generator, device=device,
        progress=progress,
    )
    return counter.result(len(test), n_joint)


def _reader(spec: ModalitySpec | None) -> Callable[[Tensor], Tensor]:
    """What a classifier reads of a generation: images quantised, text as the one-hot of its argmax tokens
    (``bench.data.kinds``; no spec: an image)."""
    if spec is None:
        return quantize
    kind = KINDS.get(spec.kind)
    return lambda x: kind.for_metrics(x, spec)


def _logits(clf: nn.Module, images: Tensor, device: torch.device, read: Callable[[Tensor], Tensor] = quantize) -> Tensor:
    """Class scores ``(B, K)`` of generations as stored (``read``: quantised images by default), on ``device``
    (``chunked``)."""
    return chunked(lambda part: clf(read(part)), images.to(device))


def _predict(clf: nn.Module, images: Tensor, device: torch.device, read: Callable[[Tensor], Tensor] = quantize) -> Tensor:
    """Predicted labels ``(B,)`` of generations as stored, on ``device``."""
    return _logits(clf, images, device, read).argmax(dim=1)
