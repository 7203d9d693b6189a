"""Connection options: kubernetes.core names, K8S_AUTH_* fallbacks, and a
sub-dict spec without them."""

import pytest
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    CONNECTION_ARG_SPEC, connection_params, connection_suboption_spec)

EXPECTED = {
    # option: (type, aliases, environment variables in order)
    "kubeconfig": ("raw", [], ["K8S_AUTH_KUBECONFIG"]),
    "context": ("str", [], ["K8S_AUTH_CONTEXT"]),
    "host": ("str", [], ["K8S_AUTH_HOST"]),
    "api_key": ("str", [], ["K8S_AUTH_API_KEY"]),
    "validate_certs": ("bool", ["verify_ssl"], ["K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS"]),
    "ca_cert": ("path", ["ssl_ca_cert"], ["K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_CA_CERT"]),
    "client_cert": ("path", ["cert_file"], ["K8S_AUTH_CERT_FILE", "K8S_AUTH_CLIENT_CERT"]),
    "client_key": ("path", ["key_file"], ["K8S_AUTH_KEY_FILE", "K8S_AUTH_CLIENT_KEY"]),
    "proxy": ("str", [], ["K8S_AUTH_PROXY"]),
    # not a kubernetes.core option: the bound on every API call, named in its style
    "request_timeout": ("int", [], ["K8S_AUTH_REQUEST_TIMEOUT"]),
}
ALL_ENV = [name for dummy, dummy2, names in EXPECTED.values() for name in names]


@pytest.fixture
def clean_env(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_spec_has_exactly_the_kubernetes_core_options_and_request_timeout():
    assert set(CONNECTION_ARG_SPEC) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_types_aliases_and_env_fallbacks(name):
    kind, aliases, env = EXPECTED[name]
    option = CONNECTION_ARG_SPEC[name]
    assert option["type"] == kind
    assert option.get("aliases", []) == aliases
    assert option["fallback"] == (env_fallback, env)


def test_awx_bearer_token_credential_variables_are_honoured():
    names = set(ALL_ENV)
    assert {"K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_VERIFY_SSL", "K8S_AUTH_SSL_CA_CERT"} <= names


def test_only_the_token_is_no_log():
    assert CONNECTION_ARG_SPEC["api_key"]["no_log"] is True
    assert [n for n, o in CONNECTION_ARG_SPEC.items() if o.get("no_log")] == ["api_key"]


def test_suboption_spec_drops_fallbacks_and_keeps_the_rest():
    sub = connection_suboption_spec()
    assert set(sub) == set(CONNECTION_ARG_SPEC)
    for name, option in sub.items():
        assert "fallback" not in option, name
        assert option["type"] == CONNECTION_ARG_SPEC[name]["type"]
        assert option.get("aliases") == CONNECTION_ARG_SPEC[name].get("aliases")
    assert sub["api_key"]["no_log"] is True
    # a copy: the module-wide spec still has its fallbacks
    assert all("fallback" in option for option in CONNECTION_ARG_SPEC.values())
    sub["host"]["type"] = "int"
    assert CONNECTION_ARG_SPEC["host"]["type"] == "str"


def test_environment_fills_the_spec_but_not_the_suboption_spec(clean_env):
    clean_env.setenv("K8S_AUTH_HOST", "https://first.example.com:6443")
    clean_env.setenv("K8S_AUTH_API_KEY", "first-token")
    clean_env.setenv("K8S_AUTH_VERIFY_SSL", "false")
    clean_env.setenv("K8S_AUTH_CA_CERT", "/etc/first/ca.crt")

    result = ArgumentSpecValidator(dict(CONNECTION_ARG_SPEC)).validate({})
    assert result.error_messages == []
    params = result.validated_parameters
    assert params["host"] == "https://first.example.com:6443"
    assert params["api_key"] == "first-token"
    assert params["validate_certs"] is False
    assert params["ca_cert"] == "/etc/first/ca.crt"
    assert "first-token" in result._no_log_values

    spec = {"directory": {"type": "dict", "options": connection_suboption_spec()}}
    result = ArgumentSpecValidator(spec).validate({"directory": {"context": "second"}})
    assert result.error_messages == []
    directory = result.validated_parameters["directory"]
    assert directory["context"] == "second"
    assert directory["host"] is None and directory["api_key"] is None and directory["ca_cert"] is None


def test_first_listed_variable_wins(clean_env):
    clean_env.setenv("K8S_AUTH_VERIFY_SSL", "no")
    clean_env.setenv("K8S_AUTH_VALIDATE_CERTS", "yes")
    result = ArgumentSpecValidator(dict(CONNECTION_ARG_SPEC)).validate({})
    assert result.validated_parameters["validate_certs"] is False


def test_explicit_value_beats_the_environment(clean_env):
    clean_env.setenv("K8S_AUTH_CONTEXT", "from-env")
    result = ArgumentSpecValidator(dict(CONNECTION_ARG_SPEC)).validate({"context": "explicit"})
    assert result.validated_parameters["context"] == "explicit"


def test_connection_params_keeps_only_connection_keys_and_resolves_aliases():
    params = {"name": "east", "state": "present", "host": "https://h", "verify_ssl": False,
              "cert_file": "/c.crt", "client_key": None, "key_file": "/c.key"}
    conn = connection_params(params)
    assert set(conn) == set(CONNECTION_ARG_SPEC)
    assert conn["host"] == "https://h"
    assert conn["validate_certs"] is False
    assert conn["client_cert"] == "/c.crt"
    assert conn["client_key"] == "/c.key"
    assert conn["kubeconfig"] is None and "name" not in conn


def test_connection_params_of_nothing_is_all_none():
    assert connection_params(None) == {name: None for name in CONNECTION_ARG_SPEC}
