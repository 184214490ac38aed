"""Regenerate the README's result tables from the committed run under ``results/``.

    python -m tools.readme_results          # rewrite the generated blocks of README.md in place
    python -m tools.readme_results --check  # exit 1 if a block differs from its source (what the tests run)

A generated block is delimited by ``<!-- generated from results/<...>/summary.md -->`` (or a learning-curve study,
``results/learning_curves/<suite>.json``) and ``<!-- end generated -->``. From a ``summary.md`` it holds the run's
Markdown table and, from the ``summary.json`` beside it, the wall time of every stage; from a learning-curve study,
each model's last evaluation (steps, training seconds, k = 1 and self-reconstruction coherence) and the first step
at which k = 1 reached 0.2. Numbers in the README are never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- generated from (?P<source>\S+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def table_of(summary_md: Path) -> str:
    """The pipe table of a ``summary.md`` (its lines starting with "|")."""
    lines = [line for line in summary_md.read_text().splitlines() if line.startswith("|")]
    if not lines:
        raise ValueError(f"{summary_md} holds no table")
    return "\n".join(lines)


def timings_of(summary_json: Path) -> str:
    """One line of stage wall times from ``summary.json`` (seconds, rounded)."""
    timings = json.loads(summary_json.read_text())["timings_s"]
    return "Wall time per stage (2 CPU cores): " + "; ".join(f"{stage} {seconds:.0f} s" for stage, seconds in timings.items()) + "."


def curves_of(study_json: Path, *, target: float = 0.2) -> str:
    """A table of a ``benchmarks.learning_curves`` study: per model, its last evaluation and when k = 1 reached
    ``target`` (MLD's rows are its score network; its autoencoders' seconds are included)."""
    study = json.loads(study_json.read_text())
    rows = [
        "| Model | steps | training s | Coh k=1 | Coh self | first step with k=1 >= %.1f |" % target,
        "|:--|--:|--:|--:|--:|--:|",
    ]
    for result in study["results"]:
        points = [p for p in result["points"] if not p["stage"].startswith("autoencoder ")]
        last = points[-1]
        reached = next((p["steps"] for p in points if p["k1"] >= target), None)
        rows.append(
            f"| {result.get('label', result['model'])} | {last['steps']:,} | {last['seconds']:.0f} | {last['k1']:.3f} "
            f"| {last['self']:.3f} | {'not reached' if reached is None else f'{reached:,}'} |"
        )
    return "\n".join(rows)


def render(source: str, root: Path = ROOT) -> str:
    """The body of the block generated from ``source`` (a summary.md or study .json path relative to ``root``)."""
    path = root / source
    if path.suffix == ".json":
        return curves_of(path) + "\n"
    body = table_of(path) + "\n"
    if path.with_suffix(".json").exists():
        body += "\n" + timings_of(path.with_suffix(".json")) + "\n"
    return body


def regenerate(text: str, root: Path = ROOT) -> str:
    """``text`` with every generated block's body replaced by ``render`` of its source."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("source"), root) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale blocks instead of rewriting them")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text()
    if not BLOCK.search(text):
        print(f"{readme}: no generated block", file=sys.stderr)
        return 1
    new = regenerate(text, readme.parent)  # sources are relative to the README's folder
    if args.check:
        stale = [m.group("source") for m, n in zip(BLOCK.finditer(text), BLOCK.finditer(new)) if m.group(0) != n.group(0)]
        if stale:
            print(f"{readme}: stale blocks from {', '.join(stale)}; run python -m tools.readme_results", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
