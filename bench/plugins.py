"""Where registered models and suites come from: the built-in ones, installed packages that declare the entry-point
group ``mm_latent_bench.models``, and files or packages named by ``--include`` (``include=`` in ``bench.api``).

Importing a plug-in runs its ``@register_model`` (``bench.registry``); nothing in this repository names it. A job
process (``bench.executors``) loads the same plug-ins from its ``RunConfig`` before it builds a model.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Sequence

from bench.errors import BenchError

ENTRY_POINT_GROUP = "mm_latent_bench.models"


def load_builtins() -> None:
    """Register the models and suites of this package."""
    import baselines  # noqa: F401  (registers the VAEs)
    import bench.suites  # noqa: F401  (registers the suites)
    import mld  # noqa: F401  (registers the MLD models)


def load_plugins(include: Sequence[str] = ()) -> None:
    """Register the built-in models and suites, every installed entry point of ``ENTRY_POINT_GROUP``, then each
    ``include`` path (a ``.py`` file, or a package folder with an ``__init__.py``). Loading twice is a no-op."""
    load_builtins()
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:
            raise BenchError(f"the installed plug-in {entry.name} = {entry.value} (entry point {ENTRY_POINT_GROUP}) "
                             f"fails to import: {type(exc).__name__}: {exc}", "fix or uninstall that package") from exc
    for path in include:
        import_path(path)


def import_path(path: str) -> None:
    """Import a ``.py`` file (as a module named after the file) or a package folder (from its parent folder)."""
    target = Path(path).expanduser().resolve()
    if target.is_dir() and (target / "__init__.py").exists():
        name, parent = target.name, str(target.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve().parent == target:
            return
        _run(lambda: importlib.import_module(name), path)
    elif target.is_file() and target.suffix == ".py":
        name = target.stem
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == target:
            return
        spec = importlib.util.spec_from_file_location(name, target)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            _run(lambda: spec.loader.exec_module(module), path)
        except BenchError:
            sys.modules.pop(name, None)
            raise
    else:
        raise BenchError(f"--include {path}: no such .py file or package folder (with an __init__.py)",
                         "give the path of the file or folder that registers your model")


def _run(load, path: str) -> None:
    """Run an import, turning any exception of the user's code into one clear error naming the file."""
    try:
        load()
    except BenchError:
        raise
    except SystemExit as exc:
        raise BenchError(f"--include {path} called sys.exit({exc.code!r}) while it was imported",
                         "keep the exit out of import time (under if __name__ == '__main__':)") from None
    except Exception as exc:
        raise BenchError(f"--include {path} fails to import: {type(exc).__name__}: {exc}",
                         "fix the error in that file (run it with python to see the traceback)") from exc
