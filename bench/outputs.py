"""What a finished run leaves for readers: tables (Markdown, LaTeX, CSV), plots, a report and the results file
(``bench.results``), all built from the (model, seed) run records. The summary table's layout is the suite's
(``Suite.summary_columns``); every other table is a registered metric's (``bench.metrics.registry``)."""

from __future__ import annotations

from bench.metrics.features import SPACE_DESCRIPTIONS
from bench.metrics.frechet import fd_label
from bench.metrics.registry import feature_metrics, label_metrics
from bench.plots import plot_by_size, plot_loss_curves, plot_probes, write_report
from bench.results import results_document
from bench.store import save_json
from bench.tables import (
    EFFICIENCY_COLUMNS,
    LEGEND,
    Table,
    TableContext,
    efficiency_records,
    summarize,
    write_tables,
)


def table_context(prep, records: list[dict]) -> TableContext:
    """What the metrics lay their tables out with for this run (``bench.tables.TableContext``)."""
    test, cfg = prep.test, prep.cfg
    healthy = [r for r in records if r.get("status", "ok") == "ok"]
    n_joint = healthy[0]["counts"]["n_joint"] if healthy else 0
    seeds = sorted({r["seed"] for r in records})
    return TableContext(
        title=prep.suite.title,
        modalities=tuple(prep.spec.modalities),
        kinds={m: prep.spec.kind(m) for m in prep.spec.modalities},
        spaces={space: tuple(m for m in prep.spec.modalities if m in extractors)
                for space, (extractors, _) in prep.spaces.items()},
        labels={space: fd_label(space) for space in [*prep.spaces, *prep.unavailable]},
        features={space: SPACE_DESCRIPTIONS.get(space, space) for space in [*prep.spaces, *prep.unavailable]},
        data=f"{cfg.scale} scale, {len(test)} test tuples, data {prep.manifest.get('source', '?')}",
        samples=(f"{len(test)} real test images per modality; {len(test)} generated per (subset, target not in it) and "
                 f"{n_joint} unconditional samples per modality"),
        seeds=f"mean ± std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}",
        classifiers=", ".join(f"{m} {a:.3f}" for m, a in prep.clf_record["test_accuracy"].items()),
        chance=prep.suite.label_space.chance,
    )


def write_outputs(prep, records: list[dict]) -> tuple[str, dict]:
    """Write every table, plot, ``report.md`` and ``results.json`` of the run under ``<out>/<suite>/``; return the
    text report printed at the end of ``bench.run`` (the summary table, timings and where everything is) and the
    results file's content."""
    out, cfg = prep.out, prep.cfg
    context = table_context(prep, records)
    healthy = [r for r in records if r.get("status", "ok") == "ok"]
    written, figures, stats_by_table = [], [], {}

    summary_cols = prep.suite.summary_columns(context.modalities, list(prep.spaces))
    described = [
        f"{context.labels[s]}: Fréchet distance in {context.features[s]} features of unconditional samples (joint, "
        f"uncond) and of conditional generations (k=K: given K modalities; A→B: B given A)"
        for s in prep.spaces
    ]
    if any(c.key.startswith("precision_") for c in summary_cols):
        described.append("P/R: precision/recall of the unconditional samples in the same features")
    described += [f"{context.labels[s]} unavailable: {why}" for s, why in prep.unavailable.items()]
    stats_by_table["summary"] = summarize(records, summary_cols)
    written.append(write_tables(
        stats_by_table["summary"], summary_cols, out, "summary",
        caption=f"{context.title} summary ({context.data}; {context.samples}; {context.seeds}). Coh self: each "
        f"modality reconstructed from itself alone. " + ". ".join(described) + f". {LEGEND}.",
        constant={context.labels[s]: "unavailable" for s in prep.unavailable},
    ))

    def write(table: Table) -> None:
        """One metric table and its curve over the number of observed modalities."""
        stats = stats_by_table[table.stem] = summarize(records, table.columns)
        written.append(write_tables(stats, table.columns, out, table.stem, caption=f"{table.caption} {LEGEND}."))
        if table.plot is not None and healthy:
            plot = table.plot
            figures.append((plot.title, plot_by_size(
                stats, plot.prefix, out / "plots" / f"{plot.name}.png", ylabel=plot.ylabel,
                title=f"{context.title}: {plot.title}", lower_is_better=plot.lower_is_better,
                unit_interval=plot.unit_interval, chance=plot.chance)))

    for metric in label_metrics():
        for table in metric.tables(context):
            write(table)
    for space in prep.spaces:
        for metric in feature_metrics():
            for table in metric.tables_in(context, space):
                write(table)

    if healthy:
        memory = healthy[0]["efficiency"]["memory"]
        stats_by_table["efficiency"] = summarize(efficiency_records(healthy), EFFICIENCY_COLUMNS)
        written.append(write_tables(
            stats_by_table["efficiency"], EFFICIENCY_COLUMNS, out, "efficiency",
            caption=f"{context.title} cost ({context.data}; {context.seeds}), measured on {prep.device}: parameters, "
            f"network evaluations per generated sample, wall time and peak memory ({memory}; +MB: the peak above what "
            f"the process held when the stage began) of training (as recorded when the model was trained) and of "
            f"evaluation (every metric).",
        ))
    compute = plot_probes(healthy, out / "plots" / "coherence_vs_compute.png", chance=context.chance,
                          title=f"{context.title}: coherence against compute ({cfg.scale} scale, scored during training "
                          "on held-out test tuples)")
    if compute is not None:
        figures.append(("Coherence against compute: every model scored during its training", compute))
    figures.append(("Training loss per epoch of every stage", plot_loss_curves(
        records, out / "plots" / "loss_curves.png",
        title=f"{context.title}: training loss per epoch ({cfg.scale} scale)")))
    figures += [
        (f"Samples: {r['model']} (seed {r['seed']})", out / "samples" / f"{r['model']}-{cfg.scale}-seed{r['seed']}.png")
        for r in healthy
    ]
    report = write_report(
        out,
        title=f"{context.title} benchmark ({cfg.scale} scale)",
        intro=f"Models: {', '.join(sorted({r['model'] for r in records}))}; {context.seeds}; data "
        f"{prep.manifest.get('source', '?')}; device {prep.device}. Every number comes from the run records under "
        f"runs/{cfg.scale}/.",
        tables=written,
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
    lines = [written[0].read_text(), f"classifier test accuracy: {context.classifiers}"]
    lines += [f"{stage}: {seconds:.1f} s" for stage, seconds in timings.items()]
    lines.append(
        f"report: {report}; tables: {', '.join(p.name for p in written)} (each also .tex, .csv); results: "
        f"{out / 'results.json'}; records: {out / 'runs' / cfg.scale}; plots: {out / 'plots'}; samples: {out / 'samples'}"
    )
    return "\n".join(lines), document
