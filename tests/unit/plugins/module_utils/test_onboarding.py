"""The whole onboarding of one replica (mc_replica_onboarding): the order of the
steps, nothing written before every input is checked and the replica is read,
the credential never in the result, and a converged run that writes nothing -
against an in-memory directory and replica."""

import base64
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import cluster as mc_cluster
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import onboarding
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import resolve_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.fake_directory import FakeDirectory

REPLICA_SERVER = "https://east.example.com:6443"
DIRECTORY_SERVER = "https://directory.example.com:443"


def replica_cluster(installed_as="east", check_mode=False):
    replica = FakeCluster(label="east", server=REPLICA_SERVER, check_mode=check_mode)
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "uid": "ks-uid-east"}})
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tectonic-system"}})
    replica.add({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": names.CLUSTER_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE},
                 "data": {names.CLUSTER_NAME_KEY: installed_as}})
    replica.add({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": names.AGENT_DEPLOYMENT, "namespace": names.SYSTEM_NAMESPACE},
                 "spec": {"template": {"metadata": {"annotations": {}}}}})
    return replica


class Lister(object):
    """Stands in for listing Clusters with the credential: records the server and the token it was given."""

    def __init__(self, count=3, error=None):
        self.calls = []
        self._count = count
        self._error = error

    def __call__(self, config, server, request_timeout=None):
        self.calls.append((server, resolve_kubeconfig(config)["user"]["token"]))
        if self._error:
            raise self._error
        return self._count


def params(**kw):
    base = {"name": "east", "labels": {"stage": "production", "cloud": "aws"}, "purge_labels": False,
            "console_url": "https://console.east.example.com", "endpoints": [REPLICA_SERVER],
            "verify_identity": True, "credential_type": "token_request", "token_ttl": 2592000,
            "renew_before": 604800, "rotate": False, "directory_server": DIRECTORY_SERVER,
            "directory_name": "directory", "verify_credential": True}
    base.update(kw)
    return base


def stored_token(replica):
    secret = replica.stored("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE)
    config = yaml.safe_load(base64.b64decode(secret["data"][names.CREDENTIAL_SECRET_KEY]))
    return resolve_kubeconfig(config)["user"]["token"]


def test_a_new_replica_is_registered_given_a_credential_which_is_stored_and_proven():
    directory, replica, lister, hidden = FakeDirectory(), replica_cluster(), Lister(count=3), []
    result = onboarding.onboard(directory, replica, params(), lister=lister, hide=hidden.append)

    assert result["changed"]
    assert [(r["step"], r["status"]) for r in result["summary"]] == [
        ("register in directory", "changed"), ("credential on directory", "changed"),
        ("sync Secret tectonic-system/directory-sync", "changed"),
        ("credential lists 3 Clusters on the directory", "ok")]
    registered = directory.stored("Cluster", "east")
    assert registered["metadata"]["labels"] == {"stage": "production", "cloud": "aws"}
    assert registered["metadata"]["annotations"][mc_cluster.UID_ANNOTATION] == "ks-uid-east"
    assert result["cluster"]["server"] == REPLICA_SERVER
    # the order of the directory's writes: the Cluster first, then the credential's objects
    assert [kind for _verb, kind, _name in directory.writes] == [
        "Cluster", "ServiceAccount", "ClusterRoleBinding", "Lease", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret", "TokenRequest"]
    token = stored_token(replica)
    # proven once, with the very token stored, against the address replicas use, before the write
    assert lister.calls == [(DIRECTORY_SERVER, token)]
    assert result["clusters_visible"] == 3
    assert result["secret"]["present"] and result["deployment"]["updated"]
    # the credential is in no result, and handed to hide() to keep it out of every output
    assert token not in json.dumps(result) and "kubeconfig" not in result
    assert any(token in json.dumps(value) for value in hidden)


def test_a_second_run_writes_nothing_and_proves_the_credential_once():
    directory, replica = FakeDirectory(), replica_cluster()
    onboarding.onboard(directory, replica, params(), lister=Lister())
    token = stored_token(replica)
    directory.writes.clear()
    replica.writes.clear()

    lister = Lister(count=2)
    result = onboarding.onboard(directory, replica, params(), lister=lister)
    assert not result["changed"]
    assert directory.writes == [] and replica.writes == []
    assert {r["status"] for r in result["summary"]} == {"ok"}
    assert result["summary"][-1]["step"] == "credential lists 2 Clusters on the directory"
    assert lister.calls == [(DIRECTORY_SERVER, token)]
    assert result["credential"]["minted"] is False


@pytest.mark.parametrize("kw, match", [
    ({"token_ttl": 60}, "at least 600"),
    ({"labels": {"Bad Label": "x"}}, "label"),
    ({"endpoints": ["east.example.com:6443"]}, "endpoint"),
    ({"name": "East"}, "DNS-1123"),
    ({"directory_server": "directory:443"}, "directory_server"),
])
def test_bad_input_of_any_step_is_refused_before_anything_is_read_or_written(kw, match):
    directory, replica = FakeDirectory(), replica_cluster()
    with pytest.raises(MulticlusterError, match=match):
        onboarding.onboard(directory, replica, params(**kw), lister=Lister())
    assert directory.requests == [] and replica.requests == [] and directory.writes == []


def test_an_unreachable_replica_fails_before_the_directory_is_written():
    directory, replica = FakeDirectory(), replica_cluster()
    replica.failures[("get", "Secret")] = MulticlusterError(
        "read Secret tectonic-system/directory-sync on cluster 'east': the API server did not answer within 30 s",
        cluster="east")
    with pytest.raises(MulticlusterError, match="did not answer") as raised:
        onboarding.onboard(directory, replica, params(), lister=Lister())
    assert raised.value.details["step"] == "read the replica" and raised.value.cluster == "east"
    assert directory.writes == []


def test_a_cluster_installed_under_another_name_is_refused_before_any_write():
    directory, replica = FakeDirectory(), replica_cluster(installed_as="central")
    with pytest.raises(MulticlusterError, match="installed as 'central'") as raised:
        onboarding.onboard(directory, replica, params(), lister=Lister())
    assert raised.value.details["step"] == "register in directory"
    assert directory.writes == [] and replica.writes == []


def test_without_the_identity_check_the_replica_is_not_asked_who_it_is():
    directory, replica = FakeDirectory(), replica_cluster(installed_as="central")
    result = onboarding.onboard(directory, replica, params(verify_identity=False), lister=Lister())
    assert result["changed"] and mc_cluster.UID_ANNOTATION not in (
        directory.stored("Cluster", "east")["metadata"].get("annotations") or {})


def test_a_credential_that_cannot_list_is_not_stored():
    directory, replica = FakeDirectory(), replica_cluster()
    lister = Lister(error=MulticlusterError("the credential cannot list Clusters on directory '%s': 403 Forbidden"
                                            % DIRECTORY_SERVER, cluster=DIRECTORY_SERVER))
    with pytest.raises(MulticlusterError, match="cannot list") as raised:
        onboarding.onboard(directory, replica, params(), lister=lister)
    assert raised.value.details["step"] == "sync Secret tectonic-system/directory-sync"
    assert replica.stored("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE) is None and replica.writes == []
    assert len(lister.calls) == 1


def test_verify_credential_off_stores_without_listing():
    directory, replica, lister = FakeDirectory(), replica_cluster(), Lister()
    result = onboarding.onboard(directory, replica, params(verify_credential=False), lister=lister)
    assert lister.calls == [] and result["clusters_visible"] is None
    assert replica.stored("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE) is not None
    assert [r["step"] for r in result["summary"]][-1] == "sync Secret tectonic-system/directory-sync"


def test_check_mode_mints_nothing_and_skips_the_secret():
    directory, replica, lister = FakeDirectory(check_mode=True), replica_cluster(check_mode=True), Lister()
    result = onboarding.onboard(directory, replica, params(), lister=lister)
    assert result["changed"] and directory.writes == [] and replica.writes == []
    assert result["credential"]["minted"] and result["secret"] is None and lister.calls == []
    assert result["summary"][2] == {"step": "sync Secret tectonic-system/directory-sync", "status": "skipped"}
    assert result["diff"]["before"]["cluster"] == {} and result["diff"]["after"]["cluster"]["metadata"]["name"] == "east"


def test_rotate_replaces_the_stored_credential():
    directory, replica = FakeDirectory(), replica_cluster()
    onboarding.onboard(directory, replica, params(), lister=Lister())
    old = stored_token(replica)
    result = onboarding.onboard(directory, replica, params(rotate=True), lister=Lister())
    assert result["changed"] and result["credential"]["minted"]
    assert stored_token(replica) != old
    assert result["deployment"]["updated"]


def test_each_steps_inputs_are_validated_once(monkeypatch):
    """At the module boundary, into Settings the steps take as they are (not again inside each ensure)."""
    from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential
    from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_secret
    calls = []
    for module in (mc_cluster, replica_credential, replica_secret):
        original = module.validate

        def counted(params, _original=original, _name=module.__name__.rsplit(".", 1)[-1]):
            calls.append(_name)
            return _original(params)
        monkeypatch.setattr(module, "validate", counted)
    result = onboarding.onboard(FakeDirectory(), replica_cluster(), params(), lister=Lister())
    assert result["changed"]
    assert sorted(calls) == ["cluster", "replica_credential", "replica_secret"]
