"""Pure logic of Cluster objects: validation, planning, patches, views."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils import cluster as mc
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

ENDPOINT = "https://east-api.example.com:443"


def live(name="east", labels=None, annotations=None, endpoints=(ENDPOINT,), rv="7"):
    meta = {"name": name, "resourceVersion": rv, "uid": "u-1", "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "x"}]}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": mc.API_VERSION, "kind": "Cluster", "metadata": meta,
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


@pytest.mark.parametrize("url", ["east-api.example.com:443", "ftp://x", "https://", "https:// x", ""])
def test_endpoint_without_scheme_or_host_is_refused(url):
    with pytest.raises(MulticlusterError, match="endpoint"):
        mc.validate(params(endpoints=[url]))


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


def test_plan_create_builds_the_contract_schema():
    after, patch = mc.plan(None, params(labels={"stage": "production"}, console_url="https://c.example.com",
                                        directory=True, endpoints=[ENDPOINT]))
    assert patch == after
    assert after["apiVersion"] == "multicluster.coreos.com/v1" and after["kind"] == "Cluster"
    assert after["spec"] == {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": ENDPOINT}]}}
    assert after["metadata"]["annotations"] == {mc.CONSOLE_ANNOTATION: "https://c.example.com",
                                                mc.DIRECTORY_ANNOTATION: "true"}


def test_plan_create_without_endpoints_is_refused():
    with pytest.raises(MulticlusterError, match="endpoints are needed"):
        mc.plan(None, params(labels={"a": "b"}))


def test_plan_same_state_is_no_change():
    existing = live(labels={"stage": "production"})
    after, patch = mc.plan(existing, params(labels={"stage": "production"}, endpoints=[ENDPOINT]))
    assert patch is None
    assert after == mc.normalise(existing)


def test_plan_merges_labels_unless_purged():
    existing = live(labels={"stage": "production", "team": "a"})
    _after, patch = mc.plan(existing, params(labels={"region": "us-east1"}))
    assert patch == {"metadata": {"labels": {"region": "us-east1"}}}
    _after, patch = mc.plan(existing, params(labels={"stage": "production"}, purge_labels=True))
    assert patch == {"metadata": {"labels": {"team": None}}}
    _after, patch = mc.plan(existing, params(labels={"team": None}))
    assert patch == {"metadata": {"labels": {"team": None}}}


def test_plan_directory_flag_and_console_url_removal():
    existing = live(annotations={mc.DIRECTORY_ANNOTATION: "true", mc.CONSOLE_ANNOTATION: "https://c"})
    _after, patch = mc.plan(existing, params(directory=False, console_url=""))
    assert patch == {"metadata": {"annotations": None}}
    _after, patch = mc.plan(existing, params(directory=None, console_url=None))
    assert patch is None


def test_plan_replaces_endpoints_and_keeps_fields_of_kept_entries():
    existing = live()
    existing["spec"]["KubernetesAPIEndpoints"]["ServerEndpoints"][0]["ClientCIDR"] = "0.0.0.0/0"
    after, patch = mc.plan(existing, params(endpoints=[ENDPOINT, "https://b.example.com"]))
    assert patch == {"spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [
        {"ServerAddress": ENDPOINT, "ClientCIDR": "0.0.0.0/0"}, {"ServerAddress": "https://b.example.com"}]}}}
    assert after["spec"]["KubernetesAPIEndpoints"]["ServerEndpoints"][1] == {"ServerAddress": "https://b.example.com"}


def test_normalise_drops_server_fields_only():
    norm = mc.normalise(live(labels={"a": "b"}))
    assert set(norm["metadata"]) == {"name", "labels"}
    assert norm["spec"] == live()["spec"]
    assert mc.normalise(None) is None


def test_merge_patch_nulls_removed_keys_and_recurses():
    before = {"a": 1, "b": {"c": 1, "d": 2}, "e": [1]}
    after = {"a": 1, "b": {"c": 2}, "e": [1, 2], "f": "new"}
    assert mc.merge_patch(before, after) == {"b": {"c": 2, "d": None}, "e": [1, 2], "f": "new"}
    assert mc.merge_patch(after, after) == {}


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
