"""Trained weights in and out: ``<name>-seed<seed>.safetensors`` (the state dict) beside ``<name>-seed<seed>.json``
(model name, config, data spec and key, seed, code version, a SHA-256 of the weights). ``--export DIR`` writes them
for every model a run trains; ``load_model`` and ``--checkpoint NAME=PATH`` read them back (safetensors: no pickle),
refusing a file whose config, data or code version does not match what it is used for."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import torch

from bench.data.kinds import ModalitySpec
from bench.errors import BenchError
from bench.interface import DataSpec, code_version
from bench.registry import MODELS, SUITES
from bench.store import atomic_write, file_digest, save_json

FORMAT = "mm-latent-bench model"
FORMAT_VERSION = 2  # 2: the spec names its suite (whose networks rebuild the model)


def export_paths(folder: str | Path, name: str, seed: int) -> tuple[Path, Path]:
    """(weights, metadata) paths of model ``name`` trained with ``seed`` in an export folder."""
    stem = f"{name}-seed{seed}"  # appended, not with_suffix: a dotted name ("mean.v2") keeps its seed
    return Path(folder) / f"{stem}.safetensors", Path(folder) / f"{stem}.json"


def export_model(model, name: str, seed: int, folder: str | Path, *, spec: DataSpec, data_key: str,
                 extra: Mapping[str, Any] = ()) -> Path:
    """Write ``model``'s weights and metadata to ``folder``; return the weights' path. ``extra`` joins the metadata
    (e.g. the training record)."""
    from safetensors.torch import save

    weights, meta_path = export_paths(folder, name, seed)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(weights, lambda fh: fh.write(save(state)), "wb")  # umask permissions, never half a file
    save_json({
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name, "seed": seed,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": json_roundtrip(dataclasses.asdict(model.cfg)),
        "spec": {"suite": spec.suite, "modalities": list(spec.modalities),
                 "shapes": {m: list(s) for m, s in spec.shapes.items()},
                 "specs": {m: s.as_dict() for m, s in spec.specs.items()}},
        "data_key": data_key, "code_version": code_version(type(model)),
        "weights_sha256": file_digest(weights), **dict(extra),
    }, meta_path)
    return weights


def read_export(path: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(metadata, state dict) of an exported model, checked: the JSON beside the weights exists and names this
    format, and the weights' SHA-256 matches it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = Path(path).expanduser()
    meta_path = weights.with_suffix(".json")
    if weights.suffix != ".safetensors" or not weights.is_file():
        raise BenchError(f"checkpoint {weights} is not a .safetensors file", "give a file that --export wrote")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"checkpoint {weights} has no readable metadata {meta_path.name} beside it ({exc})",
                         "export the model with --export (it writes both files)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise BenchError(f"{meta_path} is not a {FORMAT} (format version {FORMAT_VERSION}) file", "re-export the model")
    kinds = {"name": str, "seed": int, "config": dict, "code_version": list, "data_key": str, "spec": dict}
    wrong = [k for k, kind in kinds.items() if not isinstance(meta.get(k), kind)]
    if wrong:
        raise BenchError(f"{meta_path} lacks or mistypes {', '.join(wrong)} (expected "
                         f"{', '.join(f'{k}: {kinds[k].__name__}' for k in wrong)})", "export the model again")
    if file_digest(weights) != meta.get("weights_sha256"):
        raise BenchError(f"checkpoint {weights} does not match the SHA-256 in {meta_path.name}: the file is corrupt or "
                         "was replaced", "export the model again")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise BenchError(f"checkpoint {weights} cannot be read: {exc}", "export the model again") from None
    return meta, state


def check_export(meta: dict, name: str, model, *, data_key: str | None = None) -> None:
    """A clear error unless the exported model is ``name`` with ``model``'s config and code version (and, given
    ``data_key``, was trained on that data)."""
    if meta["name"] != name:
        raise BenchError(f"the checkpoint holds model {meta['name']!r}, not {name!r}", f"pass it as {meta['name']}=PATH")
    config = json_roundtrip(dataclasses.asdict(model.cfg))
    differ = sorted(k for k in set(config) | set(meta["config"]) if config.get(k) != meta["config"].get(k))
    if differ:
        shown = ", ".join(f"{k}: checkpoint {meta['config'].get(k)!r} vs run {config.get(k)!r}" for k in differ)
        raise BenchError(f"the {name} checkpoint was trained with another config ({shown})",
                         "run with the checkpoint's --scale, or --set the fields to the checkpoint's values")
    if meta["code_version"] != json_roundtrip(code_version(type(model))):
        raise BenchError(f"the {name} checkpoint comes from code version {meta['code_version']}, this code is "
                         f"{code_version(type(model))}", "retrain and re-export with this version")
    if data_key is not None and meta["data_key"] != data_key:
        raise BenchError(f"the {name} checkpoint was trained on other data (data key {meta['data_key']}, this run "
                         f"{data_key})", "use the --data-root, --suite and --scale it was trained with")


def load_model(name: str, path: str | Path, *, seed: int | None = None, device: torch.device | str = "cpu"):
    """The exported model ``name`` in eval mode on ``device``. ``path`` is its ``.safetensors`` file or the export
    folder (then ``seed`` picks ``<name>-seed<seed>``; it may be left out when the folder holds one seed)."""
    from bench.plugins import load_builtins

    load_builtins()
    weights = resolve_export(name, path, seed)
    meta, state = read_export(weights)
    cls = MODELS.get(name)
    suite = SUITES.get(meta["spec"]["suite"])()
    spec = DataSpec(suite.name, tuple(meta["spec"]["modalities"]),
                    {m: tuple(s) for m, s in meta["spec"]["shapes"].items()},
                    {m: ModalitySpec.from_dict(s) for m, s in meta["spec"].get("specs", {}).items()}, suite.networks)
    model = cls(spec, config_from_dict(cls.Config, meta["config"]))
    check_export(meta, name, model)
    model.load_state_dict(state)
    return model.to(device).eval()


def resolve_export(name: str, path: str | Path, seed: int | None) -> Path:
    """The weights file of ``name`` (and ``seed``) given a file or an export folder."""
    path = Path(path).expanduser()
    if not path.is_dir():
        return path
    if seed is not None:
        return export_paths(path, name, seed)[0]
    found = sorted(path.glob(f"{name}-seed*.safetensors"))
    if len(found) != 1:
        raise BenchError(f"{path} holds {len(found)} exports of {name}", "pass the .safetensors file or a seed")
    return found[0]


def config_from_dict(cls: type, values: Mapping[str, Any]):
    """The config dataclass ``cls`` from its ``asdict`` form read back from JSON: nested dataclasses rebuilt, lists
    turned back into tuples where the field is a tuple."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name not in values:
            continue
        kwargs[f.name] = _typed(hints[f.name], values[f.name])
    return cls(**kwargs)


def _typed(hint, value):
    """``value`` shaped as the type ``hint`` asks: a dataclass from a dict, a tuple from a list."""
    if value is None:
        return None
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        if dataclasses.is_dataclass(option) and isinstance(value, dict):
            return config_from_dict(option, value)
        if (option is tuple or typing.get_origin(option) is tuple) and isinstance(value, list):
            inner = typing.get_args(option)
            item = inner[0] if inner else None
            return tuple(_typed(item, v) if item not in (None, Ellipsis) else v for v in value)
    return value


def json_roundtrip(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons with stored metadata."""
    return json.loads(json.dumps(value))

