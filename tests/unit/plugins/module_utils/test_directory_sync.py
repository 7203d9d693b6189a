"""The directory-sync engine: normalising, marking, planning, the status rule,
and whole syncs between two in-memory API servers behind the real
ClusterClient wrappers (retries and error wording included)."""

import base64
import copy
import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils import directory_sync as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

DIRECTORY = "https://directory.example.com:6443"
MANAGED = {ds.MANAGED_BY_LABEL: ds.MANAGED_BY}
T0 = 1780000000.0


# --- an in-memory API server -------------------------------------------------------------------------

class ApiError(Exception):
    """Shaped like kubernetes.client.ApiException."""

    def __init__(self, status, reason, message="", name=None, kind=None):
        super(ApiError, self).__init__("(%s) %s" % (status, reason))
        self.status = status
        self.reason = reason
        self.headers = {}
        details = {}
        if name:
            details["name"] = name
        if kind:
            details["kind"] = kind
        self.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "reason": reason,
                                "details": details, "code": status}) if (message or details) else reason


def not_found(kind, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (kind, name), name=name, kind=kind)


def apply_merge_patch(target, patch):
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class FakeServer(object):
    """Clusters, ConfigMaps and Secrets; resourceVersions, paging, dry runs,
    409s, and a log of every request."""

    def __init__(self, crd=True):
        self.objects = {}  # (kind, namespace, name) -> obj
        self.version = 100
        self.requests = []
        self.crd = crd
        self.fail_list = None      # an exception raised by Cluster lists
        self.before_patch = None   # a function run once before the next Cluster patch (a concurrent writer)
        self.before_create = None

    # helpers
    def _rv(self):
        self.version += 1
        return str(self.version)

    def put(self, kind, obj, namespace=""):
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = self._rv()
        meta.setdefault("uid", "uid-%s" % meta["name"])
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.objects[(kind, namespace, meta["name"])] = obj
        return copy.deepcopy(obj)

    def get(self, kind, name, namespace=""):
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def clusters(self):
        return dict((k[2], v) for k, v in self.objects.items() if k[0] == "Cluster")

    def writes(self):
        return [r for r in self.requests if r[0] in ("create", "patch", "delete") and not r[-1]]

    def _log(self, verb, kind, name, dry_run=None):
        self.requests.append((verb, kind, name, bool(dry_run)))

    def _check_crd(self, group):
        if not self.crd:
            raise ApiError(404, "Not Found")  # the plain "404 page not found" of a missing type

    # CustomObjectsApi
    def list_cluster_custom_object(self, group, version, plural, limit=None, _continue=None, label_selector="",
                                   _request_timeout=None):
        self._log("list", "Cluster", _continue or "")
        if self.fail_list is not None:
            raise self.fail_list
        self._check_crd(group)
        items = [copy.deepcopy(v) for k, v in sorted(self.objects.items()) if k[0] == "Cluster"]
        start = int(_continue or 0)
        end = start + limit if limit else len(items)
        meta = {"resourceVersion": str(self.version)}
        if end < len(items):
            meta["continue"] = str(end)
        return {"items": items[start:end], "metadata": meta}

    def get_cluster_custom_object(self, group, version, plural, name):
        self._log("get", "Cluster", name)
        self._check_crd(group)
        found = self.get("Cluster", name)
        if found is None:
            raise not_found("clusters", name)
        return found

    def create_cluster_custom_object(self, group, version, plural, body, dry_run=None):
        self._log("create", "Cluster", body["metadata"]["name"], dry_run)
        if self.before_create:
            hook, self.before_create = self.before_create, None
            hook()
        if self.get("Cluster", body["metadata"]["name"]) is not None:
            raise ApiError(409, "AlreadyExists", "already exists", name=body["metadata"]["name"], kind="clusters")
        if dry_run:
            return dict(copy.deepcopy(body), metadata=dict(body["metadata"], resourceVersion="0"))
        return self.put("Cluster", body)

    def patch_cluster_custom_object(self, group, version, plural, name, body, dry_run=None):
        self._log("patch", "Cluster", name, dry_run)
        if self.before_patch:
            hook, self.before_patch = self.before_patch, None
            hook()
        live = self.get("Cluster", name)
        if live is None:
            raise not_found("clusters", name)
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified", name=name, kind="clusters")
        patched = apply_merge_patch(live, body)
        if dry_run:
            return patched
        return self.put("Cluster", patched)

    def delete_cluster_custom_object(self, group, version, plural, name, dry_run=None):
        self._log("delete", "Cluster", name, dry_run)
        if self.get("Cluster", name) is None:
            raise not_found("clusters", name)
        if not dry_run:
            del self.objects[("Cluster", "", name)]
        return {}

    # CoreV1Api
    def read_namespaced_config_map(self, name, namespace):
        self._log("get", "ConfigMap", name)
        found = self.get("ConfigMap", name, namespace)
        if found is None:
            raise not_found("configmaps", name)
        return found

    def create_namespaced_config_map(self, namespace, body, dry_run=None):
        self._log("create", "ConfigMap", body["metadata"]["name"], dry_run)
        if self.before_create:
            hook, self.before_create = self.before_create, None
            hook()
        if self.get("ConfigMap", body["metadata"]["name"], namespace) is not None:
            raise ApiError(409, "AlreadyExists", "already exists", name=body["metadata"]["name"], kind="configmaps")
        return self.put("ConfigMap", body, namespace)

    def patch_namespaced_config_map(self, name, namespace, body, dry_run=None):
        self._log("patch", "ConfigMap", name, dry_run)
        return self.put("ConfigMap", apply_merge_patch(self.get("ConfigMap", name, namespace), body), namespace)

    def read_namespaced_secret(self, name, namespace):
        self._log("get", "Secret", name)
        found = self.get("Secret", name, namespace)
        if found is None:
            raise not_found("secrets", name)
        return found


class FakeClient(ClusterClient):
    """The real ClusterClient methods (call, write, read, delete, error) over a FakeServer."""

    def __init__(self, server, label, check_mode=False):  # pylint: disable=super-init-not-called
        self.server_fake = server
        self.label = label
        self.server = "https://%s.example.com:6443" % label
        self.check_mode = check_mode
        self.dry_run = "All" if check_mode else None
        self._sleep = lambda seconds: None
        self._apis = {"custom": server, "core": server}

    def to_dict(self, model):
        return copy.deepcopy(model)


def cluster(name, labels=None, annotations=None, server=None, **meta):
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
           "metadata": dict({"name": name}, **meta),
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [
               {"ServerAddress": server or "https://%s.example.com:6443" % name}]}}}
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    return obj


def fleet(*names, **labels):
    directory = FakeServer()
    for name in names:
        directory.put("Cluster", cluster(name, labels=dict(labels or {"stage": "production"})))
    return directory


def run_sync(directory, replica, now=T0, check_mode=False, **kw):
    return ds.sync(FakeClient(directory, "directory"), FakeClient(replica, "east", check_mode=check_mode), DIRECTORY,
                   now=now, **kw)


# --- pure: normalising and marking ------------------------------------------------------------------------

def test_comparable_keeps_labels_annotations_and_spec_only():
    live = cluster("a", labels={"stage": "prod"}, annotations={
        "kubectl.kubernetes.io/last-applied-configuration": "{...}", "multicluster.coreos.com/console-url": "x"},
        resourceVersion="7", uid="u", generation=2, managedFields=[{}], creationTimestamp="t")
    live["status"] = {"phase": "Ready"}
    assert ds.comparable(live) == {
        "metadata": {"name": "a", "labels": {"stage": "prod"},
                     "annotations": {"multicluster.coreos.com/console-url": "x"}},
        "spec": live["spec"]}


def test_mark_adds_the_label_and_the_directory_without_touching_the_input():
    obj = cluster("a", labels={"stage": "prod"})
    before = copy.deepcopy(obj)
    marked = ds.mark(obj, DIRECTORY)
    assert obj == before
    assert marked["metadata"]["labels"] == {"stage": "prod", ds.MANAGED_BY_LABEL: "directory-sync"}
    assert marked["metadata"]["annotations"] == {ds.SYNCED_FROM_ANNOTATION: DIRECTORY}
    assert marked["apiVersion"] == "multicluster.coreos.com/v1" and marked["kind"] == "Cluster"
    assert ds.is_held(marked) and not ds.is_held(obj)
    assert not ds.is_held(cluster("b", labels={ds.MANAGED_BY_LABEL: "helm"}))


def test_the_cluster_source_copies_what_the_directory_has_without_server_fields():
    live = cluster("a", labels={"stage": "prod"}, annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                   resourceVersion="9", uid="u", managedFields=[{"manager": "kubectl"}])
    live["status"] = {"x": 1}
    desired = ds.ClusterSource().desired({ds.CLUSTERS: [live]}, {"directory_server": DIRECTORY})
    assert desired == [{"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
                        "metadata": {"name": "a", "labels": {"stage": "prod"},
                                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
                        "spec": live["spec"]}]
    # the kubectl annotation is dropped when the object is marked, so it is never written
    assert ds.mark(desired[0], DIRECTORY)["metadata"]["annotations"] == {ds.SYNCED_FROM_ANNOTATION: DIRECTORY}


# --- pure: plans -------------------------------------------------------------------------------------------

def held(name, labels=None, **kw):
    return ds.mark(cluster(name, labels=labels if labels is not None else {"stage": "production"}, **kw), DIRECTORY)


def test_plan_creates_updates_deletes_and_reports_conflicts():
    desired = [cluster("new", labels={"stage": "production"}),
               cluster("same", labels={"stage": "production"}),
               cluster("relabelled", labels={"stage": "staging"}),
               cluster("clash", labels={"stage": "production"})]
    live = [dict(held("same"), metadata=dict(held("same")["metadata"], resourceVersion="5", uid="u1")),
            held("relabelled", labels={"stage": "production", "old": "yes"}),
            cluster("clash", labels={"mine": "true"}),
            held("gone"),
            cluster("local-only", labels={"mine": "true"})]
    plan = ds.plan_source(desired, live, DIRECTORY)
    assert [ds.key_of(o) for o in plan["create"]] == [("", "new")]
    assert ds.is_held(plan["create"][0])
    assert [ds.key_of(u[1]) for u in plan["update"]] == [("", "relabelled")]
    assert plan["update"][0][2] == {"metadata": {"labels": {"stage": "staging", "old": None}}}
    assert [ds.key_of(o) for o in plan["delete"]] == [("", "gone")]
    assert plan["conflicts"] == [("", "clash")]
    assert plan["unchanged"] == [("", "same")]
    assert not ds.plan_is_empty(plan)


def test_server_fields_tool_annotations_and_status_are_no_difference():
    live = held("a", resourceVersion="42", uid="u", generation=3, managedFields=[{}], creationTimestamp="t")
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    live["status"] = {"anything": True}
    plan = ds.plan_source([cluster("a", labels={"stage": "production"})], [live], DIRECTORY)
    assert ds.plan_is_empty(plan) and plan["unchanged"] == [("", "a")]


def test_a_local_edit_of_a_held_cluster_is_reverted_and_another_directory_is_rewritten():
    live = held("a")
    live["metadata"]["labels"]["added-by-hand"] = "x"
    live["metadata"]["annotations"][ds.SYNCED_FROM_ANNOTATION] = "https://old-directory:6443"
    plan = ds.plan_source([cluster("a", labels={"stage": "production"})], [live], DIRECTORY)
    assert plan["update"][0][2] == {"metadata": {"labels": {"added-by-hand": None},
                                                 "annotations": {ds.SYNCED_FROM_ANNOTATION: DIRECTORY}}}


def test_an_empty_directory_deletes_only_what_the_syncer_made():
    plan = ds.plan_source([], [held("a"), cluster("b"), cluster("c", labels={ds.MANAGED_BY_LABEL: "helm"})],
                          DIRECTORY)
    assert [ds.key_of(o) for o in plan["delete"]] == [("", "a")]
    assert plan["create"] == plan["update"] == plan["conflicts"] == []


def test_counts_and_message_are_stable_across_runs():
    first = {"clusters": ds.plan_source([cluster("a"), cluster("b")], [cluster("b")], DIRECTORY)}
    again = {"clusters": {"create": [], "update": [], "delete": [], "conflicts": [("", "b")],
                          "unchanged": [("", "a")]}}
    assert ds.counts_of(first) == ds.counts_of(again) == {"clusters": {"desired": 2, "held": 1, "conflicts": 1}}
    message = ds.success_message(ds.SOURCES, first)
    assert message == ds.success_message(ds.SOURCES, again)
    assert message.startswith("1 Cluster in sync (1 conflict") and message.endswith("left alone: b)")


# --- pure: the status rule ---------------------------------------------------------------------------------

CORE = ds.status_core(DIRECTORY, "ok", "3 Clusters in sync", {"clusters": {"desired": 3, "held": 3, "conflicts": 0}})


def test_status_is_written_first_then_only_on_content_change_or_after_the_interval():
    first = ds.plan_status(None, CORE, T0)
    assert first == dict(CORE, lastAttempt=ds.iso_now(T0), lastSuccess=ds.iso_now(T0))
    assert ds.plan_status(first, CORE, T0 + 299, 300) is None
    heartbeat = ds.plan_status(first, CORE, T0 + 300, 300)
    assert heartbeat["lastAttempt"] == heartbeat["lastSuccess"] == ds.iso_now(T0 + 300)
    changed = ds.plan_status(first, dict(CORE, message="2 Clusters in sync"), T0 + 1, 300)
    assert changed["message"] == "2 Clusters in sync" and changed["lastAttempt"] == ds.iso_now(T0 + 1)
    assert ds.plan_status(first, CORE, T0, 0) is not None  # interval 0: every run
    assert ds.plan_status(dict(first, lastAttempt="garbage"), CORE, T0 + 1, 300) is not None
    assert ds.status_content_changed(first, CORE) is False
    assert ds.status_content_changed(first, dict(CORE, directory="https://other:6443")) is True


def test_a_failure_keeps_the_last_success():
    ok = ds.plan_status(None, CORE, T0)
    failed_core = ds.status_core(DIRECTORY, "failed", "refused", {})
    failed = ds.plan_status(ok, failed_core, T0 + 10)
    assert failed["result"] == "failed" and failed["lastSuccess"] == ds.iso_now(T0)
    assert failed["lastAttempt"] == ds.iso_now(T0 + 10)
    assert ds.plan_status(failed, failed_core, T0 + 20) is None
    assert ds.plan_status(None, failed_core, T0)["lastSuccess"] == ""


def test_time_round_trip():
    assert ds.parse_time(ds.iso_now(T0)) == T0
    assert ds.parse_time("yesterday") is None and ds.parse_time(None) is None


# --- pure: why the directory could not be read --------------------------------------------------------------

@pytest.mark.parametrize("exc, expected", [
    (ApiError(401, "Unauthorized", "Unauthorized"), "the directory refused the credential (HTTP 401 Unauthorized)"),
    (ApiError(403, "Forbidden", 'clusters is forbidden: User "x" cannot list resource "clusters"'),
     'the directory refused the credential (HTTP 403 Forbidden: clusters is forbidden: User "x" cannot list '
     'resource "clusters")'),
    (ApiError(404, "Not Found"), "the directory has no Cluster API (multicluster.coreos.com/v1): is the registry "
                                 "installed there?"),
    (ApiError(500, "Internal Server Error", "etcd is down"), "cannot read the directory: etcd is down"),
    (ConnectionRefusedError(111, "Connection refused"), "cannot connect to the API server: connection refused"),
])
def test_directory_reasons(exc, expected):
    assert ds.directory_reason(exc) == expected


# --- the credential in the replica's Secret ----------------------------------------------------------------

def test_read_credential_decodes_the_secret_or_says_what_is_missing():
    replica = FakeServer()
    client = FakeClient(replica, "east")
    with pytest.raises(MulticlusterError, match=r"read Secret tectonic-system/directory-sync on cluster 'east': it "
                                                r"does not exist; store .*mc_sync_secret"):
        ds.read_credential(client)
    replica.put("Secret", {"metadata": {"name": "directory-sync"}, "data": {"other": "eA=="}}, "tectonic-system")
    with pytest.raises(MulticlusterError, match="has no key 'kubeconfig'"):
        ds.read_credential(client)
    replica.put("Secret", {"metadata": {"name": "directory-sync"},
                           "data": {"kubeconfig": base64.b64encode(b"apiVersion: v1\n").decode()}},
                "tectonic-system")
    assert ds.read_credential(client) == "apiVersion: v1\n"
    replica.put("Secret", {"metadata": {"name": "directory-sync"}, "data": {"kubeconfig": "%%%not-base64"}},
                "tectonic-system")
    with pytest.raises(MulticlusterError, match="not base64-encoded"):
        ds.read_credential(client)


# --- whole syncs ---------------------------------------------------------------------------------------------

def test_first_sync_creates_everything_and_records_success():
    directory, replica = fleet("a", "b", "c"), FakeServer()
    result = run_sync(directory, replica)
    assert result["changed"] and result["created"] == ["a", "b", "c"]
    assert result["updated"] == result["deleted"] == result["conflicts"] == []
    assert sorted(replica.clusters()) == ["a", "b", "c"]
    copied = replica.clusters()["a"]
    assert copied["metadata"]["labels"] == dict({"stage": "production"}, **MANAGED)
    assert copied["metadata"]["annotations"] == {ds.SYNCED_FROM_ANNOTATION: DIRECTORY}
    assert copied["spec"] == directory.clusters()["a"]["spec"]
    data = replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]
    assert data["result"] == "ok" and data["directory"] == DIRECTORY and data["message"] == "3 Clusters in sync"
    assert data["lastSuccess"] == data["lastAttempt"] == ds.iso_now(T0)
    assert json.loads(data["counts"]) == {"clusters": {"conflicts": 0, "desired": 3, "held": 3}}
    assert result["status"]["written"] and result["status"]["changed"]
    assert result["resource_versions"] == {"clusters": str(directory.version)}
    assert set(result["diff"]["after"]["clusters"]) == {"a", "b", "c"}
    assert result["diff"]["before"]["clusters"] == {"a": None, "b": None, "c": None}
    assert directory.writes() == []  # pull-only: the directory is only read


def test_a_second_identical_sync_makes_no_write_request_and_reports_no_change():
    directory, replica = fleet("a", "b"), FakeServer()
    run_sync(directory, replica)
    replica.requests[:] = []
    again = run_sync(directory, replica, now=T0 + 60)
    assert not again["changed"] and not again["status"]["written"]
    assert again["created"] == again["updated"] == again["deleted"] == []
    assert again["diff"] == {"before": {}, "after": {}}
    assert replica.writes() == []
    assert [r[0] for r in replica.requests] == ["list", "get"]  # the replica's Clusters and the status


def test_after_the_status_interval_only_the_timestamps_are_refreshed_and_that_is_no_change():
    directory, replica = fleet("a"), FakeServer()
    run_sync(directory, replica)
    replica.requests[:] = []
    later = run_sync(directory, replica, now=T0 + 301, status_interval=300)
    assert not later["changed"] and later["status"]["written"] and not later["status"]["changed"]
    assert replica.writes() == [("patch", "ConfigMap", ds.STATUS_CONFIG_MAP, False)]
    data = replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]
    assert data["lastSuccess"] == ds.iso_now(T0 + 301)


def test_changes_in_the_directory_reach_the_replica_and_local_clusters_survive():
    directory, replica = fleet("a", "b", "c"), FakeServer()
    run_sync(directory, replica)
    replica.put("Cluster", cluster("local", labels={"made": "by-hand"}))
    replica.put("Cluster", cluster("d", labels={"made": "by-hand"}))
    relabelled = directory.get("Cluster", "a")
    relabelled["metadata"]["labels"]["stage"] = "staging"
    directory.put("Cluster", relabelled)
    del directory.objects[("Cluster", "", "b")]
    directory.put("Cluster", cluster("d", labels={"stage": "production"}))
    result = run_sync(directory, replica, now=T0 + 10)
    assert result["updated"] == ["a"] and result["deleted"] == ["b"] and result["conflicts"] == ["d"]
    assert result["created"] == []
    assert sorted(replica.clusters()) == ["a", "c", "d", "local"]
    assert replica.clusters()["a"]["metadata"]["labels"]["stage"] == "staging"
    assert replica.clusters()["d"]["metadata"]["labels"] == {"made": "by-hand"}
    assert result["diff"]["before"]["clusters"]["a"]["metadata"]["labels"]["stage"] == "production"
    assert result["diff"]["after"]["clusters"]["b"] is None
    data = replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]
    assert "conflict" in data["message"] and json.loads(data["counts"])["clusters"]["conflicts"] == 1
    replica.requests[:] = []
    assert not run_sync(directory, replica, now=T0 + 20)["changed"]
    assert replica.writes() == []


def test_check_mode_is_a_server_side_dry_run_and_records_nothing():
    directory, replica = fleet("a", "b"), FakeServer()
    replica.put("Cluster", held("old"))
    result = run_sync(directory, replica, check_mode=True)
    assert result["changed"] and result["created"] == ["a", "b"] and result["deleted"] == ["old"]
    assert sorted(replica.clusters()) == ["old"]
    assert all(r[-1] for r in replica.requests if r[0] in ("create", "patch", "delete"))
    assert replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE) is None
    assert result["status"]["written"] is False and result["status"]["changed"] is True


@pytest.mark.parametrize("error, reason", [
    (ApiError(401, "Unauthorized", "Unauthorized"), "the directory refused the credential (HTTP 401 Unauthorized)"),
    (ConnectionRefusedError(111, "Connection refused"), "cannot connect to the API server: connection refused"),
])
def test_when_the_directory_cannot_be_read_nothing_changes_and_the_failure_is_recorded(error, reason):
    directory, replica = fleet("a", "b"), FakeServer()
    run_sync(directory, replica)
    before = copy.deepcopy(replica.clusters())
    del directory.objects[("Cluster", "", "b")]  # would be a deletion, if the directory could be read
    directory.fail_list = error
    replica.requests[:] = []
    with pytest.raises(ds.DirectoryError) as err:
        run_sync(directory, replica, now=T0 + 5)
    assert str(err.value) == "sync Clusters from directory '%s' to cluster 'east': %s" % (DIRECTORY, reason)
    assert err.value.details["status_recorded"] is True
    assert replica.clusters() == before
    assert [w[1] for w in replica.writes()] == ["ConfigMap"]
    data = replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]
    assert data["result"] == "failed" and data["message"] == reason
    assert data["lastSuccess"] == ds.iso_now(T0) and data["lastAttempt"] == ds.iso_now(T0 + 5)
    assert json.loads(data["counts"]) == {"clusters": {"conflicts": 0, "desired": 2, "held": 2}}
    # the same failure again writes nothing
    replica.requests[:] = []
    with pytest.raises(ds.DirectoryError):
        run_sync(directory, replica, now=T0 + 6)
    assert replica.writes() == []


def test_a_failure_in_check_mode_is_not_recorded():
    directory, replica = fleet("a"), FakeServer()
    directory.fail_list = ApiError(403, "Forbidden", "forbidden")
    with pytest.raises(ds.DirectoryError) as err:
        run_sync(directory, replica, check_mode=True)
    assert err.value.details["status_recorded"] is False
    assert replica.writes() == [] and replica.objects == {}


def test_a_replica_without_the_cluster_api_is_reported_as_such():
    directory, replica = fleet("a"), FakeServer(crd=False)
    with pytest.raises(MulticlusterError, match="the multi-cluster registry is not installed on cluster 'east'"):
        run_sync(directory, replica)
    assert replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]["result"] == "failed"


def test_a_conflicting_write_is_retried_on_a_fresh_read():
    directory, replica = fleet("a"), FakeServer()
    run_sync(directory, replica)
    relabelled = directory.get("Cluster", "a")
    relabelled["metadata"]["labels"]["stage"] = "staging"
    directory.put("Cluster", relabelled)

    def concurrent_writer():
        obj = replica.get("Cluster", "a")
        obj["metadata"]["labels"]["touched"] = "yes"
        replica.put("Cluster", obj)
    replica.before_patch = concurrent_writer
    result = run_sync(directory, replica, now=T0 + 1)
    assert result["updated"] == ["a"]
    assert [r[0] for r in replica.requests if r[1] == "Cluster"][-3:] == ["patch", "get", "patch"]
    assert replica.clusters()["a"]["metadata"]["labels"] == dict({"stage": "staging"}, **MANAGED)


def test_a_cluster_that_appears_meanwhile_is_adopted_if_held_and_a_conflict_if_not():
    directory, replica = fleet("a", "b"), FakeServer()
    replica.before_create = lambda: (replica.put("Cluster", held("a", labels={"old": "x"})),
                                     replica.put("Cluster", cluster("b", labels={"made": "by-hand"})))
    result = run_sync(directory, replica)
    assert result["updated"] == ["a"] and result["conflicts"] == ["b"] and result["created"] == []
    assert replica.clusters()["a"]["metadata"]["labels"] == dict({"stage": "production"}, **MANAGED)
    assert replica.clusters()["b"]["metadata"]["labels"] == {"made": "by-hand"}
    assert result["counts"] == {"clusters": {"desired": 2, "held": 1, "conflicts": 1}}


def test_a_status_map_created_meanwhile_is_read_again_and_patched():
    directory, replica = fleet(), FakeServer()
    other = ds.desired_status_map(dict(ds.status_core(DIRECTORY, "failed", "by another syncer", {}),
                                       lastAttempt=ds.iso_now(T0 - 1), lastSuccess=""))
    replica.before_create = lambda: replica.put("ConfigMap", other, ds.STATUS_NAMESPACE)
    result = run_sync(directory, replica)
    assert result["status"]["written"]
    assert [r[:2] for r in replica.requests if r[1] == "ConfigMap"] == [
        ("get", "ConfigMap"), ("create", "ConfigMap"), ("get", "ConfigMap"), ("patch", "ConfigMap")]
    data = replica.get("ConfigMap", ds.STATUS_CONFIG_MAP, ds.STATUS_NAMESPACE)["data"]
    assert data["result"] == "ok" and data["message"] == "0 Clusters in sync"


def test_large_lists_are_read_in_pages():
    directory, replica = fleet(*["c%04d" % i for i in range(1200)]), FakeServer()
    result = run_sync(directory, replica)
    assert len(result["created"]) == 1200 and len(replica.clusters()) == 1200
    assert [r for r in directory.requests if r[0] == "list"] == [
        ("list", "Cluster", "", False), ("list", "Cluster", "500", False), ("list", "Cluster", "1000", False)]


def test_cancel_stops_between_writes():
    directory, replica = fleet("a", "b", "c"), FakeServer()
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1
    with pytest.raises(ds.Cancelled):
        run_sync(directory, replica, cancel=cancel)
    assert sorted(replica.clusters()) == ["a"]


# --- a second source: how Cluster policies will plug in ---------------------------------------------------------

class FakeRoleBindings(object):
    """A namespaced resource type on the replica, with the CustomResource interface."""

    kind = "RoleBinding"
    api_version = "rbac.authorization.k8s.io/v1"
    plural = "rolebindings"

    def __init__(self, log):
        self.objects = {}
        self.log = log

    def list(self, client):
        return [copy.deepcopy(o) for o in self.objects.values()], "1"

    def read(self, client, key):
        return copy.deepcopy(self.objects.get(key))

    def create(self, client, body):
        self.log.append(("create", ds.key_of(body)))
        self.objects[ds.key_of(body)] = copy.deepcopy(body)
        return body

    def patch(self, client, key, patch):
        self.log.append(("patch", key))
        self.objects[key] = apply_merge_patch(self.objects[key], patch)
        return self.objects[key]

    def delete(self, client, key):
        self.log.append(("delete", key))
        return self.objects.pop(key, None) is not None


class RoleBindingsForEveryCluster(object):
    """A toy policy: one RoleBinding per directory Cluster, in namespace 'fleet'."""

    name = "rolebindings"
    kind = "RoleBinding"
    reads = (ds.CLUSTERS,)

    def __init__(self, target):
        self.target = target

    def desired(self, snapshot, context):
        return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "view-" + c["metadata"]["name"], "namespace": "fleet"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "Group", "name": c["metadata"]["name"]}]} for c in snapshot[ds.CLUSTERS]]


def test_another_source_is_an_addition_deletes_run_in_reverse_order_and_the_directory_is_read_once():
    directory, replica = fleet("a", "b"), FakeServer()
    log = []
    bindings = RoleBindingsForEveryCluster(FakeRoleBindings(log))
    sources = (ds.ClusterSource(), bindings)
    result = run_sync(directory, replica, sources=sources)
    assert [r for r in directory.requests if r[0] == "list"] == [("list", "Cluster", "", False)]
    assert result["sources"]["rolebindings"]["created"] == ["fleet/view-a", "fleet/view-b"]
    assert result["counts"]["rolebindings"] == {"desired": 2, "held": 2, "conflicts": 0}
    assert ds.is_held(bindings.target.objects[("fleet", "view-a")])
    assert "2 RoleBindings in sync" in replica.get("ConfigMap", ds.STATUS_CONFIG_MAP,
                                                   ds.STATUS_NAMESPACE)["data"]["message"]

    del directory.objects[("Cluster", "", "b")]
    replica.requests[:] = []
    log[:] = []
    result = run_sync(directory, replica, sources=sources, now=T0 + 1)
    assert result["deleted"] == ["b"] and result["sources"]["rolebindings"]["deleted"] == ["fleet/view-b"]
    order = [r[:2] for r in replica.requests if r[0] == "delete"]
    assert log == [("delete", ("fleet", "view-b"))] and order == [("delete", "Cluster")]
    assert not run_sync(directory, replica, sources=sources, now=T0 + 2)["changed"]
