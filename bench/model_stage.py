"""The model stage of a (model, seed) job: train the model (or load its cached weights, or its ``--checkpoint``), with
its cache key, its own sub-stages' cache and its export."""

from __future__ import annotations

import dataclasses
import math

from bench.checkpoints import stage_checkpointer
from bench.config import RunConfig
from bench.errors import BenchError
from bench.exports import check_export, export_model, read_export, resolve_export
from bench.health import Diverged, TrainingMonitor
from bench.interface import UNKNOWN_SOURCE, DataSpec, StageCache, build_model, code_version
from bench.logs import LOG
from bench.measure import measured
from bench.overrides import parse_overrides
from bench.precision import amp_key, autocast
from bench.probes import ProbeConfig, ProbePlan
from bench.request import checkpoint_paths
from bench.store import Store, stable_hash


def train_model(name: str, spec: DataSpec, cfg: RunConfig, seed: int, train, data_key: str, store: Store, device,
                probes: ProbePlan | None = None):
    """Fit model ``name`` with ``seed`` (or load its cached weights, or its ``--checkpoint``) and return it in eval
    mode on ``device``, with its record (training record with its ``probes`` points, config, measured cost,
    provenance) and whether it came from the cache. With ``--export`` the weights are exported too
    (``bench.exports``)."""
    model = build_model(name, spec, cfg.scale, parse_overrides(cfg.overrides).get(name, ()))
    checkpoint = checkpoint_paths(cfg).get(name)
    if checkpoint is not None:
        return load_checkpoint(model, name, seed, checkpoint, data_key, device)
    model_cfg = model.cfg
    key = model_key(model, name, data_key, seed, cfg, spec, None if probes is None else probes.config)
    stage_cache = model_stage_cache(store, data_key, cfg, device, spec)

    def fit() -> tuple[dict, dict]:
        checkpoint = stage_checkpointer(store.root, "models", key, every_minutes=cfg.checkpoint_minutes,
                                        keep=cfg.keep_checkpoints)
        probe = None if probes is None else probes.probe(model, seed=seed,
                                                         saved=checkpoint.path.with_suffix(".points.json"))
        try:
            with autocast(cfg, device):
                record = model.fit(train, seed=seed, device=device, progress=cfg.progress, cache=stage_cache,
                                   monitor=TrainingMonitor(name, hook=probe), checkpoint=checkpoint)
        except Diverged:  # a diverged training is not resumed: its checkpoints (and its sub-stages') go
            for path in checkpoint.path.parent.glob(f"{checkpoint.path.stem}*"):
                path.unlink(missing_ok=True)
            raise
        train_record = {**dataclasses.asdict(record), "probes": [] if probe is None else probe.finished(record.seconds)}
        return model.state_dict(), {"train": train_record, "config": dataclasses.asdict(model_cfg), "seed": seed,
                                    "amp": cfg.amp}

    state, record = store.cached_torch("models", key, measured(fit, device), label=f"{name} seed {seed}: training")
    if (store.hits[-1:] == [("models", key)] and ["source", UNKNOWN_SOURCE] in code_version(type(model))):
        LOG.warning("%s seed %d: served from the cache, but %s has no readable source file, so an edit of its code "
                    "cannot change its key: rerun with --fresh after changing it", name, seed, type(model).__qualname__)
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


def model_key(model, name: str, data_key: str, seed: int, cfg: RunConfig, spec: DataSpec,
              probes: ProbeConfig | None = None) -> str:
    """The trained model's cache key: its name, data, config, seed, precision, code version
    (``bench.interface.code_version``), the suite's networks version, and the probes its record holds."""
    return stable_hash("model", name, data_key, model.cfg, seed, *amp_key(cfg), code_version(type(model)),
                       *networks_key(spec), *(() if probes is None else probes.key()))


def networks_key(spec: DataSpec) -> tuple:
    """Key parts for the suite's networks a model is built from (none for a spec without networks)."""
    return () if spec.networks is None else ("networks", spec.networks.suite, spec.networks.version)


def model_stage_cache(store: Store, data_key: str, cfg: RunConfig, device, spec: DataSpec) -> StageCache:
    """The ``cache`` handed to ``fit``: a model's own stage (e.g. MLD's autoencoders) stored under a key of the
    stage's parts, the data, the suite's networks and the precision."""

    def stage_cache(stage: str, parts: tuple, compute):
        key = stable_hash(stage, data_key, *parts, *networks_key(spec), *amp_key(cfg))
        return store.cached_torch(stage, key, measured(compute, device), label=stage)

    return stage_cache


def check_finite(name: str, train: dict) -> None:
    """``Diverged`` if a training record holds a non-finite epoch loss (for models that do not report to a monitor)."""
    curves = train.get("curves") or {name: train.get("losses", [])}
    for stage, curve in curves.items():
        bad = next((i for i, v in enumerate(curve) if not math.isfinite(v)), None)
        if bad is not None:
            raise Diverged(name, stage, bad, curve[bad], curves)
