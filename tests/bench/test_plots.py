import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
import torch
from matplotlib.colors import to_rgb
from PIL import Image

from bench.data.dataset import MultimodalDataset
from bench.plots import LABEL_WIDTH, _series, plot_by_size, save_sample_grid, write_report


class Constant(torch.nn.Module):
    """A stand-in model: every sample is mid-grey; a conditional output is white where the modality was given and
    black where it was generated. Records the masks it was called with."""

    def __init__(self, modalities=("m0", "m1")):
        super().__init__()
        self.modalities = modalities
        self.masks = []

    def sample(self, n, *, generator=None):
        return {m: torch.full((n, 3, 28, 28), 0.5) for m in self.modalities}

    def generate(self, x, observed, *, generator=None):
        self.masks.append(observed.clone())
        return {m: observed[:, t].float().view(-1, 1, 1, 1).expand_as(x[m]).clone()
                for t, m in enumerate(self.modalities)}


def dataset(n=10, modalities=("m0", "m1")):
    images = {m: torch.zeros(n, 3, 28, 28, dtype=torch.uint8) for m in modalities}
    return MultimodalDataset(images, torch.arange(n))


def centres(path, n_rows):
    """Grey level at the centre of the first image of each image row of a grid."""
    image = np.array(Image.open(path).convert("L"))
    return image, [int(image[1 + 29 * r + 14, LABEL_WIDTH + 15]) for r in range(n_rows)]


def test_grid_has_four_labelled_blocks_of_m_rows(tmp_path):
    model = Constant()
    path = save_sample_grid(model, dataset(), tmp_path / "g.png", rows=4)
    image, values = centres(path, 8)
    # 4 blocks x 2 modalities = 8 rows of 28 px plus 1 px padding; 4 columns, after the label margin
    assert image.shape == (8 * 29 + 1, LABEL_WIDTH + 4 * 29 + 1)
    # real (black), joint (grey), given m0 (m0 given: white; m1 generated: black), leave-one-out (both generated)
    assert values == [0, 0, 128, 128, 255, 0, 0, 0]
    for block in range(4):  # a label (dark text) left of every block
        assert (image[block * 58 + 1 : (block + 1) * 58, :LABEL_WIDTH] < 128).any()
    given_m0, _ = model.masks
    assert given_m0.tolist() == [[True, False]] * 4


def test_leave_one_out_block_shows_each_target_generated_from_all_the_others(tmp_path):
    modalities = ("m0", "m1", "m2")
    model = Constant(modalities)
    path = save_sample_grid(model, dataset(modalities=modalities), tmp_path / "g.png", rows=2)
    _, all_but = model.masks
    # one call, the two tuples stacked once per target: target m0, then m1, then m2
    assert all_but.tolist() == [[False, True, True]] * 2 + [[True, False, True]] * 2 + [[True, True, False]] * 2
    _, values = centres(path, 12)
    # row t of the last block comes from the "all but t" rows: target t generated (black), not given (white)
    assert values[6:9] == [255, 0, 0] and values[9:] == [0, 0, 0]


def test_grid_is_deterministic_for_a_seed(tmp_path):
    class Noisy(Constant):
        def sample(self, n, *, generator=None):
            return {m: torch.rand(n, 3, 28, 28, generator=generator) for m in self.modalities}

        def generate(self, x, observed, *, generator=None):
            return {m: torch.rand(v.shape, generator=generator) for m, v in x.items()}

    levels = (torch.arange(10, dtype=torch.uint8) * 25).view(-1, 1, 1, 1).expand(10, 3, 28, 28)
    test = MultimodalDataset({"m0": levels, "m1": levels}, torch.arange(10))  # tuple i: grey level 25 i
    first = save_sample_grid(Noisy(), test, tmp_path / "a.png", rows=3, seed=5)
    second = save_sample_grid(Noisy(), test, tmp_path / "b.png", rows=3, seed=5)
    other = save_sample_grid(Noisy(), test, tmp_path / "c.png", rows=3, seed=6)
    assert first.read_bytes() == second.read_bytes()
    a, c = (np.array(Image.open(p))[:, LABEL_WIDTH:] for p in (first, other))
    # the real pick and all three generated blocks follow the seed (block b: image rows 2b, 2b+1 of 29 px)
    assert all(not np.array_equal(a[58 * b : 58 * (b + 1)], c[58 * b : 58 * (b + 1)]) for b in range(4))


def stats_frame():
    rows = []
    for model, base in (("b", 0.2), ("a", 0.1)):
        for k in (3, 1, 2):
            std = 0.01 * k if model == "a" else math.nan
            rows.append({"model": model, "metric": f"k{k}", "mean": base * k, "std": std, "n": 2})
        rows.append({"model": model, "metric": "joint", "mean": 0.5, "std": math.nan, "n": 1})
        rows.append({"model": model, "metric": "fd_clf_k1", "mean": 9.0, "std": math.nan, "n": 1})
        rows.append({"model": model, "metric": "kx", "mean": 7.0, "std": math.nan, "n": 1})
    return pd.DataFrame(rows)


def test_series_picks_only_the_prefix_metrics_per_model_in_k_order():
    series = _series(stats_frame(), "k")
    assert list(series) == ["a", "b"]
    assert series["a"] == [(1, 0.1, 0.01), (2, 0.2, 0.02), (3, pytest.approx(0.3), 0.03)]
    assert [(k, m) for k, m, _ in series["b"]] == [(1, 0.2), (2, 0.4), (3, pytest.approx(0.6))]
    assert all(math.isnan(s) for _, _, s in series["b"])
    assert _series(stats_frame(), "fd_clf_k") == {"a": [(1, 9.0, pytest.approx(math.nan, nan_ok=True))],
                                                  "b": [(1, 9.0, pytest.approx(math.nan, nan_ok=True))]}


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_by_size closes, kept for inspection."""
    closed, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig: closed.append(fig) or close(fig))
    return closed


def test_plot_by_size_draws_one_line_per_model_with_error_bars_only_with_std(tmp_path, figures):
    path = plot_by_size(stats_frame(), "k", tmp_path / "p" / "c.png", ylabel="FD", title="t", lower_is_better=True)
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100
        image.verify()
    assert plt.get_fignums() == []  # closed
    (ax,) = figures[0].axes
    lines = {c.get_label(): c for c in ax.containers}
    assert list(lines) == ["a", "b"]
    assert lines["a"].lines[0].get_xdata().tolist() == [1, 2, 3]
    assert lines["b"].lines[0].get_ydata() == pytest.approx([0.2, 0.4, 0.6])
    assert lines["a"].has_yerr and not lines["b"].has_yerr  # a has a std over seeds, b one seed
    palette = sns.color_palette("colorblind", 2)
    assert [to_rgb(lines[m].lines[0].get_color()) for m in "ab"] == [tuple(c) for c in palette]
    assert ax.get_ylabel() == "FD (↓ better)" and ax.get_xlabel() == "observed modalities k" and ax.get_title() == "t"
    assert ax.get_xticks().tolist() == [1, 2, 3]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_plot_by_size_rejects_a_prefix_without_metrics(tmp_path):
    with pytest.raises(ValueError, match="precision_k"):
        plot_by_size(stats_frame(), "precision_k", tmp_path / "c.png", ylabel="P", title="t")
    assert not (tmp_path / "c.png").exists() and plt.get_fignums() == []


def test_report_inlines_tables_and_links_figures_relative(tmp_path):
    (tmp_path / "samples").mkdir()
    table = tmp_path / "summary.md"
    table.write_text("Caption.\n\n| Model | x |\n|:--|:--|\n| a | 1 |\n")
    figure = tmp_path / "samples" / "a.png"
    figure.write_bytes(b"png")
    path = write_report(tmp_path, title="T", intro="Intro.", tables=[table], figures=[("Samples a", figure)])
    assert path == tmp_path / "report.md"
    text = path.read_text()
    assert text.startswith("# T\n\nIntro.\n\n## summary\n\nCaption.\n\n| Model | x |") and "| a | 1 |" in text
    assert text.index("## summary") < text.index("## Figures") < text.index("![Samples a](samples/a.png)")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        write_report(tmp_path, title="T", intro="", tables=[table], figures=[("x", tmp_path / "missing.png")])
    with pytest.raises(FileNotFoundError, match="gone.md"):
        write_report(tmp_path, title="T", intro="", tables=[tmp_path / "gone.md"], figures=[])
