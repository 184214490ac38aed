import pytest
import torch
from torch import nn

from bench.devices import device_of, resolve_device
from bench.errors import BenchError


def test_device_of_skips_parameterless_modules_and_plain_objects():
    assert device_of([object(), nn.ReLU(), nn.Linear(2, 2)]) == torch.device("cpu")
    assert device_of([nn.ReLU()]) == torch.device("cpu")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(BenchError, match="unknown device"):
        resolve_device("tpu-ish")
