"""Learning-rate schedules: the cosine factors, and a VAE's Adam stepping at the scheduled rate of each epoch."""

import math

import pytest
import torch

import baselines  # noqa: F401  (registers the models)
from bench.errors import BenchError
from bench.interface import build_model
from bench.lr_schedules import LR_SCHEDULES
from tests.specs import suite_spec


def test_cosine_falls_from_one_to_near_zero_through_a_half_at_mid_training():
    cosine = [LR_SCHEDULES["cosine"](epoch, 10) for epoch in range(10)]
    assert cosine[0] == 1.0 and cosine[5] == pytest.approx(0.5)
    assert all(a > b for a, b in zip(cosine, cosine[1:]))
    assert cosine[-1] == pytest.approx((1 + math.cos(math.pi * 0.9)) / 2) and cosine[-1] > 0
    assert {LR_SCHEDULES["constant"](epoch, 10) for epoch in range(10)} == {1.0}


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_a_vae_steps_at_the_scheduled_rate_of_each_epoch(schedule, tiny_polymnist, monkeypatch):
    train, _ = tiny_polymnist
    rates = []
    step = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    spec = suite_spec("polymnist", train.modalities, train.shapes)
    model = build_model("mopoe", spec, "quick", epochs=3, batch_size=50, lr=1e-3, lr_schedule=schedule)
    model.fit(train, seed=0)
    per_epoch = [rates[i] for i in (0, 3, 6)]  # 150 tuples in batches of 50: 3 steps per epoch
    assert len(rates) == 9 and len(set(rates[0:3])) == len(set(rates[3:6])) == 1
    assert per_epoch == pytest.approx([1e-3 * LR_SCHEDULES[schedule](epoch, 3) for epoch in range(3)])


def test_an_unknown_schedule_is_refused_with_the_choices(tiny_polymnist):
    train, _ = tiny_polymnist
    spec = suite_spec("polymnist", train.modalities, train.shapes)
    with pytest.raises(BenchError, match="cosine"):
        build_model("mopoe", spec, "quick", lr_schedule="step")
