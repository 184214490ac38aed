"""A generic name -> object registry with close-match errors (one instance per kind of plug-in)."""

from __future__ import annotations

import difflib
from typing import Callable, Generic, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects registered under unique names, e.g. ``@MODELS.register("mopoe")``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        if not name or name != name.strip() or "/" in name or "," in name:
            raise ValueError(f"invalid {self.kind} name {name!r}: no spaces, '/' or ','")

        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered to {self._items[name]!r}; cannot add {obj!r}")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        if name not in self._items:
            close = difflib.get_close_matches(name, self.names(), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise BenchError(
                f"unknown {self.kind} {name!r}.{hint}",
                f"choose one of: {', '.join(self.names()) or '(none registered)'}",
            )
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def unregister(self, name: str) -> None:
        """Remove an entry (tests register temporary models)."""
        self._items.pop(name, None)


MODELS: Registry = Registry("model")
SUITES: Registry = Registry("suite")
