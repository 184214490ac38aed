"""Models registered from outside the repository: --include files and packages, installed entry points, tags and
presets."""

import sys
from importlib.metadata import EntryPoint

import pytest

from bench.errors import BenchError
from bench.plugins import ENTRY_POINT_GROUP, import_path, load_plugins
from bench.presets import suite_models, unregister_presets
from bench.registry import MODELS, register_model

MODULE = '''
import bench


@bench.register_model("{name}", scales=("default",))
class Plugged:
    pass


bench.register_presets("polymnist", "{name}", {{"quick": {{}}, "default": {{}}, "paper": {{}}}})
'''


@pytest.fixture
def registered():
    """Names registered by a test, removed (with their modules) afterwards."""
    names: list[str] = []
    modules = set(sys.modules)
    yield names
    for name in names:
        MODELS.unregister(name)
        unregister_presets("polymnist", name)
    for module in set(sys.modules) - modules:
        if module.startswith(("plug", "my_plugins")):
            del sys.modules[module]


def test_include_a_file_registers_its_model_with_its_tags_once(tmp_path, registered):
    path = tmp_path / "plugged_file.py"
    path.write_text(MODULE.format(name="plugged_file"))
    registered.append("plugged_file")
    load_plugins([str(path)])
    load_plugins([str(path)])  # a second load is a no-op, not a duplicate registration
    assert MODELS.get("plugged_file").__name__ == "Plugged"
    assert "plugged_file" in suite_models("polymnist", "default") and "plugged_file" in suite_models("polymnist")
    assert "plugged_file" not in suite_models("polymnist", "quick") + suite_models("mnist_svhn")


def test_include_a_package_folder(tmp_path, registered):
    package = tmp_path / "my_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("from my_plugins import models  # noqa: F401\n")
    (package / "models.py").write_text(MODULE.format(name="plugged_package"))
    registered.append("plugged_package")
    import_path(str(package))
    assert "plugged_package" in MODELS


def test_an_installed_entry_point_is_loaded(tmp_path, monkeypatch, registered):
    (tmp_path / "plugged_entry.py").write_text(MODULE.format(name="plugged_entry"))
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = EntryPoint(name="plugged", value="plugged_entry", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr("bench.plugins.entry_points", lambda group: [entry] if group == ENTRY_POINT_GROUP else [])
    registered.append("plugged_entry")
    load_plugins()
    assert "plugged_entry" in MODELS


@pytest.mark.parametrize("content, message", [
    (None, "no such .py file or package folder"),
    ("raise RuntimeError('broken on purpose')", "fails to import: RuntimeError: broken on purpose"),
])
def test_a_bad_include_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "plug_broken.py"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BenchError, match=message):
        load_plugins([str(path)])
    assert "plug_broken" not in sys.modules


def test_a_broken_entry_point_names_the_package(monkeypatch):
    entry = EntryPoint(name="broken", value="no_such_module_here", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr("bench.plugins.entry_points", lambda group: [entry])
    with pytest.raises(BenchError, match="installed plug-in broken = no_such_module_here"):
        load_plugins()


def test_register_model_refuses_an_unknown_scale():
    with pytest.raises(ValueError, match="unknown scale"):
        register_model("nope", scales=("huge",))
