"""Fleet health on the lab: each replica's agent renews its heartbeat Lease in the directory and writes the
conditions of its syncs on its own Cluster's status, and nothing else; readers count it unavailable after the
grace. The directory is fleet[0]; the agent runs as a process for replica fleet[2]."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.conftest import ansible_env, assert_writes, token_client
from tests.integration.test_directory_sync import (
    AGENT_MODULE, apply, cleanup_replica, cluster_manifest, connection, issue_credential, wait_for, write_atomically)
from tests.lab.fleet import free_port

GROUP, VERSION = "multicluster.coreos.com", "v1"
NAMESPACE = "tectonic-multi-cluster"
PERIOD = 2  # the agent's heartbeat period here: unavailable after 5 periods, 10 s


@pytest.fixture(scope="module")
def health(collection_path):
    """registry/health.py of the collection under test: how every reader tells a heartbeat's age."""
    if collection_path not in sys.path:
        sys.path.insert(0, collection_path)
    from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health as module
    return module


def lease(directory, name):
    try:
        return client.CoordinationV1Api(directory.api_client()).read_namespaced_lease(name, NAMESPACE).to_dict()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def lease_as_read(directory, name):
    """The Lease as the API returns it (camelCase keys, times as text), the shape readers parse."""
    out = directory.kubectl("-n", NAMESPACE, "get", "lease", name, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def cluster(directory, name):
    return client.CustomObjectsApi(directory.api_client()).get_cluster_custom_object(GROUP, VERSION, "clusters", name)


def conditions(directory, name):
    return dict((c["type"], c) for c in (cluster(directory, name).get("status") or {}).get("conditions") or [])


def patch_status(api_client, name, status):
    return client.CustomObjectsApi(api_client).patch_cluster_custom_object_status(
        GROUP, VERSION, "clusters", name, {"status": status})


def directory_inventory(directory, tmp_path):
    """A coreos.multicluster.directory inventory of *directory*, with its own kubeconfig for the directory host
    only (the replicas are not read: fleet_status_read_clusters=false)."""
    folder = tmp_path / "kubeconfigs"
    folder.mkdir(exist_ok=True)
    (folder / (directory.name + ".kubeconfig")).write_text(open(directory.kubeconfig).read())
    path = tmp_path / "health.directory.yml"
    path.write_text(yaml.safe_dump({"plugin": "coreos.multicluster.directory", "kubeconfig": directory.kubeconfig,
                                    "context": directory.context, "cluster_kubeconfig_dir": str(folder),
                                    "cluster_context": directory.context}))
    return path


def hostvars(collection_path, path):
    env = ansible_env(collection_path)
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(path),
                           "--list"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["_meta"]["hostvars"]


def plain(value):
    return value["__ansible_unsafe"] if isinstance(value, dict) and set(value) == {"__ansible_unsafe"} else value


def fleet_row(run_playbook, path, tmp_path, directory, name):
    """fleet_status.yml from the directory alone, on the directory and *name*: (its rc, the row of *name*, its
    output)."""
    report = tmp_path / "fleet.json"
    run = run_playbook("fleet_status.yml", path, limit="%s,%s" % (directory.name, name), extra_vars={
        "fleet_status_read_clusters": False, "fleet_status_fail_on": "unavailable", "fleet_status_file": str(report)})
    rows = json.loads(report.read_text())
    return run.rc, next(row for row in rows if row["name"] == name), run.stdout


PROFILES_MANIFEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                 "roles", "registry", "files", "cluster-profiles.yml")


def profile_health(run_module, directory, name):
    """Export the ClusterProfiles once (mc_cluster_profiles) and return *name*'s ControlPlaneHealthy status."""
    exported = run_module("mc_cluster_profiles", dict(connection(directory)))
    assert not exported.failed, exported.result
    profile = client.CustomObjectsApi(directory.api_client()).get_namespaced_custom_object(
        "multicluster.x-k8s.io", "v1alpha1", "fleet-inventory", "clusterprofiles", name)
    return next(c["status"] for c in profile["status"]["conditions"] if c["type"] == "ControlPlaneHealthy")


class Agent(object):
    """The agent as a process for *replica*, its credential in a file, heartbeat every PERIOD seconds."""

    def __init__(self, replica, kubeconfig, collection_path, tmp_path):
        self.credential = tmp_path / "kubeconfig"
        write_atomically(self.credential, yaml.safe_dump(kubeconfig))
        self.log_path = tmp_path / "agent.log"
        self.argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context",
                     replica.context, "--directory-kubeconfig", str(self.credential), "--health-address",
                     "127.0.0.1", "--health-port", str(free_port()), "--resync-period", "300",
                     "--heartbeat-period", str(PERIOD), "--log-level", "debug"]
        self.env = dict(os.environ, PYTHONPATH=collection_path)
        self.cwd = str(tmp_path)
        self.proc = None

    def start(self):
        with open(str(self.log_path), "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=log, env=self.env, cwd=self.cwd)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=10) == 0

    def messages(self):
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


@pytest.fixture
def agent(registry, run_module, collection_path, tmp_path):
    directory, replica = registry[0], registry[2]
    kubeconfig = issue_credential(run_module, directory, replica.name)
    hub = cluster_manifest(directory.name, {"stage": "health"})
    hub["spec"]["KubernetesAPIEndpoints"]["ServerEndpoints"][0]["ServerAddress"] = directory.server
    hub["metadata"]["annotations"] = {"multicluster.coreos.com/directory": "true"}
    apply(directory, cluster_manifest(replica.name, {"stage": "health"}),
          cluster_manifest("hb-other", {"stage": "before"}), hub)
    directory.kubectl("apply", "-f", PROFILES_MANIFEST)
    directory.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/clusterprofiles.multicluster.x-k8s.io")
    running = Agent(replica, kubeconfig, collection_path, tmp_path)
    yield directory, replica, running
    try:
        running.stop()
    finally:
        if running.proc is not None and running.proc.poll() is None:
            running.proc.kill()
        run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
        run_module("mc_cluster_profiles", dict(connection(directory), state="absent"))
        directory.kubectl("delete", "clusters.multicluster.coreos.com", replica.name, "hb-other", directory.name,
                          "--ignore-not-found", check=False)
        cleanup_replica(replica)


def test_the_agent_heartbeats_reports_its_conditions_and_goes_unknown_when_stopped(
        agent, health, collection_path, run_playbook, run_module, tmp_path):
    directory, replica, running = agent
    inventory = directory_inventory(directory, tmp_path)
    running.start()
    # the cluster name comes from the replica's tectonic-config ConfigMap (no --cluster-name)
    wait_for(lambda: health.heartbeat(lease_as_read(directory, replica.name), time.time())["available"], 30,
             "a renewed heartbeat Lease")
    renewed = lease(directory, replica.name)["spec"]
    assert renewed["holder_identity"] == replica.name and renewed["lease_duration_seconds"] == PERIOD
    first = renewed["renew_time"]
    wait_for(lambda: lease(directory, replica.name)["spec"]["renew_time"] > first, 3 * PERIOD, "a second renewal")

    synced = wait_for(lambda: conditions(directory, replica.name).get("Synced"), 30, "the Synced condition")
    assert (synced["status"], synced["reason"]) == ("True", "InSync")
    status = cluster(directory, replica.name)["status"]
    assert status["kubernetesVersion"].startswith("v1.") and status["policiesApplied"] == "0/0"
    assert status["agentVersion"] and conditions(directory, replica.name)["PoliciesApplied"]["status"] == "True"
    # kubectl get clusters on the directory shows them
    table = directory.kubectl("get", "clusters.multicluster.coreos.com", replica.name).stdout.splitlines()
    header, row = table[0].split(), table[1].split()
    assert header[-4:] == ["SYNCED", "POLICIES", "VERSION", "AGE"]
    assert row[-4:-1] == ["True", "0/0", status["kubernetesVersion"]]
    # the status was synced to the replica as nobody's: its copy has none
    copy = client.CustomObjectsApi(replica.api_client()).get_cluster_custom_object(
        GROUP, VERSION, "clusters", replica.name)
    assert "status" not in copy

    # no storm: other replicas' status writes ask this agent for no sync and write nothing on its replica
    syncs = sum(1 for m in running.messages() if m["msg"] == "synced")
    mark = replica.audit_mark()
    for version in ("v1.31.0", "v1.31.1", "v1.32.0"):
        patch_status(directory.api_client(), "hb-other", {"kubernetesVersion": version})
    time.sleep(3)
    assert sum(1 for m in running.messages() if m["msg"] == "synced") == syncs
    assert not [m for m in running.messages() if m["msg"] == "directory changed" and m.get("cluster") == "Cluster hb-other"]
    assert_writes(replica, mark, [])
    # a change the sync uses still arrives at once
    directory.kubectl("label", "clusters.multicluster.coreos.com", "hb-other", "stage=after", "--overwrite")
    wait_for(lambda: client.CustomObjectsApi(replica.api_client()).get_cluster_custom_object(
        GROUP, VERSION, "clusters", "hb-other")["metadata"]["labels"].get("stage") == "after", 15,
        "the relabel on the replica")

    # the readers, from the directory alone: the inventory and fleet_status.yml
    found = hostvars(collection_path, inventory)
    assert found[replica.name]["mc_available"] is True and plain(found[replica.name]["mc_last_seen"])
    assert found[directory.name]["mc_available"] is True
    rc, row, _out = fleet_row(run_playbook, inventory, tmp_path, directory, replica.name)
    assert rc == 0 and row["health"]["available"] is True and row["health"]["synced"] == "True"
    assert row["health"]["kubernetes_version"] == status["kubernetesVersion"] and row["credential"] is None
    assert profile_health(run_module, directory, replica.name) == "True"

    # stopped: after the grace (5 periods) a reader counts the replica unavailable
    running.stop()
    stopped_at = time.time()
    assert health.heartbeat(lease_as_read(directory, replica.name), time.time())["available"]
    wait_for(lambda: not health.heartbeat(lease_as_read(directory, replica.name), time.time())["available"],
             5 * PERIOD + 10, "the heartbeat older than the grace")
    assert time.time() - stopped_at >= 5 * PERIOD - PERIOD
    found = hostvars(collection_path, inventory)
    assert found[replica.name]["mc_available"] is False
    assert "no heartbeat for" in plain(found[replica.name]["mc_health"]["heartbeat"])
    rc, row, out = fleet_row(run_playbook, inventory, tmp_path, directory, replica.name)
    assert rc != 0 and row["health"]["available"] is False and "unavailable" in out
    assert any("UNKNOWN" in line and replica.name in line for line in out.splitlines())
    assert profile_health(run_module, directory, replica.name) == "Unknown"
    # restarted: available again
    running.start()
    wait_for(lambda: health.heartbeat(lease_as_read(directory, replica.name), time.time())["available"], 30,
             "the heartbeat back")
    assert hostvars(collection_path, inventory)[replica.name]["mc_available"] is True
    assert fleet_row(run_playbook, inventory, tmp_path, directory, replica.name)[0] == 0
    assert profile_health(run_module, directory, replica.name) == "True"
    text = running.log_path.read_text()
    assert "Bearer" not in text and "token:" not in text


def test_a_replicas_credential_renews_its_own_lease_and_writes_its_own_status_and_nothing_else(
        registry, run_module):
    directory = registry[0]
    issued = {}
    for name in ("hb-one", "hb-two"):
        issued[name] = issue_credential(run_module, directory, name)
    apply(directory, cluster_manifest("hb-one", {"stage": "a"}), cluster_manifest("hb-two", {"stage": "b"}))
    try:
        as_one = token_client(directory, issued["hb-one"]["users"][0]["user"]["token"])
        leases = client.CoordinationV1Api(as_one)

        def code(fn):
            try:
                fn()
                return 200
            except ApiException as exc:
                return exc.status

        own = leases.read_namespaced_lease("hb-one", NAMESPACE)
        own.spec.holder_identity = "hb-one"
        assert code(lambda: leases.replace_namespaced_lease("hb-one", NAMESPACE, own)) == 200
        other = client.CoordinationV1Api(directory.api_client()).read_namespaced_lease("hb-two", NAMESPACE)
        other.spec.holder_identity = "hb-one"
        assert code(lambda: leases.read_namespaced_lease("hb-two", NAMESPACE)) == 403
        assert code(lambda: leases.replace_namespaced_lease("hb-two", NAMESPACE, other)) == 403
        assert code(lambda: leases.delete_namespaced_lease("hb-one", NAMESPACE)) == 403
        assert code(lambda: leases.create_namespaced_lease(NAMESPACE, {"metadata": {"name": "hb-three"}})) == 403
        assert code(lambda: leases.list_namespaced_lease(NAMESPACE)) == 403

        assert code(lambda: patch_status(as_one, "hb-one", {"kubernetesVersion": "v1.31.0"})) == 200
        whole = cluster(directory, "hb-one")  # a PUT of its status: the agent only patches, so not granted
        assert code(lambda: client.CustomObjectsApi(as_one).replace_cluster_custom_object_status(
            GROUP, VERSION, "clusters", "hb-one", whole)) == 403
        assert code(lambda: patch_status(as_one, "hb-two", {"kubernetesVersion": "v9.9.9"})) == 403
        objects = client.CustomObjectsApi(as_one)
        assert code(lambda: objects.patch_cluster_custom_object(
            GROUP, VERSION, "clusters", "hb-one", {"metadata": {"labels": {"stage": "mine"}}})) == 403
        assert code(lambda: objects.patch_cluster_custom_object(
            GROUP, VERSION, "clusters", "hb-one", {"spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [
                {"ServerAddress": "https://elsewhere.example.invalid"}]}}})) == 403
        assert cluster(directory, "hb-two").get("status", {}).get("kubernetesVersion") is None
        assert cluster(directory, "hb-one")["metadata"]["labels"] == {"stage": "a"}
    finally:
        for name in ("hb-one", "hb-two"):
            gone = run_module("mc_replica_credentials", dict(connection(directory), name=name, state="absent"))
            assert not gone.failed, gone.result
        directory.kubectl("delete", "clusters.multicluster.coreos.com", "hb-one", "hb-two", "--ignore-not-found",
                          check=False)
    # de-registration took the Lease and the grants with the credential
    assert lease(directory, "hb-one") is None
    left = directory.kubectl("get", "-n", NAMESPACE, "role,rolebinding", "-o", "name").stdout.split()
    left += directory.kubectl("get", "clusterrole,clusterrolebinding", "-o", "name").stdout.split()
    assert [name for name in left if "hb-one" in name or "hb-two" in name] == []
