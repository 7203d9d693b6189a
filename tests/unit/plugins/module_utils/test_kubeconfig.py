"""Kubeconfigs: parsing, resolving, building, and the token a replica holds."""

import base64
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kubeconfig as kc
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError

from tests.unit.utils.tokens import CA, SERVER


# --- kubeconfig ------------------------------------------------------------------------------------

def test_built_kubeconfig_is_one_cluster_user_context():
    config = kc.build_kubeconfig(SERVER, "tok", CA, "directory")
    assert config["current-context"] == "directory"
    assert config["clusters"] == [{"name": "directory", "cluster": {
        "server": SERVER, "certificate-authority-data": base64.b64encode(CA).decode()}}]
    assert config["users"] == [{"name": "directory", "user": {"token": "tok"}}]
    assert config["contexts"] == [{"name": "directory", "context": {"cluster": "directory", "user": "directory"}}]
    resolved = kc.resolve_kubeconfig(config)
    assert resolved["server"] == SERVER and resolved["user"] == {"token": "tok"}
    assert "certificate-authority-data" not in kc.build_kubeconfig(SERVER, "tok", None)["clusters"][0]["cluster"]


def test_kubeconfig_as_text_dict_or_json_is_the_same():
    config = kc.build_kubeconfig(SERVER, "tok", CA)
    assert kc.parse_kubeconfig(yaml.safe_dump(config)) == config
    assert kc.parse_kubeconfig(json.dumps(config)) == config
    assert kc.parse_kubeconfig(json.dumps(config).encode()) == config
    assert kc.parse_kubeconfig(config) is config


@pytest.mark.parametrize("value, match", [
    ("clusters: [a\ntoken: s3cr3t-token", "not valid YAML"),
    ("   ", "empty"),
    ("- just\n- a list", "expected a mapping"),
    ("s3cr3t-token", "expected a mapping"),
    ({"contexts": [{"name": "a", "context": {}}, {"name": "b", "context": {}}]}, "no current-context"),
    ({"current-context": "x", "contexts": []}, "no entry named 'x'"),
    ({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
      "clusters": [{"name": "c", "cluster": {"server": "nope"}}], "users": [{"name": "u", "user": {}}]}, "no server"),
    ({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
      "clusters": [{"name": "c", "cluster": {"server": SERVER}}], "users": "s3cr3t-token"}, "'users' is not a list"),
])
def test_bad_kubeconfigs_are_refused_without_quoting_them(value, match):
    with pytest.raises(MulticlusterError, match=match) as err:
        kc.parse_kubeconfig(value, "kubeconfig_content")
    assert "s3cr3t" not in str(err.value)
    assert str(err.value).startswith("kubeconfig_content")


def test_a_single_context_needs_no_current_context():
    config = kc.build_kubeconfig(SERVER, "tok")
    del config["current-context"]
    assert kc.resolve_kubeconfig(config)["context"] == "directory"


@pytest.mark.parametrize("value, why", [
    (None, "no current kubeconfig"),
    ("", "no current kubeconfig"),
    ("{{{", "not valid YAML"),
    (kc.build_kubeconfig(SERVER, ""), "users[0].user.token is missing"),
])
def test_current_token_is_lenient(value, why):
    token, problem = kc.current_token(value)
    assert token is None and why in problem


def test_current_token_from_text():
    assert kc.current_token(yaml.safe_dump(kc.build_kubeconfig(SERVER, "abc"))) == ("abc", None)
