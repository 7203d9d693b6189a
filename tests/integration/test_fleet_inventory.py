"""The directory as an inventory (plugin coreos.multicluster.directory) and the
fleet status, on a lab fleet of their own onboarded with site.yml."""

import base64
import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.conftest import ansible_env, assert_writes, frozen

PLUGIN = "coreos.multicluster.directory"


@pytest.fixture(scope="module")
def onboarded(site_fleet, run_playbook):
    site = run_playbook("site.yml", site_fleet["inventory"])
    assert site.rc == 0, site.failures()
    return site_fleet


def plugin_file(fleet, tmp_path, **extra):
    west = fleet["clusters"][0]
    config = {"plugin": PLUGIN, "kubeconfig": west.kubeconfig, "context": west.context,
              "cluster_kubeconfig_dir": fleet["root"],
              "keyed_groups": [{"key": "mc_labels.cloud", "prefix": "cloud"}]}
    config.update(extra)
    path = tmp_path / "lab.directory.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def inventory(collection_path, path, *args):
    env = ansible_env(collection_path)
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(path)]
                          + list(args), capture_output=True, text=True, env=env, timeout=120, check=False)
    return proc


def plain(value):
    """ansible-inventory's JSON without its markers of values that are never templates
    ({"__ansible_unsafe": text}, as ansible-core 2.19 writes values an inventory plugin read)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def listed(proc):
    assert proc.returncode == 0, proc.stderr
    return plain(json.loads(proc.stdout))


def expected_list(fleet):
    """ansible-inventory --list for the lab, from what the lab knows of its clusters."""
    hostvars = {}
    for cluster in fleet["clusters"]:
        inventory = yaml.safe_load(open(fleet["inventory"]))["all"]["children"]
        static = dict(inventory["directory"]["hosts"], **inventory["replicas"]["hosts"])[cluster.name]
        hostvars[cluster.name] = {
            "mc_cluster_name": cluster.name, "mc_labels": static["mc_labels"], "mc_api_endpoint": cluster.server,
            "mc_console_url": static["mc_console_url"],
            "mc_kubeconfig": os.path.join(fleet["root"], cluster.name + ".kubeconfig"),
            "ansible_connection": "local"}
    names = [c.name for c in fleet["clusters"]]
    return {
        "directory": {"hosts": names[:1]},
        "replicas": {"hosts": sorted(names[1:])},
        "cloud_aws": {"hosts": ["west-coast-production"]},
        "cloud_gcp": {"hosts": ["east-coast-production"]},
        "cloud_azure": {"hosts": ["central-production"]},
        "hostvars": hostvars,
    }


def test_the_directory_is_an_inventory_equal_to_the_static_one(onboarded, collection_path, tmp_path):
    data = listed(inventory(collection_path, plugin_file(onboarded, tmp_path), "--list"))
    want = expected_list(onboarded)
    for group in ("directory", "replicas", "cloud_aws", "cloud_gcp", "cloud_azure"):
        assert sorted(data[group]["hosts"]) == sorted(want[group]["hosts"]), group
    for name, variables in want["hostvars"].items():
        got = data["_meta"]["hostvars"][name]
        interpreter = got.pop("ansible_python_interpreter")
        assert os.path.realpath(interpreter) == os.path.realpath(sys.executable)
        health = dict((key, got.pop(key)) for key in ("mc_available", "mc_last_seen", "mc_health"))
        assert got == variables, name
        # this lab runs no agent: the replicas' Leases (made by site.yml) were never renewed, which is not known
        # (null), not down; the directory answered the plugin
        directory = name in want["directory"]["hosts"]
        assert health["mc_available"] is (True if directory else None), name
        assert health["mc_health"]["heartbeat"] == (
            "the directory answered this inventory" if directory else "never renewed (no agent has run)"), name
    graph = inventory(collection_path, plugin_file(onboarded, tmp_path), "--graph")
    assert graph.returncode == 0 and "@directory:" in graph.stdout and "@cloud_gcp:" in graph.stdout
    assert "|--east-coast-production" in graph.stdout


def test_the_collections_playbooks_run_on_that_inventory_alone(onboarded, run_playbook, tmp_path):
    path = plugin_file(onboarded, tmp_path)
    synced = run_playbook("sync_replicas.yml", path)
    assert synced.rc == 0, synced.failures()
    assert sorted(synced.stats) == sorted(c.name for c in onboarded["clusters"])
    check = run_playbook("onboard_replica.yml", path, check=True)
    assert check.rc == 0, check.failures()
    assert set(check.changed().values()) == {0}, check.changed()


def test_a_cached_inventory_is_served_while_the_directory_is_frozen(onboarded, collection_path, tmp_path):
    path = plugin_file(onboarded, tmp_path, cache=True, cache_plugin="ansible.builtin.jsonfile",
                       cache_connection=str(tmp_path / "cache"), request_timeout=3)
    first = inventory(collection_path, path, "--list")
    assert first.returncode == 0, first.stderr
    with frozen(onboarded["clusters"][0]):
        started = time.monotonic()
        cached = inventory(collection_path, path, "--list")
        assert time.monotonic() - started < 20
        fresh = inventory(collection_path, path, "--list", "--flush-cache")
    assert listed(cached) == listed(first)
    assert "did not answer within 3 s" in fresh.stderr and "west-coast-production" in fresh.stderr


def test_values_from_the_directory_are_never_templated(onboarded, collection_path, tmp_path):
    west = onboarded["clusters"][0]
    hostile = "https://console.example.com/{{lookup('env','HOME')}}"  # an https URL: no white space
    west.kubectl("annotate", "--overwrite", "clusters.multicluster.coreos.com", "east-coast-production",
                 "multicluster.coreos.com/console-url=" + hostile)
    try:
        proc = inventory(collection_path, plugin_file(onboarded, tmp_path, compose={"console": "mc_console_url"}),
                         "--list")
        east = json.loads(proc.stdout)["_meta"]["hostvars"]["east-coast-production"]
        # marked as never a template, and the same text after compose
        assert east["mc_console_url"] == {"__ansible_unsafe": hostile} and plain(east["console"]) == hostile
    finally:
        west.kubectl("annotate", "--overwrite", "clusters.multicluster.coreos.com", "east-coast-production",
                     "multicluster.coreos.com/console-url=https://east-coast-production.console.lab.invalid")


def test_fleet_status_shows_a_replica_with_a_revoked_credential_stale_and_fails_when_asked(
        onboarded, run_playbook, tmp_path):
    path = plugin_file(onboarded, tmp_path)
    west = onboarded["clusters"][0]
    healthy = run_playbook("fleet_status.yml", path, extra_vars={"fleet_status_fail_on": "stale,expiring"})
    assert healthy.rc == 0, healthy.failures()
    table = healthy.task_results("per cluster, what needs attention first")
    lines = [line for result in table.values() for line in result["msg"]]
    assert lines[0].split()[:3] == ["CLUSTER", "ROLE", "REGISTERED"] and lines[-1] == "3 clusters, 0 need attention"

    # revoke central's credential (its anchor Secret on the directory), wait past the stale threshold
    west.kubectl("-n", "tectonic-multi-cluster", "delete", "secret", "central-production-credential-anchor")
    time.sleep(61)
    # east succeeds again and records it (status_interval 0: the timestamps now); central is refused
    run_playbook("sync_replicas.yml", path, extra_vars={"sync_replicas_status_interval": 0})
    report = tmp_path / "fleet.json"
    stale = run_playbook("fleet_status.yml", path, extra_vars={
        "fleet_status_stale_after": 60, "fleet_status_fail_on": "stale", "fleet_status_file": str(report)})
    assert stale.rc != 0
    lines = [line for result in stale.task_results("per cluster, what needs attention first").values()
             for line in result["msg"]]
    assert lines[1].startswith("central-production") and "stale" in lines[1] and "failing" in lines[1]
    assert lines[-1] == "3 clusters, 1 need attention"
    assert any("central-production: stale" in msg for dummy, dummy2, msg in stale.failures())
    rows = {row["name"]: row for row in json.loads(report.read_text())}
    assert rows["central-production"]["sync"]["stale"] is True and rows["central-production"]["registered"] is True
    assert rows["east-coast-production"]["sync"]["stale"] is False
    assert rows["east-coast-production"]["credential"]["type"] == "token_request"
    assert 29 < rows["east-coast-production"]["credential"]["days_left"] <= 30

    quiet = run_playbook("fleet_status.yml", path, extra_vars={"fleet_status_stale_after": 60})
    assert quiet.rc == 0, quiet.failures()


def test_an_unreachable_cluster_is_a_row_not_a_crash(onboarded, run_playbook, tmp_path):
    inv = yaml.safe_load(open(onboarded["inventory"]))
    gone = dict(inv["all"]["children"]["replicas"]["hosts"]["east-coast-production"])
    config = yaml.safe_load(open(gone["mc_kubeconfig"]))
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    (tmp_path / "gone.kubeconfig").write_text(yaml.safe_dump(config))
    os.chmod(str(tmp_path / "gone.kubeconfig"), 0o600)
    gone["mc_kubeconfig"] = str(tmp_path / "gone.kubeconfig")
    inv["all"]["children"]["replicas"]["hosts"]["gone-production"] = gone
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inv))
    run = run_playbook("fleet_status.yml", tmp_path / "inventory.yml")
    assert run.rc == 0, run.failures()  # a row, not a failed run
    lines = [line for result in run.task_results("per cluster, what needs attention first").values()
             for line in result["msg"]]
    assert lines[1].startswith("gone-production") and "unreachable" in lines[1] and "NO" in lines[1]
    assert any(line.startswith("gone-production: ") and "connection refused" in line for line in lines)


# --- issue 18: the directory's address comes from the operator; https only; a replica's text is text ------------

def server_in_sync_secret(cluster):
    """The server of the kubeconfig in the replica's Secret tectonic-system/directory-sync (only that: the
    kubeconfig holds the replica's token)."""
    encoded = cluster.kubectl("-n", "tectonic-system", "get", "secret", "directory-sync",
                              "-o", "jsonpath={.data.kubeconfig}").stdout
    config = yaml.safe_load(base64.b64decode(encoded).decode())
    return [entry["cluster"]["server"] for entry in config["clusters"]]


def set_endpoint(cluster, name, address):
    cluster.kubectl("patch", "clusters.multicluster.coreos.com", name, "--type", "merge", "-p", json.dumps(
        {"spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": address}]}}}))


def test_the_directorys_cluster_object_does_not_choose_where_a_new_replica_sends_its_token(
        onboarded, collection_path, run_playbook, tmp_path):
    """Whoever may write the directory's own Cluster object points its endpoint elsewhere: a replica onboarded
    from the directory inventory still gets the server the operator's connection reaches, and the mismatch is
    reported (the inventory's warning, mc_endpoint_problem, fleet_status's endpoint-mismatch)."""
    west, east = onboarded["clusters"][0], onboarded["clusters"][1]
    elsewhere = "https://directory.attacker.invalid:6443"
    set_endpoint(west, west.name, elsewhere)
    try:
        path = plugin_file(onboarded, tmp_path)
        proc = inventory(collection_path, path, "--list")
        data = listed(proc)
        directory = data["_meta"]["hostvars"][west.name]
        assert directory["mc_api_endpoint"] == west.server
        assert directory["mc_endpoint_problem"].startswith(
            "the directory's Cluster object %s gives API endpoint '%s', not %s: not followed"
            % (west.name, elsewhere, west.server))
        assert data["endpoint_problems"]["hosts"] == [west.name]
        assert "gives API endpoint '%s'" % elsewhere in " ".join(proc.stderr.split())

        # a new credential for east (rotate): written with the operator's server, and it works
        rotated = run_playbook("onboard_replica.yml", path, limit=east.name,
                               extra_vars={"replica_onboarding_rotate": True})
        assert rotated.rc == 0, rotated.failures()
        assert rotated.changed()[east.name] > 0
        assert server_in_sync_secret(east) == [west.server]

        status = run_playbook("fleet_status.yml", path, extra_vars={"fleet_status_fail_on": "endpoint-mismatch"})
        assert status.rc != 0
        lines = [line for result in status.task_results("per cluster, what needs attention first").values()
                 for line in result["msg"]]
        assert any(line.startswith(west.name) and "endpoint-mismatch" in line for line in lines), lines
        assert "%s: its Cluster object gives API endpoint '%s', the inventory '%s'" % (
            west.name, elsewhere, west.server) in lines
    finally:
        set_endpoint(west, west.name, west.server)

    # the operator may name the address replicas reach the directory at
    named = listed(inventory(collection_path, plugin_file(onboarded, tmp_path,
                                                          directory_api_endpoint="https://directory.lab.invalid:443"),
                             "--list"))
    assert named["_meta"]["hostvars"][west.name]["mc_api_endpoint"] == "https://directory.lab.invalid:443"


ADDRESS_PATH = ("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/KubernetesAPIEndpoints/properties/"
                "ServerEndpoints/items/properties/ServerAddress/pattern")


def test_a_cluster_stored_with_an_http_endpoint_is_reported_and_never_sent_a_token(
        onboarded, collection_path, run_playbook, tmp_path):
    """A Cluster written before the CRD refused http:// (here: with the old pattern put back for one write): the
    inventory reports it and gives it no mc_api_endpoint, onboarding it stops at the preflight with nothing
    written, and fleet_status says insecure-endpoint."""
    west, central = onboarded["clusters"][0], onboarded["clusters"][2]
    plain = "http://%s.lab.invalid:8080" % central.name
    crd = json.loads(west.kubectl("get", "crd", "clusters.multicluster.coreos.com", "-o", "json").stdout)
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    strict = schema["KubernetesAPIEndpoints"]["properties"]["ServerEndpoints"]["items"]["properties"][
        "ServerAddress"]["pattern"]
    assert not strict.startswith("^https?")

    def pattern(value):
        west.kubectl("patch", "crd", "clusters.multicluster.coreos.com", "--type", "json",
                     "-p", json.dumps([{"op": "replace", "path": ADDRESS_PATH, "value": value}]))
    pattern("^https?://")
    try:
        set_endpoint(west, central.name, plain)
    finally:
        pattern(strict)
    try:
        path = plugin_file(onboarded, tmp_path)
        proc = inventory(collection_path, path, "--list")
        data = listed(proc)
        host = data["_meta"]["hostvars"][central.name]
        assert host["mc_api_endpoint"] is None
        assert host["mc_endpoint_problem"].startswith(
            "Cluster %s: API endpoint '%s' is plain http://" % (central.name, plain))
        assert central.name in data["endpoint_problems"]["hosts"]
        assert "'%s' is plain http://" % plain in " ".join(proc.stderr.split())

        marks = {c.name: c.audit_mark() for c in (west, central)}
        onboard = run_playbook("onboard_replica.yml", path, limit=central.name)
        assert onboard.rc != 0
        messages = [msg for host_name, task, msg in onboard.failures() if "Preflight" in task]
        assert messages and " ".join(messages[0].split()).startswith(
            "replica_onboarding: mc_api_endpoint of %s is not set (Cluster %s: API endpoint '%s' is plain http://"
            % (central.name, central.name, plain)), onboard.failures()
        for cluster in (west, central):
            assert_writes(cluster, marks[cluster.name], [])

        status = run_playbook("fleet_status.yml", path, extra_vars={"fleet_status_fail_on": "insecure-endpoint"})
        assert status.rc != 0
        assert any("%s: insecure-endpoint" % central.name in msg for _h, _t, msg in status.failures())
    finally:
        set_endpoint(west, central.name, central.server)


HOSTILE_RESULT = "ok\nwest-coast-production  directory  yes  -  -  1/1  ok\x1b[1A"
HOSTILE_MESSAGE = "\x1b[2J\x1b[31m3 Clusters in sync\x1b[0m\r\nwest-coast-production: all good\x1b]0;owned\x07\u202e"


def test_a_replicas_status_text_prints_as_one_clean_line(onboarded, run_playbook, tmp_path):
    """east's admin writes its status ConfigMap with ANSI escapes, newlines and a fake row of the directory in
    its result, message and a policy's name and reason: fleet_status.yml and policy_status.yml print one line
    per cluster, with none of it; the JSON for AWX holds the same text, clean."""
    east = onboarded["clusters"][1]
    synced = run_playbook("sync_replicas.yml", plugin_file(onboarded, tmp_path), limit=east.name)
    assert synced.rc == 0, synced.failures()  # its status ConfigMap is there
    policies = {"enabled": True, "error": None, "allowlist": ["view"], "released": [],
                "items": {"root\nwest-coast-production  applied": {
                    "state": "refused", "objects": [], "conflicts": [], "failed": [],
                    "refused": [{"object": "ClusterRoleBinding x\x1b[2J", "reason": "no\nwest-coast-production: ok"}]}}}
    east.kubectl("-n", "tectonic-system", "patch", "configmap", "directory-sync-status", "--type", "merge", "-p",
                 json.dumps({"data": {"result": HOSTILE_RESULT, "message": HOSTILE_MESSAGE,
                                      "policies": json.dumps(policies)}}))
    try:
        path = plugin_file(onboarded, tmp_path)
        report = tmp_path / "fleet.json"
        fleet = run_playbook("fleet_status.yml", path, extra_vars={"fleet_status_file": str(report)})
        assert fleet.rc == 0, fleet.failures()
        lines = [line for result in fleet.task_results("per cluster, what needs attention first").values()
                 for line in result["msg"]]
        rows = [line for line in lines[1:] if line.split()[0] in [c.name for c in onboarded["clusters"]]]
        assert sorted(line.split()[0] for line in rows) == sorted(c.name for c in onboarded["clusters"])
        east_line = [line for line in rows if line.startswith(east.name)][0]
        assert "ok west-coast-production direct\u2026 " in east_line  # the result: one word, cut at 32
        assert all("\x1b" not in line and "\r" not in line and "\n" not in line and "\u202e" not in line
                   for line in lines)
        message = {row["name"]: row for row in json.loads(report.read_text())}[east.name]["sync"]["message"]
        assert message == "3 Clusters in sync west-coast-production: all good"

        policy = run_playbook("policy_status.yml", path)
        assert policy.rc == 0, policy.failures()
        lines = [line for result in policy.task_results("cluster by policy").values() for line in result["msg"]]
        assert all("\x1b" not in line and "\n" not in line for line in lines)
        assert not any(line.startswith("west-coast-production") and "applied" in line for line in lines[1:]), lines
        assert ("%s root west-coast-production applied: refused ClusterRoleBinding x: no west-coast-production: ok"
                % east.name) in lines
    finally:
        run_playbook("sync_replicas.yml", plugin_file(onboarded, tmp_path), limit=east.name,
                     extra_vars={"sync_replicas_status_interval": 0})
