"""The stages of one suite run, top to bottom: data, classifiers, real features, models, one generation pass scored
for coherence and quality, tables."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

import baselines  # noqa: F401  (registers the models)
import bench.suites  # noqa: F401  (registers the suites)
import mld  # noqa: F401  (registers the models)
from bench.data.dataset import MultimodalDataset
from bench.data.files import load_dataset, manifest_path, save_dataset
from bench.devices import resolve_device
from bench.errors import BenchError
from bench.interface import DataSpec, build_model
from bench.metrics.coherence import CoherenceCounter, generation_pass
from bench.metrics.features import ClassifierFeatures, FeatureExtractor, InceptionFeatures, find_inception_weights
from bench.metrics.quality import FeatureCollector, RealFeatures, real_features
from bench.plots import save_sample_grid
from bench.registry import MODELS, SUITES
from bench.run import RunConfig
from bench.store import Store, provenance, save_json, stable_hash
from bench.tables import (
    FEATURE_LABELS,
    FEATURE_NAMES,
    coherence_columns,
    fd_columns,
    prdc_columns,
    summarize,
    summary_columns,
    write_tables,
)
from classifiers.nets import DigitClassifier
from classifiers.train import classifier_accuracy, train_classifiers

CLASSIFIER_SEED = 0


def load_data(suite, scale, cfg: RunConfig, store: Store) -> tuple[MultimodalDataset, MultimodalDataset, dict, str]:
    """Train/test splits of this scale and a key naming their content. The embedded default is built once and
    cached; user data is read from ``--data-root`` on every run (the files are the cache)."""
    source = "embedded" if cfg.data_root is None else str(Path(cfg.data_root).expanduser().resolve())
    data_key = stable_hash("data", suite.name, source, suite.n_modalities, suite.data_seed)
    folder = store.root / "data" / data_key
    if cfg.data_root is None and manifest_path(folder / "test.pt").exists():
        train, manifest = load_dataset(folder / "train.pt")
        test, _ = load_dataset(folder / "test.pt")
    else:
        train, test, manifest = suite.load_data(cfg.data_root)
        if cfg.data_root is None:
            save_dataset(train, folder / "train.pt", manifest)
            save_dataset(test, folder / "test.pt", manifest)
    train = suite.shrink(train, scale.n_train, seed=suite.data_seed)
    test = suite.shrink(test, scale.n_test, seed=suite.data_seed + 1)
    # the content hashes make a changed data folder retrain everything downstream
    key = stable_hash(data_key, manifest["train_sha256"], manifest["test_sha256"], scale.n_train, scale.n_test)
    return train, test, {**manifest, "n_train_used": len(train), "n_test_used": len(test), "key": key}, key


def load_classifiers(train, test, scale, data_key: str, store: Store, device, progress: bool):
    """Per-modality digit classifiers: trained once per (data, config) and cached; test accuracy recorded."""
    key = stable_hash("classifiers", data_key, scale.classifier, CLASSIFIER_SEED)

    def fit() -> tuple[dict, dict]:
        clfs, record = train_classifiers(train, scale.classifier, seed=CLASSIFIER_SEED, device=device, progress=progress)
        record = {
            **record,
            "config": dataclasses.asdict(scale.classifier),
            "seed": CLASSIFIER_SEED,
            "test_accuracy": classifier_accuracy(clfs, test),
            "provenance": provenance(device),
        }
        return {m: c.state_dict() for m, c in clfs.items()}, record

    states, record = store.cached_torch("classifiers", key, fit)
    clfs = {}
    for m, state in states.items():
        clf = DigitClassifier(in_channels=train.shapes[m][0])
        clf.load_state_dict(state)
        clfs[m] = clf.to(device).eval()
    return clfs, {**record, "key": key}


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
    clfs: dict, clf_key: str, inception: tuple[InceptionFeatures, str] | None
) -> dict[str, tuple[dict[str, FeatureExtractor], str]]:
    """name -> (extractor per modality, identity key) for each feature space quality is scored in: the
    classifiers' penultimate features ("clf", always) and Inception pool3 ("inception", FID) when loaded."""
    spaces = {"clf": ({m: ClassifierFeatures(c) for m, c in clfs.items()}, clf_key)}
    if inception is not None:
        net, key = inception
        spaces["inception"] = ({m: net for m in clfs}, key)
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

    feats, _ = store.cached_torch("features", key, compute)
    return {m: RealFeatures(f.to(device)) for m, f in feats.items()}, time.perf_counter() - start


def train_model(name: str, spec: DataSpec, cfg: RunConfig, seed: int, train, data_key: str, store: Store, device):
    """Fit model ``name`` with ``seed`` (or load its cached weights) and return it in eval mode on ``device``."""
    model = build_model(name, spec, cfg.scale)
    model_cfg = model.cfg
    key = stable_hash("model", name, data_key, model_cfg, seed)

    def stage_cache(stage: str, parts: tuple, compute):
        return store.cached_torch(stage, stable_hash(stage, data_key, *parts), compute)

    def fit() -> tuple[dict, dict]:
        record = model.fit(train, seed=seed, device=device, progress=cfg.progress, cache=stage_cache)
        return model.state_dict(), {
            "train": dataclasses.asdict(record),
            "config": dataclasses.asdict(model_cfg),
            "provenance": provenance(device),
        }

    state, record = store.cached_torch("models", key, fit)
    model.load_state_dict(state)  # a cache hit; after a fresh fit this reloads the same weights
    model.to(device).eval()
    return model, {**record, "key": key}


def run(cfg: RunConfig) -> str:
    """Run every stage for ``cfg`` and return a short text report (the tables are written to disk)."""
    suite = SUITES.get(cfg.suite)()
    if cfg.scale not in suite.scales:
        raise BenchError(f"suite {suite.name} has no scale {cfg.scale!r}", f"choose one of: {', '.join(suite.scales)}")
    scale = suite.scales[cfg.scale]
    model_names = cfg.models or scale.models or suite.models
    for name in model_names:
        MODELS.get(name)  # fail before any work on a typo
    seeds = cfg.seeds or scale.seeds
    device = resolve_device(cfg.device)
    out = Path(cfg.out) / suite.name
    store = Store(Path(cfg.out) / "cache")
    timings: dict[str, float] = {}
    inception, fid_unavailable = load_inception(cfg, device)
    unavailable = {} if fid_unavailable is None else {"inception": fid_unavailable}

    start = time.perf_counter()
    train, test, manifest, data_key = load_data(suite, scale, cfg, store)
    timings["data"] = time.perf_counter() - start
    spec = DataSpec(name=suite.name, modalities=train.modalities, shapes=train.shapes)

    start = time.perf_counter()
    clfs, clf_record = load_classifiers(train, test, scale, data_key, store, device, cfg.progress)
    timings["classifiers"] = time.perf_counter() - start

    spaces = feature_spaces(clfs, clf_record["key"], inception)
    real = {}
    for space_name, space in spaces.items():
        real[space_name], timings[f"real features ({space_name})"] = load_real_features(
            test, data_key, space_name, space, store, device
        )

    records = []
    for name in model_names:
        for seed in seeds:
            start = time.perf_counter()
            model, model_record = train_model(name, spec, cfg, seed, train, data_key, store, device)
            train_s = time.perf_counter() - start
            start = time.perf_counter()
            generator = torch.Generator(device=device).manual_seed(seed)
            counter = CoherenceCounter(spec.modalities, clfs, device)
            collectors = {name_: FeatureCollector(spec.modalities, ex) for name_, (ex, _) in spaces.items()}
            n_joint = generation_pass(
                model,
                test,
                [counter, *collectors.values()],
                batch_size=scale.eval_batch_size,
                n_joint=scale.n_joint,
                generator=generator,
                device=device,
                progress=cfg.progress,
            )
            result = counter.result(len(test), n_joint)
            quality = {space: c.result(space, real[space]) for space, c in collectors.items()}
            eval_s = time.perf_counter() - start
            save_sample_grid(model, test, out / "samples" / f"{name}-{cfg.scale}-seed{seed}.png", rows=scale.grid_rows, seed=seed)
            record = {
                "suite": suite.name,
                "scale": cfg.scale,
                "model": name,
                "seed": seed,
                "metrics": {
                    "joint": result.joint,
                    **{f"k{k}": v for k, v in result.by_size().items()},
                    **{key: v for q in quality.values() for key, v in q.metrics().items()},
                },
                "coherence": result.to_dict(),
                "quality": {space: q.to_dict() for space, q in quality.items()},
                "quality_unavailable": unavailable,
                "model_record": model_record,
                "classifiers": {"key": clf_record["key"], "test_accuracy": clf_record["test_accuracy"]},
                "data": manifest,
                "seconds": {"train_or_load": train_s, "evaluate": eval_s},
                "network_calls_per_sample": getattr(model, "network_calls_per_sample", 1),
                "provenance": provenance(device),
            }
            save_json(record, out / "runs" / cfg.scale / f"{name}-seed{seed}.json")
            records.append(record)
            timings[f"{name}/seed{seed} train or load"] = train_s
            for stage, seconds in model_record["train"]["extra"].get("seconds", {}).items():
                timings[f"{name}/seed{seed} train: {stage} (as recorded)"] = seconds
            timings[f"{name}/seed{seed} evaluate"] = eval_s

    modalities = tuple(spec.modalities)
    columns = coherence_columns(len(modalities))
    stats = summarize(records, columns)
    accuracy = ", ".join(f"{m} {a:.3f}" for m, a in clf_record["test_accuracy"].items())
    data_text = f"{cfg.scale} scale, {len(test)} test tuples, data {manifest.get('source', '?')}"
    caption = (
        f"PolyMNIST coherence ({data_text}). "
        f"Joint: all {len(modalities)} classifiers agree on a prior sample. k=K: accuracy of a generated "
        f"modality given K others, averaged over subsets and targets not given. Classifier test accuracy: {accuracy}."
    )
    table_path = write_tables(stats, columns, out, "coherence", caption=caption)
    samples_text = (
        f"{len(test)} real test images per modality; {len(test)} generated per (subset, target not in it) and "
        f"{records[0]['coherence']['n_joint']} unconditional samples per modality"
    )
    for space in spaces:
        label, features = FEATURE_LABELS[space], FEATURE_NAMES[space]
        fd_caption = (
            f"PolyMNIST {label}: Fréchet distance in {features} features ({data_text}; {samples_text}). "
            f"Per modality: unconditional samples; k=K: conditional, averaged over subsets of size K and targets "
            f"not in them."
        )
        fd_cols = fd_columns(space, modalities)
        write_tables(summarize(records, fd_cols), fd_cols, out, f"quality-{space}", caption=fd_caption)
        pr_caption = (
            f"PolyMNIST precision/recall (k=3) and density/coverage (k=5) in {features} features ({data_text}; "
            f"{samples_text}). P, R, D, C: unconditional samples, mean over modalities; P/R k=K: conditional."
        )
        pr_cols = prdc_columns(space, len(modalities))
        write_tables(summarize(records, pr_cols), pr_cols, out, f"prdc-{space}", caption=pr_caption)
    summary_cols = summary_columns(len(modalities), list(spaces))
    described = [
        f"{FEATURE_LABELS[s_]}: Fréchet distance in {FEATURE_NAMES[s_]} features, unconditional (mean over "
        f"modalities) and conditional per subset size; P/R: unconditional, in the same features"
        for s_ in spaces
    ]
    described += [f"{FEATURE_LABELS[s_]} unavailable: {why}" for s_, why in unavailable.items()]
    summary_caption = f"PolyMNIST summary ({data_text}; {samples_text}). " + ". ".join(described) + "."
    summary_path = write_tables(
        summarize(records, summary_cols),
        summary_cols,
        out,
        "summary",
        caption=summary_caption,
        constant={FEATURE_LABELS[s_]: "unavailable" for s_ in unavailable},
    )
    save_json(
        {"classifiers": clf_record, "quality_unavailable": unavailable, "timings_s": timings,
         "provenance": provenance(device)},
        out / "summary.json",
    )
    lines = [summary_path.read_text(), f"classifier test accuracy: {accuracy}"]
    lines += [f"{stage}: {seconds:.1f} s" for stage, seconds in timings.items()]
    lines.append(
        f"tables: {summary_path}, {table_path}, quality-*.md, prdc-*.md (each also .tex, .csv); "
        f"records: {out / 'runs' / cfg.scale}; samples: {out / 'samples'}"
    )
    return "\n".join(lines)
