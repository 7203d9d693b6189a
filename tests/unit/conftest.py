"""Make `ansible_collections.coreos.multicluster` import from this checkout.

When the checkout already sits at .../ansible_collections/coreos/multicluster
(the build tree), its grandparent's parent goes on sys.path; otherwise a
temporary ansible_collections/coreos/multicluster symlink to it does.
"""

import atexit
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _remove(tmp, link):
    os.unlink(link)  # the link only, never what it points to
    shutil.rmtree(tmp, ignore_errors=True)


def _collections_parent():
    parts = ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "coreos", "multicluster"]:
        return os.sep.join(parts[:-3]) or os.sep
    tmp = tempfile.mkdtemp(prefix="mc-unit-")
    namespace = os.path.join(tmp, "ansible_collections", "coreos")
    os.makedirs(namespace)
    link = os.path.join(namespace, "multicluster")
    os.symlink(ROOT, link)
    atexit.register(_remove, tmp, link)
    return tmp


sys.path.insert(0, _collections_parent())
