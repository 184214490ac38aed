"""Pipeline pieces that the end-to-end runs do not isolate: mixed precision around a model, damaged cached data."""

import json

import pytest
import torch

import bench.suites  # noqa: F401  (registers the suites)
from bench.config import RunConfig
from bench.precision import MixedPrecisionModel


class Recorder:
    modalities = ("m0",)

    def __init__(self):
        self.autocast = []

    def generate(self, x, observed, *, generator=None):
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        return {"m0": (x["m0"] @ torch.eye(4))}  # a matmul: bfloat16 under autocast

    def sample(self, n, *, generator=None):
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        return {"m0": torch.ones(n, 4) @ torch.eye(4)}


def test_bf16_runs_the_model_under_autocast_and_hands_back_float32():
    inner = Recorder()
    model = MixedPrecisionModel(inner, RunConfig(suite="polymnist", amp="bf16"), torch.device("cpu"))
    out = model.generate({"m0": torch.rand(3, 4)}, torch.ones(3, 1, dtype=torch.bool))
    joint = model.sample(2)
    assert inner.autocast == [True, True]
    assert out["m0"].dtype == joint["m0"].dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu")  # and only inside the model's calls


def test_without_amp_nothing_is_autocast():
    inner = Recorder()
    MixedPrecisionModel(inner, RunConfig(suite="polymnist"), torch.device("cpu")).sample(2)
    assert inner.autocast == [False]


def test_damaged_cached_data_is_rebuilt_with_a_warning(tmp_path):
    import pytest

    from bench.prepare import load_data
    from bench.registry import SUITES
    from bench.store import CacheWarning, Store

    suite = SUITES.get("polymnist")()
    cfg = RunConfig(suite="polymnist", scale="quick", out=str(tmp_path))
    store = Store(tmp_path / "cache")
    _, test, _, key = load_data(suite, suite.scales["quick"], cfg, store)
    (path,) = (tmp_path / "cache" / "data").glob("*/test.pt")
    data = bytearray(path.read_bytes())
    data[-2000] ^= 0xFF  # inside the image bytes: still a loadable file, but not the data it was
    path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="rebuilt"):
        _, again, _, again_key = load_data(suite, suite.scales["quick"], cfg, store)
    assert again_key == key and torch.equal(again.images["m0"], test.images["m0"])


def _zero_train_split(folder):
    from bench.data.cache import load_dataset, save_dataset
    from bench.data.dataset import MultimodalDataset

    ds, manifest = load_dataset(folder / "train.pt")
    zeros = MultimodalDataset({m: torch.zeros_like(x) for m, x in ds.images.items()}, ds.labels, ds.specs)
    save_dataset(zeros, folder / "train.pt", manifest)  # a loadable file whose manifest hash is now stale


def _drop_hashes(folder):
    for name in ("train.pt.json", "test.pt.json"):
        path = folder / name
        manifest = json.loads(path.read_text())
        path.write_text(json.dumps({k: v for k, v in manifest.items() if not k.endswith("_sha256")}))


@pytest.mark.parametrize("damage", [_zero_train_split, _drop_hashes], ids=["all-zero train.pt", "no hashes"])
def test_cached_data_that_fails_its_check_is_never_used(tmp_path, damage):
    """After the warning "will be rebuilt" the data is rebuilt, not served: every split equals the first build."""
    from bench.prepare import load_data
    from bench.registry import SUITES
    from bench.store import CacheWarning, Store

    suite = SUITES.get("polymnist")()
    cfg = RunConfig(suite="polymnist", scale="quick", out=str(tmp_path))
    store = Store(tmp_path / "cache")
    train, test, _, key = load_data(suite, suite.scales["quick"], cfg, store)
    (folder,) = (tmp_path / "cache" / "data").glob("*")
    damage(folder)
    with pytest.warns(CacheWarning, match="rebuilt"):
        again_train, again_test, _, again_key = load_data(suite, suite.scales["quick"], cfg, store)
    assert again_key == key
    for m in train.images:
        assert torch.equal(again_train.images[m], train.images[m]) and torch.equal(again_test.images[m], test.images[m])
