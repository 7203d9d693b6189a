"""The in-process runner (plugins/plugin_utils/in_process.py) driven through ansible-core's own ActionBase: a
real Task, PlayContext, local connection and Templar; only the module's main() and, where a test compares the
fallback with ansible.builtin.normal, what ActionBase.run and _execute_module return are the test's."""

import os
import sys

import pytest
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins import loader as plugin_loader
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.template import Templar
from ansible.utils.vars import merge_hash

from ansible_collections.coreos.multicluster.plugins.plugin_utils import in_process

MODULE = "coreos.multicluster.mc_cluster_info"
HERE = {"ansible_python_interpreter": sys.executable}
ELSEWHERE = {"ansible_python_interpreter": "/opt/other/bin/python3"}


@pytest.fixture(autouse=True)
def _switch_unset(monkeypatch):
    monkeypatch.delenv("MC_IN_PROCESS", raising=False)


@pytest.fixture
def remote_tmp(tmp_path):
    path = tmp_path / "remote_tmp"
    path.mkdir()
    return path


def make_action(cls, remote_tmp, args=None, **task_fields):
    """An action plugin of class *cls* for one task of MODULE, over ansible-core's local connection."""
    task = Task()
    task.action = MODULE
    task.args = dict(args or {})
    for name, value in task_fields.items():
        setattr(task, name, value)
    play_context = PlayContext()
    connection = plugin_loader.connection_loader.get("local", play_context, "/dev/null")
    connection._shell.set_option("remote_tmp", str(remote_tmp))
    loader = DataLoader()
    return cls(task, connection, play_context, loader, Templar(loader), plugin_loader)


def in_process_action(remote_tmp, args=None, **task_fields):
    return make_action(in_process.InProcessAction.of("mc_cluster_info"), remote_tmp, args, **task_fields)


def module_using_its_tmpdir(fail=False):
    """A module's main() that uses AnsibleModule.tmpdir, as run_command (its cwd) and fetch_url do."""
    from ansible.module_utils.basic import AnsibleModule
    module = AnsibleModule(argument_spec={"name": {"type": "str"}}, supports_check_mode=True)
    with open(os.path.join(module.tmpdir, "scratch"), "w") as handle:
        handle.write("data")
    if fail:
        module.fail_json(msg="failed", tmpdir=module.tmpdir)
    module.exit_json(changed=False, tmpdir=module.tmpdir)


def test_a_hundred_runs_leave_no_temporary_directory(remote_tmp):
    """A module process removes AnsibleModule.tmpdir at exit (atexit); a worker never runs atexit, and a loop's
    items all run in one worker: each run removes its own."""
    action = in_process_action(remote_tmp, {"name": "x"})
    made = set()
    for number in range(100):
        result = in_process.run_module(action, MODULE, lambda: module_using_its_tmpdir(fail=number % 2 == 1), {})
        assert result.get("failed", False) is (number % 2 == 1)
        assert os.path.dirname(result["tmpdir"]) == str(remote_tmp)
        made.add(result["tmpdir"])
        assert os.listdir(str(remote_tmp)) == [], "run %d left %s" % (number, os.listdir(str(remote_tmp)))
    assert len(made) == 100


def test_keep_remote_files_keeps_the_modules_tmpdir_as_a_module_process_does(remote_tmp, monkeypatch):
    """ANSIBLE_KEEP_REMOTE_FILES: the module registers no removal, so nothing is removed."""
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", True)
    result = in_process.run_module(in_process_action(remote_tmp, {"name": "x"}), MODULE, module_using_its_tmpdir, {})
    assert os.listdir(result["tmpdir"]) == ["scratch"]


def test_only_the_exit_handlers_the_run_registered_run_at_its_end():
    """Last registered, first run, as at a process's exit; one that fails does not stop the others; those
    registered before the run are left to the process."""
    import atexit
    ran = []
    register = atexit.register
    atexit.register(ran.append, "before the run")
    try:
        with in_process.exit_handlers_of_this_run():
            atexit.register(ran.append, "first")
            atexit.register(lambda: 1 / 0)
            atexit.register(ran.append, "second")
            atexit.register(ran.extend, "unregistered")
            atexit.unregister(ran.extend)
            assert ran == []
        assert ran == ["second", "first"]
        assert atexit.register is register
    finally:
        atexit.unregister(ran.append)


def test_the_tasks_environment_is_the_modules_for_that_run_only(remote_tmp, monkeypatch):
    """The items of a loop run in one worker: an item's environment does not stay for the next."""
    monkeypatch.delenv("MC_PROBE_VARIABLE", raising=False)
    monkeypatch.setenv("MC_PROBE_KEPT", "before")
    seen = []

    def main():
        seen.append((os.environ.get("MC_PROBE_VARIABLE"), os.environ.get("MC_PROBE_KEPT")))
        sys.exit(0)

    action = in_process_action(remote_tmp, environment=[{"MC_PROBE_VARIABLE": "item 1", "MC_PROBE_KEPT": "item 1"}])
    in_process.run_module(action, MODULE, main, {})
    action._task.environment = []
    in_process.run_module(action, MODULE, main, {})
    assert seen == [("item 1", "item 1"), (None, "before")]
    assert "MC_PROBE_VARIABLE" not in os.environ and os.environ["MC_PROBE_KEPT"] == "before"


# --- the result: merged as ansible.builtin.normal merges it ---------------------------------------------------

FROM_ACTION_BASE = {"ansible_facts": {"from_action_base": 1}, "warnings": ["from ActionBase.run"]}
FROM_MODULE = {"ansible_facts": {"from_module": 2}, "changed": False, "fleet": []}


@pytest.fixture
def recorded(monkeypatch):
    """ActionBase.run, _execute_module and _remove_tmp_path replaced by recorders, for both plugins alike."""
    calls = []

    def run(self, tmp=None, task_vars=None):
        return {"ansible_facts": dict(FROM_ACTION_BASE["ansible_facts"]), "warnings": list(FROM_ACTION_BASE["warnings"])}

    def execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                       delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        calls.append(("execute", bool(wrap_async)))
        return {"ansible_facts": dict(FROM_MODULE["ansible_facts"]), "changed": False, "fleet": []}

    monkeypatch.setattr(ActionBase, "run", run)
    monkeypatch.setattr(ActionBase, "_execute_module", execute_module)
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, path, force=False: calls.append(("remove", path)))
    return calls


@pytest.mark.parametrize("async_val", [0, 30])
def test_the_fallback_gives_what_ansible_builtin_normal_gives(recorded, remote_tmp, async_val):
    results = []
    for cls in (NormalAction, in_process.InProcessAction.of("mc_cluster_info")):
        plugin = make_action(cls, remote_tmp, async_val=async_val)
        plugin._connection._shell.tmpdir = str(remote_tmp / "ansible-tmp-x")
        results.append((plugin.run(task_vars=dict(ELSEWHERE)), list(recorded)))
        del recorded[:]
    normal, ours = results
    assert ours == normal
    assert ours[0] == merge_hash(FROM_ACTION_BASE, FROM_MODULE)


def test_in_process_the_result_is_merged_the_same_way(recorded, remote_tmp):
    def main():
        from ansible.module_utils.basic import AnsibleModule
        AnsibleModule(argument_spec={}).exit_json(**FROM_MODULE)

    plugin = make_action(type("ActionModule", (in_process.InProcessAction,), {"MODULE": MODULE, "MAIN": staticmethod(main)}),
                         remote_tmp)
    result = plugin.run(task_vars=dict(HERE))
    assert [call for call in recorded if call[0] == "execute"] == []
    assert result["ansible_facts"] == merge_hash(FROM_ACTION_BASE, FROM_MODULE)["ansible_facts"]
    assert result["warnings"] == FROM_ACTION_BASE["warnings"] and result["fleet"] == []
    # internal keys as _execute_module leaves them (remove_internal_keys keeps _ansible_parsed only)
    assert [key for key in result if key.startswith("_ansible_")] == ["_ansible_parsed"]


def test_an_untested_ansible_core_is_said_at_vvv(recorded, remote_tmp, monkeypatch):
    messages = []
    monkeypatch.setattr(in_process, "UNTESTED", "ansible-core 2.18.3, tested on 2.19")
    monkeypatch.setattr(in_process.display, "vvv", lambda msg, host=None: messages.append(msg))
    make_action(in_process.InProcessAction.of("mc_cluster_info"), remote_tmp).run(task_vars=dict(HERE))
    assert messages == ["%s: run as a module (ansible-core 2.18.3, tested on 2.19)" % MODULE]
    assert ("execute", False) in recorded
