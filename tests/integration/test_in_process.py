"""The action plugins (plugins/plugin_utils/in_process.py): a module runs in the worker process when that is
the same as a module process, else as a module - and both give the same result, on the lab's directory."""

import json
import os
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


def play(collection_path, tmp_path, task, host_vars=None, env=None, check=False, diff=True):
    """Run one task on localhost with -vvv; (its result, the output, the TMPDIR the run had)."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    task = dict(task, name="under test", ignore_errors=True, check_mode=check, diff=diff)
    playbook = [{"hosts": "localhost", "gather_facts": False, "vars": host_vars or {}, "tasks": [task]}]
    path = tmp_path / ("play-%d.yml" % len(list(tmp_path.iterdir())))
    write_private(path, yaml.safe_dump(playbook))
    run_env = ansible_env(collection_path)
    run_env.update(env or {})
    run_env["TMPDIR"] = str(tmpdir)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", str(path)],
                          capture_output=True, text=True, env=run_env, timeout=300, check=False)
    # -vvv lines come before the JSON document of the mc_json callback
    start = proc.stdout.index("{\n")
    result = json.loads(proc.stdout[start:])["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result, proc.stdout[:start] + proc.stderr, tmpdir


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
