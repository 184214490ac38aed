"""The Python API (importable from ``bench``): score a model object, run a suite, reuse a suite's data and
classifiers (and ``bench.load_model`` for exported weights, ``bench.exports``).

    import bench
    results = bench.evaluate(my_model, "polymnist", scale="quick", out="results")   # no training
    results.to_frame()                                   # model, seed, metric, value
    results = bench.run_suite("polymnist", scale="quick", models=["mopoe"])         # what the CLI runs

Every call goes through the same cached stages as ``python -m bench.run`` (``bench.pipeline``, ``bench.prepare``), so a model scored
here and the suite's models trained by the CLI land in the same tables when they share ``out``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch

from bench.config import RunConfig
from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.interface import UNKNOWN_SOURCE, DataSpec, check_model, code_version
from bench.output_checks import CheckedOutputs
from bench.registry import check_name
from bench.results import Results
from bench.store import load_json, stable_hash


def run_suite(suite: str | RunConfig, **options) -> Results:
    """Train (or load from the cache) every model of a run, evaluate, write tables, plots, report and
    ``results.json`` under ``out``; return the results (``run_suite``, since ``bench.run`` is the command-line
    module). ``suite`` is a suite name with ``RunConfig`` fields as
    keywords (``scale``, ``models``, ``seeds``, ``out``, ``device``, ``overrides``, ``include``, ...), or a whole
    ``RunConfig``. A model whose training diverged is in ``results.failures``."""
    from bench.pipeline import run as run_pipeline

    cfg = suite if isinstance(suite, RunConfig) else RunConfig(suite=suite, **_tuples(options))
    outcome = run_pipeline(cfg)
    return Results(outcome.results, report=outcome.report, failures=tuple(outcome.failures))


def evaluate(
    model,
    suite: str = "polymnist",
    *,
    name: str | None = None,
    scale: str = "default",
    seeds: Sequence[int] = (0,),
    data_root: str | None = None,
    device: str = "auto",
    out: str | Path | None = None,
    progress: bool = False,
) -> Results:
    """Score ``model`` (any object with ``modalities``, ``generate`` and ``sample`` as in
    ``bench.interface.MultimodalModel``; nothing is trained) on ``suite`` at ``scale``: coherence and quality from
    one generation pass per evaluation seed in ``seeds``. ``name`` labels its rows (default: the class name, lower
    case). With ``out``, the records, tables, plots and ``results.json`` are written there, the model in the same
    tables as the runs already there at that scale (same data and classifiers), and the shared stages are cached in
    ``<out>/cache``; without, everything lives in a temporary folder (the classifiers are trained each call)."""
    from bench.outputs import write_outputs
    from bench.pipeline import score
    from bench.prepare import prepare

    name = name or type(model).__name__.lower()
    check_name(name)
    check_model(model, name)
    with _out_folder(out) as folder:
        cfg = RunConfig(suite=suite, scale=scale, models=(name,), seeds=tuple(seeds), device=device,
                        data_root=data_root, out=str(folder), progress=progress)
        prep = prepare(cfg, given=(name,))
        if tuple(model.modalities) != tuple(prep.spec.modalities):
            raise BenchError(f"{name} has modalities {tuple(model.modalities)}, suite {suite} has "
                             f"{tuple(prep.spec.modalities)}", "build the model for this suite's modalities")
        if hasattr(model, "to"):
            model = model.to(prep.device)
        if hasattr(model, "eval"):
            model.eval()
        given = {"key": weights_key(model, name), "train": {"losses": [], "curves": {}, "seconds": None, "steps": 0},
                 "provenance": {}, "stage": "given"}
        model = CheckedOutputs(model, prep.spec, name)
        records = [score(prep, name, seed, model, given) for seed in seeds]
        report, document = write_outputs(prep, [*records, *other_records(prep, name)])
    return Results(document, report=report)


def weights_key(model, name: str) -> str:
    """What keys a given model's evaluation: its name, its code (``bench.interface.code_version``: a plug-in's source
    file) and a SHA-256 of its state dict's tensors (a model without a state dict, or whose class has no readable
    source, gets a fresh key, so it is evaluated every time)."""
    version = code_version(type(model))
    if not hasattr(model, "state_dict") or ["source", UNKNOWN_SOURCE] in version:
        return stable_hash("given", name, uuid.uuid4().hex)
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        if isinstance(value, torch.Tensor):
            digest.update(value.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
            digest.update(str((value.dtype, tuple(value.shape))).encode())
    return stable_hash("given", name, version, digest.hexdigest())


def other_records(prep, name: str) -> list[dict]:
    """The run records already under ``out`` at this scale, for other models, with the same data and classifiers:
    the rows a scored model joins in the tables."""
    records = []
    for path in sorted((prep.out / "runs" / prep.cfg.scale).glob("*.json")):
        record = load_json(path)
        same = (record.get("data", {}).get("key") == prep.manifest["key"]
                and record.get("classifiers", {}).get("key") == prep.clf_record["key"])
        if record.get("model") != name and same:
            records.append(record)
    return records


@dataclass(frozen=True)
class LoadedSuite:
    """A suite's shared stages, for reuse outside the benchmark: the train/test splits at a scale, the
    per-modality digit classifiers (eval mode, on ``device``) and the feature extractors quality is scored with
    (name -> modality -> ``bench.metrics.features.FeatureExtractor``)."""

    name: str
    scale: str
    spec: DataSpec
    train: MultimodalDataset
    test: MultimodalDataset
    classifiers: dict[str, torch.nn.Module]
    feature_extractors: dict[str, dict]
    device: torch.device


def load_suite(name: str, *, scale: str = "default", data_root: str | None = None, device: str = "auto",
               out: str | Path = "results", progress: bool = False) -> LoadedSuite:
    """The data, classifiers and feature extractors of suite ``name`` at ``scale``, trained or loaded from the cache
    under ``<out>/cache`` exactly as a run would."""
    from bench.prepare import prepare

    prep = prepare(RunConfig(suite=name, scale=scale, data_root=data_root, device=device, out=str(out),
                             progress=progress))
    return LoadedSuite(name, scale, prep.spec, prep.train, prep.test, prep.clfs,
                       {space: extractors for space, (extractors, _) in prep.spaces.items()}, prep.device)


@contextmanager
def _out_folder(out: str | Path | None) -> Iterator[Path]:
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="mm-bench-") as folder:
        yield Path(folder)


def _tuples(options: dict) -> dict:
    """Keyword options with lists made tuples (``RunConfig`` is frozen and hashed)."""
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise BenchError(f"bench.run_suite got unknown option(s) {', '.join(unknown)}",
                         f"RunConfig fields: {', '.join(sorted(fields))}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
