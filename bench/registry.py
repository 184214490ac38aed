"""A generic name -> object registry with close-match errors (one instance per kind of plug-in), and the model
registry's tags: which scales' default lists a model joins."""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Generic, TypeVar

from bench.errors import BenchError

T = TypeVar("T")

NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # a registry entry names files, cache keys and table rows


def check_name(name: str, kind: str = "model") -> None:
    """A ``BenchError`` unless ``name`` is letters, digits, '_', '.' or '-' starting with a letter or digit: the one
    rule for every registered entry and for a model handed to ``bench.evaluate``."""
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise BenchError(f"{kind} name {name!r} cannot name files and table rows",
                         "use letters, digits, '_', '.' or '-', starting with a letter or digit")


class Registry(Generic[T]):
    """Objects registered under unique names with optional tags, e.g. ``@MODELS.register("mopoe", scales=(...))``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._tags: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **tags: Any) -> Callable[[T], T]:
        check_name(name, self.kind)

        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered to {self._items[name]!r}; cannot add {obj!r}")
            self._items[name] = obj
            self._tags[name] = tags
            return obj

        return decorator

    def tags(self, name: str) -> dict[str, Any]:
        """The tags ``name`` was registered with (``{}`` if none)."""
        self.get(name)
        return dict(self._tags[name])

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
        self._tags.pop(name, None)


MODELS: Registry = Registry("model")
SUITES: Registry = Registry("suite")


def register_model(name: str, *, scales: tuple[str, ...] = ()) -> Callable[[T], T]:
    """``@register_model("mine", scales=("default", "paper"))`` registers a model class (see
    ``bench.interface.build_model``). Any registered model runs when named (``--models mine``) on a suite that has a
    preset for it (``bench.presets``); ``scales`` are the scales whose default list it joins on those suites (and
    every suite with a preset for it includes it in ``--models all``)."""
    unknown = sorted(set(scales) - {"quick", "default", "paper"})
    if unknown:
        raise ValueError(f"register_model({name!r}): unknown scale(s) {unknown}; use quick, default, paper")
    return MODELS.register(name, scales=tuple(scales))


def register_suite(cls: type) -> type:
    """Register a suite class (a ``bench.suites.base.Suite`` subclass) under its ``name``: what a suite's own
    ``__init__.py`` does, or a file loaded with ``--include``."""
    return SUITES.register(cls.name)(cls)
