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
    ("import sys\nsys.exit(3)", r"called sys.exit\(3\) while it was imported"),
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


def test_an_edited_plug_in_gets_a_new_key_with_or_without_a_version(tmp_path, registered):
    """A plug-in's source file is part of its code version, so of its training and evaluation keys: an edited
    plug-in (here without a VERSION, and parameter-free, so its weights cannot tell) is retrained or re-evaluated
    instead of serving its old cached numbers."""
    from bench.api import weights_key
    from bench.interface import code_version

    path = tmp_path / "plugged_edit.py"
    path.write_text(MODULE.format(name="plugged_edit").replace("class Plugged:", "class Plugged(torch.nn.Module):")
                    .replace("import bench\n", "import bench\nimport torch\n"))
    registered.append("plugged_edit")
    load_plugins([str(path)])
    cls = MODELS.get("plugged_edit")
    version, key = code_version(cls), weights_key(cls(), "plugged_edit")
    assert version[-1][0] == "source" and weights_key(cls(), "plugged_edit") == key  # stable while unedited
    path.write_text(path.read_text() + "\nSCALE = 2.0  # an edit that changes what the model computes\n")
    assert code_version(cls) != version and weights_key(cls(), "plugged_edit") != key
    assert not any(entry[0] == "source" for entry in code_version(MODELS.get("mopoe")))  # built-ins: VERSION alone
