import dataclasses
import json

import pytest
import torch

from bench.errors import BenchError
from bench.store import CacheWarning, Store, load_json, load_torch, provenance, save_json, save_torch, stable_hash


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


def counting_compute(calls: list, value: float = 1.0):
    def compute():
        calls.append(1)
        return {"w": torch.full((1000,), value)}, {"note": "x"}

    return compute


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "drop the record's hash", "break the record",
                                    "record is null", "record is a list", "edit a number in the record"])
def test_a_damaged_entry_is_detected_and_recomputed_with_a_warning(tmp_path, damage):
    store, calls = Store(tmp_path), []
    store.cached_torch("stage", "k", counting_compute(calls))
    payload, record = store.path("stage", "k"), store.path("stage", "k", "json")
    if damage == "flip a byte":
        data = bytearray(payload.read_bytes())
        data[len(data) // 2] ^= 0xFF  # inside the tensor data: torch.load alone would not notice
        payload.write_bytes(bytes(data))
    elif damage == "truncate":
        payload.write_bytes(payload.read_bytes()[:100])
    elif damage == "drop the record's hash":
        save_json({"note": "x"}, record)
    elif damage == "record is null":
        record.write_text("null")
    elif damage == "record is a list":
        record.write_text("[]")
    elif damage == "edit a number in the record":
        save_json({**json.loads(record.read_text()), "note": "y"}, record)  # payload hash intact, record edited
    else:
        record.write_text("{not json")
    with pytest.warns(CacheWarning, match="stage/k"):
        value, rec = Store(tmp_path).cached_torch("stage", "k", counting_compute(calls))
    assert len(calls) == 2 and torch.equal(value["w"], torch.ones(1000)) and rec == {"note": "x"}
    assert Store(tmp_path).load("stage", "k") is not None  # repaired on disk


class Exploit:
    ran = False

    def __reduce__(self):
        return (Exploit._run, ())

    @staticmethod
    def _run():
        Exploit.ran = True
        return "pwned"


def test_a_pickled_object_in_the_cache_is_never_unpickled(tmp_path):
    """Even with a record whose hash matches the file (a crafted entry), the object is refused, not executed."""
    store, calls = Store(tmp_path), []
    store.save("stage", "k", {"obj": Exploit()}, {"note": "crafted"})
    with pytest.warns(CacheWarning):
        value, _ = store.cached_torch("stage", "k", counting_compute(calls))
    assert not Exploit.ran and len(calls) == 1 and torch.equal(value["w"], torch.ones(1000))


def test_fresh_recomputes_and_hits_are_reported(tmp_path):
    calls = []
    first = Store(tmp_path)
    first.cached_torch("stage", "k", counting_compute(calls))
    assert first.computed == [("stage", "k")] and first.hits == []
    again = Store(tmp_path)
    again.cached_torch("stage", "k", counting_compute(calls))
    assert again.hits == [("stage", "k")] and len(calls) == 1
    fresh = Store(tmp_path, fresh=True)
    value, _ = fresh.cached_torch("stage", "k", counting_compute(calls, value=2.0))
    assert len(calls) == 2 and fresh.computed == [("stage", "k")] and torch.equal(value["w"], torch.full((1000,), 2.0))
    assert [key for key, _ in Store(tmp_path).entries("stage")] == ["k"]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (skipped where it cannot be mounted: not root, no mount permission)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_is_one_clear_error_and_keeps_finished_work(small_disk):
    """torch.save's own write failure and a plain ENOSPC both say the disk is full, how much is free and that
    finished stages are kept; no partial or temporary file is left, and a finished entry still loads."""
    store = Store(small_disk)
    store.save("stage", "done", {"w": torch.ones(10)}, {"note": "finished"})
    with pytest.raises(BenchError, match=r"is full while writing big\.pt \(\d+\.\d MiB free\).*finished stages") as err:
        store.save("stage", "big", {"w": torch.ones(2**20)}, {})  # 4 MiB
    assert "kept" in err.value.fix
    with pytest.raises(BenchError, match=r"is full while writing table\.md"):
        from bench.store import save_text

        save_text("x" * (2 * 2**20), small_disk / "table.md")
    assert sorted(p.name for p in small_disk.rglob("*") if p.is_file()) == ["done.json", "done.pt"]
    assert store.load("stage", "done") is not None


def test_random_bytes_and_a_pickled_object_are_told_apart(tmp_path):
    """Random bytes (a user's corrupt m0.pt or Inception file) are "not a torch.save file"; only a file whose
    globals torch refused "holds Python objects"."""
    import random

    noise, pickled = tmp_path / "m0.pt", tmp_path / "objects.pt"
    noise.write_bytes(random.Random(0).randbytes(5000))  # fixed bytes: the same verdict on every run
    torch.save({"obj": Exploit()}, pickled)
    with pytest.raises(BenchError, match=r"not a torch\.save file \(corrupt or truncated\)"):
        load_torch(noise)
    with pytest.raises(BenchError, match="holds Python objects"):
        load_torch(pickled)
    assert not Exploit.ran


def test_orphan_temporary_files_are_swept_and_live_ones_kept(tmp_path):
    import os
    import time

    from bench.store import sweep_orphans

    old, young, kept = tmp_path / "cache" / ".k.pt.abc.tmp", tmp_path / ".table.md.def.tmp", tmp_path / "k.pt"
    old.parent.mkdir()
    for path in (old, young, kept):
        path.write_text("x")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    os.utime(kept, (hours_ago, hours_ago))
    assert sweep_orphans(tmp_path) == 1
    assert not old.exists() and young.exists() and kept.exists()
