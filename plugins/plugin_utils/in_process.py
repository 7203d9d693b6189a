# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of this collection's modules inside the worker process, when that
is the same as running it as a module would be.

The collection's modules talk to Kubernetes API servers, so with
``connection: local`` (every playbook of the collection) they run on the
controller, with the controller's Python. A module process there pays, before
its first request, a Python start, the unpacking and compiling of the
AnsiballZ payload, ``ansible.module_utils.basic`` and the kubernetes client:
about half a second of CPU, per host and per task. The action plugin of a
module imports the module in the controller (the strategy loads action
plugins before it forks its workers, so every worker inherits the imports),
and ``run()`` here calls the module's ``main()`` in the worker - a fresh
process forked for this one host and task - with the same arguments, the same
internal parameters, the task's environment variables, the same result
encoding and decoding as a module process gets. The module's code, its validation, no_log handling and result
are therefore exactly those of the module.

It falls back to running the module as usual (``ActionBase._execute_module``)
whenever the two could differ: a connection other than local, become, async,
a Python interpreter other than the controller's, an
ansible-core without the module protocol this is written for (2.19), or a
module that cannot be imported on the controller.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys

from ansible import constants as C

try:
    from ansible.module_utils import basic as _basic
    from ansible.module_utils.common.json import Direction, get_module_encoder
    from ansible.vars.clean import remove_internal_keys
    HAS_PROTOCOL = hasattr(_basic, "_ANSIBLE_PROFILE") and hasattr(_basic, "_ANSIBLE_ARGS")
except ImportError:  # pragma: no cover - older ansible-core: run modules as modules
    HAS_PROTOCOL = False

PROFILE = "legacy"  # the serialization profile of modules without metadata (ansible.executor.module_common)
# the connections whose modules run on the controller itself
_LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")


def _same_python(interpreter):
    """Whether a module would run with this very Python (auto: discovery would pick the target's own)."""
    if interpreter in (None, "") or str(interpreter).startswith("auto"):
        return False
    try:
        return os.path.realpath(str(interpreter)) == os.path.realpath(sys.executable)
    except (TypeError, ValueError):
        return False


def why_not(action, task_vars):
    """None when the module can run in this process, else the reason it runs as a module."""
    if not HAS_PROTOCOL:
        return "ansible-core has no in-process module protocol"
    if getattr(action._connection, "transport", None) not in _LOCAL_CONNECTIONS:
        return "connection %s" % getattr(action._connection, "transport", None)
    if action._play_context.become:
        return "become"
    if action._task.async_val:
        return "async"
    interpreter = task_vars.get("ansible_python_interpreter")
    if interpreter is not None:
        interpreter = action._templar.template(interpreter)
    else:
        interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
    if not _same_python(interpreter):
        return "interpreter %s" % interpreter
    return None


@contextlib.contextmanager
def kubernetes_temp_files_of_this_run():
    """The kubernetes client's kubeconfig loader writes a kubeconfig's certificate and key data to temporary
    files, kept in a module-level cache by content (kube_config._temp_files) and removed at exit; a worker ends
    without running atexit, so the files this block adds are removed when it ends. Only those: the cache a
    worker inherits from the playbook's process (the inventory plugin loads the directory's kubeconfig there)
    names files that process still owns and that other workers get from the cache - removing them made a later
    task fail with 'cannot read the CA certificate /tmp/tmp...'."""
    try:
        from kubernetes.config import kube_config
    except ImportError:  # pragma: no cover
        yield
        return
    inherited = dict(getattr(kube_config, "_temp_files", None) or {})
    try:
        yield
    finally:
        cache = getattr(kube_config, "_temp_files", None)
        if isinstance(cache, dict):
            for key, path in list(cache.items()):
                if inherited.get(key) != path:
                    try:
                        os.remove(path)
                    except OSError:
                        pass
                    del cache[key]


def run_module(action, module_name, main, task_vars):
    """The result of module *module_name* (its ``main``) for the action's task, run in this process."""
    module_args = dict(action._task.args)
    action._update_module_args(module_name, module_args, task_vars)
    environment = {}
    action._compute_environment_string(environment)  # the task's environment, as a module process would get it
    os.environ.update((str(k), str(v)) for k, v in environment.items())  # this worker's own copy
    encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
    saved = (_basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE)
    _basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()
    _basic._ANSIBLE_PROFILE = PROFILE
    stdout, stderr, rc = io.StringIO(), io.StringIO(), 0
    try:
        with kubernetes_temp_files_of_this_run(), contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            try:
                main()
            except SystemExit as exc:  # exit_json and fail_json end the module with sys.exit
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        _basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE = saved
    data = action._parse_returned_data({"rc": rc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}, PROFILE)
    remove_internal_keys(data)
    return data


from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


class InProcessAction(ActionBase):
    """The action plugin of a module: MODULE its FQCN, MAIN its main() (None: never in process)."""

    MODULE = None
    MAIN = None
    _supports_check_mode = True
    _supports_async = True

    @classmethod
    def of(cls, name):
        """The ActionModule class of module coreos.multicluster.<name>. The module is imported now: action
        plugins are loaded by the strategy in the controller before it forks its workers, so every worker
        inherits the module, its module_utils and the kubernetes client already imported."""
        try:
            module = importlib.import_module("ansible_collections.coreos.multicluster.plugins.modules." + name)
            main = module.main
        except ImportError:  # pragma: no cover - the module then runs as a module, and says what it misses
            main = None
        return type("ActionModule", (cls,), {"MODULE": "coreos.multicluster." + name,
                                             "MAIN": staticmethod(main) if main else None})

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(InProcessAction, self).run(tmp, task_vars)
        del tmp
        reason = why_not(self, task_vars) if self.MAIN is not None else "module not importable on the controller"
        if reason is None:
            display.vvv("%s: run in the worker process" % self.MODULE, host=task_vars.get("inventory_hostname"))
            result.update(run_module(self, self.MODULE, self.MAIN, task_vars))
        else:
            display.vvv("%s: run as a module (%s)" % (self.MODULE, reason), host=task_vars.get("inventory_hostname"))
            result.update(self._execute_module(module_name=self.MODULE, task_vars=task_vars,
                                               wrap_async=self._task.async_val))
        return result
