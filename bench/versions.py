"""Code versions in cache keys, and the fingerprints that keep them honest.

Every component whose code decides numbers carries an integer version that enters its cache keys: each model class
(``VERSION``, and every base class's, so a change to the VAE base retrains every VAE), MLD's autoencoders
(``mld.autoencoders.AUTOENCODER_VERSION``), the classifiers (``classifiers.train.CLASSIFIER_VERSION``), each suite's
data (``data_version``) and networks (``Networks.version``), and the evaluation (``bench.evaluation.EVALUATION_VERSION``).

Rule: raise a component's version in the same commit as any change that can change what it computes (weights, data,
metrics); keep it for a change that cannot (a docstring, a log line, a renaming). ``bench/fingerprints.json`` records
each component's version and the SHA-256 of its source: its modules and every module of this repository they use,
transitively (read from their import statements), except the plumbing listed in ``PLUMBING``, which never touches numbers. A test fails when a source
changed and the file was not refreshed; ``python -m tools.fingerprints --update`` refreshes it and refuses to record
a changed source under an unchanged version unless ``--same-numbers`` says the change cannot alter any number.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.interface import BUILT_IN_PACKAGES as PACKAGES, code_version

PLUMBING = frozenset({
    "bench.checkpoints", "bench.devices", "bench.errors", "bench.executors", "bench.health", "bench.interface",
    "bench.locks", "bench.logs", "bench.measure", "bench.outputs", "bench.overrides", "bench.pipeline", "bench.plots",
    "bench.registry", "bench.run", "bench.store", "bench.tables", "bench.versions", "bench.config", "bench.plugins",
    "bench.api", "bench.exports", "bench.results", "bench.networks", "bench.presets", "bench.suites.base",
    "bench.prepare", "bench.request", "bench.model_stage", "bench.precision", "bench.evaluation",
    "bench.suites.layouts",
})
ROOT = Path(__file__).resolve().parent.parent
FINGERPRINTS = Path(__file__).resolve().parent / "fingerprints.json"


def _ours(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in PACKAGES and name not in PLUMBING


@functools.cache
def imports_of(name: str) -> frozenset[str]:
    """The modules of this repository that module ``name``'s source imports (at top level or inside functions),
    read from its syntax tree: ``import a.b`` gives a.b; ``from a import b`` gives a, and a.b when that is a module."""
    module = importlib.import_module(name)
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if _is_module(f"{node.module}.{alias.name}"))
    return frozenset(f for f in found if _ours(f))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dependencies(roots: list[str], exclude: frozenset[str] = frozenset()) -> list[str]:
    """``roots`` and the modules of this repository they import, transitively, plumbing and ``exclude`` (not
    followed either) left out; sorted."""
    seen: set[str] = set()
    todo = [r for r in roots if _ours(r)]
    while todo:
        name = todo.pop()
        if name not in seen and name not in exclude:
            seen.add(name)
            todo.extend(imports_of(name) - seen)
    return sorted(seen)


def source_digest(modules: list[str], read=lambda path: path.read_bytes()) -> str:
    """SHA-256 over each module's repository-relative path and source bytes (``read(path)``, line ends made
    ``\\n`` so that a Windows checkout agrees)."""
    digest = hashlib.sha256()
    for name in modules:
        path = Path(inspect.getfile(importlib.import_module(name))).resolve()
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + read(path).replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Component:
    """A versioned component: its name, version (as it enters keys), root modules and modules not followed."""

    name: str
    version: Any
    roots: tuple[str, ...]
    exclude: frozenset[str] = frozenset()

    def modules(self) -> list[str]:
        return dependencies(list(self.roots), self.exclude)


def components() -> list[Component]:
    """Every versioned component: the registered models, MLD's autoencoders, the classifiers, each suite's data and
    networks, and the evaluation. A suite's data component follows its package and data modules but not its networks
    and presets (``nets``, ``presets``: the presets are configs, in the keys; the networks are their own component)."""
    from bench.evaluation import EVALUATION_VERSION
    from bench.plugins import load_builtins
    from bench.registry import MODELS, SUITES
    from classifiers.train import CLASSIFIER_VERSION
    from mld.autoencoders import AUTOENCODER_VERSION

    load_builtins()
    out = []
    for name in MODELS.names():
        cls = MODELS.get(name)
        if not _ours(cls.__module__):  # a plug-in's versions are its own package's business
            continue
        roots = {k.__module__ for k in (*cls.__mro__, *cls.Config.__mro__)}
        out.append(Component(f"model {name}", code_version(cls), tuple(sorted(roots))))
    out.append(Component("mld autoencoders", AUTOENCODER_VERSION, ("mld.autoencoders",)))
    out.append(Component("classifiers", CLASSIFIER_VERSION, ("classifiers.train",)))
    suite_parts = frozenset(f"{name}.{part}" for name in _suite_packages() for part in ("nets", "presets"))
    for name in SUITES.names():
        suite = SUITES.get(name)()
        package = type(suite).__module__
        if not _ours(package):
            continue
        out.append(Component(f"data {name}", suite.data_version, (package, *suite.data_modules), suite_parts))
        if _is_module(f"{package}.nets"):
            out.append(Component(f"networks {name}", suite.networks.version, (f"{package}.nets",)))
    out.append(Component("evaluation", EVALUATION_VERSION, ("bench.metrics.registry", "bench.metrics.coherence",
                                                            "bench.metrics.quality")))
    return out


def _suite_packages() -> list[str]:
    """The suite packages of this repository (``bench/suites/<name>/``)."""
    import pkgutil

    import bench.suites

    return [f"bench.suites.{info.name}" for info in pkgutil.iter_modules(bench.suites.__path__) if info.ispkg]


def current() -> dict[str, dict[str, Any]]:
    """``name -> {version, sha256, modules}`` of every component as the code stands."""
    out = {}
    for comp in components():
        modules = comp.modules()
        out[comp.name] = {"version": comp.version, "sha256": source_digest(modules), "modules": modules}
    return out


def stale(recorded: dict[str, dict], now: dict[str, dict]) -> list[str]:
    """One line per component whose source or version differs from ``recorded`` (or that is new or gone), saying
    what to do."""
    problems = []
    for name in sorted(set(recorded) | set(now)):
        old, new = recorded.get(name), now.get(name)
        if old is None or new is None:
            problems.append(f"{name}: {'new' if old is None else 'gone'} component")
        elif old["sha256"] != new["sha256"] and old["version"] == new["version"]:
            problems.append(f"{name}: its source changed ({', '.join(new['modules'])}) but its version is still "
                            f"{new['version']}: raise it if the change can alter numbers")
        elif old["sha256"] != new["sha256"] or old["version"] != new["version"]:
            problems.append(f"{name}: changed (version {old['version']} -> {new['version']}) and not yet recorded")
    return problems
