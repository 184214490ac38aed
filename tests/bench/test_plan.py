"""The cost planner (``--plan``): its extrapolation, its probes against a real training, and the CLI."""

import json
import time

import pytest
import torch

import baselines  # noqa: F401  (registers the models)
import mld  # noqa: F401
from bench.interface import build_model
from bench.plan import extrapolate, largest_batch, probe_training, with_epochs
from bench.run import main
from tests.specs import suite_spec


def test_with_epochs_reaches_nested_configs_and_largest_batch_reads_them():
    spec = suite_spec("polymnist", ("m0", "m1"), {"m0": (3, 28, 28), "m1": (3, 28, 28)})
    cfg = build_model("mld", spec, "default").cfg
    probe = with_epochs(cfg, 2)
    assert probe.epochs == 2 and probe.autoencoder.epochs == 2
    assert probe.lr == cfg.lr and probe.autoencoder.batch_size == cfg.autoencoder.batch_size
    assert largest_batch(cfg) == max(cfg.batch_size, cfg.autoencoder.batch_size)


def test_extrapolate_separates_setup_from_steady_steps():
    """Stage a: 3 s setup, then 0.5 s per step, 4 steps per epoch; stage b starts when a ends: 1 s setup, 2 s/step."""
    events = [("a", 4, 3 + 2.0), ("a", 8, 5 + 2.0), ("b", 1, 7 + 1 + 2.0), ("b", 2, 10 + 2.0)]
    predicted = extrapolate(events, 0.0, {"a": 100, "b": 10})
    assert predicted["a"] == pytest.approx(3 + 0.5 * 100)
    assert predicted["b"] == pytest.approx(1 + 2 * 10)


def test_probe_predicts_a_real_training_within_a_factor_of_two(tiny_polymnist):
    train, _ = tiny_polymnist
    spec = suite_spec("polymnist", train.modalities, train.shapes)
    predicted, peak_mb, note = probe_training(build_model("mopoe", spec, "quick", epochs=16), "mopoe", spec, train,
                                              len(train), torch.device("cpu"))
    model = build_model("mopoe", spec, "quick", epochs=16)
    start = time.perf_counter()
    model.fit(train, seed=0, device=torch.device("cpu"))
    measured = time.perf_counter() - start
    assert 0.5 < predicted / measured < 2, (predicted, measured)
    assert peak_mb > 0 and "steps" in note


def test_plan_of_a_quick_run_lists_every_stage_and_writes_json(tmp_path, capsys):
    code = main(["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--plan", "--out", str(tmp_path),
                 "--device", "cpu", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mopoe seed 0: training" in printed and "total" in printed
    plan = json.loads((tmp_path / "polymnist" / "plan-quick.json").read_text())
    stages = [s["stage"] for s in plan["stages"]]
    assert stages == ["data", "classifiers", "real features", "mopoe seed 0: training", "mopoe seed 0: evaluation"]
    assert all(s["seconds"] > 0 for s in plan["stages"])
    assert plan["total_seconds"] == pytest.approx(sum(s["seconds"] for s in plan["stages"]))
    assert not (tmp_path / "cache" / "models").exists()  # nothing was trained or cached


def test_the_mld_sampler_probe_shares_the_weights_and_makes_the_asked_number_of_calls():
    spec = suite_spec("polymnist", ("m0", "m1"), {"m0": (3, 28, 28), "m1": (3, 28, 28)})
    model = build_model("mld", spec, "default")
    probe = model.with_sampler_steps(10)
    assert probe.network_calls_per_sample == 10 and model.network_calls_per_sample == 230
    assert probe.ema is model.ema and probe.autoencoders is model.autoencoders and probe.cfg.steps == 10
    assert model.cfg.sampler == "repaint" and model.cfg.steps == 50
