"""Metrics as plug-ins, of two kinds, each registered once (``register_metric``) with everything the rest of the suite
needs: what it reads from the one generation pass of an evaluation (``bench.metrics.generation``), the numbers it gives
(keys by ``bench.metrics.names``), its version (part of the evaluation cache key: registering or changing a metric
re-scores the cached models' generations and nothing else) and its tables (layout, caption and curve).

- A ``LabelMetric`` reads generations with the suite's classifiers against the test labels (coherence; plug-ins).
  ``counter(context)`` builds a ``GenerationConsumer`` from a ``LabelContext`` (modalities, classifiers, how a
  generation is read); ``read(counter, n_test, n_joint)`` gives its numbers by condition and a detail for the run
  record; ``tables(context)`` its tables.
- A ``FeatureMetric`` scores a generated feature set against the real test features of the same modality in every
  feature space (``bench.metrics.features``): ``compute(generated (m, d), real: RealFeatures) -> {measure: value}``
  (``RealFeatures`` holds the real features, their mean/covariance and k-NN radii, each computed once); its record keys
  per measure are ``<measure>_<space>_<modality>`` (the unconditional samples), ``<measure>_<space>_uncond`` (their
  mean over modalities), ``<measure>_<space>_k<K>`` (conditional generations, mean over subsets of size K and targets
  outside them) and, for the ``pairs`` measures, ``<measure>_<space>_<a>_to_<b>``; its table by default lists them
  (``measure_columns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from bench.data.kinds import KINDS, ModalitySpec, quantize
from bench.data.labels import DIGITS, LabelSpace
from bench.devices import chunked
from bench.metrics.names import UNCOND, given, metric_key
from bench.registry import Registry
from bench.tables import Column, Plot, Table, TableContext

if TYPE_CHECKING:
    from bench.metrics.quality import RealFeatures


@dataclass(frozen=True)
class LabelContext:
    """What a label metric's counter is built from: the suite's modalities and their specs, one classifier per
    modality (eval mode), the device where counting happens and what the labels are (``bench.data.labels``)."""

    modalities: tuple[str, ...]
    classifiers: Mapping[str, nn.Module]
    specs: Mapping[str, ModalitySpec]
    device: torch.device
    label_space: LabelSpace = DIGITS

    def read(self, m: str, generated: Tensor) -> Tensor:
        """A generation of modality ``m`` as a stored sample would be read back (``ModalityKind.for_metrics``: images
        quantised to the uint8 grid, text the one-hot of its argmax tokens)."""
        spec = self.specs.get(m)
        return quantize(generated) if spec is None else KINDS.get(spec.kind).for_metrics(generated, spec)

    def logits(self, m: str, generated: Tensor) -> Tensor:
        """Class scores (B, K) of modality ``m``'s classifier on generations (B, ...) as stored, on the device, in
        row blocks on the CPU (``bench.devices.chunked``)."""
        clf = self.classifiers[m]
        return chunked(lambda part: clf(self.read(m, part)), generated.to(self.device))

    def predict(self, m: str, generated: Tensor) -> Tensor:
        """int64 (B, A): the attributes (with one class variable: the class, A = 1) that modality ``m``'s classifier
        reads in generations (B, ...) as stored (``LabelSpace.predict``)."""
        return self.label_space.predict(self.logits(m, generated))


@dataclass(frozen=True)
class LabelMetric:
    """One registered label metric (module docstring); ``name`` is its measure in every key."""

    name: str
    counter: Callable[[LabelContext], Any]
    read: Callable[[Any, int, int], tuple[dict[str, float], dict]]
    tables: Callable[[TableContext], list[Table]]
    version: int = 1


@dataclass(frozen=True)
class FeatureMetric:
    """One registered feature metric (module docstring). ``caption`` is formatted with ``title``, ``label`` (the
    feature space's short name), ``features`` (its description), ``data``, ``samples`` and ``seeds``;
    ``plot`` = (measure drawn over k, y label, figure caption) or None."""

    name: str
    measures: Mapping[str, bool | None]
    compute: Callable[[Tensor, "RealFeatures"], dict[str, float]]
    caption: str
    version: int = 1
    kinds: tuple[str, ...] = ("image",)
    pairs: tuple[str, ...] = ()
    table: str = ""  # file stem before "-<space>"; "" = the name
    columns: Callable[[str, tuple[str, ...], int], list[Column]] | None = None  # None: ``measure_columns``
    plot: tuple[str, str, str] | None = None
    unit_interval: bool = False  # the plotted measure lies in [0, 1]
    labels: Mapping[str, str] = field(default_factory=dict)  # measure -> column label (default: upper-case name)
    digits: Mapping[str, int] = field(default_factory=dict)  # measure -> digits shown (default 3)

    def table_columns(self, space: str, scored: tuple[str, ...], n_modalities: int) -> list[Column]:
        """The columns of its table in feature space ``space``: ``scored`` are the modalities it scores (those of
        its kinds), ``n_modalities`` all of the suite's (conditional columns run over k = 1 .. n_modalities - 1)."""
        if self.columns is not None:
            return self.columns(space, scored, n_modalities)
        return [c for measure in self.measures for c in measure_columns(
            measure, self.labels.get(measure, measure.upper()), space, scored, self.measures[measure],
            self.digits.get(measure, 3), n_modalities)]

    def tables_in(self, context: TableContext, space: str) -> list[Table]:
        """Its table in feature space ``space``: ``<table>-<space>``, with its curve over the number of given
        modalities when it has one."""
        scored = tuple(m for m in context.spaces[space] if context.kinds[m] in self.kinds)
        text = context.caption_fields(space)
        plot = None
        if self.plot is not None:
            measure, ylabel, figure = self.plot
            plot = Plot(metric_key(measure, "k", space), f"{measure}_{space}_by_size", ylabel.format(**text),
                        figure.format(**text), lower_is_better=not self.measures[measure],
                        unit_interval=self.unit_interval)
        return [Table(f"{self.table or self.name}-{space}", self.table_columns(space, scored, len(context.modalities)),
                      self.caption.format(**text), plot)]


LABEL_METRICS: Registry[LabelMetric] = Registry("label metric")
FEATURE_METRICS: Registry[FeatureMetric] = Registry("metric")


def register_metric(metric: LabelMetric | FeatureMetric) -> LabelMetric | FeatureMetric:
    """Register ``metric`` under its name (e.g. at the bottom of the file that defines it); one name across both
    kinds."""
    other = FEATURE_METRICS if isinstance(metric, LabelMetric) else LABEL_METRICS
    if metric.name in other:
        raise ValueError(f"a metric named {metric.name!r} is already registered: {other.get(metric.name)!r}")
    registry = LABEL_METRICS if isinstance(metric, LabelMetric) else FEATURE_METRICS
    return registry.register(metric.name)(metric)


def label_metrics() -> list[LabelMetric]:
    """The registered label metrics, by name."""
    _builtins()
    return [LABEL_METRICS.get(n) for n in LABEL_METRICS.names()]


def feature_metrics(kind: str = "image") -> list[FeatureMetric]:
    """The registered feature metrics that apply to modalities of ``kind``, by name."""
    _builtins()
    return [m for m in (FEATURE_METRICS.get(n) for n in FEATURE_METRICS.names()) if kind in m.kinds]


def metrics_identity() -> list[tuple[str, int]]:
    """(name, version) of every registered metric of both kinds: part of the evaluation cache key."""
    _builtins()
    entries = [*(LABEL_METRICS.get(n) for n in LABEL_METRICS.names()), *(FEATURE_METRICS.get(n) for n in FEATURE_METRICS.names())]
    return sorted((m.name, m.version) for m in entries)


def measure_columns(measure: str, label: str, space: str, modalities: Sequence[str],
                    higher_is_better: bool | None, digits: int = 3, n_modalities: int | None = None) -> list[Column]:
    """The default table of one measure: its unconditional value per modality and their mean, then the conditional
    value per number of given modalities (1 .. ``n_modalities`` - 1; default: those of ``modalities``)."""
    return (
        [Column(metric_key(measure, m, space), f"{label} {m}", higher_is_better, digits, "Unconditional") for m in modalities]
        + [Column(metric_key(measure, UNCOND, space), f"{label} mean", higher_is_better, digits, "Unconditional")]
        + [Column(metric_key(measure, given(k), space), f"{label} k={k}", higher_is_better, digits, "Conditional")
           for k in range(1, n_modalities or len(modalities))]
    )


def _builtins() -> None:
    """Register the built-in metrics (their modules register themselves on import)."""
    from bench.metrics import coherence, frechet, kid, prdc  # noqa: F401
