"""The Adam comparison of benchmarks.step_speed: the per-tensor and foreach updates are the same training, and each
variant's weights are measured against the per-tensor update's."""

import torch

from benchmarks.step_speed import adam_variants


def test_adam_variants_compare_against_the_per_tensor_update():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    before = [p.detach().clone() for p in net.parameters()]
    found = adam_variants(list(net.parameters()), steps=5, rounds=1, lr=1e-3)
    assert set(found["step_s"]) == {"per tensor", "foreach", "fused"}
    assert all(s > 0 for s in found["step_s"].values())
    assert found["max_abs_weight_difference"]["per tensor"] == 0.0
    assert found["max_abs_weight_difference"]["foreach"] == 0.0
    assert found["max_abs_weight_difference"]["fused"] < 1e-5  # the same algorithm, rounded differently
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # the model's own weights untouched
