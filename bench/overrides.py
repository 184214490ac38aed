"""Config overrides written as ``model.field=value`` (``--set`` on the command line; nested fields with dots, e.g.
``mld.autoencoder.latent_dim=64``). Values are Python literals (``1e-3``, ``(16, 64)``, ``None``); anything else is
taken as a string. An override is applied after the scale's preset, so it takes precedence over everything."""

from __future__ import annotations

import ast
import dataclasses
from typing import Any, Iterable

from bench.errors import BenchError
from bench.fields import FieldError, field_types

Override = tuple[tuple[str, ...], Any]  # (field path, value)


def parse_overrides(items: Iterable[str]) -> dict[str, list[Override]]:
    """``["mopoe.beta=1.0", "mld.autoencoder.latent_dim=64"]`` -> {"mopoe": [(("beta",), 1.0)], "mld": [...]}."""
    out: dict[str, list[Override]] = {}
    for item in items:
        name, _, text = item.partition("=")
        model, *path = name.strip().split(".")
        if not model or not path or not text.strip():
            raise BenchError(f"--set {item!r} is not MODEL.FIELD=VALUE", "e.g. --set mopoe.beta=1.0")
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text.strip()
        out.setdefault(model, []).append((tuple(path), value))
    return out


def apply_overrides(cfg: Any, overrides: Iterable[Override]) -> Any:
    """A copy of the dataclass ``cfg`` with every (possibly nested) field set; an unknown field is a ``BenchError``
    naming the valid ones. Dataclass validation (``__post_init__``, ``bench.fields``) runs on the result; an integer
    given for a ``float`` field is stored as a float, a list for a tuple as a tuple, so either spelling names the same
    config (and cache key)."""
    for path, value in overrides:
        cfg = _set(cfg, path, value, type(cfg).__name__)
    return cfg


def _set(cfg: Any, path: tuple[str, ...], value: Any, where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cfg)}
    head = path[0]
    if head not in names:
        raise BenchError(f"{where} has no field {head!r}", f"valid fields: {', '.join(sorted(names))}")
    if len(path) > 1:
        inner = getattr(cfg, head)
        if not dataclasses.is_dataclass(inner):
            raise BenchError(f"{where}.{head} has no fields", f"set {where}.{head}=VALUE itself")
        try:
            value = _set(inner, path[1:], value, f"{where}.{head}")
        except FieldError as err:
            raise err.within(type(cfg).__name__, head) from None
    if isinstance(value, list):
        value = tuple(value)
    hint = field_types(type(cfg))[head]
    if hint in (float, float | None) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return dataclasses.replace(cfg, **{head: value})
