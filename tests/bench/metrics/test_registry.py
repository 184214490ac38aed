"""A metric is one file: registered from a temporary module through --include, it reaches the run record, its
table and results.json with no other edit."""

import json
import sys

import pandas as pd
import pytest

from bench.metrics.registry import FEATURE_METRICS, feature_metrics, label_metrics, metrics_identity
from bench.run import main

TOY = '''
from bench.metrics.registry import FeatureMetric, register_metric


def _toy(generated, real):
    return {"toymean": float(generated.mean() - real.features.mean())}


register_metric(FeatureMetric(name="toy", measures={"toymean": False}, compute=_toy,
                              caption="{title} toy metric in {features} features ({data}; {seeds})."))
'''


@pytest.fixture
def toy_file(tmp_path):
    path = tmp_path / "toy_metric.py"
    path.write_text(TOY)
    yield path
    FEATURE_METRICS.unregister("toy")
    sys.modules.pop("toy_metric", None)


def test_the_builtin_metrics_are_registered():
    assert [m.name for m in label_metrics()] == ["coherence"]
    assert [m.name for m in feature_metrics()] == ["fd", "kid", "prdc"]
    assert metrics_identity() == [("coherence", 1), ("fd", 1), ("kid", 1), ("prdc", 1)]


def test_a_metric_from_a_temporary_module_reaches_the_record_and_a_table(quick_run, tmp_path, copy_stages, toy_file):
    _, results = quick_run
    out = tmp_path / "out"
    copy_stages(results, out, ("data", "classifiers", "features", "models", "evaluations"))
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--out", str(out), "--no-progress",
            "--device", "cpu", "--include", str(toy_file)]
    assert main(argv) == 0
    root = out / "polymnist"
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["stages"] == {"model": "cached", "evaluation": "computed"}  # a new metric re-scores, no retraining
    toy = {k: v for k, v in record["metrics"].items() if k.startswith("toymean_clf_")}
    assert set(toy) == {f"toymean_clf_{c}" for c in ("m0", "m1", "m2", "m3", "m4", "uncond", "k1", "k2", "k3", "k4")}
    trained = json.loads((results / "polymnist" / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert {k: v for k, v in record["metrics"].items() if k not in toy} == trained["metrics"]  # the others unchanged
    table = pd.read_csv(root / "toy-clf.csv")
    assert set(table.metric) == set(toy) and (root / "toy-clf.md").read_text().count("TOYMEAN") >= 10
    cells = json.loads((root / "results.json").read_text())["tables"]["toy-clf"]
    assert {c["metric"] for c in cells} == set(toy)
