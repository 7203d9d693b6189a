"""When a module may run in the worker process (plugin_utils/in_process.py): the same Python, a local
connection, no become, no async - anything else runs it as a module (fakes of the action's task,
connection and play context: pure logic)."""

import os
import sys
from types import SimpleNamespace

import pytest

from ansible_collections.coreos.multicluster.plugins.plugin_utils import in_process


class Templar(object):
    def __init__(self, values=None):
        self.values = values or {}

    def template(self, value):
        return self.values.get(value, value)


def action(transport="local", become=False, async_val=0, templar=None):
    return SimpleNamespace(_connection=SimpleNamespace(transport=transport),
                           _play_context=SimpleNamespace(become=become),
                           _task=SimpleNamespace(async_val=async_val),
                           _templar=templar or Templar())


HERE = {"ansible_python_interpreter": sys.executable}


def test_the_controllers_python_over_a_local_connection_runs_in_process():
    assert in_process.why_not(action(), HERE) is None
    assert in_process.why_not(action(transport="ansible.builtin.local"), HERE) is None


def test_the_interpreter_variable_is_templated_first():
    templar = Templar({"{{ ansible_playbook_python }}": sys.executable})
    assert in_process.why_not(action(templar=templar), {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}) is None


def test_a_symlink_to_the_controllers_python_is_the_same_python(tmp_path):
    link = tmp_path / "python"
    os.symlink(os.path.realpath(sys.executable), str(link))
    assert in_process.why_not(action(), {"ansible_python_interpreter": str(link)}) is None


@pytest.mark.parametrize("kw, task_vars, reason", [
    ({"transport": "ssh"}, HERE, "connection ssh"),
    ({"become": True}, HERE, "become"),
    ({"async_val": 30}, HERE, "async"),
    ({}, {"ansible_python_interpreter": "/opt/other/bin/python3"}, "interpreter /opt/other/bin/python3"),
    ({}, {"ansible_python_interpreter": "auto_silent"}, "interpreter auto_silent"),
])
def test_anything_else_runs_as_a_module_and_says_why(kw, task_vars, reason):
    assert in_process.why_not(action(**kw), task_vars) == reason


def test_without_the_variable_the_configured_interpreter_decides(monkeypatch):
    monkeypatch.setattr(in_process.C.config, "get_config_value",
                        lambda name, variables=None: sys.executable if name == "INTERPRETER_PYTHON" else None)
    assert in_process.why_not(action(), {}) is None
    monkeypatch.setattr(in_process.C.config, "get_config_value", lambda name, variables=None: "auto")
    assert in_process.why_not(action(), {}) == "interpreter auto"


def test_an_ansible_core_without_the_module_protocol_runs_modules_as_modules(monkeypatch):
    monkeypatch.setattr(in_process, "HAS_PROTOCOL", False)
    assert in_process.why_not(action(), HERE) == "ansible-core has no in-process module protocol"


def test_every_modules_action_plugin_is_its_in_process_action():
    import importlib
    root = os.path.join(os.path.dirname(in_process.__file__), "..", "modules")
    for name in sorted(n[:-3] for n in os.listdir(root) if n.endswith(".py")):
        plugin = importlib.import_module("ansible_collections.coreos.multicluster.plugins.action." + name)
        assert issubclass(plugin.ActionModule, in_process.InProcessAction)
        assert plugin.ActionModule.MODULE == "coreos.multicluster." + name
        module = importlib.import_module("ansible_collections.coreos.multicluster.plugins.modules." + name)
        assert plugin.ActionModule.MAIN is module.main


def test_a_run_removes_the_kubernetes_temp_files_it_made_and_keeps_those_the_worker_inherited(monkeypatch, tmp_path):
    """A worker inherits the kubeconfig loader's cache from the playbook's process (the inventory plugin's
    directory kubeconfig): those files stay, for the next task that loads the same kubeconfig; the run's own go."""
    kube_config = pytest.importorskip("kubernetes.config.kube_config")
    monkeypatch.setattr(kube_config, "_temp_files", {})
    inherited = kube_config._create_temp_file_with_content(b"inherited CA", str(tmp_path))
    with in_process.kubernetes_temp_files_of_this_run():
        assert kube_config._create_temp_file_with_content(b"inherited CA", str(tmp_path)) == inherited
        own = kube_config._create_temp_file_with_content(b"this run's CA", str(tmp_path))
        assert os.path.exists(own)
    assert not os.path.exists(own) and os.path.exists(inherited)
    assert kube_config._temp_files == {str(b"inherited CA"): inherited}
    # the next run loading the inherited content gets a file that is there
    with in_process.kubernetes_temp_files_of_this_run():
        with open(kube_config._create_temp_file_with_content(b"inherited CA", str(tmp_path)), "rb") as handle:
            assert handle.read() == b"inherited CA"
    # a run that fails still removes its own
    with pytest.raises(RuntimeError):
        with in_process.kubernetes_temp_files_of_this_run():
            failed = kube_config._create_temp_file_with_content(b"failed run's key", str(tmp_path))
            raise RuntimeError("module failed")
    assert not os.path.exists(failed) and os.path.exists(inherited)
