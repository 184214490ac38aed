from dataclasses import dataclass
from typing import ClassVar

import pytest

from bench.errors import BenchError
from bench.interface import ModelConfig


@dataclass(frozen=True)
class ToyConfig(ModelConfig):
    width: int = 512
    lr: float = 1e-3

    PRESETS: ClassVar[dict] = {"quick": {"width": 8}}


def test_preset_overrides_only_what_differs():
    assert ToyConfig.preset("quick") == ToyConfig(width=8, lr=1e-3)
    assert ToyConfig.preset("paper") == ToyConfig()
    assert ToyConfig.preset("quick", lr=0.5).lr == 0.5


def test_unknown_scale_and_field_are_clear_errors():
    with pytest.raises(BenchError, match="unknown scale"):
        ToyConfig.preset("huge")
    with pytest.raises(BenchError) as err:
        ToyConfig.preset("quick", widht=3)
    assert "widht" in err.value.problem and "width" in err.value.fix


def test_dataset_presets_sit_between_defaults_and_scale_presets():
    from dataclasses import dataclass
    from typing import ClassVar

    from bench.interface import ModelConfig

    @dataclass(frozen=True)
    class Cfg(ModelConfig):
        latent: int = 512
        epochs: int = 300
        d: float = 0.2
        PRESETS: ClassVar[dict] = {"quick": {"latent": 8, "epochs": 2}}
        DATASETS: ClassVar[dict] = {"other": {"latent": 20, "d": 0.5, "epochs": 150}, "other/quick": {"epochs": 3}}

    assert Cfg.preset("paper") == Cfg()
    assert Cfg.preset("paper", "other") == Cfg(latent=20, epochs=150, d=0.5)
    assert Cfg.preset("quick", "other") == Cfg(latent=8, epochs=3, d=0.5)  # the scale wins over the dataset base
    assert Cfg.preset("quick", "polymnist", epochs=9) == Cfg(latent=8, epochs=9)


def test_mnist_svhn_presets_of_the_models():
    import baselines  # noqa: F401
    import mld  # noqa: F401
    from bench.interface import DataSpec, build_model

    spec = DataSpec(name="mnist_svhn", modalities=("mnist", "svhn"), shapes={"mnist": (1, 28, 28), "svhn": (3, 32, 32)})
    mopoe = build_model("mopoe", spec, "paper")
    assert mopoe.cfg.latent_dim == 20 and mopoe.rec_weights == (3.92, 1.0) and mopoe.cfg.beta == 2.5
    model = build_model("mld", spec, "paper")
    assert model.layout.sizes == (16, 64) and model.cfg.d == 0.5 and model.cfg.init_dim == 256
