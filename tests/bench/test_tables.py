import numpy as np
import pandas as pd

from bench.tables import coherence_columns, pivot, summarize, write_tables


def records(values):
    return [
        {"model": model, "seed": seed, "metrics": {"joint": v, "k1": v / 2, "k2": v / 3}}
        for model, vs in values.items()
        for seed, v in enumerate(vs)
    ]


def test_summary_matches_numpy_mean_and_sample_std():
    values = {"a": [0.2, 0.4, 0.9], "b": [0.5]}
    stats = summarize(records(values), coherence_columns(3))
    row = stats[(stats.model == "a") & (stats.metric == "joint")].iloc[0]
    assert np.isclose(row["mean"], np.mean(values["a"])) and np.isclose(row["std"], np.std(values["a"], ddof=1))
    assert row["n"] == 3
    single = stats[(stats.model == "b") & (stats.metric == "k1")].iloc[0]
    assert np.isclose(single["mean"], 0.25) and pd.isna(single["std"])


def test_pivot_cells_and_headers():
    table = pivot(summarize(records({"a": [0.2, 0.4], "b": [0.5]}), coherence_columns(3)), coherence_columns(3))
    assert list(table.columns) == ["Model", "Joint ↑", "k=1 ↑", "k=2 ↑", "seeds"]
    a = table[table.Model == "a"].iloc[0]
    assert a["Joint ↑"] == "0.300 ± 0.141" and a["seeds"] == 2
    assert table[table.Model == "b"].iloc[0]["Joint ↑"] == "**0.500**"  # the best of the column


def test_write_tables_writes_three_formats(tmp_path):
    stats = summarize(records({"a": [0.2, 0.4], "b": [0.5]}), coherence_columns(3))
    md = write_tables(stats, coherence_columns(3), tmp_path, "coherence", caption="Caption.")
    text = md.read_text()
    assert text.startswith("Caption.") and "| a " in text and "0.300 ± 0.141" in text
    assert "| **0.500** " in text  # cells keep their digits (no re-parsing into 0.5)
    assert "\\toprule" in (tmp_path / "coherence.tex").read_text()
    csv = pd.read_csv(tmp_path / "coherence.csv")
    assert set(csv.columns) == {"model", "metric", "mean", "std", "n"} and len(csv) == 6


def test_summary_columns_and_an_unavailable_feature_space(tmp_path):
    from bench.tables import summary_columns

    columns = summary_columns(3, ["clf"])
    assert [c.key for c in columns] == [
        "joint", "k1", "k2", "fd_clf_uncond", "fd_clf_k1", "fd_clf_k2", "precision_clf_uncond", "recall_clf_uncond"
    ]
    recs = [
        {"model": "a", "seed": s, "metrics": {**{c.key: 0.1 * (s + 1) for c in columns}}} for s in range(2)
    ]
    md = write_tables(summarize(recs, columns), columns, tmp_path, "summary", caption="C.", constant={"FID": "unavailable"})
    header, _, row = md.read_text().splitlines()[2:5]
    assert "FD-clf uncond ↓" in header and "P (clf) ↑" in header and header.index("FID") < header.index("seeds")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["a"] + ["0.150 ± 0.071"] * 8 + ["unavailable", "2"]
    assert "unavailable" not in (tmp_path / "summary.csv").read_text()  # the long-form CSV holds numbers only


def test_best_value_per_column_is_bold_in_markdown_and_latex(tmp_path):
    from bench.tables import Column

    columns = [
        Column("joint", "Joint", group="Coherence"),
        Column("k1", "k=1", group="Coherence"),
        Column("fd", "FD", False, group="Quality"),
        Column("params", "Params", None, digits=0),
    ]
    recs = [
        {"model": "a_1", "seed": 0, "metrics": {"joint": 0.5, "k1": 0.2, "fd": 3.0, "params": 10}},
        {"model": "b", "seed": 0, "metrics": {"joint": 0.1, "k1": 0.2, "fd": 1.0, "params": 20}},
    ]
    stats = summarize(recs, columns)
    table = pivot(stats, columns)
    a, b = table.iloc[0], table.iloc[1]
    assert a["Joint ↑"] == "**0.500**" and b["Joint ↑"] == "0.100"  # higher is better
    assert a["FD ↓"] == "3.000" and b["FD ↓"] == "**1.000**"  # lower is better
    assert a["k=1 ↑"] == b["k=1 ↑"] == "**0.200**"  # ties are all bold
    assert a["Params"] == "10" and b["Params"] == "20"  # no direction, no bold
    write_tables(stats, columns, tmp_path, "t", caption="C.")
    tex = (tmp_path / "t.tex").read_text()
    assert r"\textbf{0.500}" in tex and r"\textbf{1.000}" in tex and "**" not in tex
    assert r"a\_1" in tex and r"$\uparrow$" in tex and "↑" not in tex
    assert r"\multicolumn{2}{c}{Coherence}" in tex and r"\cmidrule(lr){2-3}" in tex and r"\cmidrule(lr){4-4}" in tex
    assert tex.index(r"\toprule") < tex.index("Coherence") < tex.index(r"\midrule") < tex.index(r"\bottomrule")


def test_one_model_gets_no_bold():
    stats = summarize(records({"a": [0.2, 0.4]}), coherence_columns(3))
    assert "**" not in "".join(pivot(stats, coherence_columns(3)).iloc[0].astype(str))
