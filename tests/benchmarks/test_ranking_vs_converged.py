"""benchmarks/ranking_vs_converged.py: ranks, discordant pairs and the 'still rising' explanation."""

import json

from benchmarks.ranking_vs_converged import compare, main, ranks


def results(scale: str, rows: dict[str, tuple[float, float, float, str]]) -> dict:
    """A results.json with one run per model: (k1, joint, fd_clf_uncond, training status)."""
    runs = [{"model": m, "seed": 0, "training": {"status": status},
             "metrics": {"coherence_k1": k1, "coherence_joint": joint, "fd_clf_uncond": fd}}
            for m, (k1, joint, fd, status) in rows.items()]
    return {"suite": "polymnist", "scale": scale, "provenance": {"commit": "abc"}, "runs": runs}


def test_ranks_put_the_best_first_and_ties_share_a_rank():
    assert ranks({"a": 0.5, "b": 0.7, "c": 0.5}, lower_is_better=False) == {"a": 2, "b": 1, "c": 2}
    assert ranks({"a": 10.0, "b": 30.0}, lower_is_better=True) == {"a": 1, "b": 2}


def test_a_swap_holds_only_when_one_of_the_pair_is_still_rising():
    reference = results("converged", {"mld": (0.6, 0.3, 40.0, "converged"), "mopoe": (0.5, 0.1, 100.0, "converged"),
                                      "mvtcae": (0.4, 0.2, 60.0, "converged")})
    # mld is below mopoe on k = 1 in the short run (and says it is still rising); joint and FD keep their order
    explained = results("default", {"mld": (0.3, 0.2, 45.0, "still rising"), "mopoe": (0.45, 0.05, 150.0, "converged"),
                                    "mvtcae": (0.25, 0.1, 70.0, "converged")})
    c = compare(explained, reference)
    assert c["coherence_k1"]["discordant"] == [{"models": ["mld", "mopoe"], "explained": True}]
    assert all(c[m]["holds"] for m in c) and c["fd_clf_uncond"]["discordant"] == []
    # the same swap with every row reading converged is a ranking that does not hold
    unexplained = results("default", {m: (*v[:3], "converged") for m, v in
                                      {"mld": (0.3, 0.2, 45.0), "mopoe": (0.45, 0.05, 150.0),
                                       "mvtcae": (0.25, 0.1, 70.0)}.items()})
    c = compare(unexplained, reference)
    assert not c["coherence_k1"]["holds"] and c["coherence_joint"]["holds"]
    # an unsteady row (its k = 1 fell over the last quarter) explains a swap as a still rising one does
    unsteady = results("default", {**{r["model"]: (r["metrics"]["coherence_k1"], r["metrics"]["coherence_joint"],
                                                  r["metrics"]["fd_clf_uncond"], "converged") for r in unexplained["runs"]},
                                   "mopoe": (0.45, 0.05, 150.0, "unsteady")})
    c = compare(unsteady, reference)
    assert c["coherence_k1"]["holds"] and {r["model"]: r["training"] for r in c["coherence_k1"]["rows"]}["mopoe"] == "unsteady"


def test_main_writes_the_comparison_and_exits_1_when_a_ranking_does_not_hold(tmp_path, capsys):
    reference = results("converged", {"a": (0.6, 0.3, 40.0, "converged"), "b": (0.5, 0.2, 50.0, "converged")})
    run = results("default", {"a": (0.4, 0.3, 40.0, "converged"), "b": (0.5, 0.2, 50.0, "converged")})
    paths = [tmp_path / "run.json", tmp_path / "ref.json"]
    for path, data in zip(paths, (run, reference)):
        path.write_text(json.dumps(data))
    assert main([str(paths[0]), str(paths[1]), "--json", str(tmp_path / "out.json")]) == 1
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["metrics"]["coherence_k1"]["discordant"] == [{"models": ["a", "b"], "explained": False}]
    assert "Coh k=1 ↑: the ranking does not hold" in capsys.readouterr().out


def test_several_references_take_each_model_from_the_last_file_that_holds_it(tmp_path, capsys):
    everyone = results("converged", {"a": (0.6, 0.3, 40.0, "converged"), "b": (0.5, 0.2, 50.0, "still rising")})
    longer_b = results("converged", {"b": (0.7, 0.2, 50.0, "converged")})  # b trained longer overtakes a on k = 1
    run = results("default", {"a": (0.4, 0.3, 40.0, "converged"), "b": (0.5, 0.2, 50.0, "converged")})
    paths = [tmp_path / f"{name}.json" for name in ("run", "everyone", "longer_b")]
    for path, data in zip(paths, (run, everyone, longer_b)):
        path.write_text(json.dumps(data))
    assert main([str(p) for p in paths] + ["--json", str(tmp_path / "out.json")]) == 0
    written = json.loads((tmp_path / "out.json").read_text())
    rows = {r["model"]: r for r in written["metrics"]["coherence_k1"]["rows"]}
    assert rows["b"]["reference"] == 0.7 and rows["b"]["rank_reference"] == 1
    assert [r["models"] for r in written["reference"]] == [["a", "b"], ["b"]]
