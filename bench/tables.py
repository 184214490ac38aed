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


def pivot(stats: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """One row per model, one column per metric, cells ``mean ± std``; plus the number of seeds."""
    cells = stats.assign(cell=[format_cell(m, s) for m, s in zip(stats["mean"], stats["std"])])
    table = cells.pivot(index="model", columns="metric", values="cell")[[c.key for c in columns]]
    table.columns = [c.title for c in columns]
    table["seeds"] = stats.groupby("model")["n"].max()
    return table.reset_index().rename(columns={"model": "Model"})


def write_tables(stats: pd.DataFrame, columns: list[Column], out_dir: Path, stem: str, *, caption: str) -> Path:
    """Write ``<stem>.md`` (caption + pipe table), ``<stem>.tex`` and ``<stem>.csv`` (long form); return the .md path."""
    table = pivot(stats, columns)
    markdown = f"{caption}\n\n{tabulate(table, headers='keys', tablefmt='pipe', showindex=False, disable_numparse=True)}\n"
    latex = tabulate(table, headers="keys", tablefmt="latex_booktabs", showindex=False, disable_numparse=True) + "\n"
    save_text(markdown, out_dir / f"{stem}.md")
    save_text(latex, out_dir / f"{stem}.tex")
    save_text(stats.to_csv(index=False), out_dir / f"{stem}.csv")
    return out_dir / f"{stem}.md"
