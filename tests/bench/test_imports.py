"""The harness is acyclic: no module of this repository imports, at module level, one that imports it back."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bench", "baselines", "mld", "classifiers")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_level_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The repository modules a file imports at module level (``from p import m`` of a submodule counts as m)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & set(known)
            out |= submodules if submodules else {node.module}
    return out & set(known)


def test_no_module_level_import_cycles():
    known = modules()
    graph = {name: module_level_imports(path, known) - {name} for name, path in known.items()}
    # a package's __init__ may import the submodules that register into it (baselines, mld, bench.suites.<name>)
    graph = {name: {d for d in deps if not name.startswith(f"{d}.")} for name, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, cycles


def test_the_harness_layers():
    """config <- executors <- pipeline <- api <- run: the CLI and the pipeline import nothing above them."""
    known = modules()
    imports = {name: module_level_imports(known[name], known) for name in ("bench.config", "bench.executors",
                                                                           "bench.pipeline", "bench.run")}
    assert not imports["bench.config"] & {"bench.executors", "bench.pipeline", "bench.api", "bench.run"}
    assert not imports["bench.executors"] & {"bench.pipeline", "bench.api", "bench.run"}
    assert not imports["bench.pipeline"] & {"bench.api", "bench.run"}
    assert not imports["bench.run"] & {"bench.pipeline"}
