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


def _finished_run(root, suite: str, curves: dict[str, list[float]], commit: str):
    """A run folder as bench.run leaves it, with only what --from-run reads: per model, k1 at 25/50/75/100%."""
    runs = []
    for model, k1s in curves.items():
        probes = [{"epoch": i + 1, "steps": 10 * (i + 1), "loss": 1.0, "total_seconds": float(i), "seconds": float(i),
                   "fraction": (i + 1) / len(k1s), "k1": k1, "self": 0.9} for i, k1 in enumerate(k1s)]
        record = {"model_record": {"train": {"seconds": 4.0, "steps": 10 * len(k1s)}, "config": {"epochs": len(k1s)}},
                  "curves": {"train": []}, "probes": probes}
        (root / "runs").mkdir(parents=True, exist_ok=True)
        (root / "runs" / f"{model}.json").write_text(json.dumps(record))
        runs.append({"model": model, "seed": 0, "status": "ok", "record": f"runs/{model}.json"})
    (root / "results.json").write_text(json.dumps({"suite": suite, "scale": "converged", "config": {"overrides": []},
                                                   "provenance": {"commit": commit}, "runs": runs}))
    return root


def test_curves_of_several_runs_take_each_model_from_the_last_run_that_holds_it(tmp_path):
    first = _finished_run(tmp_path / "all", "mnist_svhn", {"mld": [0.2, 0.5, 0.7, 0.71], "mopoe": [0.3, 0.5, 0.58, 0.67]}, "a")
    longer = _finished_run(tmp_path / "mopoe", "mnist_svhn", {"mopoe": [0.5, 0.66, 0.7, 0.705]}, "b")
    main(["--from-run", str(first), "--from-run", str(longer), "--label", "converged", "--out", str(tmp_path / "lc")])
    study = json.loads((tmp_path / "lc" / "mnist_svhn-converged.json").read_text())
    by_model = {r["model"]: r for r in study["results"]}
    assert [p["k1"] for p in by_model["mopoe"]["points"]] == [0.5, 0.66, 0.7, 0.705]  # the longer run replaced it
    assert (by_model["mopoe"]["commit"], by_model["mld"]["commit"]) == ("b", "a")
    assert by_model["mopoe"]["training"]["status"] == "converged"  # +0.005 from 75% to the end
    assert study["from_run"] == [str(first), str(longer)]
    other = _finished_run(tmp_path / "poly", "polymnist", {"mopoe": [0.1, 0.2, 0.3, 0.4]}, "c")
    with pytest.raises(SystemExit, match="polymnist run at scale converged, not mnist_svhn"):
        main(["--from-run", str(first), "--from-run", str(other), "--out", str(tmp_path / "lc")])
