"""--export then --checkpoint: the same metrics without training; mismatched or damaged checkpoints are refused."""

import json

import pytest
import torch

from bench.exports import config_from_dict, load_model
from bench.interface import model_config
import bench.suites  # noqa: F401  (registers the suites and their presets)
from bench.run import main
from mld.model import MLDConfig


def quick(out, *extra) -> list[str]:
    return ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--out", str(out), "--no-progress",
            "--device", "cpu", *extra]


@pytest.fixture(scope="module")
def exported(quick_run, tmp_path_factory, copy_stages):
    """The quick run's MoPoE, exported by a rerun on its cache (no training)."""
    _, results = quick_run
    out, folder = tmp_path_factory.mktemp("export-run"), tmp_path_factory.mktemp("exports")
    copy_stages(results, out, ("data", "classifiers", "features", "models", "evaluations"))
    assert main(quick(out, "--export", str(folder))) == 0
    return folder


def test_export_then_checkpoint_reproduces_the_metrics_without_training(quick_run, exported, tmp_path, copy_stages):
    _, results = quick_run
    assert sorted(p.name for p in exported.iterdir()) == ["mopoe-seed0.json", "mopoe-seed0.safetensors"]
    copy_stages(results, tmp_path)  # data, classifiers, real features: no model, no evaluation
    assert main(quick(tmp_path, "--checkpoint", f"mopoe={exported}")) == 0
    record = json.loads((tmp_path / "polymnist" / "runs" / "quick" / "mopoe-seed0.json").read_text())
    trained = json.loads((results / "polymnist" / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["stages"] == {"model": "checkpoint", "evaluation": "computed"}
    assert not (tmp_path / "cache" / "models").exists()  # nothing was trained
    assert record["metrics"] == trained["metrics"]  # same weights, same noise: the same numbers
    assert record["curves"] == trained["curves"]  # the training record travels with the weights


def test_load_model_returns_the_trained_weights(quick_run, exported):
    model = load_model("mopoe", exported)
    meta = json.loads((exported / "mopoe-seed0.json").read_text())
    assert meta["name"] == "mopoe" and meta["seed"] == 0 and meta["spec"]["modalities"] == ["m0", "m1", "m2", "m3", "m4"]
    assert not model.training
    again = load_model("mopoe", exported / "mopoe-seed0.safetensors")
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("extra, message", [
    (("--set", "mopoe.beta=0.5"), "trained with another config (beta: checkpoint"),
    (("--seeds", "1"), "trained with seed 0, this job is seed 1"),
    (("--checkpoint", "mld=nowhere"), "--checkpoint names mld, which this run does not score"),
])
def test_a_mismatched_checkpoint_is_refused_with_the_reason(exported, tmp_path, capsys, extra, message):
    file = exported / "mopoe-seed0.safetensors"
    assert main(quick(tmp_path, "--checkpoint", f"mopoe={file}", *extra)) == 2
    assert message in capsys.readouterr().err


def test_a_damaged_checkpoint_is_refused(exported, tmp_path, capsys):
    damaged = tmp_path / "mopoe-seed0.safetensors"
    data = bytearray((exported / "mopoe-seed0.safetensors").read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (tmp_path / "mopoe-seed0.json").write_text((exported / "mopoe-seed0.json").read_text())
    with pytest.raises(Exception, match="does not match the SHA-256"):
        load_model("mopoe", damaged)
    (tmp_path / "mopoe-seed0.json").unlink()
    with pytest.raises(Exception, match="no readable metadata"):
        load_model("mopoe", damaged)


def test_config_from_dict_rebuilds_nested_configs_and_tuples():
    import dataclasses

    cfg = model_config("mld", "mnist_svhn", "quick")
    rebuilt = config_from_dict(MLDConfig, json.loads(json.dumps(dataclasses.asdict(cfg))))
    assert rebuilt == cfg and hash(rebuilt) == hash(cfg)


def test_a_dotted_model_name_keeps_every_seed_apart(tmp_path):
    """``mean.v2`` is a valid name (bench.registry.NAME_RULE): its exports are ``mean.v2-seed<seed>.*``, not one
    ``mean.safetensors`` that each seed overwrites."""
    from bench.exports import export_paths

    paths = {p.name for seed in (0, 1) for p in export_paths(tmp_path, "mean.v2", seed)}
    assert paths == {"mean.v2-seed0.safetensors", "mean.v2-seed0.json", "mean.v2-seed1.safetensors",
                     "mean.v2-seed1.json"}


@pytest.mark.parametrize("edit, message", [
    (lambda meta: {**meta, "config": "garbage"}, "mistypes config"),
    (lambda meta: {k: v for k, v in meta.items() if k != "name"}, "lacks or mistypes name"),
    (lambda meta: [meta], "is not a"),
])
def test_an_export_with_broken_metadata_is_one_clear_error(exported, tmp_path, edit, message):
    """Metadata that is not an object, lacks a key or has the wrong type is a BenchError, not a traceback; the
    files' permissions follow the umask like every other output (safetensors alone writes 0600)."""
    import os

    from bench.errors import BenchError

    weights = tmp_path / "mopoe-seed0.safetensors"
    weights.write_bytes((exported / "mopoe-seed0.safetensors").read_bytes())
    (tmp_path / "mopoe-seed0.json").write_text(json.dumps(edit(json.loads((exported / "mopoe-seed0.json").read_text()))))
    with pytest.raises(BenchError, match=message):
        load_model("mopoe", weights)
    mask = os.umask(0)
    os.umask(mask)
    assert (exported / "mopoe-seed0.safetensors").stat().st_mode & 0o777 == 0o666 & ~mask
