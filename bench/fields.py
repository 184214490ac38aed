"""Checked config fields: every field of a config dataclass holds a value of its annotation (``int``, ``float``,
``bool``, ``str``, ``tuple[...]``, ``X | None``, a nested config), finite where it is a number, within the bounds
and among the choices the class declares. A config checks itself on construction (``check_fields`` in its
``__post_init__``), so a bad preset or ``--set`` value is one ``FieldError`` before any work.

A config class declares, merged along its bases:

- ``BOUNDS: ClassVar[dict[str, Bound]]``: the range of a number, or of every number in a tuple;
- ``CHOICES: ClassVar[dict[str, Collection[str]]]``: the allowed strings (a tuple, or a registry such as
  ``bench.likelihoods.LIKELIHOODS``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from bench.errors import BenchError


@dataclass(frozen=True)
class Bound:
    """``low <= x <= high`` (``<`` where open); ``None``: unbounded on that side."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, x: float) -> bool:
        above = self.low is None or (x > self.low if self.low_open else x >= self.low)
        below = self.high is None or (x < self.high if self.high_open else x <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}" if self.high is not None else "any"


POSITIVE = Bound(0, low_open=True)  # a rate, a scale, a width
COUNT = Bound(1)  # epochs, batch size, latent size, samples
NON_NEGATIVE = Bound(0)  # a weight, a number of warm-up epochs
PROBABILITY = Bound(0, 1)
DECAY = Bound(0, 1, high_open=True)  # an Adam beta, an EMA decay


class FieldError(BenchError):
    """A config field holds a value outside its annotation, bounds or choices; ``path`` names it (dotted when
    nested), ``expected`` says what it must be."""

    def __init__(self, where: str, path: str, value: Any, expected: str) -> None:
        self.where, self.path, self.value, self.expected = where, path, value, expected
        super().__init__(f"{where}.{path} = {value!r} is not {expected}", f"give {path} {expected}")

    def within(self, where: str, prefix: str) -> FieldError:
        """The same error seen from an outer config: ``prefix.path`` of ``where``."""
        return FieldError(where, f"{prefix}.{self.path}", self.value, self.expected)


@cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of every dataclass field of ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _merged(cls: type, attr: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        out.update(vars(base).get(attr, {}))
    return out


def check_fields(cfg: Any) -> None:
    """A ``FieldError`` for the first field of dataclass ``cfg`` whose value does not fit (module docstring)."""
    cls = type(cfg)
    where = cls.__name__
    bounds, choices = _merged(cls, "BOUNDS"), _merged(cls, "CHOICES")
    for name, hint in field_types(cls).items():
        value = getattr(cfg, name)
        bound = bounds.get(name)
        expected = describe(hint, bound)
        if not fits(value, hint, bound):
            raise FieldError(where, name, value, expected)
        if name in choices and value is not None and value not in choices[name]:
            raise FieldError(where, name, value, f"one of: {', '.join(choices[name])}")


def fits(value: Any, hint: Any, bound: Bound | None = None) -> bool:
    """``value`` is of type ``hint`` (numbers finite and within ``bound``, element-wise in a tuple)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, arg, bound) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        number = isinstance(value, int if hint is int else (int, float)) and not isinstance(value, bool)
        return number and math.isfinite(value) and (bound is None or bound.holds(value))
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(fits(v, args[0], bound) for v in value)
        return len(value) == len(args) and all(fits(v, a, bound) for v, a in zip(value, args))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return True  # an annotation this module does not read (Any, a callable): left to the config


def describe(hint: Any, bound: Bound | None = None, *, many: bool = False) -> str:
    """What a value of ``hint`` within ``bound`` is, in words ("an integer >= 1"; with ``many``, "integers >= 1")."""
    within = f" {bound}" if bound is not None else ""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [describe(a, bound, many=many) for a in args if a is not type(None)]
        return " or ".join(kinds) + (" or None" if type(None) in args else "")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a tuple of {describe(args[0], bound, many=True)}"
        if len(set(args)) == 1:
            return f"a tuple of {len(args)} {describe(args[0], bound, many=True)}"
        return f"a tuple ({', '.join(describe(a, bound) for a in args)})"
    words = {bool: ("True or False", "booleans"), int: ("an integer", "integers"), float: ("a finite number",
             "finite numbers"), str: ("a string", "strings")}
    if hint in words:
        return words[hint][many] + ("" if hint in (bool, str) else within)
    name = getattr(hint, "__name__", str(hint))
    return f"{name} values" if many else f"a {name}"
