"""mc_replica_deregistration on the lab: the directory (fleet[0]) and a replica (fleet[2]) onboarded, then the whole
de-registration in one task - check, apply, check, apply with 0 writes - the old token refused by the directory;
bad input refused with no request written; a replica that cannot be reached still taken out of the directory."""

import pytest

from tests.integration.conftest import assert_writes
from tests.integration.test_mc_replica_onboarding import (  # noqa: F401  # pylint: disable=unused-import
    clusters_listed_with, connection, onboarding, stored_kubeconfig)

SYNC_NS = "tectonic-system"
CREDENTIAL_NS = "tectonic-multi-cluster"


@pytest.fixture
def onboarded(onboarding, run_module):  # noqa: F811 - the fixture imported above
    """Replica fleet[2] onboarded (mc_replica_onboarding); the module's arguments to de-register it. The
    onboarding fixture removes whatever is left afterwards."""
    directory, replica, onboarding_args = onboarding
    done = run_module("mc_replica_onboarding", onboarding_args)
    assert not done.failed, done.result
    yield directory, replica, dict(connection(directory), name=replica.name, replica_connection=connection(replica))


def test_check_apply_check_apply(onboarded, run_module):
    directory, replica, args = onboarded
    old = stored_kubeconfig(replica)
    assert replica.name in clusters_listed_with(old)

    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    check = run_module("mc_replica_deregistration", args, check=True)
    assert not check.failed, check.result
    assert check.changed and check["revocation_check"] == "not tested in check mode"
    assert check["removed"]["cluster"] == replica.name and check["removed"]["secret"]
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])

    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    applied = run_module("mc_replica_deregistration", args)
    assert not applied.failed, applied.result
    assert applied.changed and [(r["step"], r["status"]) for r in applied["summary"]] == [
        ("delete Cluster from directory", "changed"), ("revoke credential (old token refused)", "changed"),
        ("remove sync Secret", "changed")]
    assert applied["revoked"] is True
    # the directory: the Cluster, then the bindings, the account and its Secrets, the health grants' roles and the
    # heartbeat Lease; the replica: its Secret only
    directory_writes = [(verb, resource) for verb, resource, _ns, _name in directory.writes_since(marks[directory.name])]
    assert directory_writes[:5] == [("delete", "clusters"), ("delete", "clusterrolebindings"),
                                    ("delete", "rolebindings"), ("delete", "clusterrolebindings"),
                                    ("delete", "serviceaccounts")]
    assert set(directory_writes[5:-3]) == {("delete", "secrets")}
    assert directory_writes[-3:] == [("delete", "roles"), ("delete", "clusterroles"), ("delete", "leases")]
    assert_writes(replica, marks[replica.name], [("delete", "secrets", SYNC_NS, "directory-sync")])
    assert stored_kubeconfig(replica) is None
    assert replica.name not in directory.kubectl("get", "clusters.multicluster.coreos.com", "-o", "name").stdout
    token = old["users"][0]["user"]["token"]
    leaked = token in applied.stdout or token in applied.stderr  # a boolean: a failing assert must not print it
    assert not leaked, "the replica's old token shows in the output"
    with pytest.raises(Exception, match="401|Unauthorized"):
        clusters_listed_with(old)

    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    again_check = run_module("mc_replica_deregistration", args, check=True)
    again = run_module("mc_replica_deregistration", args)
    for result in (again_check, again):
        assert not result.failed and not result.changed, result.result
        assert {r["status"] for r in result["summary"]} == {"ok"}
    assert again["revocation_check"] == "not tested: the replica holds no credential"
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])


def test_bad_input_is_refused_naming_the_input_and_the_directory_with_no_write(onboarded, run_module):
    directory, replica, args = onboarded
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    refused = run_module("mc_replica_deregistration", dict(args, name="Central_Production"))
    assert refused.failed
    assert refused["msg"].startswith("de-register a replica from cluster '%s': replica name 'Central_Production'"
                                     % directory.context), refused["msg"]
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])


def test_a_replica_that_cannot_be_reached_is_still_taken_out_of_the_directory(onboarded, run_module):
    directory, replica, args = onboarded
    gone = dict(args, replica_connection={"host": "https://127.0.0.1:1", "validate_certs": False,
                                          "request_timeout": 5})
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    refused = run_module("mc_replica_deregistration", dict(gone, remove_synced=True))
    assert refused.failed and refused["details"]["step"] == "read the replica", refused.result
    assert_writes(directory, marks[directory.name], [])

    result = run_module("mc_replica_deregistration", gone)
    assert not result.failed and result.changed, result.result
    assert result["summary"][1]["step"] == "revoke credential (not tested: the replica could not be read)"
    assert result["summary"][2]["status"] == "not cleaned" and "127.0.0.1:1" in result["summary"][2]["msg"]
    assert any("127.0.0.1:1" in warning for warning in result.get("warnings", [])), result.result
    assert replica.name not in directory.kubectl("get", "clusters.multicluster.coreos.com", "-o", "name").stdout
    assert directory.kubectl("-n", CREDENTIAL_NS, "get", "serviceaccount", replica.name,
                             "--ignore-not-found", "-o", "name").stdout.strip() == ""
    assert_writes(replica, marks[replica.name], [])
