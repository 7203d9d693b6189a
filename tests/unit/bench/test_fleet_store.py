"""The fleet benchmark's in-memory replica (tests/bench/fleet_store.py): it must answer as an API server does for
what the agent asks, or the benchmark measures something else."""

import json

import pytest

from tests.bench import fleet_store as fs

CLUSTERS = "/apis/multicluster.coreos.com/v1/clusters"
CONFIGMAPS = "/api/v1/namespaces/tectonic-system/configmaps"


def resources():
    return fs.Resources([("multicluster.coreos.com/v1", "clusters", "Cluster", False),
                         ("v1", "configmaps", "ConfigMap", True)],
                        [("multicluster.coreos.com/v1", "clusters", "status")])


def cluster(name, **labels):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": labels, "resourceVersion": "7"}, "spec": {"a": 1}}


def body(response):
    return json.loads(response.data)


def make(objects=(), **kwargs):
    return fs.Replica(fs.Base(resources(), [json.loads(json.dumps(o)) for o in objects]), **kwargs)


def test_paths():
    assert fs.parse_path(CLUSTERS + "/x/status") == ("multicluster.coreos.com/v1", "clusters", None, "x", "status")
    assert fs.parse_path(CONFIGMAPS + "/y") == ("v1", "configmaps", "tectonic-system", "y", None)
    assert fs.parse_path("/api/v1/namespaces/foo") == ("v1", "namespaces", None, "foo", None)
    assert fs.parse_path("/healthz") is None


def test_selectors():
    requirements = fs.parse_label_selector("a=1,b!=2,c in (x, y),!d,e")
    assert fs.labels_match(requirements, {"a": "1", "c": "y", "e": ""})
    assert not fs.labels_match(requirements, {"a": "1", "c": "y", "e": "", "d": "z"})
    assert not fs.labels_match(requirements, {"a": "1", "b": "2", "c": "x", "e": ""})
    assert not fs.labels_match(requirements, {"a": "1", "c": "z", "e": ""})
    with pytest.raises(ValueError):
        fs.parse_field_selector("spec.x=1")


def test_merge_patch_is_rfc7386():
    target = {"a": {"b": 1, "c": 2}, "d": [1, 2]}
    assert fs.merge_patch(target, {"a": {"b": None, "e": 3}, "d": [3]}) == {"a": {"c": 2, "e": 3}, "d": [3]}
    assert target == {"a": {"b": 1, "c": 2}, "d": [1, 2]}


def test_list_pages_with_selector_and_continue():
    store = make([cluster("c%02d" % i, parity=str(i % 2)) for i in range(10)])
    names, token, pages = [], None, 0
    while True:
        query = {"limit": 2, "label_selector": "parity=0"}
        if token:
            query["_continue"] = token
        page = body(store.serve("GET", CLUSTERS, query))
        pages += 1
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == ["c00", "c02", "c04", "c06", "c08"]
    assert pages >= 3
    assert store.verbs == {"LIST": pages}


def test_writes_are_the_replicas_own():
    base_objects = [cluster("a"), cluster("b")]
    base = fs.Base(resources(), base_objects)
    seen = []
    one = fs.Replica(base, on_write=lambda replica, key, obj: seen.append((key[3], obj and obj["metadata"]["labels"])))
    two = fs.Replica(base)
    created = body(one.serve("POST", CLUSTERS, body=cluster("c")))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"] == "8"
    with pytest.raises(fs.StoreError) as exc:
        one.serve("POST", CLUSTERS, body=cluster("c"))
    assert exc.value.status == 409 and "AlreadyExists" in exc.value.body
    one.serve("DELETE", CLUSTERS + "/a")
    assert [o["metadata"]["name"] for o in one.objects()] == ["b", "c"]
    assert [o["metadata"]["name"] for o in two.objects()] == ["a", "b"]
    with pytest.raises(fs.StoreError) as exc:
        one.serve("GET", CLUSTERS + "/a")
    assert exc.value.status == 404 and json.loads(exc.value.body)["reason"] == "NotFound"
    assert seen == [("c", {}), ("a", None)]


def test_patch_guard_no_op_and_status():
    store = make([cluster("a", x="1")])
    with pytest.raises(fs.StoreError) as exc:
        store.serve("PATCH", CLUSTERS + "/a", body={"metadata": {"resourceVersion": "6", "labels": {"x": "2"}}},
                    content_type=fs.MERGE_PATCH)
    assert exc.value.status == 409
    same = body(store.serve("PATCH", CLUSTERS + "/a", body={"metadata": {"labels": {"x": "1"}}},
                            content_type=fs.MERGE_PATCH))
    assert same["metadata"]["resourceVersion"] == "7" and not store.overlay
    changed = body(store.serve("PATCH", CLUSTERS + "/a", body={"metadata": {"resourceVersion": "7", "labels": {
        "x": None, "y": "2"}}, "status": {"ignored": True}}, content_type=fs.MERGE_PATCH))
    assert changed["metadata"]["labels"] == {"y": "2"} and changed["metadata"]["resourceVersion"] == "8"
    assert "status" not in changed
    status = body(store.serve("PATCH", CLUSTERS + "/a/status", body={"status": {"ok": True}, "spec": {"a": 9}},
                              content_type=fs.MERGE_PATCH))
    assert status["status"] == {"ok": True} and status["spec"] == {"a": 1}
    with pytest.raises(fs.StoreError) as exc:
        store.serve("PATCH", CLUSTERS + "/a", body={}, content_type="application/json-patch+json")
    assert exc.value.status == 415


def test_replace_and_missing_types():
    store = make([cluster("a")])
    with pytest.raises(fs.StoreError) as exc:
        store.serve("PUT", CLUSTERS + "/a", body=dict(cluster("a"), metadata={"name": "a", "resourceVersion": "1"}))
    assert exc.value.status == 409
    put = body(store.serve("PUT", CLUSTERS + "/a", body=dict(cluster("a"), spec={"b": 2})))
    assert put["spec"] == {"b": 2} and put["metadata"]["resourceVersion"] == "8"
    with pytest.raises(fs.StoreError) as exc:
        store.serve("GET", "/apis/apps/v1/namespaces/x/deployments")
    assert exc.value.status == 404 and not exc.value.body.startswith("{")  # a missing type, not an object


def test_namespaced_objects_and_dump(tmp_path):
    store = make()
    store.serve("POST", CONFIGMAPS, body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"},
                                          "data": {"k": "v"}})
    assert body(store.serve("GET", CONFIGMAPS + "/s"))["metadata"]["namespace"] == "tectonic-system"
    assert [i["metadata"]["name"] for i in body(store.serve("GET", "/api/v1/configmaps", {}))["items"]] == ["s"]
    assert body(store.serve("GET", "/api/v1/namespaces/other/configmaps", {}))["items"] == []
    path = str(tmp_path / "base")
    store.dump(path)
    again = fs.Replica(fs.Base.load(resources(), path))
    assert body(again.serve("GET", CONFIGMAPS + "/s"))["data"] == {"k": "v"}
    assert again.version == store.version
