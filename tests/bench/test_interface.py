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
