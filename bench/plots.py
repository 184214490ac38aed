"""Pictures of a run: metric-vs-subset-size curves (seaborn) and sample grids of real, joint and conditional
generations, plus the Markdown report that puts tables and pictures on one page."""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont
from torchvision.transforms.functional import to_pil_image
from torchvision.utils import make_grid

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import KINDS
from bench.devices import device_of
from bench.store import atomic_write

matplotlib.use("Agg")  # files only, never a window

GRID_BLOCKS = ("real", "joint samples", "given {first}", "given all but target")
LABEL_WIDTH = 150  # pixels left of the grid for the block labels
LABEL_FONT_SIZE = 13


def _series(stats: pd.DataFrame, prefix: str) -> dict[str, list[tuple[int, float, float]]]:
    """Per model (sorted), the ``(k, mean, std)`` of every metric named ``<prefix><k>`` for an integer k, in k order;
    a ValueError naming the prefix if no metric matches."""
    k = stats.metric.str.removeprefix(prefix)
    rows = stats.assign(k=k)[stats.metric.str.startswith(prefix) & k.str.fullmatch(r"\d+")]
    if rows.empty:
        raise ValueError(f"no metric named {prefix}<k> (k an integer) in {sorted(stats.metric.unique())}")
    rows = rows.assign(k=rows.k.astype(int)).sort_values(["model", "k"])
    return {
        model: [(int(r.k), float(r.mean), float(r.std)) for r in group.itertuples()]
        for model, group in rows.groupby("model", sort=True)
    }


MARKERS = "osD^vP*Xhd<>"  # one per model, so lines stay apart in greyscale and where colours are close


def model_styles(models) -> dict[str, dict]:
    """A fixed colour and marker per model (sorted), shared by every plot of a run."""
    models = sorted(models)
    colours = sns.color_palette("colorblind", len(models))
    return {m: {"color": c, "marker": MARKERS[i % len(MARKERS)]} for i, (m, c) in enumerate(zip(models, colours))}


def save_figure(fig, path: Path, *, dpi: int) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (``bench.store.atomic_write``) and close it, also on failure."""
    try:
        atomic_write(Path(path), lambda fh: fig.savefig(fh, format="png", dpi=dpi), "wb")
    finally:
        plt.close(fig)
    return Path(path)


def plot_by_size(
    stats: pd.DataFrame,
    prefix: str,
    path: Path,
    *,
    ylabel: str,
    title: str,
    lower_is_better: bool = False,
    unit_interval: bool = False,
    chance: float | None = None,
) -> Path:
    """A PNG at ``path``: one line per model (sorted; its own colour and marker), the mean of metric ``<prefix><k>``
    against the number k of observed modalities, with error bars of the std over seeds where it is defined (more than
    one seed). ``unit_interval`` fixes the y axis to 0..1 (a proportion such as coherence), so that differences
    near chance do not fill the plot; ``chance`` draws a dashed line at the chance level. Models without numbers
    (a failed training) are left out."""
    series = _series(stats[stats["mean"].notna()], prefix)
    styles = model_styles(stats.model.unique())
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, points in series.items():
        ks, means, stds = zip(*points)
        yerr = None if all(math.isnan(s) for s in stds) else stds
        ax.errorbar(ks, means, yerr=yerr, capsize=3, label=model, **styles[model])
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance ({chance:.2g})")
    if unit_interval:
        ax.set_ylim(0.0, 1.0)
    ax.set_xticks(sorted({k for points in series.values() for k, _, _ in points}))
    ax.set_xlabel("observed modalities k")
    ax.set_ylabel(f"{ylabel} ({'↓' if lower_is_better else '↑'} better)")
    ax.set_title(title)
    ax.legend(fontsize="small", frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


PROBE_PANELS = (("k1", "coherence given 1 modality", True), ("joint", "joint coherence", False),
                ("fd_clf", "FD-clf, joint samples (↓)", False))  # (key, label, chance line: 1/K)


def plot_probes(records: list[dict], path: Path, *, title: str, chance: float | None = None) -> Path | None:
    """A PNG at ``path`` of every model's probe points (``record["probes"]``, ``bench.probes``): k = 1 coherence
    against the optimiser steps of the probed stage, then k = 1, joint coherence and FD-clf against the whole
    training's seconds; one line per (model, seed), one colour and marker per model. None when no record has
    points."""
    with_points = [r for r in records if r.get("probes")]
    if not with_points:
        return None
    styles = model_styles({r["model"] for r in records})
    panels = [p for p in PROBE_PANELS if any(p[0] in q for r in with_points for q in r["probes"])]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(4.3 * (1 + len(panels)), 3.6), squeeze=False)
    axes = axes[0]
    for r in sorted(with_points, key=lambda r: (r["model"], r["seed"])):
        points, style = r["probes"], styles[r["model"]]
        label = r["model"] if r["seed"] == min(q["seed"] for q in with_points if q["model"] == r["model"]) else None
        axes[0].plot([p["steps"] for p in points], [p["k1"] for p in points], label=label, **style)
        for ax, (key, _, _) in zip(axes[1:], panels):
            ax.plot([p["total_seconds"] for p in points], [p.get(key, math.nan) for p in points], **style)
    axes[0].set(xlabel="optimiser steps (last stage)", ylabel="coherence given 1 modality")
    for ax, (_, ylabel, _) in zip(axes[1:], panels):
        ax.set(xlabel="training seconds", ylabel=ylabel)
    for ax, (key, _, chance_line) in zip(axes, (PROBE_PANELS[0], *panels)):
        if key != "fd_clf":
            ax.set_ylim(0.0, 1.0)
        if chance_line and chance is not None:
            ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance ({chance:.2g})")
    axes[0].legend(fontsize="small", frameon=False)
    fig.suptitle(title)
    sns.despine(fig)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_loss_curves(records: list[dict], path: Path, *, title: str) -> Path:
    """A PNG at ``path`` with one panel per model: the mean loss per epoch of every training stage of every seed
    (``record["curves"]``; log scale when all are positive), and a cross where a stage diverged."""
    models = sorted({r["model"] for r in records})
    cols = min(4, len(models))
    rows = math.ceil(len(models) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, model in zip(axes.flat, models):
        values = []
        for r in (r for r in records if r["model"] == model):
            stages = r.get("curves", {})
            palette = sns.color_palette("colorblind", max(1, len(stages)))
            for (stage, curve), colour in zip(stages.items(), palette):
                finite = [v if math.isfinite(v) else math.nan for v in curve]
                values += [v for v in finite if not math.isnan(v)]
                ax.plot(range(1, len(curve) + 1), finite, color=colour, label=f"{stage} (seed {r['seed']})", linewidth=1)
            failure = r.get("failure")
            if failure:
                curve = stages.get(failure["stage"], [])
                y = next((v for v in reversed(curve) if math.isfinite(v)), 0.0)
                ax.plot([failure["epoch"]], [y], "x", color="red", markersize=10, mew=2, label="diverged")
        if values and min(values) > 0:
            ax.set_yscale("log")
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.legend(fontsize="xx-small", frameon=False)
    for ax in list(axes.flat)[len(models):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


@torch.no_grad()
def _grid_blocks(model, test: MultimodalDataset, rows: int, seed: int) -> list[list[torch.Tensor]]:
    """The four blocks of the sample grid, each a list of M image rows (modalities in order, ``rows`` images each):
    real test tuples (a seeded pick), joint samples, every modality given the first alone, and leave-one-out (row t:
    modality t given all the others of the same real tuples, from one ``generate`` call on the tuples stacked M
    times with the masks "all but t"). One generator seeded with ``seed`` drives every call."""
    device = device_of([model])
    generator = torch.Generator(device=device).manual_seed(seed)
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:rows]
    x, _ = next(test.subset(pick).batches(rows, device=device))
    n, m = len(pick), len(test.modalities)
    first = torch.zeros(n, m, dtype=torch.bool, device=device)
    first[:, 0] = True
    all_but = ~torch.eye(m, dtype=torch.bool, device=device).repeat_interleave(n, dim=0)  # row t*n+i: all but t
    stacked = {k: v.repeat(m, *([1] * (v.ndim - 1))) for k, v in x.items()}
    joint = model.sample(n, generator=generator)
    given_first = model.generate(x, first, generator=generator)
    loo = model.generate(stacked, all_but, generator=generator)
    return [
        [x[k] for k in test.modalities],
        [joint[k] for k in test.modalities],
        [given_first[k] for k in test.modalities],
        [loo[k][t * n : (t + 1) * n] for t, k in enumerate(test.modalities)],
    ]


def _labelled(grid: Image.Image, labels: list[str]) -> Image.Image:
    """``grid`` (equal blocks stacked vertically, one per label) on a white canvas with each label written left of
    its block and a grey rule between blocks."""
    canvas = Image.new("RGB", (LABEL_WIDTH + grid.width, grid.height), "white")
    canvas.paste(grid, (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), LABEL_FONT_SIZE)  # matplotlib's own
    block_height = (grid.height - 1) / len(labels)
    for b, label in enumerate(labels):
        draw.text((6, int((b + 0.5) * block_height)), label, fill="black", font=font, anchor="lm")
        if b:
            draw.line([(0, int(b * block_height)), (LABEL_WIDTH - 4, int(b * block_height))], fill="grey")
    return canvas


def save_sample_grid(model, test: MultimodalDataset, path: Path, *, rows: int = 8, seed: int = 0) -> Path:
    """A PNG at ``path`` of four labelled blocks, each M rows (modalities in order, each drawn by its kind: text as
    its characters, ``bench.data.kinds``) x ``rows`` columns: "real"
    test tuples, "joint samples" of ``model.sample``, every modality "given <first modality>" alone, and "given all
    but target" (row t: modality t generated from all the others). The same ``seed`` gives the same picture."""
    blocks = _grid_blocks(model, test, rows, seed)
    images = [spec.shape for spec in test.specs.values() if spec.kind == "image"]
    height, width = max((s[1] for s in images), default=32), max((s[2] for s in images), default=32)
    drawn = [KINDS.get(test.specs[m].kind).draw(row.float().cpu(), test.specs[m], height, width)
             for block in blocks for m, row in zip(test.modalities, block)]
    images = torch.cat(drawn)
    grid = to_pil_image(make_grid(images, nrow=len(blocks[0][0]), padding=1, pad_value=1.0))
    labels = [label.format(first=test.modalities[0]) for label in GRID_BLOCKS]
    canvas = _labelled(grid, labels)
    atomic_write(Path(path), lambda fh: canvas.save(fh, format="png"), "wb")
    return Path(path)


def write_report(out_dir: Path, *, title: str, intro: str, tables: list[Path], figures: list[tuple[str, Path]]) -> Path:
    """``out_dir/report.md``: the title, ``intro``, every table file inlined under its own heading, then every figure
    as an image link relative to ``out_dir``. A missing file is a FileNotFoundError naming it."""
    missing = [p for p in [*tables, *(p for _, p in figures)] if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"report inputs missing: {', '.join(map(str, missing))}")
    parts = [f"# {title}", intro]
    parts += [f"## {Path(t).stem}\n\n{Path(t).read_text().strip()}" for t in tables]
    links = [f"![{caption}]({Path(os.path.relpath(p, out_dir)).as_posix()})" for caption, p in figures]
    parts.append("## Figures\n\n" + "\n\n".join(links))
    text = "\n\n".join(parts) + "\n"
    path = Path(out_dir) / "report.md"
    atomic_write(path, lambda fh: fh.write(text), "w")
    return path
