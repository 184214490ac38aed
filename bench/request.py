"""A run's request checked before any work: the suite, the scale, the models (``--models``, tags and presets), the
``--set`` overrides and the ``--checkpoint`` paths; a mistake is one clear error."""

from __future__ import annotations

import difflib
from pathlib import Path

from bench.config import RunConfig
from bench.errors import BenchError
from bench.interface import model_config
from bench.overrides import parse_overrides
from bench.plugins import load_plugins
from bench.presets import suite_models
from bench.registry import MODELS, SUITES


def model_names(cfg: RunConfig, suite) -> tuple[str, ...]:
    """The models a run trains: ``--models`` (``all``: every model with a preset on the suite), else those of them
    tagged with this scale (``bench.registry.register_model``), or all of them at a scale the suite lists in
    ``every_model_at``."""
    if cfg.models == ("all",) or (not cfg.models and cfg.scale in suite.every_model_at):
        return suite_models(suite.name)
    return tuple(cfg.models) if cfg.models else suite_models(suite.name, cfg.scale)


def checkpoint_paths(cfg: RunConfig) -> dict[str, str]:
    """``--checkpoint NAME=PATH`` as {name: path}, or a clear error for a malformed one."""
    paths = {}
    for item in cfg.checkpoints:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise BenchError(f"--checkpoint {item!r} is not NAME=PATH", "e.g. --checkpoint mopoe=exports/mopoe-seed0.safetensors")
        paths[name.strip()] = path.strip()
    return paths


def check_request(cfg: RunConfig, given: tuple[str, ...] = ()) -> tuple[object, object, tuple[str, ...]]:
    """(suite, scale, model names) of the request, or a clear error for an unknown suite, scale, model, a bad
    ``--set`` or ``--checkpoint``, before any work. Loads the plug-ins first (``bench.plugins``). ``given`` names
    models handed over as objects (``bench.evaluate``), which need no registration."""
    load_plugins(cfg.include)
    suite = SUITES.get(cfg.suite)()
    if cfg.scale not in suite.scales:
        raise BenchError(f"suite {suite.name} has no scale {cfg.scale!r}", f"choose one of: {', '.join(suite.scales)}")
    scale = suite.scales[cfg.scale]
    names = model_names(cfg, suite)
    if not names:
        raise BenchError(f"no model with a preset on suite {suite.name} is tagged for scale {cfg.scale}",
                         "name models with --models")
    for name in names:
        if name not in given:
            MODELS.get(name)  # fail before any work on a typo
    overrides = parse_overrides(cfg.overrides)
    for name in overrides:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            if close:
                raise BenchError(f"--set names {name}, which this run does not train. Did you mean: {close[0]}?",
                                 f"write --set {close[0]}.FIELD=VALUE")
            raise BenchError(f"--set names {name}, which this run does not train",
                             f"add {name} to --models" if name in MODELS else
                             f"name one of this run's models: {', '.join(names)}")
    for name in names:  # a model without a preset on the suite, or a bad --set, fails here, before any work
        if name not in given:
            model_config(name, suite.name, cfg.scale, overrides.get(name, ()))
    for name, path in checkpoint_paths(cfg).items():
        if name not in names:
            raise BenchError(f"--checkpoint names {name}, which this run does not score", f"add {name} to --models")
        if not Path(path).expanduser().exists():
            raise BenchError(f"--checkpoint {name}={path}: no such file or folder", "give the path --export wrote")
    return suite, scale, names
