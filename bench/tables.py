"""Result tables: what a table is (``Column``, ``Table``, its ``Plot``, the ``TableContext`` metrics lay their tables
out with), and long-form records -> mean ± std over seeds -> Markdown, LaTeX and CSV. Which columns a metric's tables
hold lives with the metric (``bench.metrics``), the summary table's with the suite (``bench.suites.layouts``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd
from tabulate import tabulate

from bench.store import save_text
from bench.training_status import RISE, RISING, SHARE, UNSETTLED, UNSTEADY, status_text


CHANCE_P = 0.01  # a proportion is "at chance" unless a one-sided binomial test rejects chance at this level
COLLAPSE_SHARE = 0.5  # joint samples whose most frequent class (mean over modalities) exceeds this share: collapsed
CONFIDENCE = 0.95  # Wilson interval of a proportion, for bolding with one seed

LEGEND = (
    "Bold: the best value of a column, only when it is above chance and its interval (mean ± std over seeds; for a "
    "proportion also its 95% Wilson interval over the pooled test tuples or samples) does not overlap the "
    "runner-up's; with one seed and no binomial count (e.g. FD) nothing is bold. (chance): not above chance by a "
    f"one-sided binomial test at p < {CHANCE_P} on the pooled test tuples (chance 1/K for K classes; for joint "
    "coherence, the agreement of independent classifiers with the joint samples' class shares). (collapsed): the "
    f"joint samples' most frequent class takes more than {COLLAPSE_SHARE:.0%} of them (mean over modalities). "
    f"Training: {RISING} when the coherence given one modality, scored on held-out test tuples during training, rose "
    f"over the last quarter of the training by more than {RISE} or by more than {SHARE:.0%} of its value above chance "
    f"(more training could reorder the row; it is never bold), {UNSTEADY} when it fell by more than that (never bold "
    "either), converged otherwise"
)


@dataclass(frozen=True)
class Column:
    """A reported metric: its key in the run records, its header, whether higher is better (None: neither, e.g. a
    parameter count; such columns get no arrow and no bold), the digits shown, and the column group it belongs to
    (a spanning header in LaTeX, e.g. "Coherence").

    A proportion names ``trials``, the run-record count of the Bernoulli trials behind it (``"n_test"`` test tuples,
    ``"n_joint"`` joint samples), which gives it a binomial interval. A coherence names its ``chance`` level:
    ``"uniform"`` (1/K for K classes) or the metric key holding a per-run chance level
    (``"coherence_joint_chance"``).
    ``collapse`` names the metric key of the joint samples' top class share (flagged above ``COLLAPSE_SHARE``)."""

    key: str
    header: str
    higher_is_better: bool | None = True
    digits: int = 3
    group: str = ""
    trials: str | None = None
    chance: str | None = None
    collapse: str | None = None

    @property
    def title(self) -> str:
        arrow = {True: " ↑", False: " ↓", None: ""}[self.higher_is_better]
        return f"{self.header}{arrow}"


@dataclass(frozen=True)
class Plot:
    """A table's curve over the number of given modalities: the metrics ``<prefix><k>`` drawn against k
    (``bench.plots.plot_by_size``) at ``plots/<name>.png``."""

    prefix: str
    name: str
    ylabel: str
    title: str
    lower_is_better: bool = False
    unit_interval: bool = False
    chance: float | None = None


@dataclass(frozen=True)
class Table:
    """One table a metric writes: ``<stem>.{md,tex,csv}`` with these columns and caption (the legend of the flags is
    added), and its curve."""

    stem: str
    columns: list[Column]
    caption: str
    plot: Plot | None = None


@dataclass(frozen=True)
class TableContext:
    """What a metric lays out its tables with (``LabelMetric.tables``, ``FeatureMetric.tables_in``): the suite's title,
    modalities and their kinds, the modalities each feature space scores, the feature spaces' short labels and
    descriptions, and the texts that captions quote."""

    title: str
    modalities: tuple[str, ...]
    kinds: Mapping[str, str]
    spaces: Mapping[str, tuple[str, ...]]  # feature space -> the modalities it has extractors for
    labels: Mapping[str, str]  # feature space -> how its Fréchet distance is called ("FD-clf", "FID")
    features: Mapping[str, str]  # feature space -> its description
    data: str
    samples: str
    seeds: str
    classifiers: str  # the classifiers' test accuracy per modality
    chance: float | None = None  # a classifier's chance accuracy, 1 / number of classes

    def caption_fields(self, space: str) -> dict[str, str]:
        """What a feature metric's caption is formatted with in feature space ``space``."""
        return {"title": self.title, "label": self.labels[space], "features": self.features[space], "data": self.data,
                "samples": self.samples, "seeds": self.seeds, "space": space}



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


def status_of(records: list[dict]) -> str:
    """"ok", or what went wrong with a model's runs, e.g. "diverged at epoch 12 (score)" (seeds named when several)."""
    failed = [r for r in records if r.get("status", "ok") != "ok"]
    if not failed:
        return "ok"
    many = len(records) > 1
    return "; ".join(
        (f"seed {r['seed']} " if many else "") + f"{r['status']} at epoch {r['failure']['epoch']} ({r['failure']['stage']})"
        for r in failed
    )


def summarize(records: list[dict], columns: list[Column]) -> pd.DataFrame:
    """Long form, one row per (model, metric) aggregated over seeds: ``mean``, ``std`` (sample std, ddof = 1; NaN
    for one seed), ``n`` (seeds); for proportions the pooled ``trials``, and the interval ``lo``..``hi`` that decides
    bolding (module ``LEGEND``); for coherences the ``chance`` level, the binomial test's ``p_chance`` and
    ``at_chance``; ``flag`` ("collapsed" or ""); ``status`` ("ok" or the failure, whose rows hold no numbers); and
    ``training`` (``bench.training_status.status_text`` of the runs' ``training``: "converged", "still rising ...",
    or "" when unknown)."""
    by_model: dict[str, list[dict]] = {}
    for r in records:
        by_model.setdefault(r["model"], []).append(r)
    rows = []
    for model, runs in by_model.items():
        status, training = status_of(runs), status_text([r.get("training", {}) for r in runs])
        for c in columns:
            row = {"model": model, "metric": c.key, "n": len(runs), "status": status, "training": training}
            if status == "ok":
                row.update(_aggregate([_number(r["metrics"][c.key]) for r in runs], runs, c))
            rows.append(row)
    long = pd.DataFrame(rows)
    for name in ("mean", "std", "trials", "chance", "p_chance", "lo", "hi"):
        if name not in long:
            long[name] = math.nan
    long["at_chance"] = long.get("at_chance", pd.Series(False, index=long.index)).fillna(False).astype(bool)
    long["flag"] = long.get("flag", pd.Series("", index=long.index)).fillna("")
    long["training"] = long.get("training", pd.Series("", index=long.index)).fillna("")
    order = {c.key: i for i, c in enumerate(columns)}
    long = long[["model", "metric", "mean", "std", "n", "trials", "chance", "p_chance", "at_chance", "lo", "hi", "flag",
                 "status", "training"]]
    return long.sort_values(["model", "metric"], key=lambda s: s.map(order) if s.name == "metric" else s).reset_index(drop=True)


def _aggregate(values: list[float], runs: list[dict], column: Column) -> dict:
    """Mean, std, and the binomial quantities of one column over a model's seeds (``summarize``)."""
    from scipy.stats import binomtest

    finite = [v for v in values if not math.isnan(v)]
    mean = sum(finite) / len(finite) if finite else math.nan
    std = pd.Series(finite, dtype=float).std() if len(finite) > 1 else math.nan
    out: dict = {"mean": mean, "std": std, "lo": math.nan, "hi": math.nan}
    if not math.isnan(std):
        out["lo"], out["hi"] = mean - std, mean + std
    if column.trials is None or not finite or any(column.trials not in r.get("counts", {}) for r in runs):
        return out
    trials = sum(int(r["counts"][column.trials]) for r in runs)
    hits = min(trials, max(0, round(sum(v * r["counts"][column.trials] for v, r in zip(values, runs)))))
    ci = binomtest(hits, trials).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    out.update(trials=trials, lo=min(ci.low, out["lo"]) if not math.isnan(std) else ci.low,
               hi=max(ci.high, out["hi"]) if not math.isnan(std) else ci.high)
    if column.chance is not None:
        if column.chance == "uniform":
            levels = [r["counts"].get("chance", 1.0 / r["counts"]["n_classes"]) for r in runs]
        else:
            levels = [_number(r["metrics"].get(column.chance)) for r in runs]
        chance = sum(levels) / len(levels)
        p = 1.0 if math.isnan(chance) or chance >= 1 else binomtest(hits, trials, max(chance, 1e-12), "greater").pvalue
        out.update(chance=chance, p_chance=p, at_chance=bool(p >= CHANCE_P))
    if column.collapse is not None:
        shares = [_number(r["metrics"].get(column.collapse)) for r in runs]
        if sum(shares) / len(shares) > COLLAPSE_SHARE:
            out["flag"] = "collapsed"
    return out


def _number(value) -> float:
    """A metric value as a float; None (not measured) becomes NaN."""
    return math.nan if value is None else float(value)


def format_cell(mean: float, std: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f}" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def cell_text(row, digits: int) -> str:
    """``mean ± std`` with the row's marks, e.g. "0.103 (chance)", "0.650 (chance; collapsed)"; "—" without numbers."""
    if row["status"] != "ok" or pd.isna(row["mean"]):
        return "—"
    marks = [m for m in ("chance" if row["at_chance"] else "", row["flag"]) if m]
    return format_cell(row["mean"], row["std"], digits) + (f" ({'; '.join(marks)})" if marks else "")


def best_models(stats: pd.DataFrame, column: Column) -> set[str]:
    """The model whose mean is the best in ``column``, if it is above chance, not still rising or unsteady in training and
    separated from the runner-up (its interval ``lo``..``hi`` does not overlap the runner-up's); else none. None for a column without a direction,
    with fewer than two models, or a tie."""
    rows = stats[(stats.metric == column.key) & (stats.status == "ok")].dropna(subset=["mean"])
    if column.higher_is_better is None or len(rows) < 2:
        return set()
    ranked = rows.sort_values("mean", ascending=not column.higher_is_better)
    best, runner = ranked.iloc[0], ranked.iloc[1]
    if best["at_chance"] or best["mean"] == runner["mean"] or str(best["training"]).startswith(UNSETTLED):
        return set()
    separated = best["lo"] > runner["hi"] if column.higher_is_better else best["hi"] < runner["lo"]
    return {best["model"]} if separated else set()  # NaN bounds compare False: no interval, no bold


def pivot(
    stats: pd.DataFrame, columns: list[Column], constant: dict[str, str] | None = None, *, bold: str = "**{}**"
) -> pd.DataFrame:
    """One row per model, one column per metric, cells ``cell_text`` with the separated best cell per column written
    through ``bold`` (a format string; "{}" for none); then ``constant`` columns (header -> the text of every cell,
    e.g. "unavailable"); the number of seeds; a "training" column when some model's training status is known; and a
    "status" column when some model failed (its cells read "—")."""
    table = pd.DataFrame(index=sorted(stats.model.unique()))
    for column in columns:
        rows = stats[stats.metric == column.key].set_index("model")
        best = best_models(stats, column)
        table[column.title] = [
            (bold if model in best else "{}").format(cell_text(rows.loc[model], column.digits)) for model in table.index
        ]
    for header, text in (constant or {}).items():
        table[header] = text
    table["seeds"] = stats.groupby("model")["n"].max()
    training = stats.groupby("model")["training"].first()
    if (training != "").any():
        table["training"] = training.replace("", "—")
    status = stats.groupby("model")["status"].first()
    if (status != "ok").any():
        table["status"] = status
    return table.rename_axis("Model").reset_index()


_LATEX = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
          "↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$", "—": "---", "→": r"$\to$"}


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
