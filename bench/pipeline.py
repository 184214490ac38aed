"""The stages of one suite run, top to bottom: data, classifiers, real features (``prepare``); per (model, seed)
training and one generation pass scored for coherence and quality (``run_one``, run by an executor); tables, plots
and report (``bench.outputs``)."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.checkpoints import Checkpointer
from bench.config import RunConfig
from bench.data.cache import load_dataset, manifest_path, save_dataset
from bench.data.dataset import MultimodalDataset, dataset_sha256
from bench.devices import resolve_device
from bench.errors import BenchError
from bench.interface import DataSpec, StageCache, build_model, generate_subsets, model_config
from bench.metrics.coherence import CoherenceCounter
from bench.metrics.features import ClassifierFeatures, FeatureExtractor, InceptionFeatures, find_inception_weights
from bench.metrics.generation import generation_pass
from bench.metrics.quality import FeatureCollector, RealFeatures, real_features
from bench.metrics.registry import metrics_identity
from bench.executors import EXECUTORS, Work
from bench.exports import check_export, export_model, read_export, resolve_export
from bench.health import Diverged, TrainingMonitor
from bench.logs import LOG, configure
from bench.measure import StageCost
from bench.overrides import parse_overrides
from bench.outputs import write_outputs
from bench.plots import save_sample_grid
from bench.plugins import load_plugins
from bench.presets import suite_models
from bench.registry import MODELS, SUITES
from bench.store import CacheWarning, Store, provenance, save_json, stable_hash, writable_folder
from bench.versions import code_version
from classifiers.nets import FAMILY as CLASSIFIER
from classifiers.train import CLASSIFIER_VERSION, classifier_accuracy, train_classifiers


class TrainingWarning(UserWarning):
    """A model's training failed (diverged); the run goes on with the other models."""


CLASSIFIER_SEED = 0
EVALUATION_VERSION = 4  # in the evaluation key: raise it with any change that can alter a metric (bench.versions)


def load_data(
    suite, scale, cfg: RunConfig, store: Store, *, save: bool = True
) -> tuple[MultimodalDataset, MultimodalDataset, dict, str]:
    """Train/test splits of this scale and a key naming their content. The embedded default is built once and
    cached (unless ``save`` is False); user data is read from ``--data-root`` on every run (the files are the
    cache)."""
    if cfg.download and cfg.data_root is None:
        raise BenchError("--download needs --data-root (the folder to download into)", "add --data-root DIR")
    source = "embedded" if cfg.data_root is None else str(Path(cfg.data_root).expanduser().resolve())
    data_key = stable_hash("data", suite.name, source, *suite.data_params)
    folder = store.root / "data" / data_key
    cached = None
    if cfg.data_root is None and not store.fresh and manifest_path(folder / "test.pt").exists():
        try:
            cached = load_dataset(folder / "train.pt")[0], *load_dataset(folder / "test.pt")
            for split, ds in (("train", cached[0]), ("test", cached[1])):
                if dataset_sha256(ds) != cached[2][f"{split}_sha256"]:
                    raise BenchError(f"the {split} split does not match its manifest's SHA-256", "it is rebuilt")
        except BenchError as err:
            warnings.warn(f"cached data {folder} is damaged and will be rebuilt: {err}", CacheWarning, 2)
    if cached is not None:
        train, test, manifest = cached
    else:
        train, test, manifest = suite.load_data(cfg.data_root, download=cfg.download)
        if cfg.data_root is None and save:
            save_dataset(train, folder / "train.pt", manifest)
            save_dataset(test, folder / "test.pt", manifest)
    train = suite.shrink(train, scale.n_train, seed=suite.data_seed)
    test = suite.shrink(test, scale.n_test, seed=suite.data_seed + 1)
    # the content hashes make a changed data folder retrain everything downstream
    key = stable_hash(data_key, manifest["train_sha256"], manifest["test_sha256"], scale.n_train, scale.n_test)
    return train, test, {**manifest, "n_train_used": len(train), "n_test_used": len(test), "key": key}, key


def measured(compute, device):
    """``compute`` (-> (payload, record)) with its wall time and peak memory (``StageCost``) and provenance added to
    the record: what every stage's record carries."""

    def run() -> tuple:
        with StageCost(device) as cost:
            payload, record = compute()
        return payload, {**record, "cost": cost.to_dict(), "provenance": provenance(device)}

    return run


def load_classifiers(suite, train, test, scale, data_key: str, store: Store, device, cfg: RunConfig):
    """Per-modality classifiers (the suite's ``"classifier"`` networks): trained once per (data, config) and
    cached; test accuracy recorded."""
    key = classifier_key(data_key, scale, suite)

    def fit() -> tuple[dict, dict]:
        clfs, record = train_classifiers(train, scale.classifier, networks=suite.networks, n_classes=suite.n_classes,
                                         seed=CLASSIFIER_SEED, device=device, progress=cfg.progress,
                                         checkpoint=checkpointer(store, "classifiers", key, cfg))
        record = {
            **record,
            "config": dataclasses.asdict(scale.classifier),
            "seed": CLASSIFIER_SEED,
            "test_accuracy": classifier_accuracy(clfs, test),
        }
        return {m: c.state_dict() for m, c in clfs.items()}, record

    states, record = store.cached_torch("classifiers", key, measured(fit, device), label="classifiers")
    clfs = {}
    for m, state in states.items():
        clf = suite.networks.build(CLASSIFIER, train.specs[m], n_classes=suite.n_classes)
        clf.load_state_dict(state)
        clfs[m] = clf.to(device).eval()
    return clfs, {**record, "key": key}


def classifier_key(data_key: str, scale, suite) -> str:
    """The cache key of the classifiers of this data and scale, built from the suite's networks."""
    return stable_hash("classifiers", data_key, scale.classifier, CLASSIFIER_SEED, CLASSIFIER_VERSION,
                       suite.networks.version, suite.n_classes)


def load_inception(cfg: RunConfig, device) -> tuple[tuple[InceptionFeatures, str] | None, str | None]:
    """(the FID Inception network, its identity key) if a weights file is found (``find_inception_weights``),
    else (None, the reason FID is unavailable). Never an untrained network; a corrupt or mismatched file is a
    ``BenchError``. Called before any other stage, so a bad file fails the run at once."""
    path, reason = find_inception_weights(cfg.inception_weights)
    if path is None:
        return None, reason
    net = InceptionFeatures(path, device=device)
    return (net, stable_hash("inception", str(path.resolve()), path.stat().st_size)), None


def feature_spaces(
    clfs: dict, clf_key: str, inception: tuple[InceptionFeatures, str] | None, spec: DataSpec
) -> dict[str, tuple[dict[str, FeatureExtractor], str]]:
    """name -> (extractor per image modality, identity key) for each feature space quality is scored in: the
    classifiers' penultimate features ("clf", always) and Inception pool3 ("inception", FID, images of 1 or 3
    channels) when loaded. Other kinds (text) have no quality metric (MoPoE scores quality on images only)."""
    images = [m for m in spec.modalities if spec.kind(m) == "image"]
    spaces = {"clf": ({m: ClassifierFeatures(clfs[m]) for m in images}, clf_key)}
    if inception is not None:
        net, key = inception
        spaces["inception"] = ({m: net for m in images if spec.shapes[m][0] in (1, 3)}, key)
    return spaces


def load_real_features(test, data_key: str, name: str, space, store: Store, device) -> tuple[dict, float]:
    """Features of the real test images per modality in one feature space, computed once and cached; and the
    seconds spent (0 on a cache hit)."""
    extractors, identity = space
    key = stable_hash("features", data_key, name, identity)
    start = time.perf_counter()

    def compute() -> tuple[dict, dict]:
        feats = {m: real_features(test, m, extractor, device).cpu() for m, extractor in extractors.items()}
        return feats, {"extractor": name, "n": len(test), "dims": {m: f.shape[1] for m, f in feats.items()}}

    feats, _ = store.cached_torch("features", key, measured(compute, device), label=f"real test features ({name})")
    return {m: RealFeatures(f.to(device)) for m, f in feats.items()}, time.perf_counter() - start


def train_model(name: str, spec: DataSpec, cfg: RunConfig, seed: int, train, data_key: str, store: Store, device):
    """Fit model ``name`` with ``seed`` (or load its cached weights, or its ``--checkpoint``) and return it in eval
    mode on ``device``, with its record (training record, config, measured cost, provenance) and whether it came
    from the cache. With ``--export`` the weights are exported too (``bench.exports``)."""
    model = build_model(name, spec, cfg.scale, parse_overrides(cfg.overrides).get(name, ()))
    checkpoint = checkpoint_paths(cfg).get(name)
    if checkpoint is not None:
        return load_checkpoint(model, name, seed, checkpoint, data_key, device)
    model_cfg = model.cfg
    key = model_key(model, name, data_key, seed, cfg, spec)
    stage_cache = model_stage_cache(store, data_key, cfg, device, spec)

    def fit() -> tuple[dict, dict]:
        checkpoint = checkpointer(store, "models", key, cfg)
        try:
            with autocast(cfg, device):
                record = model.fit(train, seed=seed, device=device, progress=cfg.progress, cache=stage_cache,
                                   monitor=TrainingMonitor(name), checkpoint=checkpoint)
        except Diverged:  # a diverged training is not resumed: its checkpoints (and its sub-stages') go
            for path in checkpoint.path.parent.glob(f"{checkpoint.path.stem}*.ckpt"):
                path.unlink(missing_ok=True)
            raise
        return model.state_dict(), {"train": dataclasses.asdict(record), "config": dataclasses.asdict(model_cfg),
                                    "seed": seed, "amp": cfg.amp}

    state, record = store.cached_torch("models", key, measured(fit, device), label=f"{name} seed {seed}: training")
    check_finite(name, record["train"])  # models that do not report to the monitor
    model.load_state_dict(state)  # a cache hit; after a fresh fit this reloads the same weights
    model.to(device).eval()
    if cfg.export:
        path = export_model(model, name, seed, cfg.export, spec=spec, data_key=data_key, extra={
            "suite": spec.suite, "scale": cfg.scale, "amp": cfg.amp, "train": record["train"],
            "training_provenance": record["provenance"]})
        LOG.info("%s seed %d: exported to %s", name, seed, path)
    return model, {**record, "key": key, "stage": "cached" if ("models", key) in store.hits else "computed"}


def load_checkpoint(model, name: str, seed: int, path: str, data_key: str, device) -> tuple[object, dict]:
    """``model`` with the exported weights of ``--checkpoint name=path`` (checked: same model, config, code version,
    data and seed), in eval mode on ``device``, and its record. Its evaluations are keyed by the weights' SHA-256."""
    weights = resolve_export(name, path, seed)
    meta, state = read_export(weights)
    check_export(meta, name, model, data_key=data_key)
    if meta["seed"] != seed:
        raise BenchError(f"the {name} checkpoint {weights} was trained with seed {meta['seed']}, this job is seed {seed}",
                         f"run with --seeds {meta['seed']}, or pass the export folder that holds every seed")
    model.load_state_dict(state)
    model.to(device).eval()
    LOG.info("%s seed %d: weights from %s (no training)", name, seed, weights)
    key = stable_hash("checkpoint", name, meta["weights_sha256"], data_key)
    return model, {"train": meta["train"], "config": meta["config"], "seed": seed, "amp": meta.get("amp", "none"),
                   "checkpoint": str(weights), "provenance": meta.get("training_provenance", {}), "key": key,
                   "stage": "checkpoint"}


def model_key(model, name: str, data_key: str, seed: int, cfg: RunConfig, spec: DataSpec) -> str:
    """The trained model's cache key: its name, data, config, seed, precision, code version
    (``bench.versions.code_version``) and the suite's networks version."""
    return stable_hash("model", name, data_key, model.cfg, seed, *amp_key(cfg), code_version(type(model)),
                       *networks_key(spec))


def networks_key(spec: DataSpec) -> tuple:
    """Key parts for the suite's networks a model is built from (none for a spec without networks)."""
    return () if spec.networks is None else ("networks", spec.networks.suite, spec.networks.version)


def checkpointer(store: Store, stage: str, key: str, cfg: RunConfig) -> Checkpointer:
    """The resumable-training file of a stage, ``<cache>/checkpoints/<stage>-<key>.ckpt``, saved every
    ``--checkpoint-every`` minutes and removed when the stage completes (kept with ``--keep-checkpoints``)."""
    return Checkpointer(store.root / "checkpoints" / f"{stage}-{key}.ckpt", every_seconds=60 * cfg.checkpoint_minutes,
                        keep=cfg.keep_checkpoints)


def model_stage_cache(store: Store, data_key: str, cfg: RunConfig, device, spec: DataSpec) -> StageCache:
    """The ``cache`` handed to ``fit``: a model's own stage (e.g. MLD's autoencoders) stored under a key of the
    stage's parts, the data, the suite's networks and the precision."""

    def stage_cache(stage: str, parts: tuple, compute):
        key = stable_hash(stage, data_key, *parts, *networks_key(spec), *amp_key(cfg))
        return store.cached_torch(stage, key, measured(compute, device), label=stage)

    return stage_cache


def amp_key(cfg: RunConfig) -> tuple:
    """Extra key parts for mixed precision (none at full precision, so full-precision keys stay as they were)."""
    return () if cfg.amp == "none" else ("amp", cfg.amp)


def autocast(cfg: RunConfig, device: torch.device):
    """``torch.autocast`` to bfloat16 on ``device`` with ``--amp bf16``; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.amp == "bf16")


class MixedPrecisionModel:
    """Runs a model's ``generate``/``generate_subsets``/``sample`` under ``autocast`` and hands back float32 images, so that metrics
    (classifiers, features, distances) always run at full precision."""

    def __init__(self, model, cfg: RunConfig, device: torch.device) -> None:
        self.model, self.cfg, self.device = model, cfg, device
        self.modalities = model.modalities

    def generate(self, x, observed, *, generator=None):
        with autocast(self.cfg, self.device):
            out = self.model.generate(x, observed, generator=generator)
        return {m: v.float() for m, v in out.items()}

    def generate_subsets(self, x, subsets, targets, *, generator=None):
        with autocast(self.cfg, self.device):
            out = generate_subsets(self.model, x, subsets, targets, generator=generator)
        return {m: v.float() for m, v in out.items()}

    def sample(self, n, *, generator=None):
        with autocast(self.cfg, self.device):
            out = self.model.sample(n, generator=generator)
        return {m: v.float() for m, v in out.items()}


@dataclass
class Prepared:
    """What every (model, seed) job of a run shares: data, classifiers and real features (all cached stages)."""

    cfg: RunConfig
    suite: object
    scale: object
    spec: DataSpec
    train: MultimodalDataset
    test: MultimodalDataset
    manifest: dict
    data_key: str
    clfs: dict
    clf_record: dict
    spaces: dict
    real: dict
    unavailable: dict[str, str]
    device: torch.device
    store: Store
    out: Path
    timings: dict[str, float]

    @property
    def jobs(self) -> list[tuple[str, int]]:
        """(model, seed) pairs of this run, in table order."""
        names = model_names(self.cfg, self.suite)
        return [(name, seed) for name in names for seed in (self.cfg.seeds or self.scale.seeds)]


def model_names(cfg: RunConfig, suite) -> tuple[str, ...]:
    """The models a run trains: ``--models`` (``all``: every model with a preset on the suite), else those of them
    tagged with this scale (``bench.registry.register_model``), or all of them at a scale the suite lists in
    ``every_model_at``."""
    if cfg.models == ("all",) or (not cfg.models and cfg.scale in suite.every_model_at):
        return suite_models(suite.name)
    return tuple(cfg.models) if cfg.models else suite_models(suite.name, cfg.scale)


def checkpoint_paths(cfg: RunConfig) -> dict[str, str]:
    """``--checkpoint NAME=PATH`` as {name: path}, or a clear error for a malformed one."""
    paths = {}
    for item in cfg.checkpoints:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BenchError(f"--checkpoint {item!r} is not NAME=PATH", "e.g. --checkpoint mopoe=exports/mopoe-seed0.safetensors")
        paths[name.strip()] = path.strip()
    return paths


def check_request(cfg: RunConfig, given: tuple[str, ...] = ()) -> tuple[object, object, tuple[str, ...]]:
    """(suite, scale, model names) of the request, or a clear error for an unknown suite, scale, model, a bad
    ``--set`` or ``--checkpoint``, before any work. Loads the plug-ins first (``bench.plugins``). ``given`` names
    models handed over as objects (``bench.evaluate``), which need no registration."""
    load_plugins(cfg.include)
    suite = SUITES.get(cfg.suite)()
    if cfg.scale not in suite.scales:
        raise BenchError(f"suite {suite.name} has no scale {cfg.scale!r}", f"choose one of: {', '.join(suite.scales)}")
    scale = suite.scales[cfg.scale]
    names = model_names(cfg, suite)
    if not names:
        raise BenchError(f"no model with a preset on suite {suite.name} is tagged for scale {cfg.scale}",
                         "name models with --models")
    for name in names:
        if name not in given:
            MODELS.get(name)  # fail before any work on a typo
    overrides = parse_overrides(cfg.overrides)
    for name in overrides:
        if name not in names:
            raise BenchError(f"--set names {name}, which this run does not train", f"add {name} to --models")
    for name in names:  # a model without a preset on the suite, or a bad --set, fails here, before any work
        if name not in given:
            model_config(name, suite.name, cfg.scale, overrides.get(name, ()))
    for name, path in checkpoint_paths(cfg).items():
        if name not in names:
            raise BenchError(f"--checkpoint names {name}, which this run does not score", f"add {name} to --models")
        if not Path(path).expanduser().exists():
            raise BenchError(f"--checkpoint {name}={path}: no such file or folder", "give the path --export wrote")
    return suite, scale, names


def prepare(cfg: RunConfig, given: tuple[str, ...] = ()) -> Prepared:
    """Check the request (``given``: see ``check_request``), then the shared stages: Inception weights (first, so a
    bad file fails at once), data, classifiers, real test features per feature space."""
    suite, scale, _ = check_request(cfg, given)
    writable_folder(cfg.out)
    device = resolve_device(cfg.device)
    store = Store(Path(cfg.out) / "cache", fresh=cfg.fresh)
    timings: dict[str, float] = {}
    inception, fid_unavailable = load_inception(cfg, device)
    unavailable = {} if fid_unavailable is None else {"inception": fid_unavailable}

    start = time.perf_counter()
    LOG.info("data: loading")
    train, test, manifest, data_key = load_data(suite, scale, cfg, store)
    timings["data"] = time.perf_counter() - start
    LOG.info("data [%s]: %d train / %d test tuples in %.1f s (%s)", data_key, len(train), len(test), timings["data"],
             manifest["source"])
    spec = suite.data_spec(train)

    start = time.perf_counter()
    clfs, clf_record = load_classifiers(suite, train, test, scale, data_key, store, device, cfg)
    timings["classifiers"] = time.perf_counter() - start

    spaces = feature_spaces(clfs, clf_record["key"], inception, spec)
    real = {}
    for space_name, space in spaces.items():
        real[space_name], timings[f"real features ({space_name})"] = load_real_features(
            test, data_key, space_name, space, store, device
        )
    return Prepared(
        cfg, suite, scale, spec, train, test, manifest, data_key, clfs, clf_record, spaces, real, unavailable,
        device, store, Path(cfg.out) / suite.name, timings,
    )


def evaluation_key(model_key: str, clf_key: str, spaces: dict, n_test: int, scale, seed: int, cfg: RunConfig) -> str:
    """The cache key of one evaluation: the model, the classifiers, the feature spaces, the settings and the
    registered quality metrics (``bench.metrics.registry``)."""
    identities = {space: identity for space, (_, identity) in spaces.items()}
    return stable_hash("evaluation", EVALUATION_VERSION, model_key, clf_key, identities, n_test, scale.n_joint,
                       scale.eval_batch_size, seed, *amp_key(cfg), metrics_identity())


def evaluate_model(prep: Prepared, name: str, seed: int, model, model_key: str) -> tuple[dict, bool]:
    """Coherence and quality of one trained model from one generation pass, cached as a stage keyed by the model,
    the classifiers, the feature spaces and the evaluation settings. Returns (results, whether from the cache)."""
    cfg, scale, device = prep.cfg, prep.scale, prep.device
    key = evaluation_key(model_key, prep.clf_record["key"], prep.spaces, len(prep.test), scale, seed, cfg)

    def compute() -> tuple[dict, dict]:
        generator = torch.Generator(device=device).manual_seed(seed)
        counter = CoherenceCounter(prep.spec.modalities, prep.clfs, device, specs=prep.spec.specs)
        collectors = {space: FeatureCollector(prep.spec.modalities, ex) for space, (ex, _) in prep.spaces.items()}
        n_joint = generation_pass(
            MixedPrecisionModel(model, cfg, device) if cfg.amp != "none" else model,
            prep.test,
            [counter, *collectors.values()],
            batch_size=scale.eval_batch_size,
            n_joint=scale.n_joint,
            generator=generator,
            device=device,
            progress=cfg.progress,
        )
        coherence = counter.result(len(prep.test), n_joint)
        quality = {space: c.result(space, prep.real[space]) for space, c in collectors.items()}
        results = {
            "metrics": {
                "joint": coherence.joint,
                **{f"joint_{k}": v for k, v in coherence.joint_spread().items()},
                "self": coherence.self_reconstruction(),
                **{f"k{k}": v for k, v in coherence.by_size().items()},
                **{f"coh_{name}": v for name, v in coherence.directions().items()},
                **{k: v for q in quality.values() for k, v in q.metrics().items()},
            },
            "counts": {"n_test": len(prep.test), "n_joint": n_joint, "n_classes": int(coherence.joint_classes.shape[1])},
            "coherence": coherence.to_dict(),
            "quality": {space: q.to_dict() for space, q in quality.items()},
        }
        return {}, results  # the results are the record; the payload is empty

    _, results = prep.store.cached_torch("evaluations", key, measured(compute, device),
                                         label=f"{name} seed {seed}: evaluation")
    return {**results, "key": key}, ("evaluations", key) in prep.store.hits


def run_one(prep: Prepared, name: str, seed: int) -> dict:
    """Train (or load) model ``name`` with ``seed``, evaluate it (or load the evaluation), draw its sample grid, and
    write its record to ``<out>/<suite>/runs/<scale>/<name>-seed<seed>.json``; return the record. A training that
    diverged (``bench.health``) is not evaluated: its record has ``status: "diverged"``, the failure and the loss
    curves, and no metrics."""
    cfg, device = prep.cfg, prep.device
    path = prep.out / "runs" / cfg.scale / f"{name}-seed{seed}.json"
    try:
        model, model_record = train_model(name, prep.spec, cfg, seed, prep.train, prep.data_key, prep.store, device)
    except Diverged as err:
        warnings.warn(f"{err} -- its row will read 'diverged'; the other models still run", TrainingWarning, 2)
        record = {"suite": prep.suite.name, "scale": cfg.scale, "model": name, "seed": seed, "status": "diverged",
                  "failure": err.to_dict(), "curves": err.curves, "metrics": {}, "provenance": provenance(device)}
        save_json(record, path)
        return record
    return score(prep, name, seed, model, model_record)


def score(prep: Prepared, name: str, seed: int, model, model_record: dict) -> dict:
    """Evaluate a trained ``model`` (or load its evaluation), draw its sample grid, and write its record to
    ``<out>/<suite>/runs/<scale>/<name>-seed<seed>.json``; return the record. ``model_record`` says where the
    weights came from: its ``key`` (which keys the evaluation), ``train`` record, ``provenance`` and ``stage``
    ("computed", "cached", "checkpoint" or "given")."""
    cfg, device = prep.cfg, prep.device
    path = prep.out / "runs" / cfg.scale / f"{name}-seed{seed}.json"
    evaluation, eval_cached = evaluate_model(prep, name, seed, model, model_record["key"])
    grid = prep.out / "samples" / f"{name}-{cfg.scale}-seed{seed}.png"
    if not (eval_cached and grid.exists()):
        save_sample_grid(model, prep.test, grid, rows=prep.scale.grid_rows, seed=seed)
    train_cost, eval_cost = model_record.get("cost", {}), evaluation["cost"]
    record = {
        "suite": prep.suite.name,
        "scale": cfg.scale,
        "model": name,
        "seed": seed,
        "status": "ok",
        "metrics": evaluation["metrics"],
        "counts": evaluation["counts"],
        "curves": model_record["train"].get("curves") or {name: model_record["train"]["losses"]},
        "coherence": evaluation["coherence"],
        "quality": evaluation["quality"],
        "quality_unavailable": prep.unavailable,
        "efficiency": {
            "parameters": sum(p.numel() for p in getattr(model, "parameters", tuple)()),
            "train_seconds": model_record["train"]["seconds"],
            "train_peak_memory_mb": train_cost.get("peak_memory_mb"),
            "train_added_memory_mb": added_memory(train_cost),
            "network_calls_per_sample": getattr(model, "network_calls_per_sample", 1),
            "evaluate_seconds": eval_cost["seconds"],
            "evaluate_peak_memory_mb": eval_cost["peak_memory_mb"],
            "evaluate_added_memory_mb": added_memory(eval_cost),
            "memory": eval_cost["memory"],
        },
        "stages": {"model": model_record["stage"], "evaluation": "cached" if eval_cached else "computed"},
        "model_record": model_record,
        "evaluation_key": evaluation["key"],
        "classifiers": {"key": prep.clf_record["key"], "test_accuracy": prep.clf_record["test_accuracy"]},
        "data": prep.manifest,
        "amp": cfg.amp,
        "overrides": [o for o in cfg.overrides if o.split(".", 1)[0].strip() == name],  # --set, in the config above
        "provenance": provenance(device),  # of this record's writing; each number's own below
        "metrics_provenance": evaluation["provenance"],  # the evaluation stage that computed "metrics"
        "training_provenance": model_record["provenance"],  # the training stage that produced the weights
        "from_cache": eval_cached and model_record["stage"] == "cached",
    }
    save_json(record, path)
    return record


def added_memory(cost: dict) -> float | None:
    """Peak minus start memory of a measured stage (``StageCost``): what the stage itself needed."""
    if cost.get("peak_memory_mb") is None or cost.get("start_memory_mb") is None:
        return None
    return cost["peak_memory_mb"] - cost["start_memory_mb"]


def job(cfg: RunConfig, name: str, seed: int) -> dict:
    """One (model, seed) as a self-contained job (a Slurm or subprocess worker): the shared stages are read from
    the cache the submitting process filled (also under ``--fresh``, which the submitting process has applied to
    them), then ``run_one``."""
    configure(cfg.out, cfg.verbosity)  # this job's stage lines join the run's log
    prep = prepare(dataclasses.replace(cfg, fresh=False))
    prep.store.fresh = cfg.fresh
    return run_one(prep, name, seed)


def check_finite(name: str, train: dict) -> None:
    """``Diverged`` if a training record holds a non-finite epoch loss (for models that do not report to a monitor)."""
    curves = train.get("curves") or {name: train.get("losses", [])}
    for stage, curve in curves.items():
        bad = next((i for i, v in enumerate(curve) if not math.isfinite(v)), None)
        if bad is not None:
            raise Diverged(name, stage, bad, curve[bad], curves)


@dataclass
class RunOutcome:
    """What ``run`` returns: the text report printed at the end, one line per (model, seed) that failed (their rows
    read "diverged"; the tables are written all the same), and the results file's content (``bench.results``)."""

    report: str
    failures: list[str]
    results: dict


def run(cfg: RunConfig) -> RunOutcome:
    """Run every stage for ``cfg``, write tables, plots, report and results file to disk, and return them."""
    prep = prepare(cfg)
    work = Work(prep.jobs, functools.partial(run_one, prep), job, prep.out / "jobs")
    records = EXECUTORS.get(cfg.executor)(cfg, work)
    computed = [r for r in records if r.get("from_cache") is False]
    LOG.info("%d of %d (model, seed) results computed in this run, %d served from the cache", len(computed),
             len(records), sum(bool(r.get("from_cache")) for r in records))
    failures = [
        f"{r['model']} seed {r['seed']}: {r['failure']['message']}" for r in records if r.get("status", "ok") != "ok"
    ]
    report, results = write_outputs(prep, records)
    return RunOutcome(report, failures, results)
