"""benchmarks/learning_curves.py runs end to end and writes its study and plot."""

import json

import pytest
import torch

from benchmarks.learning_curves import main, single_source_coherence


def test_a_quick_study_writes_points_at_every_interval_and_the_last_epoch(tmp_path):
    main(["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--every", "20", "--n-eval", "30",
          "--device", "cpu", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "lc"), "--label", "t",
          "--set", "mopoe.epochs=3"])
    study = json.loads((tmp_path / "lc" / "polymnist-t.json").read_text())
    assert (tmp_path / "lc" / "polymnist-t.png").stat().st_size > 0
    assert study["overrides"] == ["mopoe.epochs=3"] and study["n_eval"] == 30
    (result,) = study["results"]
    assert result["model"] == "mopoe" and result["config"]["epochs"] == 3
    points = result["points"]
    steps = [p["steps"] for p in points]
    assert steps == sorted(steps) and steps[-1] == result["steps"]  # the last epoch is always scored
    assert all(b - a >= 20 for a, b in zip(steps[:-2], steps[1:-1]))  # at most one point per 20 steps before it
    for p in points:
        assert 0.0 <= p["k1"] <= 1.0 and 0.0 <= p["self"] <= 1.0 and p["seconds"] >= 0
        assert torch.isfinite(torch.tensor(p["loss"]))


class _Echo:
    """A stand-in model that returns each modality's own input when it is given, and zeros otherwise."""

    modalities = ("a", "b")

    def generate(self, x, observed, generator=None):
        return {m: x[m] * observed[:, i].view(-1, 1).float() for i, m in enumerate(self.modalities)}


class _ReadFirst(torch.nn.Module):
    """A "classifier" that predicts the class stored in the first feature (and class 0 for zeros)."""

    def forward(self, x):
        return torch.nn.functional.one_hot((x[:, 0] * 255).round().long().clamp(0, 9), 10).float()


def test_k1_and_self_score_the_right_rows():
    y = torch.arange(10)
    x = {m: (y.float() / 255).view(-1, 1) for m in ("a", "b")}
    k1, self_ = single_source_coherence(_Echo(), x, y, {"a": _ReadFirst(), "b": _ReadFirst()}, torch.Generator())
    assert self_ == pytest.approx(1.0)  # each modality given itself is echoed: every digit read right
    assert k1 == pytest.approx(0.1)  # cross-modal targets are zeros, read as class 0: right for y = 0 only
