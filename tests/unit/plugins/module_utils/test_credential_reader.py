"""The strict reader of a kubeconfig read from a cluster (kubeconfig.read_credential): the one accepted
form, every refused key named by its path (never its value), the size bound, and nothing run or read."""

import base64
import copy
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kubeconfig as kc
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError

from tests.unit.utils.tokens import CA, SERVER, bound_token

TOKEN = bound_token()
WHERE = "the kubeconfig in Secret tectonic-system/directory-sync on cluster 'east'"
# strings a refused kubeconfig below holds: no message may show any of them
VALUES = ("s3cr3t", "/bin/sh", "/etc/fleet", "10.0.0.9", "proxy.example", "hunter2", TOKEN)


def good(ca=CA, token=TOKEN, server=SERVER):
    return kc.build_kubeconfig(server, token, ca, "directory")


def refused(config, cluster="east"):
    """The message of the CredentialRefused that reading *config* raises (checked to hold no value)."""
    with pytest.raises(kc.CredentialRefused) as err:
        kc.read_credential(config, WHERE, cluster)
    message = str(err.value)
    for value in VALUES:
        shown = value in message  # a boolean: a failing assert must not print the value
        assert not shown, "a value of the kubeconfig shows in the message"
    assert err.value.cluster == cluster
    return message


# --- the accepted form ------------------------------------------------------------------------------------------

def test_the_accepted_form_gives_the_few_values_a_client_needs():
    credential = kc.read_credential(good(), WHERE)
    assert (credential.server, credential.token, credential.ca_pem, credential.tls_server_name, credential.name) == (
        SERVER, TOKEN, CA, None, "directory")
    assert TOKEN not in repr(credential)


def test_text_json_bytes_and_dict_are_the_same_credential():
    config = good()
    as_dict = kc.read_credential(config, WHERE)
    assert kc.read_credential(yaml.safe_dump(config), WHERE) == as_dict
    assert kc.read_credential(json.dumps(config), WHERE) == as_dict
    assert kc.read_credential(yaml.safe_dump(config).encode(), WHERE) == as_dict


def test_tls_server_name_no_current_context_no_ca_and_the_bare_minimum_are_accepted():
    config = good()
    config["clusters"][0]["cluster"]["tls-server-name"] = "directory.internal"
    del config["current-context"]
    assert kc.read_credential(config, WHERE).tls_server_name == "directory.internal"
    minimum = {"clusters": [{"name": "c", "cluster": {"server": "https://10.1.2.3:6443/prefix"}}],
               "users": [{"name": "u", "user": {"token": "abc.def"}}],
               "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    credential = kc.read_credential(minimum, WHERE)
    assert credential.ca_pem is None and credential.name == "x" and credential.server == "https://10.1.2.3:6443/prefix"


# --- refused: each key by its path ---------------------------------------------------------------------------------

EXEC = {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh",
        "args": ["-c", "touch s3cr3t; printf '{\"status\": {\"token\": \"%s\"}}'" % TOKEN]}


def _user(**fields):
    def change(config):
        config["users"][0]["user"].update(fields)
    return change


def _cluster(**fields):
    def change(config):
        config["clusters"][0]["cluster"].update(fields)
    return change


def _top(**fields):
    def change(config):
        config.update(fields)
    return change


def _second(section):
    def change(config):
        entry = copy.deepcopy(config[section][0])
        entry["name"] = "second"
        config[section].append(entry)
    return change


@pytest.mark.parametrize("change, path", [
    (_user(exec=EXEC), "users[0].user.exec is not allowed"),
    (_user(**{"auth-provider": {"name": "oidc", "config": {"id-token": "s3cr3t"}}}),
     "users[0].user.auth-provider is not allowed"),
    (_user(tokenFile="/etc/fleet/s3cr3t-token"), "users[0].user.tokenFile is not allowed"),
    (_user(**{"client-certificate": "/etc/fleet/s3cr3t.crt"}), "users[0].user.client-certificate is not allowed"),
    (_user(**{"client-key": "/etc/fleet/s3cr3t.key"}), "users[0].user.client-key is not allowed"),
    (_user(**{"client-certificate-data": "czNjcjN0"}), "users[0].user.client-certificate-data is not allowed"),
    (_user(**{"client-key-data": "czNjcjN0"}), "users[0].user.client-key-data is not allowed"),
    (_user(username="admin", password="hunter2"), "users[0].user.username is not allowed"),
    (_user(**{"as": "system:admin"}), "users[0].user.as is not allowed"),
    (_cluster(**{"certificate-authority": "/etc/fleet/s3cr3t-ca.crt"}),
     "clusters[0].cluster.certificate-authority is not allowed"),
    (_cluster(**{"insecure-skip-tls-verify": True}), "clusters[0].cluster.insecure-skip-tls-verify is not allowed"),
    (_cluster(**{"proxy-url": "http://proxy.example:3128"}), "clusters[0].cluster.proxy-url is not allowed"),
    (_cluster(extensions=[{"name": "x", "extension": "s3cr3t"}]), "clusters[0].cluster.extensions is not allowed"),
    (_second("users"), "users[1] is not allowed: one entry only"),
    (_second("clusters"), "clusters[1] is not allowed: one entry only"),
    (_second("contexts"), "contexts[1] is not allowed: one entry only"),
    (_top(extensions=[{"name": "s3cr3t"}]), "extensions is not allowed"),
    (_top(preferences={"colors": True}), "preferences.colors is not allowed"),
    (_top(**{"current-context": "other"}), "current-context does not name contexts[0]"),
    (_top(kind="Secret"), "kind is not Config"),
    (lambda config: config["contexts"][0]["context"].update(namespace="default"),
     "contexts[0].context.namespace is not allowed"),
    (lambda config: config["contexts"][0]["context"].update(cluster="other"),
     "contexts[0].context.cluster does not name clusters[0]"),
    (lambda config: config["contexts"][0]["context"].update(user="other"),
     "contexts[0].context.user does not name users[0]"),
    (lambda config: config["users"][0].update(extra="s3cr3t"), "users[0] has an unknown key"),
    (lambda config: config.update({"s3cr3t-as-a-key": 1}), "the top level has an unknown key"),
    (lambda config: config["users"][0]["user"].update({TOKEN: "x"}), "users[0].user has an unknown key"),
    (lambda config: config["users"][0]["user"].pop("token"), "users[0].user.token is missing"),
    (_user(token="s3cr3t with space"), "users[0].user.token is not a token"),
    (_user(token="s3cr3t\r\nX-Injected: 1"), "users[0].user.token is not a token"),
    (_user(token=["s3cr3t"]), "users[0].user.token is not a token"),
    (_cluster(server="http://10.0.0.9:6443"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(server="https://admin:hunter2@10.0.0.9:6443"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(server="https://10.0.0.9:6443/?s3cr3t=1"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(server="https://10.0.0.9:99999"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(server="https:///s3cr3t"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(server="https://10.0.0.9\n.example"), "clusters[0].cluster.server is not an https:// URL"),
    (_cluster(**{"certificate-authority-data": "not base64 s3cr3t!"}),
     "clusters[0].cluster.certificate-authority-data is not base64 text"),
    (_cluster(**{"certificate-authority-data": base64.b64encode(b"s3cr3t").decode()}),
     "clusters[0].cluster.certificate-authority-data holds no PEM certificate"),
    (_cluster(**{"tls-server-name": "s3cr3t name"}), "clusters[0].cluster.tls-server-name is not a host name"),
    (lambda config: config["users"][0].update(name="s3cr3t name"), "users[0].name is not a name"),
    (lambda config: config.update(users=[]), "users is missing: one entry is needed"),
    (lambda config: config.update(clusters="s3cr3t"), "clusters is missing: one entry is needed"),
    (lambda config: config.update(contexts=["s3cr3t"]), "contexts[0] is not a mapping"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_anything_but_the_accepted_form_is_refused_by_its_key_path_never_its_value(change, path):
    config = good()
    change(config)
    message = refused(config)
    assert message.startswith("%s is refused: %s" % (WHERE, path)), message
    assert message.endswith("(%s)" % kc.ACCEPTED_FORM)


def test_a_refused_kubeconfig_given_as_text_is_refused_the_same_way():
    config = good()
    config["users"][0]["user"] = {"exec": EXEC}
    assert refused(yaml.safe_dump(config)) == refused(config)


# --- bounded, safe parsing ------------------------------------------------------------------------------------------

def test_the_text_is_bounded_before_it_is_parsed(monkeypatch):
    text = yaml.safe_dump(good())
    at_bound = text + "#" * (kc.MAX_CREDENTIAL_BYTES - len(text) - 1) + "\n"
    assert len(at_bound.encode()) == kc.MAX_CREDENTIAL_BYTES
    assert kc.read_credential(at_bound, WHERE).token == TOKEN
    parsed = []
    monkeypatch.setattr(kc.yaml, "safe_load", lambda text: parsed.append(1))
    message = refused(at_bound + "#")
    assert message == "%s is refused: it is larger than %d bytes" % (WHERE, kc.MAX_CREDENTIAL_BYTES)
    assert parsed == [], "the text was parsed before its size was checked"


def test_only_yaml_safe_load_parses_it(monkeypatch):
    real, loaders = kc.yaml.load, []

    def load(stream, Loader):  # pylint: disable=invalid-name
        loaders.append(Loader)
        return real(stream, Loader)
    monkeypatch.setattr(kc.yaml, "load", load)
    assert kc.read_credential(yaml.safe_dump(good()), WHERE).token == TOKEN
    tagged = "!!python/object/apply:os.system ['touch s3cr3t']\n"
    assert refused(tagged).startswith("%s is refused: it is not valid YAML (line 1)" % WHERE)
    assert loaders == [yaml.SafeLoader, yaml.SafeLoader]


@pytest.mark.parametrize("text, why", [
    ("[" * 20000 + "]" * 20000, "it is nested too deeply"),
    ("clusters: [\n  token: s3cr3t", "it is not valid YAML (line 2)"),
    ("   \n", "it is empty"),
    (b"\xff\xfes3cr3t", "it is not UTF-8 text"),
    ("- s3cr3t\n", "it is not a kubeconfig"),
    ("/etc/fleet/s3cr3t.kubeconfig", "it is not a kubeconfig"),
])
def test_text_that_is_no_kubeconfig_is_refused_without_quoting_it(text, why):
    assert refused(text, None).startswith("%s is refused: %s" % (WHERE, why))


def test_reading_never_runs_the_exec_plugin_or_reads_a_file(tmp_path):
    marker = tmp_path / "marker"
    config = good()
    config["users"][0]["user"] = {"exec": dict(EXEC, args=["-c", "touch %s" % marker]),
                                  "tokenFile": str(tmp_path / "absent-token")}
    refused(config)
    assert kc.current_token(config)[0] is None
    assert not marker.exists()


# --- the lenient readers built on it -------------------------------------------------------------------------------

def test_current_token_takes_a_refused_kubeconfig_as_no_token_and_says_why():
    config = good()
    config["users"][0]["user"]["exec"] = EXEC  # a token beside it does not make it acceptable
    token, why = kc.current_token(yaml.safe_dump(config), WHERE)
    assert token is None and why.startswith("%s is refused: users[0].user.exec is not allowed" % WHERE)
    assert kc.current_token(kc.read_credential(good(), WHERE)) == (TOKEN, None)


def test_strings_to_hide_are_the_token_or_the_long_strings_of_a_refused_one():
    text = yaml.safe_dump(good())
    assert kc.strings_to_hide(text) == {text, TOKEN}
    assert kc.strings_to_hide(kc.read_credential(text, WHERE)) == {TOKEN}
    config = good()
    config["users"][0]["user"] = {"exec": EXEC}
    hidden = kc.strings_to_hide(config)
    assert EXEC["args"][1] in hidden and "client.authentication.k8s.io/v1" in hidden
    assert "-c" not in hidden and "/bin/sh" not in hidden  # short flags: hiding them would garble messages


def test_the_where_of_a_secret_names_it_and_the_cluster():
    assert kc.cluster_secret_where("tectonic-system", "directory-sync", "east") == WHERE


def test_credential_refused_is_a_multicluster_error():
    assert issubclass(kc.CredentialRefused, MulticlusterError)
