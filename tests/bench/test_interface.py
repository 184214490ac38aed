"""The optional abilities of a model (bench.interface): found whole, or refused in part with one clear error."""

import pytest

from bench.errors import BenchError
from bench.interface import IterativeSampler, PlannedTraining, SubsetGenerator, ability, check_model
from bench.registry import MODELS
from tests.specs import suite_spec


class Sampler:
    network_calls_per_sample = 10

    def with_sampler_steps(self, steps):
        return self


def test_an_ability_is_found_whole_or_not_at_all():
    assert ability(Sampler(), IterativeSampler) is not None
    assert ability(object(), IterativeSampler) is None and ability(object(), SubsetGenerator) is None


def test_an_ability_in_part_is_one_clear_error():
    class Half:
        network_calls_per_sample = 10

    with pytest.raises(BenchError, match="implements IterativeSampler in part: no 'with_sampler_steps'"):
        ability(Half(), IterativeSampler)

    class NotCallable:
        planned_steps = 3

    with pytest.raises(BenchError, match="'planned_steps' is not callable"):
        ability(NotCallable(), PlannedTraining)


def test_the_built_in_models_have_their_abilities():
    import bench.suites  # noqa: F401  (registers the presets)
    from bench.interface import build_model

    spec = suite_spec("polymnist", ("m0", "m1"), {m: (3, 28, 28) for m in ("m0", "m1")})
    for name in MODELS.names():
        model = build_model(name, spec, "quick")
        check_model(model, name)
        assert ability(model, SubsetGenerator) is not None and ability(model, PlannedTraining) is not None
        assert (ability(model, IterativeSampler) is not None) == name.startswith("mld")
