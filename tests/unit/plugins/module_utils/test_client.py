"""ClusterClient, the one resource layer: verbs mapped through the kinds table,
timeouts and the deadline, retries, and error wording (fake API objects and a
fake clock: no network, no waiting)."""

import base64
import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

from ansible_collections.coreos.multicluster.plugins.module_utils.client import ClusterClient
from tests.unit.utils.clock import Clock
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import (
    AlreadyExistsError, ConflictError, MissingResourceTypeError, MulticlusterError)

CA_PEM = b"-----BEGIN CERTIFICATE-----\nRkFLRS1DQQ==\n-----END CERTIFICATE-----\n"


def kubeconfig():
    return {"apiVersion": "v1", "kind": "Config", "current-context": "east",
            "clusters": [{"name": "east", "cluster": {"server": "https://east.example.com:6443",
                                                      "certificate-authority-data": base64.b64encode(CA_PEM).decode()}}],
            "users": [{"name": "admin", "user": {"token": "s3cr3t"}}],
            "contexts": [{"name": "east", "context": {"cluster": "east", "user": "admin"}}]}


class Response:
    def __init__(self, body):
        self.data = json.dumps(body).encode()
        self.released = False

    def release_conn(self):
        self.released = True


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


class FakeApi:
    """Any generated API class: records (method, args, kwargs); answers from .answers."""

    def __init__(self):
        self.calls = []
        self.answers = {}  # method name -> list of results or exceptions (the last one repeats)

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            self.calls.append((method, args, kwargs))
            queue = self.answers.get(method) or [{"kind": "Status"}]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(answer, BaseException):
                raise answer
            return Response(answer)
        return call


@pytest.fixture
def clock():
    return Clock()


def make(clock, check_mode=False, timeout=30):
    client = ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": timeout}, check_mode=check_mode,
                           sleep=clock.sleep, clock=clock)
    apis = {}

    def api(name):
        return apis.setdefault(name, FakeApi())
    client._api = api
    client.apis = apis
    return client


def test_attributes(clock):
    client = make(clock)
    assert (client.label, client.server, client.timeout, client.check_mode) == \
        ("east", "https://east.example.com:6443", 30.0, False)
    assert client.ca_data() == CA_PEM


def test_request_timeout_must_be_positive():
    with pytest.raises(MulticlusterError, match="request_timeout must be a positive"):
        ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": -1})


@pytest.mark.parametrize("call, api, method, args", [
    (lambda c: c.get("Secret", "x", "ns"), "CoreV1Api", "read_namespaced_secret", ("x", "ns")),
    (lambda c: c.get("Namespace", "ns"), "CoreV1Api", "read_namespace", ("ns",)),
    (lambda c: c.get("ClusterRoleBinding", "b"), "RbacAuthorizationV1Api", "read_cluster_role_binding", ("b",)),
    (lambda c: c.get("Cluster", "east"), "CustomObjectsApi", "get_cluster_custom_object",
     ("multicluster.coreos.com", "v1", "clusters", "east")),
    (lambda c: c.patch("Deployment", "d", {"spec": {}}, "ns"), "AppsV1Api", "patch_namespaced_deployment",
     ("d", "ns", {"spec": {}})),
    (lambda c: c.patch("Cluster", "east", {"spec": {}}), "CustomObjectsApi", "patch_cluster_custom_object",
     ("multicluster.coreos.com", "v1", "clusters", "east", {"spec": {}})),
    (lambda c: c.create({"kind": "ConfigMap", "metadata": {"name": "m", "namespace": "ns"}}), "CoreV1Api",
     "create_namespaced_config_map", ("ns", {"kind": "ConfigMap", "metadata": {"name": "m", "namespace": "ns"}})),
    (lambda c: c.create({"kind": "Cluster", "metadata": {"name": "e"}}), "CustomObjectsApi",
     "create_cluster_custom_object",
     ("multicluster.coreos.com", "v1", "clusters", {"kind": "Cluster", "metadata": {"name": "e"}})),
    (lambda c: c.create({"kind": "TokenRequest", "metadata": {"namespace": "ns"}}, parent="sa"), "CoreV1Api",
     "create_namespaced_service_account_token", ("sa", "ns", {"kind": "TokenRequest", "metadata": {"namespace": "ns"}})),
    (lambda c: c.create({"kind": "TokenReview", "spec": {}}), "AuthenticationV1Api", "create_token_review",
     ({"kind": "TokenReview", "spec": {}},)),
    (lambda c: c.replace({"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}), "CoreV1Api",
     "replace_namespaced_secret", ("s", "ns", {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}})),
    (lambda c: c.delete("ServiceAccount", "sa", "ns"), "CoreV1Api", "delete_namespaced_service_account", ("sa", "ns")),
    (lambda c: c.delete("ClusterPolicy", "p"), "CustomObjectsApi", "delete_cluster_custom_object",
     ("multicluster.coreos.com", "v1", "clusterpolicies", "p")),
])
def test_each_verb_reaches_the_method_the_kinds_table_names(clock, call, api, method, args):
    client = make(clock)
    call(client)
    name, called, kwargs = client.apis[api].calls[0]
    assert (name, called) == (method, args)
    assert kwargs["_preload_content"] is False
    connect, read = kwargs["_request_timeout"]
    assert connect == 10 and read == 30


def test_writes_are_dry_runs_in_check_mode_and_reads_are_not(clock):
    client = make(clock, check_mode=True)
    client.get("Secret", "x", "ns")
    client.create({"kind": "Secret", "metadata": {"name": "x", "namespace": "ns"}})
    client.patch("Secret", "x", {}, "ns")
    client.delete("Secret", "x", "ns")
    client.create({"kind": "TokenReview", "spec": {}})
    calls = client.apis["CoreV1Api"].calls
    assert "dry_run" not in calls[0][2]
    assert [kwargs.get("dry_run") for _n, _a, kwargs in calls[1:]] == ["All", "All", "All"]
    assert "dry_run" not in client.apis["AuthenticationV1Api"].calls[0][2]


def test_results_are_the_servers_json_as_dicts(clock):
    client = make(clock)
    client._api("CoreV1Api").answers["read_namespace"] = [{"metadata": {"name": "ns", "labels": {"a": "b"}}}]
    assert client.get("Namespace", "ns") == {"metadata": {"name": "ns", "labels": {"a": "b"}}}


def test_get_of_an_absent_object_is_none_and_of_a_missing_type_an_error(clock):
    client = make(clock)
    client._api("CoreV1Api").answers["read_namespaced_secret"] = [not_found("x")]
    assert client.get("Secret", "x", "ns") is None
    client._api("CustomObjectsApi").answers["get_cluster_custom_object"] = [
        api_error(404, "Not Found", "404 page not found")]
    with pytest.raises(MissingResourceTypeError) as raised:
        client.get("ClusterPolicy", "p")
    assert str(raised.value) == \
        "the multi-cluster registry is not installed on cluster 'east' (no ClusterPolicy API)"


def test_list_follows_continue_tokens_and_sorts(clock):
    client = make(clock)
    client._api("CoreV1Api").answers["list_namespaced_secret"] = [
        {"metadata": {"continue": "t1", "resourceVersion": "5"}, "items": [{"metadata": {"name": "b"}}]},
        {"metadata": {"resourceVersion": "6"}, "items": [{"metadata": {"name": "a"}}]}]
    items, version = client.list("Secret", "ns", label_selector="app=x", page_size=1)
    assert [i["metadata"]["name"] for i in items] == ["a", "b"] and version == "6"
    first, second = client.apis["CoreV1Api"].calls
    assert first[2]["label_selector"] == "app=x" and first[2]["limit"] == 1 and "_continue" not in first[2]
    assert second[2]["_continue"] == "t1"


def test_list_of_a_namespaced_kind_in_every_namespace(clock):
    client = make(clock)
    client.list("RoleBinding", label_selector="a=b")
    assert client.apis["RbacAuthorizationV1Api"].calls[0][0] == "list_role_binding_for_all_namespaces"


def test_transient_errors_are_retried_within_the_deadline(clock):
    client = make(clock)
    client._api("CoreV1Api").answers["read_namespaced_secret"] = [
        api_error(503, "Service Unavailable"), ProtocolError("reset", ConnectionResetError(104, "reset")),
        {"metadata": {"name": "x"}}]
    assert client.get("Secret", "x", "ns") == {"metadata": {"name": "x"}}
    assert len(clock.sleeps) == 2


def test_a_server_that_never_answers_fails_after_the_deadline_naming_cluster_call_and_time(clock):
    client = make(clock, timeout=12)
    api = client._api("CustomObjectsApi")

    def hang(*args, **kwargs):
        clock.now += kwargs["_request_timeout"][1]  # the read timeout runs out
        raise timed_out()
    api.answers["get_cluster_custom_object"] = [None]
    api.get_cluster_custom_object = hang
    with pytest.raises(MulticlusterError) as raised:
        client.get("Cluster", "us-east")
    assert str(raised.value) == "read Cluster us-east on cluster 'east': the API server did not answer within 12 s"
    assert raised.value.cluster == "east" and clock.now <= 12.0 + 0.5


def test_each_try_gets_the_time_that_is_left_as_its_read_timeout(clock):
    client = make(clock, timeout=20)
    api = client._api("CoreV1Api")
    api.answers["read_namespace"] = [api_error(503, "x"), {"metadata": {"name": "n"}}]
    clock.now = 0.0
    client.get("Namespace", "n")
    first, second = [kwargs["_request_timeout"] for _n, _a, kwargs in api.calls]
    assert first == (10, 20.0) and second[1] == pytest.approx(20.0 - clock.sleeps[0])


def test_a_single_write_does_not_retry_a_conflict_but_a_transaction_re_runs(clock):
    client = make(clock)
    api = client._api("CoreV1Api")
    conflict = api_error(409, "Conflict", {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
    api.answers["patch_namespaced_config_map"] = [conflict, {"metadata": {"name": "m"}}]
    with pytest.raises(ConflictError):
        client.patch("ConfigMap", "m", {"metadata": {"resourceVersion": "1"}}, "ns")
    runs = []

    def read_modify_write():
        runs.append(1)
        return client.patch("ConfigMap", "m", {}, "ns")
    api.answers["patch_namespaced_config_map"] = [conflict, {"metadata": {"name": "m"}}]
    assert client.transaction("update", "ConfigMap", "ns/m", read_modify_write) == {"metadata": {"name": "m"}}
    assert len(runs) == 2


def test_already_exists_is_its_own_error_and_create_or_get_reads_the_winner(clock):
    client = make(clock)
    api = client._api("CoreV1Api")
    exists = api_error(409, "Conflict", {"kind": "Status", "reason": "AlreadyExists", "message": 'secrets "s" already exists'})
    api.answers["create_namespaced_secret"] = [exists]
    api.answers["read_namespaced_secret"] = [{"metadata": {"name": "s", "uid": "theirs"}}]
    body = {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}
    with pytest.raises(AlreadyExistsError) as raised:
        client.create(body)
    assert str(raised.value) == "create Secret ns/s on cluster 'east': secrets \"s\" already exists"
    assert client.create_or_get(body) == ({"metadata": {"name": "s", "uid": "theirs"}}, False)


def test_delete_of_what_is_gone_is_false_and_after_a_lost_answer_true(clock):
    client = make(clock)
    api = client._api("CoreV1Api")
    api.answers["delete_namespaced_secret"] = [not_found("s")]
    assert client.delete("Secret", "s", "ns") is False
    api.answers["delete_namespaced_secret"] = [ProtocolError("lost", ConnectionResetError(104, "reset")), not_found("s")]
    assert client.delete("Secret", "s", "ns") is True


def test_errors_read_action_kind_name_cluster_reason_without_secrets(clock):
    client = make(clock)
    client._api("CoreV1Api").answers["read_namespaced_secret"] = [api_error(
        403, "Forbidden", {"kind": "Status", "reason": "Forbidden", "message": "secrets \"x\" is forbidden"},
        headers={"Authorization": "Bearer s3cr3t"})]
    with pytest.raises(MulticlusterError) as raised:
        client.get("Secret", "x", "ns")
    assert str(raised.value) == "read Secret ns/x on cluster 'east': secrets \"x\" is forbidden"
    assert raised.value.details == {"status": 403}
    assert "s3cr3t" not in repr(raised.value.__dict__)


def test_a_probe_client_keeps_the_label_and_sends_only_the_token(clock):
    client = make(clock)
    probe = client.with_token("old-token", 5)
    assert probe.label == "east" and probe.timeout == 5.0
    assert probe.configuration.api_key["BearerToken"] == "Bearer old-token"
    assert probe.configuration.cert_file is None


def test_watch_streams_raw_objects_with_a_bounded_read(clock):
    client = make(clock)

    class Stream:
        def stream(self, fn, *args, **kwargs):
            self.seen = (fn, args, kwargs)
            yield {"type": "ADDED", "raw_object": {"metadata": {"name": "east", "resourceVersion": "9"}}}
            yield {"type": "BOOKMARK", "raw_object": {"metadata": {"resourceVersion": "10"}}}
    stream = Stream()
    events = list(client.watch("Cluster", "8", 60, stream))
    assert events == [("ADDED", {"metadata": {"name": "east", "resourceVersion": "9"}}),
                      ("BOOKMARK", {"metadata": {"resourceVersion": "10"}})]
    _fn, args, kwargs = stream.seen
    assert args == ("multicluster.coreos.com", "v1", "clusters")
    assert kwargs["resource_version"] == "8" and kwargs["timeout_seconds"] == 60
    assert kwargs["_request_timeout"] == (10, 90.0)


def test_the_calls_of_a_transaction_share_its_deadline(clock):
    """A slow server that answers each call just in time still ends the whole read-modify-write within request_timeout."""
    client = make(clock, timeout=10)
    api = client._api("CoreV1Api")
    timeouts = []

    def slow(*args, **kwargs):
        timeouts.append(kwargs["_request_timeout"][1])
        clock.now += 4
        return Response({"metadata": {"name": "m", "resourceVersion": "1"}})
    api.read_namespaced_config_map = slow

    def three_reads():
        for dummy in range(3):
            client.get("ConfigMap", "m", "ns")
    client.transaction("update", "ConfigMap", "ns/m", three_reads)
    assert timeouts == [10, 6, 2]


def test_request_timeout_zero_is_refused_not_defaulted():
    with pytest.raises(MulticlusterError, match="request_timeout must be a positive number of seconds, not 0"):
        ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": 0})
