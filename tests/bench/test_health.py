"""The training-health rule and monitor (bench/health.py)."""

import math

import pytest
import torch

from bench.health import Diverged, HealthRule, TrainingMonitor
from tests.specs import suite_spec

RULE = HealthRule()  # tolerance 0.5, patience 2, warmup 1


def test_a_loss_that_jumps_back_up_for_two_epochs_diverged():
    # MLD's score network on a slower machine: 140 -> 43, then back to the loss of a zero output (about 160)
    curve = [140.0, 80.0, 50.0, 43.0, 131.0, 160.0, 165.0]
    assert RULE.divergence(curve) == 5  # the second epoch above 1.5 x 43
    assert RULE.divergence(curve[:5]) is None  # one bad epoch is not yet a divergence


def test_nan_and_inf_diverge_at_once_even_in_warmup():
    assert RULE.divergence([10.0, math.nan]) == 1
    assert RULE.divergence([math.inf]) == 0
    assert HealthRule(warmup=5).divergence([3.0, 2.0, math.nan]) == 2


def test_healthy_curves_pass():
    assert RULE.divergence([100.0, 60.0, 70.0, 55.0, 80.0, 50.0, 52.0]) is None  # noisy, never 1.5x for two epochs
    assert RULE.divergence([5.0, 1000.0, 1000.0, 4.0]) is None  # epochs 0-1 are warm-up: 1000 never becomes the best


def test_noise_on_a_loss_near_zero_is_not_a_divergence_but_a_return_to_the_start_is():
    rule = HealthRule()
    wobbling = [40.0, 34.0, 5.0, 0.5, 0.01, 0.05, 0.04, 0.02]  # a text cross-entropy near zero, noisy
    assert rule.divergence(wobbling) is None
    assert rule.divergence([40.0, 34.0, 5.0, 0.5, 0.01, 20.0, 30.0]) == 6


def test_negative_losses_use_the_magnitude_of_the_best():
    # a Gaussian likelihood's NLL is negative: best -1600, a rise means above -1600 + 0.5 * 1600 = -800
    assert RULE.divergence([-1000.0, -1500.0, -1600.0, -900.0, -850.0]) is None
    assert RULE.divergence([-1000.0, -1500.0, -1600.0, -700.0, -600.0]) == 4


def test_a_changing_objective_is_judged_only_once_it_settles():
    annealing = [10.0, 20.0, 30.0, 40.0, 39.0, 38.0]  # the KL weight rises until epoch 4
    assert RULE.divergence(annealing) == 4  # 40 and 39 are above 1.5 x the best, 20
    assert RULE.divergence(annealing, settled_from=4) is None


def test_bad_rules_are_refused():
    with pytest.raises(Exception, match="tolerance"):
        HealthRule(tolerance=0)


def test_the_monitor_keeps_curves_calls_the_hook_and_raises_with_the_curves():
    seen = []
    monitor = TrainingMonitor("m", hook=lambda stage, epoch, steps, loss, seconds: seen.append((stage, epoch, steps, loss)))
    monitor.epoch_end("autoencoder m0", 0, 10, 5.0)
    monitor.epoch_end("score", 0, 20, 4.0)
    assert seen == [("autoencoder m0", 0, 10, 5.0), ("score", 0, 20, 4.0)]
    with pytest.raises(Diverged) as err:
        monitor.epoch_end("score", 1, 40, float("nan"))
    assert err.value.stage == "score" and err.value.epoch == 1 and math.isnan(err.value.loss)
    curves = err.value.curves
    assert curves["autoencoder m0"] == [5.0] and curves["score"][0] == 4.0 and math.isnan(curves["score"][1])
    record = err.value.to_dict()
    assert record["epoch"] == 2 and record["loss"] is None and "diverged at epoch 2" in record["message"]
    assert len(seen) == 2  # no hook call for the diverged epoch


def test_an_absurd_learning_rate_makes_the_score_network_diverge():
    import mld  # noqa: F401  (registers the models)
    from bench.interface import build_model

    spec = suite_spec("polymnist", ("m0", "m1"), shapes={"m0": (3, 28, 28), "m1": (3, 28, 28)})
    model = build_model("mld", spec, "quick", lr=1e4, epochs=8, batch_size=16)
    latents = torch.randn(64, model.layout.total, generator=torch.Generator().manual_seed(0))
    with pytest.raises(Diverged, match="mld: the score loss diverged") as err:
        model.fit_score(latents, seed=0)
    assert err.value.stage == "score" and err.value.curves["score"]
