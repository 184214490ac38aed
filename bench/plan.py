"""``--plan``: predict the wall time and peak memory of every stage of a run from a few measured steps, without
running it.

Each stage is probed on the chosen device and extrapolated linearly:

- training (per model; every seed costs the same): the model is built with its scale's config with every
  ``epochs`` field set to 2 and fitted on 2 of its largest batches of training tuples, then 8 and 32 while a
  stage's epoch is shorter than ``STEADY_SECONDS`` (too few steps to time) and the probe took under
  ``PROBE_SECONDS``; a monitor hook stamps each epoch end. Per stage (``model.planned_steps``), the second epoch gives seconds per optimiser step and the first
  the setup above it: predicted = setup + seconds per step x the stage's steps at full size;
- classifiers: one and three epochs of ``train_classifiers`` on the same number of tuples;
- evaluation (per model and seed): the seconds per test tuple of one generation batch with the run's consumers
  (after a two-tuple warm-up; fewer tuples when a batch would take over ``PROBE_SECONDS``) times N, the seconds per
  joint sample of one chunk times n_joint, and the scoring of one (subset, target) feature set against N random
  real features times the number of sets; a diffusion sampler is timed at two small
  numbers of network calls and extrapolated linearly to its own (an MLD sampler at the paper scale makes 2,410);
- scores during training (``bench.probes``): added to each training, as the predicted evaluation scaled by the
  rows the probes generate (``probes_estimate``);
- real features: every extractor on one batch, scaled to N (or on all N when that is cheap); data: measured.

A stage whose result is cached in ``<out>/cache`` is predicted at 0 s. At the paper scale on the embedded
stand-in the sizes are those of the published dataset (``suite.published_sizes``), since that is what a paper run
reads. Peak memory is the probe's (``bench.measure.StageCost``): a step's working set does not grow with the number
of steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch

from bench.config import RunConfig
from bench.data.dataset import MultimodalDataset, random_subset
from bench.data.labels import LabelSpace
from bench.health import TrainingMonitor
from bench.interface import DataSpec, IterativeSampler, PlannedTraining, ability, build_model
from bench.measure import StageCost
from bench.evaluation import consumers as evaluation_consumers
from bench.metrics.registry import LabelContext
from bench.metrics.generation import generation_pass
from bench.metrics.quality import RealFeatures, extract, score
from bench.metrics.subsets import all_subsets
from bench.overrides import parse_overrides
from bench.registry import MODELS
from bench.store import Store
from classifiers.nets import FAMILY as CLASSIFIER
from classifiers.train import train_classifiers

PROBE_EPOCHS = 2
PROBE_BATCHES = (2, 8, 32)  # probe training sets hold this many of the largest batch, grown while cheap and short
PROBE_CALLS = 20  # a sampler is timed at half and all of these network calls
PROBE_SECONDS = 10.0  # an evaluation probe times fewer tuples than a batch when a batch would take longer
STEADY_SECONDS = 1.0  # a training probe grows while some stage's steady epoch is shorter (and it took < PROBE_SECONDS)


@dataclass
class StageEstimate:
    """One stage of the plan: predicted seconds and peak memory (MB, as ``StageCost`` measures it)."""

    stage: str
    seconds: float
    peak_mb: float = math.nan
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Plan:
    device: str
    n_train: int
    n_test: int
    sizes: str  # where the sizes come from
    stages: list[StageEstimate]
    probe_seconds: float

    @property
    def total(self) -> float:
        """Seconds of every stage that could be predicted (a stage of unknown cost is NaN and left out)."""
        return sum(s.seconds for s in self.stages if not math.isnan(s.seconds))

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "total_seconds": self.total}

    def format(self) -> str:
        from tabulate import tabulate

        rows = [(s.stage, duration(s.seconds), "" if math.isnan(s.peak_mb) else f"{s.peak_mb:,.0f}", s.note)
                for s in self.stages]
        rows.append(("total", duration(self.total), "", ""))
        return (
            f"plan on {self.device}: {self.n_train:,} train / {self.n_test:,} test tuples ({self.sizes}); "
            f"probes took {self.probe_seconds:.0f} s\n"
            + tabulate(rows, headers=("stage", "predicted", "peak MB", "how"), disable_numparse=True)
        )


def duration(seconds: float) -> str:
    """``12 s``, ``4.2 min``, ``3.1 h`` or ``2.5 days`` (``unknown`` for NaN)."""
    if math.isnan(seconds):
        return "unknown"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def with_epochs(cfg: Any, epochs: int) -> Any:
    """``cfg`` with every ``epochs`` field, in it and in the dataclasses it nests, set to ``epochs``."""
    changes = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "epochs":
            changes[f.name] = epochs
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes[f.name] = with_epochs(value, epochs)
    return dataclasses.replace(cfg, **changes)


def largest_batch(cfg: Any) -> int:
    """The largest ``batch_size`` field in ``cfg`` and the dataclasses it nests (1 if none)."""
    sizes = [1]
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "batch_size":
            sizes.append(int(value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            sizes.append(largest_batch(value))
    return max(sizes)


def extrapolate(events: list[tuple[str, int, float]], start: float, planned: dict[str, int]) -> dict[str, float]:
    """Seconds per stage from epoch-end stamps ``(stage, steps so far in the stage, time)`` of a
    ``PROBE_EPOCHS``-epoch probe that began at ``start``: setup (first epoch minus a steady one, at least 0) plus
    seconds per step of the second epoch times ``planned[stage]`` steps."""
    out, previous = {}, start
    by_stage: dict[str, list[tuple[int, float, float]]] = {}
    for stage, steps, stamp in events:
        by_stage.setdefault(stage, []).append((steps, stamp, previous))
        previous = stamp
    for stage, stamps in by_stage.items():
        (s1, t1, began), (s2, t2, _) = stamps[0], stamps[1]
        per_step = (t2 - t1) / max(s2 - s1, 1)
        setup = max((t1 - began) - (t2 - t1), 0.0)
        out[stage] = setup + per_step * planned.get(stage, 0)
    return out


def probe_training(model, name: str, spec: DataSpec, train: MultimodalDataset, n_train: int, device):
    """(predicted seconds, peak MB, note) of training ``model`` (registered as ``name``, built with its run's config)
    on ``n_train`` tuples."""
    if ability(model, PlannedTraining) is None:
        return math.nan, math.nan, "unknown: the model has no planned_steps"
    planned = model.planned_steps(n_train)
    for batches in PROBE_BATCHES:
        subset = random_subset(train, batches * largest_batch(model.cfg), seed=0)
        began = time.perf_counter()
        events, start, peak_mb = fit_probe(name, spec, model.cfg, subset, device)
        missing = sorted(set(planned) - {stage for stage, _, _ in events})
        if missing:
            return math.nan, peak_mb, f"unknown: no epoch stamps for {', '.join(missing)}"
        if (shortest_epoch(events) >= STEADY_SECONDS or time.perf_counter() - began >= PROBE_SECONDS
                or len(subset) == len(train)):
            break  # else a steady epoch under a second times too few steps to trust, and a longer probe is cheap
    seconds = extrapolate(events, start, planned)
    steps = sum(planned.values())
    return sum(seconds.values()), peak_mb, f"{PROBE_EPOCHS} epochs on {len(subset)} tuples -> {steps:,} steps"


def fit_probe(name: str, spec: DataSpec, cfg, subset: MultimodalDataset, device):
    """(epoch-end stamps, start time, peak MB) of a ``PROBE_EPOCHS``-epoch fit of model ``name`` on ``subset``."""
    probe = MODELS.get(name)(spec, with_epochs(cfg, PROBE_EPOCHS))
    events: list[tuple[str, int, float]] = []
    monitor = TrainingMonitor(name, hook=lambda stage, epoch, steps, loss, seconds: events.append((stage, steps, time.perf_counter())))
    with StageCost(device) as cost:
        start = time.perf_counter()
        probe.fit(subset, seed=0, device=device, progress=False, monitor=monitor)
    return events, start, cost.peak_mb


def shortest_epoch(events: list[tuple[str, int, float]]) -> float:
    """The shortest second (steady) epoch of any stage, in seconds."""
    stamps: dict[str, list[float]] = {}
    for stage, _, stamp in events:
        stamps.setdefault(stage, []).append(stamp)
    return min(times[1] - times[0] for times in stamps.values())


def probe_classifiers(suite, scale, train: MultimodalDataset, n_train: int, device) -> tuple[float, float, str]:
    """(predicted seconds, peak MB, note) of the classifiers' training on ``n_train`` tuples: after a warm-up epoch,
    one and three epochs timed; their difference gives the seconds per epoch, the rest is setup."""
    clf = scale.classifier
    subset = random_subset(train, PROBE_BATCHES[1] * clf.batch_size, seed=0)
    fit = dict(networks=suite.networks, label_space=suite.label_space, seed=0, device=device)
    train_classifiers(subset.subset(slice(0, clf.batch_size)), dataclasses.replace(clf, epochs=1), **fit)  # warm-up
    seconds = {}
    with StageCost(device) as cost:
        for epochs in (1, 3):
            start = time.perf_counter()
            train_classifiers(subset, dataclasses.replace(clf, epochs=epochs), **fit)
            seconds[epochs] = time.perf_counter() - start
    per_epoch = (seconds[3] - seconds[1]) / 2
    per_step = per_epoch / math.ceil(len(subset) / clf.batch_size)
    steps = clf.epochs * math.ceil(n_train / clf.batch_size)
    return (max(seconds[1] - per_epoch, 0.0) + per_step * steps, cost.peak_mb,
            f"1 and 3 epochs on {len(subset)} tuples -> {steps:,} steps")


def probe_evaluation(model, spaces: dict, clfs: dict, test: MultimodalDataset, n_test: int, scale, device,
                     label_space: LabelSpace):
    """(predicted seconds, peak MB, note) of one evaluation (``bench.evaluation.evaluate_model``) on ``n_test``
    tuples with ``scale.n_joint`` joint samples. A model with a sampler (``network_calls_per_sample`` above
    ``PROBE_CALLS`` and ``with_sampler_steps``) is timed at ``PROBE_CALLS / 2`` and ``PROBE_CALLS`` network calls
    and extrapolated linearly to its own count."""
    modalities = tuple(model.modalities)
    n_subsets = 2 ** len(modalities) - 1
    n_joint = n_test if scale.n_joint is None else scale.n_joint

    context = LabelContext(modalities, clfs, dict(test.specs), torch.device(device), label_space)

    def consumers():
        return evaluation_consumers(context, spaces).all()  # what the run's evaluation reads its pass with

    def timed(probe) -> tuple[float, float, float, int, int]:
        """Seconds per test tuple and per joint sample, peak memory, and the tuples and samples timed: a batch of
        the run's size, or fewer tuples where a two-tuple warm-up says it would take over ``PROBE_SECONDS``."""
        generator = torch.Generator(device=device).manual_seed(0)
        start = time.perf_counter()
        generation_pass(probe, test.subset(slice(0, 2)), consumers(), batch_size=2, n_joint=2, generator=generator,
                        device=device)  # warm-up
        per_tuple = (time.perf_counter() - start) / 2
        tuples = max(2, min(scale.eval_batch_size, n_test, len(test), int(PROBE_SECONDS / per_tuple)))
        samples = min(n_joint, tuples * n_subsets)
        with StageCost(device) as cost:
            start = time.perf_counter()
            generation_pass(probe, test.subset(slice(0, tuples)), consumers(), batch_size=tuples, n_joint=1,
                            generator=generator, device=device)
            per_tuple = (time.perf_counter() - start) / tuples
            start = time.perf_counter()
            with torch.no_grad():
                drawn = probe.sample(samples, generator=generator)
                for consumer in consumers():
                    consumer.joint(drawn)
            per_sample = (time.perf_counter() - start) / samples
        return per_tuple, per_sample, cost.peak_mb, tuples, samples

    calls = model.network_calls_per_sample if ability(model, IterativeSampler) is not None else None
    if calls is not None and calls > PROBE_CALLS:
        low, high = PROBE_CALLS // 2, PROBE_CALLS
        (tuple_low, sample_low, *_), (tuple_high, sample_high, peak_mb, tuples, samples) = (
            timed(model.with_sampler_steps(low)), timed(model.with_sampler_steps(high)))
        def at_calls(at_low: float, at_high: float) -> float:
            return at_low + (at_high - at_low) * (calls - low) / (high - low)

        per_tuple, per_sample = at_calls(tuple_low, tuple_high), at_calls(sample_low, sample_high)
        sampler = f" at {low} and {high} network calls -> {calls}"
    else:
        per_tuple, per_sample, peak_mb, tuples, samples = timed(model)
        sampler = ""
    scoring = sum(probe_scoring(ex, n_test, device) for ex, _ in spaces.values())
    sets = int((~all_subsets(len(modalities))).sum()) + len(modalities)  # (S, t not in S) + unconditional
    seconds = n_test * per_tuple + n_joint * per_sample + sets * scoring
    return seconds, peak_mb, f"{tuples} tuples, {samples} joint samples{sampler}, 1 of {sets} feature sets per space"


def probes_estimate(eval_seconds: float, scale, n_modalities: int, n_test: int) -> float:
    """Seconds of the scores taken during one training (``bench.probes``), from the predicted evaluation's: each of
    the ``scale.probe`` points generates every modality from each single one and draws as many joint samples, for
    n tuples, n (M + 1) rows against the evaluation's n_test (2^M - 1) + n_joint."""
    n = min(scale.probe.tuples, n_test)
    n_joint = n_test if scale.n_joint is None else scale.n_joint
    share = n * (n_modalities + 1) / (n_test * (2**n_modalities - 1) + n_joint)
    return len(scale.probe.fractions) * share * eval_seconds


def probe_scoring(extractors: dict, n: int, device) -> float:
    """Seconds to score one generated feature set of ``n`` rows against ``n`` real ones (FD, precision/recall,
    density/coverage), on random features of the extractors' width."""
    dim = next(iter(extractors.values())).dim
    g = torch.Generator().manual_seed(0)
    real = RealFeatures(torch.randn(n, dim, generator=g).to(device))
    real.radii()  # computed once per space in a run
    generated = torch.randn(n, dim, generator=g).to(device)
    start = time.perf_counter()
    score(generated, real)
    return time.perf_counter() - start


def probe_real_features(spaces: dict, test: MultimodalDataset, n_test: int, device) -> float:
    """Seconds to extract every feature space's features of ``n_test`` test tuples: one batch of 256 timed and scaled,
    or, when that predicts under ``PROBE_SECONDS`` and the test set is all there, all of them timed."""
    def extract_all(batch_size: int) -> float:
        start = time.perf_counter()
        for x, _ in test.batches(batch_size, device=device):
            for extractors, _ in spaces.values():
                for m, ex in extractors.items():
                    extract(ex, x[m])
            if batch_size < len(test):
                break  # one batch
        return time.perf_counter() - start

    one = extract_all(min(256, len(test))) * n_test / min(256, len(test))
    return extract_all(len(test)) if one < PROBE_SECONDS and n_test == len(test) else one


def make_plan(cfg: RunConfig, *, progress: Callable[[str], None] = lambda _: None) -> Plan:
    """Probe every stage of the run ``cfg`` describes (module docstring) and return the predictions."""
    from bench.devices import resolve_device
    from bench.evaluation import evaluation_key
    from bench.model_stage import model_key
    from bench.prepare import classifier_key, feature_spaces, load_data, load_inception
    from bench.request import check_request

    began = time.perf_counter()
    suite, scale, names = check_request(cfg)
    device = resolve_device(cfg.device)
    store = Store(f"{cfg.out}/cache", fresh=cfg.fresh)
    start = time.perf_counter()
    train, test, manifest, data_key = load_data(suite, scale, cfg, store, save=False)
    data_seconds = time.perf_counter() - start
    n_train, n_test, sizes = len(train), len(test), manifest.get("source", "data")
    if cfg.scale == "paper" and cfg.data_root is None and suite.published_sizes is not None:
        n_train, n_test = suite.published_sizes
        sizes = f"the published {suite.title}; the embedded stand-in has {len(train):,} / {len(test):,}"
    stages = [StageEstimate("data", data_seconds, note="measured")]
    spec = suite.data_spec(train)

    def cached(stage: str, key: str) -> bool:
        return not cfg.fresh and store.path(stage, key).exists()

    clf_key = classifier_key(data_key, scale, suite)
    clfs = {m: suite.networks.build(CLASSIFIER, train.specs[m], n_classes=suite.label_space.logits).to(device).eval()
            for m in spec.modalities}
    if cached("classifiers", clf_key):
        stages.append(StageEstimate("classifiers", 0.0, note="cached"))
    else:
        progress("probing the classifiers")
        stages.append(StageEstimate("classifiers", *probe_classifiers(suite, scale, train, n_train, device)))
    inception, _ = load_inception(cfg, device)
    spaces = feature_spaces(clfs, clf_key, inception, spec)
    stages.append(StageEstimate("real features", probe_real_features(spaces, test, n_test, device),
                                note=f"1 batch x {', '.join(spaces)}"))

    seeds = cfg.seeds or scale.seeds
    for name in names:
        model = build_model(name, spec, cfg.scale, parse_overrides(cfg.overrides).get(name, ()))
        train_estimate = eval_estimate = None
        trainings = []  # this model's uncached trainings, which the probes during training add to
        for seed in seeds:
            key = model_key(model, name, data_key, seed, cfg, spec, scale.probe)
            if cached("models", key):
                stages.append(StageEstimate(f"{name} seed {seed}: training", 0.0, note="cached"))
            else:
                if train_estimate is None:
                    progress(f"probing {name}'s training")
                    train_estimate = probe_training(model, name, spec, train, n_train, device)
                trainings.append(len(stages))
                stages.append(StageEstimate(f"{name} seed {seed}: training", *train_estimate))
            if cached("evaluations", evaluation_key(key, clf_key, spaces, n_test, scale, seed, cfg)):
                stages.append(StageEstimate(f"{name} seed {seed}: evaluation", 0.0, note="cached"))
                continue
            if eval_estimate is None:
                progress(f"probing {name}'s evaluation")
                model.to(device).eval()
                eval_estimate = probe_evaluation(model, spaces, clfs, test, n_test, scale, device, suite.label_space)
            stages.append(StageEstimate(f"{name} seed {seed}: evaluation", *eval_estimate))
        if eval_estimate is not None:
            extra = probes_estimate(eval_estimate[0], scale, len(spec.modalities), n_test)
            for i in trainings:
                stages[i] = dataclasses.replace(stages[i], seconds=stages[i].seconds + extra,
                                                note=f"{stages[i].note}; + {extra:.0f} s of scores during training")
    return Plan(str(device), n_train, n_test, sizes, stages, time.perf_counter() - began)
