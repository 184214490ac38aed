"""Content-addressed cache of stage outputs: keys, atomic writes, safe loads, provenance."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from bench.errors import BenchError


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


def atomic_write(path: Path, write: Callable[[Any], None], mode: str) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_torch(obj: Any, path: str | Path) -> None:
    """Atomically ``torch.save`` a state dict / dict of tensors."""
    atomic_write(Path(path), lambda fh: torch.save(obj, fh), "wb")


def load_torch(path: str | Path) -> Any:
    """``torch.load(weights_only=True)``: tensors and plain containers only, never arbitrary pickles."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # corrupted, truncated or not a tensor file
        raise BenchError(f"cannot read {path}: {type(exc).__name__}: {exc}", f"delete {path} so it is rebuilt") from None


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
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


class Store:
    """Stage outputs under ``root/<stage>/<key>.<ext>``, where key = hash(stage config + upstream keys)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, stage: str, key: str, ext: str = "pt") -> Path:
        return self.root / stage / f"{key}.{ext}"

    def cached_torch(self, stage: str, key: str, compute: Callable[[], tuple[Any, dict]]) -> tuple[Any, dict]:
        """Return ``(payload, record)`` from ``root/<stage>/<key>.pt`` (+ ``.json``), computing and saving on a miss.

        The payload is saved first and the record last, so a record on disk means a complete payload.
        """
        payload_path, record_path = self.path(stage, key), self.path(stage, key, "json")
        if payload_path.exists() and record_path.exists():
            return load_torch(payload_path), load_json(record_path)
        payload, record = compute()
        save_torch(payload, payload_path)
        save_json(record, record_path)
        return payload, record
