"""The README's "Evaluate your own model" blocks, run as written: a model in the user's own file, scored with
``bench.evaluate`` and through ``mm-bench --include``, in the same tables."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_block(name: str) -> str:
    """The fenced block right after ``<!-- example: name -->`` in the README."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"README has no example block {name!r}"
    return match.group(1)


def test_the_example_is_15_to_30_lines_of_model():
    lines = [line for line in readme_block("my_model.py").splitlines() if line.strip()]
    assert 15 <= len(lines) <= 30


def test_readme_example_runs_and_the_api_and_the_cli_agree(quick_run, tmp_path, copy_stages):
    _, results = quick_run
    copy_stages(results, tmp_path / "results", ("data", "classifiers", "features", "models", "autoencoders",
                                                "evaluations"))  # the suite's stages and the quick run's MoPoE
    (tmp_path / "my_model.py").write_text(readme_block("my_model.py"))
    (tmp_path / "evaluate.py").write_text(readme_block("evaluate.py"))
    script = subprocess.run([sys.executable, "evaluate.py"], cwd=tmp_path, capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    assert "mean_of_given" in script.stdout and "coherence_k1" in script.stdout
    api = json.loads((tmp_path / "results" / "polymnist" / "results.json").read_text())

    command = readme_block("command").split()
    assert command[0] == "mm-bench"
    cli = Path(sys.executable).parent / "mm-bench"  # the console script `pip install -e .` installs
    assert cli.exists(), "mm-bench is not installed: pip install -e ."
    done = subprocess.run([str(cli), *command[1:], "--no-progress", "--device", "cpu"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "results" / "polymnist" / "results.json").read_text())
    runs = {r["model"]: r for r in document["runs"]}
    assert set(runs) == {"mean_of_given", "mopoe"} and runs["mopoe"]["stages"]["model"] == "cached"
    assert runs["mean_of_given"]["stages"]["model"] == "computed"  # its fit ran in the harness

    given = next(r for r in api["runs"] if r["model"] == "mean_of_given")
    assert given["stages"]["model"] == "given"
    assert given["metrics"] == runs["mean_of_given"]["metrics"]  # scored object == trained by the harness
    # the given modality comes back as it is, so its self-coherence is the classifiers' accuracy on the same tuples
    accuracy = document["classifiers"]["test_accuracy"]
    assert given["metrics"]["coherence_self"] == pytest.approx(sum(accuracy.values()) / len(accuracy), abs=1e-9)
    assert given["metrics"]["coherence_k4"] > 0.2  # the mean of four given digits is still read as that digit


def test_mm_bench_help_and_version():
    cli = Path(sys.executable).parent / "mm-bench"
    assert cli.exists(), "mm-bench is not installed: pip install -e ."
    done = subprocess.run([str(cli), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--include" in done.stdout and "--checkpoint" in done.stdout
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and re.fullmatch(r"mm-bench \d+\.\d+\.\d+\s*", version.stdout)


def test_the_readme_is_a_users_page():
    """Quick start first, at most 300 lines; the study, speed and reference material lives in docs/."""
    text = (ROOT / "README.md").read_text()
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert len(text.splitlines()) <= 300 and sections[0] == "Quick start"
    for page in ("usage.md", "study.md", "speed.md", "reference.md", "extending/model.md", "extending/metric.md",
                 "extending/kind.md", "extending/suite.md"):
        assert (ROOT / "docs" / page).is_file() and f"docs/{page}" in text, page
