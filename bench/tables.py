"""Result tables: long-form records -> mean ± std over seeds -> Markdown, LaTeX and CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.store import save_text


@dataclass(frozen=True)
class Column:
    """A reported metric: its key in the run records, its header, and whether higher is better."""

    key: str
    header: str
    higher_is_better: bool = True

    @property
    def title(self) -> str:
        return f"{self.header} {'↑' if self.higher_is_better else '↓'}"


def coherence_columns(n_modalities: int) -> list[Column]:
    """Joint coherence, then conditional coherence for k = 1..M-1 given modalities (targets not given)."""
    return [Column("joint", "Joint")] + [Column(f"k{k}", f"k={k}") for k in range(1, n_modalities)]


FEATURE_LABELS = {"clf": "FD-clf", "inception": "FID"}  # how a feature space's Fréchet distance is called
FEATURE_NAMES = {"clf": "classifier penultimate (128-d)", "inception": "Inception-v3 pool3 (2048-d)"}


def fd_columns(extractor: str, modalities: tuple[str, ...]) -> list[Column]:
    """FD of the unconditional samples per modality and their mean, then conditional FD per subset size k."""
    label = FEATURE_LABELS.get(extractor, f"FD-{extractor}")
    return (
        [Column(f"fd_{extractor}_{m}", f"{label} {m}", False) for m in modalities]
        + [Column(f"fd_{extractor}_uncond", f"{label} mean", False)]
        + [Column(f"fd_{extractor}_k{k}", f"{label} k={k}", False) for k in range(1, len(modalities))]
    )


def prdc_columns(extractor: str, n_modalities: int) -> list[Column]:
    """Precision and recall of the unconditional samples and per subset size, then density and coverage."""
    sizes = range(1, n_modalities)
    return (
        [Column(f"precision_{extractor}_uncond", "P"), Column(f"recall_{extractor}_uncond", "R")]
        + [Column(f"precision_{extractor}_k{k}", f"P k={k}") for k in sizes]
        + [Column(f"recall_{extractor}_k{k}", f"R k={k}") for k in sizes]
        + [Column(f"density_{extractor}_uncond", "D"), Column(f"coverage_{extractor}_uncond", "C")]
    )


def summary_columns(n_modalities: int, extractors: list[str]) -> list[Column]:
    """The paper-style row: coherence, then per feature space FD (unconditional mean, per k) and P/R."""
    columns = [Column("joint", "Coh joint")] + [Column(f"k{k}", f"Coh k={k}") for k in range(1, n_modalities)]
    for name in extractors:
        label = FEATURE_LABELS.get(name, f"FD-{name}")
        columns += [Column(f"fd_{name}_uncond", f"{label} uncond", False)]
        columns += [Column(f"fd_{name}_k{k}", f"{label} k={k}", False) for k in range(1, n_modalities)]
        columns += [Column(f"precision_{name}_uncond", f"P ({name})"), Column(f"recall_{name}_uncond", f"R ({name})")]
    return columns


def summarize(records: list[dict], columns: list[Column]) -> pd.DataFrame:
    """Long form ``model, metric, mean, std, n``: one row per (model, metric), aggregated over seeds.

    ``std`` is the sample standard deviation (ddof = 1); it is NaN for a single seed.
    """
    rows = [
        {"model": r["model"], "seed": r["seed"], "metric": c.key, "value": float(r["metrics"][c.key])}
        for r in records
        for c in columns
    ]
    long = pd.DataFrame(rows)
    order = {c.key: i for i, c in enumerate(columns)}
    stats = long.groupby(["model", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats = stats.rename(columns={"count": "n"})
    return stats.sort_values(["model", "metric"], key=lambda s: s.map(order) if s.name == "metric" else s)


def format_cell(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def pivot(stats: pd.DataFrame, columns: list[Column], constant: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per model, one column per metric, cells ``mean ± std``; then ``constant`` columns (header -> the
    text of every cell, e.g. "unavailable"); plus the number of seeds."""
    cells = stats.assign(cell=[format_cell(m, s) for m, s in zip(stats["mean"], stats["std"])])
    table = cells.pivot(index="model", columns="metric", values="cell")[[c.key for c in columns]]
    table.columns = [c.title for c in columns]
    for header, text in (constant or {}).items():
        table[header] = text
    table["seeds"] = stats.groupby("model")["n"].max()
    return table.reset_index().rename(columns={"model": "Model"})


def write_tables(
    stats: pd.DataFrame,
    columns: list[Column],
    out_dir: Path,
    stem: str,
    *,
    caption: str,
    constant: dict[str, str] | None = None,
) -> Path:
    """Write ``<stem>.md`` (caption + pipe table), ``<stem>.tex`` and ``<stem>.csv`` (long form); return the .md path.
    ``constant`` columns (see ``pivot``) appear in the Markdown and LaTeX tables only."""
    table = pivot(stats, columns, constant)
    markdown = f"{caption}\n\n{tabulate(table, headers='keys', tablefmt='pipe', showindex=False, disable_numparse=True)}\n"
    latex = tabulate(table, headers="keys", tablefmt="latex_booktabs", showindex=False, disable_numparse=True) + "\n"
    save_text(markdown, out_dir / f"{stem}.md")
    save_text(latex, out_dir / f"{stem}.tex")
    save_text(stats.to_csv(index=False), out_dir / f"{stem}.csv")
    return out_dir / f"{stem}.md"
