"""The action plugins (plugins/plugin_utils/in_process.py): a module runs in the worker process when that is
the same as a module process, else as a module - and both give the same result, on the lab's directory. Without a
cluster (a kubeconfig that is not there, or a closed port): delegate_to and MC_IN_PROCESS decide which way, the
action group's module_defaults and no_log hold in process, and a loop of 100 leaves no temporary file."""

import base64
import json
import os
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.integration.conftest import ROOT, ansible_env, write_private

IN_PROCESS = "run in the worker process"


@pytest.fixture(scope="module")
def other_python(tmp_path_factory):
    """A Python interpreter path that is not the controller's (a wrapper running it): modules then run as modules."""
    path = tmp_path_factory.mktemp("python") / "python-wrapper"
    path.write_text("#!/bin/sh\nexec %s \"$@\"\n" % sys.executable)
    path.chmod(0o755)
    return str(path)


def run_playbook(collection_path, tmp_path, plays, inventory=None, env=None):
    """ansible-playbook -vvv over *plays* (with *inventory*, a dict, if given); (the mc_json document, the -vvv
    output before it and stderr)."""
    number = len(list(tmp_path.glob("play-*.yml")))
    path = write_private(tmp_path / ("play-%d.yml" % number), yaml.safe_dump(plays))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", str(path)]
    if inventory is not None:
        command += ["-i", str(write_private(tmp_path / ("inventory-%d.yml" % number), yaml.safe_dump(inventory)))]
    run_env = ansible_env(collection_path)
    run_env.update(env or {})
    proc = subprocess.run(command, capture_output=True, text=True, env=run_env, timeout=300, check=False)
    # -vvv lines come before the JSON document of the mc_json callback
    start = proc.stdout.index("{\n")
    return json.loads(proc.stdout[start:]), proc.stdout[:start] + proc.stderr


def play(collection_path, tmp_path, task, host_vars=None, env=None, check=False, diff=True):
    """Run one task on localhost with -vvv; (its result, the output, the TMPDIR the run had)."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    task = dict(task, name="under test", ignore_errors=True, check_mode=check, diff=diff)
    playbook = [{"hosts": "localhost", "gather_facts": False, "vars": host_vars or {}, "tasks": [task]}]
    document, log = run_playbook(collection_path, tmp_path, playbook, env=dict(env or {}, TMPDIR=str(tmpdir)))
    return document["plays"][0]["tasks"][0]["hosts"]["localhost"], log, tmpdir


@pytest.fixture(scope="module")
def probe(registry):
    """A Cluster object on the directory for the modules to read."""
    directory = registry[0]
    manifest = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
                "metadata": {"name": "in-process-probe", "labels": {"stage": "test"}},
                "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://probe.example.com"}]}}}
    directory.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    yield directory
    directory.kubectl("delete", "cluster", "in-process-probe", "--ignore-not-found")


def comparable(result):
    return {k: v for k, v in result.items() if k not in ("invocation", "_ansible_no_log")}


def test_in_process_and_as_a_module_give_the_same_result(probe, collection_path, tmp_path, other_python):
    directory = probe
    task = {"coreos.multicluster.mc_cluster_info": {"kubeconfig": directory.kubeconfig, "context": directory.context}}
    inside, log_inside, tmpdir = play(collection_path, tmp_path, task)
    outside, log_outside, dummy = play(collection_path, tmp_path, task, {"ansible_python_interpreter": other_python})
    assert IN_PROCESS in log_inside and IN_PROCESS not in log_outside
    assert "run as a module (interpreter %s)" % other_python in log_outside
    assert not inside.get("failed") and comparable(inside) == comparable(outside)
    assert "in-process-probe" in [c["name"] for c in inside["fleet"]]
    # the kubernetes client's files for the kubeconfig's certificate and key data are gone with the task
    assert os.listdir(str(tmpdir)) == []


@pytest.mark.parametrize("check", [False, True])
def test_a_refused_input_fails_the_same_way_both_ways(registry, collection_path, tmp_path, other_python, check):
    directory = registry[0]
    task = {"coreos.multicluster.mc_cluster": {"kubeconfig": directory.kubeconfig, "context": directory.context,
                                               "name": "Not_A_Name", "endpoints": ["https://x.example.com"]}}
    inside = play(collection_path, tmp_path, task, check=check)[0]
    outside = play(collection_path, tmp_path, task, {"ansible_python_interpreter": other_python}, check=check)[0]
    assert inside["failed"] and outside["failed"]
    assert inside["msg"] == outside["msg"] and "Not_A_Name" in inside["msg"]


def test_the_tasks_environment_reaches_the_module_in_process(probe, collection_path, tmp_path):
    directory = probe
    task = {"coreos.multicluster.mc_cluster_info": {"context": directory.context},
            "environment": {"K8S_AUTH_KUBECONFIG": directory.kubeconfig}}
    result, log = play(collection_path, tmp_path, task, env={"K8S_AUTH_KUBECONFIG": "/nonexistent/kubeconfig"})[:2]
    assert IN_PROCESS in log
    assert not result.get("failed"), result.get("msg")
    assert "in-process-probe" in [c["name"] for c in result["fleet"]]


def test_no_log_hides_the_result_in_process_too(probe, collection_path, tmp_path):
    directory = probe
    task = {"coreos.multicluster.mc_cluster_info": {"kubeconfig": directory.kubeconfig, "context": directory.context},
            "no_log": True}
    result, log = play(collection_path, tmp_path, task)[:2]
    assert IN_PROCESS in log
    assert result.get("censored") and "fleet" not in result
    assert "probe.example.com" not in log


def test_become_runs_as_a_module(registry, collection_path, tmp_path):
    directory = registry[0]
    task = {"coreos.multicluster.mc_cluster_info": {"kubeconfig": directory.kubeconfig, "context": directory.context},
            "become": True, "become_method": "ansible.builtin.su", "become_user": "root"}
    log = play(collection_path, tmp_path, task)[1]
    assert "run as a module (become)" in log


def test_every_module_has_its_action_plugin():
    modules = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "modules")) if n.endswith(".py"))
    actions = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "action")) if n.endswith(".py"))
    assert modules == actions


# --- without a cluster: a kubeconfig that is not there fails the module before any request ---------------------

NO_CLUSTER = "/nonexistent/kubeconfig"
NO_CLUSTER_MSG = "cannot load kubeconfig %s: file does not exist"
INFO = "coreos.multicluster.mc_cluster_info"


def results_of(document, play=0):
    """{task name: {host: result}} of one play of a run."""
    return dict((task["task"]["name"], task["hosts"]) for task in document["plays"][play]["tasks"])


@pytest.fixture
def counted_python(tmp_path):
    """(A Python that is not the controller's: a wrapper of it, the file it adds a line to at each start)."""
    starts = tmp_path / "python-starts"
    path = tmp_path / "python-counted"
    path.write_text("#!/bin/sh\necho start >> %s\nexec %s \"$@\"\n" % (shlex.quote(str(starts)), sys.executable))
    path.chmod(0o755)
    return str(path), starts


def test_delegate_to_runs_in_process_only_with_the_delegated_hosts_python(collection_path, tmp_path, counted_python):
    """delegate_to: the delegated host's interpreter decides (ActionBase._configure_module takes it from
    ansible_delegated_vars), whichever the inventory host's is."""
    python, starts = counted_python
    local = {"ansible_connection": "local"}
    inventory = {"all": {"hosts": {"controller-python": dict(local, ansible_python_interpreter=sys.executable),
                                   "other-python": dict(local, ansible_python_interpreter=python)}}}
    task = {"name": "info", INFO: {"kubeconfig": NO_CLUSTER}, "ignore_errors": True}
    plays = [{"hosts": "controller-python", "gather_facts": False, "tasks": [dict(task, delegate_to="other-python")]},
             {"hosts": "other-python", "gather_facts": False, "tasks": [dict(task, delegate_to="controller-python")]}]
    document, log = run_playbook(collection_path, tmp_path, plays, inventory)
    assert "<controller-python> %s: run as a module (interpreter %s)" % (INFO, python) in log
    assert "<other-python> %s: %s" % (INFO, IN_PROCESS) in log
    assert starts.read_text().splitlines() == ["start"]  # one module process: the delegated host's Python
    for play, host in ((0, "controller-python"), (1, "other-python")):
        result = results_of(document, play)["info"][host]
        assert result["failed"] and result["msg"] == NO_CLUSTER_MSG % NO_CLUSTER


def test_module_defaults_of_the_action_group_reach_the_module_in_process(collection_path, tmp_path):
    defaults = {"kubeconfig": "/nonexistent/from-module-defaults", "request_timeout": 7}
    tasks = [{"name": name, "coreos.multicluster." + name: {}, "ignore_errors": True}
             for name in ("mc_cluster_info", "mc_cluster_policy_info")]
    plays = [{"hosts": "localhost", "gather_facts": False,
              "module_defaults": {"group/coreos.multicluster.mc": defaults}, "tasks": tasks}]
    document, log = run_playbook(collection_path, tmp_path, plays)
    assert log.count(IN_PROCESS) == 2
    for name, hosts in results_of(document).items():
        result = hosts["localhost"]
        assert result["msg"] == NO_CLUSTER_MSG % defaults["kubeconfig"], name
        assert dict((k, result["invocation"]["module_args"][k]) for k in defaults) == defaults, name


def test_no_log_values_stay_hidden_in_process(collection_path, tmp_path):
    """The module's no_log option (api_key) and a task's no_log: hidden in the result and the -vvv output."""
    secret = "in-process-secret-%s" % os.urandom(4).hex()
    args = {"kubeconfig": NO_CLUSTER, "api_key": secret, "context": "%s-context" % secret}
    tasks = [{"name": "api_key", INFO: args, "ignore_errors": True},
             {"name": "task no_log", INFO: args, "ignore_errors": True, "no_log": True}]
    document, log = run_playbook(collection_path, tmp_path, [{"hosts": "localhost", "gather_facts": False,
                                                              "tasks": tasks}])
    assert log.count(IN_PROCESS) == 2
    assert secret not in log and secret not in json.dumps(document)
    results = results_of(document)
    shown = results["api_key"]["localhost"]
    assert shown["msg"] == "cannot load kubeconfig %s (context '********-context'): file does not exist" % NO_CLUSTER
    assert shown["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert shown["invocation"]["module_args"]["context"] == "********-context"
    censored = results["task no_log"]["localhost"]
    assert censored["failed"] and "censored" in censored and "invocation" not in censored and "msg" not in censored


def closed_port_kubeconfig(path):
    """A kubeconfig of a server on a closed port, with CA data (which the kubernetes client's loader writes to a
    temporary file)."""
    cluster = {"server": "https://127.0.0.1:1", "certificate-authority-data": base64.b64encode(b"no CA").decode()}
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "closed",
                  "clusters": [{"name": "closed", "cluster": cluster}],
                  "users": [{"name": "closed", "user": {"token": "not-a-token"}}],
                  "contexts": [{"name": "closed", "context": {"cluster": "closed", "user": "closed"}}]}
    return str(write_private(path, yaml.safe_dump(kubeconfig)))


def test_a_hundred_in_process_tasks_leave_no_temporary_file_or_directory(collection_path, tmp_path):
    """A loop's items all run in one worker: nothing is left in the remote_tmp (AnsibleModule.tmpdir) or in
    TMPDIR (the kubernetes client's CA file)."""
    remote_tmp, tmpdir = tmp_path / "remote_tmp", tmp_path / "tmpdir"
    remote_tmp.mkdir()
    tmpdir.mkdir()
    before = (os.listdir(str(remote_tmp)), os.listdir(str(tmpdir)))
    args = {"kubeconfig": closed_port_kubeconfig(tmp_path / "kubeconfig"), "name": "Not_A_Name",
            "endpoints": ["https://x.example.com"]}
    task = {"name": "loop", "coreos.multicluster.mc_cluster": args, "loop": list(range(100)), "check_mode": True,
            "ignore_errors": True}
    document, log = run_playbook(collection_path, tmp_path, [{"hosts": "localhost", "gather_facts": False,
                                                              "tasks": [task]}],
                                 env={"ANSIBLE_REMOTE_TMP": str(remote_tmp), "TMPDIR": str(tmpdir)})
    items = results_of(document)["loop"]["localhost"]["results"]
    assert len(items) == 100 and all(item["failed"] and "'Not_A_Name'" in item["msg"] for item in items)
    assert log.count(IN_PROCESS) == 100
    assert (os.listdir(str(remote_tmp)), os.listdir(str(tmpdir))) == before == ([], [])


def test_mc_in_process_0_runs_every_task_as_a_module(collection_path, tmp_path):
    plays = [{"hosts": "localhost", "gather_facts": False,
              "tasks": [{"name": "info", INFO: {"kubeconfig": NO_CLUSTER}, "ignore_errors": True}]}]
    results, logs = {}, {}
    for value in ("", "0", "sometimes"):
        document, logs[value] = run_playbook(collection_path, tmp_path, plays, env={"MC_IN_PROCESS": value})
        results[value] = results_of(document)["info"]["localhost"]
    assert IN_PROCESS in logs[""] and "AnsiballZ_mc_cluster_info" not in logs[""]
    assert "%s: run as a module (MC_IN_PROCESS=0)" % INFO in logs["0"] and IN_PROCESS not in logs["0"]
    assert "AnsiballZ_mc_cluster_info" in logs["0"]  # a module process ran
    assert results[""]["msg"] == results["0"]["msg"] == NO_CLUSTER_MSG % NO_CLUSTER
    assert results["sometimes"]["failed"] and "MC_IN_PROCESS='sometimes'" in results["sometimes"]["msg"]
    assert "AnsiballZ_mc_cluster_info" not in logs["sometimes"]
