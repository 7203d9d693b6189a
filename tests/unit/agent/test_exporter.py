"""The agent's export-profiles mode (agent/exporter.py): its options, one JSON line per run with the budget kept
between runs, a failed run logged without a credential, SIGTERM, and the dispatch of agent/__main__.py."""

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml

from ansible_collections.coreos.multicluster.agent import exporter, logs
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from tests.unit.utils.fake_cluster import FakeCluster

SETTINGS = {"namespace": "fleet-inventory", "grace_periods": 5, "heartbeat_period": 60, "state": "present"}


def cluster(name, labels):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": name, "labels": labels},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_defaults_and_refused_options(capsys):
    args = exporter.parse_args([])
    assert (args.namespace, args.period, args.grace_periods, args.request_timeout) == ("fleet-inventory", 15.0, 5, 30)
    for bad in (["--period", "0"], ["--namespace", "Not_A_Label"], ["--grace-periods", "0"]):
        with pytest.raises(SystemExit):
            exporter.parse_args(bad)
    assert "grace-periods must be a whole number" in capsys.readouterr().err


def test_each_run_logs_one_line_and_the_budget_holds_across_runs():
    stream = io.StringIO()
    logs.configure_logging(stream)
    directory = FakeCluster(label="west")
    directory.add(cluster("east", {"stage": "a"}))
    budget = {}
    first = exporter.run_once(directory, SETTINGS, budget, clock=lambda: 1000.0)
    assert first["created"] == ["east"] and budget == {"east": 1000.0}
    directory.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "b"}
    held = exporter.run_once(directory, SETTINGS, budget, clock=lambda: 1015.0)
    assert held["deferred"] == ["east"]
    due = exporter.run_once(directory, SETTINGS, budget, clock=lambda: 1030.0)
    assert due["updated"] == ["east"]
    entries = lines(stream)
    assert [e["msg"] for e in entries] == ["exported"] * 3
    assert entries[0]["created"] == ["east"] and entries[1]["deferred"] == ["east"] and entries[2]["changed"] is True
    assert isinstance(entries[0]["seconds"], float)


def test_a_failed_run_is_logged_and_the_next_one_goes_on():
    stream = io.StringIO()
    logs.configure_logging(stream)
    directory = FakeCluster(label="west")
    directory.failures[("list", "ClusterProfile")] = MulticlusterError(
        "list clusterprofiles on cluster 'west': HTTP 403 Forbidden")
    assert exporter.run_once(directory, SETTINGS, {}) is None
    entry = lines(stream)[-1]
    assert entry["msg"] == "export failed" and "403" in entry["reason"]
    del directory.failures[("list", "ClusterProfile")]
    assert exporter.run_once(directory, SETTINGS, {}) is not None


def test_main_stops_within_2_seconds_of_sigterm(tmp_path, monkeypatch):
    """main() in a thread of this process (its API server unreachable), stopped through the handler it installs."""
    directory = tmp_path / "directory.kubeconfig"
    directory.write_text(yaml.safe_dump(build_kubeconfig("https://127.0.0.1:9", "directory-token")))
    handlers = {}
    monkeypatch.setattr(exporter.signal, "signal", handlers.__setitem__)
    stream, result = io.StringIO(), []
    thread = threading.Thread(target=lambda: result.append(exporter.main(
        ["--kubeconfig", str(directory), "--period", "0.2", "--request-timeout", "20"], stream=stream)))
    thread.start()
    deadline = time.monotonic() + 5
    while exporter.signal.SIGTERM not in handlers and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)
    stopped_at = time.monotonic()
    handlers[exporter.signal.SIGTERM](exporter.signal.SIGTERM, None)
    thread.join(5)
    assert result == [0] and time.monotonic() - stopped_at < 2
    messages = [e["msg"] for e in lines(stream)]
    assert messages[0] == "started" and messages[-1] == "stopped"
    assert "directory-token" not in stream.getvalue()


def test_the_package_runs_the_exporter_for_export_profiles(tmp_path):
    import ansible_collections
    env = dict(os.environ, PYTHONPATH=os.path.dirname(list(ansible_collections.__path__)[0]))
    found = subprocess.run([sys.executable, "-m", "ansible_collections.coreos.multicluster.agent", "export-profiles",
                            "--help"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert found.returncode == 0 and "agent export-profiles" in found.stdout and "--grace-periods" in found.stdout
    other = subprocess.run([sys.executable, "-m", "ansible_collections.coreos.multicluster.agent", "--help"],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
    assert other.returncode == 0 and "--directory-kubeconfig" in other.stdout
