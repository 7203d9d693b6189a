"""The layers of plugins/module_utils: which package imports which, and the rule they follow.

    python -m tests.tools.layers        prints the import graph of the packages (used in docs/layout.md)

Each package may import only itself and the packages before it in LAYERS; tests/unit/test_layout.py holds the
tree to that, and to the size of its files.
"""

import ast
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PREFIX = "ansible_collections.coreos.multicluster.plugins.module_utils."
# from the bottom up: a package may import those before it, never one after it
LAYERS = ("names", "k8s", "credentials", "policies", "registry", "sync")


def package_of(path):
    """The package (or top-level module) of module_utils a file belongs to."""
    rel = os.path.relpath(path, MODULE_UTILS)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".py") else first


def imported_packages(path):
    """The module_utils packages one file imports (by any import form)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    found = set()
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
            if node.module + "." == PREFIX:  # from ...module_utils import names
                modules.extend(PREFIX + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        for module in modules:
            if module.startswith(PREFIX):
                found.add(module[len(PREFIX):].split(".")[0])
    return found


def python_files(top):
    for folder, _dirs, files in os.walk(top):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def graph():
    """{package: {imported package: [files importing it]}} for module_utils."""
    edges = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in python_files(MODULE_UTILS):
        here = package_of(path)
        for other in imported_packages(path):
            if other != here:
                edges[here][other].append(os.path.relpath(path, ROOT))
    return edges


def upward_imports():
    """(file, its package, the package above it that it imports), for every import against LAYERS."""
    wrong = []
    for here, targets in graph().items():
        for other, files in targets.items():
            if here not in LAYERS or other not in LAYERS or LAYERS.index(other) > LAYERS.index(here):
                wrong.extend((path, here, other) for path in files)
    return sorted(wrong)


def main():
    edges = graph()
    for package in LAYERS:
        print("%-12s -> %s" % (package, ", ".join(sorted(edges.get(package, {}), key=LAYERS.index)) or "(nothing)"))
    for path, here, other in upward_imports():
        print("UPWARD: %s (%s) imports %s" % (path, here, other))
    return 1 if upward_imports() else 0


if __name__ == "__main__":
    sys.exit(main())
