"""Sample-quality metrics as plug-ins: each entry of ``FEATURE_METRICS`` scores a generated feature set against the
real test features of the same modality in one feature space (``bench.metrics.features``), and declares everything
the rest of the suite needs, so that adding a metric is one file that registers it (as ``bench/metrics/kid.py``):

- what it consumes: ``compute(generated (m, d), real: RealFeatures) -> {measure: value}`` (``RealFeatures`` holds
  the real features, their mean/covariance and k-NN radii, each computed once);
- the record keys it produces, per measure: ``<measure>_<space>_<modality>`` (the unconditional samples),
  ``<measure>_<space>_uncond`` (their mean over modalities), ``<measure>_<space>_k<K>`` (conditional generations,
  mean over subsets of size K and targets outside them) and, for the ``pairs`` measures, ``<measure>_<space>_<a>_to_<b>``;
- its direction per measure (higher is better, lower, or None: never bold) and the modality kinds it applies to;
- its table ``<table>-<space>`` (``columns``, ``caption``) and an optional curve over the number of given modalities.

The evaluation cache key includes every registered entry's (name, version), so registering or changing a metric
re-scores the cached generations' models and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

from bench.registry import Registry
from bench.tables import Column

if TYPE_CHECKING:
    from torch import Tensor

    from bench.metrics.quality import RealFeatures


@dataclass(frozen=True)
class FeatureMetric:
    """One registered sample-quality metric (module docstring). ``caption`` is formatted with ``title``, ``label``
    (the feature space's short name), ``features`` (its description), ``data``, ``samples`` and ``seeds``;
    ``plot`` = (measure drawn over k, y label, figure caption) or None."""

    name: str
    measures: Mapping[str, bool | None]
    compute: Callable[["Tensor", "RealFeatures"], dict[str, float]]
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


FEATURE_METRICS: Registry[FeatureMetric] = Registry("metric")


def register_metric(metric: FeatureMetric) -> FeatureMetric:
    """Register ``metric`` under its name (e.g. at the bottom of the file that defines it)."""
    return FEATURE_METRICS.register(metric.name)(metric)


def feature_metrics(kind: str = "image") -> list[FeatureMetric]:
    """The registered metrics that apply to modalities of ``kind``, by name."""
    _builtins()
    return [m for m in (FEATURE_METRICS.get(n) for n in FEATURE_METRICS.names()) if kind in m.kinds]


def metrics_identity() -> list[tuple[str, int]]:
    """(name, version) of every registered metric: part of the evaluation cache key."""
    _builtins()
    return [(name, FEATURE_METRICS.get(name).version) for name in FEATURE_METRICS.names()]


def measure_columns(measure: str, label: str, space: str, modalities: tuple[str, ...],
                    higher_is_better: bool | None, digits: int = 3, n_modalities: int | None = None) -> list[Column]:
    """The default table of one measure: its unconditional value per modality and their mean, then the conditional
    value per number of given modalities (1 .. ``n_modalities`` - 1; default: those of ``modalities``)."""
    return (
        [Column(f"{measure}_{space}_{m}", f"{label} {m}", higher_is_better, digits, "Unconditional") for m in modalities]
        + [Column(f"{measure}_{space}_uncond", f"{label} mean", higher_is_better, digits, "Unconditional")]
        + [Column(f"{measure}_{space}_k{k}", f"{label} k={k}", higher_is_better, digits, "Conditional")
           for k in range(1, n_modalities or len(modalities))]
    )


def _builtins() -> None:
    """Register the built-in metrics (their modules register themselves on import)."""
    from bench.metrics import frechet, kid, prdc  # noqa: F401
