"""The agent's view of the directory (sync/view.py), the lists it is made from (reading.read_kind's watch-cache
reads) and the sync of single changes from it (sync/changes.py), over FakeCluster (shaped as v1.28+ servers
return objects: managedFields, a status written by each replica)."""

import copy

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, CLUSTER_POLICY
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import reading
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.changes import sync_changes
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.view import DirectoryView
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster

DIRECTORY = "https://directory.example.com:6443"
T0 = 1780000000.0
CLUSTERS_ONLY = (sp.ClusterSource(),)


def cluster(name, labels=None, status=None, version="10"):
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
           "metadata": {"name": name, "resourceVersion": version, "uid": "uid-" + name,
                        "labels": dict(labels or {}),
                        "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                                           "fieldsV1": {"f:spec": {}}},
                                          {"manager": "directory-sync", "operation": "Update",
                                           "subresource": "status", "fieldsV1": {"f:status": {}}}]},
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}
    obj["status"] = status or {"kubernetesVersion": "v1.31.0", "conditions": [{"type": "Synced", "status": "True"}]}
    return obj


def fleet(*names):
    directory = FakeCluster(label="directory", server=DIRECTORY)
    for name in names:
        directory.add(cluster(name, {"stage": "production"}))
    return directory


# --- the lists ------------------------------------------------------------------------------------------------

def test_the_view_is_listed_from_the_watch_cache_in_one_answer_without_managed_fields_or_status():
    directory = fleet(*("c%03d" % n for n in range(250)))
    view = DirectoryView.read(directory, CLUSTERS_ONLY)
    assert directory.list_versions == ["0"]  # resourceVersion=0: the API server's watch cache
    assert directory.pages_served == 1  # the cache does not page: one answer
    east = view.get(CLUSTER, "c007")
    assert east == sp.kept(cluster("c007", {"stage": "production"}))
    assert "managedFields" not in east["metadata"] and "status" not in east
    assert view.size() == {"Cluster": 250} and view.versions["clusters"]


def test_a_list_larger_than_one_answer_may_be_is_read_again_in_bounded_pages(monkeypatch):
    directory = fleet(*("c%03d" % n for n in range(250)))
    monkeypatch.setattr(reading, "CACHED_LIST_BYTES", 10000)
    items, dummy = reading.read_kind(directory, CLUSTER, sp.Limits(), reading.CACHED)
    assert len(items) == 250
    assert directory.list_versions == ["0", None]  # then consistent pages
    assert directory.pages_served == 1 + 3  # pages of DIRECTORY_PAGE_SIZE (100)


def test_a_whole_list_is_one_consistent_answer():
    directory = fleet(*("c%03d" % n for n in range(250)))
    items, version = reading.read_kind(directory, CLUSTER, sp.Limits(), reading.WHOLE)
    assert len(items) == 250 and version
    assert directory.list_versions == [None] and directory.pages_served == 1  # no resourceVersion: consistent


def test_the_view_is_refused_as_a_list_is_when_the_directory_is_over_the_limits():
    directory = fleet("a", "b", "c", "d")
    with pytest.raises(reading.OverLimit, match="more than 3 Clusters"):
        DirectoryView.read(directory, CLUSTERS_ONLY, sp.Limits(clusters=3))


# --- the events -----------------------------------------------------------------------------------------------

def make_view(*names):
    return DirectoryView.read(fleet(*names), CLUSTERS_ONLY)


def test_a_status_write_changes_nothing_the_sync_uses_and_a_relabel_does():
    view = make_view("east", "west")
    status_only = cluster("east", {"stage": "production"}, {"kubernetesVersion": "v1.31.1"}, version="11")
    status_only["metadata"]["managedFields"][1]["time"] = "2026-12-07T03:00:00Z"
    assert view.apply(CLUSTER, "MODIFIED", status_only) is None
    assert view.versions["clusters"] == "11"
    assert view.apply(CLUSTER, "MODIFIED", cluster("east", {"stage": "staging"}, version="12")) == "east"
    assert view.get(CLUSTER, "east")["metadata"]["labels"] == {"stage": "staging"}
    assert view.apply(CLUSTER, "MODIFIED", cluster("east", {"stage": "production"}, version="13")) == "east"  # undone
    assert view.apply(CLUSTER, "ADDED", cluster("north", version="14")) == "north"
    assert view.apply(CLUSTER, "DELETED", cluster("west", version="15")) == "west"
    assert view.get(CLUSTER, "west") is None and view.size() == {"Cluster": 2}
    assert view.apply(CLUSTER, "DELETED", cluster("never-listed", version="16")) is None


def test_events_the_view_cannot_use_change_nothing():
    view = make_view("east")
    before = copy.deepcopy(view.objects)
    for event_type, obj in (("MODIFIED", {"metadata": {}}), ("MODIFIED", {"metadata": {"name": 7}}),
                            ("MODIFIED", "not an object"), ("ERROR", cluster("east", {"x": "y"})),
                            ("BOOKMARK", cluster("east", {"x": "y"}))):
        assert view.apply(CLUSTER, event_type, obj) is None
    # a kind the view could not list (an optional one): the next list reads it
    assert view.apply(CLUSTER_POLICY, "ADDED", {"metadata": {"name": "p"}, "spec": {}}) is None
    assert view.objects == before


def test_an_object_an_event_brings_over_the_limits_refuses_every_sync_until_it_goes():
    directory = fleet("east")
    view = DirectoryView.read(directory, CLUSTERS_ONLY, sp.Limits(object_bytes=2048, clusters=2))
    big = cluster("huge", {"blob": "x" * 60})
    big["spec"]["notes"] = "y" * 4096
    assert view.apply(CLUSTER, "ADDED", big) == "huge"
    assert view.get(CLUSTER, "huge") is None
    with pytest.raises(reading.OverLimit, match="Cluster huge in the directory is .* bytes") as raised:
        view.snapshot()
    assert raised.value.details == {"limit": "max_object_bytes"}
    assert view.apply(CLUSTER, "DELETED", big) == "huge"
    view.check()
    view.apply(CLUSTER, "ADDED", cluster("west"))
    view.apply(CLUSTER, "ADDED", cluster("north"))
    with pytest.raises(reading.OverLimit, match="more than 2 Clusters"):
        view.check()


def test_a_snapshot_of_the_view_is_what_a_list_of_the_directory_would_read():
    directory = fleet("east", "west")
    view = DirectoryView.read(directory, CLUSTERS_ONLY)
    directory.add(cluster("north", {"stage": "dev"}))
    view.apply(CLUSTER, "ADDED", directory.stored("Cluster", "north"))
    snapshot, versions, errors = view.snapshot()
    listed = reading.read_directory(directory, CLUSTERS_ONLY)
    assert dict((kind, list(items)) for kind, items in snapshot.items()) == listed[0] and errors == listed[2] == {}
    assert snapshot["Cluster"][1] == listed[0]["Cluster"][1] and len(snapshot["Cluster"]) == 3
    assert dict(snapshot["Cluster"].keyed()) == dict((("", c["metadata"]["name"]), c) for c in listed[0]["Cluster"])
    view.apply(CLUSTER, "DELETED", directory.stored("Cluster", "north"))
    assert len(snapshot["Cluster"]) == 3  # a snapshot: later events change the view, not it


# --- single changes on the replica -------------------------------------------------------------------------------

def synced(directory, replica):
    """The full sync the agent makes first, and the holdings it leaves."""
    view = DirectoryView.read(directory, CLUSTERS_ONLY)
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0, read=view.snapshot)
    replica.writes.clear()
    replica.requests.clear()
    return view, result["holdings"]


def test_one_relabelled_cluster_costs_the_replica_one_read_and_one_write():
    directory, replica = fleet(*("c%02d" % n for n in range(40))), FakeCluster(label="east")
    view, holdings = synced(directory, replica)
    view.apply(CLUSTER, "MODIFIED", cluster("c07", {"stage": "staging"}, version="99"))
    result = sync_changes(replica, DIRECTORY, {"c07": view.get(CLUSTER, "c07")}, holdings, now=T0 + 1)
    assert result["updated"] == ["c07"] and result["changed"] is True
    assert [w[:2] for w in replica.writes] == [("patch", "Cluster")]
    assert [r for r in replica.requests if r[1] == "Cluster"] == [("get", "Cluster", "c07")]  # no list
    assert replica.stored("Cluster", "c07")["metadata"]["labels"]["stage"] == "staging"
    # the counts did not change: the status is not written again (read only)
    assert [r[:2] for r in replica.requests if r[1] == "ConfigMap"] == [("get", "ConfigMap")]
    assert result["counts"] == {"clusters": {"desired": 40, "held": 40, "conflicts": 0}}
    replica.writes.clear()
    again = sync_changes(replica, DIRECTORY, {"c07": view.get(CLUSTER, "c07")}, holdings, now=T0 + 2)
    assert again["changed"] is False and replica.writes == []


def test_a_cluster_gone_from_the_directory_is_deleted_and_counted_and_one_made_by_hand_is_left_alone():
    directory, replica = fleet("east", "west"), FakeCluster(label="east")
    view, holdings = synced(directory, replica)
    replica.add(cluster("north", {"made": "by-hand"}))  # not the syncer's
    view.apply(CLUSTER, "DELETED", cluster("west"))
    view.apply(CLUSTER, "ADDED", cluster("north"))
    view.apply(CLUSTER, "ADDED", cluster("south"))
    result = sync_changes(replica, DIRECTORY, dict((n, view.get(CLUSTER, n)) for n in ("west", "north", "south")),
                          holdings, now=T0 + 1)
    assert result["deleted"] == ["west"] and result["conflicts"] == ["north"] and result["created"] == ["south"]
    assert replica.stored("Cluster", "west") is None
    assert replica.stored("Cluster", "north")["metadata"]["labels"] == {"made": "by-hand"}
    assert result["counts"] == {"clusters": {"desired": 3, "held": 2, "conflicts": 1}}
    status = replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)["data"]
    assert status["message"].startswith("2 Clusters in sync (1 conflict") and "north" in status["message"]
    # the same as a full sync of the same directory says
    full = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0 + 2,
                   read=view.snapshot)
    assert full["counts"] == result["counts"] and full["changed"] is False


def test_single_changes_in_check_mode_write_nothing():
    directory, replica = fleet("east"), FakeCluster(label="east")
    view, holdings = synced(directory, replica)
    dry = FakeCluster(label="east", check_mode=True)
    dry.objects = replica.objects
    view.apply(CLUSTER, "MODIFIED", cluster("east", {"stage": "staging"}))
    result = sync_changes(dry, DIRECTORY, {"east": view.get(CLUSTER, "east")}, holdings, now=T0 + 1)
    assert result["updated"] == ["east"]
    assert replica.stored("Cluster", "east")["metadata"]["labels"]["stage"] == "production"


# --- the full sync, a page of the replica at a time ----------------------------------------------------------------

def test_a_first_sync_costs_the_replica_one_write_a_cluster_and_no_read_of_each():
    directory, replica = fleet(*("c%03d" % n for n in range(120))), FakeCluster(label="east")
    replica.add(cluster("c005", {"made": "by-hand"}))  # a conflict, known from one list of the others
    view = DirectoryView.read(directory, CLUSTERS_ONLY)
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0, read=view.snapshot)
    assert len(result["created"]) == 119 and result["conflicts"] == ["c005"]
    assert [r for r in replica.requests if r[1] == "Cluster"] == [
        ("list", "Cluster", sp.MANAGED_SELECTOR), ("list", "Cluster", sp.UNMARKED_SELECTOR)]  # no get
    assert [w[:2] for w in replica.writes if w[1] == "Cluster"] == [("create", "Cluster")] * 119
    assert replica.stored("Cluster", "c005")["metadata"]["labels"] == {"made": "by-hand"}
    replica.requests.clear()
    replica.writes.clear()
    again = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0 + 1, read=view.snapshot)
    assert again["changed"] is False and again["conflicts"] == ["c005"] and replica.writes == []
    assert [r for r in replica.requests if r[1] == "Cluster"] == [
        ("list", "Cluster", sp.MANAGED_SELECTOR), ("list", "Cluster", sp.UNMARKED_SELECTOR)]  # a standing conflict


def test_a_cluster_made_on_the_replica_between_the_list_and_the_create_is_a_conflict():
    directory, replica = fleet("east", "west"), FakeCluster(label="east")
    made = []

    def race(verb, kind, namespace, name):
        if verb == "create" and name == "west" and not made:
            made.append(replica.add(cluster("west", {"made": "meanwhile"})))
    replica.before_write.append(race)
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0)
    assert result["created"] == ["east"] and result["conflicts"] == ["west"]
    assert replica.stored("Cluster", "west")["metadata"]["labels"] == {"made": "meanwhile"}


def test_the_replica_is_read_a_page_at_a_time_and_the_plan_keeps_only_what_changes(monkeypatch):
    directory, replica = fleet(*("c%04d" % n for n in range(1200))), FakeCluster(label="east")
    view = DirectoryView.read(directory, CLUSTERS_ONLY)
    ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0, read=view.snapshot)
    view.apply(CLUSTER, "MODIFIED", cluster("c0700", {"stage": "staging"}))
    view.apply(CLUSTER, "DELETED", cluster("c0007"))
    plans = []
    real = ds.plan_paged
    monkeypatch.setattr(ds, "plan_paged", lambda *a: plans.append(real(*a)) or plans[-1])
    replica.pages_served = 0
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0 + 1, read=view.snapshot)
    assert result["updated"] == ["c0700"] and result["deleted"] == ["c0007"]
    assert replica.pages_served == 3  # 1,200 held objects, 500 a page
    plan = plans[0]
    assert [have["metadata"]["name"] for have, want in plan["update"]] == ["c0700"]
    assert len(plan["unchanged"]) == 1198 and [d["metadata"]["name"] for d in plan["delete"]] == ["c0007"]
