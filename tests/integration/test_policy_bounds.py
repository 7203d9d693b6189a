"""What a replica lets a Cluster Policy do there, on the lab (issue 19): the
directory is fleet[0]; replicas fleet[1] (cloud: aws) and fleet[2] (cloud:
gcp) pull its policies with mc_directory_sync and the registry's default
settings unless a test says otherwise. Each attack of the issue is its own
test."""

import contextlib
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import yaml

from tests.integration.conftest import REGISTRY_MANIFEST, write_private
# agent_rbac and lab are fixtures of test_cluster_policies (the replicas registered, the agent's RBAC installed)
from tests.integration.test_cluster_policies import (  # noqa: F401  # pylint: disable=unused-import
    SETTINGS, agent_rbac, held, kjson, lab, namespace_state, policy, policy_status, service_account_kubeconfig,
    set_settings, sync)
from tests.integration.test_directory_sync import (
    apply, cluster_manifest, connection, issue_credential, wait_for)

CRD = "clusterpolicies.multicluster.coreos.com"


def _without_not(schema):
    """A CRD schema without its `not` rules (what an older registry installed)."""
    if isinstance(schema, dict):
        return dict((k, _without_not(v)) for k, v in schema.items() if k != "not")
    if isinstance(schema, list):
        return [_without_not(v) for v in schema]
    return schema


@contextlib.contextmanager
def older_directory_crd(directory):
    """The directory's ClusterPolicy CRD as before it checked the bounds, so that
    a policy every replica refuses can still be stored (one written before the
    upgrade, or with kubectl on an old CRD); the current CRD is put back after."""
    crd = kjson(directory, "get", "crd", CRD)
    for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
        crd["metadata"].pop(key, None)
    crd.pop("status", None)
    crd["spec"] = _without_not(crd["spec"])
    directory.kubectl("replace", "-f", "-", input_text=json.dumps(crd))
    try:
        yield
    finally:
        directory.kubectl("apply", "-f", REGISTRY_MANIFEST)


def store(directory, *policies):
    """Store policies the current CRD would refuse (see older_directory_crd)."""
    with older_directory_crd(directory):
        apply(directory, *policies)


@pytest.fixture
def clean(lab, run_module):
    """No policy left after the test, and the replicas back to the registry's default settings."""
    yield lab
    directory, aws, gcp = lab
    directory.kubectl("delete", CRD, "--all", check=False)
    for replica in (aws, gcp):
        set_settings(replica)
        sync(run_module, replica)
    for replica in (aws, gcp):  # the next test starts without them, not with them terminating
        wait_for(lambda: not policy_namespaces(replica), 180, "policy namespaces of %s gone" % replica.name)


def policy_namespaces(replica):
    """The names of the Namespaces this module's policies made on *replica*, terminating ones too."""
    found = kjson(replica, "get", "namespaces") or {"items": []}
    return [o["metadata"]["name"] for o in found["items"] if o["metadata"]["name"].startswith("pb-")]


def entry_of(replica, name):
    return policy_status(replica)["items"][name]


def writes_into(cluster, mark, namespace):
    """Every write request of the sync (the admin's) into *namespace*, or on the Namespace itself, since *mark*."""
    return [w for w in cluster.writes_since(mark) if w[2] == namespace or (w[1] == "namespaces" and w[3] == namespace)]


# --- protected namespaces ----------------------------------------------------------------------------------------

STARVE = policy("pb-starve", {"namespaces": [
    {"name": "kube-system", "labels": {"team": "x"}, "resourceQuota": {"hard": {"pods": "0"}},
     "limitRange": {"limits": [{"type": "Container", "max": {"cpu": "1m"}}]},
     "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["mallory"]}]}},
    {"name": "pb-team", "resourceQuota": {"hard": {"pods": "5"}},
     "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]}}]})


def test_a_kube_system_entry_writes_nothing_there_is_refused_with_its_reason_and_the_rest_applies(clean, run_module):
    directory, aws, gcp = clean
    store(directory, STARVE)
    mark = aws.audit_mark()
    result = sync(run_module, aws)
    assert writes_into(aws, mark, "kube-system") == []
    assert kjson(aws, "-n", "kube-system", "get", "resourcequota", "clusterpolicy.pb-starve") is None
    assert kjson(aws, "-n", "kube-system", "get", "rolebinding", "clusterpolicy:pb-starve:edit") is None
    assert "team" not in kjson(aws, "get", "namespace", "kube-system")["metadata"].get("labels", {})
    entry = entry_of(aws, "pb-starve")
    assert entry["state"] == "refused" and result["policies"]["items"]["pb-starve"] == entry
    assert entry["refused"] == [{"object": "Namespace kube-system", "reason": "kube-system is a protected namespace: "
                                 "a Cluster Policy writes nothing into it (no quota, limit range, binding or label)"}]
    # the policy's other entry applies
    assert held(aws, "resourcequotas") == ["pb-team/clusterpolicy.pb-starve"]
    assert "pb-team/clusterpolicy:pb-starve:edit" in held(aws, "rolebindings")


def test_the_directory_refuses_a_protected_namespace_and_system_subjects_at_apply_time(clean, run_module):
    directory, aws, gcp = clean
    for spec in ({"namespaces": [{"name": "kube-system"}]},
                 {"authorization": {"clusterBindings": [{"clusterRole": "view", "groups": ["system:masters"]}]}},
                 {"namespaces": [{"name": "pb-x", "authorization": {"bindings": [
                     {"clusterRole": "edit", "users": ["system:anonymous"]}]}}]}):
        out = directory.kubectl("apply", "-f", "-", input_text=json.dumps(policy("pb-refused", spec)), check=False)
        assert out.returncode != 0 and "invalid" in out.stderr.lower(), out.stderr
    mark = directory.audit_mark()
    refused = run_module("mc_cluster_policy", dict(
        kubeconfig=directory.kubeconfig, context=directory.context, name="pb-refused",
        spec={"namespaces": [{"name": "pb-x", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}]}))
    assert refused.failed and "spec.namespaces[0].labels[pod-security.kubernetes.io/enforce]" in refused["msg"]
    assert directory.writes_since(mark) == []
    assert kjson(directory, "get", CRD, "pb-refused") is None


# --- subjects -------------------------------------------------------------------------------------------------------

OPEN = policy("pb-open", {
    "authorization": {"clusterBindings": [
        {"clusterRole": "view", "groups": ["system:unauthenticated", "system:authenticated"]}]},
    "namespaces": [{"name": "pb-open", "authorization": {"bindings": [
        {"clusterRole": "edit", "users": ["system:anonymous"], "groups": ["system:masters", "sre"]}]}}]})


def anonymous(cluster, method, path, body=None):
    """The HTTP status of a request to *cluster* without any credential."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(cluster.server + path, method=method, data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_system_subjects_are_never_bound_and_an_anonymous_request_still_gets_403(clean, run_module):
    directory, aws, gcp = clean
    store(directory, OPEN)
    sync(run_module, aws)
    bound = [s["name"] for kind in ("clusterrolebindings", "rolebindings")
             for o in (kjson(aws, "get", kind, "-A", "-l", "app.kubernetes.io/managed-by=directory-sync") or
                       {"items": []})["items"] for s in o.get("subjects") or []]
    assert "sre" in bound and not [name for name in bound if name.startswith("system:")], bound
    assert kjson(aws, "get", "clusterrolebinding", "clusterpolicy:pb-open:view") is None  # no subject left
    reasons = [r["object"] + ": " + r["reason"] for r in entry_of(aws, "pb-open")["refused"]]
    for subject in ("Group system:unauthenticated", "Group system:authenticated", "User system:anonymous",
                    "Group system:masters"):
        assert [r for r in reasons if "subject %s:" % subject in r], (subject, reasons)
    assert anonymous(aws, "GET", "/api/v1/namespaces/kube-system/configmaps") == 403
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pb-anonymous"}}).encode()
    assert anonymous(aws, "POST", "/api/v1/namespaces/default/configmaps", body) == 403
    assert kjson(aws, "-n", "default", "get", "configmap", "pb-anonymous") is None


# --- scope ----------------------------------------------------------------------------------------------------------

ADMINS = policy("pb-admins", {
    "authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["alice@example.com"]}]},
    "namespaces": [{"name": "pb-admins", "authorization": {"bindings": [
        {"clusterRole": "admin", "users": ["alice@example.com"]}]}}]})


def test_admin_is_refused_cluster_wide_and_applied_in_a_policy_namespace(clean, run_module):
    directory, aws, gcp = clean
    apply(directory, ADMINS)
    sync(run_module, aws)
    assert kjson(aws, "get", "clusterrolebinding", "clusterpolicy:pb-admins:admin") is None
    assert "pb-admins/clusterpolicy:pb-admins:admin" in held(aws, "rolebindings")
    entry = entry_of(aws, "pb-admins")
    assert entry["refused"] == [{"object": "ClusterRoleBinding clusterpolicy:pb-admins:admin",
                                 "reason": "ClusterRole admin is not in this replica's allowlist of roles policies "
                                           "may bind cluster-wide (view)"}]


def test_the_agents_own_token_may_not_bind_admin_cluster_wide(clean, agent_rbac, tmp_path):
    aws = agent_rbac
    wait_for(lambda: (kjson(aws, "get", "clusterrole", "admin") or {}).get("rules"), 30,
             "ClusterRole admin aggregated (an empty role is bindable by anyone)")
    own = tmp_path / "agent.kubeconfig"
    write_private(own, yaml.safe_dump(service_account_kubeconfig(aws, "tectonic-system", "directory-sync")))

    def as_agent(*args):
        return subprocess.run(["kubectl", "--kubeconfig", str(own)] + list(args), capture_output=True, text=True,
                              timeout=60, check=False)
    refused = as_agent("create", "clusterrolebinding", "pb-stolen", "--clusterrole=admin", "--user=mallory")
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower(), refused.stderr
    assert kjson(aws, "get", "clusterrolebinding", "pb-stolen") is None
    # nor admin, quota or labels in a namespace it does not hold
    assert as_agent("-n", "kube-system", "create", "rolebinding", "pb-stolen", "--clusterrole=admin",
                    "--user=mallory").returncode != 0
    assert as_agent("-n", "kube-system", "create", "quota", "pb-stolen", "--hard=pods=0").returncode != 0
    assert as_agent("label", "namespace", "kube-system", "pb=x").returncode != 0
    assert as_agent("delete", "namespace", "kube-public", "--dry-run=server").returncode != 0
    # what the sync needs is allowed: view cluster-wide
    allowed = as_agent("create", "clusterrolebinding", "pb-view", "--clusterrole=view", "--user=bob",
                       "--dry-run=server")
    assert allowed.returncode == 0, allowed.stderr


# --- the same bounds from Ansible -----------------------------------------------------------------------------------

ROOT = policy("pb-root", {"authorization": {"clusterBindings": [
    {"clusterRole": "cluster-admin", "groups": ["everyone"]}]}})


def test_sync_replicas_with_the_admin_kubeconfig_cannot_bind_what_the_agent_may_not(clean, run_playbook, tmp_path):
    """The allowlist widened by hand in the ConfigMap to cluster-admin: the planner lets the binding through, the
    API server refuses it, as the identity the policy objects are written with is the agent's."""
    directory, aws, gcp = clean
    set_settings(aws, clusterRoles='["view", "cluster-admin"]')
    apply(directory, ROOT)
    run = run_playbook("sync_replicas.yml", fleet_inventory(tmp_path, directory, aws), limit=aws.name)
    assert run.rc == 0, (run.failures(), run.task_results("Sync Clusters from the directory"), run.stderr[-2000:])
    assert kjson(aws, "get", "clusterrolebinding", "clusterpolicy:pb-root:cluster-admin") is None
    entry = entry_of(aws, "pb-root")
    assert entry["state"] == "failed", entry
    assert entry["failed"][0]["object"] == "ClusterRoleBinding clusterpolicy:pb-root:cluster-admin"
    assert "system:serviceaccount:tectonic-system:directory-sync" in entry["failed"][0]["reason"]
    assert "403" in entry["failed"][0]["reason"] or "forbidden" in entry["failed"][0]["reason"].lower()


def test_where_impersonation_is_refused_policies_are_not_applied_and_the_cluster_sync_runs(
        clean, run_module, tmp_path):
    """A connection that may do everything but impersonate: the Clusters sync with it, the policies do not."""
    directory, aws, gcp = clean
    apply(directory, ADMINS)
    name = "pb-no-impersonation"
    aws.kubectl("create", "serviceaccount", name, "-n", "tectonic-system")
    # every verb on what the Cluster sync touches, and no impersonate (which edit and admin grant on serviceaccounts)
    aws.kubectl("create", "clusterrole", name, "--verb=*",
                "--resource=clusters.multicluster.coreos.com,configmaps,secrets")
    aws.kubectl("create", "clusterrolebinding", name, "--clusterrole=" + name,
                "--serviceaccount=tectonic-system:%s" % name)
    try:
        own = tmp_path / "limited.kubeconfig"
        write_private(own, yaml.safe_dump(service_account_kubeconfig(aws, "tectonic-system", name)))
        directory.kubectl("label", "clusters.multicluster.coreos.com", gcp.name, "probe=pb", "--overwrite")
        result = run_module("mc_directory_sync", {"kubeconfig": str(own), "status_interval": 3600})
        assert not result.failed, result.result
        assert "cannot impersonate" in result["policies"]["error"], result["policies"]
        assert result["policies"]["items"]["pb-admins"]["state"] == "failed"
        assert kjson(aws, "get", "namespace", "pb-admins") is None
        assert kjson(aws, "get", "clusters.multicluster.coreos.com", gcp.name)["metadata"]["labels"]["probe"] == "pb"
    finally:
        directory.kubectl("label", "clusters.multicluster.coreos.com", gcp.name, "probe-", check=False)
        aws.kubectl("delete", "clusterrolebinding", name, "--ignore-not-found", check=False)
        aws.kubectl("delete", "clusterrole", name, "--ignore-not-found", check=False)
        aws.kubectl("-n", "tectonic-system", "delete", "serviceaccount", name, "--ignore-not-found", check=False)


# --- labels ---------------------------------------------------------------------------------------------------------

PRIVILEGED = policy("pb-labels", {"namespaces": [{"name": "pb-labels", "labels": {
    "pod-security.kubernetes.io/enforce": "privileged", "team": "platform"}}]})


def test_a_pod_security_label_is_refused_and_an_ordinary_label_applied(clean, run_module):
    directory, aws, gcp = clean
    apply(directory, PRIVILEGED)
    sync(run_module, aws)
    labels = kjson(aws, "get", "namespace", "pb-labels")["metadata"]["labels"]
    assert labels["team"] == "platform" and "pod-security.kubernetes.io/enforce" not in labels
    entry = entry_of(aws, "pb-labels")
    assert entry["state"] == "refused" and entry["refused"][0]["object"] == "Namespace pb-labels"
    assert entry["refused"][0]["reason"].startswith("label pod-security.kubernetes.io/enforce: label keys under")
    # a replica that allows the key by name sets it
    set_settings(gcp, allowedLabelKeys='["pod-security.kubernetes.io/enforce"]')
    directory.kubectl("label", "clusters.multicluster.coreos.com", gcp.name, "cloud=aws", "--overwrite")
    try:
        sync(run_module, gcp)
        assert kjson(gcp, "get", "namespace", "pb-labels")["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"] == "privileged"
    finally:
        directory.kubectl("label", "clusters.multicluster.coreos.com", gcp.name, "cloud=gcp", "--overwrite")


# --- missing settings -----------------------------------------------------------------------------------------------

def test_without_the_settings_config_map_policies_are_not_applied_and_nothing_is_removed(clean, run_module):
    directory, aws, gcp = clean
    assert namespace_state(aws, "pb-labels") == "gone"
    apply(directory, ADMINS)
    sync(run_module, aws)
    before = held(aws, "rolebindings"), held(aws, "namespaces")
    aws.kubectl("-n", SETTINGS[0], "delete", "configmap", SETTINGS[1])
    directory.kubectl("delete", CRD, ADMINS["metadata"]["name"])  # were policies applied, all of it would go
    apply(directory, PRIVILEGED)
    mark = aws.audit_mark()
    result = sync(run_module, aws)
    assert (held(aws, "rolebindings"), held(aws, "namespaces")) == before
    assert kjson(aws, "get", "namespace", "pb-labels") is None
    assert [w for w in aws.writes_since(mark) if w[1] != "configmaps"] == []
    reason = "has no ConfigMap tectonic-system/directory-sync-config, the replica's policy settings"
    assert reason in result["policies"]["error"] and reason in policy_status(aws)["error"]
    status = kjson(aws, "-n", "tectonic-system", "get", "configmap", "directory-sync-status")["data"]
    assert "policies not applied" in status["message"]


# --- leaving the registry -------------------------------------------------------------------------------------------

def fleet_inventory(tmp_path, directory, replica):
    """An inventory of the directory and one replica (what deregister_replica.yml needs)."""
    def host(cluster):
        return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "mc_kubeconfig": cluster.kubeconfig, "mc_context": cluster.context}
    inventory = tmp_path / "fleet.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "directory": {"hosts": {directory.name: host(directory)}},
        "replicas": {"hosts": {replica.name: host(replica)}}}}}))
    return inventory


def test_deregistering_with_remove_synced_leaves_no_grant_and_releases_a_namespace_holding_a_workload(
        lab, agent_rbac, run_module, run_playbook, tmp_path):
    directory, aws, gcp = lab
    apply(directory, ADMINS, policy("pb-tools", {
        "authorization": {"clusterBindings": [{"clusterRole": "view", "groups": ["auditors"]}]},
        "namespaces": [{"name": "pb-tools", "resourceQuota": {"hard": {"pods": "10"}},
                        "limitRange": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]},
                        "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]}}]}))
    try:
        sync(run_module, aws)
        assert held(aws, "clusterrolebindings") == ["/clusterpolicy:pb-tools:view"]
        assert held(aws, "clusters.multicluster.coreos.com"), "Clusters synced from the directory"
        aws.kubectl("-n", "pb-tools", "create", "deployment", "workload", "--image=localhost/none:0")
        assert kjson(aws, "-n", "tectonic-system", "get", "deployment", "directory-sync") is not None

        run = run_playbook("deregister_replica.yml", fleet_inventory(tmp_path, directory, aws),
                           extra_vars={"deregistration_remove_synced": True}, limit=aws.name)
        assert run.rc == 0, run.failures()
        for resource in ("clusterrolebindings", "rolebindings", "resourcequotas", "limitranges",
                         "clusters.multicluster.coreos.com"):
            assert held(aws, resource) == [], resource
        assert kjson(aws, "-n", "tectonic-system", "get", "deployment", "directory-sync") is None
        # the namespace with a workload is released (kept, no longer marked), the empty one deleted
        tools = kjson(aws, "get", "namespace", "pb-tools")
        assert tools is not None and "deletionTimestamp" not in tools["metadata"]
        assert "app.kubernetes.io/managed-by" not in tools["metadata"].get("labels", {})
        assert kjson(aws, "-n", "pb-tools", "get", "deployment", "workload") is not None
        assert kjson(aws, "-n", "pb-tools", "get", "rolebinding", "directory-sync-inspect") is None
        assert namespace_state(aws, "pb-admins") in ("terminating", "gone")
        # a second run has nothing left to remove on the replica
        mark = aws.audit_mark()
        again = run_module("mc_directory_sync_cleanup", {"kubeconfig": aws.kubeconfig, "context": aws.context})
        assert not again.failed and not again.changed, again.result
        assert aws.writes_since(mark) == []
    finally:
        directory.kubectl("delete", CRD, "--all", check=False)
        aws.kubectl("delete", "namespace", "pb-tools", "pb-admins", "--ignore-not-found", "--wait=false", check=False)
        # registered again, as the lab fixture left it
        apply(directory, cluster_manifest(aws.name, {"cloud": "aws", "stage": "production"}))
        stored = run_module("mc_sync_secret", dict(connection(aws), kubeconfig_content=issue_credential(
            run_module, directory, aws.name)))
        assert not stored.failed, stored.result
        set_settings(aws)
