"""The module wrapper: clients, failing, results, and keeping credentials out of output."""

import contextlib
import hashlib
import json
import re

import pytest
from ansible.module_utils import basic

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import module as module_wrapper
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    CONNECTION_ARG_SPEC, connection_suboption_spec)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import (
    HIDE_TEXT, HIDE_USERS, NO_LOG_PLACEHOLDER, MulticlusterModule)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import hash_secret_data

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()):
            yield

TOKEN = "s3cr3t-api-token"


# --- hash_secret_data -------------------------------------------------------------------

def test_hash_of_empty_value_is_the_known_sha256_prefix():
    # sha256(b"") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    assert hash_secret_data({"empty": "", "none": None}) == {"empty": "sha256:e3b0c44298fc1c14",
                                                             "none": "sha256:e3b0c44298fc1c14"}


def test_hash_shape_and_no_content():
    hashed = hash_secret_data({"token": TOKEN, "ca.crt": "-----BEGIN CERTIFICATE-----"})
    assert set(hashed) == {"token", "ca.crt"}
    for value in hashed.values():
        assert re.match(r"^sha256:[0-9a-f]{16}$", value)
    assert TOKEN not in json.dumps(hashed)
    assert hashed["token"] == "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()[:16]


def test_hash_tells_values_apart_and_treats_bytes_like_text():
    assert hash_secret_data({"k": "a"}) != hash_secret_data({"k": "b"})
    assert hash_secret_data({"k": b"abc"}) == hash_secret_data({"k": "abc"})
    assert hash_secret_data(None) == {} and hash_secret_data({}) == {}


# --- MulticlusterModule ------------------------------------------------------------------

@pytest.fixture
def make_module():
    """Build a module; its args stay patched in until the test ends (exit_json needs them)."""
    with contextlib.ExitStack() as stack:
        def build(args, spec=None, **kwargs):
            stack.enter_context(patch_module_args(args))
            spec = dict(CONNECTION_ARG_SPEC) if spec is None else spec
            return MulticlusterModule(argument_spec=spec, supports_check_mode=True, **kwargs)
        yield build


def outcome(capsys, fn, *args):
    with pytest.raises(SystemExit) as raised:
        fn(*args)
    return raised.value.code, json.loads(capsys.readouterr().out)


def raised_by(fn):
    """The exception fn raises, with its traceback."""
    try:
        fn()
    except Exception as exc:  # pylint: disable=broad-except
        return exc
    raise AssertionError("did not raise")


def chained(exc, cause):
    """exc raised from cause, as a module would see it."""
    def fail():
        try:
            raise cause
        except type(cause) as inner:
            raise exc from inner
    return raised_by(fail)


@pytest.fixture(autouse=True)
def no_ambient_cluster(monkeypatch, tmp_path):
    for name in ("K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT",
                 "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))


def test_client_uses_the_module_connection_and_check_mode(make_module):
    module = make_module({"host": "https://first.example.com:6443", "api_key": TOKEN, "_ansible_check_mode": True})
    client = module.client()
    assert isinstance(client, ClusterClient)
    assert client.server == "https://first.example.com:6443"
    assert client.check_mode is True
    assert client.label == "https://first.example.com:6443"


def test_client_for_a_second_cluster_ignores_the_first_clusters_environment(make_module, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_HOST", "https://first.example.com:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", TOKEN)
    spec = dict(CONNECTION_ARG_SPEC)
    spec["other"] = {"type": "dict", "options": connection_suboption_spec()}
    module = make_module({"other": {"host": "https://second.example.com", "verify_ssl": False}}, spec)
    first = module.client()
    second = module.client(module.params["other"])
    assert first.server == "https://first.example.com:6443"
    assert second.server == "https://second.example.com"
    assert second.configuration.verify_ssl is False
    assert second.configuration.auth_settings() == {}  # the first cluster's token did not come along
    assert second.check_mode is False


def test_client_errors_are_multicluster_errors(make_module):
    module = make_module({})
    with pytest.raises(MulticlusterError, match="no cluster given"):
        module.client()


def test_requires_kubernetes(make_module, monkeypatch, capsys):
    module = make_module({})
    monkeypatch.setattr(module_wrapper, "HAS_KUBERNETES", False)
    monkeypatch.setattr(module_wrapper, "KUBERNETES_IMPORT_ERROR", "Traceback: No module named 'kubernetes'")
    code, result = outcome(capsys, module.client)
    assert code == 1 and result["failed"] is True
    assert "Failed to import the required Python library (kubernetes)" in result["msg"]


def test_requires_pyyaml(make_module, monkeypatch, capsys):
    module = make_module({})
    monkeypatch.setattr(module_wrapper, "HAS_YAML", False)
    code, result = outcome(capsys, module.requires_kubernetes)
    assert code == 1 and "(PyYAML)" in result["msg"]


def test_fail_from_a_multicluster_error(make_module, capsys):
    module = make_module({})
    exc = chained(MulticlusterError("read Secret ns/x on cluster 'east': forbidden", cluster="east",
                                    details={"status": 403}), ValueError("Authorization: Bearer %s" % TOKEN))
    code, result = outcome(capsys, module.fail_from_exception, exc)
    assert code == 1 and result["failed"] is True
    assert result["msg"] == "read Secret ns/x on cluster 'east': forbidden"
    assert result["cluster"] == "east" and result["details"] == {"status": 403}
    assert TOKEN not in json.dumps(result)


def test_fail_from_a_multicluster_error_without_cluster(make_module, capsys):
    code, result = outcome(capsys, make_module({}).fail_from_exception, MulticlusterError("no cluster given"))
    assert result["msg"] == "no cluster given" and "cluster" not in result and "details" not in result


def test_fail_from_an_unexpected_error(make_module, capsys):
    module = make_module({})

    def broken(secret_local=TOKEN):
        raise KeyError("metadata")

    code, result = outcome(capsys, module.fail_from_exception, raised_by(broken))
    assert code == 1
    assert result["msg"] == "unexpected error: KeyError: 'metadata'"
    assert TOKEN not in json.dumps(result)


def test_unexpected_error_text_is_redacted(make_module, capsys):
    exc = RuntimeError("request headers {'authorization': 'Bearer %s'}" % TOKEN)
    code, result = outcome(capsys, make_module({}).fail_from_exception, exc)
    assert result["msg"].startswith("unexpected error: RuntimeError: ")
    assert TOKEN not in json.dumps(result)


@pytest.mark.parametrize("diff_mode", [False, True])
def test_run_shows_the_diff_only_in_diff_mode(make_module, capsys, diff_mode):
    module = make_module({"_ansible_diff": diff_mode})
    code, result = outcome(capsys, module.run,
                           lambda: {"changed": True, "after": {"a": 1}, "diff": {"before": {}, "after": {"a": 1}}})
    assert code == 0 and result["changed"] is True and result["after"] == {"a": 1}
    assert ("diff" in result) is diff_mode


def test_run_defaults_changed(make_module, capsys):
    code, result = outcome(capsys, make_module({}).run, lambda: {"clusters": []})
    assert code == 0 and result["changed"] is False and result["clusters"] == []


def test_run_fails_from_the_exception(make_module, capsys):
    def broken():
        raise MulticlusterError("read Cluster east on cluster 'west': the API server did not answer within 5 s",
                                cluster="west", details={"timeout": 5.0})
    code, result = outcome(capsys, make_module({}).run, broken)
    assert code == 1 and result["msg"].endswith("did not answer within 5 s") and result["cluster"] == "west"


def test_request_timeout_reaches_every_client_and_a_second_cluster_inherits_it(make_module, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_REQUEST_TIMEOUT", "7")
    spec = dict(CONNECTION_ARG_SPEC)
    spec["other"] = {"type": "dict", "options": connection_suboption_spec()}
    module = make_module({"host": "https://first.example.com", "other": {"host": "https://second.example.com"}}, spec)
    assert module.client().timeout == 7.0
    assert module.client(module.params["other"]).timeout == 7.0
    mine = make_module({"host": "https://first.example.com",
                        "other": {"host": "https://second.example.com", "request_timeout": 3}}, spec)
    assert mine.client(mine.params["other"]).timeout == 3.0


# --- credentials out of the output ---------------------------------------------------------

SERVER = "https://directory.example.com:6443"


def credential_spec(option):
    spec = dict(CONNECTION_ARG_SPEC)
    spec[option] = {"type": "raw", "no_log": True}
    return spec


def test_a_kubeconfig_option_hides_its_credentials_only_and_shows_the_placeholder(make_module):
    config = build_kubeconfig(SERVER, "tok-123", b"CA")
    module = make_module({"kubeconfig_content": config, "api_key": "key-1", "host": SERVER},
                         credential_spec("kubeconfig_content"), credential_options={"kubeconfig_content": HIDE_USERS})
    assert module.credentials["kubeconfig_content"] == config
    assert module.params["kubeconfig_content"] == NO_LOG_PLACEHOLDER
    assert {"tok-123", "key-1"} <= module.no_log_values
    assert not {"v1", "directory", SERVER} & module.no_log_values


def test_a_returned_credential_hides_only_its_text(make_module):
    text = "apiVersion: v1\nusers:\n- name: d\n  user: {token: tok-123}\n"
    module = make_module({"current_kubeconfig": text, "host": SERVER}, credential_spec("current_kubeconfig"),
                         credential_options={"current_kubeconfig": HIDE_TEXT})
    assert module.credentials["current_kubeconfig"] == text
    assert text in module.no_log_values and "tok-123" not in module.no_log_values
    empty = make_module({"host": SERVER}, credential_spec("current_kubeconfig"),
                        credential_options={"current_kubeconfig": HIDE_TEXT})
    assert empty.credentials["current_kubeconfig"] is None


def test_what_another_option_hides_stays_hidden(make_module):
    config = build_kubeconfig(SERVER, "shared")
    module = make_module({"current_kubeconfig": config, "api_key": "shared", "host": SERVER},
                         credential_spec("current_kubeconfig"), credential_options={"current_kubeconfig": HIDE_TEXT})
    assert "shared" in module.no_log_values


def test_a_kubeconfig_dict_connection_and_one_read_later_are_hidden(make_module):
    spec = dict(CONNECTION_ARG_SPEC)
    spec["other"] = {"type": "dict", "options": connection_suboption_spec()}
    module = make_module({"kubeconfig": build_kubeconfig(SERVER, "first-token"),
                          "other": {"kubeconfig": build_kubeconfig(SERVER, "second-token")}}, spec)
    assert {"first-token", "second-token"} <= module.no_log_values
    module.hide_kubeconfig(json.dumps(build_kubeconfig(SERVER, "later-token")))
    assert "later-token" in module.no_log_values and SERVER not in module.no_log_values


def test_traceback_has_frames_but_no_chained_messages(make_module, monkeypatch, capsys):
    tb = pytest.importorskip("ansible.module_utils._internal._traceback")
    if not hasattr(tb, "is_traceback_enabled"):
        pytest.skip("ansible-core without traceback switches")
    monkeypatch.setattr(tb, "is_traceback_enabled", lambda event: True)
    module = make_module({})
    exc = chained(MulticlusterError("read Secret ns/x on cluster 'east': forbidden"),
                  ValueError("HTTP response headers: Authorization: Bearer %s" % TOKEN))
    try:
        raise exc
    except MulticlusterError as caught:  # as in a module's main(): the error is the current exception
        dummy, result = outcome(capsys, module.fail_from_exception, caught)
        assert "in fail" in result["exception"]
        assert TOKEN not in json.dumps(result) and "HTTP response headers" not in json.dumps(result)
