"""The agent's limits on the directory: its --max-* flags, what a sync over
them does to the loop (health, metrics, the replica's status) and that main()
hands them to every sync."""

import functools
import io

import pytest
import yaml

from ansible_collections.coreos.multicluster.agent import cli
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.view import DirectoryView
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.agent.metrics_fakes import Clock, errors, exposition, fleet, make_agent, no_errors_but, value
from tests.unit.utils.fake_cluster import FakeCluster


def test_the_flags_default_to_the_engines_limits():
    args = cli.parse_args([])
    assert args.limits.options() == sp.Limits().options() == {
        "max_clusters": 10000, "max_cluster_policies": 1000, "max_policy_namespaces": 100,
        "max_object_bytes": 262144}


def test_the_flags_set_the_limits():
    args = cli.parse_args(["--max-clusters", "3", "--max-cluster-policies", "2", "--max-policy-namespaces", "5",
                           "--max-object-bytes", "4096"])
    assert args.limits.options() == {"max_clusters": 3, "max_cluster_policies": 2, "max_policy_namespaces": 5,
                                     "max_object_bytes": 4096}


@pytest.mark.parametrize("flag", ["--max-clusters", "--max-cluster-policies", "--max-policy-namespaces",
                                  "--max-object-bytes"])
def test_a_limit_below_one_is_refused_naming_the_flag(flag, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.parse_args([flag, "0"])
    assert raised.value.code == 2
    assert "error: %s must be a whole number of 1 or more, not 0" % flag in capsys.readouterr().err


def test_a_directory_over_the_limit_fails_the_agents_sync_and_changes_nothing(tmp_path):
    clock = Clock()
    directory = fleet("a", "b", "c", "d")
    replica = FakeCluster(label="east")
    agent, metrics, dummy = make_agent(tmp_path, clock, lambda config: directory, replica=replica)
    agent._sync = functools.partial(ds.sync, limits=sp.Limits(clusters=3))
    agent._read_view = functools.partial(DirectoryView.read, limits=sp.Limits(clusters=3))
    agent.step()
    code, body = agent.health.ready()
    assert code == 503 and body["status"] == "failing"
    assert body["message"].endswith(": the directory holds more than 3 Clusters, the most this replica accepts "
                                    "(max_clusters); nothing was synced")
    values = exposition(metrics)
    assert errors(values) == no_errors_but(directory_over_limit=1)
    assert value(values, "last_success_timestamp_seconds") == 0
    assert [w for w in replica.writes if w[1] != "ConfigMap"] == []
    status = replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)["data"]
    assert status["result"] == "failed" and "more than 3 Clusters" in status["message"]


class _Made(Exception):
    """Raised by the recording Agent: main() stops once it has built it."""


def test_main_hands_the_limits_to_every_sync(tmp_path, monkeypatch):
    made = []

    def recording(*args, **kwargs):
        made.append(kwargs)
        raise _Made()
    monkeypatch.setattr(cli, "Agent", recording)
    replica = tmp_path / "replica.kubeconfig"
    replica.write_text(yaml.safe_dump(build_kubeconfig("https://127.0.0.1:9", "replica-token")))
    with pytest.raises(_Made):
        cli.main(["--kubeconfig", str(replica), "--directory-kubeconfig", str(tmp_path / "none"),
                  "--health-port", "0", "--max-clusters", "7"], stream=io.StringIO())
    sync_fn = made[0]["sync_fn"]
    assert sync_fn.func is ds.sync and sync_fn.keywords["limits"].options()["max_clusters"] == 7
    assert sync_fn.keywords["diff"] is False  # the agent shows no diff: it keeps none of the objects it writes
    read_view = made[0]["read_view"]  # its view of the directory is read within the same limits
    assert read_view.func == DirectoryView.read and read_view.keywords["limits"].options()["max_clusters"] == 7
