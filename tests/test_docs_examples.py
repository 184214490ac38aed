"""The extension guides (docs/extending/) run as written: a model, a suite, a label and a feature metric and a
modality kind, each a file of its own loaded with --include, reach the records, tables and results.json; a model
without a preset on a suite is one clear error."""

import json
import re
import sys
from pathlib import Path

import pytest

from bench.run import main

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "docs" / "extending"


def block(page: str, name: str) -> str:
    """The fenced block right after ``<!-- example: name -->`` in docs/extending/<page>.md."""
    text = (GUIDES / f"{page}.md").read_text()
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"{page}.md has no example block {name!r}"
    return match.group(1)


def command(page: str, name: str, out: Path) -> list[str]:
    """The ``mm-bench`` command of a block as ``main`` arguments, writing to ``out``."""
    words = block(page, name).split()
    assert words[0] == "mm-bench"
    return [*words[1:], "--out", str(out), "--no-progress", "--device", "cpu"]


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Every guide's files in ``tmp_path`` (the working folder); whatever they register is removed afterwards."""
    from baselines.outputs import OUTPUTS
    from bench.data.kinds import KINDS
    from bench.metrics.registry import FEATURE_METRICS, LABEL_METRICS, label_metrics
    from bench.plugins import load_builtins
    from bench.presets import _PRESETS
    from bench.registry import MODELS, SUITES
    from mld.autoencoders import AE_KINDS

    load_builtins()
    label_metrics()  # the built-in metrics register on first use: they are in the snapshot

    files = {"joint_only.py": ("model", "joint_only.py"), "bars_suite.py": ("suite", "bars_suite.py"),
             "top2.py": ("metric", "top2.py"), "mean_gap.py": ("metric", "mean_gap.py"),
             "binary_kind.py": ("kind", "binary_kind.py")}
    for file, (page, name) in files.items():
        (tmp_path / file).write_text(block(page, name))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # binary_kind.py imports bars_suite.py beside it
    registries = [MODELS, SUITES, LABEL_METRICS, FEATURE_METRICS, KINDS, OUTPUTS, AE_KINDS]
    saved = [(dict(r._items), dict(r._tags)) for r in registries], dict(_PRESETS)
    yield tmp_path
    for registry, (items, tags) in zip(registries, saved[0]):
        registry._items, registry._tags = items, tags
    _PRESETS.clear()
    _PRESETS.update(saved[1])
    for module in [Path(f).stem for f in files]:
        sys.modules.pop(module, None)


def test_a_suite_and_metrics_from_their_own_files(plugins, capsys):
    out = plugins / "out"
    assert main(command("suite", "suite-command", out)) == 0
    assert main([*command("metric", "metric-command", out), "--include", "mean_gap.py"]) == 0
    root = out / "bars"
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert {"top2_columns_to_rows", "top2_rows_to_columns", "top2_k1"} <= set(record["metrics"])
    assert {"meangap_clf_columns", "meangap_clf_uncond", "meangap_clf_k1"} <= set(record["metrics"])
    assert record["stages"] == {"model": "cached", "evaluation": "computed"}  # new metrics re-score, no retraining
    tables = json.loads((root / "results.json").read_text())["tables"]
    assert {c["metric"] for c in tables["top2"]} == {"top2_k1"} and "meangap-clf" in tables
    assert "top-2 k=1" in (root / "top2.md").read_text() and (root / "meangap-clf.csv").exists()

    capsys.readouterr()
    assert main(["--suite", "bars", "--scale", "quick", "--include", "bars_suite.py", "--models", "mvtcae",
                 "--out", str(out), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "model mvtcae has no preset for suite bars" in error and "register_presets('bars', 'mvtcae'" in error
    assert not (root / "runs" / "quick" / "mvtcae-seed0.json").exists()


def test_a_modality_kind_and_its_suite(plugins):
    out = plugins / "out"
    assert main(command("kind", "kind-command", out)) == 0
    record = json.loads((out / "bar_maps" / "runs" / "quick" / "mld-seed0.json").read_text())
    assert set(record["data"]) >= {"train_sha256", "test_sha256"} and record["quality"] == {}
    assert 0 <= record["metrics"]["coherence_k1"] <= 1 and record["classifiers"]["test_accuracy"]["rows"] > 0.9
    assert (out / "bar_maps" / "samples" / "mopoe-quick-seed0.png").stat().st_size > 0


def test_a_model_from_its_own_file_joins_the_suites_models(plugins, quick_run, copy_stages):
    _, results = quick_run
    out = plugins / "out"
    copy_stages(results, out, ("data", "classifiers", "features", "models", "autoencoders", "evaluations"))
    assert main(command("model", "model-command", out)) == 0
    document = json.loads((out / "polymnist" / "results.json").read_text())
    runs = {r["model"]: r for r in document["runs"]}
    assert runs["mopoe"]["stages"]["model"] == "cached" and runs["joint_only"]["stages"]["model"] == "computed"
    record = json.loads((out / "polymnist" / "runs" / "quick" / "joint_only-seed0.json").read_text())
    assert record["model_record"]["train"]["steps"] > 0 and record["curves"]["training"][-1] < record["curves"]["training"][0]
