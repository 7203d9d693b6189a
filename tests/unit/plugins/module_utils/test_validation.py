"""validation.py: https only for every address a credential is sent to, the same rule in the module_utils,
the Cluster CRD and the roles' preflights."""

import glob
import os

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import validation
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.test import https_url as https_url_test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

GOOD = ["https://api.example.com", "https://api.example.com:6443", "https://10.0.0.1:6443/",
        "https://[2001:db8::1]:6443", "https://api.example.com/prefix/path?x=1#top", "https://a"]
BAD = ["http://api.example.com:6443",                 # clear text
       "HTTP://api.example.com", "Https://api.example.com",
       "api.example.com:6443", "ftp://api.example.com", "https://", "https:///path", "https://?x",
       "https://api.example.com@attacker.example.net",  # user info: the host is attacker.example.net
       "https://user:pass@api.example.com",
       "https://api.example.com\n", "https://api.example.com/\nx", "https://api .example.com",
       "https://api.example.com/a b", "https://api.example.com\x1b[2J", "https://api\x00.example.com",
       " https://api.example.com", "", None, 6443, ["https://api.example.com"]]


@pytest.mark.parametrize("value", GOOD)
def test_an_https_url_with_a_host_passes(value):
    assert validation.is_https_url(value)
    assert validation.https_url_problem(value) is None
    assert validation.validate_https_url(value, "endpoint") == value


@pytest.mark.parametrize("value", BAD)
def test_anything_else_is_refused_naming_the_option(value):
    assert not validation.is_https_url(value)
    with pytest.raises(MulticlusterError) as err:
        validation.validate_https_url(value, "directory_api_endpoint")
    message = str(err.value)
    assert message.startswith("directory_api_endpoint %r is " % (value,))
    assert "an https:// URL with a host" in message
    assert "\n" not in message and "\x1b" not in message and "\x00" not in message


def test_plain_http_says_why():
    assert validation.https_url_problem("http://api.example.com") == (
        "'http://api.example.com' is plain http://, not an https:// URL with a host (no user info, no white space "
        "or control characters): a credential sent there would cross the network in clear text")


def test_a_long_value_is_quoted_cut():
    problem = validation.https_url_problem("http://" + "a" * 5000)
    assert len(problem) < 600 and "\u2026" in problem


def test_the_lenient_check_stays_for_the_operators_own_kubeconfigs():
    """is_url (kubeconfig.py, reading the controller's own kubeconfigs) still takes http://;
    nothing else in the collection uses it."""
    assert validation.is_url("http://127.0.0.1:8001") and validation.is_url("https://x")
    assert not validation.is_url("127.0.0.1:8001")
    users = []
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path) as handle:
            text = handle.read()
        if "is_url" in text.replace("is_https_url", "") and not path.endswith("validation.py"):
            users.append(os.path.relpath(path, ROOT))
    assert set(users) <= {"plugins/module_utils/k8s/kubeconfig.py", "plugins/module_utils/credentials/replica_credential.py"}


def _crd_address_schema():
    with open(os.path.join(ROOT, "roles", "registry", "files", "registry.yml")) as handle:
        manifest = yaml.safe_load(handle)
    crd = [item for item in manifest["items"] if item["metadata"]["name"] == "clusters.multicluster.coreos.com"][0]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema["properties"]["KubernetesAPIEndpoints"]["properties"]["ServerEndpoints"]["items"]["properties"][
        "ServerAddress"]


def test_the_cluster_crd_enforces_the_same_rule():
    assert _crd_address_schema()["pattern"] == validation.HTTPS_URL_PATTERN


def test_the_roles_preflights_use_the_same_rule_and_no_http_pattern_is_left():
    """The roles check addresses with the test plugin coreos.multicluster.https_url (validation.is_https_url);
    no role or playbook keeps a pattern of its own that takes http://."""
    assert https_url_test.TestModule().tests()["https_url"] is validation.is_https_url
    users = []
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + \
            glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path) as handle:
            text = handle.read()
        assert "https?" not in text, path
        if "coreos.multicluster.https_url" in text:
            users.append(os.path.relpath(path, ROOT))
    assert sorted(users) == ["roles/directory_setup/tasks/preflight.yml", "roles/replica_onboarding/tasks/preflight.yml"]


@pytest.mark.parametrize("first, second, same", [
    ("https://api.example.com:6443", "https://api.example.com:6443/", True),
    ("https://API.example.com:6443", "HTTPS://api.example.com:6443", True),
    ("https://api.example.com:6443/prefix/", "https://api.example.com:6443/prefix", True),
    ("https://api.example.com:6443", "https://api.example.com:6444", False),
    ("https://api.example.com:6443", "http://api.example.com:6443", False),
    ("https://api.example.com/a", "https://api.example.com/A", False),   # paths are case-sensitive
    ("https://api.example.com", None, False),
])
def test_same_server(first, second, same):
    assert validation.same_server(first, second) is same
    assert validation.same_server(second, first) is same  # either way round
