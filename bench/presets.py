"""Model presets per (suite, model, scale): the config values a model trains with on a suite, stated as what differs
from the model config's field defaults (each model's reference recipe).

A suite registers the presets of the models it runs (``bench/suites/<name>/presets.py``); a plug-in model registers
its own for the suites it runs on, and a plug-in suite its own for the built-in models it runs
(``register_presets``). A model runs on a suite only with a registered preset (or when its config has no fields at
all, so that nothing can be another dataset's value): there is no fallback to another suite's values.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from bench.errors import BenchError
from bench.registry import MODELS

SCALES = ("quick", "default", "converged", "paper")
REQUIRED_SCALES = ("quick", "default", "paper")  # every preset gives these
CONVERGED = "converged"  # optional: the small-scale reference trained to its plateau (docs/study.md); it runs the
# models that have a preset for it

_PRESETS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def register_presets(suite: str, model: str, presets: Mapping[str, Mapping[str, Any]]) -> None:
    """``presets[scale]``: the config values of model ``model`` on suite ``suite`` at each scale, over the config's
    field defaults. Every scale of ``REQUIRED_SCALES`` must be given (an empty dict: the defaults), ``converged``
    may be. Registering the same presets twice is a no-op; different ones for a registered (suite, model) are
    refused."""
    missing, unknown = sorted(set(REQUIRED_SCALES) - set(presets)), sorted(set(presets) - set(SCALES))
    if missing or unknown:
        raise ValueError(f"presets of {model} on {suite}: missing scales {missing}, unknown scales {unknown}; "
                         f"give one dict per scale of {REQUIRED_SCALES} (and optionally {CONVERGED})")
    values = {scale: dict(presets[scale]) for scale in SCALES if scale in presets}
    if _PRESETS.get((suite, model), values) != values:
        raise ValueError(f"{model} already has other presets on suite {suite}")
    _PRESETS[suite, model] = values


def models_with_presets(suite: str) -> set[str]:
    """The models with registered presets on ``suite``."""
    return {model for s, model in _PRESETS if s == suite}


def suite_models(suite: str, scale: str | None = None) -> tuple[str, ...]:
    """The registered models with a preset on ``suite`` (``bench.presets``) and, given ``scale``, tagged with that
    scale (at ``converged``: those with a preset for it), by name."""
    members = models_with_presets(suite)
    if scale == CONVERGED:
        return tuple(name for name in MODELS.names() if name in members and CONVERGED in _PRESETS[suite, name])
    return tuple(
        name for name in MODELS.names()
        if name in members and (scale is None or scale in MODELS.tags(name).get("scales", ()))
    )


def preset(suite: str, model: str, scale: str, config: type) -> dict[str, Any]:
    """The values of ``model`` (config class ``config``) on ``suite`` at ``scale``: its registered preset, ``{}`` for
    a config without fields, else one clear error."""
    if scale not in SCALES:
        raise BenchError(f"unknown scale {scale!r}", f"choose one of: {', '.join(SCALES)}")
    if (suite, model) not in _PRESETS:
        from bench.plugins import load_builtins

        load_builtins()  # the built-in suites register their presets on import
    if (suite, model) in _PRESETS:
        if scale not in _PRESETS[suite, model]:
            raise BenchError(f"model {model} has no {scale} preset on suite {suite}",
                             f"run the {scale} scale with the models that have one "
                             f"({', '.join(suite_models(suite, scale)) or 'none'}), or register one")
        return dict(_PRESETS[suite, model][scale])
    if not dataclasses.fields(config):
        return {}
    having = sorted(models_with_presets(suite))
    raise BenchError(
        f"model {model} has no preset for suite {suite} (the suite has presets for: {', '.join(having) or 'none'}), "
        "and no other suite's values are used",
        f"register one with bench.register_presets({suite!r}, {model!r}, {{'quick': ..., 'default': ..., "
        "'paper': ...}) in the model's or the suite's file, or run another model",
    )


def unregister_presets(suite: str, model: str) -> None:
    """Remove a (suite, model) entry (tests register temporary ones)."""
    _PRESETS.pop((suite, model), None)
