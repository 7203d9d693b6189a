"""The agent's reports to the directory about its own replica: the heartbeat Lease and its Cluster's status."""

import threading

from ansible_collections.coreos.multicluster.agent import heartbeat
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import objects
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils import names

from tests.unit.utils.fake_cluster import FakeCluster

NOW = 1796000000.0


def directory_with(replica="east"):
    directory = FakeCluster("directory")
    directory.add(objects.desired_lease(replica))
    directory.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": replica},
                   "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://east:6443"}]}}})
    return directory


class Replica(object):
    def __init__(self, version="v1.31.2"):
        self.version = version
        self.reads = 0

    def get_path(self, action, what, path):
        assert path == "/version"
        self.reads += 1
        if isinstance(self.version, Exception):
            raise self.version
        return {"gitVersion": self.version, "major": "1"}


def named(name):
    return heartbeat.Identity(None, name)


def test_the_cluster_name_is_read_from_the_replica_when_not_given_and_again_after_a_failure():
    replica = FakeCluster("replica")
    clock = [0.0]
    identity = heartbeat.Identity(replica, clock=lambda: clock[0])
    assert identity.name() is None  # no tectonic-config yet
    replica.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": names.CLUSTER_CONFIG_MAP,
                 "namespace": names.SYSTEM_NAMESPACE}, "data": {names.CLUSTER_NAME_KEY: "east"}})
    assert identity.name() is None  # not read again before the retry delay
    clock[0] += heartbeat.RETRY
    assert identity.name() == "east"
    replica.requests.clear()
    assert identity.name() == "east" and replica.requests == []  # read once


def test_a_cluster_name_on_the_replica_that_is_not_a_name_is_refused():
    replica = FakeCluster("replica")
    replica.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": names.CLUSTER_CONFIG_MAP,
                 "namespace": names.SYSTEM_NAMESPACE}, "data": {names.CLUSTER_NAME_KEY: "../other"}})
    assert heartbeat.Identity(replica).name() is None


def test_each_beat_renews_the_lease_in_one_request_after_the_first_read():
    directory = directory_with()
    clock = [NOW]
    beat = heartbeat.Heartbeat(named("east"), 60, lambda: directory, threading.Event(), wall=lambda: clock[0])
    assert beat.beat() is True
    clock[0] += 60
    directory.requests.clear()
    assert beat.beat() is True
    assert [r[0] for r in directory.requests] == [] and directory.writes[-1] == ("patch", "Lease", "east")
    spec = directory.stored("Lease", "east", names.HEARTBEAT_NAMESPACE)["spec"]
    assert spec["holderIdentity"] == "east" and spec["leaseDurationSeconds"] == 60
    assert health.parse_micro_time(spec["renewTime"]) == NOW + 60
    assert health.parse_micro_time(spec["acquireTime"]) == NOW
    assert beat.renewals == 2 and beat.failures == 0


def test_a_lease_written_meanwhile_is_read_again_and_renewed_in_the_same_beat():
    directory = directory_with()
    beat = heartbeat.Heartbeat(named("east"), 60, lambda: directory, threading.Event(), wall=lambda: NOW)
    assert beat.beat()
    live = directory.stored("Lease", "east", names.HEARTBEAT_NAMESPACE)
    directory.add(dict(live, spec=dict(live["spec"], holderIdentity="east-old-pod")))  # a new resourceVersion
    assert beat.beat() is True and beat.failures == 0
    assert directory.stored("Lease", "east", names.HEARTBEAT_NAMESPACE)["spec"]["holderIdentity"] == "east"


def test_no_client_no_request_and_a_missing_lease_is_a_failure_that_says_so(caplog):
    beat = heartbeat.Heartbeat(named("east"), 60, lambda: None, threading.Event())
    assert beat.beat() is None
    beat = heartbeat.Heartbeat(heartbeat.Identity(FakeCluster("replica")), 60, lambda: FakeCluster("dir"),
                               threading.Event())
    assert beat.beat() is None  # no name yet: nothing to renew
    directory = FakeCluster("directory")
    beat = heartbeat.Heartbeat(named("east"), 60, lambda: directory, threading.Event())
    assert beat.beat() is False and beat.failures == 1 and directory.writes == []


def test_the_status_is_written_when_it_changes_and_not_when_it_does_not():
    directory = directory_with()
    replica = Replica()
    clock = [NOW]
    sent = []
    patch = directory.patch
    directory.patch = lambda kind, name, body, namespace=None, **kw: sent.append((kind, body, kw)) or patch(
        kind, name, body, namespace, **kw)
    report = heartbeat.ClusterStatus(named("east"), replica, "1.4.0", wall=lambda: clock[0])
    assert report.report(directory, True, policy_status=None) is True
    # one merge patch of the status subresource, holding the status only
    assert [(kind, sorted(body), kw) for kind, body, kw in sent] == [
        ("ClusterStatus", ["status"], {"content_type": "application/merge-patch+json"})]
    status = directory.stored("Cluster", "east")["status"]
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [("Synced", "True"), ("PoliciesApplied", "True")]
    assert status["kubernetesVersion"] == "v1.31.2" and status["agentVersion"] == "1.4.0"
    assert directory.writes == [("patch", "ClusterStatus", "east")]
    # the next syncs, converged: no request at all
    directory.requests.clear()
    clock[0] += 60
    assert report.report(directory, True, policy_status=None) is False
    assert directory.requests == [] and len(directory.writes) == 1 and replica.reads == 1
    # a failure is a change; its transition time is now, the other condition's is kept
    clock[0] += 60
    assert report.report(directory, False, reason="cannot read the directory: 401 Unauthorized") is True
    status = directory.stored("Cluster", "east")["status"]
    synced = status["conditions"][0]
    assert (synced["status"], synced["reason"]) == ("False", "SyncFailed") and "401" in synced["message"]
    assert health.parse_micro_time(synced["lastTransitionTime"]) == NOW + 120
    assert [sorted(body) for kind, body, kw in sent] == [["status"], ["status"]]


def test_the_status_and_version_are_read_again_after_the_refresh_interval():
    directory = directory_with()
    replica = Replica()
    clock = [NOW]
    report = heartbeat.ClusterStatus(named("east"), replica, "1.4.0", wall=lambda: clock[0])
    report.report(directory, True)
    replica.version = "v1.32.0"  # upgraded
    clock[0] += heartbeat.REFRESH
    assert report.report(directory, True) is True
    assert directory.stored("Cluster", "east")["status"]["kubernetesVersion"] == "v1.32.0"


def test_a_status_that_cannot_be_written_is_logged_and_read_again_next_time():
    directory = directory_with()
    directory.failures[("patch", "ClusterStatus")] = MulticlusterError("update Cluster east: 403 Forbidden")
    report = heartbeat.ClusterStatus(named("east"), Replica(MulticlusterError("no version")), "1.4.0", wall=lambda: NOW)
    assert report.report(directory, True) is False
    del directory.failures[("patch", "ClusterStatus")]
    assert report.report(directory, True) is True
    assert "kubernetesVersion" not in directory.stored("Cluster", "east")["status"]


def logged(monkeypatch):
    """The messages agent/heartbeat.py logs, as a list."""
    found = []
    monkeypatch.setattr(heartbeat, "log", lambda level, msg, **fields: found.append(msg))
    return found


def test_a_refused_status_write_is_not_tried_again_before_the_refresh_and_is_logged_once(monkeypatch):
    messages = logged(monkeypatch)
    directory = directory_with()
    refused = MulticlusterError("update Cluster east: 403 Forbidden", details={"status": 403})
    directory.failures[("patch", "ClusterStatus")] = refused
    clock = [NOW]
    report = heartbeat.ClusterStatus(named("east"), Replica(), "1.4.0", wall=lambda: clock[0])
    assert report.report(directory, True) is False
    directory.requests.clear()
    clock[0] += 60
    assert report.report(directory, True) is False and directory.requests == []  # no request: refused
    clock[0] += heartbeat.REFRESH
    assert report.report(directory, True) is False and directory.requests  # tried again
    assert messages.count("cannot write the Cluster's status") == 1
    del directory.failures[("patch", "ClusterStatus")]
    clock[0] += heartbeat.REFRESH
    assert report.report(directory, True) is True


def test_a_heartbeat_that_keeps_failing_the_same_way_is_logged_once(monkeypatch):
    messages = logged(monkeypatch)
    directory = FakeCluster("directory")  # no Lease: a replica onboarded before heartbeats
    beat = heartbeat.Heartbeat(named("east"), 60, lambda: directory, threading.Event(), wall=lambda: NOW)
    assert [beat.beat() for dummy in range(3)] == [False, False, False]
    assert messages.count("cannot renew the heartbeat") == 1
    directory.add(objects.desired_lease("east"))
    assert beat.beat() is True and beat.failures == 3
    assert messages[-2:] == ["heartbeat renewed again", "heartbeat renewed"]
