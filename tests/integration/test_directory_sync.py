"""directory-sync on the lab: the directory is fleet[0]; replicas pull its Clusters.

mc_directory_sync runs on replica fleet[1] (its credential stored in its
directory-sync Secret by mc_sync_secret); the agent runs as a process for
replica fleet[2] (its credential in a file, as the mounted Secret)."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import assert_writes, frozen, write_private, writes
from tests.lab.fleet import free_port

MANAGED = "app.kubernetes.io/managed-by"
SYNCED_FROM = "multicluster.coreos.com/synced-from"
STATUS = ("tectonic-system", "directory-sync-status")
PREFIX = "ds-"
AGENT_MODULE = "ansible_collections.coreos.multicluster.agent"


def connection(cluster):
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context}


def cluster_manifest(name, labels, server="https://%s.example.invalid:6443"):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": labels},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": server % name}]}}}


def apply(cluster, *objects):
    manifest = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(manifest))


def clusters(cluster):
    """{name: object} of every Cluster on a lab cluster."""
    out = json.loads(cluster.kubectl("get", "clusters.multicluster.coreos.com", "-o", "json").stdout)
    return {obj["metadata"]["name"]: obj for obj in out["items"]}


def names(cluster):
    return sorted(clusters(cluster))


def versions(cluster):
    return {name: obj["metadata"]["resourceVersion"] for name, obj in clusters(cluster).items()}


def status(cluster):
    out = cluster.kubectl("-n", STATUS[0], "get", "configmap", STATUS[1], "--ignore-not-found", "-o", "json").stdout
    return json.loads(out)["data"] if out.strip() else None


def token_of(kubeconfig):
    return kubeconfig["users"][0]["user"]["token"]


def assert_no_leak(run, token):
    leaked = token in run.stdout or token in run.stderr  # a boolean: a failing assert must not print the token
    assert not leaked, "the token shows in the output"


def wait_for(predicate, timeout, what, interval=0.5):
    """Poll predicate() until it returns something true; bounded."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %ss (last: %r)" % (what, timeout, last))


def issue_credential(run_module, directory, replica_name):
    issued = run_module("mc_replica_credentials", dict(connection(directory), name=replica_name,
                                                       directory_server=directory.server))
    assert not issued.failed, issued.result
    return issued["kubeconfig"]


def cleanup_replica(cluster):
    cluster.kubectl("delete", "clusters.multicluster.coreos.com", "-l", "%s=directory-sync" % MANAGED,
                    "--ignore-not-found", check=False)
    cluster.kubectl("delete", "clusters.multicluster.coreos.com", "--ignore-not-found",
                    *["%slocal" % PREFIX, "%sclash" % PREFIX], check=False)
    cluster.kubectl("-n", STATUS[0], "delete", "configmap", STATUS[1], "--ignore-not-found", check=False)


@pytest.fixture(scope="module")
def directory(registry):
    """Three Clusters on the directory (more may exist: other tests' ones)."""
    west = registry[0]
    apply(west,
          cluster_manifest(PREFIX + "alpha", {"stage": "production", "cloud": "aws"}),
          cluster_manifest(PREFIX + "beta", {"stage": "staging", "cloud": "gcp"}),
          cluster_manifest(PREFIX + "gamma", {"stage": "production", "cloud": "azure"}))
    yield west
    west.kubectl("delete", "clusters.multicluster.coreos.com", "--ignore-not-found",
                 *[PREFIX + n for n in ("alpha", "beta", "gamma", "delta", "clash", "agent", "agent-2")],
                 check=False)


@pytest.fixture(scope="module")
def onboarded(registry, directory, run_module):
    """Replica fleet[1] onboarded: a view-only credential in its directory-sync Secret."""
    replica = registry[1]
    kubeconfig = issue_credential(run_module, directory, replica.name)
    stored = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=kubeconfig))
    assert not stored.failed, stored.result
    yield {"replica": replica, "kubeconfig": kubeconfig}
    run_module("mc_sync_secret", dict(connection(replica), state="absent"))
    run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
    cleanup_replica(replica)


def sync_args(replica, **extra):
    return dict(connection(replica), **extra)


# --- the module --------------------------------------------------------------------------------------

def test_check_apply_check_apply(onboarded, directory, run_module):
    replica = onboarded["replica"]
    token = token_of(onboarded["kubeconfig"])
    assert [n for n in names(replica) if n.startswith(PREFIX)] == []
    wanted = names(directory)
    assert {PREFIX + "alpha", PREFIX + "beta", PREFIX + "gamma"} <= set(wanted)

    mark = replica.audit_mark()
    check = run_module("mc_directory_sync", sync_args(replica), check=True)
    assert not check.failed, check.result
    assert check.changed and check["created"] == wanted and check["deleted"] == [] and check["conflicts"] == []
    assert_writes(replica, mark, [])
    assert names(replica) == [] and status(replica) is None

    first = run_module("mc_directory_sync", sync_args(replica))
    assert not first.failed, first.result
    assert first.changed and first["created"] == wanted
    assert first["directory_server"] == directory.server
    # kubectl get clusters on the replica lists every Cluster of the directory
    listed = replica.kubectl("get", "clusters").stdout
    assert all(name in listed for name in wanted)
    assert names(replica) == wanted
    copy = clusters(replica)[PREFIX + "alpha"]
    assert copy["metadata"]["labels"] == {"stage": "production", "cloud": "aws", MANAGED: "directory-sync"}
    assert copy["metadata"]["annotations"][SYNCED_FROM] == directory.server
    assert copy["spec"] == clusters(directory)[PREFIX + "alpha"]["spec"]
    recorded = status(replica)
    assert recorded["result"] == "ok" and recorded["directory"] == directory.server
    assert recorded["lastSuccess"] == recorded["lastAttempt"] != ""
    counts = json.loads(recorded["counts"])
    assert counts["clusters"] == {"desired": len(wanted), "held": len(wanted), "conflicts": 0}
    # no policy settings ConfigMap on this replica (the registry role was not run): policies are off, the
    # Clusters sync, and the status says why (test_policy_bounds.py)
    assert set(counts) == {"clusters"} and "directory-sync-config" in recorded["message"]
    assert_no_leak(first, token)

    check2 = run_module("mc_directory_sync", sync_args(replica), check=True)
    assert not check2.failed and not check2.changed, check2.result
    assert check2["created"] == check2["updated"] == check2["deleted"] == []

    mark = replica.audit_mark()
    second = run_module("mc_directory_sync", sync_args(replica))
    assert not second.failed and not second.changed, second.result
    assert not second["status"]["written"]
    assert_writes(replica, mark, [])
    assert status(replica) == recorded


def test_directory_changes_reach_the_replica(onboarded, directory, run_module):
    replica = onboarded["replica"]
    directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "alpha", "stage=staging", "--overwrite")
    directory.kubectl("delete", "clusters.multicluster.coreos.com", PREFIX + "beta")
    apply(directory, cluster_manifest(PREFIX + "delta", {"stage": "production", "cloud": "aws"}))

    mark = replica.audit_mark()
    check = run_module("mc_directory_sync", sync_args(replica), check=True)
    assert not check.failed and check.changed, check.result
    assert_writes(replica, mark, [])

    result = run_module("mc_directory_sync", sync_args(replica))
    assert not result.failed and result.changed, result.result
    assert (result["created"], result["updated"], result["deleted"]) == (
        [PREFIX + "delta"], [PREFIX + "alpha"], [PREFIX + "beta"])
    assert (check["created"], check["updated"], check["deleted"]) == (
        result["created"], result["updated"], result["deleted"])
    on_replica = clusters(replica)
    assert sorted(on_replica) == names(directory)
    assert on_replica[PREFIX + "alpha"]["metadata"]["labels"]["stage"] == "staging"
    assert PREFIX + "beta" not in on_replica
    # the diff shows the Clusters that changed, and no credential
    diff = result["diff"]
    assert diff["before"]["clusters"][PREFIX + "alpha"]["metadata"]["labels"]["stage"] == "production"
    assert diff["after"]["clusters"][PREFIX + "alpha"]["metadata"]["labels"]["stage"] == "staging"
    assert diff["after"]["clusters"][PREFIX + "beta"] is None and diff["before"]["clusters"][PREFIX + "delta"] is None
    assert set(diff["before"]["clusters"]) == {PREFIX + "alpha", PREFIX + "beta", PREFIX + "delta"}
    assert_no_leak(result, token_of(onboarded["kubeconfig"]))
    assert_no_leak(check, token_of(onboarded["kubeconfig"]))
    made = writes(replica, mark)  # None: not audited (an existing cluster)
    assert made is None or (("create", "clusters", "", PREFIX + "delta") in made
                            and ("delete", "clusters", "", PREFIX + "beta") in made)


def test_clusters_made_on_the_replica_are_left_alone(onboarded, directory, run_module):
    replica = onboarded["replica"]
    apply(replica, cluster_manifest(PREFIX + "local", {"made": "by-hand"}),
          cluster_manifest(PREFIX + "clash", {"made": "by-hand"}, server="https://local-%s.invalid:6443"))
    apply(directory, cluster_manifest(PREFIX + "clash", {"stage": "production"}))
    local_before = clusters(replica)

    result = run_module("mc_directory_sync", sync_args(replica))
    assert not result.failed, result.result
    assert result["conflicts"] == [PREFIX + "clash"] and result["created"] == [] and result["deleted"] == []
    assert any("%sclash" % PREFIX in w and "left alone" in w for w in result.get("warnings", []))
    after = clusters(replica)
    for name in (PREFIX + "local", PREFIX + "clash"):
        assert after[name]["metadata"]["resourceVersion"] == local_before[name]["metadata"]["resourceVersion"]
        assert MANAGED not in after[name]["metadata"].get("labels", {})
    recorded = status(replica)
    assert "left alone: %sclash" % PREFIX in recorded["message"]
    assert json.loads(recorded["counts"])["clusters"]["conflicts"] == 1

    mark = replica.audit_mark()
    again = run_module("mc_directory_sync", sync_args(replica))
    assert not again.failed and not again.changed and again["conflicts"] == [PREFIX + "clash"], again.result
    assert_writes(replica, mark, [])


def test_directory_kubeconfig_option_and_the_playbook(onboarded, directory, run_module, run_playbook, tmp_path):
    replica = onboarded["replica"]
    path = tmp_path / "directory.kubeconfig"
    write_private(path, yaml.safe_dump(onboarded["kubeconfig"]))
    mark = replica.audit_mark()
    for value in (onboarded["kubeconfig"], str(path), yaml.safe_dump(onboarded["kubeconfig"])):
        result = run_module("mc_directory_sync", sync_args(replica, directory_kubeconfig=value))
        assert not result.failed and not result.changed, result.result
        assert result["directory_server"] == directory.server
        assert_no_leak(result, token_of(onboarded["kubeconfig"]))

    inventory = tmp_path / "inventory.yml"
    hosts = dict((c.name, {"mc_kubeconfig": c.kubeconfig, "mc_context": c.context}) for c in (directory, replica))
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"directory": {"hosts": {directory.name: hosts[directory.name]}},
                     "replicas": {"hosts": {replica.name: hosts[replica.name]}}}}}))
    played = run_playbook("sync_replicas.yml", inventory)
    assert played.failed_hosts() == [], played.failures()
    assert played.changed() == {directory.name: 0, replica.name: 0}  # the summary play runs on all hosts
    assert list(played.task_results("Sync Clusters from the directory")) == [replica.name]
    assert_writes(replica, mark, [])
    assert played.summary() == [replica.name + ":",
                                "  ok       sync from the directory: %s (0 created, 0 updated, 0 deleted)"
                                % status(replica)["message"],
                                "total: 0 changed, 1 already in place, 0 failed"]


def test_an_unreachable_directory_changes_nothing(onboarded, run_module):
    replica = onboarded["replica"]
    nowhere = "https://127.0.0.1:%d" % free_port()
    config = yaml.safe_load(yaml.safe_dump(onboarded["kubeconfig"]))
    config["clusters"][0]["cluster"]["server"] = nowhere
    before = versions(replica)
    mark = replica.audit_mark()
    result = run_module("mc_directory_sync", sync_args(replica, directory_kubeconfig=config))
    assert result.failed, result.result
    assert result["msg"] == ("sync Clusters and Cluster Policies from directory '%s' to cluster '%s': list clusters on cluster "
                             "'directory': cannot connect to %s: connection refused" % (nowhere, replica.name, nowhere))
    assert versions(replica) == before
    assert_writes(replica, mark, [("patch", "configmaps", STATUS[0], STATUS[1])])
    recorded = status(replica)
    assert recorded["result"] == "failed" and recorded["directory"] == nowhere
    assert "connection refused" in recorded["message"]
    # back to the real directory: recorded as a success again
    ok = run_module("mc_directory_sync", sync_args(replica))
    assert not ok.failed and ok.changed and ok["created"] == ok["updated"] == ok["deleted"] == [], ok.result
    assert status(replica)["result"] == "ok"


def test_a_revoked_replica_fails_clearly_and_changes_nothing(onboarded, directory, run_module):
    replica = onboarded["replica"]
    token = token_of(onboarded["kubeconfig"])
    last_success = status(replica)["lastSuccess"]
    # a change a working sync would carry over
    directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "gamma", "stage=retired", "--overwrite")
    before = versions(replica)
    revoked = run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
    assert not revoked.failed and revoked.changed, revoked.result
    mark = replica.audit_mark()
    prefix = "sync Clusters and Cluster Policies from directory '%s' to cluster '%s': the directory refused the credential (HTTP " % (
        directory.server, replica.name)

    def refused():
        # the API server caches token authentication for ~10 s: poll for the refusal
        run = run_module("mc_directory_sync", sync_args(replica))
        return run if run.failed else None
    failed = wait_for(refused, 60, "the directory refusing the revoked credential", interval=1)
    assert failed["msg"].startswith(prefix), failed["msg"]
    assert failed["details"]["status"] in (401, 403) and failed["details"]["status_recorded"] is True
    assert versions(replica) == before
    assert clusters(replica)[PREFIX + "gamma"]["metadata"]["labels"]["stage"] != "retired"
    made = writes(replica, mark)
    assert made is None or {w[1:] for w in made} == {("configmaps", STATUS[0], STATUS[1])}
    recorded = status(replica)
    assert recorded["result"] == "failed" and recorded["message"] == failed["msg"][len(prefix) - len(
        "the directory refused the credential (HTTP "):]
    assert recorded["lastSuccess"] == last_success and recorded["directory"] == directory.server
    assert_no_leak(failed, token)

    def unauthorized():
        run = run_module("mc_directory_sync", sync_args(replica))
        return run if run.failed and "HTTP 401 Unauthorized" in run["msg"] else None
    steady = wait_for(unauthorized, 30, "HTTP 401 for the revoked credential", interval=1)
    assert steady["msg"] == prefix + "401 Unauthorized)"
    mark = replica.audit_mark()
    again = run_module("mc_directory_sync", sync_args(replica))
    assert again.failed and again["msg"] == steady["msg"]
    assert_writes(replica, mark, [])  # the same failure is not recorded twice
    assert versions(replica) == before


# --- the agent, as a process -------------------------------------------------------------------------------

def healthz(port, path="/healthz"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except (urllib.error.URLError, ConnectionError, OSError):
        return None, None


def agent_metrics(port):
    """{(sample name, sorted label items): value} of the agent's /metrics (read with prometheus_client's parser)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as resp:
        assert resp.status == 200
        text = resp.read().decode("utf-8")
    return dict(((sample.name, tuple(sorted(sample.labels.items()))), sample.value)
                for family in text_string_to_metric_families(text) for sample in family.samples)


def unhealthy(port):
    code, body = healthz(port)
    return (code, body) if code == 503 else None


def write_atomically(path, text):
    """As the kubelet updates a mounted Secret: a new file swapped in."""
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, str(path))


@pytest.fixture
def agent_replica(registry, directory, run_module):
    replica = registry[2]
    kubeconfig = issue_credential(run_module, directory, replica.name)
    yield replica, kubeconfig
    run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
    cleanup_replica(replica)


def test_the_agent_follows_the_directory_reloads_its_credential_and_stops_on_sigterm(
        agent_replica, directory, collection_path, tmp_path):
    replica, kubeconfig = agent_replica
    token = token_of(kubeconfig)
    credential = tmp_path / "kubeconfig"
    write_atomically(credential, yaml.safe_dump(kubeconfig))
    port = free_port()
    log_path = tmp_path / "agent.log"
    env = dict(os.environ, PYTHONPATH=collection_path)
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context", replica.context,
            "--directory-kubeconfig", str(credential), "--health-address", "127.0.0.1", "--health-port", str(port),
            "--resync-period", "300", "--reload-interval", "0.5", "--backoff-max", "2"]
    with open(str(log_path), "wb") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=str(tmp_path))
    try:
        wait_for(lambda: healthz(port)[0] == 200, 30, "/healthz 200 after the first sync")
        assert names(replica) == names(directory)
        assert healthz(port, "/livez")[0] == 200
        assert status(replica)["result"] == "ok"
        metrics = agent_metrics(port)
        assert time.time() - 60 <= metrics[("directory_sync_last_success_timestamp_seconds", ())] <= time.time()
        assert metrics[("directory_sync_objects_held", (("kind", "clusters"),))] == len(clusters(replica))
        assert metrics[("directory_sync_credential_expiry_timestamp_seconds", ())] > time.time()
        assert [value for (name, labels), value in metrics.items() if name == "directory_sync_build_info"] == [1]
        assert metrics[("directory_sync_errors_total", (("reason", "credential_refused"),))] == 0

        # changes arrive through the watch: the resync period (300 s) is far away
        apply(directory, cluster_manifest(PREFIX + "agent", {"stage": "canary"}))
        wait_for(lambda: PREFIX + "agent" in names(replica), 15, "a new directory Cluster on the replica")
        directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "agent", "stage=production",
                          "--overwrite")
        wait_for(lambda: clusters(replica).get(PREFIX + "agent", {}).get("metadata", {}).get("labels", {})
                 .get("stage") == "production", 15, "a label change on the replica")
        directory.kubectl("delete", "clusters.multicluster.coreos.com", PREFIX + "agent")
        wait_for(lambda: PREFIX + "agent" not in names(replica), 15, "a deletion on the replica")
        before = versions(replica)

        # a credential the directory refuses, swapped into the file: reloaded, failing, nothing changed
        bad = yaml.safe_load(yaml.safe_dump(kubeconfig))
        bad["users"][0]["user"]["token"] = "not-a-valid-token"
        write_atomically(credential, yaml.safe_dump(bad))
        code, body = wait_for(lambda: unhealthy(port), 15, "/healthz 503")
        assert body["status"] == "failing" and "HTTP 401 Unauthorized" in body["message"]
        metrics = agent_metrics(port)
        assert metrics[("directory_sync_errors_total", (("reason", "credential_refused"),))] > 0
        assert math.isnan(metrics[("directory_sync_credential_expiry_timestamp_seconds", ())])  # not a JWT
        assert metrics[("directory_sync_last_attempt_timestamp_seconds", ())] > \
            metrics[("directory_sync_last_success_timestamp_seconds", ())]
        wait_for(lambda: (status(replica) or {}).get("result") == "failed", 10, "the failure recorded")
        apply(directory, cluster_manifest(PREFIX + "agent-2", {"stage": "canary"}))
        time.sleep(2)
        assert versions(replica) == before

        # the good one back: synced again, with what changed meanwhile
        write_atomically(credential, yaml.safe_dump(kubeconfig))
        wait_for(lambda: healthz(port)[0] == 200, 20, "/healthz 200 after the reload")
        wait_for(lambda: PREFIX + "agent-2" in names(replica), 10, "the Cluster created while failing")
        assert status(replica)["result"] == "ok"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert not os.path.exists("/proc/%d" % proc.pid) or open("/proc/%d/stat" % proc.pid).read().split(") ")[-1][0] == "Z"
    assert healthz(port)[0] is None
    lines = log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = [e["msg"] for e in entries]
    assert messages[0] == "started" and messages[-1] == "stopped"
    assert "directory credential changed: reloading" in messages and "sync failed" in messages
    assert all({"time", "level", "msg"} <= set(e) for e in entries)
    text = log_path.read_text()
    leaked = token in text or "not-a-valid-token" in text  # a boolean: a failing assert must not print them
    assert not leaked, "a token shows in the agent's log"


def test_the_agent_against_a_frozen_directory_fails_its_syncs_in_bounded_time_and_recovers(
        agent_replica, directory, collection_path, tmp_path):
    """The directory's kube-apiserver frozen (SIGSTOP): each list of it (every
    --relist-period) fails after --request-timeout, /healthz says which
    cluster did not answer and for how long, nothing on the replica changes;
    after SIGCONT the agent syncs again and then writes nothing."""
    replica, kubeconfig = agent_replica
    credential = tmp_path / "kubeconfig"
    write_atomically(credential, yaml.safe_dump(kubeconfig))
    port = free_port()
    env = dict(os.environ, PYTHONPATH=collection_path)
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context", replica.context,
            "--directory-kubeconfig", str(credential), "--health-address", "127.0.0.1", "--health-port", str(port),
            "--resync-period", "3", "--relist-period", "3", "--request-timeout", "2", "--backoff-max", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
    try:
        wait_for(lambda: healthz(port)[0] == 200, 30, "/healthz 200 after the first sync")
        before = versions(replica)
        with frozen(directory):
            started = time.monotonic()
            code, body = wait_for(lambda: unhealthy(port), 20, "/healthz 503 while the directory is frozen")
            assert time.monotonic() - started < 3 + 2 + 5
            assert body["status"] == "failing"
            assert "on cluster 'directory': the API server did not answer within 2 s" in body["message"]
            assert healthz(port, "/livez")[0] == 200  # the loop runs: a frozen directory restarts no pod
            assert versions(replica) == before
        wait_for(lambda: healthz(port)[0] == 200, 30, "/healthz 200 after SIGCONT")
        wait_for(lambda: (status(replica) or {}).get("result") == "ok", 10, "the recovery recorded")
        mark = replica.audit_mark()
        time.sleep(7)  # two resync periods
        assert_writes(replica, mark, [])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def agent_argv(replica, credential, port, *extra):
    return [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context", replica.context,
            "--directory-kubeconfig", str(credential), "--health-address", "127.0.0.1", "--health-port", str(port),
            "--resync-period", "300", "--backoff-max", "2"] + list(extra)


def stop_agent(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        return None


def test_a_deletion_made_while_the_agent_was_down_is_applied_when_it_starts_again(
        agent_replica, directory, collection_path, tmp_path):
    replica, kubeconfig = agent_replica
    credential = tmp_path / "kubeconfig"
    write_atomically(credential, yaml.safe_dump(kubeconfig))
    env = dict(os.environ, PYTHONPATH=collection_path)
    apply(directory, cluster_manifest(PREFIX + "while-down", {"stage": "canary"}))
    port = free_port()
    proc = subprocess.Popen(agent_argv(replica, credential, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
    try:
        wait_for(lambda: healthz(port)[0] == 200 and PREFIX + "while-down" in names(replica), 30,
                 "the first sync")
    finally:
        assert stop_agent(proc) == 0
    directory.kubectl("delete", "clusters.multicluster.coreos.com", PREFIX + "while-down")
    time.sleep(1)
    assert PREFIX + "while-down" in names(replica)  # no agent: nothing deleted it
    port = free_port()
    proc = subprocess.Popen(agent_argv(replica, credential, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=str(tmp_path))
    try:
        wait_for(lambda: PREFIX + "while-down" not in names(replica), 30, "the deletion applied after the restart")
        wait_for(lambda: healthz(port)[0] == 200, 10, "/healthz 200")
        assert names(replica) == names(directory)
    finally:
        assert stop_agent(proc) == 0


def test_a_missed_event_is_recovered_by_a_list_when_the_watch_resumes_from_an_expired_version(
        agent_replica, directory, collection_path, tmp_path):
    """The agent in this process, its directory requests counted: a relabel arrives through the watch alone (no
    list); the Clusters watch is then dropped, a Cluster deleted meanwhile (the event is missed), and the watch
    resumed from a resourceVersion the server no longer has: 410 Gone, one list (from the watch cache), and the
    deletion reaches the replica."""
    sys.path.insert(0, collection_path)
    from ansible_collections.coreos.multicluster.agent import cli, loop
    replica, kubeconfig = agent_replica
    credential = tmp_path / "kubeconfig"
    write_atomically(credential, yaml.safe_dump(kubeconfig))
    apply(directory, cluster_manifest(PREFIX + "missed", {"stage": "canary"}))
    args = cli.parse_args(["--kubeconfig", replica.kubeconfig, "--context", replica.context, "--directory-kubeconfig",
                           str(credential), "--resync-period", "300", "--backoff-max", "2"])
    agent = cli.make_agent(args, cli.connect(args, "the replica"), loop.CredentialFile(str(credential)))
    lists = []
    factory = agent._directory_factory

    def counting(config):
        client = factory(config)
        send = client._send

        def recorded(method, path, query=None, *rest, **kw):
            if method == "GET" and path.endswith("/clusters") and not (query or {}).get("watch"):
                lists.append(dict(query or {}))
            return send(method, path, query, *rest, **kw)
        client._send = recorded
        return client
    agent._directory_factory = counting
    for watcher in agent.watchers:
        watcher.start()
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: PREFIX + "missed" in names(replica), 30, "the first sync")
        assert agent.lists == 1 and [q.get("resource_version") for q in lists] == ["0"]  # the watch cache
        directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "missed", "stage=production",
                          "--overwrite")
        wait_for(lambda: clusters(replica)[PREFIX + "missed"]["metadata"]["labels"].get("stage") == "production",
                 10, "the relabel through the watch")
        assert agent.lists == 1 and len(lists) == 1  # no list for it

        watcher = [w for w in agent.watchers if w.kind.plural == "clusters"][0]
        watcher.drop()  # the watch is cut
        directory.kubectl("delete", "clusters.multicluster.coreos.com", PREFIX + "missed")
        time.sleep(2)
        assert PREFIX + "missed" in names(replica)  # the event was missed
        with agent._lock:  # resumed from a resourceVersion long compacted out of the watch cache
            watcher.follow(agent.directory, "1")
        wait_for(lambda: PREFIX + "missed" not in names(replica), 30, "the deletion, after the list")
        assert agent.lists == 2 and [q.get("resource_version") for q in lists] == ["0", "0"]
        assert names(replica) == names(directory)
    finally:
        agent.request_stop()
        thread.join(5)
