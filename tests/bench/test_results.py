"""results.json: one file per run with every number of the tables, valid against the JSON Schema."""

import json

import pandas as pd
import pytest

from bench.errors import BenchError
from bench.metrics.names import METRIC_KEY
from bench.results import SCHEMA, SCHEMA_VERSION, Results, last_per_model, load_results

jsonschema = pytest.importorskip("jsonschema")


def test_the_schema_checks_metric_names_with_the_names_module_pattern():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$defs"]["metric_name"]["pattern"] == METRIC_KEY.pattern


def test_a_quick_run_writes_a_valid_results_file_with_every_table_number(quick_run):
    _, out = quick_run
    root = out / "polymnist"
    document = json.loads((root / "results.json").read_text())
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["schema_version"] == SCHEMA_VERSION and document["config"]["scale"] == "quick"
    assert {(r["model"], r["seed"]) for r in document["runs"]} == {("mld", 0), ("mopoe", 0)}
    for name in ("summary", "coherence", "quality-clf", "prdc-clf", "efficiency"):  # each table's long-form CSV
        csv = pd.read_csv(root / f"{name}.csv")
        cells = {(c["model"], c["metric"]): c for c in document["tables"][name]}
        assert len(cells) == len(csv)
        for row in csv.itertuples():
            cell = cells[(row.model, row.metric)]
            assert (cell["mean"] is None and pd.isna(row.mean)) or cell["mean"] == pytest.approx(row.mean, rel=1e-12)
            assert (cell["std"] is None and pd.isna(row.std)) or cell["std"] == pytest.approx(row.std, rel=1e-12)
            assert cell["at_chance"] == row.at_chance and cell["n"] == row.n
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    run = next(r for r in document["runs"] if r["model"] == "mopoe")
    assert run["metrics"] == record["metrics"]  # every seed's values, under the same names
    # coherence against compute: MLD (8 epochs) scored at each quarter of its score network's training, in the record,
    # the results file and the report's plot
    mld = next(r for r in document["runs"] if r["model"] == "mld")
    assert [p["fraction"] for p in mld["probes"]] == [0.25, 0.5, 0.75, 1.0]
    assert mld["training"]["status"] in ("converged", "still rising", "unsteady") and mld["training"]["fraction_from"] == 0.75
    assert mld["probes"] == json.loads((root / "runs" / "quick" / "mld-seed0.json").read_text())["probes"]
    assert (root / "plots" / "coherence_vs_compute.png").is_file()
    assert "coherence_vs_compute.png" in (root / "report.md").read_text()


def test_one_spelling_per_metric_across_records_csvs_results_and_tables(quick_run):
    """Every number has one name (``bench.metrics.names``): the records' keys are the names in every CSV, in
    results.json's runs and table cells, and in the tables' columns; nothing else names a metric."""
    import glob

    _, out = quick_run
    root = out / "polymnist"
    records = [json.loads(open(p).read()) for p in sorted(glob.glob(str(root / "runs" / "quick" / "*.json")))]
    names = {k for r in records for k in r["metrics"]}
    efficiency = {k for r in records for k in r["efficiency"]}  # the cost table's names, from the records too
    assert names and all(METRIC_KEY.fullmatch(k) for k in names)
    document = json.loads((root / "results.json").read_text())
    assert {k for run in document["runs"] for k in run["metrics"]} == names
    cells = {c["metric"] for cells in document["tables"].values() for c in cells}
    csvs = {m for path in root.glob("*.csv") for m in pd.read_csv(path).metric}
    assert cells == csvs and cells <= names | efficiency
    assert {c["metric"] for c in document["tables"]["summary"]} <= names
    for name in names:  # no other spelling of a number: e.g. "k1" or "coh_k1" beside "coherence_k1"
        short = name.removeprefix("coherence_")
        assert name == short or not {short, f"coh_{short}"} & (cells | names)


def test_results_api_views(quick_run):
    _, out = quick_run
    results = Results.load(out / "polymnist" / "results.json")
    frame = results.to_frame()
    assert list(frame.columns) == ["model", "seed", "metric", "value"] and set(frame.model) == {"mld", "mopoe"}
    assert results.coherence().metric.str.startswith("coherence_").all()
    assert not results.quality().metric.str.startswith("coherence_").any()
    assert len(results.coherence()) + len(results.quality()) == len(frame)
    assert set(results.table("coherence").metric) == {f"coherence_{k}" for k in ("joint", "k1", "k2", "k3", "k4", "self")}
    assert results.to_dict() == results.document and results.to_dict() is not results.document
    with pytest.raises(BenchError, match="no table 'nope'"):
        results.table("nope")


def test_a_results_file_of_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": 0}))
    with pytest.raises(BenchError, match="schema version 0"):
        load_results(path)


def test_merged_groups_keep_each_models_entries_from_the_last_group_in_its_first_place():
    first = [{"model": "a", "seed": 0}, {"model": "b", "seed": 0}, {"model": "b", "seed": 1}, {"model": "c", "seed": 0}]
    retrained = [{"model": "b", "seed": 2}]
    merged = last_per_model([first, retrained, []])
    assert merged == [{"model": "a", "seed": 0}, {"model": "b", "seed": 2}, {"model": "c", "seed": 0}]
