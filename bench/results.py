"""One results file per run, ``<out>/<suite>/results.json``: every model, seed and metric, the mean ± std of every
table cell, the run config, versions and provenance, under a ``schema_version`` (the JSON Schema is
``bench/schemas/results.schema.json``; ``load_results`` checks the version, the tests validate a run against it).

Metric names are those of the run records, tables and CSVs, one grammar, ``<measure>[_<space>]_<condition>``
(``bench.metrics.names``). Non-finite numbers are written as null.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from bench.errors import BenchError
from bench.store import provenance

SCHEMA_VERSION = 1
SCHEMA = Path(__file__).resolve().parent / "schemas" / "results.schema.json"
def package_version() -> str:
    try:
        return version("mm-latent-bench")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def results_document(prep, records: list[dict], tables: dict[str, pd.DataFrame], timings: dict[str, float]) -> dict:
    """The results file's content for a finished run: ``tables`` are the long-form statistics each table was written
    from (``bench.tables.summarize``), by table name."""
    import torch

    return {
        "schema_version": SCHEMA_VERSION,
        "suite": prep.suite.name,
        "scale": prep.cfg.scale,
        "config": dataclasses.asdict(prep.cfg),
        "data": {k: prep.manifest.get(k) for k in ("source", "key", "n_train_used", "n_test_used", "train_sha256",
                                                   "test_sha256")},
        "classifiers": {"key": prep.clf_record["key"], "test_accuracy": prep.clf_record["test_accuracy"]},
        "quality_unavailable": prep.unavailable,
        "versions": {"mm-latent-bench": package_version(), "torch": torch.__version__},
        "provenance": provenance(prep.device),
        "runs": [run_entry(r, prep.cfg.scale) for r in records],
        "tables": {name: table_rows(stats) for name, stats in tables.items()},
        "timings_s": timings,
    }


def run_entry(record: dict, scale: str) -> dict:
    """One (model, seed) of the results file, from its run record."""
    entry = {
        "model": record["model"],
        "seed": record["seed"],
        "status": record.get("status", "ok"),
        "record": f"runs/{scale}/{record['model']}-seed{record['seed']}.json",
        "metrics": {k: finite(v) for k, v in record.get("metrics", {}).items()},
    }
    if entry["status"] == "ok":
        entry.update(counts=record["counts"], stages=record["stages"],
                     efficiency={k: finite(v) if not isinstance(v, str) else v for k, v in record["efficiency"].items()},
                     model_key=record["model_record"]["key"], evaluation_key=record["evaluation_key"],
                     overrides=record.get("overrides", []), provenance=record["metrics_provenance"],
                     probes=[{k: finite(v) for k, v in p.items()} for p in record.get("probes", [])],
                     training=record.get("training", {"status": "unknown"}))
    else:
        entry["failure"] = {k: finite(v) if isinstance(v, float) else v for k, v in record["failure"].items()
                            if k != "curves"}
    return entry


def table_rows(stats: pd.DataFrame) -> list[dict]:
    """A table's long-form statistics as rows: model, metric (public name), mean, std, n seeds, the chance test and
    flag, status."""
    rows = []
    for row in stats.to_dict("records"):
        rows.append({
            "model": row["model"], "metric": row["metric"], "mean": finite(row["mean"]),
            "std": finite(row["std"]), "n": int(row["n"]), "at_chance": bool(row["at_chance"]),
            "p_chance": finite(row["p_chance"]), "flag": row["flag"] or "", "status": row["status"],
            "training": row.get("training") or "",
        })
    return rows


def finite(value: Any) -> float | int | None:
    """A number for JSON: NaN, infinities and None become null."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else number


def load_results(path: str | Path) -> dict:
    """A results file, checked for a schema version this code reads."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read results file {path}: {exc}", "rerun the suite to write it") from None
    if document.get("schema_version") != SCHEMA_VERSION:
        raise BenchError(f"{path} has schema version {document.get('schema_version')}, this code reads {SCHEMA_VERSION}",
                         "rerun the suite with this version to rewrite it")
    return document


def last_per_model(groups: Iterable[Iterable[dict]]) -> list[dict]:
    """Entries that each name a ``"model"``, from several groups (e.g. the runs of several results files, one model
    retrained in a run of its own): a model's entries are those of the last group that holds it, in the place of its
    first appearance."""
    by_model: dict[str, list[dict]] = {}
    for group in groups:
        entries = list(group)
        by_model.update({entry["model"]: [] for entry in entries})
        for entry in entries:
            by_model[entry["model"]].append(entry)
    return [entry for kept in by_model.values() for entry in kept]


@dataclass(frozen=True)
class Results:
    """A run's results (``bench.run``, ``bench.evaluate``): the results file's content, with the text report and the
    failed trainings of the run that produced it."""

    document: dict
    report: str = ""
    failures: tuple[str, ...] = ()

    @property
    def suite(self) -> str:
        return self.document["suite"]

    @property
    def scale(self) -> str:
        return self.document["scale"]

    def to_dict(self) -> dict:
        """The results file's content (a deep copy)."""
        return json.loads(json.dumps(self.document))

    def to_frame(self) -> pd.DataFrame:
        """Long form, one row per (model, seed, metric): ``model``, ``seed``, ``metric``, ``value`` (NaN: null)."""
        rows = [{"model": run["model"], "seed": run["seed"], "metric": metric, "value": math.nan if v is None else v}
                for run in self.document["runs"] for metric, v in run["metrics"].items()]
        return pd.DataFrame(rows, columns=["model", "seed", "metric", "value"])

    def table(self, name: str = "summary") -> pd.DataFrame:
        """The statistics one table was written from: model, metric, mean, std, n seeds, chance test, flag, status."""
        if name not in self.document["tables"]:
            raise BenchError(f"no table {name!r} in these results", f"choose one of: {', '.join(self.document['tables'])}")
        return pd.DataFrame(self.document["tables"][name])

    def coherence(self) -> pd.DataFrame:
        """The coherence rows of ``to_frame``."""
        frame = self.to_frame()
        return frame[frame.metric.str.startswith("coherence_")].reset_index(drop=True)

    def quality(self) -> pd.DataFrame:
        """The quality rows of ``to_frame`` (Fréchet distances, precision, recall, density, coverage)."""
        frame = self.to_frame()
        return frame[~frame.metric.str.startswith("coherence_")].reset_index(drop=True)

    @classmethod
    def load(cls, path: str | Path) -> "Results":
        """The results of a ``results.json`` written by an earlier run."""
        return cls(load_results(path))
