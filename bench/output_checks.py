"""The outputs of a model handed to ``bench.evaluate``, checked on its first call of each kind: a dict with every
modality, each a floating tensor of the suite's shape with finite values (``MultimodalModel``: float32 in model form,
images in [0, 1]). A wrong output is one ``BenchError`` naming the model, the call and the modality instead of a torch
error deep in a metric; values outside [0, 1], which the metrics would read clamped, warn once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench.errors import BenchError
from bench.interface import DataSpec
from bench.logs import LOG

FIX = "return {modality: float tensor (B, *shape)} as bench.interface.MultimodalModel states"


class CheckedOutputs:
    """``model`` with its first ``generate``, ``sample`` and ``generate_subsets`` output checked against ``spec``;
    every other attribute (``modalities``, ``cfg``, the optional abilities) is the model's own."""

    def __init__(self, model: Any, spec: DataSpec, name: str) -> None:
        self._model, self._spec, self._name = model, spec, name
        self._checked: set[str] = set()
        self._warned = False

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._model, attr)
        if attr != "generate_subsets" or not callable(value):
            return value

        def generate_subsets(x, subsets, targets, *, generator=None):
            out = value(x, subsets, targets, generator=generator)
            self._check("generate_subsets", out, None, every=False)
            return out

        return generate_subsets

    def generate(self, x, observed, *, generator=None):
        out = self._model.generate(x, observed, generator=generator)
        self._check("generate", out, len(observed), every=True)
        return out

    def sample(self, n: int, *, generator=None):
        out = self._model.sample(n, generator=generator)
        self._check("sample", out, n, every=True)
        return out

    def _check(self, call: str, out: Any, n: int | None, *, every: bool) -> None:
        if call in self._checked:
            return
        where = f"{self._name}.{call}"
        if not isinstance(out, Mapping):
            raise BenchError(f"{where} returned a {type(out).__name__}, not a dict of tensors by modality", FIX)
        missing = [m for m in self._spec.modalities if m not in out] if every else []
        if missing:
            raise BenchError(f"{where} returned no {', '.join(missing)} (it must return every modality)", FIX)
        for m, value in out.items():
            if m not in self._spec.shapes:
                raise BenchError(f"{where} returned {m!r}, which is not a modality of suite {self._spec.suite}", FIX)
            self._check_tensor(where, m, value, n)
        self._checked.add(call)

    def _check_tensor(self, where: str, m: str, value: Any, n: int | None) -> None:
        shape = tuple(self._spec.shapes[m])
        if not isinstance(value, torch.Tensor):
            raise BenchError(f"{where}: {m} is a {type(value).__name__}, not a tensor", FIX)
        if not value.is_floating_point():
            raise BenchError(f"{where}: {m} is {value.dtype}, not floating point (values in [0, 1])", FIX)
        if tuple(value.shape[1:]) != shape or (n is not None and value.shape[0] != n):
            expected = f"({n if n is not None else 'B'}, {', '.join(map(str, shape))})"
            raise BenchError(f"{where}: {m} has shape {tuple(value.shape)}, the suite's is {expected}", FIX)
        if not bool(torch.isfinite(value).all()):
            raise BenchError(f"{where}: {m} holds NaN or infinite values", "fix the model's generation")
        low, high = (float(value.min()), float(value.max())) if value.numel() else (0.0, 0.0)
        if (low < 0.0 or high > 1.0) and not self._warned:
            self._warned = True
            LOG.warning("%s: %s has values in [%.3g, %.3g], outside [0, 1]: the metrics read them clamped to [0, 1] "
                        "(return decoder means in [0, 1])", where, m, low, high)
