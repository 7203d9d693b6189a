"""Pure logic of Cluster objects: validation, planning, patches, views."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import cluster as mc
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster

ENDPOINT = "https://east-api.example.com:443"


def live(name="east", labels=None, annotations=None, endpoints=(ENDPOINT,), rv="7"):
    meta = {"name": name, "resourceVersion": rv, "uid": "u-1", "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "x"}]}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": CLUSTER.api_version, "kind": "Cluster", "metadata": meta,
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": e} for e in endpoints]}}}


def params(**kw):
    base = {"name": "east", "state": "present", "labels": None, "purge_labels": False,
            "console_url": None, "directory": None, "endpoints": None}
    base.update(kw)
    return base


@pytest.mark.parametrize("name", ["", "East", "-east", "east-", "e_st", "a" * 64, "east.coast", None])
def test_bad_names_are_refused(name):
    with pytest.raises(MulticlusterError, match="DNS-1123"):
        mc.validate(params(name=name))


@pytest.mark.parametrize("name", ["e", "east", "east-coast-production", "a" * 63, "0x"])
def test_good_names_pass(name):
    assert mc.validate(params(name=name))["name"] == name


@pytest.mark.parametrize("url", ["east-api.example.com:443", "ftp://x", "https://", "https:// x", "",
                                 "https://east-api.example.com@attacker.example.net", "https://east\n"])
def test_endpoint_without_scheme_or_host_is_refused(url):
    with pytest.raises(MulticlusterError, match="endpoint of Cluster east: .* is not an https:// URL"):
        mc.validate(params(endpoints=[url]))


@pytest.mark.parametrize("option, value", [("endpoints", [ENDPOINT, "http://east-api.example.com:8080"]),
                                           ("console_url", "http://east.console.example.com")])
def test_plain_http_is_refused_naming_the_cluster_and_the_option(option, value):
    """mc_cluster and mc_replica_onboarding validate before they read or write anything (cluster.validate)."""
    with pytest.raises(MulticlusterError) as err:
        mc.validate(params(**{option: value}))
    what = "endpoint" if option == "endpoints" else "console_url"
    assert str(err.value).startswith("%s of Cluster east: 'http://east" % what)
    assert "is plain http://" in str(err.value) and "clear text" in str(err.value)


def test_an_http_endpoint_is_refused_before_any_request():
    directory = FakeCluster(label="west")
    with pytest.raises(MulticlusterError, match="plain http://"):
        mc.ensure_present(directory, params(endpoints=["http://east-api.example.com:8080"]))
    assert directory.requests == [] and directory.writes == []


def test_address_problems_name_every_address_that_is_not_https():
    view = mc.flat_view(live(endpoints=("http://a.example.com", ENDPOINT, "https://b.example.com@c"),
                             annotations={mc.CONSOLE_ANNOTATION: "http://console.example.com"}))
    found = mc.address_problems(view)
    assert [p.split(" is ")[0] for p in found["endpoints"]] == [
        "Cluster east: API endpoint 'http://a.example.com'", "Cluster east: API endpoint 'https://b.example.com@c'"]
    assert found["console_url"].startswith("Cluster east: console URL 'http://console.example.com' is plain http://")
    assert mc.address_problems(mc.flat_view(live())) == {"endpoints": [], "console_url": None}


def test_empty_endpoint_list_is_refused():
    with pytest.raises(MulticlusterError, match="endpoints is empty"):
        mc.validate(params(endpoints=[]))


def test_bad_console_url_and_labels_are_refused():
    with pytest.raises(MulticlusterError, match="console_url"):
        mc.validate(params(console_url="console.example.com"))
    with pytest.raises(MulticlusterError, match="label key"):
        mc.validate(params(labels={"bad key": "x"}))
    with pytest.raises(MulticlusterError, match="invalid value"):
        mc.validate(params(labels={"stage": "not ok!"}))


def test_absent_needs_only_a_good_name():
    assert mc.validate(params(state="absent", endpoints=[]))["state"] == "absent"


def plan(existing, p):
    """(verb, body) of what the module would write, the resourceVersion guard aside; None for no change."""
    action = compare.plan(mc.desired(existing, p), existing)
    if action is None:
        return None
    verb, body = action
    if verb == compare.PATCH:
        assert body["metadata"].pop("resourceVersion") == existing["metadata"]["resourceVersion"]
        if not body["metadata"]:
            del body["metadata"]
    return verb, body


def test_plan_create_builds_the_contract_schema():
    verb, body = plan(None, params(labels={"stage": "production"}, console_url="https://c.example.com",
                                   directory=True, endpoints=[ENDPOINT]))
    assert verb == compare.CREATE
    assert body["apiVersion"] == "multicluster.coreos.com/v1" and body["kind"] == "Cluster"
    assert body["spec"] == {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": ENDPOINT}]}}
    assert body["metadata"]["annotations"] == {mc.CONSOLE_ANNOTATION: "https://c.example.com",
                                               mc.DIRECTORY_ANNOTATION: "true"}


def test_plan_create_without_endpoints_is_refused():
    with pytest.raises(MulticlusterError, match="endpoints are needed"):
        mc.desired(None, params(labels={"a": "b"}))


def test_plan_same_state_is_no_change():
    existing = live(labels={"stage": "production"})
    assert plan(existing, params(labels={"stage": "production"}, endpoints=[ENDPOINT])) is None


def test_labels_and_annotations_other_tools_add_are_no_change():
    existing = live(labels={"stage": "production", "argocd.argoproj.io/instance": "fleet"},
                    annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "x"})
    assert plan(existing, params(labels={"stage": "production"}, endpoints=[ENDPOINT])) is None


def test_plan_merges_labels_unless_purged():
    existing = live(labels={"stage": "production", "team": "a"})
    assert plan(existing, params(labels={"region": "us-east1"})) == \
        (compare.PATCH, {"metadata": {"labels": {"region": "us-east1"}}})
    assert plan(existing, params(labels={"stage": "production"}, purge_labels=True)) == \
        (compare.PATCH, {"metadata": {"labels": {"team": None}}})
    assert plan(existing, params(labels={"team": None})) == (compare.PATCH, {"metadata": {"labels": {"team": None}}})


def test_plan_directory_flag_and_console_url_removal():
    existing = live(annotations={mc.DIRECTORY_ANNOTATION: "true", mc.CONSOLE_ANNOTATION: "https://c"})
    assert plan(existing, params(directory=False, console_url="")) == \
        (compare.PATCH, {"metadata": {"annotations": {mc.DIRECTORY_ANNOTATION: None, mc.CONSOLE_ANNOTATION: None}}})
    assert plan(existing, params(directory=None, console_url=None)) is None


def test_plan_replaces_endpoints_and_keeps_fields_of_kept_entries():
    existing = live()
    existing["spec"]["KubernetesAPIEndpoints"]["ServerEndpoints"][0]["ClientCIDR"] = "0.0.0.0/0"
    assert plan(existing, params(endpoints=[ENDPOINT, "https://b.example.com"])) == (compare.PATCH, {
        "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [
            {"ServerAddress": ENDPOINT, "ClientCIDR": "0.0.0.0/0"}, {"ServerAddress": "https://b.example.com"}]}}})


def test_flat_view():
    view = mc.flat_view(live(labels={"role": "replica"}, annotations={mc.UID_ANNOTATION: "u"}))
    assert view == {"name": "east", "labels": {"role": "replica"}, "console_url": None, "directory": False,
                    "endpoints": [ENDPOINT], "server": ENDPOINT, "kube_system_uid": "u"}
    assert mc.flat_view({"metadata": {"name": "x"}})["server"] is None


def test_other_directory_and_same_uid():
    objs = [live("west", annotations={mc.DIRECTORY_ANNOTATION: "true", mc.UID_ANNOTATION: "u-w"}), live("east")]
    assert mc.other_directory(objs, "east") == "west"
    assert mc.other_directory(objs, "west") is None
    assert mc.same_uid_elsewhere(objs, "central", "u-w") == "west"
    assert mc.same_uid_elsewhere(objs, "west", "u-w") is None


# --- applying, on an in-memory directory ---------------------------------------------------------

def identity_cluster(installed_as="east", uid="uid-east"):
    target = FakeCluster(label="east")
    target.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": names.CLUSTER_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE},
                "data": {names.CLUSTER_NAME_KEY: installed_as}})
    target.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "uid": uid}})
    return target


def test_register_then_rerun_writes_nothing_and_records_the_uid():
    directory = FakeCluster(label="west")
    first = mc.ensure_present(directory, params(labels={"stage": "production"}, endpoints=[ENDPOINT]), identity_cluster())
    assert first["changed"] and first["cluster"]["kube_system_uid"] == "uid-east"
    writes = list(directory.writes)
    second = mc.ensure_present(directory, params(labels={"stage": "production"}, endpoints=[ENDPOINT]), identity_cluster())
    assert not second["changed"] and directory.writes == writes


def test_a_cluster_installed_under_another_name_is_refused_before_any_write():
    directory = FakeCluster(label="west")
    with pytest.raises(MulticlusterError, match="was installed as 'central'"):
        mc.ensure_present(directory, params(endpoints=[ENDPOINT]), identity_cluster("central"))
    assert directory.writes == []


def test_one_directory_and_one_name_per_cluster():
    directory = FakeCluster(label="west")
    directory.add(live("west", annotations={mc.DIRECTORY_ANNOTATION: "true", mc.UID_ANNOTATION: "uid-east"}))
    with pytest.raises(MulticlusterError, match="Cluster west already has the"):
        mc.ensure_present(directory, params(directory=True, endpoints=[ENDPOINT]))
    with pytest.raises(MulticlusterError, match="already registered as Cluster west"):
        mc.ensure_present(directory, params(endpoints=[ENDPOINT]), identity_cluster())
    assert directory.writes == []


def test_deregister_and_again_is_no_change_and_info_lists_by_selector():
    directory = FakeCluster()
    directory.add(live("east", labels={"stage": "production"}))
    directory.add(live("west", labels={"stage": "dev"}))
    assert [c["name"] for c in mc.info(directory)["fleet"]] == ["east", "west"]
    assert [c["name"] for c in mc.info(directory, label_selector="stage=dev")["fleet"]] == ["west"]
    assert mc.ensure_absent(directory, "east")["changed"]
    assert not mc.ensure_absent(directory, "east")["changed"]
    assert mc.info(directory, name="east")["clusters"] == []


# --- health: the heartbeat Lease and the conditions, read with the Clusters ------------------------------------

NOW = 1796000000.0


def test_info_gives_each_clusters_health_from_its_lease_and_conditions_in_one_list_of_leases():
    from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
    directory = FakeCluster()
    synced = live("east")
    synced["status"] = {"conditions": [{"type": "Synced", "status": "True", "reason": "InSync", "message": "ok",
                                        "lastTransitionTime": "2026-12-07T00:00:00Z"}],
                        "policiesApplied": "1/1", "kubernetesVersion": "v1.31.2", "agentVersion": "1.4.0"}
    directory.add(synced)
    directory.add(live("west"))
    directory.add(live("hub", annotations={mc.DIRECTORY_ANNOTATION: "true"}))
    for name, ago in (("east", 30), ("west", 400)):
        directory.add({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"name": name, "namespace": names.HEARTBEAT_NAMESPACE},
                       "spec": {"leaseDurationSeconds": 60, "renewTime": health.micro_time(NOW - ago)}})
    directory.requests.clear()
    fleet = dict((c["name"], c) for c in mc.info(directory, now=NOW)["fleet"])
    assert [r[:2] for r in directory.requests] == [("list", "Cluster"), ("list", "Lease")]
    assert fleet["east"]["available"] is True and fleet["east"]["heartbeat_age"] == 30
    assert (fleet["east"]["synced"], fleet["east"]["policies_applied"], fleet["east"]["kubernetes_version"]) == (
        "True", "1/1", "v1.31.2")
    assert fleet["west"]["available"] is False and "no heartbeat for 400s" in fleet["west"]["heartbeat"]
    assert fleet["west"]["synced"] is None
    assert fleet["hub"]["available"] is None and "directory" in fleet["hub"]["heartbeat"]
    one = mc.info(directory, name="east", now=NOW)["fleet"]
    assert [c["available"] for c in one] == [True]


def test_leases_that_cannot_be_read_make_availability_unknown_not_false():
    directory = FakeCluster()
    directory.add(live("east"))
    directory.failures[("list", "Lease")] = MulticlusterError("list Lease on cluster 'fake': 403 Forbidden")
    east = mc.info(directory, now=NOW)["fleet"][0]
    assert east["available"] is None and east["heartbeat"] == "not known: list Lease on cluster 'fake': 403 Forbidden"
