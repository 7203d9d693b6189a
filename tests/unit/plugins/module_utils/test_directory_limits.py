"""The limits a replica puts on what it reads from the directory
(sync_plan.Limits): too many Clusters or ClusterPolicies, a policy with too
many namespaces, an object or a page too large. Each refuses the whole sync
before anything on the replica changes, says why, and stops reading at the
limit; only the fields the sync uses are kept of what is read."""

import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import reading
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, CLUSTER_POLICY
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_client import kubeconfig
from tests.unit.utils.clock import Clock
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.fake_transport import FakeTransport, Response

DIRECTORY = "https://directory.example.com:6443"
T0 = 1780000000.0
CLUSTERS_ONLY = (sp.ClusterSource(),)
CLUSTERS_PATH = "/apis/multicluster.coreos.com/v1/clusters"
POLICY_WRITES = ("Namespace", "ClusterRoleBinding", "RoleBinding", "ResourceQuota", "LimitRange", "Cluster")


def cluster(name, labels=None, annotations=None):
    meta = {"name": name, "labels": dict(labels or {"stage": "production"})}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": meta,
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}


def policy(name, namespaces=1):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
            "spec": {"selector": {"stage": "production"},
                     "namespaces": [{"name": "%s-%d" % (name, i)} for i in range(namespaces)]}}


def directory_of(count, policies=()):
    directory = FakeCluster(label="directory", server=DIRECTORY)
    for index in range(count):
        directory.add(cluster("c-%04d" % index))
    for obj in policies:
        directory.add(obj)
    return directory


def status(fake):
    found = fake.stored("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)
    return found and found["data"]


def synced_replica(directory):
    """A replica holding the directory's Clusters (one sync with the default limits)."""
    replica = FakeCluster(label="east")
    ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0)
    replica.writes[:] = []
    return replica


def refused(directory, replica, limits, sources=CLUSTERS_ONLY):
    """The DirectoryError of a sync over the limits; asserts that the replica
    saw no write but its status ConfigMap."""
    before = dict(replica.objects)
    with pytest.raises(reading.DirectoryError) as raised:
        ds.sync(directory, replica, DIRECTORY, sources=sources, now=T0 + 10, limits=limits)
    assert [w for w in replica.writes if w[1] != "ConfigMap"] == []
    assert dict((k, v) for k, v in replica.objects.items() if k[0] != "ConfigMap") == \
        dict((k, v) for k, v in before.items() if k[0] != "ConfigMap")
    return raised.value


# --- Limits ----------------------------------------------------------------------------------------

def test_the_defaults():
    limits = sp.Limits()
    assert limits.options() == {"max_clusters": 10000, "max_cluster_policies": 1000, "max_policy_namespaces": 100,
                                "max_object_bytes": 262144}
    assert limits.page_bytes() == sp.DIRECTORY_PAGE_SIZE * 262144


@pytest.mark.parametrize("option, value", [("clusters", 0), ("cluster_policies", -1), ("policy_namespaces", True),
                                           ("object_bytes", 1.5), ("clusters", None)])
def test_a_limit_is_a_whole_number_of_one_or_more(option, value):
    with pytest.raises(ValueError) as raised:
        sp.Limits(**{option: value})
    assert str(raised.value) == "max_%s must be a whole number of 1 or more, not %r" % (option, value)


# --- the Cluster count -------------------------------------------------------------------------------

def test_a_directory_over_the_cluster_limit_changes_nothing_and_says_why():
    directory = directory_of(5)
    replica = synced_replica(directory)
    held = dict((k, v["metadata"]["resourceVersion"]) for k, v in replica.objects.items() if k[0] == "Cluster")
    directory.objects[("Cluster", "", "c-0001")]["metadata"]["labels"]["stage"] = "retired"  # a change to carry
    directory.objects.pop(("Cluster", "", "c-0004"))  # and a deletion
    directory.add(cluster("c-new-1"))
    directory.add(cluster("c-new-2"))
    error = refused(directory, replica, sp.Limits(clusters=5))
    reason = ("the directory holds more than 5 Clusters, the most this replica accepts (max_clusters); "
              "nothing was synced")
    assert str(error) == "sync Clusters from directory '%s' to cluster 'east': %s" % (DIRECTORY, reason)
    assert error.details["limit"] == "max_clusters" and error.details["status_recorded"] is True
    assert dict((k, v["metadata"]["resourceVersion"]) for k, v in replica.objects.items() if k[0] == "Cluster") == held
    recorded = status(replica)
    assert recorded["result"] == "failed" and recorded["message"] == reason
    assert replica.writes == [("patch", "ConfigMap", names.STATUS_CONFIG_MAP)]


def test_a_directory_at_the_cluster_limit_syncs():
    directory = directory_of(5)
    replica = FakeCluster(label="east")
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0, limits=sp.Limits(clusters=5))
    assert len(result["created"]) == 5 and status(replica)["result"] == "ok"


def test_reading_stops_at_the_page_that_passes_the_limit():
    directory = directory_of(450)  # five pages of 100
    replica = FakeCluster(label="east")
    error = refused(directory, replica, sp.Limits(clusters=150))
    assert error.details["limit"] == "max_clusters"
    assert directory.pages_served == 2  # the 151st Cluster is on the second page: the last three are never asked
    assert [r for r in directory.requests if r[0] == "list"] == [("list", "Cluster", "")] * 2
    assert replica.writes == [("create", "ConfigMap", names.STATUS_CONFIG_MAP)]


def test_directory_lists_are_read_in_pages_of_the_page_size():
    directory = directory_of(250)
    replica = FakeCluster(label="east")
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0)
    assert len(result["created"]) == 250 and directory.pages_served == 3


# --- ClusterPolicies -----------------------------------------------------------------------------------

def test_a_directory_over_the_policy_limit_changes_nothing():
    directory = directory_of(2, [policy("p-%d" % i) for i in range(4)])
    replica = FakeCluster(label="east")
    error = refused(directory, replica, sp.Limits(cluster_policies=3), sources=sp.SOURCES)
    assert str(error).endswith(": the directory holds more than 3 ClusterPolicies, the most this replica accepts "
                               "(max_cluster_policies); nothing was synced")
    assert error.details["limit"] == "max_cluster_policies"
    assert [w for w in replica.writes if w[1] in POLICY_WRITES] == []
    assert status(replica)["result"] == "failed"


def test_a_policy_over_the_namespace_limit_refuses_the_directory():
    directory = directory_of(2, [policy("small", 3), policy("wide", 4)])
    replica = FakeCluster(label="east")
    error = refused(directory, replica, sp.Limits(policy_namespaces=3), sources=sp.SOURCES)
    assert str(error).endswith(": ClusterPolicy wide in the directory has 4 namespaces, more than the 3 this "
                               "replica accepts (max_policy_namespaces); nothing was synced")
    assert error.details["limit"] == "max_policy_namespaces"
    snapshot = reading.read_directory(directory, sp.SOURCES, sp.Limits(policy_namespaces=4))[0]
    assert sorted(p["metadata"]["name"] for p in snapshot["ClusterPolicy"]) == ["small", "wide"]


def test_the_limits_hold_when_the_policy_api_is_optional():
    """ClusterPolicies are an optional read (a directory without the API still
    syncs its Clusters); a refusal over the limits is not such a failure."""
    directory = directory_of(1, [policy("p-%d" % i) for i in range(3)])
    with pytest.raises(reading.OverLimit):
        reading.read_directory(directory, sp.SOURCES, sp.Limits(cluster_policies=2))
    without = FakeCluster(label="directory", missing_kinds=("ClusterPolicy",))
    without.add(cluster("only"))
    snapshot, dummy, errors = reading.read_directory(without, sp.SOURCES, sp.Limits(cluster_policies=1))
    assert snapshot["ClusterPolicy"] is None and "ClusterPolicy" in errors


# --- object size, and what is kept ---------------------------------------------------------------------

def test_an_object_over_the_size_limit_refuses_the_directory():
    directory = directory_of(3)
    replica = synced_replica(directory)
    directory.add(cluster("huge", annotations={"example.com/blob": "x" * (256 * 1024)}))
    error = refused(directory, replica, sp.Limits())
    size = sp.serialized_size(sp.kept(directory.stored("Cluster", "huge")))
    assert size > 256 * 1024
    assert str(error).endswith(": Cluster huge in the directory is %d bytes, more than the 262144 this replica "
                               "accepts (max_object_bytes); nothing was synced" % size)
    assert error.details["limit"] == "max_object_bytes"


def test_only_the_fields_the_sync_uses_are_kept_and_they_count_toward_the_bound():
    """A Cluster applied with kubectl carries its whole last-applied form, and the
    server adds managedFields and status: none of it is kept, nor measured."""
    big = "y" * (200 * 1024)
    obj = cluster("applied", annotations={"kubectl.kubernetes.io/last-applied-configuration": big,
                                          "example.com/owner": "team-a"})
    directory = FakeCluster(label="directory", server=DIRECTORY)
    stored = directory.add(obj)
    stored = directory.objects[("Cluster", "", "applied")]
    stored["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:x": big}}]
    stored["status"] = {"note": big}
    assert sp.serialized_size(stored) > 3 * 200 * 1024
    items, version = reading.read_kind(directory, CLUSTER, sp.Limits(object_bytes=8192))
    assert version and items == [{
        "apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
        "metadata": {"name": "applied", "labels": {"stage": "production"},
                     "annotations": {"example.com/owner": "team-a"}},
        "spec": stored["spec"]}]
    assert sp.serialized_size(items[0]) < 1024


def test_kept_and_mark_share_the_spec_and_change_nothing_of_their_input():
    """One copy of each spec however many forms of a Cluster the sync holds
    (the snapshot, the desired object, the marked one)."""
    obj = cluster("a", annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "x/y": "z"})
    obj["status"] = {"phase": "x"}
    obj["metadata"]["managedFields"] = [{}]
    before = json.dumps(obj, sort_keys=True)
    stripped = sp.kept(obj)
    assert stripped["spec"] is obj["spec"]
    assert "status" not in stripped and "managedFields" not in stripped["metadata"]
    assert stripped["metadata"]["annotations"] == {"x/y": "z"}
    marked = sp.mark(stripped, DIRECTORY)
    assert marked["spec"] is obj["spec"]
    assert marked["metadata"]["labels"][names.MANAGED_BY_LABEL] == names.SYNCED_BY
    assert marked["metadata"]["annotations"][sp.SYNCED_FROM_ANNOTATION] == DIRECTORY
    assert stripped == sp.kept(obj) and json.dumps(obj, sort_keys=True) == before  # the inputs are unchanged


def test_a_sync_changes_nothing_of_what_it_read_from_the_directory():
    directory = directory_of(3)
    snapshot, dummy, dummy = reading.read_directory(directory, CLUSTERS_ONLY)
    before = json.dumps(snapshot, sort_keys=True)
    replica = FakeCluster(label="east")
    sources = CLUSTERS_ONLY
    plans = dict((s.name, sp.plan_source(s, s.desired(snapshot, {}), [], DIRECTORY)) for s in sources)
    ds.apply_plans(replica, sources, plans)
    assert json.dumps(snapshot, sort_keys=True) == before
    assert len(replica.objects) == 3


# --- a page too large, through the real client -----------------------------------------------------------

def test_a_page_larger_than_its_bound_is_not_read_to_its_end():
    clock = Clock()
    directory = ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": 30}, sleep=clock.sleep, clock=clock)
    transport = FakeTransport().install(directory)
    limits = sp.Limits(object_bytes=1024)
    page = {"metadata": {"resourceVersion": "7"},
            "items": [cluster("c-%d" % i, annotations={"example.com/x": "z" * 5000}) for i in range(60)]}
    transport.answer("GET", CLUSTERS_PATH, Response(page))
    assert len(json.dumps(page)) > limits.page_bytes()
    with pytest.raises(reading.OverLimit) as raised:
        reading.read_kind(directory, CLUSTER, limits)
    assert str(raised.value) == ("a page of up to 100 Clusters read from the directory is larger than 102400 bytes "
                                 "(100 times max_object_bytes); nothing was synced")
    assert raised.value.details == {"limit": "max_object_bytes"}
    response, = transport.responses
    assert response.closed and response.read_bytes <= limits.page_bytes() + 64 * 1024 < len(response.data)
    call, = transport.calls  # not retried
    assert call.query == {"limit": sp.DIRECTORY_PAGE_SIZE}


def test_pages_within_their_bound_are_read_page_by_page_and_stripped():
    clock = Clock()
    directory = ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": 30}, sleep=clock.sleep, clock=clock)
    transport = FakeTransport().install(directory)
    first = [dict(cluster("b-%d" % i), status={"x": 1}) for i in range(100)]
    transport.answer("GET", CLUSTERS_PATH,
                     {"metadata": {"resourceVersion": "7", "continue": "t1"}, "items": first},
                     {"metadata": {"resourceVersion": "7"}, "items": [cluster("a-0")]})
    items, version = reading.read_kind(directory, CLUSTER, sp.Limits())
    assert version == "7" and len(items) == 101 and items[0]["metadata"]["name"] == "a-0"
    assert all("status" not in item for item in items)
    assert [c.query for c in transport.calls] == [{"limit": 100}, {"limit": 100, "_continue": "t1"}]


def test_a_cluster_policy_over_the_size_limit_is_refused_by_name():
    directory = directory_of(1, [dict(policy("wide"), spec={"selector": {}, "note": "n" * 5000})])
    with pytest.raises(reading.OverLimit) as raised:
        reading.read_kind(directory, CLUSTER_POLICY, sp.Limits(object_bytes=4096))
    assert str(raised.value).startswith("ClusterPolicy wide in the directory is ")


# --- the module's options --------------------------------------------------------------------------------

def test_the_module_options_default_to_the_engines_limits_and_are_checked():
    from ansible_collections.coreos.multicluster.plugins.modules import mc_directory_sync as module
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
    spec = module.argument_spec()
    params = dict((name, spec[name]["default"]) for name in sp.Limits().options())
    assert all(spec[name]["type"] == "int" for name in params)
    assert module.limits_of(params).options() == sp.Limits().options()
    with pytest.raises(MulticlusterError) as raised:
        module.limits_of(dict(params, max_object_bytes=0))
    assert str(raised.value) == "max_object_bytes must be a whole number of 1 or more, not 0"


def test_without_diff_the_objects_written_are_not_kept():
    directory = directory_of(3)
    replica = FakeCluster(label="east")
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0, diff=False)
    assert result["created"] == ["c-0000", "c-0001", "c-0002"] and result["diff"] == {"before": {}, "after": {}}
    directory.objects.pop(("Cluster", "", "c-0000"))
    result = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0 + 1, diff=False)
    assert result["deleted"] == ["c-0000"] and result["diff"] == {"before": {}, "after": {}}
    with_diff = ds.sync(directory_of(1), FakeCluster(label="west"), DIRECTORY, sources=CLUSTERS_ONLY, now=T0)
    assert list(with_diff["diff"]["after"]["clusters"]) == ["c-0000"]


def test_the_objects_held_on_the_replica_are_read_without_their_managed_fields():
    directory = directory_of(3)
    replica = synced_replica(directory)
    assert all(obj["metadata"].get("managedFields") for obj in replica.objects.values())
    held = reading.read_replica(replica, CLUSTERS_ONLY)["clusters"]
    assert [obj["metadata"]["name"] for obj in held] == ["c-0000", "c-0001", "c-0002"]
    assert all("managedFields" not in obj["metadata"] and obj["metadata"]["resourceVersion"] for obj in held)
    replica.writes[:] = []
    again = ds.sync(directory, replica, DIRECTORY, sources=CLUSTERS_ONLY, now=T0 + 1)
    assert again["changed"] is False and replica.writes == []
