"""The Python API: bench.evaluate / run_suite / load_suite as the CLI's stages, and their errors."""

import pytest
import torch

import bench
from bench.api import weights_key
from bench.errors import BenchError


def test_the_api_is_importable_from_bench():
    for name in ("evaluate", "run_suite", "load_suite", "load_model", "register_model", "Results", "RunConfig"):
        assert callable(getattr(bench, name))
    with pytest.raises(AttributeError):
        bench.nothing_here  # noqa: B018


def test_evaluate_refuses_an_object_that_is_not_a_model():
    with pytest.raises(BenchError, match="object has no 'modalities'"):
        bench.evaluate(object(), "polymnist", scale="quick")


def test_evaluate_refuses_a_name_that_cannot_name_files():
    with pytest.raises(BenchError, match="cannot name files"):
        bench.evaluate(torch.nn.Identity(), "polymnist", name="a/b")


def test_evaluate_refuses_a_model_of_other_modalities(quick_run, tmp_path, copy_stages):
    _, results = quick_run
    copy_stages(results, tmp_path)

    class TwoModalities:
        modalities = ("a", "b")

        def generate(self, x, observed, *, generator=None): ...

        def sample(self, n, *, generator=None): ...

    with pytest.raises(BenchError, match=r"has modalities \('a', 'b'\), suite polymnist has"):
        bench.evaluate(TwoModalities(), "polymnist", scale="quick", out=tmp_path, device="cpu")


def test_load_suite_gives_the_runs_data_and_classifiers(quick_run):
    _, results = quick_run
    suite = bench.load_suite("polymnist", scale="quick", out=results, device="cpu")
    assert suite.spec.modalities == ("m0", "m1", "m2", "m3", "m4") and len(suite.test) == 300
    assert set(suite.classifiers) == set(suite.spec.modalities) and not suite.classifiers["m0"].training
    batch = suite.test.images["m0"][:8].float() / 255
    assert suite.classifiers["m0"](batch).shape == (8, 10)
    assert set(suite.feature_extractors) == {"clf"}


def test_run_suite_refuses_an_unknown_option():
    with pytest.raises(BenchError, match="unknown option"):
        bench.run_suite("polymnist", epochs=3)


def test_weights_key_follows_the_weights():
    net = torch.nn.Linear(3, 2)
    key = weights_key(net, "lin")
    assert weights_key(net, "lin") == key and weights_key(net, "other") != key
    with torch.no_grad():
        net.weight[0, 0] += 1
    assert weights_key(net, "lin") != key
    assert weights_key(object(), "x") != weights_key(object(), "x")  # no state dict: evaluated every time
