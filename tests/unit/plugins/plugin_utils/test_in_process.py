"""When a module may run in the worker process (plugin_utils/in_process.py): the same Python (that of the
host that runs the module, the delegated one with delegate_to), a local connection, no become, no async, a
tested ansible-core, the switch not off - anything else runs it as a module (fakes of the action's task,
connection and play context: pure logic)."""

import importlib.util
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


def action(transport="local", become=False, async_val=0, templar=None, delegate_to=None):
    return SimpleNamespace(_connection=SimpleNamespace(transport=transport),
                           _play_context=SimpleNamespace(become=become),
                           _task=SimpleNamespace(async_val=async_val, delegate_to=delegate_to),
                           _templar=templar or Templar())


HERE = {"ansible_python_interpreter": sys.executable}


@pytest.fixture(autouse=True)
def _switch_unset(monkeypatch):
    """The switch of the environment the tests run in does not decide (each test that wants it sets it)."""
    monkeypatch.delenv("MC_IN_PROCESS", raising=False)


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


OTHER = "/opt/other/bin/python3"


def delegated(inventory_host_vars, delegated_host_vars):
    """The task vars of a task delegated to host 'elsewhere' (ansible-core: ansible_delegated_vars[delegate_to])."""
    return dict(inventory_host_vars, ansible_delegated_vars={"elsewhere": delegated_host_vars})


def test_a_delegated_task_runs_in_process_only_with_the_delegated_hosts_python():
    """The interpreter of the host that runs the module decides, as in ActionBase._configure_module."""
    task = action(delegate_to="elsewhere")
    assert in_process.why_not(task, delegated(HERE, {"ansible_python_interpreter": OTHER})) == "interpreter " + OTHER
    assert in_process.why_not(task, delegated({"ansible_python_interpreter": OTHER}, HERE)) is None


def test_a_delegated_host_without_the_variable_gets_the_configured_interpreter(monkeypatch):
    config = {"INTERPRETER_PYTHON": OTHER}
    monkeypatch.setattr(in_process.C.config, "get_config_value",
                        lambda name, variables=None: (variables or {}).get("ansible_python_interpreter", config[name]))
    task = action(delegate_to="elsewhere")
    assert in_process.why_not(task, delegated(HERE, {})) == "interpreter " + OTHER
    config["INTERPRETER_PYTHON"] = sys.executable
    assert in_process.why_not(task, delegated({"ansible_python_interpreter": OTHER}, {})) is None


def test_interpreter_discovery_counts_what_it_found_for_the_host_that_runs_the_module():
    found_here = {"ansible_python_interpreter": "auto", "ansible_facts": {"discovered_interpreter_python": sys.executable}}
    assert in_process.why_not(action(), found_here) is None
    task = action(delegate_to="elsewhere")
    assert in_process.why_not(task, delegated(found_here, {"ansible_python_interpreter": "auto"})) == "interpreter auto"
    assert in_process.why_not(task, delegated(HERE, found_here)) is None


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "False"])
def test_the_switch_runs_every_task_as_a_module(monkeypatch, value):
    monkeypatch.setenv("MC_IN_PROCESS", value)
    assert in_process.why_not(action(), HERE) == "MC_IN_PROCESS=%s" % value


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", ""])
def test_the_switch_on_or_empty_leaves_the_choice_to_the_rules(monkeypatch, value):
    monkeypatch.setenv("MC_IN_PROCESS", value)
    assert in_process.why_not(action(), HERE) is None
    assert in_process.why_not(action(transport="ssh"), HERE) == "connection ssh"


def test_a_switch_value_that_is_no_boolean_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("MC_IN_PROCESS", "sometimes")
    with pytest.raises(in_process.AnsibleError, match="MC_IN_PROCESS='sometimes'.*0.*1"):
        in_process.why_not(action(), HERE)


def with_ansible_core(monkeypatch, version):
    """A fresh copy of in_process, imported as it would be under ansible-core *version*."""
    import ansible.release
    monkeypatch.setattr(ansible.release, "__version__", version)
    spec = importlib.util.spec_from_file_location("in_process_on_" + version.replace(".", "_"), in_process.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", ["2.17.14", "2.18.3", "2.20.0", "3.0.0"])
def test_an_ansible_core_it_is_not_tested_on_runs_modules_as_modules_and_says_why(monkeypatch, version):
    """ansible-core 2.17 and 2.18 (requirements allow them) and anything newer: as modules, whatever private
    attributes of ansible.module_utils.basic they have."""
    reason = with_ansible_core(monkeypatch, version).why_not(action(), HERE)
    assert reason is not None and version in reason and "2.19" in reason


@pytest.mark.parametrize("version", ["2.19.0", "2.19.14", "2.19.0rc1"])
def test_the_ansible_core_it_is_tested_on_runs_modules_in_process(monkeypatch, version):
    assert with_ansible_core(monkeypatch, version).why_not(action(), HERE) is None


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
