"""Our own dataset cache: one ``torch.save`` file of plain tensors per split plus a ``<path>.json`` manifest, read back
with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.errors import BenchError
from bench.store import load_json, load_torch, save_json, save_torch


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of a saved dataset lives: ``<path>.json``."""
    return Path(f"{path}.json")


def save_dataset(ds: MultimodalDataset, path: str | Path, manifest: dict[str, Any]) -> None:
    """Atomically write ``ds`` (``{"images": {m: stored}, "labels": int64, "specs": {m: ModalitySpec.as_dict()}}``)
    to ``path``, then its manifest.

    The manifest is written last, so a manifest on disk means a complete data file.
    """
    specs = {m: s.as_dict() for m, s in ds.specs.items()}
    save_torch({"images": dict(ds.images), "labels": ds.labels, "specs": specs}, path)
    save_json(manifest, manifest_path(path))


def load_dataset(path: str | Path) -> tuple[MultimodalDataset, dict[str, Any]]:
    """Read a dataset written by ``save_dataset``; a missing, partial or corrupted cache raises ``BenchError``."""
    path, meta = Path(path), manifest_path(path)
    fix = f"delete {path} and {meta} so they are rebuilt"
    for p in (path, meta):
        if not p.is_file():
            raise BenchError(f"incomplete dataset cache: {p} is missing", fix)
    payload = load_torch(path)
    manifest = load_json(meta)
    try:
        images, labels = payload["images"], payload["labels"]
        specs = {m: ModalitySpec.from_dict(v) for m, v in payload.get("specs", {}).items()}
        ds = MultimodalDataset(dict(images), labels, specs)
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise BenchError(f"{path} is not a saved dataset ({type(exc).__name__}: {exc})", fix) from None
    if labels.dtype != torch.int64 or labels.ndim not in (1, 2):  # (N,) classes or (N, A) attributes
        raise BenchError(f"{path} is not a saved dataset (labels {labels.dtype} {tuple(labels.shape)})", fix)
    if not isinstance(manifest, dict):
        raise BenchError(f"{meta} is not a dataset manifest (expected a JSON object)", fix)
    return ds, manifest
