"""Feature extractors: the FID Inception-v3 built offline against pytorch-fid's own module (same state-dict layout,
same pool3 features), its input pipeline, refusal of bad weight files, the weights lookup, and classifier features.

No test downloads anything: pytorch-fid's ``fid_inception_v3()`` is built with its ``load_state_dict_from_url``
monkeypatched to return a state dict written here (random weights in the layout of the real file).
"""

import argparse
from pathlib import Path

import pytest
import pytorch_fid.inception
import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.metrics.features import (
    INCEPTION_WEIGHTS_NAME,
    ClassifierFeatures,
    InceptionFeatures,
    fid_inception_net,
    find_inception_weights,
)
from classifiers.nets import DigitClassifier

CPU = torch.device("cpu")


def random_inception_state(seed: int) -> dict[str, torch.Tensor]:
    """A ``fid_inception_net`` state dict with He-initialised convolutions and random batch-norm statistics and
    affines, so activations stay O(1) through the network and eval-mode batch norm is not the identity."""
    torch.manual_seed(seed)
    net = fid_inception_net()
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
    return net.state_dict()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor]]:
    """(path, state): the random state dict saved with ``torch.save``, as the real weights file is laid out."""
    state = random_inception_state(seed=0)
    path = tmp_path_factory.mktemp("inception") / INCEPTION_WEIGHTS_NAME
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def extractor(weights) -> InceptionFeatures:
    return InceptionFeatures(weights[0], device=CPU)


def images(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def pytorch_fid_net(monkeypatch, state: dict[str, torch.Tensor]) -> nn.Module:
    """pytorch-fid's own ``fid_inception_v3()`` with ``state`` in place of the downloaded weights."""
    monkeypatch.setattr(pytorch_fid.inception, "load_state_dict_from_url", lambda *args, **kwargs: state)
    return pytorch_fid.inception.fid_inception_v3()


def test_state_dict_layout_is_pytorch_fids(monkeypatch, weights):
    ours = fid_inception_net().state_dict()
    theirs = pytorch_fid_net(monkeypatch, weights[1]).state_dict()  # a strict load of our state dict succeeded
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    assert theirs["fc.weight"].shape == (1008, 2048) and not any(k.startswith("AuxLogits") for k in theirs)


def test_features_equal_pytorch_fids_pool3_of_the_same_weights(monkeypatch, weights, extractor):
    """pytorch-fid's ``InceptionV3([3])`` (resize to 299, 2x - 1, blocks 0-3) on the same images and weights."""
    monkeypatch.setattr(pytorch_fid.inception, "load_state_dict_from_url", lambda *args, **kwargs: weights[1])
    reference = pytorch_fid.inception.InceptionV3([3], resize_input=True, normalize_input=True).eval()
    x = images(2, 3, 28, 28, seed=1)
    with torch.no_grad():
        expected = reference(x)[0].flatten(1)
    torch.testing.assert_close(extractor.features(x), expected, rtol=1e-5, atol=1e-5)


def test_features_shape_determinism_and_sensitivity(extractor):
    a, b = images(2, 3, 28, 28, seed=2)
    f = extractor.features(torch.stack([a, b, a]))
    assert f.shape == (3, 2048) and f.dtype == torch.float32 and f.device == CPU and not f.requires_grad
    assert torch.isfinite(f).all() and (f >= 0).all()  # pool3 averages ReLU outputs
    assert torch.equal(f[0], f[2])
    assert (f[0] - f[1]).abs().max() > 1e-3 * f.abs().max()
    torch.testing.assert_close(extractor.features(a[None]), f[:1], rtol=1e-4, atol=1e-5)  # eval-mode batch norm


def test_one_channel_is_repeated_and_inputs_are_clamped(extractor):
    gray = images(2, 1, 28, 28, seed=3)
    f = extractor.features(gray)
    assert f.shape == (2, 2048) and f.dtype == torch.float32
    torch.testing.assert_close(f, extractor.features(gray.expand(-1, 3, -1, -1)), rtol=0, atol=0)
    out_of_range = gray * 3 - 1
    torch.testing.assert_close(extractor.features(out_of_range), extractor.features(out_of_range.clamp(0, 1)))


def test_input_pipeline_is_bilinear_resize_to_299_then_2x_minus_1(extractor):
    x = images(2, 3, 32, 20, seed=4)  # any size is resized
    prepared = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
    with torch.no_grad():
        expected = extractor.network(prepared)
    torch.testing.assert_close(extractor.features(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(extractor.features(x.double()), expected)


def test_legacy_format_weights_load_too(tmp_path, weights, extractor):
    """The release file predates torch's zip format; both formats give the same network."""
    path = tmp_path / INCEPTION_WEIGHTS_NAME
    torch.save(weights[1], path, _use_new_zipfile_serialization=False)
    legacy = InceptionFeatures(path, device=CPU).network.state_dict()
    reference = extractor.network.state_dict()
    assert legacy.keys() == reference.keys() and all(torch.equal(legacy[k], reference[k]) for k in legacy)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])  # the real file may be either
def test_truncated_weights_file_is_a_bench_error_naming_it(tmp_path, weights, zip_format):
    path = tmp_path / INCEPTION_WEIGHTS_NAME
    torch.save(weights[1], path, _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BenchError, match="cannot read") as err:
        InceptionFeatures(path, device=CPU)
    assert str(path) in err.value.problem
    assert INCEPTION_WEIGHTS_NAME in err.value.fix and "--inception-weights" in err.value.fix


@pytest.mark.parametrize(
    "content, message",
    [
        ({"x": torch.zeros(3)}, "missing keys"),
        (torch.zeros(3), "not a state dict"),
        (argparse.Namespace(a=1), "safe loading"),  # arbitrary pickles are refused, not executed
    ],
)
def test_wrong_weights_file_is_a_bench_error(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    with pytest.raises(BenchError, match=message) as err:
        InceptionFeatures(path, device=CPU)
    assert str(path) in err.value.problem and "--inception-weights" in err.value.fix


def test_weights_of_another_inception_are_a_bench_error(tmp_path, weights):
    """torchvision's ImageNet Inception-v3 head (1000 classes) is not the FID network."""
    state = {**weights[1], "fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)}
    path = tmp_path / "inception_v3_google.pth"
    torch.save(state, path)
    with pytest.raises(BenchError, match="size mismatch for fc.weight") as err:
        InceptionFeatures(path, device=CPU)
    assert str(path) in err.value.problem


@pytest.fixture
def no_weights_anywhere(monkeypatch, tmp_path) -> Path:
    """No $BENCH_INCEPTION_WEIGHTS and an empty torch hub dir; returns pytorch-fid's download location in it."""
    monkeypatch.delenv("BENCH_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS_NAME


def test_nothing_found_is_none_with_a_reason(no_weights_anywhere):
    path, reason = find_inception_weights(None)
    assert path is None
    assert reason == (
        "no Inception weights: pass --inception-weights PATH or set BENCH_INCEPTION_WEIGHTS "
        "(pt_inception-2015-12-05-6726825d.pth from pytorch-fid)"
    )


def test_lookup_order_is_explicit_then_environment_then_hub_cache(monkeypatch, tmp_path, no_weights_anywhere):
    cached = no_weights_anywhere
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"w")
    assert find_inception_weights(None)[0] == cached
    env = tmp_path / "env.pth"
    env.write_bytes(b"w")
    monkeypatch.setenv("BENCH_INCEPTION_WEIGHTS", str(env))
    assert find_inception_weights(None)[0] == env
    explicit = tmp_path / "explicit.pth"
    explicit.write_bytes(b"w")
    path, reason = find_inception_weights(str(explicit))
    assert path == explicit and "--inception-weights" in reason


def test_named_but_missing_weights_are_errors_not_skipped(monkeypatch, tmp_path, no_weights_anywhere):
    no_weights_anywhere.parent.mkdir(parents=True)
    no_weights_anywhere.write_bytes(b"w")  # a usable fallback must not hide the mistake
    with pytest.raises(BenchError, match="missing.pth"):
        find_inception_weights(str(tmp_path / "missing.pth"))
    with pytest.raises(BenchError, match="is not a file"):
        find_inception_weights(str(tmp_path))  # a folder
    monkeypatch.setenv("BENCH_INCEPTION_WEIGHTS", str(tmp_path / "gone.pth"))
    with pytest.raises(BenchError, match="BENCH_INCEPTION_WEIGHTS=.*gone.pth") as err:
        find_inception_weights(None)
    assert "unset" in err.value.fix


def test_classifier_features_are_the_penultimate_layer_in_eval_mode():
    torch.manual_seed(0)
    clf = DigitClassifier().train()
    extractor = ClassifierFeatures(clf)
    assert not clf.training and extractor.name == "clf" and extractor.dim == 128
    x = images(5, 3, 28, 28, seed=5)
    f = extractor.features(x)
    assert f.shape == (5, 128) and f.dtype == torch.float32 and not f.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(f, clf.features(x, layer="penultimate"), rtol=0, atol=0)
    clf.train()  # switched back by someone else: dropout must still be off
    assert torch.equal(extractor.features(x.double()), f)
    assert ClassifierFeatures(clf, name="clf2").name == "clf2"
