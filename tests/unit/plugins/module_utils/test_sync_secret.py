"""The replica's directory-sync Secret: canonical content, plans, views, and
the present/absent flows against an in-memory replica."""

import base64
import copy
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_secret as ss
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster

SERVER = "https://directory.example.com:6443"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-s3cr3t"


def config(token=TOKEN, server=SERVER):
    return build_kubeconfig(server, token, b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")


def params(**kw):
    base = {"state": "present", "kubeconfig_content": config(), "name": "directory-sync",
            "namespace": "tectonic-system", "deployment": "directory-sync", "verify_credential": True}
    base.update(kw)
    return base


def stored(secret):
    return base64.b64decode(secret["data"]["kubeconfig"]).decode()


# --- pure ---------------------------------------------------------------------------------------------

def test_dict_text_and_json_are_the_same_content():
    as_dict = ss.validate(params())
    as_text = ss.validate(params(kubeconfig_content=yaml.safe_dump(config(), sort_keys=False)))
    as_json = ss.validate(params(kubeconfig_content=json.dumps(config(), indent=4)))
    assert as_dict["text"] == as_text["text"] == as_json["text"]
    assert as_dict["hash"] == as_text["hash"] and len(as_dict["hash"]) == 64
    assert as_dict["server"] == SERVER


@pytest.mark.parametrize("content, match", [
    ("clusters: [\nusers: " + TOKEN, "not valid YAML"),
    ("just text " + TOKEN, "not a kubeconfig"),
    ({"apiVersion": "v1", "users": [{"name": "u", "user": {"token": TOKEN}}]}, "clusters is missing"),
    ("", "required with state=present"),
    (None, "required with state=present"),
    (["a", TOKEN], "not a kubeconfig"),
])
def test_bad_content_is_refused_without_quoting_it(content, match):
    with pytest.raises(MulticlusterError, match=match) as err:
        ss.validate(params(kubeconfig_content=content))
    assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize("kw, match", [
    ({"name": "Directory_Sync"}, "name 'Directory_Sync'"),
    ({"namespace": "tectonic.system"}, "namespace"),
    ({"deployment": "Bad"}, "deployment"),
])
def test_bad_names_are_refused(kw, match):
    with pytest.raises(MulticlusterError, match=match):
        ss.validate(params(**kw))


def test_absent_needs_no_content():
    assert ss.validate(params(state="absent", kubeconfig_content=None))["name"] == "directory-sync"
    assert ss.validate(params(deployment=""))["deployment"] == ""


def test_what_the_secret_and_the_deployment_must_hold():
    settings = ss.validate(params())
    body = ss.desired_secret(settings)
    assert stored(body) == settings["text"] and not ss.holds(None, settings) and ss.holds(body, settings)
    assert body["metadata"]["annotations"][names.CREDENTIAL_HASH_ANNOTATION] == settings["hash"]
    # the same kubeconfig, formatted otherwise, is no change
    hand_made = copy.deepcopy(body)
    hand_made["data"]["kubeconfig"] = base64.b64encode(json.dumps(config()).encode()).decode()
    assert ss.holds(hand_made, settings)
    other = ss.validate(params(kubeconfig_content=config(token="another")))
    assert not ss.holds(body, other)
    assert not ss.holds({"data": {"kubeconfig": "!!not base64"}}, settings)

    deployment = {"metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                  "spec": {"template": {"metadata": {}}}}
    assert ss.rolled_deployment(None, "abc") is None
    assert ss.rolled_deployment(deployment, "abc") == {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": deployment["metadata"],
        "spec": {"template": {"metadata": {"annotations": {names.CREDENTIAL_HASH_ANNOTATION: "abc"}}}}}
    deployment["spec"]["template"]["metadata"]["annotations"] = {names.CREDENTIAL_HASH_ANNOTATION: "abc"}
    assert ss.rolled_deployment(deployment, "abc") is None


def test_secret_view_shows_keys_and_hashes_only():
    settings = ss.validate(params())
    body = ss.desired_secret(settings)
    body["data"]["extra"] = base64.b64encode(b"other-s3cr3t").decode()
    view = ss.secret_view(body)
    assert set(view["data"]) == {"kubeconfig", "extra"}
    assert all(value.startswith("sha256:") for value in view["data"].values())
    assert "s3cr3t" not in json.dumps(view) and TOKEN not in json.dumps(view)


# --- flows, against an in-memory replica ----------------------------------------------------------------

def FakeReplica(check_mode=False):  # noqa: N802 - reads as the class it stands for
    return FakeCluster(label="fake-replica", server="https://replica.example.com:6443", check_mode=check_mode)


def stored_secret(replica):
    return replica.stored("Secret", "directory-sync", "tectonic-system")


class Verifier:
    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def __call__(self, config, server, request_timeout=None):
        self.calls.append(server)
        if self.error:
            raise MulticlusterError("the credential cannot list Clusters on directory '%s': %s" % (server, self.error))


def run(replica, verifier=None, **kw):
    return ss.ensure_present(replica, params(**kw), verifier=verifier or Verifier())


def test_check_apply_check_apply():
    replica = FakeReplica(check_mode=True)
    verifier = Verifier()
    check = run(replica, verifier)
    assert check["changed"] and not replica.writes and verifier.calls == [SERVER]
    assert check["secret"]["present"] and not check["deployment"]["present"]
    replica.check_mode = False
    apply = run(replica, verifier)
    assert apply["changed"] and replica.writes == [("create", "Secret", "directory-sync")]
    assert stored(stored_secret(replica)) == ss.canonical(config())
    replica.writes.clear()
    for check_mode in (True, False):
        replica.check_mode = check_mode
        again = run(replica, verifier, kubeconfig_content=yaml.safe_dump(config()))
        assert not again["changed"]
    assert not replica.writes
    assert len(verifier.calls) == 2, "an unchanged credential is not verified again"
    assert TOKEN not in json.dumps(apply)


def test_a_credential_that_cannot_list_clusters_writes_nothing():
    replica = FakeReplica()
    with pytest.raises(MulticlusterError, match="cannot list Clusters on directory '%s': Unauthorized" % SERVER):
        run(replica, Verifier("Unauthorized"))
    assert not replica.writes
    unverified = run(replica, Verifier("Unauthorized"), verify_credential=False)
    assert unverified["changed"]


def test_new_content_rolls_the_deployment():
    replica = FakeReplica()
    run(replica)
    replica.add({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                 "spec": {"template": {"metadata": {"labels": {"app": "directory-sync"}}}}})
    replica.writes.clear()
    # the Deployment came after the Secret: it is given the current hash once
    first = run(replica)
    assert first["changed"] and first["deployment"]["updated"]
    assert replica.writes == [("patch", "Deployment", "directory-sync")]
    replica.writes.clear()
    assert not run(replica)["changed"] and not replica.writes

    rotated = run(replica, kubeconfig_content=config(token="new-token"))
    assert rotated["changed"] and rotated["deployment"]["updated"]
    assert replica.writes == [("patch", "Secret", "directory-sync"), ("patch", "Deployment", "directory-sync")]
    annotations = replica.stored("Deployment", "directory-sync", "tectonic-system")["spec"]["template"]["metadata"]
    assert annotations["annotations"][names.CREDENTIAL_HASH_ANNOTATION] == rotated["credential_hash"]
    assert rotated["diff"]["before"]["secret"]["data"]["kubeconfig"] != rotated["diff"]["after"]["secret"]["data"][
        "kubeconfig"]
    assert "new-token" not in json.dumps(rotated)


def test_absent():
    replica = FakeReplica()
    run(replica)
    replica.writes.clear()
    replica.check_mode = True
    assert ss.ensure_absent(replica, params(state="absent"))["changed"] and not replica.writes
    replica.check_mode = False
    assert ss.ensure_absent(replica, params(state="absent"))["changed"]
    assert replica.writes == [("delete", "Secret", "directory-sync")]
    assert not ss.ensure_absent(replica, params(state="absent"))["changed"]


def test_verify_credential_names_the_directory_and_the_reason():
    server = "https://127.0.0.1:1"
    with pytest.raises(MulticlusterError, match="^the credential cannot list Clusters on directory 'https://127.0.0.1:1': "
                                                "cannot connect to .*connection refused") as err:
        ss.verify_credential(config(server=server), server, 5)
    assert "s3cr3t" not in str(err.value)
    broken = config()
    broken["users"][0]["user"] = {"exec": {"command": "/nonexistent/s3cr3t-helper", "apiVersion": "v1"}}
    with pytest.raises(MulticlusterError, match="^the credential cannot list Clusters on directory") as err:
        ss.verify_credential(broken, SERVER, 5)
    assert "s3cr3t" not in str(err.value)


# --- reading the replica's current credential (mc_replica_credentials' replica_connection) ------------

def test_read_replica_credential_returns_the_stored_kubeconfig():
    replica = FakeReplica()
    settings = ss.validate(params())
    replica.add(ss.desired_secret(settings))
    text, warning = ss.read_replica_credential(lambda: replica, "present")
    assert warning is None and yaml.safe_load(text) == config()
    assert replica.writes == []


def test_read_replica_credential_without_a_secret_is_no_credential():
    assert ss.read_replica_credential(FakeReplica, "present") == (None, None)


def _unreachable():
    raise MulticlusterError("read Secret tectonic-system/directory-sync on cluster 'gone': connection refused",
                            cluster="gone")


def test_an_unreadable_replica_fails_onboarding_before_any_write():
    with pytest.raises(MulticlusterError, match="read the current credential of the replica.*connection refused") as err:
        ss.read_replica_credential(_unreachable, "present")
    assert err.value.cluster == "gone"


def test_an_unreadable_replica_is_only_a_warning_when_de_registering():
    text, warning = ss.read_replica_credential(_unreachable, "absent")
    assert text is None
    assert "connection refused" in warning and "cannot be tested" in warning
