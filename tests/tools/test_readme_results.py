"""The result tables of the README and the docs are generated from the committed runs under results/, never typed by
hand."""

import json

from tools.readme_results import BLOCK, ROOT, main, pages, regenerate


def test_readme_and_docs_tables_match_the_committed_results():
    assert {p.name for p in pages()} >= {"README.md", "study.md", "speed.md"}
    sources = []
    for page in pages():
        text = page.read_text()
        sources += [m.group("source") for m in BLOCK.finditer(text)]
        assert regenerate(text) == text, f"{page.name}'s tables differ from results/: run python -m tools.readme_results"
    assert "results/polymnist/summary.md" in sources and "results/learning_curves/polymnist.json" in sources
    for source in sources:
        assert (ROOT / source).is_file(), f"{source} is not committed"


def test_a_stale_block_is_rewritten_from_its_source_and_reported(tmp_path, capsys):
    run = tmp_path / "results" / "s"
    run.mkdir(parents=True)
    (run / "summary.md").write_text("Caption.\n\n| Model | Coh k=1 ↑ |\n|:--|:--|\n| mld | 0.412 |\n")
    (run / "results.json").write_text(json.dumps({"timings_s": {"classifiers": 31.2, "mld/seed0 train (computed)": 300.4}}))
    readme = tmp_path / "README.md"
    readme.write_text("Intro\n<!-- generated from results/s/summary.md -->\n| mld | 0.999 |\n<!-- end generated -->\nEnd\n")
    new = regenerate(readme.read_text(), tmp_path)
    assert "| mld | 0.412 |" in new and "0.999" not in new and new.startswith("Intro\n") and new.endswith("End\n")
    assert "classifiers 31 s; mld/seed0 train (computed) 300 s" in new
    assert regenerate(new, tmp_path) == new
    page = ["--page", str(readme), "--root", str(tmp_path)]
    assert main(["--check", *page]) == 1
    assert "stale blocks from results/s/summary.md" in capsys.readouterr().err
    assert main(page) == 0 and readme.read_text() == new
    assert main(["--check", *page]) == 0


def test_curves_read_from_a_run_show_the_rise_over_the_last_quarter_and_the_status(tmp_path):
    from tools.readme_results import curves_of

    point = {"stage": "train", "steps": 100, "seconds": 10.0, "self": 0.9}
    study = {"results": [
        {"model": "a", "points": [{**point, "k1": 0.1}, {**point, "k1": 0.5}],
         "training": {"status": "still rising", "rise": 0.034}},
        {"model": "b", "points": [{**point, "k1": 0.3}], "training": {"status": "unknown"}}]}
    path = tmp_path / "curves.json"
    path.write_text(json.dumps(study))
    rows = curves_of(path).splitlines()
    assert rows[0].endswith("| k=1 rise from 75% of training | training |")
    assert rows[2].endswith("| +0.034 | still rising |") and rows[3].endswith("| — | — |")
    del study["results"][0]["training"]["rise"]
    path.write_text(json.dumps(study))
    assert "rise" not in curves_of(path)  # a study that trained its own curves has no status columns
