"""The client of a credential read from a cluster (connection.credential_api_client): built from its
values alone, never through the kubernetes client's kubeconfig loader; and how modules, ClusterClient,
sync_secret and the agent take such a credential."""

import base64
import contextlib
import json
import os
import stat

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from ansible_collections.coreos.multicluster.agent import loop
from ansible_collections.coreos.multicluster.agent import metrics as metrics_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import connection
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_secret as ss
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import CONNECTION_ARG_SPEC
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    Credential, CredentialRefused, build_kubeconfig, read_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_modules import patch_module_args
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.tokens import CA, SERVER, bound_token

TOKEN = bound_token()


def credential(**kw):
    values = dict(server=SERVER, token=TOKEN, ca_pem=CA, tls_server_name=None, name="directory")
    values.update(kw)
    return Credential(**values)


@pytest.fixture(autouse=True)
def no_kubeconfig_loader(monkeypatch, tmp_path):
    """Every kubeconfig loader of the kubernetes client raises: a credential must never reach one.
    No ambient kubeconfig, in-cluster environment or proxy either."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the kubernetes client's kubeconfig loader was called")
    for name in ("load_kube_config", "load_kube_config_from_dict", "new_client_from_config",
                 "new_client_from_config_dict", "list_kube_config_contexts", "load_incluster_config"):
        if hasattr(k8s_config, name):
            monkeypatch.setattr(k8s_config, name, forbidden)
    monkeypatch.setattr(k8s_config.kube_config, "KubeConfigLoader", forbidden)
    monkeypatch.setattr(k8s_config.kube_config, "ExecProvider", forbidden)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_the_client_is_built_from_the_credential_values_alone():
    api = connection.credential_api_client(credential(tls_server_name="directory.internal"))
    config = api.configuration
    assert config.host == SERVER
    assert config.verify_ssl is True
    assert config.ca_cert_data == CA.decode() and config.ssl_ca_cert is None
    assert config.tls_server_name == "directory.internal"
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer " + TOKEN
    assert config.retries == 0
    assert config.cert_file is None and config.key_file is None and config.proxy is None
    assert config.refresh_api_key_hook is None


def test_without_ca_data_the_system_trust_store_is_used_and_tls_is_still_verified():
    config = connection.credential_api_client(credential(ca_pem=None)).configuration
    assert config.verify_ssl is True and config.ssl_ca_cert is None and not config.ca_cert_data


def test_a_cluster_client_takes_the_credential_as_its_kubeconfig_and_is_labelled_by_its_context():
    client = ClusterClient({"kubeconfig": credential(), "request_timeout": 7})
    assert client.label == "directory" and client.server == SERVER and client.timeout == 7
    assert client.ca_data() == CA
    assert client.configuration.auth_settings()["BearerToken"]["value"] == "Bearer " + TOKEN


def test_a_credential_combined_with_other_connection_options_is_refused():
    with pytest.raises(MulticlusterError, match=r"the credential for https://directory.example.com:6443 cannot be "
                                                r"combined with api_key, ca_cert"):
        connection.build_api_client({"kubeconfig": credential(), "api_key": "other", "ca_cert": "/x"})


def test_only_a_credential_is_taken():
    with pytest.raises(MulticlusterError, match="must be a Credential"):
        connection.credential_api_client(build_kubeconfig(SERVER, TOKEN, CA))


def test_an_older_client_gets_the_ca_in_a_private_file_removed_on_close(monkeypatch):
    monkeypatch.setattr(connection, "_takes_ca_data", lambda config: False)  # kubernetes without ca_cert_data
    api = connection.credential_api_client(credential())
    assert not api.configuration.ca_cert_data
    path = api.configuration.ssl_ca_cert
    assert path and os.path.isfile(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "rb") as handle:
        assert handle.read() == CA
    api.close()
    assert not os.path.exists(path)


def test_an_older_client_without_tls_server_name_refuses_a_credential_that_needs_it(monkeypatch):
    class NoServerName(k8s_client.Configuration):
        def __getattribute__(self, name):
            if name == "tls_server_name":
                raise AttributeError(name)
            return super(NoServerName, self).__getattribute__(name)
    monkeypatch.setattr(connection.k8s_client, "Configuration", NoServerName)
    with pytest.raises(MulticlusterError, match="sets tls-server-name, which this kubernetes Python library cannot use"):
        connection.credential_api_client(credential(tls_server_name="directory.internal"))


def test_a_request_carries_the_token_to_the_credentials_server(monkeypatch):
    api = connection.credential_api_client(credential())
    sent = []

    class Raw(object):
        status, reason, data, headers = 200, "OK", b'{"items": []}', {}

        def release_conn(self):
            return None

    def request(method, url, **kwargs):
        sent.append((method, url, kwargs["headers"]))
        return Raw()
    monkeypatch.setattr(api.rest_client.pool_manager, "request", request)
    connection.api_request(api, "GET", "/apis/multicluster.coreos.com/v1/clusters")
    assert [(method, url) for method, url, dummy in sent] == [
        ("GET", SERVER + "/apis/multicluster.coreos.com/v1/clusters")]
    assert sent[0][2]["authorization"] == "Bearer " + TOKEN


# --- modules -------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def module_with(args):
    with patch_module_args(args):
        yield MulticlusterModule(argument_spec=dict(CONNECTION_ARG_SPEC, request_timeout={"type": "int"}),
                                 supports_check_mode=True)


def test_module_client_takes_a_credential_with_the_modules_request_timeout():
    with module_with({"host": "https://replica.example.com:6443", "api_key": "replica-token",
                      "request_timeout": 9}) as module:
        client = module.client(credential())
        assert client.label == "directory" and client.server == SERVER and client.timeout == 9
        assert client.configuration.auth_settings()["BearerToken"]["value"] == "Bearer " + TOKEN
        same = module.client({"kubeconfig": credential()})
        assert same.server == SERVER and same.label == "directory"


def test_hide_credential_hides_the_token_and_a_refused_kubeconfigs_long_strings_only():
    with module_with({"host": "https://replica.example.com:6443"}) as module:
        module.hide_credential(credential())
        assert TOKEN in module.no_log_values
        refused = build_kubeconfig(SERVER, TOKEN, CA)
        refused["users"][0]["user"] = {"exec": {"command": "/bin/sh", "args": ["-c", "printf %s" % TOKEN]}}
        text = yaml.safe_dump(refused)
        module.hide_credential(text)
        assert text in module.no_log_values and "printf %s" % TOKEN in module.no_log_values
        assert "-c" not in module.no_log_values and "/bin/sh" not in module.no_log_values


# --- sync_secret: the Secret read back, the credential verified -------------------------------------------------------

def secret(text):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": names.CREDENTIAL_SECRET, "namespace": names.SYSTEM_NAMESPACE},
            "data": {"kubeconfig": base64.b64encode(text.encode()).decode()}}


def exec_kubeconfig(marker):
    config = build_kubeconfig(SERVER, TOKEN, CA)
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh",
                                           "args": ["-c", "touch %s" % marker]}}
    return config


def test_read_sync_credential_gives_a_credential_or_refuses_naming_the_secret_the_replica_and_the_key(tmp_path):
    replica = FakeCluster(label="east")
    assert ss.read_sync_credential(replica) is None and ss.credential_refusal(replica) is None
    replica.add(secret(yaml.safe_dump(build_kubeconfig(SERVER, TOKEN, CA))))
    assert ss.read_sync_credential(replica) == credential()
    assert ss.credential_refusal(replica) is None
    marker = tmp_path / "marker"
    replica.add(secret(yaml.safe_dump(exec_kubeconfig(marker))))
    with pytest.raises(CredentialRefused) as err:
        ss.read_sync_credential(replica)
    assert str(err.value).startswith("the kubeconfig in Secret tectonic-system/directory-sync on cluster 'east' is "
                                     "refused: users[0].user.exec is not allowed")
    assert ss.credential_refusal(replica) == str(err.value)
    assert ss.read_sync_secret(replica) is not None  # the raw text is still there to compare and replace
    assert not marker.exists()


def test_read_replica_credential_takes_a_refused_one_as_none_with_a_warning(tmp_path):
    replica = FakeCluster(label="east")
    replica.add(secret(yaml.safe_dump(exec_kubeconfig(tmp_path / "marker"))))
    text, warning = ss.read_replica_credential(lambda: replica, "present")
    assert text is None
    assert warning.startswith("the kubeconfig in Secret tectonic-system/directory-sync on cluster 'east' is refused: "
                              "users[0].user.exec is not allowed")
    assert warning.endswith("; it is not used, and its token is taken as unknown")


def test_kubeconfig_content_must_be_the_accepted_form_before_anything_is_read(tmp_path):
    replica = FakeCluster(label="east")
    params = {"state": "present", "kubeconfig_content": exec_kubeconfig(tmp_path / "marker"),
              "name": names.CREDENTIAL_SECRET, "namespace": names.SYSTEM_NAMESPACE, "deployment": names.AGENT_DEPLOYMENT, "verify_credential": True}
    with pytest.raises(CredentialRefused, match=r"^kubeconfig_content is refused: users\[0\]\.user\.exec is not "
                                                r"allowed"):
        ss.ensure_present(replica, params, verifier=lambda *args: pytest.fail("verified a refused credential"))
    assert replica.writes == [] and not (tmp_path / "marker").exists()


def test_a_stored_kubeconfig_the_reader_refuses_is_replaced_without_being_used(tmp_path):
    marker = tmp_path / "marker"
    replica = FakeCluster(label="east")
    replica.add(secret(yaml.safe_dump(exec_kubeconfig(marker))))
    verified = []
    params = {"state": "present", "kubeconfig_content": build_kubeconfig(SERVER, TOKEN, CA), "name": names.CREDENTIAL_SECRET,
              "namespace": names.SYSTEM_NAMESPACE, "deployment": "", "verify_credential": True}
    result = ss.ensure_present(replica, params, verifier=lambda config, server, timeout: verified.append(server))
    assert result["changed"] and verified == [SERVER]
    stored = base64.b64decode(replica.get("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE)["data"]["kubeconfig"]).decode()
    assert read_credential(stored, "the stored kubeconfig") == credential()
    assert not marker.exists()


def test_verify_credential_lists_with_a_client_built_from_the_credential(monkeypatch):
    seen = []

    def fake_client(conn):
        seen.append(conn["kubeconfig"])
        directory = FakeCluster(label="directory", server=SERVER)
        directory.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": "a"}})
        return directory
    monkeypatch.setattr(ss, "ClusterClient", fake_client)
    assert ss.verify_credential(build_kubeconfig(SERVER, TOKEN, CA), SERVER, 5) == 1
    assert ss.verify_credential(credential(), SERVER, 5) == 1
    assert seen == [credential(), credential()]


def test_verify_credential_refuses_an_exec_kubeconfig_before_any_request(monkeypatch, tmp_path):
    monkeypatch.setattr(ss, "ClusterClient", lambda conn: pytest.fail("a client was built"))
    with pytest.raises(MulticlusterError, match=r"^the credential cannot list Clusters on directory '%s': the "
                                                r"credential is refused: users\[0\]\.user\.exec" % SERVER):
        ss.verify_credential(exec_kubeconfig(tmp_path / "marker"), SERVER, 5)
    assert not (tmp_path / "marker").exists()


# --- the agent ------------------------------------------------------------------------------------------------------

def test_the_agents_credential_file_is_read_as_data_and_a_refused_one_names_the_file_secret_and_replica(tmp_path):
    path = tmp_path / "kubeconfig"
    marker = tmp_path / "marker"
    path.write_text(yaml.safe_dump(build_kubeconfig(SERVER, TOKEN, CA)))
    cred = loop.CredentialFile(str(path))
    got, server = cred.load(cluster="east")
    assert got == credential() and server == SERVER
    assert metrics_mod.credential_expiry(got) is not None
    path.write_text(yaml.safe_dump(exec_kubeconfig(marker)))
    assert cred.changed()
    with pytest.raises(CredentialRefused) as err:
        cred.load(cluster="east")
    assert str(err.value).startswith(
        "the directory kubeconfig %s (Secret tectonic-system/directory-sync on cluster 'east') is refused: "
        "users[0].user.exec is not allowed" % path)
    assert not cred.changed() and not marker.exists()
    path.write_text("#" * (64 * 1024) + "\n" + json.dumps(build_kubeconfig(SERVER, TOKEN, CA)))
    with pytest.raises(CredentialRefused, match="is refused: it is larger than 65536 bytes"):
        cred.load(cluster="east")


def test_the_agent_never_builds_a_directory_client_from_a_refused_file(tmp_path):
    path = tmp_path / "kubeconfig"
    marker = tmp_path / "marker"
    path.write_text(yaml.safe_dump(exec_kubeconfig(marker)))
    built, records = [], []
    agent = loop.Agent(FakeCluster(label="east"), loop.CredentialFile(str(path)),
                       directory_factory=built.append, record_fn=lambda *args: records.append(args))
    agent.step()
    assert built == [] and agent.directory is None
    code, body = agent.health.ready()
    assert code == 503 and "is refused: users[0].user.exec is not allowed" in body["message"]
    assert "on cluster 'east'" in body["message"]
    assert records and "users[0].user.exec is not allowed" in records[0][2]
    assert not marker.exists()
    # the default factory builds the client from the Credential alone (the loaders raise here)
    path.write_text(yaml.safe_dump(build_kubeconfig(SERVER, TOKEN, CA)))
    default = loop.Agent(FakeCluster(label="east"), loop.CredentialFile(str(path)), request_timeout=4)
    directory = default._directory_factory(loop.CredentialFile(str(path)).load()[0])
    assert directory.label == "directory" and directory.server == SERVER and directory.timeout == 4
