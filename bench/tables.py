"""Result tables: long-form records -> mean ± std over seeds -> Markdown, LaTeX and CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.store import save_text


@dataclass(frozen=True)
class Column:
    """A reported metric: its key in the run records, its header, whether higher is better (None: neither, e.g. a
    parameter count; such columns get no arrow and no bold), the digits shown, and the column group it belongs to
    (a spanning header in LaTeX, e.g. "Coherence")."""

    key: str
    header: str
    higher_is_better: bool | None = True
    digits: int = 3
    group: str = ""

    @property
    def title(self) -> str:
        arrow = {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]
        return f"{self.header}{arrow}"


def coherence_columns(n_modalities: int) -> list[Column]:
    """Joint coherence, then conditional coherence for k = 1..M-1 given modalities (targets not given)."""
    return [Column("joint", "Joint", group="Coherence")] + [
        Column(f"k{k}", f"k={k}", group="Coherence") for k in range(1, n_modalities)
    ]


FEATURE_LABELS = {"clf": "FD-clf", "inception": "FID"}  # how a feature space's Fréchet distance is called
FEATURE_NAMES = {"clf": "classifier penultimate (128-d)", "inception": "Inception-v3 pool3 (2048-d)"}


def fd_columns(extractor: str, modalities: tuple[str, ...]) -> list[Column]:
    """FD of the unconditional samples per modality and their mean, then conditional FD per subset size k."""
    label = FEATURE_LABELS.get(extractor, f"FD-{extractor}")
    return (
        [Column(f"fd_{extractor}_{m}", f"{label} {m}", False, group="Unconditional") for m in modalities]
        + [Column(f"fd_{extractor}_uncond", f"{label} mean", False, group="Unconditional")]
        + [Column(f"fd_{extractor}_k{k}", f"{label} k={k}", False, group="Conditional") for k in range(1, len(modalities))]
    )


def prdc_columns(extractor: str, n_modalities: int) -> list[Column]:
    """Precision and recall of the unconditional samples and per subset size, then density and coverage. Density
    has no "better" direction (above 1 means samples crowd around real points), so it is never bold."""
    sizes = range(1, n_modalities)
    return (
        [Column(f"precision_{extractor}_uncond", "P", group="Unconditional"),
         Column(f"recall_{extractor}_uncond", "R", group="Unconditional")]
        + [Column(f"precision_{extractor}_k{k}", f"P k={k}", group="Conditional") for k in sizes]
        + [Column(f"recall_{extractor}_k{k}", f"R k={k}", group="Conditional") for k in sizes]
        + [Column(f"density_{extractor}_uncond", "D", None, group="Unconditional"),
           Column(f"coverage_{extractor}_uncond", "C", group="Unconditional")]
    )


def summary_columns(n_modalities: int, extractors: list[str]) -> list[Column]:
    """The paper-style row: coherence, then per feature space FD (unconditional mean, per k) and P/R."""
    columns = [Column("joint", "Coh joint", group="Coherence")]
    columns += [Column(f"k{k}", f"Coh k={k}", group="Coherence") for k in range(1, n_modalities)]
    for name in extractors:
        label = FEATURE_LABELS.get(name, f"FD-{name}")
        columns += [Column(f"fd_{name}_uncond", f"{label} uncond", False, group=label)]
        columns += [Column(f"fd_{name}_k{k}", f"{label} k={k}", False, group=label) for k in range(1, n_modalities)]
        columns += [
            Column(f"precision_{name}_uncond", f"P ({name})", group=f"P/R ({name})"),
            Column(f"recall_{name}_uncond", f"R ({name})", group=f"P/R ({name})"),
        ]
    return columns


def bimodal_columns(modalities: tuple[str, str], extractors: list[str], short: dict[str, str]) -> list[Column]:
    """The bimodal paper layout (MLD's MNIST-SVHN table): coherence joint, A->B, B->A; then per feature space FD of
    the joint samples of A and of B and of the cross generations A->B and B->A. ``short`` abbreviates the modality
    names in the headers (e.g. mnist -> M)."""
    a, b = modalities
    sa, sb = short.get(a, a), short.get(b, b)
    columns = [
        Column("joint", "Coh joint", group="Coherence"),
        Column(f"coh_{a}_to_{b}", f"Coh {sa}→{sb}", group="Coherence"),
        Column(f"coh_{b}_to_{a}", f"Coh {sb}→{sa}", group="Coherence"),
    ]
    for name in extractors:
        label = FEATURE_LABELS.get(name, f"FD-{name}")
        columns += [
            Column(f"fd_{name}_{a}", f"{label} joint ({sa})", False, group=label),
            Column(f"fd_{name}_{b}", f"{label} joint ({sb})", False, group=label),
            Column(f"fd_{name}_{a}_to_{b}", f"{label} {sa}→{sb}", False, group=label),
            Column(f"fd_{name}_{b}_to_{a}", f"{label} {sb}→{sa}", False, group=label),
        ]
    return columns


EFFICIENCY_COLUMNS = [
    Column("parameters", "Parameters (M)", None, 2, "Model"),
    Column("network_calls_per_sample", "NFE per sample", None, 0, "Model"),
    Column("train_seconds", "Train s", None, 1, "Training"),
    Column("train_peak_memory_mb", "Train peak MB", None, 0, "Training"),
    Column("train_added_memory_mb", "Train +MB", None, 0, "Training"),
    Column("evaluate_seconds", "Eval s", None, 1, "Evaluation"),
    Column("evaluate_peak_memory_mb", "Eval peak MB", None, 0, "Evaluation"),
    Column("evaluate_added_memory_mb", "Eval +MB", None, 0, "Evaluation"),
]


def efficiency_records(records: list[dict]) -> list[dict]:
    """The ``efficiency`` part of run records in the shape ``summarize`` reads (parameters in millions)."""
    return [
        {"model": r["model"], "seed": r["seed"],
         "metrics": {**r["efficiency"], "parameters": r["efficiency"]["parameters"] / 1e6}}
        for r in records
    ]


def summarize(records: list[dict], columns: list[Column]) -> pd.DataFrame:
    """Long form ``model, metric, mean, std, n``: one row per (model, metric), aggregated over seeds.

    ``std`` is the sample standard deviation (ddof = 1); it is NaN for a single seed.
    """
    rows = [
        {"model": r["model"], "seed": r["seed"], "metric": c.key, "value": _number(r["metrics"][c.key])}
        for r in records
        for c in columns
    ]
    long = pd.DataFrame(rows)
    order = {c.key: i for i, c in enumerate(columns)}
    stats = long.groupby(["model", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats = stats.rename(columns={"count": "n"})
    return stats.sort_values(["model", "metric"], key=lambda s: s.map(order) if s.name == "metric" else s)


def _number(value) -> float:
    """A metric value as a float; None (not measured) becomes NaN."""
    return math.nan if value is None else float(value)


def format_cell(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def best_models(stats: pd.DataFrame, column: Column) -> set[str]:
    """Models whose mean is the best in ``column`` (ties included); none for a column without a direction or with
    fewer than two models."""
    means = stats[stats.metric == column.key].set_index("model")["mean"].dropna()
    if column.higher_is_better is None or len(means) < 2:
        return set()
    best = means.max() if column.higher_is_better else means.min()
    return set(means.index[means == best])


def pivot(
    stats: pd.DataFrame, columns: list[Column], constant: dict[str, str] | None = None, *, bold: str = "**{}**"
) -> pd.DataFrame:
    """One row per model, one column per metric, cells ``mean ± std`` with the best model's cell per column written
    through ``bold`` (a format string; "{}" for none); then ``constant`` columns (header -> the text of every cell,
    e.g. "unavailable"); plus the number of seeds."""
    table = pd.DataFrame(index=sorted(stats.model.unique()))
    for column in columns:
        rows = stats[stats.metric == column.key].set_index("model")
        best = best_models(stats, column)
        table[column.title] = [
            (bold if model in best else "{}").format(format_cell(rows.at[model, "mean"], rows.at[model, "std"], column.digits))
            for model in table.index
        ]
    for header, text in (constant or {}).items():
        table[header] = text
    table["seeds"] = stats.groupby("model")["n"].max()
    return table.rename_axis("Model").reset_index()


_LATEX = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
          "↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$"}


def latex_text(text: str) -> str:
    """Escape LaTeX's special characters and spell the arrows and ± as math."""
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def latex_table(stats: pd.DataFrame, columns: list[Column], constant: dict[str, str] | None = None) -> str:
    """A booktabs tabular: best cells in ``\\textbf``, and a spanning header row for the column groups."""
    table = pivot(stats, columns, constant, bold="\x00{}\x01")
    body = table.map(lambda cell: latex_text(cell).replace("\x00", r"\textbf{").replace("\x01", "}"))
    headers = [latex_text(h) for h in table.columns]
    text = tabulate(body, headers=headers, tablefmt="latex_raw", showindex=False, disable_numparse=True)
    lines = text.splitlines()
    rule = lines.index(r"\hline")
    lines[rule] = r"\toprule"
    lines[rule + 2] = r"\midrule"
    lines[-2] = r"\bottomrule"
    spans = _group_spans(columns, offset=1)
    if spans:
        cells, rules, position = [], [], 1
        for group, first, last in spans:
            cells += [""] * (first - position) + [rf"\multicolumn{{{last - first + 1}}}{{c}}{{{latex_text(group)}}}"]
            rules.append(rf"\cmidrule(lr){{{first}-{last}}}")
            position = last + 1
        lines[rule + 1 : rule + 1] = [" & ".join(cells + [""] * (len(headers) + 1 - position)) + r" \\", " ".join(rules)]
    return "\n".join(lines) + "\n"


def _group_spans(columns: list[Column], offset: int) -> list[tuple[str, int, int]]:
    """(group, first, last) 1-based table columns of each run of equal non-empty groups, after ``offset`` columns."""
    spans: list[tuple[str, int, int]] = []
    for i, column in enumerate(columns, start=offset + 1):
        if column.group and spans and spans[-1][0] == column.group and spans[-1][2] == i - 1:
            spans[-1] = (column.group, spans[-1][1], i)
        elif column.group:
            spans.append((column.group, i, i))
    return spans


def write_tables(
    stats: pd.DataFrame,
    columns: list[Column],
    out_dir: Path,
    stem: str,
    *,
    caption: str,
    constant: dict[str, str] | None = None,
) -> Path:
    """Write ``<stem>.md`` (caption + pipe table, best value per column in bold), ``<stem>.tex`` (booktabs, the same
    bold, column groups as spanning headers) and ``<stem>.csv`` (long form: model, metric, mean, std, n); return the
    .md path. ``constant`` columns (see ``pivot``) appear in the Markdown and LaTeX tables only."""
    table = pivot(stats, columns, constant)
    markdown = f"{caption}\n\n{tabulate(table, headers='keys', tablefmt='pipe', showindex=False, disable_numparse=True)}\n"
    save_text(markdown, out_dir / f"{stem}.md")
    save_text(latex_table(stats, columns, constant), out_dir / f"{stem}.tex")
    save_text(stats.to_csv(index=False), out_dir / f"{stem}.csv")
    return out_dir / f"{stem}.md"
