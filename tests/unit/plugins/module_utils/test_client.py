"""ClusterClient, the one resource layer: verbs mapped through the kinds table
to HTTP methods and paths, timeouts and the deadline, retries, and error
wording (a fake transport at ClusterClient._send and a fake clock: no
network, no waiting)."""

import base64
import json

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.watch import Watch
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client as client_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare, kinds
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from tests.unit.utils.clock import Clock
from tests.unit.utils.fake_transport import FakeTransport, Response
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    AlreadyExistsError, ConflictError, MissingResourceTypeError, MulticlusterError)

CA_PEM = b"-----BEGIN CERTIFICATE-----\nRkFLRS1DQQ==\n-----END CERTIFICATE-----\n"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
SECRETS = "/api/v1/namespaces/ns/secrets"
CONFIGMAPS = "/api/v1/namespaces/ns/configmaps"
REGISTRY = "/apis/multicluster.coreos.com/v1"


def kubeconfig():
    return {"apiVersion": "v1", "kind": "Config", "current-context": "east",
            "clusters": [{"name": "east", "cluster": {"server": "https://east.example.com:6443",
                                                      "certificate-authority-data": base64.b64encode(CA_PEM).decode()}}],
            "users": [{"name": "admin", "user": {"token": "s3cr3t"}}],
            "contexts": [{"name": "east", "context": {"cluster": "east", "user": "admin"}}]}


def api_error(status, reason, body=None, headers=None):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if isinstance(body, dict) else body
    exc.headers = headers
    return exc


def not_found(name):
    return api_error(404, "Not Found", {"kind": "Status", "reason": "NotFound", "message": '"%s" not found' % name,
                                        "details": {"name": name, "kind": "secrets"}})


def timed_out():
    pool = HTTPSConnectionPool("east.example.com", 6443)
    return MaxRetryError(pool, "/api", ReadTimeoutError(pool, "/api", "Read timed out."))


@pytest.fixture
def clock():
    return Clock()


def make(clock, check_mode=False, timeout=30):
    """(client, transport): the real ClusterClient over a FakeTransport."""
    client = ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": timeout}, check_mode=check_mode,
                           sleep=clock.sleep, clock=clock)
    return client, FakeTransport().install(client)


def test_attributes(clock):
    client, dummy = make(clock)
    assert (client.label, client.server, client.timeout, client.check_mode) == \
        ("east", "https://east.example.com:6443", 30.0, False)
    assert client.ca_data() == CA_PEM


def test_request_timeout_must_be_positive():
    with pytest.raises(MulticlusterError, match="request_timeout must be a positive"):
        ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": -1})


CM = {"kind": "ConfigMap", "metadata": {"name": "m", "namespace": "ns"}}
NEW_CLUSTER = {"kind": "Cluster", "metadata": {"name": "e"}}
TOKEN_REQUEST = {"kind": "TokenRequest", "metadata": {"namespace": "ns"}}
TOKEN_REVIEW = {"kind": "TokenReview", "spec": {}}
SECRET_S = {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}


@pytest.mark.parametrize("call, method, path, body, content_type", [
    (lambda c: c.get("Secret", "x", "ns"), "GET", SECRETS + "/x", None, None),
    (lambda c: c.get("Namespace", "ns"), "GET", "/api/v1/namespaces/ns", None, None),
    (lambda c: c.get("ClusterRoleBinding", "b"), "GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/b",
     None, None),
    (lambda c: c.get("Cluster", "east"), "GET", REGISTRY + "/clusters/east", None, None),
    (lambda c: c.patch("Deployment", "d", {"spec": {}}, "ns", content_type=MERGE), "PATCH",
     "/apis/apps/v1/namespaces/ns/deployments/d",
     {"spec": {}}, MERGE),
    (lambda c: c.patch("Cluster", "east", {"spec": {}}, content_type=MERGE), "PATCH", REGISTRY + "/clusters/east",
     {"spec": {}}, MERGE),
    (lambda c: c.create(CM), "POST", CONFIGMAPS, CM, None),
    (lambda c: c.create(NEW_CLUSTER), "POST", REGISTRY + "/clusters", NEW_CLUSTER, None),
    (lambda c: c.create(TOKEN_REQUEST, parent="sa"), "POST", "/api/v1/namespaces/ns/serviceaccounts/sa/token",
     TOKEN_REQUEST, None),
    (lambda c: c.create(TOKEN_REVIEW), "POST", "/apis/authentication.k8s.io/v1/tokenreviews", TOKEN_REVIEW, None),
    (lambda c: c.replace(SECRET_S), "PUT", SECRETS + "/s", SECRET_S, None),
    (lambda c: c.delete("ServiceAccount", "sa", "ns"), "DELETE", "/api/v1/namespaces/ns/serviceaccounts/sa", None, None),
    (lambda c: c.delete("ClusterPolicy", "p"), "DELETE", REGISTRY + "/clusterpolicies/p", None, None),
], ids=["get-secret", "get-namespace", "get-crb", "get-cluster", "patch-deployment", "patch-cluster",
        "create-configmap", "create-cluster", "create-tokenrequest", "create-tokenreview", "replace-secret",
        "delete-sa", "delete-policy"])
def test_each_verb_is_the_http_method_and_path_the_kinds_table_gives(clock, call, method, path, body, content_type):
    client, transport = make(clock)
    call(client)
    assert len(transport.calls) == 1
    sent = transport.calls[0]
    assert (sent.method, sent.path, sent.query, sent.body, sent.content_type) == (method, path, {}, body, content_type)
    connect, read = sent.timeout
    assert connect == 10 and read == 30


@pytest.mark.parametrize("kind, path", [
    ("ConfigMap", CONFIGMAPS + "/m"),
    ("ServiceAccount", "/api/v1/namespaces/ns/serviceaccounts/m"),
    ("RoleBinding", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/m"),
    ("Deployment", "/apis/apps/v1/namespaces/ns/deployments/m"),
    ("Cluster", REGISTRY + "/clusters/m"),
    ("ClusterPolicy", REGISTRY + "/clusterpolicies/m"),
])
def test_a_patch_is_sent_as_the_content_type_it_was_computed_for(clock, kind, path):
    """compare computes RFC 7386 merge patches and says so (compare.MERGE_PATCH); the client sends what the
    caller names, for every kind."""
    client, transport = make(clock)
    client.patch(kind, "m", {"metadata": {"labels": {"a": "b"}}}, "ns", content_type=compare.MERGE_PATCH)
    assert transport.calls[0][:2] == ("PATCH", path) and transport.calls[0].content_type == MERGE
    if kinds.lookup(kind).builtin:
        client.patch(kind, "m", {"metadata": {"labels": {"a": "b"}}}, "ns", content_type=STRATEGIC)
        assert transport.calls[1].content_type == STRATEGIC


def test_a_patch_without_a_content_type_or_with_one_the_kind_cannot_take_is_refused_before_sending(clock):
    client, transport = make(clock)
    with pytest.raises(TypeError):
        client.patch("ConfigMap", "m", {}, "ns")  # pylint: disable=missing-kwoa
    with pytest.raises(ValueError, match="built-in kinds only, not Cluster"):
        client.patch("Cluster", "m", {}, content_type=STRATEGIC)
    with pytest.raises(ValueError, match="not one of"):
        client.patch("ConfigMap", "m", {}, "ns", content_type="application/json-patch+json")
    assert transport.calls == []


def test_writes_are_dry_runs_in_check_mode_and_reads_are_not(clock):
    client, transport = make(clock, check_mode=True)
    client.get("Secret", "x", "ns")
    client.list("Secret", "ns")
    client.create({"kind": "Secret", "metadata": {"name": "x", "namespace": "ns"}})
    client.patch("Secret", "x", {}, "ns", content_type=MERGE)
    client.replace({"kind": "Secret", "metadata": {"name": "x", "namespace": "ns"}})
    client.delete("Secret", "x", "ns")
    client.create({"kind": "TokenReview", "spec": {}})
    client.create({"kind": "TokenRequest", "metadata": {"namespace": "ns"}}, parent="sa")
    assert [(call.method, call.query.get("dry_run")) for call in transport.calls] == [
        ("GET", None), ("GET", None), ("POST", "All"), ("PATCH", "All"), ("PUT", "All"), ("DELETE", "All"),
        ("POST", None), ("POST", None)]
    assert "dry_run" not in transport.calls[-1].query and "dry_run" not in transport.calls[-2].query


def test_outside_check_mode_no_write_is_a_dry_run(clock):
    client, transport = make(clock)
    client.create({"kind": "Secret", "metadata": {"name": "x", "namespace": "ns"}})
    client.delete("Secret", "x", "ns")
    assert [call.query for call in transport.calls] == [{}, {}]


def test_results_are_the_servers_json_as_dicts(clock):
    client, transport = make(clock)
    transport.answer("GET", "/api/v1/namespaces/ns", {"metadata": {"name": "ns", "labels": {"a": "b"}}})
    assert client.get("Namespace", "ns") == {"metadata": {"name": "ns", "labels": {"a": "b"}}}
    assert transport.responses[0].released  # the connection goes back to the pool


def test_an_empty_body_is_an_empty_dict(clock):
    client, transport = make(clock)
    transport.answer("DELETE", SECRETS + "/x", Response())
    assert client.delete("Secret", "x", "ns") is True


def test_names_are_quoted_into_the_path(clock):
    client, transport = make(clock)
    client.get("ConfigMap", "a b/../c", "ns")
    client.delete("Cluster", "east?x=1")
    assert transport.requests() == [("GET", CONFIGMAPS + "/a%20b%2F..%2Fc"),
                                    ("DELETE", REGISTRY + "/clusters/east%3Fx%3D1")]


def test_get_of_an_absent_object_is_none_and_of_a_missing_type_an_error(clock):
    client, transport = make(clock)
    transport.answer("GET", SECRETS + "/x", not_found("x"))
    assert client.get("Secret", "x", "ns") is None
    transport.answer("GET", REGISTRY + "/clusterpolicies/p", api_error(404, "Not Found", "404 page not found"))
    with pytest.raises(MissingResourceTypeError) as raised:
        client.get("ClusterPolicy", "p")
    assert str(raised.value) == \
        "the multi-cluster registry is not installed on cluster 'east' (no ClusterPolicy API)"


def test_list_follows_continue_tokens_and_sorts(clock):
    client, transport = make(clock)
    transport.answer("GET", SECRETS,
                     {"metadata": {"continue": "t1", "resourceVersion": "5"}, "items": [{"metadata": {"name": "b"}}]},
                     {"metadata": {"resourceVersion": "6"}, "items": [{"metadata": {"name": "a"}}]})
    items, version = client.list("Secret", "ns", label_selector="app=x", field_selector="type=Opaque", page_size=1)
    assert [i["metadata"]["name"] for i in items] == ["a", "b"] and version == "6"
    first, second = transport.calls
    assert first.query == {"limit": 1, "label_selector": "app=x", "field_selector": "type=Opaque"}
    assert second.query == {"limit": 1, "label_selector": "app=x", "field_selector": "type=Opaque", "_continue": "t1"}


def test_list_of_a_namespaced_kind_in_every_namespace(clock):
    client, transport = make(clock)
    client.list("RoleBinding", label_selector="a=b")
    assert transport.requests() == [("GET", "/apis/rbac.authorization.k8s.io/v1/rolebindings")]
    assert transport.calls[0].query == {"limit": 500, "label_selector": "a=b"}


def test_the_query_names_reach_the_api_in_its_spelling(clock, monkeypatch):
    client = ClusterClient({"kubeconfig": kubeconfig()}, check_mode=True, sleep=clock.sleep, clock=clock)
    sent = []
    pages = [{"metadata": {"continue": "tok/1"}, "items": []}, {"items": []}]

    def api_request(api_client, method, path, query=(), body=None, content_type=None, timeout=None):
        sent.append((api_client, method, path, list(query), body, content_type, timeout))
        return Response(pages.pop(0) if pages else {})
    monkeypatch.setattr(client_mod, "api_request", api_request)
    client.list("Secret", "ns", label_selector="app=x", field_selector="type=Opaque", page_size=7)
    client.delete("Secret", "x", "ns")
    assert [(method, path, query) for dummy, method, path, query, _b, _c, _t in sent] == [
        ("GET", SECRETS, [("limit", 7), ("labelSelector", "app=x"), ("fieldSelector", "type=Opaque")]),
        ("GET", SECRETS, [("limit", 7), ("continue", "tok/1"), ("labelSelector", "app=x"),
                          ("fieldSelector", "type=Opaque")]),
        ("DELETE", SECRETS + "/x", [("dryRun", "All")])]
    assert all(call[0] is client.api_client for call in sent)
    del sent[:]
    client._send("GET", "/apis", {"watch": True, "allow_watch_bookmarks": False, "resource_version": "9",
                                  "timeout_seconds": 5}, timeout=(1, 2))
    assert sent[0][1:] == ("GET", "/apis", [("watch", "true"), ("allowWatchBookmarks", "false"),
                                            ("resourceVersion", "9"), ("timeoutSeconds", 5)], None, None, (1, 2))


def test_transient_errors_are_retried_within_the_deadline(clock):
    client, transport = make(clock)
    transport.answer("GET", SECRETS + "/x", api_error(503, "Service Unavailable"),
                     ProtocolError("reset", ConnectionResetError(104, "reset")), {"metadata": {"name": "x"}})
    assert client.get("Secret", "x", "ns") == {"metadata": {"name": "x"}}
    assert len(clock.sleeps) == 2 and len(transport.calls) == 3


def test_a_server_that_never_answers_fails_after_the_deadline_naming_cluster_call_and_time(clock):
    client, transport = make(clock, timeout=12)

    def hang(call):
        clock.now += call.timeout[1]  # the read timeout runs out
        return timed_out()
    transport.answer("GET", REGISTRY + "/clusters/us-east", hang)
    with pytest.raises(MulticlusterError) as raised:
        client.get("Cluster", "us-east")
    assert str(raised.value) == "read Cluster us-east on cluster 'east': the API server did not answer within 12 s"
    assert raised.value.cluster == "east" and clock.now <= 12.0 + 0.5


def test_each_try_gets_the_time_that_is_left_as_its_read_timeout(clock):
    client, transport = make(clock, timeout=20)
    transport.answer("GET", "/api/v1/namespaces/n", api_error(503, "x"), {"metadata": {"name": "n"}})
    clock.now = 0.0
    client.get("Namespace", "n")
    first, second = [call.timeout for call in transport.calls]
    assert first == (10, 20.0) and second[1] == pytest.approx(20.0 - clock.sleeps[0])


def test_a_single_write_does_not_retry_a_conflict_but_a_transaction_re_runs(clock):
    client, transport = make(clock)
    conflict = api_error(409, "Conflict", {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
    transport.answer("PATCH", CONFIGMAPS + "/m", conflict, {"metadata": {"name": "m"}})
    with pytest.raises(ConflictError):
        client.patch("ConfigMap", "m", {"metadata": {"resourceVersion": "1"}}, "ns", content_type=MERGE)
    assert len(transport.calls) == 1
    runs = []

    def read_modify_write():
        runs.append(1)
        return client.patch("ConfigMap", "m", {}, "ns", content_type=MERGE)
    transport.answer("PATCH", CONFIGMAPS + "/m", conflict, {"metadata": {"name": "m"}})
    assert client.transaction("update", "ConfigMap", "ns/m", read_modify_write) == {"metadata": {"name": "m"}}
    assert len(runs) == 2


def test_already_exists_is_its_own_error_and_create_or_get_reads_the_winner(clock):
    client, transport = make(clock)
    exists = api_error(409, "Conflict", {"kind": "Status", "reason": "AlreadyExists", "message": 'secrets "s" already exists'})
    transport.answer("POST", SECRETS, exists)
    transport.answer("GET", SECRETS + "/s", {"metadata": {"name": "s", "uid": "theirs"}})
    body = {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}
    with pytest.raises(AlreadyExistsError) as raised:
        client.create(body)
    assert str(raised.value) == "create Secret ns/s on cluster 'east': secrets \"s\" already exists"
    assert len(transport.calls) == 1  # not retried
    assert client.create_or_get(body) == ({"metadata": {"name": "s", "uid": "theirs"}}, False)
    assert transport.requests()[1:] == [("POST", SECRETS), ("GET", SECRETS + "/s")]


def test_create_or_get_of_a_new_object_creates_it(clock):
    client, transport = make(clock)
    transport.answer("POST", SECRETS, {"metadata": {"name": "s", "uid": "mine"}})
    assert client.create_or_get(SECRET_S) == ({"metadata": {"name": "s", "uid": "mine"}}, True)
    assert transport.requests() == [("POST", SECRETS)]


def test_delete_of_what_is_gone_is_false_and_after_a_lost_answer_true(clock):
    client, transport = make(clock)
    transport.answer("DELETE", SECRETS + "/s", not_found("s"))
    assert client.delete("Secret", "s", "ns") is False
    transport.answer("DELETE", SECRETS + "/s", ProtocolError("lost", ConnectionResetError(104, "reset")), not_found("s"))
    assert client.delete("Secret", "s", "ns") is True
    assert transport.requests() == [("DELETE", SECRETS + "/s")] * 3


def test_errors_read_action_kind_name_cluster_reason_without_secrets(clock):
    client, transport = make(clock)
    transport.answer("GET", SECRETS + "/x", api_error(
        403, "Forbidden", {"kind": "Status", "reason": "Forbidden", "message": "secrets \"x\" is forbidden"},
        headers={"Authorization": "Bearer s3cr3t"}))
    with pytest.raises(MulticlusterError) as raised:
        client.get("Secret", "x", "ns")
    assert str(raised.value) == "read Secret ns/x on cluster 'east': secrets \"x\" is forbidden"
    assert raised.value.details == {"status": 403}
    assert "s3cr3t" not in repr(raised.value.__dict__)


def test_a_probe_client_keeps_the_label_and_sends_only_the_token(clock):
    client, dummy = make(clock)
    probe = client.with_token("old-token", 5)
    assert probe.label == "east" and probe.timeout == 5.0
    assert probe.configuration.api_key["BearerToken"] == "Bearer old-token"
    assert probe.configuration.cert_file is None


def test_watch_streams_raw_objects_with_a_bounded_read(clock):
    """Through the real kubernetes Watch: it adds watch=true, reads the raw stream, closes it."""
    client, transport = make(clock)
    stream = Response(lines=[
        {"type": "ADDED", "object": {"metadata": {"name": "east", "resourceVersion": "9"}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "10"}}}])
    transport.answer("GET", REGISTRY + "/clusters", stream)
    events = list(client.watch("Cluster", "8", 60, Watch(), label_selector="a=b"))
    assert events == [("ADDED", {"metadata": {"name": "east", "resourceVersion": "9"}}),
                      ("BOOKMARK", {"metadata": {"resourceVersion": "10"}})]
    assert len(transport.calls) == 1  # a watch with a timeout is not resumed
    call = transport.calls[0]
    assert (call.method, call.path, call.body) == ("GET", REGISTRY + "/clusters", None)
    assert call.query == {"resource_version": "8", "timeout_seconds": 60, "allow_watch_bookmarks": True,
                          "label_selector": "a=b", "watch": True}
    assert call.timeout == (10, 90.0)
    assert stream.closed and stream.released


def test_a_watch_of_a_namespaced_kind_is_of_every_namespace(clock):
    client, transport = make(clock, timeout=5)
    seen = []

    class Stream:
        def stream(self, fn, *args, **kwargs):
            seen.append((args, dict(kwargs)))
            fn(*args, watch=True, _preload_content=False, **kwargs)
            yield {"type": "DELETED", "object": {"metadata": {"name": "s"}}}
    assert list(client.watch("Secret", "3", 30, Stream())) == [("DELETED", {"metadata": {"name": "s"}})]
    assert seen == [((), {"resource_version": "3", "timeout_seconds": 30, "allow_watch_bookmarks": True,
                          "_request_timeout": (5, 35)})]
    assert transport.requests() == [("GET", "/api/v1/secrets")] and transport.calls[0].timeout == (5, 35)


def test_the_calls_of_a_transaction_share_its_deadline(clock):
    """A slow server that answers each call just in time still ends the whole read-modify-write within request_timeout."""
    client, transport = make(clock, timeout=10)

    def slow(call):
        clock.now += 4
        return {"metadata": {"name": "m", "resourceVersion": "1"}}
    transport.answer("GET", CONFIGMAPS + "/m", slow)

    def three_reads():
        for dummy in range(3):
            client.get("ConfigMap", "m", "ns")
    client.transaction("update", "ConfigMap", "ns/m", three_reads)
    assert [call.timeout[1] for call in transport.calls] == [10, 6, 2]


def test_request_timeout_zero_is_refused_not_defaulted():
    with pytest.raises(MulticlusterError, match="request_timeout must be a positive number of seconds, not 0"):
        ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": 0})


# --- namespace_contents: discovery, then a paged list of each namespaced type ----------------------------

CORE_RESOURCES = {"resources": [
    {"name": "configmaps", "namespaced": True, "kind": "ConfigMap", "verbs": ["get", "list"]},
    {"name": "events", "namespaced": True, "kind": "Event", "verbs": ["get", "list"]},
    {"name": "pods/log", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"]},
    {"name": "namespaces", "namespaced": False, "kind": "Namespace", "verbs": ["get", "list"]},
    {"name": "bindings", "namespaced": True, "kind": "Binding", "verbs": ["create"]}]}
GROUPS = {"groups": [
    {"name": "apps", "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
    {"name": "events.k8s.io", "preferredVersion": {"version": "v1"}},
    {"name": "metrics.k8s.io", "preferredVersion": {"version": "v1beta1"}},
    {"name": "example.com", "preferredVersion": {"version": "v2"}}]}


def test_namespace_contents_discovers_the_namespaced_types_and_lists_each(clock):
    client, transport = make(clock)
    transport.answer("GET", "/api/v1", CORE_RESOURCES)
    transport.answer("GET", "/apis", GROUPS)
    transport.answer("GET", "/apis/apps/v1", {"resources": [
        {"name": "deployments", "namespaced": True, "kind": "Deployment", "verbs": ["list", "watch"]}]})
    transport.answer("GET", "/apis/example.com/v2", {"resources": [
        {"name": "widgets", "namespaced": True, "kind": "Widget", "verbs": ["list"]},
        {"name": "gadgets", "namespaced": False, "kind": "Gadget", "verbs": ["list"]}]})
    transport.answer("GET", "/api/v1/namespaces/team/configmaps",
                     {"metadata": {"continue": "c1"}, "items": [{"metadata": {"name": "a"}}]},
                     {"items": [{"metadata": {"name": "b"}}]})
    transport.answer("GET", "/apis/apps/v1/namespaces/team/deployments", {"items": [{"metadata": {"name": "d"}}]})
    transport.answer("GET", "/apis/example.com/v2/namespaces/team/widgets", {"items": []})
    found = client.namespace_contents("team")
    assert found == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
                     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
                     {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}]
    assert transport.requests() == [
        ("GET", "/api/v1"), ("GET", "/apis"), ("GET", "/apis/apps/v1"), ("GET", "/apis/example.com/v2"),
        ("GET", "/api/v1/namespaces/team/configmaps"), ("GET", "/api/v1/namespaces/team/configmaps"),
        ("GET", "/apis/apps/v1/namespaces/team/deployments"), ("GET", "/apis/example.com/v2/namespaces/team/widgets")]
    lists = transport.calls[4:]
    assert [call.query for call in lists] == [{"limit": 500}, {"limit": 500, "_continue": "c1"}, {"limit": 500},
                                              {"limit": 500}]
    assert all(call.query == {} for call in transport.calls[:4])


def test_namespace_contents_fails_when_a_type_cannot_be_listed(clock):
    client, transport = make(clock)
    transport.answer("GET", "/api/v1", CORE_RESOURCES)
    transport.answer("GET", "/apis", {"groups": []})
    transport.answer("GET", "/api/v1/namespaces/team/configmaps", api_error(
        403, "Forbidden", {"kind": "Status", "reason": "Forbidden", "message": "configmaps is forbidden"}))
    with pytest.raises(MulticlusterError) as raised:
        client.namespace_contents("team")
    assert "configmaps in namespace team" in str(raised.value) and "configmaps is forbidden" in str(raised.value)
    assert raised.value.cluster == "east" and raised.value.details["status"] == 403
