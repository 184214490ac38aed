"""The stages of one suite run, top to bottom: the shared stages (``bench.prepare``: data, classifiers, real
features); per (model, seed), run by an executor, the model (``bench.model_stage``) and one generation pass scored by
every metric (``bench.evaluation``), then its record (``run_one``); tables, plots, report and results file
(``bench.outputs``)."""

from __future__ import annotations

import dataclasses
import functools
import warnings
from dataclasses import dataclass

from bench.config import RunConfig
from bench.evaluation import evaluate_model
from bench.executors import EXECUTORS, Work
from bench.health import Diverged
from bench.interface import IterativeSampler, ability
from bench.logs import LOG, configure
from bench.metrics.registry import LabelContext
from bench.model_stage import train_model
from bench.outputs import write_outputs
from bench.plots import save_sample_grid
from bench.prepare import Prepared, prepare
from bench.probes import ProbePlan
from bench.store import provenance, save_json
from bench.training_status import training_status


class TrainingWarning(UserWarning):
    """A model's training failed (diverged); the run goes on with the other models."""


def run_one(prep: Prepared, name: str, seed: int) -> dict:
    """Train (or load) model ``name`` with ``seed``, evaluate it (or load the evaluation), draw its sample grid, and
    write its record to ``<out>/<suite>/runs/<scale>/<name>-seed<seed>.json``; return the record. A training that
    diverged (``bench.health``) is not evaluated: its record has ``status: "diverged"``, the failure and the loss
    curves, and no metrics."""
    cfg, device = prep.cfg, prep.device
    path = prep.out / "runs" / cfg.scale / f"{name}-seed{seed}.json"
    try:
        model, model_record = train_model(name, prep.spec, cfg, seed, prep.train, prep.data_key, prep.store, device,
                                          probes=probe_plan(prep))
    except Diverged as err:
        warnings.warn(f"{err} -- its row will read 'diverged'; the other models still run", TrainingWarning, 2)
        record = {"suite": prep.suite.name, "scale": cfg.scale, "model": name, "seed": seed, "status": "diverged",
                  "failure": err.to_dict(), "curves": err.curves, "metrics": {}, "provenance": provenance(device)}
        save_json(record, path)
        return record
    return score(prep, name, seed, model, model_record)


def probe_plan(prep: Prepared) -> ProbePlan:
    """The probes of this run's trainings (``bench.probes``): the scale's config, the test set, the classifiers and,
    for FD-clf, the classifier features of the real test images."""
    extractors = prep.spaces.get("clf", ({}, None))[0]
    context = LabelContext(tuple(prep.spec.modalities), prep.clfs, prep.test.specs, prep.device, prep.suite.label_space)
    return ProbePlan(prep.scale.probe, len(prep.train), prep.test, context,
                     {m: (extractor, prep.real["clf"][m]) for m, extractor in extractors.items()})


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
    sampler = ability(model, IterativeSampler)
    probes = model_record["train"].get("probes", [])  # none for a model not trained here
    record = {
        "suite": prep.suite.name,
        "scale": cfg.scale,
        "model": name,
        "seed": seed,
        "status": "ok",
        "metrics": evaluation["metrics"],
        "counts": evaluation["counts"],
        "curves": model_record["train"].get("curves") or {name: model_record["train"]["losses"]},
        "probes": probes,
        "training": training_status(probes, chance=prep.suite.label_space.chance),
        "details": evaluation["details"],
        "quality": evaluation["quality"],
        "quality_unavailable": prep.unavailable,
        "efficiency": {
            "parameters": sum(p.numel() for p in getattr(model, "parameters", tuple)()),
            "train_seconds": model_record["train"]["seconds"],
            "train_peak_memory_mb": train_cost.get("peak_memory_mb"),
            "train_added_memory_mb": added_memory(train_cost),
            "network_calls_per_sample": sampler.network_calls_per_sample if sampler is not None else 1,
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
