"""Resumable training: a training killed with SIGKILL mid-stage resumes from its checkpoint and ends with the
weights of an uninterrupted training (MLD's score network, a VAE on a cosine learning-rate schedule, the
classifiers)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.checkpoints import Checkpointer
from bench.data.cache import save_dataset
from bench.store import load_torch

ROOT = Path(__file__).resolve().parents[2]

# argv: model, dataset, checkpoint, weights out, stage to kill in ("-" for none), 0-based epoch to kill after
SCRIPT = """
import os, signal, sys
import torch
torch.set_num_threads(1)
import baselines, mld  # register the models
from bench.checkpoints import Checkpointer
from bench.data.cache import load_dataset
from bench.health import TrainingMonitor
from bench.interface import DataSpec, build_model
from bench.logs import configure
from bench.store import save_torch
from tests.specs import suite_spec

name, data, ckpt, out, kill_stage, kill_epoch = sys.argv[1:]
configure(None)
train, _ = load_dataset(data)
spec = suite_spec("polymnist", train.modalities, train.shapes)
nested = [(("autoencoder", "epochs"), 2), (("autoencoder", "batch_size"), 50)] if name.startswith("mld") else []
schedule = {"lr_schedule": "cosine"} if name == "mopoe" else {}  # the resumed epochs pick up the schedule
model = build_model(name, spec, "quick", nested, epochs=4, batch_size=50, **schedule)

def hook(stage, epoch, steps, loss, seconds):
    if stage == kill_stage and epoch == int(kill_epoch):
        os.kill(os.getpid(), signal.SIGKILL)

model.fit(train, seed=3, monitor=TrainingMonitor(name, hook=hook), checkpoint=Checkpointer(ckpt, every_epochs=1))
save_torch(model.state_dict(), out)
"""


@pytest.fixture(scope="module")
def tiny_data(tiny_polymnist, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.pt"
    save_dataset(tiny_polymnist[0], path, {"source": "tiny"})
    return path


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("name, stage", [("mopoe", "training"), ("mld", "score")])
def test_a_killed_training_resumes_and_ends_with_the_uninterrupted_weights(name, stage, tiny_data, tmp_path):
    ckpt = tmp_path / "stage.ckpt"
    killed = run_script(tmp_path, name, str(tiny_data), str(ckpt), str(tmp_path / "never.pt"), stage, "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert ckpt.is_file() or ckpt.with_name(f"{ckpt.stem}-score.ckpt").is_file()
    resumed = run_script(tmp_path, name, str(tiny_data), str(ckpt), str(tmp_path / "resumed.pt"), "-", "0")
    assert resumed.returncode == 0, resumed.stderr
    resumed_file = ckpt if name == "mopoe" else ckpt.with_name(f"{ckpt.stem}-score.ckpt")
    assert f"{resumed_file}: resuming after epoch 2" in resumed.stderr  # the log says from where
    assert not list(tmp_path.glob("*.ckpt"))  # removed once the stage completed
    whole = run_script(tmp_path, name, str(tiny_data), str(tmp_path / "other.ckpt"), str(tmp_path / "whole.pt"), "-", "0")
    assert whole.returncode == 0, whole.stderr
    a, b = load_torch(tmp_path / "resumed.pt"), load_torch(tmp_path / "whole.pt")
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different


def test_classifiers_resume_to_the_same_weights(tiny_polymnist, tmp_path):
    from bench.suites.polymnist.nets import NETWORKS as NETS
    from classifiers.train import ClassifierConfig, train_classifiers

    train = tiny_polymnist[0]
    cfg = ClassifierConfig(epochs=3, batch_size=50)
    whole, _ = train_classifiers(train, cfg, networks=NETS, seed=0)
    ckpt = Checkpointer(tmp_path / "clf.ckpt", every_epochs=1, keep=True)
    train_classifiers(train, cfg, networks=NETS, seed=0, checkpoint=ckpt)  # kept: the state after the last epoch
    state = load_torch(ckpt.path)
    assert state["epoch"] == 2
    # rewind the checkpoint to the end of the first epoch: train 1 epoch with a fresh checkpoint, then resume
    first = Checkpointer(tmp_path / "first.ckpt", every_epochs=1, keep=True)
    train_classifiers(train, ClassifierConfig(epochs=1, batch_size=50), networks=NETS, seed=0, checkpoint=first)
    resumed, record = train_classifiers(train, cfg, networks=NETS, seed=0, checkpoint=Checkpointer(first.path, every_epochs=1))
    assert len(record["losses"]) == 3 and not first.path.exists()
    for m in whole:
        for k, v in whole[m].state_dict().items():
            assert torch.equal(v, resumed[m].state_dict()[k]), (m, k)


def test_a_damaged_checkpoint_says_to_delete_it(tmp_path):
    path = tmp_path / "x.ckpt"
    path.write_bytes(b"not a checkpoint")
    from bench.errors import BenchError

    with pytest.raises(BenchError) as err:
        Checkpointer(path).load()
    assert f"delete {path}" in err.value.fix and "weights_only" not in str(err.value)
