"""Does a run's ranking hold? The ranking of a (short) run against that of a converged reference, per metric.

    python -m bench.run --suite polymnist --out fresh                         # the default run
    python -m bench.run --suite polymnist --scale converged --out converged   # the reference (hours on 2 cores)
    python -m benchmarks.ranking_vs_converged fresh/polymnist/results.json converged/polymnist/results.json \
        --json results/rankings/polymnist.json

For each metric (k = 1 coherence and joint coherence, higher is better; FD-clf of the unconditional samples, lower is
better) the models both runs hold are ranked by their mean over seeds (rank 1 is the best). A pair of models that the
two runs order differently is *discordant*; it is *explained* when at least one of the two reads "still rising" (or
"unsteady") in the run's own training status (``bench.training_status``: k = 1 at the end of training more than
0.02, or more than 5% of its value above chance, above or below k = 1 at 75% of it), i.e. when the run's table
already warns that more training may reorder them. The ranking holds when every discordant pair is explained.
Several reference files (e.g. one model retrained longer in a run of its own) are merged: a model's runs come from
the last file that holds it. Prints one Markdown table per metric and writes ``--json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from bench.results import last_per_model
from bench.training_status import CONVERGED, UNSETTLED

METRICS = {"coherence_k1": "Coh k=1", "coherence_joint": "Coh joint", "fd_clf_uncond": "FD-clf uncond"}
LOWER_IS_BETTER = {"fd_clf_uncond"}


def model_means(results: dict, metric: str) -> dict[str, float]:
    """Mean over seeds of ``metric`` for every model whose every run finished with it."""
    values: dict[str, list[float]] = {}
    for run in results["runs"]:
        value = (run.get("metrics") or {}).get(metric)
        values.setdefault(run["model"], []).append(value)
    return {m: sum(v) / len(v) for m, v in values.items() if v and all(isinstance(x, (int, float)) for x in v)}


def training_of(results: dict) -> dict[str, str]:
    """Model -> "still rising" or "unsteady" if one of its runs reads so (more training could reorder it), else
    "converged"."""
    status: dict[str, str] = {}
    for run in results["runs"]:
        own = run.get("training", {}).get("status")
        if status.get(run["model"]) not in UNSETTLED:
            status[run["model"]] = own if own in UNSETTLED else CONVERGED
    return status


def ranks(means: dict[str, float], *, lower_is_better: bool) -> dict[str, int]:
    """Model -> rank (1 = best) by mean; ties share the better rank."""
    ordered = sorted(means.values(), reverse=not lower_is_better)
    return {m: ordered.index(v) + 1 for m, v in means.items()}


def merged(documents: list[dict]) -> dict:
    """One results document whose runs are, per model, those of the last document that holds the model, each with
    its document's commit."""
    runs = last_per_model([{**run, "commit": document["provenance"]["commit"]} for run in document["runs"]]
                          for document in documents)
    return {**documents[0], "runs": runs}


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def compare(run: dict, reference: dict) -> dict:
    """Per metric: each shared model's value and rank in both runs and its status in ``run``; the discordant pairs,
    which of them are explained, and whether the ranking holds (every discordant pair explained)."""
    training = training_of(run)
    unsettled = {m: status in UNSETTLED for m, status in training.items()}
    out = {}
    for metric in METRICS:
        lower = metric in LOWER_IS_BETTER
        ours, theirs = model_means(run, metric), model_means(reference, metric)
        shared = sorted(set(ours) & set(theirs))
        ours, theirs = {m: ours[m] for m in shared}, {m: theirs[m] for m in shared}
        rank_run, rank_ref = ranks(ours, lower_is_better=lower), ranks(theirs, lower_is_better=lower)
        pairs = []
        for a, b in itertools.combinations(shared, 2):
            if sign(rank_run[a] - rank_run[b]) != sign(rank_ref[a] - rank_ref[b]):
                pairs.append({"models": [a, b], "explained": unsettled.get(a, False) or unsettled.get(b, False)})
        out[metric] = {
            "lower_is_better": lower,
            "rows": [{"model": m, "run": ours[m], "reference": theirs[m], "rank_run": rank_run[m],
                      "rank_reference": rank_ref[m], "training": training.get(m, CONVERGED)} for m in shared],
            "discordant": pairs,
            "holds": all(p["explained"] for p in pairs),
        }
    return out


def markdown(comparison: dict) -> str:
    """One table per metric: value and rank in the run and in the reference, and the run's training status."""
    lines = []
    for metric, c in comparison.items():
        arrow = "↓" if c["lower_is_better"] else "↑"
        verdict = "holds" if c["holds"] else "does not hold"
        unexplained = [" / ".join(p["models"]) for p in c["discordant"] if not p["explained"]]
        lines += [f"{METRICS[metric]} {arrow}: the ranking {verdict}"
                  + (f" (not explained by a still rising or unsteady row: {', '.join(unexplained)})" if unexplained else ""), "",
                  "| Model | run | rank | converged | rank | run's training |", "|:--|--:|--:|--:|--:|:--|"]
        for r in sorted(c["rows"], key=lambda r: r["rank_reference"]):
            lines.append(f"| {r['model']} | {r['run']:.3f} | {r['rank_run']} | {r['reference']:.3f} | "
                         f"{r['rank_reference']} | {r['training']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="results.json of the run to check (e.g. the default scale)")
    parser.add_argument("reference", nargs="+", help="results.json of the converged reference (several: merged, a "
                                                     "model's runs from the last file that holds it)")
    parser.add_argument("--json", default=None, help="write the comparison here")
    args = parser.parse_args(argv)
    run = json.loads(Path(args.run).read_text())
    references = [json.loads(Path(p).read_text()) for p in args.reference]
    reference = merged(references)
    comparison = compare(run, reference)
    print(markdown(comparison))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "ranking_vs_converged", "suite": run["suite"],
                                    "run": {"scale": run["scale"], "commit": run["provenance"]["commit"]},
                                    "reference": [{"file": str(p), "scale": r["scale"], "commit": r["provenance"]["commit"],
                                                   "models": sorted({run["model"] for run in r["runs"]})}
                                                  for p, r in zip(args.reference, references)],
                                    "metrics": comparison}, indent=2) + "\n")
    return 0 if all(c["holds"] for c in comparison.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
