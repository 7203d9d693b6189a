"""mc_replica_credentials against the lab's directory (fleet[0]), through ansible-playbook."""

import json
import time

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.integration.conftest import assert_writes

MODULE = "mc_replica_credentials"
NS = "tectonic-multi-cluster"


def connection(cluster):
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context}


def token_of(kubeconfig):
    return kubeconfig["users"][0]["user"]["token"]


def status(fn):
    try:
        fn()
        return 200
    except ApiException as exc:
        return exc.status


def as_replica(kubeconfig):
    """(list Clusters, list Secrets) HTTP statuses with the returned kubeconfig."""
    api = config.new_client_from_config_dict(kubeconfig, persist_config=False)
    clusters = status(lambda: client.CustomObjectsApi(api).list_cluster_custom_object(
        "multicluster.coreos.com", "v1", "clusters"))
    secrets = status(lambda: client.CoreV1Api(api).list_namespaced_secret(NS))
    return clusters, secrets


def refused_within(kubeconfig, seconds=30):
    """The token gets 401 within *seconds* (the API server caches token authentications ~10 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if as_replica(kubeconfig)[0] == 401:
            return True
        time.sleep(1)
    return False


def assert_no_token_leak(run, token):
    """The token shows only inside the kubeconfig return value, nowhere else
    in the output. (Booleans only: a failing assert must not print the token.)"""
    others = {k: v for k, v in run.result.items() if k != "kubeconfig"}
    returned = bool(run.get("kubeconfig")) and token_of(run["kubeconfig"]) == token
    in_others = token in json.dumps(others)
    in_stdout = run.stdout.count(token)
    in_stderr = token in run.stderr
    assert not in_others, "the token shows in the result outside 'kubeconfig'"
    assert in_stdout == (1 if returned else 0), "the token shows %d times in stdout" % in_stdout
    assert not in_stderr, "the token shows in stderr"


def exists(cluster, *args):
    return cluster.kubectl("get", *args, "--ignore-not-found", "-o", "name").stdout.strip() != ""


def test_token_request_check_apply_check_apply_rotate_and_revoke(registry, run_module):
    directory = registry[0]
    args = dict(connection(directory), name="east-lifecycle")

    mark = directory.audit_mark()
    check = run_module(MODULE, args, check=True)
    assert not check.failed, check.result
    assert check.changed and check["kubeconfig"] is None and check["credential"]["minted"]
    assert_writes(directory, mark, [])

    first = run_module(MODULE, args)
    assert not first.failed, first.result
    assert first.changed and first["credential"]["minted"]
    kubeconfig = first["kubeconfig"]
    token = token_of(kubeconfig)
    assert kubeconfig["current-context"] == "directory"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == directory.server
    assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
    assert first["credential"]["expires_at"] and first["credential"]["token_sha256"].startswith("sha256:")
    assert_no_token_leak(first, token)
    assert exists(directory, "-n", NS, "serviceaccount", "east-lifecycle")
    assert exists(directory, "clusterrolebinding", "east-lifecycle-view-clusters")
    assert exists(directory, "-n", NS, "secret", "east-lifecycle-credential-anchor")

    # the kubeconfig really works, and only for what the ClusterRole grants
    assert as_replica(kubeconfig) == (200, 403)

    again = dict(args, current_kubeconfig=kubeconfig)
    check2 = run_module(MODULE, again, check=True)
    assert not check2.failed and not check2.changed, check2.result
    assert check2["kubeconfig"] == kubeconfig
    mark = directory.audit_mark()
    second = run_module(MODULE, again)
    assert not second.failed and not second.changed, second.result
    assert second["kubeconfig"] == kubeconfig and not second["credential"]["minted"]
    assert_writes(directory, mark, [])
    assert_no_token_leak(second, token)

    # the same, given as YAML text (as read from the replica's Secret)
    import yaml
    text = run_module(MODULE, dict(args, current_kubeconfig=yaml.safe_dump(kubeconfig)))
    assert not text.changed and text["kubeconfig"] == kubeconfig

    # rotate: a new token, and the old one is refused
    rotated = run_module(MODULE, dict(again, rotate=True, verify_revoked=True))
    assert not rotated.failed, rotated.result
    assert rotated.changed and rotated["revoked"] is True
    new_kubeconfig = rotated["kubeconfig"]
    rotated_token = token_of(new_kubeconfig) != token
    assert rotated_token, "rotation kept the old token"
    assert as_replica(kubeconfig)[0] == 401
    assert as_replica(new_kubeconfig) == (200, 403)
    assert_no_token_leak(rotated, token)

    # de-register: everything revoked, proven with the token
    gone_args = dict(args, state="absent", verify_revoked=True, current_kubeconfig=new_kubeconfig)
    mark = directory.audit_mark()
    check3 = run_module(MODULE, gone_args, check=True)
    assert not check3.failed and check3.changed and "revoked" not in check3.result
    assert_writes(directory, mark, [])
    gone = run_module(MODULE, gone_args)
    assert not gone.failed, gone.result
    assert gone.changed and gone["revoked"] is True
    assert as_replica(new_kubeconfig)[0] == 401
    assert_no_token_leak(gone, token_of(new_kubeconfig))
    assert not exists(directory, "-n", NS, "serviceaccount", "east-lifecycle")
    assert not exists(directory, "clusterrolebinding", "east-lifecycle-view-clusters")
    secrets = directory.kubectl("-n", NS, "get", "secrets", "-o", "name").stdout
    assert "east-lifecycle" not in secrets

    mark = directory.audit_mark()
    repeat = run_module(MODULE, gone_args)
    assert not repeat.failed and not repeat.changed and repeat["revoked"] is True
    assert_writes(directory, mark, [])


def test_deleting_the_anchor_revokes_and_the_next_run_mints(registry, run_module):
    directory = registry[0]
    args = dict(connection(directory), name="anchor-probe")
    first = run_module(MODULE, args)
    assert not first.failed, first.result
    kubeconfig = first["kubeconfig"]
    directory.kubectl("-n", NS, "delete", "secret", "anchor-probe-credential-anchor")
    assert refused_within(kubeconfig)
    renewed = run_module(MODULE, dict(args, current_kubeconfig=kubeconfig))
    assert renewed.changed and "anchor" in renewed["credential"]["reason"]
    assert as_replica(renewed["kubeconfig"]) == (200, 403)
    run_module(MODULE, dict(args, state="absent"))


def test_a_short_token_near_expiry_is_renewed(registry, run_module):
    directory = registry[0]
    args = dict(connection(directory), name="short-lived", token_ttl=600, renew_before=599)
    first = run_module(MODULE, args)
    assert not first.failed, first.result
    time.sleep(2)
    renewed = run_module(MODULE, dict(args, current_kubeconfig=first["kubeconfig"]))
    assert renewed.changed and "within" in renewed["credential"]["reason"]
    renewed_token = token_of(renewed["kubeconfig"]) != token_of(first["kubeconfig"])
    assert renewed_token, "the token was not renewed"
    run_module(MODULE, dict(args, state="absent"))


def test_directory_server_and_name_are_written_into_the_kubeconfig(registry, run_module):
    directory = registry[0]
    args = dict(connection(directory), name="custom-address", directory_server="https://directory.example.com:6443",
                directory_name="west")
    result = run_module(MODULE, args, check=False)
    assert not result.failed, result.result
    kubeconfig = result["kubeconfig"]
    assert kubeconfig["clusters"][0] == {"name": "west", "cluster": {
        "server": "https://directory.example.com:6443",
        "certificate-authority-data": kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]}}
    assert kubeconfig["current-context"] == "west"
    # a new address is no new credential
    moved = run_module(MODULE, dict(args, directory_server=directory.server, current_kubeconfig=kubeconfig))
    assert not moved.changed and moved["kubeconfig"]["clusters"][0]["cluster"]["server"] == directory.server
    kept_token = token_of(moved["kubeconfig"]) == token_of(kubeconfig)
    assert kept_token, "the token changed"
    run_module(MODULE, dict(args, state="absent"))


def test_service_account_token_type(registry, run_module):
    directory = registry[0]
    args = dict(connection(directory), name="central-sa", credential_type="service_account_token")
    mark = directory.audit_mark()
    check = run_module(MODULE, args, check=True)
    assert not check.failed and check.changed and check["kubeconfig"] is None, check.result
    assert_writes(directory, mark, [])

    first = run_module(MODULE, args)
    assert not first.failed and first.changed, first.result
    kubeconfig = first["kubeconfig"]
    assert first["credential"]["expires_at"] is None
    secret = directory.kubectl("-n", NS, "get", "secret", "central-sa-credential-token", "-o", "json").stdout
    secret = json.loads(secret)
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "central-sa"
    assert as_replica(kubeconfig) == (200, 403)
    assert_no_token_leak(first, token_of(kubeconfig))

    check2 = run_module(MODULE, args, check=True)
    assert not check2.failed and not check2.changed and check2["kubeconfig"] == kubeconfig
    mark = directory.audit_mark()
    second = run_module(MODULE, args)
    assert not second.failed and not second.changed and second["kubeconfig"] == kubeconfig
    assert_writes(directory, mark, [])

    gone = run_module(MODULE, dict(args, state="absent", verify_revoked=True, current_kubeconfig=kubeconfig))
    assert not gone.failed and gone.changed and gone["revoked"] is True, gone.result
    assert as_replica(kubeconfig)[0] == 401
    assert "central-sa" not in directory.kubectl("-n", NS, "get", "secrets", "-o", "name").stdout


@pytest.mark.parametrize("extra, message", [
    ({"name": "Bad_Name"}, "is not a DNS-1123 label"),
    ({"name": "bad-ttl", "token_ttl": 60}, "token_ttl 60 is too short"),
    ({"name": "bad-renew", "renew_before": 2592000}, "less than token_ttl"),
    ({"name": "bad-server", "directory_server": "directory.example.com"}, "directory_server"),
    ({"name": "no-token", "state": "absent", "verify_revoked": True, "current_kubeconfig": "not: [a kubeconfig"},
     "verify_revoked needs the old token"),
    ({"name": "unknown-key", "tokn_ttl": 5}, "Unsupported parameters"),
])
def test_bad_input_is_refused_before_any_write(registry, run_module, extra, message):
    directory = registry[0]
    mark = directory.audit_mark()
    result = run_module(MODULE, dict(connection(directory), **extra))
    assert result.failed and message in result["msg"], result.result
    assert_writes(directory, mark, [])


def test_replica_connection_reads_the_current_credential_from_the_replica(registry, run_module):
    """With replica_connection the module reads the token the replica holds
    (its directory-sync Secret): the second run mints nothing and writes
    nothing, and de-registration proves that very token refused."""
    directory, replica = registry[0], registry[2]
    args = dict(connection(directory), name="replica-conn", replica_connection=connection(replica))
    try:
        first = run_module(MODULE, args)
        assert not first.failed, first.get("msg")
        assert first["credential"]["minted"] and first["credential"]["reason"] == "no current kubeconfig was given"
        stored = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=first["kubeconfig"]))
        assert stored.changed and not stored.failed, stored.get("msg")

        marks = (directory.audit_mark(), replica.audit_mark())
        again = run_module(MODULE, args)
        assert not again.failed, again.get("msg")
        assert not again.changed and not again["credential"]["minted"]
        same_token = token_of(again["kubeconfig"]) == token_of(first["kubeconfig"])
        assert same_token, "the token read from the replica was not the one kept"
        assert again["credential"]["token_sha256"] == first["credential"]["token_sha256"]
        assert_writes(directory, marks[0], [])
        assert_writes(replica, marks[1], [])
        assert_no_token_leak(again, token_of(first["kubeconfig"]))

        gone = run_module(MODULE, dict(args, state="absent", verify_revoked=True))
        assert not gone.failed, gone.get("msg")
        assert gone.changed and gone["revoked"] is True
        assert as_replica(first["kubeconfig"])[0] == 401
    finally:
        replica.kubectl("-n", "tectonic-system", "delete", "secret", "directory-sync", "--ignore-not-found")


def test_replica_connection_to_an_unreachable_replica(registry, run_module, tmp_path):
    """Onboarding refuses before writing; de-registration goes on with a warning."""
    directory = registry[0]
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "dead", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}]}))
    args = dict(connection(directory), name="dead-replica", replica_connection={"kubeconfig": str(dead)})

    mark = directory.audit_mark()
    refused = run_module(MODULE, args)
    assert refused.failed
    assert "read the current credential of the replica" in refused["msg"]
    assert "'dead'" in refused["msg"] and "127.0.0.1:1" in refused["msg"]
    assert_writes(directory, mark, [])

    directory.kubectl("-n", NS, "create", "serviceaccount", "dead-replica")
    gone = run_module(MODULE, dict(args, state="absent", verify_revoked=True))
    assert not gone.failed, gone.result
    assert gone.changed and "revoked" not in gone.result
    assert gone["revocation_check"] == "not tested: the replica could not be read"
    assert any("cannot be tested" in w for w in gone.get("warnings", []))
    assert not exists(directory, "-n", NS, "serviceaccount", "dead-replica")
