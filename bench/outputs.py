"""What a finished run leaves for readers: tables (Markdown, LaTeX, CSV), plots, a report and the results file
(``bench.results``), all built from the (model, seed) run records."""

from __future__ import annotations

from bench.metrics.registry import feature_metrics
from bench.plots import plot_by_size, plot_loss_curves, write_report
from bench.results import results_document
from bench.store import save_json
from bench.tables import (
    EFFICIENCY_COLUMNS,
    FEATURE_LABELS,
    LEGEND,
    FEATURE_NAMES,
    coherence_columns,
    efficiency_records,
    summarize,
    write_tables,
)


def write_outputs(prep, records: list[dict]) -> tuple[str, dict]:
    """Write every table, plot, ``report.md`` and ``results.json`` of the run under ``<out>/<suite>/``; return the
    text report printed at the end of ``bench.run`` (the summary table, timings and where everything is) and the
    results file's content."""
    out, test, cfg = prep.out, prep.test, prep.cfg
    modalities = tuple(prep.spec.modalities)
    title = prep.suite.title
    accuracy = ", ".join(f"{m} {a:.3f}" for m, a in prep.clf_record["test_accuracy"].items())
    data_text = f"{cfg.scale} scale, {len(test)} test tuples, data {prep.manifest.get('source', '?')}"
    healthy = [r for r in records if r.get("status", "ok") == "ok"]
    n_joint = healthy[0]["counts"]["n_joint"] if healthy else 0
    samples_text = (
        f"{len(test)} real test images per modality; {len(test)} generated per (subset, target not in it) and "
        f"{n_joint} unconditional samples per modality"
    )
    seeds = sorted({r["seed"] for r in records})
    seeds_text = f"mean ± std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}"
    tables, figures, stats_by_table = [], [], {}

    summary_cols = prep.suite.summary_columns(modalities, list(prep.spaces))
    described = [
        f"{FEATURE_LABELS[s]}: Fréchet distance in {FEATURE_NAMES[s]} features of unconditional samples (joint, "
        f"uncond) and of conditional generations (k=K: given K modalities; A→B: B given A)"
        for s in prep.spaces
    ]
    if any(c.key.startswith("precision_") for c in summary_cols):
        described.append("P/R: precision/recall of the unconditional samples in the same features")
    described += [f"{FEATURE_LABELS[s]} unavailable: {why}" for s, why in prep.unavailable.items()]
    stats_by_table["summary"] = summarize(records, summary_cols)
    tables.append(write_tables(
        stats_by_table["summary"], summary_cols, out, "summary",
        caption=f"{title} summary ({data_text}; {samples_text}; {seeds_text}). Coh self: each modality "
        f"reconstructed from itself alone. " + ". ".join(described) + f". {LEGEND}.",
        constant={FEATURE_LABELS[s]: "unavailable" for s in prep.unavailable},
    ))

    def table(columns, stem: str, caption: str, plot: tuple[str, str, str, str, bool] | None, **style) -> None:
        """Write one table and, with ``plot = (metric prefix, file stem, y label, figure caption, lower is
        better)``, its curve over the number of observed modalities at ``plots/<file stem>.png`` (``style``: the
        axis options of ``plot_by_size``)."""
        stats = stats_by_table[stem] = summarize(records, columns)
        tables.append(write_tables(stats, columns, out, stem, caption=f"{caption} {LEGEND}."))
        if plot is not None and healthy:
            prefix, name, ylabel, figure, lower = plot
            figures.append((figure, plot_by_size(stats, prefix, out / "plots" / f"{name}.png", ylabel=ylabel,
                                                 title=f"{title}: {figure}", lower_is_better=lower, **style)))

    table(
        coherence_columns(len(modalities)), "coherence",
        f"{title} coherence ({data_text}; {seeds_text}). Joint: all {len(modalities)} classifiers agree on a prior "
        f"sample. k=K: accuracy of a generated modality given K others, averaged over subsets and targets not given. "
        f"self: each modality reconstructed from itself alone. Classifier test accuracy: {accuracy}.",
        ("k", "coherence_by_size", "conditional coherence", "coherence given k modalities", False),
        unit_interval=True, chance=1.0 / healthy[0]["counts"]["n_classes"] if healthy else None,
    )
    for space in prep.spaces:
        label, features = FEATURE_LABELS[space], FEATURE_NAMES[space]
        for metric in feature_metrics():
            text = {"title": title, "label": label, "features": features, "data": data_text, "samples": samples_text,
                    "seeds": seeds_text, "space": space}
            plot = None
            if metric.plot is not None:
                measure, ylabel, figure = metric.plot
                plot = (f"{measure}_{space}_k", f"{measure}_{space}_by_size", ylabel.format(**text),
                        figure.format(**text), not metric.measures[measure])
            scored = tuple(m for m in modalities if prep.spec.kind(m) in metric.kinds and m in prep.spaces[space][0])
            table(metric.table_columns(space, scored, len(modalities)), f"{metric.table or metric.name}-{space}",
                  metric.caption.format(**text), plot, unit_interval=metric.unit_interval)

    if healthy:
        memory = healthy[0]["efficiency"]["memory"]
        stats_by_table["efficiency"] = summarize(efficiency_records(healthy), EFFICIENCY_COLUMNS)
        tables.append(write_tables(
            stats_by_table["efficiency"], EFFICIENCY_COLUMNS, out, "efficiency",
            caption=f"{title} cost ({data_text}; {seeds_text}), measured on {prep.device}: parameters, network "
            f"evaluations per generated sample, wall time and peak memory ({memory}; +MB: the peak above what the process "
            f"held when the stage began) of training (as recorded when the model was trained) and of evaluation "
            f"(coherence and quality).",
        ))
    figures.append(("Training loss per epoch of every stage", plot_loss_curves(
        records, out / "plots" / "loss_curves.png", title=f"{title}: training loss per epoch ({cfg.scale} scale)")))
    figures += [
        (f"Samples: {r['model']} (seed {r['seed']})", out / "samples" / f"{r['model']}-{cfg.scale}-seed{r['seed']}.png")
        for r in healthy
    ]
    report = write_report(
        out,
        title=f"{title} benchmark ({cfg.scale} scale)",
        intro=f"Models: {', '.join(sorted({r['model'] for r in records}))}; {seeds_text}; data {prep.manifest.get('source', '?')}; "
        f"device {prep.device}. Every number comes from the run records under runs/{cfg.scale}/.",
        tables=tables,
        figures=figures,
    )

    timings = dict(prep.timings)
    for r in healthy:
        run = f"{r['model']}/seed{r['seed']}"
        if r["efficiency"]["train_seconds"] is not None:  # a model handed to bench.evaluate was not trained here
            timings[f"{run} train ({r['stages']['model']})"] = r["efficiency"]["train_seconds"]
        timings[f"{run} evaluate ({r['stages']['evaluation']})"] = r["efficiency"]["evaluate_seconds"]
    document = results_document(prep, records, stats_by_table, timings)
    save_json(document, out / "results.json")
    lines = [tables[0].read_text(), f"classifier test accuracy: {accuracy}"]
    lines += [f"{stage}: {seconds:.1f} s" for stage, seconds in timings.items()]
    lines.append(
        f"report: {report}; tables: {', '.join(p.name for p in tables)} (each also .tex, .csv); results: "
        f"{out / 'results.json'}; records: {out / 'runs' / cfg.scale}; plots: {out / 'plots'}; samples: {out / 'samples'}"
    )
    return "\n".join(lines), document
