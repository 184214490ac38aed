"""Regenerate the result tables of the README and of the docs pages from the committed runs under ``results/``.

    python -m tools.readme_results          # rewrite the generated blocks of README.md and docs/*.md in place
    python -m tools.readme_results --check  # exit 1 if a block differs from its source (what the tests run)

A generated block is delimited by ``<!-- generated from results/<...>/summary.md -->`` (or a learning-curve study,
``results/learning_curves/<suite>.json``, a ``--plan`` output, ``benchmarks.plan_vs_run`` or
``benchmarks.eval_vs_multivae``, ``benchmarks.ranking_vs_converged`` JSON) and ``<!-- end generated -->``. From a ``summary.md`` it holds the run's
Markdown table and, from the ``results.json`` beside it (``summary.json`` for runs written before it), the wall time
of every stage; from a learning-curve study,
each model's last evaluation (steps, training seconds, k = 1 and self-reconstruction coherence), the first step
at which k = 1 reached 0.2 and, for curves read from a run, k = 1's rise over the last quarter and the status. Numbers in the README are never typed by hand.
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


def timings_of(run_json: Path) -> str:
    """One line of stage wall times from a run's ``results.json`` (or older ``summary.json``; seconds, rounded)."""
    timings = json.loads(run_json.read_text())["timings_s"]
    return "Wall time per stage (2 CPU cores): " + "; ".join(f"{stage} {seconds:.0f} s" for stage, seconds in timings.items()) + "."


def curves_of(study_json: Path, *, target: float = 0.2) -> str:
    """A table of a ``benchmarks.learning_curves`` study: per model, its last evaluation and when k = 1 reached
    ``target`` (MLD's rows are its score network; its autoencoders' seconds are included); for curves read from a
    run (``--from-run``), also k = 1's rise from 75% of the training to its end and the status it gives."""
    study = json.loads(study_json.read_text())
    with_status = any("rise" in result.get("training", {}) for result in study["results"])
    rows = [
        "| Model | steps | training s | Coh k=1 | Coh self | first step with k=1 >= %.1f |" % target
        + (" k=1 rise from 75% of training | training |" if with_status else ""),
        "|:--|--:|--:|--:|--:|--:|" + ("--:|:--|" if with_status else ""),
    ]
    for result in study["results"]:
        points = [p for p in result["points"] if not p["stage"].startswith("autoencoder ")]
        last = points[-1]
        reached = next((p["steps"] for p in points if p["k1"] >= target), None)
        status = result.get("training", {})
        rows.append(
            f"| {result.get('label', result['model'])} | {last['steps']:,} | {last['seconds']:.0f} | {last['k1']:.3f} "
            f"| {last['self']:.3f} | {'not reached' if reached is None else f'{reached:,}'} |"
            + (f" {status['rise']:+.3f} | {status['status']} |" if with_status and "rise" in status else
               " — | — |" if with_status else "")
        )
    return "\n".join(rows)


def plan_of(plan_json: Path) -> str:
    """A table of a ``--plan`` output: predicted wall time and peak memory per stage (a model's seeds, which cost
    the same, on one row), and the total."""
    from bench.plan import duration

    plan = json.loads(plan_json.read_text())
    rows = [f"Predicted by `--plan` on {plan['device']} for {plan['n_train']:,} train / {plan['n_test']:,} test "
            f"tuples ({plan['sizes']}); the probes took {plan['probe_seconds']:.0f} s:", "",
            "| Stage | predicted | peak MB |", "|:--|--:|--:|"]
    grouped: dict[str, list[dict]] = {}
    for stage in plan["stages"]:
        grouped.setdefault(re.sub(r" seed \d+:", ":", stage["stage"]), []).append(stage)
    for name, stages in grouped.items():
        peak = max(s["peak_mb"] for s in stages)
        seconds = sum(s["seconds"] for s in stages)
        label = name if len(stages) == 1 else f"{name} ({len(stages)} seeds, {duration(stages[0]['seconds'])} each)"
        rows.append(f"| {label} | {duration(seconds)} | {'' if peak != peak else f'{peak:,.0f}'} |")
    rows.append(f"| **total** | **{duration(plan['total_seconds'])}** | |")
    return "\n".join(rows)


def plan_check_of(check_json: Path) -> str:
    """A table of ``benchmarks.plan_vs_run``: predicted against measured seconds per stage."""
    check = json.loads(check_json.read_text())
    rows = ["| Stage | predicted s | measured s | predicted / measured |", "|:--|--:|--:|--:|"]
    for r in check["rows"]:
        measured = "—" if r["measured_s"] is None else f"{r['measured_s']:.1f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        rows.append(f"| {r['stage']} | {r['predicted_s']:.1f} | {measured} | {ratio} |")
    return "\n".join(rows)


def eval_speed_of(bench_json: Path) -> str:
    """A table of ``benchmarks.eval_vs_multivae``: seconds per round, the ratio and the rows per test tuple."""
    data = json.loads(bench_json.read_text())
    rows = ["| Test tuples | ours s | MultiVae s | MultiVae / ours | rows per tuple, ours (enc / dec / clf) "
            "| MultiVae (enc / dec / clf) | labels differing, native vs generate |", "|--:|--:|--:|--:|--:|--:|--:|"]
    for r in data["results"]:
        ours, theirs = r["rows_per_tuple"]["ours"], r["rows_per_tuple"]["multivae"]
        same = r["native_vs_generate"]
        rows.append(
            f"| {r['tuples']:,} | {' / '.join(f'{s:.1f}' for s in r['seconds']['ours'])} "
            f"| {' / '.join(f'{s:.1f}' for s in r['seconds']['multivae'])} "
            f"| {' / '.join(f'{v:.2f}' for v in r['ratios'])} "
            f"| {ours['encoder']:.0f} / {ours['decoder']:.0f} / {ours['classifier']:.0f} "
            f"| {theirs['encoder']:.0f} / {theirs['decoder']:.0f} / {theirs['classifier']:.0f} "
            f"| {same['differing_labels']} of {same['images']:,} |"
        )
    return "\n".join(rows)


def step_speed_of(bench_json: Path) -> str:
    """A table of ``benchmarks.baselines_vs_multivae``: milliseconds per training step and the ratio."""
    data = json.loads(bench_json.read_text())
    rows = ["| model | ours ms | MultiVae ms | MultiVae / ours | timing |", "|:--|--:|--:|--:|:--|"]
    for name, t in data["models"].items():
        rows.append(f"| {name} | {t['ours_ms']:,.0f} | {t['multivae_ms']:,.0f} | {t['ratio']:.2f} "
                    f"| best of {t['repeats']} x {t['steps']} steps |")
    return "\n".join(rows)


def mld_limits_of(summary_json: Path) -> str:
    """Tables of ``benchmarks.mld_limits --summarize``: every experiment at every budget (steps, training seconds,
    coherence by number of given modalities, self and joint), then what each examination found."""
    data = json.loads(summary_json.read_text())
    rows = ["| Suite | experiment | epochs | steps | training s | Coh k=1 | k=2 | k=3 | k=4 | self | joint |",
            "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in data["rows"]:
        ks = " | ".join(f"{r[k]:.3f}" if k in r else "—" for k in ("k1", "k2", "k3", "k4"))
        rows.append(f"| {r['suite']} | {r['experiment']} | {r['epoch']:,} | {r['steps']:,} | {r['train_seconds']:.0f} "
                    f"| {ks} | {r['self']:.3f} | {r['joint']:.3f} |")
    rows += ["", "| Suite | experiment | epochs | measure | EMA (as sampled) | raw weights | training tuples "
             "| sampler, preset | sampler, reference (250, 10, 10) |", "|:--|:--|--:|:--|--:|--:|--:|--:|--:|"]
    for e in data["examined"]:
        for k in ("k1", "k2", "k3", "k4", "joint"):
            if k not in e["ema"]:
                continue
            cells = " | ".join(f"{e[part][k]:.3f}" for part in ("ema", "raw", "train", "preset_sampler",
                                                                 "reference_sampler"))
            rows.append(f"| {e['suite']} | {e['experiment']} | {e['epoch']:,} | {k} | {cells} |")
    rows += ["", "| Suite | experiment | epochs | modality | latent probe, linear | latent probe, 5-NN "
             "| reconstruction read correctly | k = 1 target / its reconstruction | joint coherence without it |",
             "|:--|:--|--:|:--|--:|--:|--:|--:|--:|"]
    for e in data["examined"]:
        for m, probe in e["probe"].items():
            recon = e["reconstruction"].get(m)
            ratio = e["target_vs_reconstruction"].get(m)
            without = e["joint_without"].get(m)
            cells = [f"{probe['linear']:.3f}", f"{probe['knn5']:.3f}"] + [
                "—" if v is None else f"{v:.3f}" for v in (recon, ratio, without)]
            rows.append(f"| {e['suite']} | {e['experiment']} | {e['epoch']:,} | {m} | {' | '.join(cells)} |")
        rows.append(f"| {e['suite']} | {e['experiment']} | {e['epoch']:,} | all (joint: every modality) | | "
                    f"| product {e['reconstruction_product']:.3f} | | {e['joint_without']['all']:.3f} |")
    return "\n".join(rows)


def step_flops_of(bench_json: Path) -> str:
    """Tables of ``benchmarks.step_speed``: FLOPs, time and achieved FLOP/s of a training step and its parts, then
    the Adam step by each of PyTorch's CPU implementations where measured."""
    data = json.loads(bench_json.read_text())
    runs = data["runs"] if "runs" in data else [data]
    rows = ["| measured | step | GFLOP per step | ms per step (parts) | ms per step (fit) | GFLOP/s | of peak "
            "| outside forward + backward | ms per part |", "|:--|:--|--:|--:|--:|--:|--:|--:|:--|"]
    for run in runs:
        for r in run["rows"]:
            parts = ", ".join(f"{k} {1e3 * v:.1f}" for k, v in r["parts_s"].items())
            rows.append(f"| {run['label'] or '—'} | {r['what']} (batch {r['batch']}) | {r['flops_per_step'] / 1e9:.2f} "
                        f"| {1e3 * r['step_s']:.1f} | {1e3 * r['whole_fit_step_s']:.1f} "
                        f"| {r['achieved_flops'] / 1e9:.1f} | {100 * r['share_of_peak']:.0f}% "
                        f"| {100 * r['share_outside_forward_backward']:.0f}% | {parts} |")
    peaks = "; ".join(f"{run['label'] or 'run'}: {run['peak_flops'] / 1e9:.1f} GFLOP/s on {run['threads']} threads"
                      for run in runs)
    measured = [(run, r) for run in runs for r in run["rows"] if "adam_variants" in r]
    variants = []
    if measured:
        steps = measured[0][1]["adam_variants"]["steps"]
        variants = ["", ("| measured | step | Adam step ms: per tensor (used) | foreach | fused "
                         f"| weights after {steps} steps, largest difference from per tensor: foreach | fused |"),
                    "|:--|:--|--:|--:|--:|--:|--:|"]
    for run, r in measured:
        v = r["adam_variants"]
        ms = " | ".join(f"{1e3 * v['step_s'][k]:.2f}" for k in ("per tensor", "foreach", "fused"))
        dw = " | ".join(f"{v['max_abs_weight_difference'][k]:.1e}" for k in ("foreach", "fused"))
        variants.append(f"| {run['label'] or '—'} | {r['what']} | {ms} | {dw} |")
    table = "\n".join(rows + variants)
    return table + f"\n\nPeak (the fastest fp32 2048 x 2048 matrix product): {peaks}."


def ranking_of(bench_json: Path) -> str:
    """The tables of ``benchmarks.ranking_vs_converged``: per metric, each model's value and rank in the run and in
    the converged reference, the run's training status, and whether the ranking holds."""
    from benchmarks.ranking_vs_converged import markdown

    return markdown(json.loads(bench_json.read_text())["metrics"]).rstrip("\n")


def render(source: str, root: Path = ROOT) -> str:
    """The body of the block generated from ``source`` (a summary.md, a learning-curve study, a plan, a plan check
    or an evaluation benchmark, relative to ``root``)."""
    path = root / source
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        kind = data.get("benchmark") if "stages" not in data else "plan"
        renderer = {"plan": plan_of, "plan_vs_run": plan_check_of, "eval_vs_multivae": eval_speed_of,
                    "baselines_vs_multivae": step_speed_of, "mld_limits": mld_limits_of,
                    "step_speed": step_flops_of, "ranking_vs_converged": ranking_of}.get(kind, curves_of)
        return renderer(path) + "\n"
    body = table_of(path) + "\n"
    run_json = next((p for p in (path.parent / "results.json", path.with_suffix(".json")) if p.exists()), None)
    if run_json is not None:
        body += "\n" + timings_of(run_json) + "\n"
    return body


def regenerate(text: str, root: Path = ROOT) -> str:
    """``text`` with every generated block's body replaced by ``render`` of its source."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("source"), root) + m.group(4), text)


def pages(root: Path = ROOT) -> list[Path]:
    """The pages that hold generated blocks: the README and every docs page that has one."""
    found = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [p for p in found if p.is_file() and BLOCK.search(p.read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale blocks instead of rewriting them")
    parser.add_argument("--root", default=str(ROOT), help="the repository: sources are relative to it")
    parser.add_argument("--page", action="append", help="a page to regenerate (default: every page with a block)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    targets = [Path(p) for p in args.page] if args.page else pages(root)
    stale_pages = 0
    for page in targets:
        text = page.read_text()
        if not BLOCK.search(text):
            print(f"{page}: no generated block", file=sys.stderr)
            return 1
        new = regenerate(text, root)
        if args.check:
            stale = [m.group("source") for m, n in zip(BLOCK.finditer(text), BLOCK.finditer(new)) if m.group(0) != n.group(0)]
            if stale:
                print(f"{page}: stale blocks from {', '.join(stale)}; run python -m tools.readme_results", file=sys.stderr)
                stale_pages += 1
        else:
            page.write_text(new)
    return 1 if stale_pages else 0


if __name__ == "__main__":
    sys.exit(main())
