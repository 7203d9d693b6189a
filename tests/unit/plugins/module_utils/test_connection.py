"""From connection options to an ApiClient, cluster labels, and api_request, the one request
function (no network)."""

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from kubernetes import client as k8s_client

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import connection as mc_client
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.connection import (
    NO_CLUSTER, build_api_client, cluster_label, token_api_client)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MulticlusterError, is_missing_type, is_not_found)

CA_PEM = b"-----BEGIN CERTIFICATE-----\nRkFLRS1DQQ==\n-----END CERTIFICATE-----\n"
EAST_TOKEN = "east-s3cr3t-token"
WEST_TOKEN = "west-s3cr3t-token"


def kubeconfig(current="east"):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "east", "cluster": {"server": "https://east.example.com:6443",
                                         "certificate-authority-data": base64.b64encode(CA_PEM).decode()}},
            {"name": "west", "cluster": {"server": "https://west.example.com:6443",
                                         "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {"name": "east-admin", "user": {"token": EAST_TOKEN}},
            {"name": "west-admin", "user": {"token": WEST_TOKEN}},
        ],
        "contexts": [
            {"name": "east", "context": {"cluster": "east", "user": "east-admin"}},
            {"name": "west", "context": {"cluster": "west", "user": "west-admin"}},
        ],
    }


def conn(**kw):
    base = dict.fromkeys(("kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert", "client_cert",
                          "client_key", "proxy"))
    base.update(kw)
    return base


def bearer(api_client):
    return api_client.configuration.auth_settings()["BearerToken"]["value"]


@pytest.fixture(autouse=True)
def no_ambient_cluster(monkeypatch, tmp_path):
    """No KUBECONFIG, ~/.kube/config or in-cluster environment leaks in."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent-kubeconfig"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


@pytest.fixture
def kubeconfig_file(tmp_path):
    cert = tmp_path / "client.crt"
    key = tmp_path / "client.key"
    cert.write_text("CERT")
    key.write_text("KEY")
    config = kubeconfig()
    config["users"].append({"name": "cert-user", "user": {"client-certificate": str(cert),
                                                          "client-key": str(key)}})
    config["contexts"].append({"name": "by-cert", "context": {"cluster": "east", "user": "cert-user"}})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


# --- build_api_client ------------------------------------------------------------------------

def test_kubeconfig_dict_current_context():
    api = build_api_client(conn(kubeconfig=kubeconfig()))
    assert isinstance(api, k8s_client.ApiClient)
    assert api.configuration.host == "https://east.example.com:6443"
    assert bearer(api) == "Bearer " + EAST_TOKEN
    with open(api.configuration.ssl_ca_cert, "rb") as handle:
        assert handle.read() == CA_PEM
    assert api.configuration.verify_ssl is True


def test_kubeconfig_dict_context_selection():
    api = build_api_client(conn(kubeconfig=kubeconfig(), context="west"))
    assert api.configuration.host == "https://west.example.com:6443"
    assert bearer(api) == "Bearer " + WEST_TOKEN
    assert api.configuration.verify_ssl is False


def test_kubeconfig_file(kubeconfig_file):
    api = build_api_client(conn(kubeconfig=str(kubeconfig_file), context="by-cert"))
    cfg = api.configuration
    assert cfg.host == "https://east.example.com:6443"
    assert cfg.cert_file == str(kubeconfig_file.parent / "client.crt")
    assert cfg.key_file == str(kubeconfig_file.parent / "client.key")
    with open(cfg.ssl_ca_cert, "rb") as handle:
        assert handle.read() == CA_PEM
    assert build_api_client(conn(kubeconfig=str(kubeconfig_file), context="west")).configuration.host == \
        "https://west.example.com:6443"


def test_unknown_context_names_it_and_not_the_content(kubeconfig_file):
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=str(kubeconfig_file), context="north"))
    text = str(raised.value)
    assert "north" in text and str(kubeconfig_file) in text and "not found" in text
    for secret in (EAST_TOKEN, WEST_TOKEN, "east-admin", "certificate-authority-data", "example.com"):
        assert secret not in text


def test_unknown_context_in_a_dict():
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=kubeconfig(), context="north"))
    text = str(raised.value)
    assert "the kubeconfig dict" in text and "context 'north' not found" in text
    assert EAST_TOKEN not in text


def test_a_cluster_without_server_is_refused():
    config = kubeconfig()
    del config["clusters"][0]["cluster"]["server"]
    with pytest.raises(MulticlusterError, match="the kubeconfig dict: the cluster of the context has no server"):
        build_api_client(conn(kubeconfig=config))


def test_a_broken_entry_in_a_file_does_not_leak_the_entry(tmp_path):
    # the client names items of a kubeconfig file by their whole content
    config = kubeconfig()
    config["contexts"][0]["context"] = {"user": "east-admin", "namespace": "MARKER-%s" % EAST_TOKEN}
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=str(path)))
    assert str(raised.value) == "cannot load kubeconfig %s: missing key 'cluster'" % path


def test_dangling_user_reference_in_a_file_does_not_leak_tokens(tmp_path):
    config = kubeconfig()
    config["contexts"][0]["context"]["cluster"] = "gone"
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=str(path)))
    assert "cluster 'gone' not found" in str(raised.value)
    assert EAST_TOKEN not in str(raised.value)


def test_invalid_yaml_file(tmp_path):
    path = tmp_path / "kc"
    path.write_text("apiVersion: v1\ntoken: %s\nclusters: [unclosed\n" % EAST_TOKEN)
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=str(path)))
    text = str(raised.value)
    assert "not valid YAML" in text and str(path) in text
    assert EAST_TOKEN not in text and "unclosed" not in text


def test_missing_file(tmp_path):
    with pytest.raises(MulticlusterError, match="kubeconfig .*nope.*: file does not exist"):
        build_api_client(conn(kubeconfig=str(tmp_path / "nope"), context="east"))


def test_kubeconfig_content_passed_as_a_string_is_not_echoed():
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn(kubeconfig=yaml.safe_dump(kubeconfig())))
    assert "looks like kubeconfig content" in str(raised.value) and EAST_TOKEN not in str(raised.value)


def test_explicit_options_override_the_kubeconfig(tmp_path):
    ca = tmp_path / "other-ca.crt"
    ca.write_bytes(b"OTHER CA")
    api = build_api_client(conn(kubeconfig=kubeconfig(), host="https://override.example.com", api_key="x",
                                ca_cert=str(ca), client_cert="/c.crt", client_key="/c.key", validate_certs=False,
                                proxy="http://proxy.example.com:3128"))
    cfg = api.configuration
    assert cfg.host == "https://override.example.com"
    assert bearer(api) == "Bearer x"
    assert cfg.ssl_ca_cert == str(ca)
    assert (cfg.cert_file, cfg.key_file) == ("/c.crt", "/c.key")
    assert cfg.verify_ssl is False
    assert cfg.proxy == "http://proxy.example.com:3128"


def test_api_key_is_sent_as_a_bearer_header():
    api = build_api_client(conn(host="https://h.example.com", api_key="x"))
    headers = {}
    api.update_params_for_auth(headers, [], ["BearerToken"], "/api", "GET", None)
    assert headers == {"authorization": "Bearer x"}


def test_api_key_already_prefixed_is_not_doubled():
    assert bearer(build_api_client(conn(host="https://h", api_key="Bearer y"))) == "Bearer y"


def test_host_only_needs_no_kubeconfig_and_leaves_the_global_default_alone():
    before = k8s_client.Configuration.get_default_copy().host
    api = build_api_client(conn(host="https://only-host.example.com:6443"))
    assert api.configuration.host == "https://only-host.example.com:6443"
    assert api.configuration is not k8s_client.Configuration._default
    assert k8s_client.Configuration.get_default_copy().host == before
    # and loading a kubeconfig does not set it either
    build_api_client(conn(kubeconfig=kubeconfig()))
    assert k8s_client.Configuration.get_default_copy().host == before


def test_clients_do_not_share_configuration():
    east = build_api_client(conn(kubeconfig=kubeconfig()))
    west = build_api_client(conn(kubeconfig=kubeconfig(), context="west"))
    assert east.configuration is not west.configuration
    assert east.configuration.host != west.configuration.host


def test_default_kubeconfig_from_the_environment(monkeypatch, tmp_path):
    path = tmp_path / "default-kc"
    path.write_text(yaml.safe_dump(kubeconfig(current="west")))
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert build_api_client(conn()).configuration.host == "https://west.example.com:6443"
    assert build_api_client(conn(context="east")).configuration.host == "https://east.example.com:6443"


def test_home_kube_config(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG")
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    (tmp_path / "home" / ".kube" / "config").write_text(yaml.safe_dump(kubeconfig()))
    assert build_api_client(conn()).configuration.host == "https://east.example.com:6443"


def test_in_cluster_when_no_kubeconfig(monkeypatch):
    seen = []

    def fake_incluster(client_configuration=None, try_refresh_token=True):
        seen.append(client_configuration)
        client_configuration.host = "https://10.0.0.1:443"

    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setattr(mc_client.k8s_config, "load_incluster_config", fake_incluster)
    api = build_api_client(conn())
    assert seen == [api.configuration] and api.configuration.host == "https://10.0.0.1:443"


def test_no_cluster_at_all():
    with pytest.raises(MulticlusterError) as raised:
        build_api_client(conn())
    assert str(raised.value) == NO_CLUSTER


# --- cluster_label ------------------------------------------------------------------------------

def test_label_is_the_context_given():
    api = build_api_client(conn(kubeconfig=kubeconfig(), context="west"))
    assert cluster_label(conn(kubeconfig=kubeconfig(), context="west"), api.configuration) == "west"


def test_label_is_the_current_context(kubeconfig_file):
    config = build_api_client(conn(kubeconfig=kubeconfig(current="west"))).configuration
    assert cluster_label(conn(kubeconfig=kubeconfig(current="west")), config) == "west"
    config = build_api_client(conn(kubeconfig=str(kubeconfig_file))).configuration
    assert cluster_label(conn(kubeconfig=str(kubeconfig_file)), config) == "east"


def test_label_falls_back_to_the_server():
    c = conn(host="https://h.example.com:6443", api_key="x")
    assert cluster_label(c, build_api_client(c).configuration) == "https://h.example.com:6443"


def test_no_hidden_retries_inside_urllib3():
    """ClusterClient retries within its deadline; a urllib3 retry would multiply every timeout."""
    assert build_api_client(conn(kubeconfig=kubeconfig())).configuration.retries == 0


def test_a_token_client_keeps_the_server_and_trust_and_sends_only_the_token():
    base = build_api_client(conn(kubeconfig=kubeconfig()))
    probe = token_api_client(base.configuration, "old-token")
    assert probe.configuration.host == "https://east.example.com:6443"
    assert bearer(probe) == "Bearer old-token"
    assert probe.configuration.cert_file is None and probe.configuration.retries == 0


# --- api_request: one request through the ApiClient, no generated API class -------------------------------

DUMMY_TOKEN = "dummy-token-for-tests"


class Raw(object):
    """What urllib3 gives back (not preloaded)."""

    def __init__(self, status=200, data=b"{}", reason="OK"):
        self.status = status
        self.reason = reason
        self.data = data
        self.headers = {"Content-Type": "application/json"}

    def getheaders(self):
        return self.headers

    def release_conn(self):
        return None


class RestResponse(object):
    """Like kubernetes.client.rest.RESTResponse: .data only after .read()."""

    def __init__(self, raw):
        self.response = raw
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers
        self.data = None
        self.reads = 0

    def read(self):
        self.reads += 1
        self.data = self.response.data
        return self.data


class NewStyleClient(object):
    """An ApiClient of kubernetes >= 35: param_serialize, then call_api(*request)."""

    def __init__(self, status=200, data=b"{}"):
        self.serialized = []
        self.called = []
        self.response = RestResponse(Raw(status, data, "Conflict" if status == 409 else "OK"))

    def param_serialize(self, method, resource_path, path_params=None, query_params=None, header_params=None,
                        body=None, post_params=None, files=None, auth_settings=None, collection_formats=None,
                        _host=None, _request_auth=None):
        self.serialized.append({"method": method, "path": resource_path, "path_params": path_params,
                                "query": query_params, "headers": header_params, "body": body,
                                "auth": auth_settings})
        return ("serialized", method, resource_path)

    def call_api(self, *request, **kwargs):
        self.called.append((request, kwargs))
        return self.response


class OldStyleClient(object):
    """An ApiClient of kubernetes < 35: one call_api with keyword arguments."""

    def __init__(self):
        self.called = []
        self.raw = Raw()

    def call_api(self, resource_path, method, path_params=None, query_params=None, header_params=None, body=None,
                 post_params=None, files=None, response_type=None, auth_settings=None, async_req=None,
                 _return_http_data_only=None, collection_formats=None, _preload_content=True,
                 _request_timeout=None, _host=None):
        self.called.append(dict(path=resource_path, method=method, path_params=path_params, query=query_params,
                                headers=header_params, body=body, response_type=response_type, auth=auth_settings,
                                data_only=_return_http_data_only, preload=_preload_content,
                                timeout=_request_timeout))
        return self.raw


def test_api_request_of_a_current_client_serializes_then_calls_and_gives_the_raw_response():
    api = NewStyleClient(status=201)
    patch = {"metadata": {"labels": {"a": "b"}}}
    got = mc_client.api_request(api, "PATCH", "/apis/x.example.com/v1/things/t", [("dryRun", "All"), ("limit", 3)],
                                patch, "application/merge-patch+json", (4, 9))
    assert got is api.response.response  # the raw response: its body not read
    assert api.response.reads == 0
    assert api.serialized == [{"method": "PATCH", "path": "/apis/x.example.com/v1/things/t", "path_params": None,
                               "query": [("dryRun", "All"), ("limit", 3)],
                               "headers": {"Accept": "application/json", "Content-Type": "application/merge-patch+json"},
                               "body": patch, "auth": ["BearerToken"]}]
    assert api.called == [(("serialized", "PATCH", "/apis/x.example.com/v1/things/t"), {"_request_timeout": (4, 9)})]


def test_api_request_sends_a_content_type_only_with_a_body_and_json_by_default():
    api = NewStyleClient()
    mc_client.api_request(api, "GET", "/api/v1/namespaces", [("limit", 1)])
    mc_client.api_request(api, "POST", "/api/v1/namespaces", (), {"kind": "Namespace"})
    assert [call["headers"] for call in api.serialized] == [
        {"Accept": "application/json"}, {"Accept": "application/json", "Content-Type": "application/json"}]
    assert [call["body"] for call in api.serialized] == [None, {"kind": "Namespace"}]
    assert api.called[0][1] == {"_request_timeout": None}


def test_api_request_of_a_current_client_raises_the_status_of_a_non_2xx():
    body = b'{"kind":"Status","reason":"Conflict","code":409}'
    api = NewStyleClient(status=409, data=body)
    with pytest.raises(k8s_client.ApiException) as raised:
        mc_client.api_request(api, "PUT", "/api/v1/namespaces/n", (), {"kind": "Namespace"})
    assert raised.value.status == 409 and raised.value.reason == "Conflict"
    assert raised.value.body == body.decode("utf-8")  # read before raising
    assert api.response.reads == 1


def test_api_request_of_an_older_client_calls_call_api_once_without_preloading():
    api = OldStyleClient()
    got = mc_client.api_request(api, "DELETE", "/api/v1/namespaces/ns/secrets/s", [("dryRun", "All")], None, None,
                                (2, 5))
    assert got is api.raw
    assert api.called == [dict(path="/api/v1/namespaces/ns/secrets/s", method="DELETE", path_params=None,
                               query=[("dryRun", "All")], headers={"Accept": "application/json"}, body=None,
                               response_type=None, auth=["BearerToken"], data_only=True, preload=False,
                               timeout=(2, 5))]
    mc_client.api_request(api, "PATCH", "/p", (), {"spec": {}}, "application/strategic-merge-patch+json")
    assert api.called[1]["headers"] == {"Accept": "application/json",
                                        "Content-Type": "application/strategic-merge-patch+json"}
    assert api.called[1]["body"] == {"spec": {}} and api.called[1]["timeout"] is None


def real_client(monkeypatch, raw):
    """The installed kubernetes ApiClient, its urllib3 pool replaced: [(method, url, kwargs)] it was asked for."""
    api = build_api_client(conn(host="https://east.example.com:6443", api_key=DUMMY_TOKEN))
    sent = []

    def request(method, url, **kwargs):
        sent.append((method, url, kwargs))
        return raw
    monkeypatch.setattr(api.rest_client.pool_manager, "request", request)
    return api, sent


def test_api_request_through_the_installed_client_builds_the_url_headers_and_body(monkeypatch):
    raw = Raw(200, b'{"metadata": {"name": "a b"}}')
    api, sent = real_client(monkeypatch, raw)
    patch = {"data": {"k": "dg=="}}
    got = mc_client.api_request(api, "PATCH", "/api/v1/namespaces/ns/secrets/a%20b",
                                [("dryRun", "All"), ("labelSelector", "app=x"), ("limit", 5)],
                                patch, "application/strategic-merge-patch+json", (3, 7))
    assert got is raw
    assert len(sent) == 1
    method, url, kwargs = sent[0]
    assert method == "PATCH"
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "east.example.com:6443")
    assert parts.path == "/api/v1/namespaces/ns/secrets/a%20b"
    assert parse_qsl(parts.query) == [("dryRun", "All"), ("labelSelector", "app=x"), ("limit", "5")]
    headers = kwargs["headers"]
    assert headers["authorization"] == "Bearer " + DUMMY_TOKEN, "the bearer token of the configuration is not sent"
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/strategic-merge-patch+json"
    assert json.loads(kwargs["body"]) == patch
    assert (kwargs["timeout"].connect_timeout, kwargs["timeout"].read_timeout) == (3, 7)
    assert kwargs["preload_content"] is False


def test_api_request_through_the_installed_client_of_a_get_and_a_404(monkeypatch):
    status = {"kind": "Status", "reason": "NotFound", "code": 404, "details": {"name": "east", "kind": "clusters"}}
    api, sent = real_client(monkeypatch, Raw(404, json.dumps(status).encode("utf-8"), "Not Found"))
    with pytest.raises(k8s_client.ApiException) as raised:
        mc_client.api_request(api, "GET", "/apis/multicluster.coreos.com/v1/clusters/east", (), timeout=(1, 2))
    assert raised.value.status == 404 and json.loads(raised.value.body) == status
    assert is_not_found(raised.value) and not is_missing_type(raised.value)
    method, url, kwargs = sent[0]
    assert (method, url) == ("GET", "https://east.example.com:6443/apis/multicluster.coreos.com/v1/clusters/east")
    assert "Content-Type" not in kwargs["headers"]
    assert kwargs["headers"]["authorization"] == "Bearer " + DUMMY_TOKEN


def test_a_404_without_a_status_through_the_installed_client_is_a_missing_type(monkeypatch):
    api, dummy = real_client(monkeypatch, Raw(404, b"404 page not found", "Not Found"))
    with pytest.raises(k8s_client.ApiException) as raised:
        mc_client.api_request(api, "GET", "/apis/multicluster.coreos.com/v1/clusters")
    assert raised.value.body == "404 page not found" and is_missing_type(raised.value)


def test_a_cluster_client_over_the_installed_client_sends_the_apis_query_names(monkeypatch):
    raw = Raw(200, b'{"metadata": {"resourceVersion": "7"}, "items": [{"metadata": {"name": "s"}}]}')
    api, sent = real_client(monkeypatch, raw)
    client = ClusterClient({"host": "https://east.example.com:6443"}, api_client=api, clock=lambda: 100.0)
    assert client.list("Secret", "ns", label_selector="app=x", page_size=2) == ([{"metadata": {"name": "s"}}], "7")
    method, url, kwargs = sent[0]
    parts = urlsplit(url)
    assert (method, parts.path) == ("GET", "/api/v1/namespaces/ns/secrets")
    assert parse_qsl(parts.query) == [("limit", "2"), ("labelSelector", "app=x")]
    assert kwargs["timeout"].read_timeout == 30.0
