# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of this collection's modules inside the worker process, when that is the same as running it as a
module would be.

The collection's modules talk to Kubernetes API servers, so with ``connection: local`` (every playbook of the
collection) they run on the controller, with the controller's Python. A module process there pays, before its
first request, a Python start, the unpacking and compiling of the AnsiballZ payload,
``ansible.module_utils.basic`` and the kubernetes client: about half a second of CPU, per host and per task. The
action plugin of a module imports the module in the controller (the strategy loads action plugins before it forks
its workers, so every worker inherits the imports), and ``run()`` here calls the module's ``main()`` in the worker
- a process forked for this one host and task, all the items of its loop - with the same arguments, the same
internal parameters, the task's environment variables, the same result encoding and decoding as a module process
gets, and what the module registers to run at exit run at the end of each run. The module's code, its
validation, no_log handling and result are therefore exactly those of the module; the result is merged as
``ansible.builtin.normal`` merges a module's.

It runs the module as a module (``ActionBase._execute_module``, as ``ansible.builtin.normal`` does) whenever the
two could differ: a connection other than local, become, async, a Python interpreter other than the controller's
for the host that runs the module (the delegated host with ``delegate_to``), an ansible-core this is not tested on
(TESTED_ON), or a module that cannot be imported on the controller - and for every task when the environment
variable MC_IN_PROCESS is 0. ``-vvv`` says which way each task ran, and why.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import sys

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ANSIBLE_CORE_VERSION
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

display = Display()

# The ansible-core minor versions this runner is tested on (tests/unit/plugins/plugin_utils/test_in_process*.py,
# tests/integration/test_in_process.py). It reproduces a module process with private parts of ansible-core's module
# protocol (ansible.module_utils.basic._ANSIBLE_ARGS and _ANSIBLE_PROFILE, the module encoder and its "legacy"
# profile), which change between minor versions: on any other version every module runs as a module. Add a version
# only once those tests pass on it.
TESTED_ON = ("2.19",)
# The environment variable of ansible-playbook (not of a task) that, set to 0, runs every task as a module.
SWITCH = "MC_IN_PROCESS"


def untested(version):
    """None when ansible-core *version* is one this runner is tested on, else why modules run as modules."""
    if ".".join(str(version).split(".")[:2]) in TESTED_ON:
        return None
    return "ansible-core %s: in process only on %s" % (version, ", ".join(TESTED_ON))


UNTESTED = untested(ANSIBLE_CORE_VERSION)
if UNTESTED is None:
    from ansible.module_utils import basic as _basic
    from ansible.module_utils.common.json import Direction, get_module_encoder

PROFILE = "legacy"  # the serialization profile of modules without metadata (ansible.executor.module_common)
# the connections whose modules run on the controller itself
_LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")
_AUTO = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")


def switched_off():
    """Why every task runs as a module when SWITCH says so, else None; a value that is no boolean is an error."""
    value = os.environ.get(SWITCH, "").strip()
    if not value:
        return None
    try:
        on = boolean(value, strict=True)
    except TypeError:
        raise AnsibleError("%s=%r: set it to 0 (every task runs as a module) or 1 (a task runs in the worker process "
                           "when that is the same as a module process)" % (SWITCH, value)) from None
    return None if on else "%s=%s" % (SWITCH, value)


def interpreter_of(action, task_vars):
    """The Python a module process of this task would run with, chosen as ActionBase._configure_module and
    module_common._get_shebang choose it: from the variables of the host that runs the module (with delegate_to,
    the delegated host's: ansible_delegated_vars), templated; for an auto mode, what interpreter discovery found
    for that host, if it ran. None when that host's variables are unknown."""
    host_vars = task_vars
    if action._task.delegate_to:
        host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(action._task.delegate_to)
        if host_vars is None:
            return None
    interpreter = host_vars.get("ansible_python_interpreter")
    if interpreter is None:
        interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
    if interpreter:
        interpreter = action._templar.template(interpreter)
    if not interpreter or interpreter in _AUTO:
        interpreter = (host_vars.get("ansible_facts") or {}).get("discovered_interpreter_python", interpreter)
    return interpreter


def _same_python(interpreter):
    """Whether a module would run with this very Python."""
    if interpreter in (None, "") or str(interpreter) in _AUTO:
        return False
    try:
        return os.path.realpath(str(interpreter)) == os.path.realpath(sys.executable)
    except (TypeError, ValueError):
        return False


def why_not(action, task_vars):
    """None when the module can run in this process, else the reason it runs as a module."""
    reason = switched_off() or UNTESTED
    if reason:
        return reason
    transport = getattr(action._connection, "transport", None)
    if transport not in _LOCAL_CONNECTIONS:
        return "connection %s" % transport
    if action._play_context.become:
        return "become"
    if action._task.async_val:
        return "async"
    interpreter = interpreter_of(action, task_vars)
    if not _same_python(interpreter):
        return "interpreter %s" % interpreter
    return None


@contextlib.contextmanager
def task_environment(action):
    """The task's environment variables (its environment keyword, as a module process gets them) in this worker's
    os.environ for the block only: the items of a loop all run in one worker."""
    environment = {}
    action._compute_environment_string(environment)
    values = dict((str(k), str(v)) for k, v in environment.items())
    saved = dict((k, os.environ.get(k)) for k in values)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def exit_handlers_of_this_run():
    """A module process runs its exit handlers when it ends: AnsibleModule removes its tmpdir that way (made under
    the remote_tmp when the module first uses it, unless ANSIBLE_KEEP_REMOTE_FILES). A worker never runs them (it
    ends with os._exit), and the items of a loop all run in one worker. So what is registered with atexit in this
    block runs when it ends, last registered first, an error ignored as at exit; what was registered before the
    block is left to the process."""
    handlers = []
    saved = (atexit.register, atexit.unregister)

    def register(func, *args, **kwargs):
        handlers.append((func, args, kwargs))
        return func

    def unregister(func):
        handlers[:] = [handler for handler in handlers if handler[0] != func]
        saved[1](func)

    atexit.register, atexit.unregister = register, unregister
    try:
        yield
    finally:
        atexit.register, atexit.unregister = saved
        for func, args, kwargs in reversed(handlers):
            try:
                func(*args, **kwargs)
            except Exception:  # pylint: disable=broad-except  # as at exit: the result is already made
                pass


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
    encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
    saved = (_basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE)
    _basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()
    _basic._ANSIBLE_PROFILE = PROFILE
    stdout, stderr, rc = io.StringIO(), io.StringIO(), 0
    try:
        with task_environment(action), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                exit_handlers_of_this_run(), kubernetes_temp_files_of_this_run():
            try:
                main()
            except SystemExit as exc:  # exit_json and fail_json end the module with sys.exit
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        _basic._ANSIBLE_ARGS, _basic._ANSIBLE_PROFILE = saved
    data = action._parse_returned_data({"rc": rc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}, PROFILE)
    remove_internal_keys(data)
    return data


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
        """As ansible.builtin.normal runs a module (its result merged with merge_hash, its tmp path removed
        unless async), with the module's main() in this process when why_not() finds nothing against it."""
        task_vars = task_vars or {}
        result = super(InProcessAction, self).run(tmp, task_vars)
        del tmp
        reason = why_not(self, task_vars) if self.MAIN is not None else "module not importable on the controller"
        host = task_vars.get("inventory_hostname")
        wrap_async = self._task.async_val and not self._connection.has_native_async
        if reason is None:
            display.vvv("%s: run in the worker process" % self.MODULE, host=host)
            result = merge_hash(result, run_module(self, self.MODULE, self.MAIN, task_vars))
        else:
            display.vvv("%s: run as a module (%s)" % (self.MODULE, reason), host=host)
            result = merge_hash(result, self._execute_module(module_name=self.MODULE, task_vars=task_vars,
                                                             wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
