"""Content-addressed cache of stage outputs: keys, atomic writes, safe loads, provenance."""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import json
import os
import pickle
import platform
import shutil
import subprocess
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from bench.errors import BenchError
from bench.locks import StageLock
from bench.logs import LOG


def stable_hash(*parts: Any, length: int = 12) -> str:
    """SHA-256 of the canonical JSON of ``parts`` (dataclasses become dicts), first ``length`` hex digits."""

    def plain(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {"__type__": type(obj).__name__, **dataclasses.asdict(obj)}
        if isinstance(obj, (tuple, list)):
            return [plain(o) for o in obj]
        if isinstance(obj, dict):
            return {str(k): plain(v) for k, v in obj.items()}
        return obj

    text = json.dumps(plain(list(parts)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@functools.cache
def _umask() -> int:
    """The process's file-creation mask (read once, by setting and restoring it: POSIX has no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Any], None], mode: str) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file. The file gets
    the permissions of a plain ``open`` (0666 less the umask; ``mkstemp`` alone would leave 0600). A full disk is
    one ``BenchError`` (``disk_full``) and leaves no partial file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise disk_full(path) from None
        raise
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if _out_of_space(exc, path):
            raise disk_full(path) from None
        raise


ORPHAN_AGE_S = 3600.0  # a temporary file this old belongs to no live write: a killed run left it


def sweep_orphans(folder: str | Path, *, older_than: float = ORPHAN_AGE_S) -> int:
    """Delete the temporary files of writes that never finished (``atomic_write``'s ``.<name>.*.tmp``) under
    ``folder`` and older than ``older_than`` seconds (a younger one may be another process's write in progress);
    return how many went."""
    cutoff, swept = time.time() - older_than, 0
    for tmp in Path(folder).rglob(".*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                swept += 1
        except OSError:
            continue
    return swept


def _out_of_space(exc: BaseException, path: Path) -> bool:
    """An ``ENOSPC``, or torch.save's own write failure (a ``RuntimeError`` from its zip writer, which drops the
    errno) on a disk with almost nothing left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, RuntimeError) and ("inline_container" in str(exc) or "PytorchStreamWriter" in str(exc)):
        return shutil.disk_usage(path.parent).free < 64 * 2**20
    return False


def disk_full(path: Path) -> BenchError:
    """The error for a write that ran out of space: where, how much is free, and that finished work is kept."""
    free = shutil.disk_usage(path.parent).free
    return BenchError(f"the disk holding {path.parent} is full while writing {path.name} ({free / 2**20:.1f} MiB free)",
                      "free space there (or pass --out on a larger disk) and rerun the same command: finished stages "
                      "and training checkpoints are kept, and nothing half-written is ever read")


def writable_folder(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a folder this process can write (created if missing), or one ``BenchError`` saying why not."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise BenchError(f"{flag} {path} is a file, not a folder", f"pass a folder for {flag}, or move the file away")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise BenchError(
            f"{flag} {path} cannot be written ({exc.strerror or type(exc).__name__})",
            f"pass a folder you can write to for {flag}, or fix its permissions",
        ) from None
    return path


def save_torch(obj: Any, path: str | Path) -> None:
    """Atomically ``torch.save`` a state dict / dict of tensors."""
    atomic_write(Path(path), lambda fh: torch.save(obj, fh), "wb")


def load_torch(path: str | Path, *, fix: str | None = None, what: str = "a tensor file") -> Any:
    """``torch.load(weights_only=True)``: tensors and plain containers only, never arbitrary pickles. A file that
    does not load is a ``BenchError`` naming it (as ``what``), with ``fix`` (default, for files this suite writes:
    delete it so it is rebuilt); torch's own advice to load it with ``weights_only=False`` is never passed on."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated zip, legacy pickle cut short, or a pickle that is not plain tensors
        text = str(exc)
        if "Unsupported global" in text:  # torch refused a class: a pickle of Python objects (its advice dropped)
            detail = "it holds Python objects, which safe loading (tensors only) refuses"
        elif text.startswith("Weights only load failed") or isinstance(exc, (EOFError, pickle.UnpicklingError)):
            detail = "not a torch.save file (corrupt or truncated)"
        else:
            detail = f"{type(exc).__name__}: {text.splitlines()[0] if text else 'unexpected end of file'}"
        raise BenchError(f"cannot read {path} as {what}: {detail}", fix or f"delete {path} so it is rebuilt") from None


def save_text(text: str, path: str | Path) -> None:
    """Atomically write a text file."""
    atomic_write(Path(path), lambda fh: fh.write(text), "w")


def save_json(obj: Any, path: str | Path) -> None:
    """Atomically write indented JSON."""
    atomic_write(Path(path), lambda fh: json.dump(obj, fh, indent=2, sort_keys=False, default=str), "w")


def load_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path} is not valid JSON ({exc})", f"delete {path} so it is rebuilt") from None


def git_commit() -> str:
    """The suite's git commit (with '+dirty' for uncommitted changes), or 'unknown' outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance(device: torch.device | str) -> dict[str, Any]:
    """Where a number came from: versions, commit, device, host and time (UTC)."""
    import numpy

    dev = torch.device(device)
    return {
        "commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""),
        "threads": torch.get_num_threads(),
        "host": platform.node(),
        "pid": os.getpid(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record_digest(record: dict) -> str:
    """SHA-256 of a cache record's canonical JSON (sorted keys), hex."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


class Store:
    """Stage outputs under ``root/<stage>/<key>.pt`` with a JSON record ``<key>.json`` beside it, where key =
    hash(stage config + upstream keys). The record carries the payload's size and SHA-256: an entry whose payload
    does not match, does not load (truncated, corrupted, or a pickled object, which is never unpickled), or whose
    record is unreadable is recomputed with a warning. ``fresh=True`` recomputes (and overwrites) every entry."""

    def __init__(self, root: str | Path, *, fresh: bool = False) -> None:
        self.root = Path(root)
        self.fresh = fresh
        self.hits: list[tuple[str, str]] = []  # (stage, key) served from disk during this run
        self.computed: list[tuple[str, str]] = []

    def path(self, stage: str, key: str, ext: str = "pt") -> Path:
        return self.root / stage / f"{key}.{ext}"

    def load(self, stage: str, key: str) -> tuple[Any, dict] | None:
        """``(payload, record)`` of a complete, intact entry; None if absent; None with a warning if damaged."""
        payload_path, record_path = self.path(stage, key), self.path(stage, key, "json")
        if not (payload_path.exists() and record_path.exists()):
            return None
        try:
            record = load_json(record_path)
            if not isinstance(record, dict) or not isinstance(record.get("_payload"), dict):
                raise BenchError(f"{record_path} is not a cache record (a JSON object with _payload)", "it is recomputed")
            check = record["_payload"]
            body = {k: v for k, v in record.items() if k != "_payload"}
            if check.get("record_sha256") != record_digest(body):
                raise BenchError(f"{record_path} does not match its SHA-256 (edited or damaged)", "it is recomputed")
            size = payload_path.stat().st_size
            if check.get("bytes") != size or check.get("sha256") != file_digest(payload_path):
                raise BenchError(f"{payload_path} does not match its record (size or SHA-256)", "it is recomputed")
            payload = load_torch(payload_path)
        except BenchError as err:
            warnings.warn(f"cache entry {stage}/{key} is damaged and will be recomputed: {err}", CacheWarning, 2)
            return None
        return payload, body

    def save(self, stage: str, key: str, payload: Any, record: dict) -> None:
        """Payload first, then the record with the payload's size and hash and the record's own hash: a record on
        disk means a complete payload, and an edited number in it is caught on load."""
        payload_path = self.path(stage, key)
        save_torch(payload, payload_path)
        record = json.loads(json.dumps(record, default=str))  # as it reads back, so that its hash is stable
        check = {"bytes": payload_path.stat().st_size, "sha256": file_digest(payload_path),
                 "record_sha256": record_digest(record)}
        save_json({**record, "_payload": check}, self.path(stage, key, "json"))

    def cached_torch(
        self, stage: str, key: str, compute: Callable[[], tuple[Any, dict]], *, label: str | None = None
    ) -> tuple[Any, dict]:
        """Return ``(payload, record)`` of ``stage/key`` from disk, or compute, save and return it. The computation
        holds the stage's lock (``bench.locks``): a second process asking for the same entry waits, then reuses
        it. Logs one line when the stage starts and one when it ends (cached or computed, seconds, peak memory)."""
        label = f"{label or stage} [{stage}/{key}]"
        entry = None if self.fresh else self.load(stage, key)
        if entry is None:
            with StageLock(self.path(stage, key, "lock")) as lock:
                if lock.waited and (stage, key) not in self.computed:  # another run may have computed it meanwhile
                    entry = self.load(stage, key)
                if entry is None:
                    LOG.info("%s: computing", label)
                    start = time.perf_counter()
                    payload, record = compute()
                    self.save(stage, key, payload, record)
                    self.computed.append((stage, key))
                    cost = record.get("cost", {})
                    peak = cost.get("peak_memory_mb")
                    LOG.info("%s: computed in %.1f s%s", label, cost.get("seconds", time.perf_counter() - start),
                             f", peak memory {peak:.0f} MB ({cost.get('memory')})" if peak == peak and peak else "")
                    return payload, record
        self.hits.append((stage, key))
        LOG.info("%s: cached (computed %s)", label, entry[1].get("provenance", {}).get("time", "at an unknown time"))
        return entry

    def entries(self, stage: str) -> list[tuple[str, dict]]:
        """(key, record) of every entry of ``stage`` that has a readable record, newest first."""
        out = []
        for record_path in sorted(self.root.glob(f"{stage}/*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                record = load_json(record_path)
            except BenchError:
                continue
            if isinstance(record, dict):
                out.append((record_path.stem, record))
        return out


class CacheWarning(UserWarning):
    """A cache entry was damaged and is being recomputed."""
