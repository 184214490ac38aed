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

Labels of several attributes (``bench.data.labels``, e.g. a bird's colours and size): every hit and agreement above is
counted per attribute a, each coherence is the mean over attributes of the per-attribute coherences (chance
mean_a 1 / K_a), the spread's top share and chance are the means over attributes of theirs, and the per-attribute
coherences of the joint samples and of every single-source direction are reported too
(``coherence_<condition>_at_<attribute>``, with each attribute's chance 1 / K_a as ``coherence_chance_at_<attribute>``;
the mean chance is ``coherence_chance``). With one class variable all of this is the definition above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.data.labels import DIGITS, LabelSpace
from bench.devices import device_of
from bench.interface import MultimodalModel
from bench.metrics.generation import SubsetBatch, generation_pass
from bench.metrics.names import CHANCE, JOINT, SELF, at_attribute, direction, given, metric_key
from bench.metrics.registry import LabelContext, LabelMetric, register_metric
from bench.metrics.subsets import all_subsets, single_source_pairs, subset_members, subset_names
from bench.tables import Column, Plot, Table, TableContext

NAME = "coherence"  # the measure of every coherence key (``bench.metrics.names``)

LOO_MEAN = "mean"  # key of the mean over targets in ``CoherenceResult.leave_one_out()``


@dataclass
class CoherenceResult:
    """Conditional and joint coherence of one model (definitions in the module docstring).

    ``subsets: bool (S, M)`` are the conditioning subsets in ``bench.metrics.subsets`` order (S = 2^M - 1);
    ``conditional: float64 (S, M)`` holds coh(subsets[s] -> modalities[t]) at ``[s, t]`` for every scored pair
    (NaN where not scored: by default the reconstructions t in S with |S| > 1); ``joint`` is the joint coherence
    over ``n_joint`` samples; ``n_test`` test tuples were used for every conditional entry. ``joint_classes: int64
    (M, K)`` counts the joint samples whose modality m is read as class c (None when not counted); with several
    attributes its K columns are the attributes' blocks of ``label_space``, ``conditional`` and ``joint`` are means
    over attributes, and ``per_attribute`` (float64 (S, M, A)) and ``joint_per_attribute`` (A values) hold them per
    attribute.
    """

    modalities: tuple[str, ...]
    subsets: Tensor
    conditional: Tensor
    joint: float
    n_test: int
    n_joint: int
    joint_classes: Tensor | None = None
    label_space: LabelSpace = DIGITS
    per_attribute: Tensor | None = None
    joint_per_attribute: tuple[float, ...] = ()

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
        blocks = [block.double() / block.sum(dim=1, keepdim=True).clamp_min(1)
                  for block in self.label_space.blocks(self.joint_classes)]
        return {"top_share": sum(float(shares.max(dim=1).values.mean()) for shares in blocks) / len(blocks),
                "chance": sum(float(shares.prod(dim=0).sum()) for shares in blocks) / len(blocks)}

    def directions(self) -> dict[str, float]:
        """``"<s>_to_<t>"`` -> coh({s} -> t) for every ordered pair of distinct modalities, then
        ``"<a>+<b>..._to_<t>"`` -> coh(S -> t) for every subset S of two or more modalities and target t not in S
        (the MoPoE table: every subset and target); conditions as ``bench.metrics.names.direction`` spells them."""
        out = {name: float(self.conditional[row, t]) for row, t, name in single_source_pairs(self.subsets, self.modalities)}
        for row, mask in enumerate(self.subsets):
            if int(mask.sum()) > 1:
                sources = [self.modalities[i] for i in subset_members(mask)]
                out.update({direction(sources, m): float(self.conditional[row, t])
                            for t, m in enumerate(self.modalities) if not bool(mask[t])})
        return out

    def values(self) -> dict[str, float]:
        """Every coherence number by condition (``bench.metrics.names``): ``joint`` with ``joint_top_share`` and
        ``joint_chance`` (when the joint classes were counted), ``self``, ``k1``..``k{M-1}``, and every direction."""
        spread = {} if self.joint_classes is None else {f"{JOINT}_{k}": v for k, v in self.joint_spread().items()}
        return {JOINT: self.joint, **spread, SELF: self.self_reconstruction(),
                **{given(k): v for k, v in self.by_size().items()}, **self.directions(), **self.attributes()}

    def attributes(self) -> dict[str, float]:
        """With several attributes: ``chance`` (mean_a 1 / K_a) and, per attribute a, ``chance_at_<a>`` (1 / K_a),
        ``joint_at_<a>`` and ``<s>_to_<t>_at_<a>`` for every ordered pair of distinct modalities; else nothing."""
        space = self.label_space
        if space.n_attributes == 1 or self.per_attribute is None:
            return {}
        out = {CHANCE: space.chance}
        pairs = single_source_pairs(self.subsets, self.modalities)
        for a, (name, k) in enumerate(zip(space.names, space.classes)):
            out[at_attribute(CHANCE, name)] = 1.0 / k
            out[at_attribute(JOINT, name)] = self.joint_per_attribute[a]
            out.update({at_attribute(condition, name): float(self.per_attribute[row, t, a])
                        for row, t, condition in pairs})
        return out

    def to_dict(self) -> dict[str, Any]:
        """What a run record keeps beside the numbers (``values``, under their keys): counts, the leave-one-out
        coherences (``leave_one_out``), the joint samples' classes per modality, and the full matrix as
        ``conditional[subset name][target] = coh(subset -> target)``."""
        names = subset_names(self.subsets, self.modalities)
        return {
            "modalities": list(self.modalities),
            "n_test": self.n_test,
            "n_joint": self.n_joint,
            "leave_one_out": self.leave_one_out(),
            **({} if self.joint_classes is None else {
                "joint_classes": {m: row.tolist() for m, row in zip(self.modalities, self.joint_classes)},
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
        label_space: LabelSpace = DIGITS,
    ):
        missing = [m for m in modalities if m not in classifiers]
        if missing:
            raise ValueError(f"modalities {missing} lack a classifier")
        self.modalities = tuple(modalities)
        self.classifiers = classifiers
        self.context = LabelContext(self.modalities, classifiers, dict(specs or {}), device, label_space)
        self.device = device
        # where each attribute's block starts among the joint class counts' columns
        self.offsets = torch.tensor([0, *label_space.classes[:-1]], device=device).cumsum(0)
        for clf in classifiers.values():
            clf.eval()
        self.wanted = scored_pairs(len(modalities), reconstructions)
        a = label_space.n_attributes
        self.correct = torch.zeros((*self.wanted.shape, a), dtype=torch.int64, device=device)
        self.scored = torch.zeros(self.wanted.shape, dtype=torch.bool)
        self.coherent = torch.zeros(a, dtype=torch.int64, device=device)
        self.joint_classes: Tensor | None = None  # (M, K) counts, sized at the first joint batch

    def conditional(self, batch: SubsetBatch) -> None:
        labels = self.context.label_space.rows(batch.labels.to(self.device))  # (B, A)
        for t, m in enumerate(self.modalities):
            rows, images = batch.target(m, self.wanted[:, t])
            if len(rows):
                predicted = self.context.predict(m, images.flatten(0, 1)).view(len(rows), *labels.shape)
                self.correct[rows.to(self.device), t] += (predicted == labels).sum(dim=1)
                self.scored[rows, t] = True

    def joint(self, samples: Mapping[str, Tensor]) -> None:
        preds = torch.stack([self.context.predict(m, samples[m]) for m in self.modalities])  # (M, n, A)
        self.coherent += (preds == preds[0]).all(dim=0).sum(dim=0)
        if self.joint_classes is None:
            self.joint_classes = torch.zeros(len(self.modalities), self.context.label_space.logits, dtype=torch.int64,
                                             device=self.device)
        columns = (preds + self.offsets).flatten(1)  # each attribute's value as a column of its block
        self.joint_classes.scatter_add_(1, columns, torch.ones_like(columns))

    def result(self, n_test: int, n_joint: int) -> CoherenceResult:
        per_attribute = torch.where(self.scored.unsqueeze(-1), self.correct.cpu().double() / n_test, math.nan)
        joint = self.coherent.cpu().double() / n_joint
        return CoherenceResult(
            modalities=self.modalities,
            subsets=all_subsets(len(self.modalities)),
            conditional=per_attribute.mean(dim=-1),
            joint=float(joint.mean()),
            n_test=n_test,
            n_joint=n_joint,
            joint_classes=None if self.joint_classes is None else self.joint_classes.cpu(),
            label_space=self.context.label_space,
            per_attribute=per_attribute,
            joint_per_attribute=tuple(joint.tolist()),
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
    label_space: LabelSpace = DIGITS,
) -> CoherenceResult:
    """Conditional coherence for every (subset, target) over the whole test set, and joint coherence, from one
    ``generation_pass`` (its docstring gives the batching and memory).

    ``classifiers[m]`` maps a quantized ``float (B, C, H, W)`` image of modality m to class scores ``(B, K)``;
    each is switched to eval mode (and left there). ``generator`` is handed to the model's ``generate`` and
    ``sample``. ``device`` (default: that of the first classifier parameter, else CPU) is where inputs,
    classification and counting happen. ``progress`` shows tqdm bars over test batches and joint batches.
    ``reconstructions`` also scores every t in S (default: only the self reconstructions {t} -> t).
    ``label_space`` says what the labels and the classifiers' logits are (``bench.data.labels``).
    """
    modalities = tuple(model.modalities)
    missing = [m for m in modalities if m not in test.images]
    if missing:
        raise ValueError(f"modalities {missing} lack test images")
    device = device_of(classifiers.values()) if device is None else torch.device(device)
    counter = CoherenceCounter(modalities, classifiers, device, reconstructions=reconstructions, specs=test.specs,
                               label_space=label_space)
    n_joint = generation_pass(
        model, test, [counter], batch_size=batch_size, n_joint=n_joint, generator=generator, device=device,
        progress=progress,
    )
    return counter.result(len(test), n_joint)


def coherence_column(condition: str, header: str, *, group: str = "Coherence") -> Column:
    """A coherence column: a conditional one is a proportion over test tuples with chance 1/K; joint coherence
    (``condition`` "joint") a proportion over joint samples with the chance agreement of its class shares, flagged
    when collapsed."""
    if condition == JOINT:
        return Column(metric_key(NAME, JOINT), header, group=group, trials="n_joint",
                      chance=metric_key(NAME, f"{JOINT}_chance"), collapse=metric_key(NAME, f"{JOINT}_top_share"))
    return Column(metric_key(NAME, condition), header, group=group, trials="n_test", chance="uniform")


def by_size_columns(n_modalities: int, prefix: str = "") -> list[Column]:
    """Joint coherence, then conditional coherence for k = 1..M-1 given modalities (targets not given), then
    self-reconstruction (each modality reconstructed from itself alone). Headers "Joint", "k=K", "self"; with a
    ``prefix`` (the summary's "Coh ") it starts each of them: "Coh joint", "Coh k=K", "Coh self"."""
    return ([coherence_column(JOINT, f"{prefix}joint" if prefix else "Joint")]
            + [coherence_column(given(k), f"{prefix}k={k}") for k in range(1, n_modalities)]
            + [coherence_column(SELF, f"{prefix}self")])


def direction_columns(modalities: tuple[str, str], short: dict[str, str]) -> list[Column]:
    """The bimodal layout (MLD's MNIST-SVHN table): joint, A->B, B->A, self; ``short`` abbreviates the names."""
    a, b = modalities
    sa, sb = short.get(a, a), short.get(b, b)
    return [coherence_column(JOINT, "Coh joint"), coherence_column(direction(a, b), f"Coh {sa}→{sb}"),
            coherence_column(direction(b, a), f"Coh {sb}→{sa}"), coherence_column(SELF, "Coh self")]


def subset_columns(modalities: tuple[str, ...], short: dict[str, str]) -> list[Column]:
    """MoPoE's layout (MNIST-SVHN-Text): joint; for every target t its coherence given each subset of the other
    modalities (singletons first, "T|S,M": T given S and M); self-reconstruction."""
    columns = [coherence_column(JOINT, "Coh joint")]
    for t, target in enumerate(modalities):
        for mask in all_subsets(len(modalities)):
            members = subset_members(mask)
            if t in members:
                continue
            sources = [modalities[i] for i in members]
            label = short.get(target, target)
            columns.append(coherence_column(direction(sources, target), f"{label}|{','.join(short.get(m, m) for m in sources)}",
                                            group=f"Coherence of {label}"))
    return columns + [coherence_column(SELF, "Coh self")]


def _read(counter: CoherenceCounter, n_test: int, n_joint: int) -> tuple[dict[str, float], dict]:
    result = counter.result(n_test, n_joint)
    return result.values(), result.to_dict()


def _tables(context: TableContext) -> list[Table]:
    n = len(context.modalities)
    caption = (f"{context.title} coherence ({context.data}; {context.seeds}). Joint: all {n} classifiers agree on a "
               "prior sample. k=K: accuracy of a generated modality given K others, averaged over subsets and targets "
               f"not given. self: each modality reconstructed from itself alone. Classifier test accuracy: "
               f"{context.classifiers}.")
    plot = Plot(metric_key(NAME, "k"), "coherence_by_size", "conditional coherence", "coherence given k modalities",
                unit_interval=True, chance=context.chance)
    return [Table("coherence", by_size_columns(n), caption, plot)]


register_metric(LabelMetric(
    name=NAME,
    counter=lambda context: CoherenceCounter(context.modalities, context.classifiers, context.device,
                                             specs=context.specs, label_space=context.label_space),
    read=_read,
    tables=_tables,
))
