"""The tree shows its layers: module_utils packages import only the ones below them, each package says what it
holds, controller-only code stays out of module_utils, and no file grows past what one reader holds in mind."""

import ast
import os

import pytest

from tests.tools import layers

ROOT = layers.ROOT
MAX_LINES = 400


def test_no_package_imports_one_above_it():
    assert layers.upward_imports() == []


def test_the_rule_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself: a k8s file importing sync is reported."""
    package = tmp_path / "k8s"
    package.mkdir()
    (package / "bad.py").write_text(
        "from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan\n"
        "from ansible_collections.coreos.multicluster.plugins.module_utils import names\n")
    monkeypatch.setattr(layers, "MODULE_UTILS", str(tmp_path))
    monkeypatch.setattr(layers, "ROOT", str(tmp_path))
    assert layers.upward_imports() == [(os.path.join("k8s", "bad.py"), "k8s", "sync")]


def test_every_package_is_a_layer():
    found = set(layers.package_of(path) for path in layers.python_files(layers.MODULE_UTILS))
    assert found == set(layers.LAYERS)


@pytest.mark.parametrize("package", [p for p in layers.LAYERS if p != "names"])
def test_each_package_init_says_what_each_of_its_modules_holds(package):
    folder = os.path.join(layers.MODULE_UTILS, package)
    with open(os.path.join(folder, "__init__.py")) as handle:
        doc = ast.get_docstring(ast.parse(handle.read()))
    assert doc, package
    modules = sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and name != "__init__.py")
    assert [m for m in modules if "``%s``" % m not in doc] == []


def test_module_utils_never_imports_controller_code():
    controller = ("ansible_collections.coreos.multicluster.plugins.plugin_utils", "ansible.plugins", "ansible.template")
    wrong = []
    for path in layers.python_files(layers.MODULE_UTILS):
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            found = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            wrong.extend((os.path.relpath(path, ROOT), module) for module in found if module.startswith(controller))
    assert wrong == []


def test_no_file_in_plugins_or_agent_is_over_the_limit():
    long_files = []
    for top in ("plugins", "agent"):
        for path in layers.python_files(os.path.join(ROOT, top)):
            with open(path) as handle:
                count = sum(1 for _line in handle)
            if count > MAX_LINES:
                long_files.append((os.path.relpath(path, ROOT), count))
    assert long_files == []


def test_the_collection_tarball_carries_no_lab_bench_or_test_code(tmp_path):
    """What `ansible-galaxy collection build` makes of this checkout (galaxy.yml's build_ignore)."""
    import subprocess
    import sys
    import tarfile
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path), ROOT], check=True,
                   capture_output=True, timeout=120)
    (tarball,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(str(tarball)) as archive:
        members = archive.getnames()
    top = set(name.split("/")[0] for name in members)
    assert top <= {"COPYING", "FILES.json", "LICENSES", "MANIFEST.json", "README.md", "agent", "changelogs",
                   "containers", "docs", "examples", "execution-environment.yml", "meta", "playbooks", "plugins",
                   "requirements.txt", "roles"}
    assert [name for name in members if any(part in ("tests", "molecule", "bench", ".lab", "extensions", ".ci")
                                            for part in name.split("/"))] == []
    assert "plugins/module_utils/names.py" in members and "agent/loop.py" in members
