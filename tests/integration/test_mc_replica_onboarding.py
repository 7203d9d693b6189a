"""mc_replica_onboarding on the lab: the directory (fleet[0]) and a replica (fleet[2]), the whole onboarding
in one task - check, apply, check, apply with 0 writes - and a replica that cannot be reached failing
before the directory is written."""

import base64
import json
import time

import pytest
import yaml

from tests.integration.conftest import assert_writes, hidden

SYNC_NS = "tectonic-system"
CREDENTIAL_NS = "tectonic-multi-cluster"


def connection(cluster):
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context}


def stored_kubeconfig(cluster):
    out = cluster.kubectl("-n", SYNC_NS, "get", "secret", "directory-sync", "--ignore-not-found", "-o", "json").stdout
    if not out.strip():
        return None
    return hidden(yaml.safe_load(base64.b64decode(json.loads(out)["data"]["kubeconfig"]).decode()))


def clusters_listed_with(kubeconfig):
    """The Cluster names the kubeconfig lists on the directory."""
    from kubernetes import client, config
    api = config.new_client_from_config_dict(dict(kubeconfig))
    try:
        found = client.CustomObjectsApi(api).list_cluster_custom_object("multicluster.coreos.com", "v1", "clusters")
    finally:
        api.close()
    return sorted(item["metadata"]["name"] for item in found["items"])


@pytest.fixture
def onboarding(registry, run_module):
    """The module's arguments for replica fleet[2]; everything it made is removed afterwards."""
    directory, replica = registry[0], registry[2]
    args = dict(connection(directory), name=replica.name, labels={"stage": "test", "cloud": "lab"},
                endpoints=[replica.server], console_url="https://console.%s.example.com" % replica.name,
                directory_server=directory.server, replica_connection=connection(replica))
    yield directory, replica, args
    run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
    run_module("mc_sync_secret", dict(connection(replica), state="absent"))
    run_module("mc_cluster", dict(connection(directory), name=replica.name, state="absent"))


def test_check_apply_check_apply(onboarding, run_module):
    directory, replica, args = onboarding
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    check = run_module("mc_replica_onboarding", args, check=True)
    assert not check.failed, check.result
    assert check.changed and check["credential"]["minted"] and check["secret"] is None
    assert [r["status"] for r in check["summary"]] == ["changed", "changed", "skipped"]
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])

    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    applied = run_module("mc_replica_onboarding", args)
    assert not applied.failed, applied.result
    assert applied.changed and [r["status"] for r in applied["summary"]] == ["changed"] * 3 + ["ok"]
    assert applied["summary"][-1]["step"] == "credential lists %d Clusters on the directory" % (
        applied["clusters_visible"])
    # the directory: the Cluster object, then the credential (with its heartbeat Lease and health grants); the
    # replica: its Secret, nothing else
    directory_writes = [(verb, resource) for verb, resource, _ns, _name in directory.writes_since(marks[directory.name])]
    assert directory_writes == [("create", "clusters"), ("create", "serviceaccounts"),
                                ("create", "clusterrolebindings"), ("create", "leases"), ("create", "roles"),
                                ("create", "rolebindings"), ("create", "clusterroles"),
                                ("create", "clusterrolebindings"), ("create", "secrets"),
                                ("create", "serviceaccounts/token")]
    assert_writes(replica, marks[replica.name], [("create", "secrets", SYNC_NS, "directory-sync")])
    registered = json.loads(directory.kubectl("get", "cluster", replica.name, "-o", "json").stdout)
    assert registered["metadata"]["labels"] == {"stage": "test", "cloud": "lab"}
    uid = json.loads(replica.kubectl("get", "namespace", "kube-system", "-o", "json").stdout)["metadata"]["uid"]
    assert registered["metadata"]["annotations"]["multicluster.coreos.com/kube-system-uid"] == uid
    kubeconfig = stored_kubeconfig(replica)
    assert kubeconfig["clusters"][0]["cluster"]["server"] == directory.server
    assert replica.name in clusters_listed_with(kubeconfig)
    token = kubeconfig["users"][0]["user"]["token"]
    leaked = token in applied.stdout or token in applied.stderr  # a boolean: a failing assert must not print it
    assert not leaked, "the replica's token shows in the output"

    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    again_check = run_module("mc_replica_onboarding", args, check=True)
    again = run_module("mc_replica_onboarding", args)
    for result in (again_check, again):
        assert not result.failed and not result.changed, result.result
        assert {r["status"] for r in result["summary"]} == {"ok"}
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])
    assert stored_kubeconfig(replica) == kubeconfig


def test_an_unreachable_replica_fails_in_bounded_time_before_the_directory_is_written(onboarding, run_module):
    directory, replica, args = onboarding
    args = dict(args, replica_connection={"host": "https://127.0.0.1:1", "validate_certs": False,
                                          "request_timeout": 5})
    mark = directory.audit_mark()
    started = time.monotonic()
    result = run_module("mc_replica_onboarding", args)
    waited = time.monotonic() - started
    assert result.failed, result.result
    assert "127.0.0.1:1" in result["msg"] and result["details"]["step"] == "read the replica", result.result
    assert_writes(directory, mark, [])
    print("unreachable replica reported after %.1f s (request_timeout 5)" % waited)
