"""How well ``--plan`` predicted a run: predicted against measured wall time per stage.

    python -m bench.run --suite polymnist --plan --out fresh        # on an empty --out: every stage is predicted
    python -m bench.run --suite polymnist --out fresh               # the run itself
    python -m benchmarks.plan_vs_run fresh/polymnist/plan-default.json fresh/polymnist/results.json \
        --json results/plans/polymnist-default-vs-run.json

Stages are matched by name (the run's ``<model>/seed<s> train`` and ``evaluate`` timings against the plan's
``<model> seed <s>: training`` and ``evaluation``). Prints the table and writes ``--json``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def run_stage_name(name: str) -> str:
    """A run's timing label in the plan's naming: ``mld/seed0 train (computed)`` -> ``mld seed 0: training``,
    ``real features (clf)`` -> ``real features``."""
    if m := re.fullmatch(r"(\S+)/seed(\d+) (train|evaluate)(?: \(.*\))?", name):
        return f"{m[1]} seed {m[2]}: {'training' if m[3] == 'train' else 'evaluation'}"
    return re.sub(r" \(.*\)$", "", name)


def compare(plan: dict, summary: dict) -> list[dict]:
    """One row per stage of the plan: predicted and measured seconds and their ratio (real features summed over
    feature spaces)."""
    measured: dict[str, float] = {}
    for name, seconds in summary["timings_s"].items():
        key = run_stage_name(name)
        measured[key] = measured.get(key, 0.0) + seconds
    rows = []
    for stage in plan["stages"]:
        actual = measured.get(stage["stage"])
        ratio = None if not actual else stage["seconds"] / actual
        rows.append({"stage": stage["stage"], "predicted_s": stage["seconds"], "measured_s": actual, "ratio": ratio})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", help="plan-<scale>.json written by --plan")
    parser.add_argument("summary", help="results.json of the run (or summary.json of a run written before it)")
    parser.add_argument("--json", default=None, help="write the comparison here")
    args = parser.parse_args(argv)
    plan, summary = (json.loads(Path(p).read_text()) for p in (args.plan, args.summary))
    rows = compare(plan, summary)
    print(f"{'stage':30s} {'predicted s':>12s} {'measured s':>11s} {'ratio':>6s}")
    for r in rows:
        measured = "-" if r["measured_s"] is None else f"{r['measured_s']:.1f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['stage']:30s} {r['predicted_s']:12.1f} {measured:>11s} {ratio:>6s}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "plan_vs_run", "suite": plan["suite"], "scale": plan["scale"],
                                    "device": plan["device"], "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
