"""Replica credentials: input checks, and the present/absent flows against an in-memory directory."""

import itertools
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kubeconfig as kc
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import redaction
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential as rc
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import objects as ro
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import timestamps
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import tokens as tk
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_directory import FakeDirectory
from tests.unit.utils.tokens import NOW, SERVER, params


# --- input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "East", "-east", "east-", "e_st", "a" * 64, "east.coast", None])
def test_bad_replica_names_are_refused(name):
    with pytest.raises(MulticlusterError, match="DNS-1123"):
        rc.validate(params(name=name))


@pytest.mark.parametrize("kw, match", [
    ({"token_ttl": 599}, "at least 600"),
    ({"renew_before": 2592000}, "less than token_ttl"),
    ({"renew_before": -1}, "at least 0"),
    ({"directory_server": "directory.example.com:6443"}, "directory_server"),
    ({"directory_name": "my dir"}, "white space"),
    ({"revoke_timeout": 0}, "revoke_timeout"),
    ({"verify_revoked": True}, "state=absent or rotate=true"),
])
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(MulticlusterError, match=match):
        rc.validate(params(**kw))


def test_defaults_and_names():
    settings = rc.validate({"name": "east"})
    assert settings["token_ttl"] == 30 * 86400 and settings["renew_before"] == 7 * 86400
    assert settings["credential_type"] == "token_request" and settings["directory_name"] == "directory"
    assert ro.object_names("east") == {"service_account": "east", "binding": "east-view-clusters",
                                       "anchor": "east-credential-anchor", "token_secret": "east-credential-token",
                                       "lease": "east", "heartbeat_role": "east-heartbeat",
                                       "status_role": "east-cluster-status"}
    assert rc.validate(params(verify_revoked=True, rotate=True))["verify_revoked"]
    assert rc.validate(params(state="absent", verify_revoked=True))["verify_revoked"]


# --- the flows, against an in-memory directory ---------------------------------------------------------

def present(directory, **kw):
    return rc.ensure_present(directory, params(**kw), now=directory.clock(), sleep=lambda s: None)


def test_check_mode_mints_nothing_and_reports_a_change():
    directory = FakeDirectory(check_mode=True)
    result = present(directory)
    assert result["changed"] and result["kubeconfig"] is None and not directory.writes
    assert result["credential"]["minted"] and "no current kubeconfig" in result["credential"]["reason"]
    assert result["diff"]["before"]["service_account"] is None
    assert result["diff"]["after"]["credential"]["token"] == ro.NEW_TOKEN


def test_apply_then_rerun_with_the_current_kubeconfig_writes_nothing():
    directory = FakeDirectory()
    first = present(directory, directory_server="https://dir.example.com")
    assert first["changed"] and first["credential"]["minted"]
    kinds = [w[1] for w in directory.writes]
    assert kinds == ["ServiceAccount", "ClusterRoleBinding", "Lease", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret", "TokenRequest"]
    config = first["kubeconfig"]
    assert kc.resolve_kubeconfig(config)["server"] == "https://dir.example.com"
    token = kc.resolve_kubeconfig(config)["user"]["token"]
    assert first["credential"]["expires_at"] == timestamps.iso_time(NOW + 2592000)
    assert token not in json.dumps({k: v for k, v in first.items() if k != "kubeconfig"})

    directory.writes.clear()
    directory.check_mode = True
    again_check = present(directory, current_kubeconfig=yaml.safe_dump(config), directory_server="https://dir.example.com")
    directory.check_mode = False
    again = present(directory, current_kubeconfig=config, directory_server="https://dir.example.com")
    for result in (again_check, again):
        assert not result["changed"] and not result["credential"]["minted"]
        assert result["credential"]["reason"] is None
        assert result["kubeconfig"] == config
    assert not directory.writes


def test_near_expiry_renews_on_the_same_anchor():
    clock = [NOW]
    directory = FakeDirectory(clock=lambda: clock[0])
    first = present(directory)
    clock[0] = NOW + 2592000 - 3600
    directory.writes.clear()
    second = present(directory, current_kubeconfig=first["kubeconfig"])
    assert second["changed"] and "within 604800 seconds" in second["credential"]["reason"]
    assert directory.writes == [("create", "TokenRequest", "east")]
    assert second["kubeconfig"] != first["kubeconfig"]


def test_a_refused_token_is_replaced():
    directory = FakeDirectory()
    first = present(directory)
    directory.writes.clear()
    # the token is fine by its claims, but the directory does not accept it
    directory.review = lambda body: {"status": {"authenticated": False, "error": "bad signature"}}
    second = present(directory, current_kubeconfig=first["kubeconfig"])
    assert second["changed"] and "bad signature" in second["credential"]["reason"]


def test_rotate_replaces_the_anchor():
    directory = FakeDirectory()
    first = present(directory)
    anchor_uid = directory.stored("Secret", "east-credential-anchor", names.CREDENTIALS_NAMESPACE)["metadata"]["uid"]
    directory.writes.clear()
    directory.check_mode = True
    check = present(directory, rotate=True, current_kubeconfig=first["kubeconfig"])
    assert check["changed"] and check["kubeconfig"] is None and not directory.writes
    assert check["diff"]["after"]["credential_anchor"]["uid"] == ro.NEW_OBJECT
    directory.check_mode = False
    rotated = present(directory, rotate=True, current_kubeconfig=first["kubeconfig"])
    assert rotated["changed"] and "rotate" in rotated["credential"]["reason"]
    assert directory.writes == [("delete", "Secret", "east-credential-anchor"),
                                ("create", "Secret", "east-credential-anchor"), ("create", "TokenRequest", "east")]
    assert directory.stored("Secret", "east-credential-anchor", names.CREDENTIALS_NAMESPACE)["metadata"]["uid"] != anchor_uid
    # the old token is now bound to a Secret that is gone
    old = kc.resolve_kubeconfig(first["kubeconfig"])["user"]["token"]
    assert not directory.review({"spec": {"token": old}})["status"]["authenticated"]


def test_rotate_with_verify_revoked_polls_the_old_token():
    directory = FakeDirectory()
    first = present(directory)
    answers = iter([(200, None), (403, None), (401, None)])
    result = rc.ensure_present(directory, params(rotate=True, verify_revoked=True, current_kubeconfig=first["kubeconfig"]),
                               now=NOW, sleep=lambda s: None, probe=lambda: next(answers))
    assert result["revoked"] is True


def test_service_account_token_type():
    directory = FakeDirectory()
    directory.check_mode = True
    check = present(directory, credential_type="service_account_token")
    assert check["changed"] and check["kubeconfig"] is None and not directory.writes
    directory.check_mode = False
    first = present(directory, credential_type="service_account_token")
    assert first["changed"] and first["credential"]["expires_at"] is None
    token = kc.resolve_kubeconfig(first["kubeconfig"])["user"]["token"]
    assert tk.token_facts(token)["secret"] == "east-credential-token"
    directory.writes.clear()
    for check_mode in (True, False):
        directory.check_mode = check_mode
        again = present(directory, credential_type="service_account_token")
        assert not again["changed"] and again["kubeconfig"] == first["kubeconfig"]
    assert not directory.writes
    # switching type revokes the other credential
    switched = present(directory, credential_type="token_request")
    assert switched["changed"] and ("delete", "Secret", "east-credential-token") in directory.writes


def test_service_account_token_wait_is_bounded():
    ticks = itertools.count()
    directory = FakeDirectory(fill_tokens=False)
    with pytest.raises(MulticlusterError, match="did not fill it within 30s"):
        rc.ensure_present(directory, params(credential_type="service_account_token"), now=NOW,
                          sleep=lambda s: None, clock=lambda: next(ticks))


def test_a_binding_with_another_role_is_replaced():
    directory = FakeDirectory()
    wrong = ro.desired_binding("east")
    wrong["roleRef"]["name"] = "cluster-admin"
    directory.add(wrong)
    result = present(directory)
    assert result["diff"]["before"]["cluster_role_binding"]["role_ref"] == "ClusterRole cluster-admin"
    assert result["diff"]["after"]["cluster_role_binding"]["role_ref"] == "ClusterRole tectonic-view-clusters"
    assert ("delete", "ClusterRoleBinding", "east-view-clusters") in directory.writes


def test_absent_revokes_everything_and_is_idempotent():
    directory = FakeDirectory()
    first = present(directory)
    # the v1.20 token controller's own token Secret for the account
    auto = ro.desired_token_secret("east")
    auto["metadata"]["name"] = "east-token-x7k2p"
    directory.add(auto)
    directory.writes.clear()

    directory.check_mode = True
    check = rc.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                               current_kubeconfig=first["kubeconfig"]), probe=lambda: 1 / 0)
    assert check["changed"] and "revoked" not in check and not directory.writes

    directory.check_mode = False
    answers = iter([(200, None), (None, "timeout"), (401, None)])
    gone = rc.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                              current_kubeconfig=first["kubeconfig"]),
                            sleep=lambda s: None, probe=lambda: next(answers))
    assert gone["changed"] and gone["revoked"] is True
    # the bindings first (no more access), the account, its Secrets, then the health grants' roles and the Lease
    assert directory.writes[:4] == [("delete", "ClusterRoleBinding", "east-view-clusters"),
                                    ("delete", "RoleBinding", "east-heartbeat"),
                                    ("delete", "ClusterRoleBinding", "east-cluster-status"),
                                    ("delete", "ServiceAccount", "east")]
    assert sorted(w[2] for w in directory.writes[4:6]) == ["east-credential-anchor", "east-token-x7k2p"]
    assert directory.writes[6:] == [("delete", "Role", "east-heartbeat"), ("delete", "ClusterRole", "east-cluster-status"),
                                    ("delete", "Lease", "east")]
    assert [k for k in directory.objects if k[0] != "ClusterRole"] == []
    assert [k for k in directory.objects if k[2] == "east-cluster-status"] == []

    directory.writes.clear()
    again = rc.ensure_absent(directory, params(state="absent"))
    assert not again["changed"] and not directory.writes


def test_absent_fails_when_the_old_token_stays_accepted():
    directory = FakeDirectory()
    first = present(directory)
    ticks = itertools.count(step=5)
    with pytest.raises(MulticlusterError, match="still accepted \\(HTTP 200\\) after 30s"):
        rc.ensure_absent(directory, params(state="absent", verify_revoked=True, current_kubeconfig=first["kubeconfig"]),
                         sleep=lambda s: None, clock=lambda: next(ticks), probe=lambda: (200, None))


def test_verify_revoked_without_a_token_is_refused_before_any_write():
    directory = FakeDirectory()
    present(directory)
    directory.writes.clear()
    with pytest.raises(MulticlusterError, match=r"verify_revoked needs the old token: current_kubeconfig is refused: users\[0\]\.user\.token is missing"):
        rc.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                           current_kubeconfig=kc.build_kubeconfig(SERVER, "")))
    assert not directory.writes


def test_an_unknown_old_token_revokes_all_the_same_and_says_it_was_not_tested():
    """A replica gone for good (or de-registered already) holds no token to test."""
    directory = FakeDirectory()
    present(directory)
    probes = []
    gone = rc.ensure_absent(directory, params(state="absent", verify_revoked=True), probe=lambda: probes.append(1),
                            token_unknown="the replica could not be read")
    assert gone["changed"] and "revoked" not in gone and probes == []
    assert gone["revocation_check"] == "not tested: the replica could not be read"
    assert all(value is None for value in gone["diff"]["after"].values())
    directory.writes.clear()
    again = rc.ensure_absent(directory, params(state="absent", verify_revoked=True),
                             token_unknown="the replica holds no credential")
    assert not again["changed"] and not directory.writes
    assert again["revocation_check"] == "not tested: the replica holds no credential"


def test_a_concurrent_create_is_taken_as_it_is():
    directory = FakeDirectory()

    def faster_run(verb, kind, namespace, name):
        if (verb, kind) == ("create", "ServiceAccount") and directory.stored(kind, name, namespace) is None:
            directory.add(ro.desired_service_account(name))  # another run was faster
    directory.before_write.append(faster_run)
    result = present(directory)
    assert result["changed"] and result["diff"]["after"]["service_account"]["name"] == "east"
    assert result["kubeconfig"] is not None


def test_token_hashes_are_short_sha256():
    assert redaction.hash_token("abc") == "sha256:ba7816bf8f01cfea"


def test_a_binding_changed_by_another_writer_meanwhile_is_read_again_not_a_failure():
    directory = FakeDirectory()
    stale = ro.desired_binding("east")
    stale["subjects"] = []
    directory.add(stale)
    raced = []

    def other_writer(verb, kind, namespace, name):
        if (verb, kind) == ("patch", "ClusterRoleBinding") and not raced:
            raced.append(1)
            directory.add(dict(stale, metadata=dict(stale["metadata"], annotations={"touched": "yes"})))
    directory.before_write.append(other_writer)
    result = present(directory)
    assert result["diff"]["after"]["cluster_role_binding"]["subjects"] == ["ServiceAccount tectonic-multi-cluster/east"]
    assert [w for w in directory.writes if w[1] == "ClusterRoleBinding"] == [
        ("patch", "ClusterRoleBinding", "east-view-clusters"), ("patch", "ClusterRoleBinding", "east-view-clusters"),
        ("create", "ClusterRoleBinding", "east-cluster-status")]


def test_a_token_review_that_fails_names_the_account_and_the_cluster():
    directory = FakeDirectory()
    first = present(directory)
    directory.failures[("create", "TokenReview")] = MulticlusterError(
        "create TokenReview on cluster 'fake-directory': the API server did not answer within 30 s",
        details={"timeout": 30})
    with pytest.raises(MulticlusterError) as raised:
        present(directory, current_kubeconfig=first["kubeconfig"])
    assert str(raised.value) == ("review the current token of ServiceAccount tectonic-multi-cluster/east on cluster "
                                 "'fake-directory': the API server did not answer within 30 s")


# --- the health grants: the heartbeat Lease and the replica's own Cluster status --------------------------------

def test_the_health_grants_name_the_replicas_own_lease_and_cluster_only():
    (role, role_binding), (cluster_role, cluster_binding) = ro.desired_health_grants("east")
    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", names.CREDENTIALS_NAMESPACE)
    assert role["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                              "resourceNames": ["east"], "verbs": ["get", "update"]}]
    assert cluster_role["rules"] == [{"apiGroups": ["multicluster.coreos.com"], "resources": ["clusters/status"],
                                      "resourceNames": ["east"], "verbs": ["patch"]}]
    for binding, role_ in ((role_binding, role), (cluster_binding, cluster_role)):
        assert binding["roleRef"]["name"] == role_["metadata"]["name"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "east", "namespace": names.CREDENTIALS_NAMESPACE}]


def test_onboarding_creates_an_empty_lease_which_a_rerun_leaves_to_the_agent():
    directory = FakeDirectory()
    first = present(directory)
    lease = directory.stored("Lease", "east", names.CREDENTIALS_NAMESPACE)
    assert lease["spec"] == {} and first["diff"]["before"]["heartbeat_lease"] is None
    # the agent renews it; a rerun neither writes it nor the grants
    directory.add(dict(lease, spec={"holderIdentity": "east", "renewTime": "2026-12-07T01:00:00.000000Z"}))
    directory.writes.clear()
    again = present(directory, current_kubeconfig=first["kubeconfig"])
    assert not again["changed"] and directory.writes == []
    assert directory.stored("Lease", "east", names.CREDENTIALS_NAMESPACE)["spec"]["holderIdentity"] == "east"


def test_a_widened_health_grant_is_narrowed_back():
    directory = FakeDirectory()
    first = present(directory)
    role = directory.stored("Role", "east-heartbeat", names.CREDENTIALS_NAMESPACE)
    directory.add(dict(role, rules=role["rules"] + [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                                     "verbs": ["get", "update"]}]))
    directory.writes.clear()
    again = present(directory, current_kubeconfig=first["kubeconfig"])
    assert again["changed"] and directory.writes == [("patch", "Role", "east-heartbeat")]
    assert directory.stored("Role", "east-heartbeat", names.CREDENTIALS_NAMESPACE)["rules"] == \
        ro.desired_health_grants("east")[0][0]["rules"]


def test_a_grant_of_the_same_name_not_made_for_the_replica_is_refused_before_anything_is_written_and_kept():
    directory = FakeDirectory()
    foreign = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "east-cluster-status"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    directory.add(foreign)
    with pytest.raises(MulticlusterError) as raised:
        present(directory)
    assert "ClusterRole east-cluster-status exists" in str(raised.value) and "replica east" in str(raised.value)
    assert directory.writes == []
    # revoking leaves it alone too (it was never the replica's)
    directory.writes.clear()
    rc.ensure_absent(directory, params(state="absent"))
    assert ("delete", "ClusterRole", "east-cluster-status") not in directory.writes
    assert directory.stored("ClusterRole", "east-cluster-status")["rules"] == foreign["rules"]
