"""The directory-sync agent as users deploy it: the registry role's Deployment on a real node.

A lab of its own with a node on each replica (tests/lab/node.py: containerd, kubelet and kube-proxy
in a network namespace of their own, kube-scheduler), the agent's image built by `make image` and
loaded into the nodes (no registry), then `ansible-playbook coreos.multicluster.site`, and the checks
of the guide: the Deployment AVAILABLE 1, the replica's Clusters loaded by the pod, changes followed,
the credential rotated under the running pod, the pod replaced, its logs, probes and /metrics.

The pod reaches its own API server through in-cluster configuration (the kubernetes Service's
ClusterIP, routed by kube-proxy) and the directory through the address in its sync Secret (the lab's
bridge address). Skipped, saying why, where the machine cannot run a lab node or build the image."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.conftest import _CLUSTERS, SecretText
from tests.integration.test_directory_sync import apply, cluster_manifest, names, status, wait_for
from tests.integration.test_image import BUILD, _cannot_build
from tests.lab import DEFAULT_NAMES, Fleet
from tests.lab import node as labnode
from tests.lab.fleet import ADMIN_USER

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMESPACE = "tectonic-system"
SELECTOR = "app=directory-sync"
AGENT_USER = "system:serviceaccount:tectonic-system:directory-sync"
PREFIX = "pod-"


def cannot(reason):
    """Skip, saying why, where the machine cannot run this; fail instead where it must (CI sets
    MC_REQUIRE_LAB_NODE=1: a skipped pod test must never pass for a run of it)."""
    if os.environ.get("MC_REQUIRE_LAB_NODE"):
        pytest.fail("MC_REQUIRE_LAB_NODE is set, but: %s" % reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def image():
    """The image make image builds (containers/directory-sync/build-image.sh), as test_image builds it."""
    reason = _cannot_build()
    if reason:
        cannot(reason)
    proc = subprocess.run([BUILD], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, "build-image.sh: rc %s: %s" % (proc.returncode, proc.stderr[-3000:])
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def node_lab(image, tmp_path_factory):
    """Three clusters, a node on each replica, the agent's image loaded into the nodes."""
    if os.environ.get("MC_LAB_CONTEXTS"):
        pytest.skip("the agent's pod test needs a lab fleet with nodes of its own")
    reason = labnode.check_host()
    if reason:
        cannot(reason)
    build = subprocess.run([os.path.join(ROOT, "tests", "lab", "build-kubernetes.sh"), "--node"],
                           capture_output=True, text=True, timeout=1800, check=False)
    assert build.returncode == 0, "build-kubernetes.sh --node: %s" % build.stderr[-3000:]
    lab = Fleet(str(tmp_path_factory.mktemp("pods")), DEFAULT_NAMES, bin_dir=build.stdout.strip(),
                nodes=True, images=[image])
    started = time.monotonic()
    clusters = lab.start(timeout=180)
    print("lab with %d nodes up in %.0f s" % (len(lab.node_names), time.monotonic() - started))
    _CLUSTERS.extend(clusters)
    try:
        yield {"clusters": clusters, "inventory": lab.write_inventory(), "image": image}
    finally:
        lab.stop()


def deployment_table(cluster):
    """`kubectl get deployments -n tectonic-system -l app=directory-sync`, as the guide runs it."""
    return cluster.kubectl("get", "deployments", "-n", NAMESPACE, "-l", SELECTOR).stdout


def available(cluster):
    """The AVAILABLE column of the table, by deployment name."""
    lines = deployment_table(cluster).splitlines()
    if not lines:
        return {}
    column = lines[0].split().index("AVAILABLE")
    return {line.split()[0]: int(line.split()[column]) for line in lines[1:]}


def agent_pods(cluster):
    out = cluster.kubectl("get", "pods", "-n", NAMESPACE, "-l", SELECTOR, "-o", "json").stdout
    return [p for p in json.loads(out)["items"] if not p["metadata"].get("deletionTimestamp")]


def ready_pod(cluster):
    """The one agent pod when it is Ready, else None."""
    pods = agent_pods(cluster)
    if len(pods) != 1:
        return None
    conditions = {c["type"]: c["status"] for c in pods[0]["status"].get("conditions", [])}
    return pods[0] if conditions.get("Ready") == "True" else None


def log_entries(cluster, pod):
    out = cluster.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def messages(cluster, pod):
    return [entry["msg"] for entry in log_entries(cluster, pod)]


def in_node(cluster, code, timeout=30):
    """Python *code* run in the cluster's node's network namespace (where its pods' addresses are)."""
    proc = subprocess.run(["nsenter", "--net=/run/netns/%s" % cluster.node["netns"], "--", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "in node %s: %s" % (cluster.node["name"], proc.stderr[-2000:])
    return proc.stdout


def http_get(cluster, pod, path):
    """(status, body) of GET http://<pod IP>:8080<path>, from the pod's node."""
    code = ("import json, urllib.request, urllib.error\n"
            "try:\n"
            "    resp = urllib.request.urlopen('http://%s:8080%s', timeout=5)\n"
            "    print(json.dumps([resp.status, resp.read().decode()]))\n"
            "except urllib.error.HTTPError as exc:\n"
            "    print(json.dumps([exc.code, exc.read().decode()]))\n" % (pod["status"]["podIP"], path))
    return tuple(json.loads(in_node(cluster, code)))


def secret_kubeconfig(cluster):
    out = cluster.kubectl("-n", NAMESPACE, "get", "secret", "directory-sync", "-o", "json").stdout
    return SecretBytes(base64.b64decode(json.loads(out)["data"]["kubeconfig"]))


class SecretBytes(bytes):
    """A credential's bytes: compared as bytes, never shown."""

    def __repr__(self):
        return "<%d bytes of a credential: not shown>" % len(self)


def digest(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


def mounted_kubeconfig(cluster, pod):
    """The credential as the kubelet mounted it into the pod (the Secret volume, a tmpfs in the node's mount
    namespace), or None before it is there."""
    path = os.path.join(cluster.node["dir"], "kubelet", "pods", pod["metadata"]["uid"], "volumes",
                        "kubernetes.io~secret", "credential", "kubeconfig")
    proc = subprocess.run(labnode.in_node_mounts(cluster.node, cluster.pids["containerd"]) + ["cat", path],
                          capture_output=True, timeout=30, check=False)
    return SecretBytes(proc.stdout) if proc.returncode == 0 else None


def token_in(kubeconfig_bytes):
    return SecretText(yaml.safe_load(kubeconfig_bytes)["users"][0]["user"]["token"])


def directory_answers(directory, token):
    """The HTTP status the directory gives a list of Clusters made with *token* (never shown)."""
    import ssl
    import urllib.error
    import urllib.request
    ctx = ssl.create_default_context(cafile=directory.ca_cert)
    request = urllib.request.Request(directory.server + "/apis/multicluster.coreos.com/v1/clusters",
                                     headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def deployed(node_lab, run_playbook):
    """site.yml run on the fleet with the image; the Deployment AVAILABLE 1 on every replica."""
    clusters = node_lab["clusters"]
    directory, replicas = clusters[0], clusters[1:]
    marks = {c.name: c.audit_mark() for c in clusters}
    started = time.monotonic()
    run = run_playbook("coreos.multicluster.site", node_lab["inventory"],
                       extra_vars={"registry_sync_image": node_lab["image"]})
    assert run.rc == 0 and not run.failures(), run.failures() or run.stderr[-3000:]
    print("site.yml in %.0f s" % (time.monotonic() - started))
    for replica in replicas:
        wait_for(lambda: available(replica).get("directory-sync") == 1, 180,
                 "%s: Deployment directory-sync AVAILABLE 1 (pod: %s)" % (
                     replica.name, [p["status"].get("phase") for p in agent_pods(replica)]))
    print("AVAILABLE 1 on %s %.0f s after site.yml began" % (
        ", ".join(r.name for r in replicas), time.monotonic() - started))
    return {"directory": directory, "replicas": replicas, "marks": marks, "site": run}


def test_the_deployment_becomes_available_on_each_replica_node(deployed, node_lab):
    # the directory has no agent (registry_sync_agent is false there), each replica one, on its node
    assert available(deployed["directory"]) == {}
    for replica in deployed["replicas"]:
        table = deployment_table(replica)
        print("== kubectl get deployments -n %s -l %s   (on %s)\n%s" % (NAMESPACE, SELECTOR, replica.name, table))
        assert available(replica) == {"directory-sync": 1}
        pod = ready_pod(replica)
        assert pod is not None, "%s: no Ready agent pod" % replica.name
        assert pod["spec"]["nodeName"] == replica.node["name"]
        assert pod["spec"]["containers"][0]["image"] == node_lab["image"]
        assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_the_pods_load_the_fleet_into_the_replicas(deployed):
    """kubectl get clusters on each replica lists the fleet, written by the pod: the replica's audit
    log has each create made by the agent's ServiceAccount and none by the playbook's user."""
    directory = deployed["directory"]
    fleet = names(directory)
    assert fleet == sorted(c.name for c in [directory] + deployed["replicas"])
    for replica in deployed["replicas"]:
        wait_for(lambda: names(replica) == fleet, 60, "%s: the directory's Clusters" % replica.name)
        print("== kubectl get clusters   (on %s)\n%s" % (replica.name, replica.kubectl("get", "clusters").stdout))
        mark = deployed["marks"][replica.name]
        by_agent = replica.writes_since(mark, user=AGENT_USER)
        assert sorted(n for verb, resource, ns, n in by_agent if (verb, resource) == ("create", "clusters")) == fleet
        by_playbook = replica.writes_since(mark, user=ADMIN_USER)
        assert [w for w in by_playbook if w[1].startswith("clusters")] == []
        # the agent's status ConfigMap (written by it too) and its log say the same
        recorded = status(replica)
        assert recorded["result"] == "ok" and recorded["directory"] == directory.server, recorded
        assert ("create", "configmaps", NAMESPACE, "directory-sync-status") in by_agent
        loaded = [e for e in log_entries(replica, ready_pod(replica)) if e["msg"] == "directory credential loaded"]
        assert loaded and loaded[0]["directory"] == directory.server, loaded


def test_directory_changes_reach_the_replicas_within_seconds(deployed):
    directory, replicas = deployed["directory"], deployed["replicas"]
    name = PREFIX + "added"
    apply(directory, cluster_manifest(name, {"stage": "canary"}))
    for replica in replicas:
        wait_for(lambda: name in names(replica), 30, "%s: Cluster %s added on the directory" % (replica.name, name))
    directory.kubectl("delete", "clusters.multicluster.coreos.com", name)
    for replica in replicas:
        wait_for(lambda: name not in names(replica), 30,
                 "%s: Cluster %s deleted from the directory" % (replica.name, name))


def test_the_kubelet_updates_the_mounted_secret_in_the_running_pod(deployed):
    """The Secret changed under the pod (as any tool may write it: here the same credential as JSON, so
    the content's bytes differ but the Deployment is left alone): the kubelet swaps the volume's ..data
    in the same pod, and the agent reloads it and carries on."""
    directory, replica = deployed["directory"], deployed["replicas"][0]
    pod = ready_pod(replica)
    stored = secret_kubeconfig(replica)
    assert digest(mounted_kubeconfig(replica, pod)) == digest(stored)
    reloads = messages(replica, pod).count("directory credential changed: reloading")
    as_json = json.dumps(yaml.safe_load(stored)).encode()
    secret = json.loads(replica.kubectl("-n", NAMESPACE, "get", "secret", "directory-sync", "-o", "json").stdout)
    secret["data"]["kubeconfig"] = base64.b64encode(as_json).decode()
    replica.kubectl("replace", "-f", "-", input_text=SecretText(json.dumps(secret)))  # never in a command line
    del secret
    wait_for(lambda: digest(mounted_kubeconfig(replica, pod)) == digest(as_json), 120,
             "%s: the changed Secret in pod %s's volume" % (replica.name, pod["metadata"]["name"]))
    wait_for(lambda: messages(replica, pod).count("directory credential changed: reloading") > reloads, 30,
             "%s: the agent's reload of the changed credential" % replica.name)
    name = PREFIX + "after-reload"
    apply(directory, cluster_manifest(name, {"stage": "canary"}))
    wait_for(lambda: name in names(replica), 30, "%s: Cluster %s after the reload" % (replica.name, name))
    now = ready_pod(replica)
    assert now["metadata"]["uid"] == pod["metadata"]["uid"]  # the same pod
    assert now["status"]["containerStatuses"][0]["restartCount"] == 0  # and the same container
    directory.kubectl("delete", "clusters.multicluster.coreos.com", name)
    wait_for(lambda: name not in names(replica), 30, "%s: Cluster %s deleted" % (replica.name, name))


def test_a_rotated_credential_reaches_the_pod_and_the_old_one_is_refused(deployed, node_lab, run_playbook):
    """onboard_replica.yml with replica_onboarding_rotate: a new token in the Secret, the old one refused;
    the role also sets the Deployment's credential-hash annotation, so the pod is replaced by one with the
    new Secret mounted, which syncs with the new token."""
    directory, replica = deployed["directory"], deployed["replicas"][0]
    before = ready_pod(replica)
    old_token = token_in(secret_kubeconfig(replica))
    assert directory_answers(directory, old_token) == 200

    run = run_playbook("coreos.multicluster.onboard_replica", node_lab["inventory"], limit=replica.name,
                       extra_vars={"registry_sync_image": node_lab["image"], "replica_onboarding_rotate": True})
    assert run.rc == 0 and not run.failures(), run.failures() or run.stderr[-3000:]
    leaked = old_token in run.stdout or old_token in run.stderr  # a boolean: a failing assert must not print it
    assert not leaked, "the old token shows in the playbook's output"
    new = secret_kubeconfig(replica)
    new_token = token_in(new)
    assert new_token != old_token
    # the API server's token cache may accept a revoked token for about 10 s more
    wait_for(lambda: directory_answers(directory, old_token) == 401, 30,
             "%s: the directory refusing the old token (401)" % replica.name)
    assert directory_answers(directory, new_token) == 200
    template = json.loads(replica.kubectl("-n", NAMESPACE, "get", "deployment", "directory-sync", "-o", "json").stdout)
    annotations = template["spec"]["template"]["metadata"]["annotations"]
    assert annotations["multicluster.coreos.com/credential-hash"] == hashlib.sha256(new).hexdigest()

    def rotated_pod():
        pod = ready_pod(replica)
        return pod if pod and digest(mounted_kubeconfig(replica, pod)) == digest(new) else None
    pod = wait_for(rotated_pod, 120, "%s: a Ready agent pod with the rotated Secret mounted" % replica.name)
    assert pod["metadata"]["uid"] != before["metadata"]["uid"]
    wait_for(lambda: available(replica).get("directory-sync") == 1, 60, "%s: AVAILABLE 1 again" % replica.name)
    # with the old token refused, a change that arrives came with the new one
    name = PREFIX + "after-rotation"
    apply(directory, cluster_manifest(name, {"stage": "canary"}))
    wait_for(lambda: name in names(replica), 30, "%s: Cluster %s after the rotation" % (replica.name, name))
    assert status(replica)["result"] == "ok"
    directory.kubectl("delete", "clusters.multicluster.coreos.com", name)
    wait_for(lambda: name not in names(replica), 30, "%s: Cluster %s deleted" % (replica.name, name))


def test_a_deleted_pod_stops_cleanly_and_a_new_one_carries_on(deployed):
    directory, replica = deployed["directory"], deployed["replicas"][-1]
    old = ready_pod(replica)
    # the old pod's log to its end: the kubelet's SIGTERM, then the agent's clean stop
    follow = subprocess.Popen(["kubectl", "--kubeconfig", replica.kubeconfig, "--context", replica.context, "logs",
                               "-f", "-n", NAMESPACE, old["metadata"]["name"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replica.kubectl("delete", "pod", "-n", NAMESPACE, old["metadata"]["name"], "--wait=true", "--timeout=60s")
    try:
        out, err = follow.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        follow.kill()
        raise AssertionError("%s: kubectl logs -f of the deleted pod did not end in 30 s" % replica.name)
    # the stream may end with the kubelet's word that the container is gone (not the agent's)
    lines = [line for line in out.splitlines() if line.strip()]
    agent_lines = [line for line in lines if line.startswith("{")]
    others = [line for line in lines if not line.startswith("{")]
    assert all("code = NotFound" in line for line in others), others
    last = json.loads(agent_lines[-1])["msg"]
    assert last == "stopped", "%s: the deleted pod's last log line: %r (%s)" % (replica.name, last, err[-500:])

    new = wait_for(lambda: ready_pod(replica), 120, "%s: a new Ready agent pod" % replica.name)
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    wait_for(lambda: available(replica).get("directory-sync") == 1, 60, "%s: AVAILABLE 1 again" % replica.name)
    assert messages(replica, new)[0] == "started"
    name = PREFIX + "after-restart"
    apply(directory, cluster_manifest(name, {"stage": "canary"}))
    wait_for(lambda: name in names(replica), 30, "%s: Cluster %s through the new pod" % (replica.name, name))
    directory.kubectl("delete", "clusters.multicluster.coreos.com", name)
    wait_for(lambda: name not in names(replica), 30, "%s: Cluster %s deleted" % (replica.name, name))


def test_the_pods_log_json_lines_and_answer_their_probes_and_metrics(deployed):
    for replica in deployed["replicas"]:
        pod = ready_pod(replica)
        out = replica.kubectl("logs", "-n", NAMESPACE, pod["metadata"]["name"]).stdout
        lines = [line for line in out.splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]  # every line one JSON object
        assert entries and all(isinstance(e, dict) and e.get("msg") and e.get("level") for e in entries), lines[:3]
        assert entries[0]["msg"] == "started"
        token = token_in(secret_kubeconfig(replica))
        leaked = token in out  # a boolean: a failing assert must not print it
        assert not leaked, "%s: the token shows in the pod's log" % replica.name

        for path in ("/healthz", "/readyz", "/livez"):
            code, body = http_get(replica, pod, path)
            assert code == 200, "%s: %s answered %s: %s" % (replica.name, path, code, body[:500])
        code, body = http_get(replica, pod, "/metrics")
        assert code == 200
        assert "directory_sync_build_info{" in body
        spec = pod["spec"]["containers"][0]
        assert spec["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["livenessProbe"]["httpGet"]["path"] == "/livez"
