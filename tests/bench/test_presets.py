"""Presets: a model's config on a suite is its field defaults, then the suite's preset at the scale, then overrides;
a model without a preset on a suite is one clear error, never another suite's values."""

from dataclasses import dataclass

import pytest
import torch

import bench.suites  # noqa: F401  (registers the suites and their presets)
from bench.errors import BenchError
from bench.interface import ModelConfig, build_model, model_config
from bench.presets import preset, register_presets, unregister_presets
from bench.registry import MODELS, register_model
from tests.specs import suite_spec


@dataclass(frozen=True)
class ToyConfig(ModelConfig):
    width: int = 512
    lr: float = 1e-3


class Toy(torch.nn.Module):
    Config = ToyConfig

    def __init__(self, spec, cfg):
        super().__init__()
        self.modalities, self.cfg = tuple(spec.modalities), cfg


@pytest.fixture
def toy():
    register_model("toy_presets")(Toy)
    register_presets("polymnist", "toy_presets", {"quick": {"width": 8}, "default": {"width": 64}, "paper": {}})
    yield "toy_presets"
    MODELS.unregister("toy_presets")
    unregister_presets("polymnist", "toy_presets")


def test_the_preset_changes_only_what_it_states_and_overrides_come_last(toy):
    assert model_config(toy, "polymnist", "quick") == ToyConfig(width=8, lr=1e-3)
    assert model_config(toy, "polymnist", "paper") == ToyConfig()
    assert model_config(toy, "polymnist", "quick", lr=0.5) == ToyConfig(width=8, lr=0.5)
    assert model_config(toy, "polymnist", "quick", ((("width",), 3),)).width == 3


def test_unknown_scale_and_field_are_clear_errors(toy):
    with pytest.raises(BenchError, match="unknown scale"):
        model_config(toy, "polymnist", "huge")
    with pytest.raises(BenchError) as err:
        model_config(toy, "polymnist", "quick", widht=3)
    assert "widht" in err.value.problem and "width" in err.value.fix


def test_a_model_without_a_preset_on_a_suite_is_one_clear_error_not_another_suites_values(toy):
    with pytest.raises(BenchError) as err:
        model_config(toy, "mnist_svhn", "quick")
    assert "toy_presets has no preset for suite mnist_svhn" in err.value.problem
    assert "register_presets('mnist_svhn', 'toy_presets'" in err.value.fix


def test_a_config_without_fields_needs_no_preset():
    @dataclass(frozen=True)
    class Empty(ModelConfig):
        pass

    assert preset("mnist_svhn", "anything", "quick", Empty) == {}


def test_presets_give_every_scale_and_are_not_silently_replaced(toy):
    with pytest.raises(ValueError, match="missing scales"):
        register_presets("polymnist", "other_toy", {"quick": {}})
    register_presets("polymnist", toy, {"quick": {"width": 8}, "default": {"width": 64}, "paper": {}})  # same: no-op
    with pytest.raises(ValueError, match="already has other presets"):
        register_presets("polymnist", toy, {"quick": {"width": 9}, "default": {}, "paper": {}})


def test_mnist_svhn_presets_of_the_models():
    spec = suite_spec("mnist_svhn", ("mnist", "svhn"), shapes={"mnist": (1, 28, 28), "svhn": (3, 32, 32)})
    mopoe = build_model("mopoe", spec, "paper")
    assert mopoe.cfg.latent_dim == 20 and mopoe.rec_weights == (3.92, 1.0) and mopoe.cfg.beta == 2.5
    model = build_model("mld", spec, "paper")
    assert model.layout.sizes == (16, 64) and model.cfg.d == 0.5 and model.cfg.init_dim == 256


def test_the_converged_scale_runs_the_models_with_a_preset_for_it_and_trains_them_longer(toy):
    from bench.presets import suite_models

    assert set(suite_models("polymnist", "converged")) == {"mld", "mopoe", "mvtcae", "mmvae_plus"}
    with pytest.raises(BenchError) as err:  # the toy gives no converged preset: refused, not the default's values
        model_config(toy, "polymnist", "converged")
    assert "no converged preset" in err.value.problem and "mld" in err.value.fix
    spec = suite_spec("polymnist", [f"m{i}" for i in range(5)], {f"m{i}": (3, 28, 28) for i in range(5)})
    for name in ("mld", "mopoe", "mmvae_plus"):
        default, converged = build_model(name, spec, "default").cfg, build_model(name, spec, "converged").cfg
        assert converged.epochs > default.epochs  # the same recipe, trained longer
        assert {**vars(converged), "epochs": 0, "autoencoder": 0} == {**vars(default), "epochs": 0, "autoencoder": 0}


def test_every_built_in_preset_passes_the_field_checks():
    """Each (suite, model, scale) preset builds a config whose values fit their annotations, bounds and choices
    (bench.fields), so a typo in a preset fails here, not in a long run."""
    from bench.presets import _PRESETS

    checked = 0
    for (suite, model), scales in list(_PRESETS.items()):
        for scale in scales:
            model_config(model, suite, scale)
            checked += 1
    assert checked >= 40


def test_a_bad_value_is_named_with_the_field_and_what_it_must_be(toy):
    with pytest.raises(BenchError, match=r"toy_presets.width = 0.5 is not an integer"):
        model_config("toy_presets", "polymnist", "quick", width=0.5)
    assert model_config("toy_presets", "polymnist", "quick", nested=((("lr",), 1),)).lr == 1.0
    assert isinstance(model_config("toy_presets", "polymnist", "quick", nested=((("lr",), 1),)).lr, float)
