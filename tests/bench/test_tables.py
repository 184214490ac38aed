import numpy as np
import pandas as pd

from bench.metrics.coherence import by_size_columns as coherence_columns
from bench.tables import pivot, summarize, write_tables


def records(values):
    return [
        {"model": model, "seed": seed, "metrics": {"coherence_joint": v, "coherence_k1": v / 2, "coherence_k2": v / 3,
                                                   "coherence_self": v}}
        for model, vs in values.items()
        for seed, v in enumerate(vs)
    ]


def test_summary_matches_numpy_mean_and_sample_std():
    values = {"a": [0.2, 0.4, 0.9], "b": [0.5]}
    stats = summarize(records(values), coherence_columns(3))
    row = stats[(stats.model == "a") & (stats.metric == "coherence_joint")].iloc[0]
    assert np.isclose(row["mean"], np.mean(values["a"])) and np.isclose(row["std"], np.std(values["a"], ddof=1))
    assert row["n"] == 3
    single = stats[(stats.model == "b") & (stats.metric == "coherence_k1")].iloc[0]
    assert np.isclose(single["mean"], 0.25) and pd.isna(single["std"])


def test_pivot_cells_and_headers():
    table = pivot(summarize(records({"a": [0.2, 0.4], "b": [0.5]}), coherence_columns(3)), coherence_columns(3))
    assert list(table.columns) == ["Model", "Joint ↑", "k=1 ↑", "k=2 ↑", "self ↑", "seeds"]
    a = table[table.Model == "a"].iloc[0]
    assert a["Joint ↑"] == "0.300 ± 0.141" and a["seeds"] == 2
    # b's 0.5 lies inside a's 0.300 ± 0.141 upper reach? no: 0.441 < 0.5, but b has one seed and no count: no bold
    assert table[table.Model == "b"].iloc[0]["Joint ↑"] == "0.500"


def test_write_tables_writes_three_formats(tmp_path):
    stats = summarize(records({"a": [0.2, 0.4], "b": [0.5]}), coherence_columns(3))
    md = write_tables(stats, coherence_columns(3), tmp_path, "coherence", caption="Caption.")
    text = md.read_text()
    assert text.startswith("Caption.") and "| a " in text and "0.300 ± 0.141" in text
    assert "| 0.500 " in text  # cells keep their digits (no re-parsing into 0.5)
    assert "\\toprule" in (tmp_path / "coherence.tex").read_text()
    csv = pd.read_csv(tmp_path / "coherence.csv")
    assert {"model", "metric", "mean", "std", "n", "at_chance", "flag", "status"} <= set(csv.columns)
    assert len(csv) == 8


def test_summary_columns_and_an_unavailable_feature_space(tmp_path):
    from bench.suites.layouts import by_size

    columns = by_size(3, ["clf"])
    assert [c.key for c in columns] == [
        "coherence_joint", "coherence_k1", "coherence_k2", "coherence_self", "fd_clf_uncond", "fd_clf_k1", "fd_clf_k2",
        "precision_clf_uncond", "recall_clf_uncond",
    ]
    recs = [
        {"model": "a", "seed": s, "metrics": {**{c.key: 0.1 * (s + 1) for c in columns}}} for s in range(2)
    ]
    md = write_tables(summarize(recs, columns), columns, tmp_path, "summary", caption="C.", constant={"FID": "unavailable"})
    header, _, row = md.read_text().splitlines()[2:5]
    assert "FD-clf uncond ↓" in header and "P (clf) ↑" in header and header.index("FID") < header.index("seeds")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["a"] + ["0.150 ± 0.071"] * 9 + ["unavailable", "2"]
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
        {"model": "a_1", "seed": s, "metrics": {"joint": 0.5 + s / 100, "k1": 0.2, "fd": 3.0 + s / 10, "params": 10}}
        for s in range(2)
    ] + [
        {"model": "b", "seed": s, "metrics": {"joint": 0.1 + s / 100, "k1": 0.2, "fd": 1.0 + s / 10, "params": 20}}
        for s in range(2)
    ]
    stats = summarize(recs, columns)
    table = pivot(stats, columns)
    a, b = table.iloc[0], table.iloc[1]
    assert a["Joint ↑"] == "**0.505 ± 0.007**" and b["Joint ↑"] == "0.105 ± 0.007"  # higher is better
    assert a["FD ↓"] == "3.050 ± 0.071" and b["FD ↓"] == "**1.050 ± 0.071**"  # lower is better
    assert a["k=1 ↑"] == b["k=1 ↑"] == "0.200 ± 0.000"  # a tie is never bold
    assert a["Params"] == "10.000 ± 0.000" or a["Params"].startswith("10")  # no direction, no bold
    assert "**" not in a["Params"] + b["Params"]
    write_tables(stats, columns, tmp_path, "t", caption="C.")
    tex = (tmp_path / "t.tex").read_text()
    assert r"\textbf{0.505 $\pm$ 0.007}" in tex and r"\textbf{1.050 $\pm$ 0.071}" in tex and "**" not in tex
    assert r"a\_1" in tex and r"$\uparrow$" in tex and "↑" not in tex
    assert r"\multicolumn{2}{c}{Coherence}" in tex and r"\cmidrule(lr){2-3}" in tex and r"\cmidrule(lr){4-4}" in tex
    assert tex.index(r"\toprule") < tex.index("Coherence") < tex.index(r"\midrule") < tex.index(r"\bottomrule")


def test_one_model_gets_no_bold():
    stats = summarize(records({"a": [0.2, 0.4]}), coherence_columns(3))
    assert "**" not in "".join(pivot(stats, coherence_columns(3)).iloc[0].astype(str))


def coherence_records(values: dict[str, list[float]], *, n_test: int = 500, joint=None, top_share=None):
    """Run records with conditional coherence ``values`` per seed, counts for the binomial test, 10 classes."""
    return [
        {"model": model, "seed": seed, "status": "ok",
         "metrics": {"coherence_joint": v if joint is None else joint[model], "coherence_joint_chance": 1e-4,
                     "coherence_joint_top_share": 0.1 if top_share is None else top_share[model], "coherence_k1": v,
                     "coherence_k2": v, "coherence_self": v},
         "counts": {"n_test": n_test, "n_joint": n_test, "n_classes": 10}}
        for model, vs in values.items()
        for seed, v in enumerate(vs)
    ]


def test_chance_level_values_are_marked_and_never_bold():
    # 500 tuples: 0.12 is within chance (p = 0.08 > 0.01); 0.20 is not, and its Wilson interval clears 0.12
    stats = summarize(coherence_records({"a": [0.12], "b": [0.104], "c": [0.20]}), coherence_columns(3))
    table = pivot(stats, coherence_columns(3)).set_index("Model")
    assert table.at["a", "k=1 ↑"] == "0.120 (chance)" and table.at["b", "k=1 ↑"] == "0.104 (chance)"
    assert table.at["c", "k=1 ↑"] == "**0.200**"  # above chance and separated from 0.12 (Wilson intervals)
    only_chance = summarize(coherence_records({"a": [0.12], "b": [0.104]}), coherence_columns(3))
    assert "**" not in "".join(pivot(only_chance, coherence_columns(3)).astype(str).values.ravel())


def test_the_binomial_test_uses_the_pooled_test_tuples():
    # 0.125 over 500 tuples is chance (p = 0.04); the same value over three seeds (1,500 tuples) is not (p < 0.01)
    one = summarize(coherence_records({"a": [0.125]}), coherence_columns(3))
    three = summarize(coherence_records({"a": [0.125, 0.125, 0.125]}), coherence_columns(3))
    assert (one.set_index("metric").at["coherence_k1", "at_chance"]
            and not three.set_index("metric").at["coherence_k1", "at_chance"])


def test_bold_needs_separation_from_the_runner_up():
    close = summarize(coherence_records({"a": [0.60], "b": [0.58]}), coherence_columns(3))  # Wilson intervals overlap
    assert "**" not in "".join(pivot(close, coherence_columns(3)).astype(str).values.ravel())
    apart = summarize(coherence_records({"a": [0.60], "b": [0.40]}), coherence_columns(3))
    assert pivot(apart, coherence_columns(3)).set_index("Model").at["a", "k=1 ↑"] == "**0.600**"
    spread = summarize(coherence_records({"a": [0.9, 0.3], "b": [0.4, 0.4]}), coherence_columns(3))  # seeds overlap
    assert "**" not in pivot(spread, coherence_columns(3)).set_index("Model").at["a", "k=1 ↑"]


def test_a_collapsed_joint_distribution_is_flagged():
    recs = coherence_records({"a": [0.3], "b": [0.3]}, joint={"a": 0.65, "b": 0.2}, top_share={"a": 0.9, "b": 0.15})
    for r in recs:
        r["metrics"]["coherence_joint_chance"] = 0.6 if r["model"] == "a" else 0.02
    table = pivot(summarize(recs, coherence_columns(3)), coherence_columns(3)).set_index("Model")
    assert table.at["a", "Joint ↑"] == "0.650 (chance; collapsed)"  # 0.65 vs chance agreement 0.6: not above
    assert table.at["b", "Joint ↑"] == "0.200"  # not bold: a has the higher mean but is at chance


def test_a_diverged_model_has_no_numbers_and_a_status():
    recs = coherence_records({"a": [0.3], "b": [0.5]})
    recs.append({"model": "c", "seed": 0, "status": "diverged", "metrics": {},
                 "failure": {"stage": "score", "epoch": 7, "message": "c: the score loss diverged"}})
    stats = summarize(recs, coherence_columns(3))
    assert stats[stats.model == "c"]["mean"].isna().all()
    table = pivot(stats, coherence_columns(3)).set_index("Model")
    assert table.loc["c", ["Joint ↑", "k=1 ↑", "k=2 ↑", "self ↑"]].tolist() == ["—"] * 4
    assert table.at["c", "status"] == "diverged at epoch 7 (score)" and table.at["a", "status"] == "ok"
    assert table.at["b", "k=1 ↑"] == "**0.500**"  # the others are intact
