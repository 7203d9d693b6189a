"""The whole de-registration of one replica (mc_replica_deregistration): the order of
the steps, nothing read or written before every input is checked, the replica read
before the first write, a replica gone for good still de-registered, the old token
proven refused and in no result, and a second run that writes nothing - against an
in-memory directory and replica."""

import base64
import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import deregistration
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import onboarding
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.removal import remove_synced
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_onboarding import Lister, replica_cluster, stored_token
from tests.unit.plugins.module_utils.test_onboarding import params as onboarding_params
from tests.unit.plugins.module_utils.test_synced_removal import synced_replica
from tests.unit.utils.fake_directory import FakeDirectory
from tests.unit.utils.tokens import SERVER

CREDENTIAL_OBJECTS = ["ClusterRoleBinding east-view-clusters", "ServiceAccount tectonic-multi-cluster/east",
                      "Secret tectonic-multi-cluster/east-credential-anchor"]


class TokenProbe(object):
    """The directory's side of requests made with one token alone (ClusterClient.with_token): a
    list of Clusters answers 401 once a TokenReview no longer accepts the token. Records the tokens."""

    def __init__(self, directory):
        self.directory = directory
        self.tokens = []

    def __call__(self, token, timeout):
        self.tokens.append(token)
        directory = self.directory

        class WithToken(object):
            def pages(self, kind, page_size=None, **dummy):
                if not directory.review({"spec": {"token": token}})["status"]["authenticated"]:
                    raise MulticlusterError("list clusters: Unauthorized", details={"status": 401})
                yield [], "1"
        return WithToken()


def onboarded():
    """A directory and a replica after a whole onboarding; the directory answers token probes."""
    directory, replica = FakeDirectory(), replica_cluster()
    onboarding.onboard(directory, replica, onboarding_params(), lister=Lister())
    directory.with_token = TokenProbe(directory)
    for cluster in (directory, replica):
        cluster.writes.clear()
        cluster.requests.clear()
    return directory, replica


def params(**kw):
    base = {"name": "east", "verify_revoked": True, "revoke_timeout": 30, "remove_synced": False}
    base.update(kw)
    return base


def run(directory, replica, warnings=None, hidden=None, **kw):
    return deregistration.deregister(directory, lambda: replica, params(**kw), remove_synced=remove_synced,
                                     hide=None if hidden is None else hidden.append,
                                     warn=None if warnings is None else warnings.append, sleep=lambda s: None)


def steps(result):
    return [(r["step"], r["status"]) for r in result["summary"]]


def test_an_onboarded_replica_is_removed_from_the_directory_and_its_old_token_is_refused():
    directory, replica = onboarded()
    token = stored_token(replica)
    hidden, warnings = [], []
    result = run(directory, replica, warnings, hidden)

    assert result["changed"] and warnings == []
    assert steps(result) == [("delete Cluster from directory", "changed"),
                             ("revoke credential (old token refused)", "changed"),
                             ("remove sync Secret", "changed")]
    # the directory: the Cluster first, then the bindings (no more access), the account, its Secrets, the health
    # grants' roles and the heartbeat Lease
    assert directory.writes == [("delete", "Cluster", "east"), ("delete", "ClusterRoleBinding", "east-view-clusters"),
                                ("delete", "RoleBinding", "east-heartbeat"),
                                ("delete", "ClusterRoleBinding", "east-cluster-status"),
                                ("delete", "ServiceAccount", "east"), ("delete", "Secret", "east-credential-anchor"),
                                ("delete", "Role", "east-heartbeat"), ("delete", "ClusterRole", "east-cluster-status"),
                                ("delete", "Lease", "east")]
    assert directory.stored("Cluster", "east") is None
    # the replica: its sync Secret only
    assert replica.writes == [("delete", "Secret", names.CREDENTIAL_SECRET)]
    assert replica.stored("Deployment", names.AGENT_DEPLOYMENT, names.SYSTEM_NAMESPACE) is not None
    # the very token the replica held was tried, and refused
    assert directory.with_token.tokens == [token]
    assert result["revoked"] is True and result["revocation_check"] == "old token refused"
    assert result["removed"] == {"cluster": "east", "credential": CREDENTIAL_OBJECTS,
                                 "secret": "Secret tectonic-system/directory-sync", "synced": None}
    assert result["service_account"] == "tectonic-multi-cluster/east"
    # the token is in no result, and what the replica held is handed to hide()
    assert token not in json.dumps(result)
    assert any(token in value for value in hidden)


def test_a_second_run_writes_nothing_and_says_the_old_token_was_not_tested():
    directory, replica = onboarded()
    run(directory, replica)
    directory.writes.clear()
    replica.writes.clear()
    directory.with_token.tokens.clear()

    again = run(directory, replica)
    assert not again["changed"]
    assert directory.writes == [] and replica.writes == [] and directory.with_token.tokens == []
    assert {status for _step, status in steps(again)} == {"ok"}
    assert again["revocation_check"] == "not tested: the replica holds no credential"
    assert again["removed"] == {"cluster": None, "credential": [], "secret": None, "synced": None}


@pytest.mark.parametrize("kw, match", [
    ({"name": "East"}, "replica name 'East' is not a DNS-1123 label"),
    ({"name": None}, "replica name"),
    ({"revoke_timeout": 0}, "revoke_timeout must be a positive number"),
])
def test_bad_input_is_refused_before_the_replica_is_reached_or_anything_is_read(kw, match):
    directory, replica = onboarded()
    connected = []

    def connect():
        connected.append(True)
        return replica
    with pytest.raises(MulticlusterError, match=match) as raised:
        deregistration.deregister(directory, connect, params(**kw), remove_synced=remove_synced)
    # the message names the directory it was meant for
    assert str(raised.value).startswith("de-register a replica from cluster 'fake-directory': ")
    assert raised.value.cluster == "fake-directory"
    assert connected == [] and replica.requests == [] and directory.requests == [] and directory.writes == []


def test_a_replica_gone_for_good_is_removed_from_the_directory_and_its_secret_reported_not_cleaned():
    directory, replica = onboarded()

    def gone():
        raise MulticlusterError("cannot load kubeconfig /etc/fleet/east.kubeconfig: file does not exist")
    warnings = []
    result = deregistration.deregister(directory, gone, params(), warn=warnings.append, sleep=lambda s: None)
    assert result["changed"]
    assert steps(result) == [("delete Cluster from directory", "changed"),
                             ("revoke credential (not tested: the replica could not be read)", "changed"),
                             ("remove sync Secret", "not cleaned")]
    assert "file does not exist" in result["summary"][2]["msg"]
    assert directory.stored("Cluster", "east") is None and directory.stored("ServiceAccount", "east",
                                                                            names.CREDENTIALS_NAMESPACE) is None
    assert directory.with_token.tokens == [] and "revoked" not in result
    assert len(warnings) == 1 and "file does not exist" in warnings[0]


def test_a_replica_that_does_not_answer_is_asked_once():
    directory, replica = onboarded()
    replica.failures[("get", "Secret")] = MulticlusterError(
        "read Secret tectonic-system/directory-sync on cluster 'east': the API server did not answer within 30 s",
        cluster="east")
    asked, get = [], replica.get

    def counted(*args):
        asked.append(args)
        return get(*args)
    replica.get = counted
    result = run(directory, replica, warnings=[])
    assert result["summary"][2]["status"] == "not cleaned" and "did not answer" in result["summary"][2]["msg"]
    # one request, which waited its whole deadline: not a second one for the Secret step
    assert asked == [("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE)] and replica.writes == []


def test_with_remove_synced_a_replica_that_cannot_be_read_fails_before_any_write():
    directory, replica = onboarded()
    replica.failures[("get", "Secret")] = MulticlusterError(
        "read Secret tectonic-system/directory-sync on cluster 'east': the API server did not answer within 30 s",
        cluster="east")
    with pytest.raises(MulticlusterError, match="remove_synced needs it.*did not answer") as raised:
        run(directory, replica, remove_synced=True)
    assert raised.value.details["step"] == "read the replica" and raised.value.cluster == "east"
    assert directory.writes == [] and directory.stored("Cluster", "east") is not None


def test_remove_synced_removes_the_secret_then_what_the_directory_put_there():
    directory, replica = FakeDirectory(), synced_replica()
    replica.add({"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": names.CREDENTIAL_SECRET, "namespace": names.SYSTEM_NAMESPACE},
                 "data": {names.CREDENTIAL_SECRET_KEY: ""}})
    replica.writes.clear()
    result = run(directory, replica, remove_synced=True, verify_revoked=False)
    assert replica.writes[:2] == [("delete", "Secret", names.CREDENTIAL_SECRET),
                                  ("delete", "Deployment", names.AGENT_DEPLOYMENT)]
    synced = result["removed"]["synced"]
    assert "Deployment tectonic-system/directory-sync" in synced and "Cluster east" in synced
    assert steps(result)[-1] == ("remove synced objects (%d deleted, 0 released)" % len(synced), "changed")
    assert result["released"] == [] and "revocation_check" not in result
    # nothing of the directory was there: only the replica changed
    assert directory.writes == [] and result["removed"]["cluster"] is None
    replica.writes.clear()
    again = run(directory, replica, remove_synced=True, verify_revoked=False)
    assert not again["changed"] and replica.writes == [] and again["removed"]["synced"] == []


def test_check_mode_removes_nothing_tests_no_token_and_says_what_it_would_remove():
    directory, replica = onboarded()
    directory.check_mode = replica.check_mode = True
    result = run(directory, replica)
    assert result["changed"] and directory.writes == [] and replica.writes == []
    assert directory.with_token.tokens == [] and result["revocation_check"] == "not tested in check mode"
    assert result["removed"]["cluster"] == "east" and result["removed"]["secret"]
    assert result["diff"]["before"]["cluster"]["metadata"]["name"] == "east" and result["diff"]["after"]["cluster"] == {}
    assert directory.stored("Cluster", "east") is not None


def test_a_credential_refused_as_data_is_never_used_and_its_secret_still_removed():
    directory, replica = onboarded()
    refused = build_kubeconfig(SERVER, "t0ken-in-an-exec-plugin", None, "directory")
    refused["users"][0]["user"] = {"exec": {"command": "/bin/sh", "args": ["-c", "t0ken-in-an-exec-plugin"]}}
    replica.patch("Secret", names.CREDENTIAL_SECRET, {"data": {
        names.CREDENTIAL_SECRET_KEY: base64.b64encode(json.dumps(refused).encode()).decode()}}, names.SYSTEM_NAMESPACE,
        content_type="application/merge-patch+json")
    replica.writes.clear()
    hidden = []
    result = run(directory, replica, hidden=hidden)
    assert result["revocation_check"].startswith("not tested: ") and "exec" in result["revocation_check"]
    assert directory.with_token.tokens == []
    assert replica.writes == [("delete", "Secret", names.CREDENTIAL_SECRET)]
    assert hidden and "t0ken-in-an-exec-plugin" not in json.dumps(result)


def test_an_old_token_still_accepted_fails_the_revocation_step():
    directory, replica = onboarded()

    class Accepting(object):
        def pages(self, kind, page_size=None, **dummy):
            yield [], "1"

    directory.with_token = lambda token, timeout: Accepting()
    ticks = iter(range(0, 1000, 5))
    with pytest.raises(MulticlusterError, match="still accepted") as raised:
        deregistration.deregister(directory, lambda: replica, params(), sleep=lambda s: None,
                                  clock=lambda: next(ticks))
    assert raised.value.details["step"] == "revoke credential"
    assert replica.writes == []  # the Secret stays: the run is not done


def test_a_secret_the_replica_refuses_to_remove_is_reported_and_the_rest_is_done():
    directory, replica = onboarded()
    replica.failures[("delete", "Secret")] = MulticlusterError(
        "delete Secret tectonic-system/directory-sync on cluster 'east': Forbidden", cluster="east")
    warnings = []
    result = run(directory, replica, warnings)
    assert result["changed"] and result["summary"][2] == {
        "step": "remove sync Secret", "status": "not cleaned",
        "msg": "delete Secret tectonic-system/directory-sync on cluster 'east': Forbidden"}
    assert directory.stored("Cluster", "east") is None and result["revoked"] is True
    assert warnings and "Forbidden" in warnings[0]
