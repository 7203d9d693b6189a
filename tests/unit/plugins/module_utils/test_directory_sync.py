"""Whole syncs between two in-memory clusters (FakeCluster, shaped as newer API
servers return objects): what is written, what is not, and what is recorded."""

import base64
import copy
import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import reading
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import KINDS
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import Credential
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster

DIRECTORY = "https://directory.example.com:6443"
MANAGED = {names.MANAGED_BY_LABEL: names.SYNCED_BY}
T0 = 1780000000.0


def cluster(name, labels=None):
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": name},
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}
    if labels is not None:
        obj["metadata"]["labels"] = labels
    return obj


def fleet(*names):
    directory = FakeCluster(label="directory", server=DIRECTORY)
    for name in names:
        directory.add(cluster(name, labels={"stage": "production"}))
    return directory


def replica_cluster(check_mode=False):
    return FakeCluster(label="east", check_mode=check_mode)


def clusters(fake):
    return dict((k[2], v) for k, v in fake.objects.items() if k[0] == "Cluster")


def status(fake):
    found = fake.stored("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)
    return found and found["data"]


# the Cluster source alone (tests/unit/plugins/module_utils/test_policy_sync.py syncs every source)
CLUSTERS_ONLY = (sp.ClusterSource(),)


def run_sync(directory, replica, now=T0, **kw):
    kw.setdefault("sources", CLUSTERS_ONLY)
    return ds.sync(directory, replica, DIRECTORY, now=now, **kw)


def test_first_sync_creates_everything_and_records_success():
    directory, replica = fleet("a", "b", "c"), replica_cluster()
    result = run_sync(directory, replica)
    assert result["changed"] and result["created"] == ["a", "b", "c"]
    assert result["updated"] == result["deleted"] == result["conflicts"] == []
    assert sorted(clusters(replica)) == ["a", "b", "c"]
    copied = clusters(replica)["a"]
    assert copied["metadata"]["labels"] == dict({"stage": "production"}, **MANAGED)
    assert copied["metadata"]["annotations"][sp.SYNCED_FROM_ANNOTATION] == DIRECTORY
    assert copied["spec"] == clusters(directory)["a"]["spec"]
    data = status(replica)
    assert data["result"] == "ok" and data["directory"] == DIRECTORY and data["message"] == "3 Clusters in sync"
    assert data["lastSuccess"] == data["lastAttempt"] == iso_time(T0)
    assert json.loads(data["counts"]) == {"clusters": {"conflicts": 0, "desired": 3, "held": 3}}
    assert result["status"]["written"] and result["status"]["changed"]
    assert set(result["resource_versions"]) == {"clusters"}
    assert result["diff"]["before"]["clusters"] == {"a": None, "b": None, "c": None}
    assert result["sources"]["clusters"]["created"] == ["a", "b", "c"]
    assert directory.writes == []  # pull-only: the directory is only read


def test_a_second_identical_sync_reads_only_marked_objects_and_writes_nothing():
    directory, replica = fleet("a", "b"), replica_cluster()
    run_sync(directory, replica)
    replica.requests[:] = []
    replica.writes[:] = []
    again = run_sync(directory, replica, now=T0 + 60)
    assert not again["changed"] and not again["status"]["written"]
    assert again["created"] == again["updated"] == again["deleted"] == []
    assert again["diff"] == {"before": {}, "after": {}}
    assert replica.writes == []
    assert replica.requests == [("list", "Cluster", sp.MANAGED_SELECTOR),
                                ("get", "ConfigMap", "tectonic-system/directory-sync-status")]


def test_after_the_status_interval_only_the_timestamps_are_refreshed_and_that_is_no_change():
    directory, replica = fleet("a"), replica_cluster()
    run_sync(directory, replica)
    replica.writes[:] = []
    later = run_sync(directory, replica, now=T0 + 301, status_interval=300)
    assert not later["changed"] and later["status"]["written"] and not later["status"]["changed"]
    assert replica.writes == [("patch", "ConfigMap", names.STATUS_CONFIG_MAP)]
    assert status(replica)["lastSuccess"] == iso_time(T0 + 301)


def test_changes_in_the_directory_reach_the_replica_and_local_clusters_survive():
    directory, replica = fleet("a", "b", "c"), replica_cluster()
    run_sync(directory, replica)
    replica.add(cluster("local", labels={"made": "by-hand"}))
    replica.add(cluster("d", labels={"made": "by-hand"}))
    directory.add(cluster("a", labels={"stage": "staging"}))
    del directory.objects[("Cluster", "", "b")]
    directory.add(cluster("d", labels={"stage": "production"}))
    result = run_sync(directory, replica, now=T0 + 10)
    assert result["updated"] == ["a"] and result["deleted"] == ["b"] and result["conflicts"] == ["d"]
    assert result["created"] == []
    assert sorted(clusters(replica)) == ["a", "c", "d", "local"]
    assert clusters(replica)["a"]["metadata"]["labels"] == dict({"stage": "staging"}, **MANAGED)
    assert clusters(replica)["d"]["metadata"]["labels"] == {"made": "by-hand"}
    assert result["diff"]["before"]["clusters"]["a"]["metadata"]["labels"]["stage"] == "production"
    assert result["diff"]["after"]["clusters"]["b"] is None
    data = status(replica)
    assert "conflict" in data["message"] and json.loads(data["counts"])["clusters"]["conflicts"] == 1
    replica.writes[:] = []
    assert not run_sync(directory, replica, now=T0 + 20)["changed"]
    assert replica.writes == [], "a standing conflict costs a read, never a write"


def test_a_label_removed_in_the_directory_is_removed_on_the_replica_and_others_labels_stay():
    directory, replica = fleet(), replica_cluster()
    directory.add(cluster("a", labels={"stage": "production", "cloud": "aws"}))
    run_sync(directory, replica)
    live = replica.stored("Cluster", "a")
    live["metadata"]["labels"]["team"] = "added-on-the-replica-by-another-tool"
    replica.objects[("Cluster", "", "a")] = live
    directory.add(cluster("a", labels={"stage": "production"}))
    result = run_sync(directory, replica, now=T0 + 1)
    assert result["updated"] == ["a"]
    labels = replica.stored("Cluster", "a")["metadata"]["labels"]
    assert "cloud" not in labels and labels["team"] == "added-on-the-replica-by-another-tool"
    assert not run_sync(directory, replica, now=T0 + 2)["changed"]


def test_check_mode_is_a_server_side_dry_run_and_records_nothing():
    directory, replica = fleet("a", "b"), replica_cluster()
    replica.add(sp.mark(cluster("old", labels={}), DIRECTORY))
    replica.check_mode = True
    result = run_sync(directory, replica)
    assert result["changed"] and result["created"] == ["a", "b"] and result["deleted"] == ["old"]
    assert sorted(clusters(replica)) == ["old"] and replica.writes == []
    assert status(replica) is None
    assert result["status"]["written"] is False and result["status"]["changed"] is True


@pytest.mark.parametrize("error, reason", [
    (MulticlusterError("list clusters on cluster 'directory': Unauthorized", details={"status": 401}),
     "the directory refused the credential (HTTP 401 Unauthorized)"),
    (MulticlusterError("list clusters on cluster 'directory': the API server did not answer within 30 s",
                       details={"timeout": 30}),
     "list clusters on cluster 'directory': the API server did not answer within 30 s"),
])
def test_when_the_directory_cannot_be_read_nothing_changes_and_the_failure_is_recorded(error, reason):
    directory, replica = fleet("a", "b"), replica_cluster()
    run_sync(directory, replica)
    before = copy.deepcopy(clusters(replica))
    del directory.objects[("Cluster", "", "b")]  # would be a deletion, if the directory could be read
    directory.failures[("list", "Cluster")] = error
    replica.writes[:] = []
    with pytest.raises(reading.DirectoryError) as err:
        run_sync(directory, replica, now=T0 + 5)
    assert str(err.value) == "sync Clusters from directory '%s' to cluster 'east': %s" % (DIRECTORY, reason)
    assert err.value.details["status_recorded"] is True
    assert clusters(replica) == before
    assert [w[1] for w in replica.writes] == ["ConfigMap"]
    data = status(replica)
    assert data["result"] == "failed" and data["message"] == reason
    assert data["lastSuccess"] == iso_time(T0) and data["lastAttempt"] == iso_time(T0 + 5)
    assert json.loads(data["counts"]) == {"clusters": {"conflicts": 0, "desired": 2, "held": 2}}
    replica.writes[:] = []
    with pytest.raises(reading.DirectoryError):
        run_sync(directory, replica, now=T0 + 6)
    assert replica.writes == []  # the same failure again writes nothing


def test_a_failure_in_check_mode_is_not_recorded():
    directory, replica = fleet("a"), replica_cluster(check_mode=True)
    directory.failures[("list", "Cluster")] = MulticlusterError("forbidden", details={"status": 403})
    with pytest.raises(reading.DirectoryError) as err:
        run_sync(directory, replica)
    assert err.value.details["status_recorded"] is False
    assert replica.writes == [] and replica.objects == {}


def test_a_replica_without_the_cluster_api_is_reported_as_such():
    directory, replica = fleet("a"), FakeCluster(label="east", missing_kinds=["Cluster"])
    with pytest.raises(MulticlusterError, match="the multi-cluster registry is not installed on cluster 'east'"):
        run_sync(directory, replica)
    assert status(replica)["result"] == "failed"


def test_a_conflicting_write_is_retried_on_a_fresh_read():
    directory, replica = fleet("a"), replica_cluster()
    run_sync(directory, replica)
    directory.add(cluster("a", labels={"stage": "staging"}))
    raced = []

    def concurrent_writer(verb, kind, namespace, name):
        if (verb, kind) == ("patch", "Cluster") and not raced:
            raced.append(1)
            obj = replica.stored("Cluster", "a")
            obj["metadata"]["labels"]["touched"] = "yes"
            replica.add(obj)
    replica.before_write.append(concurrent_writer)
    result = run_sync(directory, replica, now=T0 + 1)
    assert result["updated"] == ["a"]
    assert [w[0] for w in replica.writes if w[1] == "Cluster"][-2:] == ["patch", "patch"]
    assert replica.stored("Cluster", "a")["metadata"]["labels"] == dict({"stage": "staging", "touched": "yes"},
                                                                        **MANAGED)


def test_a_cluster_that_appears_meanwhile_is_adopted_if_held_and_a_conflict_if_not():
    directory, replica = fleet("a", "b"), replica_cluster()

    def others(verb, kind, namespace, name):
        if (verb, kind) == ("create", "Cluster") and replica.stored("Cluster", name) is None:
            replica.add(sp.mark(cluster("a", labels={"old": "x"}), DIRECTORY) if name == "a"
                        else cluster("b", labels={"made": "by-hand"}))
    replica.before_write.append(others)
    result = run_sync(directory, replica)
    assert result["updated"] == ["a"] and result["conflicts"] == ["b"] and result["created"] == []
    assert replica.stored("Cluster", "a")["metadata"]["labels"] == dict({"stage": "production"}, **MANAGED)
    assert replica.stored("Cluster", "b")["metadata"]["labels"] == {"made": "by-hand"}
    assert result["counts"] == {"clusters": {"desired": 2, "held": 1, "conflicts": 1}}


def test_cancel_stops_between_writes():
    directory, replica = fleet("a", "b", "c"), replica_cluster()
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1
    with pytest.raises(ds.Cancelled):
        run_sync(directory, replica, cancel=cancel)
    assert sorted(clusters(replica)) == ["a"]


def test_the_directory_credential_comes_from_the_option_or_the_replicas_secret(tmp_path):
    replica = replica_cluster()
    with pytest.raises(MulticlusterError, match=r"read Secret tectonic-system/directory-sync on cluster 'east': it "
                                                r"does not exist or has no key 'kubeconfig'; store .*mc_sync_secret"):
        reading.directory_credential(replica, None, "tectonic-system", "directory-sync")
    text = ("apiVersion: v1\nclusters: [{name: d, cluster: {server: '%s'}}]\nusers: [{name: d, user: {token: t}}]\n"
            "contexts: [{name: d, context: {cluster: d, user: d}}]\ncurrent-context: d\n" % DIRECTORY)
    replica.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                 "data": {"kubeconfig": base64.b64encode(text.encode()).decode()}})
    credential, server = reading.directory_credential(replica, None, "tectonic-system", "directory-sync")
    # from the Secret: a Credential (data), never a kubeconfig dict for the loader
    assert isinstance(credential, Credential)
    assert server == DIRECTORY == credential.server and credential.token == "t" and credential.name == "d"
    path = tmp_path / "directory.kubeconfig"
    path.write_text(text)
    config, server = reading.directory_credential(replica, str(path), "x", "y")
    assert server == DIRECTORY and config["current-context"] == "d"  # the operator's own: a kubeconfig dict
    # the Secret's text is content, never the path of a file on the controller
    replica.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pointer", "namespace": "tectonic-system"},
                 "data": {"kubeconfig": base64.b64encode(str(path).encode()).decode()}})
    with pytest.raises(MulticlusterError, match="the kubeconfig in Secret tectonic-system/pointer on cluster 'east' is "
                                                "refused: it is not a kubeconfig"):
        reading.directory_credential(replica, None, "tectonic-system", "pointer")


def test_a_secret_naming_another_server_than_the_operators_is_refused():
    replica = replica_cluster()
    text = ("apiVersion: v1\nclusters: [{name: d, cluster: {server: 'https://elsewhere.example:443'}}]\n"
            "users: [{name: d, user: {token: t}}]\ncontexts: [{name: d, context: {cluster: d, user: d}}]\n")
    replica.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                 "data": {"kubeconfig": base64.b64encode(text.encode()).decode()}})
    with pytest.raises(MulticlusterError, match=r"the kubeconfig in Secret tectonic-system/directory-sync on cluster "
                                                r"'east' names the server 'https://elsewhere.example:443', not the "
                                                r"directory's address %s \(directory_server\): refused" % DIRECTORY):
        reading.directory_credential(replica, None, "tectonic-system", "directory-sync", expected_server=DIRECTORY)
    # the same server spelt with a trailing slash or another case is the same server
    credential, server = reading.directory_credential(replica, None, "tectonic-system", "directory-sync",
                                                      expected_server="HTTPS://Elsewhere.example:443/")
    assert server == "https://elsewhere.example:443" and credential.token == "t"
    # not given: not checked
    assert reading.directory_credential(replica, None, "tectonic-system", "directory-sync")[1] == server


# --- a second source: how Cluster Policies plug in ----------------------------------------------------------------

class RoleBindingsForEveryCluster(object):
    """A toy policy: one RoleBinding per directory Cluster, in namespace 'fleet'."""

    name = "rolebindings"
    target = KINDS["RoleBinding"]
    reads = (KINDS["Cluster"],)
    noun = ("RoleBinding", "RoleBindings")
    exact = ()
    from_policies = False

    def desired(self, snapshot, context):
        return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "view-" + c["metadata"]["name"], "namespace": "fleet"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "Group", "name": c["metadata"]["name"]}]} for c in snapshot["Cluster"]]


def test_another_source_is_an_addition_deletes_run_in_reverse_order_and_the_directory_is_read_once():
    directory, replica = fleet("a", "b"), replica_cluster()
    sources = (sp.ClusterSource(), RoleBindingsForEveryCluster())
    result = run_sync(directory, replica, sources=sources)
    assert [r for r in directory.requests if r[0] == "list"] == [("list", "Cluster", "")]
    assert result["sources"]["rolebindings"]["created"] == ["RoleBinding fleet/view-a", "RoleBinding fleet/view-b"]
    assert result["created"] == ["a", "b", "RoleBinding fleet/view-a", "RoleBinding fleet/view-b"]
    assert result["counts"]["rolebindings"] == {"desired": 2, "held": 2, "conflicts": 0}
    assert sp.is_held(replica.stored("RoleBinding", "view-a", "fleet"))
    assert "2 RoleBindings in sync" in status(replica)["message"]
    # the server defaulted the subjects' apiGroup: that is no difference
    replica.writes[:] = []
    assert not run_sync(directory, replica, sources=sources, now=T0 + 1)["changed"] and replica.writes == []

    del directory.objects[("Cluster", "", "b")]
    result = run_sync(directory, replica, sources=sources, now=T0 + 2)
    assert result["deleted"] == ["b", "RoleBinding fleet/view-b"]
    assert [w[1] for w in replica.writes if w[0] == "delete"] == ["RoleBinding", "Cluster"]


def test_a_bug_while_reading_the_directory_is_not_worded_as_an_unreachable_directory():
    directory, replica = fleet("a"), replica_cluster()
    directory.failures[("list", "Cluster")] = TypeError("a bug")
    with pytest.raises(TypeError):
        run_sync(directory, replica)
