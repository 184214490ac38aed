"""A model handed to bench.evaluate has its first outputs checked: wrong container, modality, dtype, shape or
non-finite values are one error naming the model, the call and the modality; values outside [0, 1] warn once."""

import logging

import pytest
import torch

from bench.errors import BenchError
from bench.output_checks import CheckedOutputs
from tests.specs import suite_spec

SPEC = suite_spec("polymnist", ("m0", "m1"), {"m0": (3, 4, 4), "m1": (3, 4, 4)})


class Fixed:
    """A model whose every output is ``out(n)``."""

    modalities = ("m0", "m1")

    def __init__(self, out):
        self.out = out

    def generate(self, x, observed, *, generator=None):
        return self.out(len(observed))

    def sample(self, n, *, generator=None):
        return self.out(n)


def good(n):
    return {"m0": torch.rand(n, 3, 4, 4), "m1": torch.rand(n, 3, 4, 4)}


@pytest.mark.parametrize("out, message", [
    (lambda n: [torch.rand(n, 3, 4, 4)] * 2, "mine.sample returned a list, not a dict"),
    (lambda n: {"m0": torch.rand(n, 3, 4, 4)}, "mine.sample returned no m1"),
    (lambda n: {**good(n), "m9": torch.rand(n, 3, 4, 4)}, "'m9', which is not a modality"),
    (lambda n: {**good(n), "m1": (torch.rand(n, 3, 4, 4) * 255).to(torch.uint8)}, "m1 is torch.uint8, not floating"),
    (lambda n: {**good(n), "m1": torch.rand(n, 4, 4)}, r"m1 has shape \(5, 4, 4\), the suite's is \(5, 3, 4, 4\)"),
    (lambda n: {**good(n), "m0": torch.full((n, 3, 4, 4), float("nan"))}, "m0 holds NaN or infinite values"),
    (lambda n: {**good(n), "m0": torch.full((n, 3, 4, 4), float("inf"))}, "m0 holds NaN or infinite values"),
])
def test_a_wrong_output_is_one_error_naming_model_call_and_modality(out, message):
    with pytest.raises(BenchError, match=message):
        CheckedOutputs(Fixed(out), SPEC, "mine").sample(5)


def test_values_outside_the_unit_range_warn_once_and_good_outputs_pass(caplog, monkeypatch):
    from bench.logs import LOG

    monkeypatch.setattr(LOG, "propagate", True)  # let caplog see the bench logger (an earlier run may have set it off)
    model = CheckedOutputs(Fixed(lambda n: {**good(n), "m0": torch.full((n, 3, 4, 4), 7.0)}), SPEC, "mine")
    with caplog.at_level(logging.WARNING, logger="bench"):
        model.sample(5)
        model.generate({}, torch.ones(5, 2, dtype=torch.bool))
    warned = [r for r in caplog.records if "outside [0, 1]" in r.getMessage()]
    assert len(warned) == 1 and "[7, 7]" in warned[0].getMessage()
    plain = CheckedOutputs(Fixed(good), SPEC, "mine")
    assert plain.sample(3)["m0"].shape == (3, 3, 4, 4) and plain.modalities == ("m0", "m1")
