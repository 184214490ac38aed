"""The stages every (model, seed) job of a run shares, computed (or loaded from the cache) before any job starts:
the data, the classifiers, the Inception network when its weights are given, and the real test features of every
feature space (``Prepared``)."""

from __future__ import annotations

import dataclasses
import inspect
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.checkpoints import stage_checkpointer
from bench.config import RunConfig
from bench.data.cache import load_dataset, manifest_path, save_dataset
from bench.data.dataset import MultimodalDataset, dataset_sha256
from bench.devices import resolve_device
from bench.errors import BenchError
from bench.interface import DataSpec
from bench.logs import LOG
from bench.measure import measured
from bench.metrics.features import ClassifierFeatures, FeatureExtractor, InceptionFeatures, find_inception_weights
from bench.metrics.quality import RealFeatures, real_features
from bench.request import check_request, model_names
from bench.store import CacheWarning, Store, stable_hash, sweep_orphans, writable_folder
from classifiers.nets import FAMILY as CLASSIFIER
from classifiers.train import CLASSIFIER_VERSION, classifier_accuracy, train_classifiers


CLASSIFIER_SEED = 0


def load_data(
    suite, scale, cfg: RunConfig, store: Store, *, save: bool = True
) -> tuple[MultimodalDataset, MultimodalDataset, dict, str]:
    """Train/test splits of this scale and a key naming their content. The embedded default is built once and
    cached (unless ``save`` is False); user data is read from ``--data-root`` on every run (the files are the
    cache)."""
    if cfg.download and cfg.data_root is None:
        raise BenchError("--download needs --data-root (the folder to download into)", "add --data-root DIR")
    if cfg.data_root is not None and not cfg.download and not Path(cfg.data_root).expanduser().is_dir():
        what = "is a file, not a folder" if Path(cfg.data_root).expanduser().exists() else "does not exist"
        raise BenchError(f"--data-root {cfg.data_root} {what}",
                         "pass the folder that holds the suite's files (see --list for each suite's layout), "
                         "or leave --data-root out for the embedded data")
    source = "embedded" if cfg.data_root is None else str(Path(cfg.data_root).expanduser().resolve())
    data_key = stable_hash("data", suite.name, source, *suite.data_params)
    folder = store.root / "data" / data_key
    cached = None
    if cfg.data_root is None and not store.fresh and manifest_path(folder / "test.pt").exists():
        try:
            cached = cached_data(folder)
        except BenchError as err:
            warnings.warn(f"cached data {folder} is damaged and will be rebuilt: {err}", CacheWarning, 2)
    if cached is not None:
        train, test, manifest = cached
    else:
        # a suite written before ``derived`` existed derives nothing, so it is not passed one
        takes_derived = "derived" in inspect.signature(suite.load_data).parameters
        extra = {"derived": store.root / "derived"} if takes_derived else {}
        train, test, manifest = suite.load_data(cfg.data_root, download=cfg.download, **extra)
        if cfg.data_root is None and save:
            save_dataset(train, folder / "train.pt", manifest)
            save_dataset(test, folder / "test.pt", manifest)
    train = suite.shrink(train, scale.n_train, seed=suite.data_seed)
    test = suite.shrink(test, scale.n_test, seed=suite.data_seed + 1)
    # the content hashes make a changed data folder retrain everything downstream
    key = stable_hash(data_key, manifest["train_sha256"], manifest["test_sha256"], scale.n_train, scale.n_test)
    return train, test, {**manifest, "n_train_used": len(train), "n_test_used": len(test), "key": key}, key


def cached_data(folder: Path) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
    """(train, test, manifest) of the cached embedded data, or a ``BenchError`` unless both splits match the SHA-256
    their manifest records: data that fails its check is never returned."""
    train, train_manifest = load_dataset(folder / "train.pt")
    test, manifest = load_dataset(folder / "test.pt")
    for split, ds, recorded in (("train", train, train_manifest), ("test", test, manifest)):
        expected = recorded.get(f"{split}_sha256")
        if expected is None:
            raise BenchError(f"the manifest of the {split} split records no {split}_sha256", "it is rebuilt")
        if dataset_sha256(ds) != expected:
            raise BenchError(f"the {split} split does not match its manifest's SHA-256", "it is rebuilt")
    return train, test, manifest


def load_classifiers(suite, train, test, scale, data_key: str, store: Store, device, cfg: RunConfig):
    """Per-modality classifiers (the suite's ``"classifier"`` networks): trained once per (data, config) and
    cached; test accuracy recorded."""
    key = classifier_key(data_key, scale, suite)

    def fit() -> tuple[dict, dict]:
        clfs, record = train_classifiers(train, scale.classifier, networks=suite.networks,
                                         label_space=suite.label_space,
                                         seed=CLASSIFIER_SEED, device=device, progress=cfg.progress,
                                         checkpoint=stage_checkpointer(store.root, "classifiers", key,
                                                                       every_minutes=cfg.checkpoint_minutes,
                                                                       keep=cfg.keep_checkpoints))
        record = {
            **record,
            "config": dataclasses.asdict(scale.classifier),
            "seed": CLASSIFIER_SEED,
            "test_accuracy": classifier_accuracy(clfs, test, suite.label_space),
        }
        return {m: c.state_dict() for m, c in clfs.items()}, record

    states, record = store.cached_torch("classifiers", key, measured(fit, device), label="classifiers")
    clfs = {}
    for m, state in states.items():
        clf = suite.networks.build(CLASSIFIER, train.specs[m], n_classes=suite.label_space.logits)
        clf.load_state_dict(state)
        clfs[m] = clf.to(device).eval()
    return clfs, {**record, "key": key}


def classifier_key(data_key: str, scale, suite) -> str:
    """The cache key of the classifiers of this data and scale, built from the suite's networks."""
    return stable_hash("classifiers", data_key, scale.classifier, CLASSIFIER_SEED, CLASSIFIER_VERSION,
                       suite.networks.version, suite.label_space.key)


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
    channels) when loaded. Other kinds (text) have no quality metric (MoPoE scores quality on images only); a space
    with no modality to score is left out."""
    images = [m for m in spec.modalities if spec.kind(m) == "image"]
    spaces = {"clf": ({m: ClassifierFeatures(clfs[m]) for m in images}, clf_key)}
    if inception is not None:
        net, key = inception
        spaces["inception"] = ({m: net for m in images if spec.shapes[m][0] in (1, 3)}, key)
    return {name: space for name, space in spaces.items() if space[0]}  # a suite without images has none


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


def prepare(cfg: RunConfig, given: tuple[str, ...] = ()) -> Prepared:
    """Check the request (``given``: see ``check_request``), then the shared stages: Inception weights (first, so a
    bad file fails at once), data, classifiers, real test features per feature space."""
    suite, scale, _ = check_request(cfg, given)
    writable_folder(cfg.out)
    device = resolve_device(cfg.device)
    store = Store(Path(cfg.out) / "cache", fresh=cfg.fresh)
    if swept := sweep_orphans(cfg.out):
        LOG.info("removed %d temporary file(s) of writes a killed run left unfinished", swept)
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
