"""Cluster Policies on the lab: the directory is fleet[0]; replicas fleet[1]
(cloud: aws) and fleet[2] (cloud: gcp) pull its policies with their own
view-only credentials, through mc_directory_sync and through the agent as a
process running with the agent's own ServiceAccount and RBAC."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.conftest import assert_writes, write_private
from tests.integration.test_directory_sync import (
    AGENT_MODULE, apply, cluster_manifest, connection, healthz, issue_credential, wait_for, write_atomically)
from tests.lab.fleet import free_port

POLICY_ANNOTATION = "multicluster.coreos.com/policies"
MANAGED = "app.kubernetes.io/managed-by=directory-sync"
SETTINGS = ("tectonic-system", "directory-sync-config")
# the registry role's defaults, as its ConfigMap template writes them
DEFAULT_SETTINGS = {"policies": "enabled", "clusterRoles": '["view"]', "namespaceRoles": '["view", "edit", "admin"]',
                    "protectedNamespaces": "[]", "allowedSubjects": "[]", "allowedLabelKeys": "[]"}


def set_settings(cluster, **data):
    """Write the replica's settings ConfigMap: the registry's defaults, updated with *data*."""
    apply(cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": SETTINGS[1], "namespace": SETTINGS[0]},
                    "data": dict(DEFAULT_SETTINGS, **data)})


def policy(name, spec):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
            "spec": spec}


AWS = policy("pt-aws-admins", {
    "selector": {"cloud": "aws"},
    "authorization": {"clusterBindings": [{"clusterRole": "view", "users": ["alice@example.com"]}]},
    "namespaces": [{"name": "pt-monitoring",
                    "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
                    "resourceQuota": {"hard": {"pods": "20", "requests.cpu": "4000m", "requests.memory": "2Gi"}},
                    "limitRange": {"limits": [{"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}}]}}]})
SHARED = policy("pt-shared", {
    "namespaces": [{"name": "pt-monitoring", "authorization": {"bindings": [{"clusterRole": "view",
                                                                            "groups": ["auditors"]}]}},
                   {"name": "pt-tools"}]})
ROOT_POLICY = policy("pt-root", {"authorization": {"clusterBindings": [
    {"clusterRole": "cluster-admin", "groups": ["everyone"]}, {"clusterRole": "view", "groups": ["everyone"]}]}})


def kjson(cluster, *args):
    out = cluster.kubectl(*(args + ("-o", "json")), check=False)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def held(cluster, resource):
    """The objects carrying the syncer's mark, but those being deleted (a Namespace and what is in it, while
    the namespace controller finalizes it)."""
    found = kjson(cluster, "get", resource, "-A", "-l", MANAGED) or {"items": []}
    going = set(o["metadata"]["name"] for o in (kjson(cluster, "get", "namespaces") or {"items": []})["items"]
                if o["metadata"].get("deletionTimestamp"))
    return sorted("%s/%s" % (o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in found["items"]
                  if not o["metadata"].get("deletionTimestamp") and o["metadata"].get("namespace") not in going
                  and not (o["kind"] == "Namespace" and o["metadata"]["name"] in going))


def namespace_state(cluster, name):
    """'active', 'terminating' or 'gone'."""
    found = kjson(cluster, "get", "namespace", name)
    if found is None:
        return "gone"
    return "terminating" if found["metadata"].get("deletionTimestamp") else "active"


def policy_status(cluster):
    data = (kjson(cluster, "-n", "tectonic-system", "get", "configmap", "directory-sync-status") or {}).get("data")
    return json.loads(data["policies"]) if data and data.get("policies") else None


def label(directory, cluster, value):
    directory.kubectl("label", "clusters.multicluster.coreos.com", cluster.name, "cloud=%s" % value, "--overwrite")


def install_registry(run_playbook, tmp_path, *replicas):
    """The registry role on *replicas*: the agent's ServiceAccount, RBAC (which bounds the policies that
    mc_directory_sync applies as the agent), settings ConfigMap and a Deployment (its image is never pulled)."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"replicas": {"hosts": dict((replica.name, {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "mc_kubeconfig": replica.kubeconfig, "mc_context": replica.context}) for replica in replicas)}}}}))
    run = run_playbook("install_registry.yml", inventory, extra_vars={"registry_sync_image": "localhost/none:0"})
    assert run.rc == 0, run.failures()


@pytest.fixture(scope="module")
def lab(registry, run_module, run_playbook, tmp_path_factory):
    """Both replicas registered in the directory with their labels, onboarded (a credential in their Secret) and
    with the registry role's agent RBAC and default settings."""
    directory, aws, gcp = registry[0], registry[1], registry[2]
    apply(directory, cluster_manifest(aws.name, {"cloud": "aws", "stage": "production"}),
          cluster_manifest(gcp.name, {"cloud": "gcp", "stage": "production"}))
    for replica in (aws, gcp):
        kubeconfig = issue_credential(run_module, directory, replica.name)
        stored = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=kubeconfig))
        assert not stored.failed, stored.result
    install_registry(run_playbook, tmp_path_factory.mktemp("registry"), aws, gcp)
    for replica in (aws, gcp):
        set_settings(replica)
    yield directory, aws, gcp
    directory.kubectl("delete", "clusterpolicies.multicluster.coreos.com", "--all", check=False)
    for replica in (aws, gcp):
        sync(run_module, replica)  # no policy left: everything of theirs goes
        run_module("mc_sync_secret", dict(connection(replica), state="absent"))
        run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
        replica.kubectl("delete", "clusters.multicluster.coreos.com", "-l", MANAGED, check=False)
        replica.kubectl("-n", "tectonic-system", "delete", "configmap", "directory-sync-status", SETTINGS[1],
                        "--ignore-not-found", check=False)
        replica.kubectl("-n", "tectonic-system", "delete", "deployment", "directory-sync", "--ignore-not-found",
                        check=False)
    directory.kubectl("delete", "clusters.multicluster.coreos.com", aws.name, gcp.name, "--ignore-not-found",
                      check=False)


def sync(run_module, replica, check=False):
    result = run_module("mc_directory_sync", dict(connection(replica), status_interval=3600), check=check)
    assert not result.failed, result.result
    return result


def test_a_policy_lands_on_the_matching_replica_only_and_a_converged_sync_writes_nothing(lab, run_module):
    directory, aws, gcp = lab
    apply(directory, AWS)
    checked = sync(run_module, aws, check=True)
    assert checked.changed and "RoleBinding pt-monitoring/clusterpolicy:pt-aws-admins:edit" in checked["created"]
    assert namespace_state(aws, "pt-monitoring") == "gone"  # check mode wrote nothing
    first = sync(run_module, aws)
    assert first.changed and first["policies"]["items"]["pt-aws-admins"]["state"] == "applied"
    assert held(aws, "namespaces") == ["/pt-monitoring"]
    assert held(aws, "clusterrolebindings") == ["/clusterpolicy:pt-aws-admins:view"]
    assert held(aws, "rolebindings") == ["pt-monitoring/clusterpolicy:pt-aws-admins:edit",
                                         "pt-monitoring/directory-sync-inspect"]
    assert held(aws, "resourcequotas") == held(aws, "limitranges") == ["pt-monitoring/clusterpolicy.pt-aws-admins"]
    quota = kjson(aws, "-n", "pt-monitoring", "get", "resourcequota", "clusterpolicy.pt-aws-admins")
    assert quota["spec"]["hard"]["requests.cpu"] == "4"  # the server's spelling of 4000m
    recorded = policy_status(aws)["items"]["pt-aws-admins"]
    assert recorded["state"] == "applied" and len(recorded["objects"]) == 5
    assert sync(run_module, gcp)["policies"]["items"]["pt-aws-admins"] == {"state": "not selected"}
    assert held(gcp, "namespaces") == [] and held(gcp, "clusterrolebindings") == []

    # converged: the server's defaults (LimitRange default/defaultRequest, canonical quantities, the namespace's
    # label and finalizer) are no difference, and nothing is written
    for replica in (aws, gcp):
        mark = replica.audit_mark()
        again = sync(run_module, replica)
        assert not again.changed, again.result
        assert_writes(replica, mark, [])


def test_relabelling_a_cluster_moves_it_in_and_out(lab, run_module):
    directory, aws, gcp = lab
    apply(directory, AWS)
    label(directory, gcp, "aws")
    assert "Namespace pt-monitoring" in sync(run_module, gcp)["created"]
    assert held(gcp, "clusterrolebindings") == ["/clusterpolicy:pt-aws-admins:view"]
    label(directory, gcp, "gcp")
    left = sync(run_module, gcp)
    assert "Namespace pt-monitoring" in left["deleted"] and left["released"] == []
    assert held(gcp, "clusterrolebindings") == held(gcp, "rolebindings") == []
    assert namespace_state(gcp, "pt-monitoring") in ("terminating", "gone")
    wait_for(lambda: namespace_state(gcp, "pt-monitoring") == "gone", 60, "the namespace finalized")


def test_a_hand_edited_rolebinding_is_restored_and_a_hand_made_object_is_a_conflict(lab, run_module):
    directory, aws, gcp = lab
    apply(directory, AWS)
    sync(run_module, aws)
    aws.kubectl("-n", "pt-monitoring", "patch", "rolebinding", "clusterpolicy:pt-aws-admins:edit", "--type=json",
                "-p", json.dumps([{"op": "add", "path": "/subjects/-",
                                   "value": {"kind": "User", "name": "mallory",
                                             "apiGroup": "rbac.authorization.k8s.io"}}]))
    restored = sync(run_module, aws)
    assert restored["updated"] == ["RoleBinding pt-monitoring/clusterpolicy:pt-aws-admins:edit"]
    binding = kjson(aws, "-n", "pt-monitoring", "get", "rolebinding", "clusterpolicy:pt-aws-admins:edit")
    assert [s["name"] for s in binding["subjects"]] == ["sre"]

    # a ClusterRoleBinding of the policy's name made by hand: left alone, reported
    aws.kubectl("delete", "clusterrolebinding", "clusterpolicy:pt-aws-admins:view")
    aws.kubectl("create", "clusterrolebinding", "clusterpolicy:pt-aws-admins:view", "--clusterrole=view",
                "--user=bob")
    try:
        result = sync(run_module, aws)
        assert result["conflicts"] == ["ClusterRoleBinding clusterpolicy:pt-aws-admins:view"]
        entry = result["policies"]["items"]["pt-aws-admins"]
        assert entry["state"] == "conflict" and "made there by hand" in entry["conflicts"][0]["reason"]
        crb = kjson(aws, "get", "clusterrolebinding", "clusterpolicy:pt-aws-admins:view")
        assert crb["roleRef"]["name"] == "view" and "labels" not in crb["metadata"]
    finally:
        aws.kubectl("delete", "clusterrolebinding", "clusterpolicy:pt-aws-admins:view", check=False)
    assert sync(run_module, aws)["policies"]["items"]["pt-aws-admins"]["state"] == "applied"


def test_overlap_and_leaving_a_namespace_holding_a_hand_made_configmap_is_released(lab, run_module):
    directory, aws, gcp = lab
    apply(directory, AWS, SHARED)
    sync(run_module, aws)
    ns = kjson(aws, "get", "namespace", "pt-monitoring")
    assert ns["metadata"]["annotations"][POLICY_ANNOTATION] == "pt-aws-admins,pt-shared"
    assert held(aws, "namespaces") == ["/pt-monitoring", "/pt-tools"]

    directory.kubectl("delete", "clusterpolicies.multicluster.coreos.com", AWS["metadata"]["name"])
    sync(run_module, aws)
    assert kjson(aws, "get", "namespace", "pt-monitoring")["metadata"]["annotations"][POLICY_ANNOTATION] == "pt-shared"
    assert held(aws, "rolebindings") == ["pt-monitoring/clusterpolicy:pt-shared:view",
                                         "pt-monitoring/directory-sync-inspect", "pt-tools/directory-sync-inspect"]
    assert held(aws, "resourcequotas") == []

    aws.kubectl("-n", "pt-monitoring", "create", "configmap", "dashboards", "--from-literal=a=b")
    directory.kubectl("delete", "clusterpolicies.multicluster.coreos.com", SHARED["metadata"]["name"])
    left = sync(run_module, aws)
    assert left["released"] == ["Namespace pt-monitoring"] and "Namespace pt-tools" in left["deleted"]
    assert "it holds ConfigMap dashboards" in left["policies"]["released"][0]["reason"]
    ns = kjson(aws, "get", "namespace", "pt-monitoring")
    assert namespace_state(aws, "pt-monitoring") == "active" and POLICY_ANNOTATION not in ns["metadata"].get(
        "annotations", {})
    assert held(aws, "namespaces") == [] and held(aws, "rolebindings") == []
    assert kjson(aws, "-n", "pt-monitoring", "get", "configmap", "dashboards")["data"] == {"a": "b"}
    assert sync(run_module, aws)["policies"]["released"] == []  # the release was reported once
    mark = aws.audit_mark()
    assert not sync(run_module, aws).changed
    assert_writes(aws, mark, [])
    aws.kubectl("delete", "namespace", "pt-monitoring", "--wait=false")
    wait_for(lambda: namespace_state(aws, "pt-monitoring") == namespace_state(aws, "pt-tools") == "gone", 60,
             "the namespaces finalized")


def test_a_refused_role_and_a_replica_with_policies_off(lab, run_module):
    directory, aws, gcp = lab
    apply(directory, ROOT_POLICY)
    result = sync(run_module, aws)
    entry = result["policies"]["items"]["pt-root"]
    assert entry["state"] == "refused" and held(aws, "clusterrolebindings") == ["/clusterpolicy:pt-root:view"]
    assert "not in this replica's allowlist" in entry["refused"][0]["reason"]

    set_settings(gcp, policies="disabled")
    try:
        directory.kubectl("delete", "clusters.multicluster.coreos.com", "pt-probe", "--ignore-not-found")
        apply(directory, cluster_manifest("pt-probe", {"stage": "canary"}))
        off = sync(run_module, gcp)
        assert "pt-probe" in off["created"]  # the Cluster sync still runs
        assert off["policies"]["enabled"] is False and off["policies"]["items"]["pt-root"]["state"] == "disabled"
        assert held(gcp, "clusterrolebindings") == []
    finally:
        set_settings(gcp)
        directory.kubectl("delete", "clusters.multicluster.coreos.com", "pt-probe", "--ignore-not-found")
        directory.kubectl("delete", "clusterpolicies.multicluster.coreos.com", ROOT_POLICY["metadata"]["name"])
    assert held(aws, "clusterrolebindings") == ["/clusterpolicy:pt-root:view"]
    sync(run_module, aws)
    assert held(aws, "clusterrolebindings") == []


# --- the agent, with its own ServiceAccount and the registry role's RBAC ------------------------------------------

def service_account_kubeconfig(cluster, namespace, name):
    """A kubeconfig of *cluster* authenticating as ServiceAccount namespace/name (a TokenRequest)."""
    from kubernetes import client as k8s
    api = k8s.CoreV1Api(cluster.api_client())
    request = k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    token = api.create_namespaced_service_account_token(name, namespace, request).status.token
    config = yaml.safe_load(open(cluster.kubeconfig))
    context = next(c for c in config["contexts"] if c["name"] == cluster.context)
    config["users"] = [{"name": "agent", "user": {"token": token}}]
    context["context"]["user"] = "agent"
    config["contexts"] = [context]
    config["current-context"] = context["name"]
    return config


@pytest.fixture
def agent_rbac(lab, run_playbook, tmp_path):
    """The registry role on the aws replica with the agent: its ServiceAccount, ClusterRoles and bindings."""
    directory, aws, gcp = lab
    install_registry(run_playbook, tmp_path, aws)
    yield aws
    aws.kubectl("-n", "tectonic-system", "delete", "deployment", "directory-sync", "--ignore-not-found", check=False)


def test_the_agent_applies_a_new_policy_within_seconds_bounded_by_its_rbac(lab, agent_rbac, collection_path, tmp_path):
    directory, aws, gcp = lab
    aws.kubectl("delete", "namespace", "pt-monitoring", "--ignore-not-found", "--wait=false")
    wait_for(lambda: namespace_state(aws, "pt-monitoring") == "gone", 60, "no namespace pt-monitoring left")
    settings = kjson(aws, "-n", SETTINGS[0], "get", "configmap", SETTINGS[1])["data"]
    assert settings == DEFAULT_SETTINGS
    own = tmp_path / "replica.kubeconfig"
    write_private(own, yaml.safe_dump(service_account_kubeconfig(aws, "tectonic-system", "directory-sync")))
    directory_config = tmp_path / "directory.kubeconfig"
    secret = kjson(aws, "-n", "tectonic-system", "get", "secret", "directory-sync")
    import base64
    write_atomically(directory_config, base64.b64decode(secret["data"]["kubeconfig"]).decode())
    port = free_port()
    log_path = tmp_path / "agent.log"
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", str(own), "--directory-kubeconfig",
            str(directory_config), "--health-address", "127.0.0.1", "--health-port", str(port),
            "--resync-period", "300", "--backoff-max", "2"]
    with open(str(log_path), "wb") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=str(tmp_path),
                                env=dict(os.environ, PYTHONPATH=collection_path))
    try:
        wait_for(lambda: healthz(port)[0] == 200, 30, "/healthz 200 after the first sync")
        started = time.monotonic()
        apply(directory, AWS)  # through the watch: the resync period is far away
        wait_for(lambda: held(aws, "resourcequotas") == ["pt-monitoring/clusterpolicy.pt-aws-admins"], 15,
                 "the new policy applied by the agent")
        elapsed = time.monotonic() - started
        wait_for(lambda: ((policy_status(aws) or {}).get("items") or {}).get("pt-aws-admins", {}).get("state")
                 == "applied", 10, "the policy recorded as applied (%s)" % (policy_status(aws) or {}).get("items"))
        print("agent applied a new policy %.1f s after it was created" % elapsed)

        # a replica allowlist wider than the agent's RBAC: the API server's escalation check refuses the binding
        aws.kubectl("-n", SETTINGS[0], "patch", "configmap", SETTINGS[1], "--type=merge", "-p",
                    json.dumps({"data": {"clusterRoles": '["view", "cluster-admin"]'}}))
        apply(directory, ROOT_POLICY)
        entry = wait_for(lambda: ((policy_status(aws) or {}).get("items") or {}).get("pt-root"), 15,
                         "pt-root recorded")
        entry = wait_for(lambda: policy_status(aws)["items"]["pt-root"] if policy_status(aws)["items"][
            "pt-root"]["state"] != "applied" or held(aws, "clusterrolebindings") else None, 15, "pt-root outcome")
        assert entry["state"] == "failed", entry
        assert "clusterpolicy:pt-root:cluster-admin" in entry["failed"][0]["object"]
        assert "403" in entry["failed"][0]["reason"] or "forbidden" in entry["failed"][0]["reason"].lower()
        assert held(aws, "clusterrolebindings") == ["/clusterpolicy:pt-aws-admins:view",
                                                    "/clusterpolicy:pt-root:view"]

        # deleting the policies: the agent cleans up, its namespace deletion permitted
        directory.kubectl("delete", "clusterpolicies.multicluster.coreos.com", "--all")
        wait_for(lambda: held(aws, "clusterrolebindings") == [] and namespace_state(aws, "pt-monitoring") != "active",
                 20, "the agent removed what no policy wants")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        aws.kubectl("-n", SETTINGS[0], "patch", "configmap", SETTINGS[1], "--type=merge", "-p",
                    json.dumps({"data": {"clusterRoles": '["view"]'}}), check=False)
    entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [e for e in entries if e["msg"] == "synced"], "the agent logged its syncs"
