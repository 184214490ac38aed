import dataclasses

import pytest
import torch

from bench.errors import BenchError
from bench.store import Store, load_json, load_torch, provenance, save_json, save_torch, stable_hash


@dataclasses.dataclass(frozen=True)
class Cfg:
    lr: float = 1e-3
    epochs: int = 3


def test_stable_hash_is_deterministic_and_config_sensitive():
    assert stable_hash(Cfg(), "x") == stable_hash(Cfg(), "x")
    assert stable_hash(Cfg(), "x") != stable_hash(Cfg(epochs=4), "x")
    assert stable_hash({"b": 1, "a": 2}) == stable_hash({"a": 2, "b": 1})


def test_torch_round_trip_and_no_leftover_temp_files(tmp_path):
    path = tmp_path / "sub" / "w.pt"
    save_torch({"w": torch.arange(5)}, path)
    assert torch.equal(load_torch(path)["w"], torch.arange(5))
    assert [p.name for p in path.parent.iterdir()] == ["w.pt"]


def test_corrupted_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(BenchError) as err:
        load_torch(path)
    assert str(path) in str(err.value) and "delete" in err.value.fix


def test_untrusted_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": Cfg()}, path)  # an arbitrary object, not tensors
    with pytest.raises(BenchError):
        load_torch(path)


def test_failed_write_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "r.json"
    save_json({"a": 1}, path)
    with pytest.raises((TypeError, AttributeError)):
        save_torch(lambda: None, path)  # cannot be pickled: the write fails midway
    assert load_json(path) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_cached_torch_computes_once(tmp_path):
    store = Store(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"w": torch.ones(2)}, {"note": "x"}

    first = store.cached_torch("stage", "k", compute)
    second = store.cached_torch("stage", "k", compute)
    assert len(calls) == 1
    assert torch.equal(first[0]["w"], second[0]["w"]) and second[1] == {"note": "x"}


def test_provenance_fields():
    record = provenance("cpu")
    assert {"commit", "torch", "python", "device", "time"} <= set(record)
    assert record["device"] == "cpu"
