"""SIG-Multicluster ClusterProfiles exported from the directory, on the lab's real API servers: the registry role
installs the ClusterProfile API (status subresource) and the exporter's RBAC; mc_cluster_profiles keeps one profile
per Cluster (check, apply, a converged run writes nothing), follows a relabel, deletes a de-registered cluster's
profile, leaves a foreign profile alone and turns ControlPlaneHealthy Unknown and True again with the heartbeat;
the exporter's ServiceAccount can run the export and nothing else (403 outside its grants); and the agent's
export-profiles mode, run with that ServiceAccount's token, exports continuously and, converged, writes nothing."""

import base64
import datetime
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.conftest import assert_writes, token_client

NS = "fleet-inventory"
EXPORTER = "system:serviceaccount:tectonic-system:cluster-profile-exporter"
NAMES = ("profile-east", "profile-central")
PROFILES = "clusterprofiles.multicluster.x-k8s.io"


def conn(cluster, **extra):
    return dict({"kubeconfig": cluster.kubeconfig, "context": cluster.context}, **extra)


def apply(cluster, *objects):
    listed = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(listed))


def cluster_object(name, labels):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"multicluster.coreos.com/console-url": "https://console.%s.example.com" % name}},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}


def micro_time(seconds_ago):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def heartbeat(cluster, name, seconds_ago, duration=60):
    """The replica's heartbeat Lease, renewed *seconds_ago*, written with the admin client."""
    apply(cluster, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": "tectonic-multi-cluster"},
                    "spec": {"holderIdentity": name, "leaseDurationSeconds": duration,
                             "renewTime": micro_time(seconds_ago)}})


def profile(cluster, name):
    got = cluster.kubectl("-n", NS, "get", PROFILES, name, "-o", "json", check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


def profile_names(cluster):
    got = cluster.kubectl("-n", NS, "get", PROFILES, "-o", "json")
    return sorted(item["metadata"]["name"] for item in json.loads(got.stdout)["items"])


def cluster_names(cluster):
    got = cluster.kubectl("get", "clusters.multicluster.coreos.com", "-o", "json")
    return sorted(item["metadata"]["name"] for item in json.loads(got.stdout)["items"])


def health(obj):
    return next(c for c in obj["status"]["conditions"] if c["type"] == "ControlPlaneHealthy")


def install(run_playbook, tmp_path, directory):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"directory": {"hosts": {directory.name: {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "mc_kubeconfig": directory.kubeconfig, "mc_context": directory.context}}}}}}))
    run = run_playbook("install_registry.yml", inventory, extra_vars={
        "registry_sync_image": "localhost/none:0", "registry_cluster_profiles": True,
        "registry_profile_exporter": True})
    assert run.rc == 0, run.failures()
    return inventory


@pytest.fixture(scope="module")
def directory(registry, run_playbook, tmp_path_factory):
    """The directory with the ClusterProfile API and the exporter installed by the registry role, two Clusters
    with fresh heartbeats, and no profile left from another test."""
    west = registry[0]
    tmp = tmp_path_factory.mktemp("profiles")
    inventory = install(run_playbook, tmp, west)
    mark = west.audit_mark()
    install(run_playbook, tmp, west)
    assert_writes(west, mark, [])  # the API, namespace and exporter as the role installs them: converged
    apply(west, cluster_object(NAMES[0], {"stage": "production", "cloud": "gcp"}),
          cluster_object(NAMES[1], {"stage": "staging"}))
    for name in NAMES:
        heartbeat(west, name, 1)
    west.kubectl("-n", NS, "delete", PROFILES, "--all", "--wait=true")
    west.inventory = inventory
    yield west
    west.kubectl("-n", NS, "delete", PROFILES, "--all", "--wait=true", check=False)
    for name in NAMES:
        west.kubectl("delete", "clusters.multicluster.coreos.com", name, "--ignore-not-found", check=False)
        west.kubectl("-n", "tectonic-multi-cluster", "delete", "lease", name, "--ignore-not-found", check=False)


def test_check_apply_check_apply_one_profile_per_cluster(directory, run_module):
    mark = directory.audit_mark()
    check = run_module("mc_cluster_profiles", conn(directory), check=True)
    assert not check.failed and check.changed, check.result
    assert check["diff"]["after"][NAMES[0]]["status"]["properties"][0] == {
        "name": "multicluster.coreos.com/cloud", "value": "gcp"}
    assert_writes(directory, mark, [])
    assert profile_names(directory) == []

    apply_ = run_module("mc_cluster_profiles", conn(directory))
    assert not apply_.failed and apply_.changed, apply_.result
    clusters = cluster_names(directory)
    assert profile_names(directory) == clusters and set(NAMES) <= set(clusters)
    assert_writes(directory, mark, [write for name in clusters for write in (
        ("create", "clusterprofiles", NS, name), ("patch", "clusterprofiles/status", NS, name))])
    east = profile(directory, NAMES[0])
    assert east["metadata"]["labels"]["x-k8s.io/cluster-manager"] == "coreos-multicluster"
    assert east["spec"] == {"clusterManager": {"name": "coreos-multicluster"}, "displayName": NAMES[0]}
    assert east["status"]["properties"] == [
        {"name": "multicluster.coreos.com/cloud", "value": "gcp"},
        {"name": "multicluster.coreos.com/stage", "value": "production"},
        {"name": "multicluster.coreos.com/console-url", "value": "https://console.%s.example.com" % NAMES[0]}]
    assert east["status"]["accessProviders"] == [{"name": "coreos-multicluster",
                                                  "cluster": {"server": "https://%s:6443" % NAMES[0]}}]
    assert health(east)["status"] == "True" and health(east)["reason"] == "HeartbeatRenewed"
    assert "token" not in json.dumps(east["status"]).lower()

    mark = directory.audit_mark()
    assert run_module("mc_cluster_profiles", conn(directory), check=True).changed is False
    again = run_module("mc_cluster_profiles", conn(directory))
    assert again.changed is False and not again.failed
    assert_writes(directory, mark, [])


def test_the_kubernetes_version_comes_from_the_clusters_status(directory, run_module):
    from kubernetes import client
    client.CustomObjectsApi(directory.api_client()).patch_cluster_custom_object_status(
        "multicluster.coreos.com", "v1", "clusters", NAMES[0], {"status": {"kubernetesVersion": "v1.20.2"}})
    assert run_module("mc_cluster_profiles", conn(directory)).changed
    assert profile(directory, NAMES[0])["status"]["version"] == {"kubernetes": "v1.20.2"}


def test_properties_follow_a_relabel_in_the_directory(directory, run_module):
    run_module("mc_cluster_profiles", conn(directory))
    directory.kubectl("label", "clusters.multicluster.coreos.com", NAMES[1], "stage=production", "role=edge",
                      "--overwrite")
    mark = directory.audit_mark()
    result = run_module("mc_cluster_profiles", conn(directory))
    assert result["updated"] == [NAMES[1]], result.result
    assert_writes(directory, mark, [("patch", "clusterprofiles/status", NS, NAMES[1])])
    assert [p["name"] for p in profile(directory, NAMES[1])["status"]["properties"]] == [
        "multicluster.coreos.com/role", "multicluster.coreos.com/stage", "multicluster.coreos.com/console-url"]


def test_a_stopped_heartbeat_turns_the_profile_unknown_and_a_fresh_one_true(directory, run_module):
    run_module("mc_cluster_profiles", conn(directory))
    heartbeat(directory, NAMES[0], 5 * 10 + 30, duration=10)  # older than 5 x leaseDurationSeconds
    assert run_module("mc_cluster_profiles", conn(directory))["updated"] == [NAMES[0]]
    stale = health(profile(directory, NAMES[0]))
    assert stale["status"] == "Unknown" and stale["reason"] == "HeartbeatExpired" and stale["lastTransitionTime"]
    heartbeat(directory, NAMES[0], 1)
    assert run_module("mc_cluster_profiles", conn(directory))["updated"] == [NAMES[0]]
    assert health(profile(directory, NAMES[0]))["status"] == "True"


def test_a_foreign_profile_is_reported_and_left_alone(directory, run_module):
    apply(directory, cluster_object("profile-foreign", {}))
    apply(directory, {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ClusterProfile",
                      "metadata": {"name": "profile-foreign", "namespace": NS,
                                   "labels": {"x-k8s.io/cluster-manager": "open-cluster-management"}},
                      "spec": {"clusterManager": {"name": "open-cluster-management"}, "displayName": "theirs"}})
    try:
        before = profile(directory, "profile-foreign")
        mark = directory.audit_mark()
        result = run_module("mc_cluster_profiles", conn(directory))
        assert result["conflicts"] == [{"name": "profile-foreign", "manager": "open-cluster-management"}]
        assert_writes(directory, mark, [])
        assert profile(directory, "profile-foreign") == before
        absent_check = run_module("mc_cluster_profiles", conn(directory, state="absent"), check=True)
        assert "profile-foreign" not in absent_check["deleted"] and NAMES[0] in absent_check["deleted"]
    finally:
        directory.kubectl("delete", "clusters.multicluster.coreos.com", "profile-foreign", check=False)
        directory.kubectl("-n", NS, "delete", PROFILES, "profile-foreign", check=False)


def test_a_deregistered_clusters_profile_goes_and_the_playbook_converges(directory, run_module, run_playbook):
    apply(directory, cluster_object("profile-gone", {}))
    run_module("mc_cluster_profiles", conn(directory))
    assert profile(directory, "profile-gone") is not None
    directory.kubectl("delete", "clusters.multicluster.coreos.com", "profile-gone")
    mark = directory.audit_mark()
    result = run_module("mc_cluster_profiles", conn(directory))
    assert result["deleted"] == ["profile-gone"] and result["diff"]["after"] == {"profile-gone": None}
    assert_writes(directory, mark, [("delete", "clusterprofiles", NS, "profile-gone")])
    assert profile(directory, "profile-gone") is None

    mark = directory.audit_mark()
    run = run_playbook("export_cluster_profiles.yml", directory.inventory)
    assert run.rc == 0, run.failures()
    assert run.changed() == {directory.name: 0}
    assert list(run.task_results("Export the ClusterProfiles").values())[0]["changed"] is False
    assert_writes(directory, mark, [])


def exporter_token(cluster):
    from kubernetes import client
    return client.CoreV1Api(cluster.api_client()).create_namespaced_service_account_token(
        "cluster-profile-exporter", "tectonic-system", {"spec": {"audiences": [], "expirationSeconds": 600}}
    ).status.token


def test_the_exporters_service_account_may_export_and_nothing_else(directory):
    from kubernetes import client
    from kubernetes.client.rest import ApiException
    api = token_client(directory, exporter_token(directory))
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    assert custom.list_namespaced_custom_object("multicluster.x-k8s.io", "v1alpha1", NS, "clusterprofiles")["items"]
    client.CoordinationV1Api(api).list_namespaced_lease("tectonic-multi-cluster")
    refused = [
        lambda: custom.create_namespaced_custom_object(
            "multicluster.x-k8s.io", "v1alpha1", "default", "clusterprofiles",
            {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ClusterProfile",
             "metadata": {"name": "outside"}, "spec": {"clusterManager": {"name": "coreos-multicluster"}}}),
        lambda: custom.patch_cluster_custom_object("multicluster.coreos.com", "v1", "clusters", NAMES[0],
                                                   {"metadata": {"labels": {"stage": "hacked"}}}),
        lambda: custom.create_cluster_custom_object(
            "multicluster.coreos.com", "v1", "clusters",
            {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": "forged"},
             "spec": {}}),
        lambda: client.CoordinationV1Api(api).patch_namespaced_lease(NAMES[0], "tectonic-multi-cluster",
                                                                     {"spec": {"renewTime": micro_time(0)}}),
        lambda: core.list_namespaced_secret("tectonic-system"),
    ]
    for attempt in refused:
        with pytest.raises(ApiException) as caught:
            attempt()
        assert caught.value.status == 403


def test_the_agents_export_mode_with_the_exporters_token_exports_and_then_writes_nothing(directory, tmp_path,
                                                                                         collection_path):
    with open(directory.ca_cert, "rb") as handle:
        ca = base64.b64encode(handle.read()).decode("ascii")
    kubeconfig = tmp_path / "exporter.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "directory",
        "clusters": [{"name": "directory", "cluster": {"server": directory.server, "certificate-authority-data": ca}}],
        "users": [{"name": "exporter", "user": {"token": exporter_token(directory)}}],
        "contexts": [{"name": "directory", "context": {"cluster": "directory", "user": "exporter"}}]}))
    os.chmod(str(kubeconfig), 0o600)
    directory.kubectl("-n", NS, "delete", PROFILES, "--all", "--wait=true")
    env = dict(os.environ, PYTHONPATH=collection_path)
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.coreos.multicluster.agent", "export-profiles",
                             "--kubeconfig", str(kubeconfig), "--period", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while profile_names(directory) != cluster_names(directory):
            assert time.monotonic() < deadline and proc.poll() is None, "the exporter did not export in 30 s"
            time.sleep(0.5)
        time.sleep(2)  # the run that created them has written their status
        mark = directory.audit_mark()
        time.sleep(4)  # four more runs: converged, none writes
        assert directory.writes_since(mark, user=EXPORTER) in ([], None)
        directory.kubectl("label", "clusters.multicluster.coreos.com", NAMES[0], "tier=gold")
        deadline = time.monotonic() + 40  # the KEP's budget: at most 30 s after the last status write
        while "multicluster.coreos.com/tier" not in json.dumps(profile(directory, NAMES[0])["status"]):
            assert time.monotonic() < deadline, "the relabel did not reach the profile in 40 s"
            time.sleep(1)
    finally:
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
        stderr = proc.stderr.read()
    assert code == 0 and time.monotonic() - stopped_at < 2
    lines = [json.loads(line) for line in io.StringIO(stderr) if line.startswith("{")]
    assert lines[0]["msg"] == "started" and lines[-1]["msg"] == "stopped"
    assert [line for line in lines if line["msg"] == "exported"]
    assert not [line for line in lines if line["msg"] == "export failed"], lines
