"""The stages of one suite run, top to bottom: data, classifiers, models, coherence, tables."""

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
from bench.metrics.coherence import evaluate_coherence
from bench.plots import save_sample_grid
from bench.registry import MODELS, SUITES
from bench.run import RunConfig
from bench.store import Store, provenance, save_json, stable_hash
from bench.tables import coherence_columns, summarize, write_tables
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

    start = time.perf_counter()
    train, test, manifest, data_key = load_data(suite, scale, cfg, store)
    timings["data"] = time.perf_counter() - start
    spec = DataSpec(name=suite.name, modalities=train.modalities, shapes=train.shapes)

    start = time.perf_counter()
    clfs, clf_record = load_classifiers(train, test, scale, data_key, store, device, cfg.progress)
    timings["classifiers"] = time.perf_counter() - start

    records = []
    for name in model_names:
        for seed in seeds:
            start = time.perf_counter()
            model, model_record = train_model(name, spec, cfg, seed, train, data_key, store, device)
            train_s = time.perf_counter() - start
            start = time.perf_counter()
            generator = torch.Generator(device=device).manual_seed(seed)
            result = evaluate_coherence(
                model,
                test,
                clfs,
                batch_size=scale.eval_batch_size,
                n_joint=scale.n_joint,
                generator=generator,
                device=device,
                progress=cfg.progress,
            )
            eval_s = time.perf_counter() - start
            save_sample_grid(model, test, out / "samples" / f"{name}-{cfg.scale}-seed{seed}.png", rows=scale.grid_rows, seed=seed)
            record = {
                "suite": suite.name,
                "scale": cfg.scale,
                "model": name,
                "seed": seed,
                "metrics": {"joint": result.joint, **{f"k{k}": v for k, v in result.by_size().items()}},
                "coherence": result.to_dict(),
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

    columns = coherence_columns(len(spec.modalities))
    stats = summarize(records, columns)
    accuracy = ", ".join(f"{m} {a:.3f}" for m, a in clf_record["test_accuracy"].items())
    caption = (
        f"PolyMNIST coherence ({cfg.scale} scale, {len(test)} test tuples, data {manifest.get('source', '?')}). "
        f"Joint: all {len(spec.modalities)} classifiers agree on a prior sample. k=K: accuracy of a generated "
        f"modality given K others, averaged over subsets and targets not given. Classifier test accuracy: {accuracy}."
    )
    table_path = write_tables(stats, columns, out, "coherence", caption=caption)
    save_json({"classifiers": clf_record, "timings_s": timings, "provenance": provenance(device)}, out / "summary.json")
    lines = [table_path.read_text(), f"classifier test accuracy: {accuracy}"]
    lines += [f"{stage}: {seconds:.1f} s" for stage, seconds in timings.items()]
    lines.append(f"tables: {table_path} (.tex, .csv); records: {out / 'runs' / cfg.scale}; samples: {out / 'samples'}")
    return "\n".join(lines)
