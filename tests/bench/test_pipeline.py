"""Pipeline pieces that the end-to-end runs do not isolate: mixed precision around a model."""

import torch

from bench.pipeline import MixedPrecisionModel
from bench.run import RunConfig


class Recorder:
    modalities = ("m0",)

    def __init__(self):
        self.autocast = []

    def generate(self, x, observed, *, generator=None):
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        return {"m0": (x["m0"] @ torch.eye(4))}  # a matmul: bfloat16 under autocast

    def sample(self, n, *, generator=None):
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        return {"m0": torch.ones(n, 4) @ torch.eye(4)}


def test_bf16_runs_the_model_under_autocast_and_hands_back_float32():
    inner = Recorder()
    model = MixedPrecisionModel(inner, RunConfig(suite="polymnist", amp="bf16"), torch.device("cpu"))
    out = model.generate({"m0": torch.rand(3, 4)}, torch.ones(3, 1, dtype=torch.bool))
    joint = model.sample(2)
    assert inner.autocast == [True, True]
    assert out["m0"].dtype == joint["m0"].dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu")  # and only inside the model's calls


def test_without_amp_nothing_is_autocast():
    inner = Recorder()
    MixedPrecisionModel(inner, RunConfig(suite="polymnist"), torch.device("cpu")).sample(2)
    assert inner.autocast == [False]
