"""HTTPS only for anything a credential is sent to (issue 18), on the lab: an http:// endpoint is refused by
the Cluster CRD (the API server's own validation), by mc_cluster and mc_replica_onboarding, and by the roles'
preflights - each before anything is written (the audit log shows no write)."""

import sys

import pytest
import yaml

from tests.integration.conftest import assert_writes

PLAIN = "http://east-coast-production-api.example.com:8080"


def connection(cluster):
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context}


def cluster_object(name, address):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": name},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": address}]}}}


@pytest.mark.parametrize("address", [PLAIN, "https://east.example.com@attacker.example.net",
                                     "https://east.example.com/a b", "east.example.com:6443"])
def test_the_cluster_crd_refuses_anything_but_an_https_url(registry, address):
    directory = registry[0]
    created = directory.kubectl("create", "-f", "-", check=False,
                                input_text=yaml.safe_dump(cluster_object("plain-http", address)))
    assert created.returncode != 0
    assert "ServerAddress" in created.stderr and "should match" in created.stderr, created.stderr
    assert directory.kubectl("get", "cluster", "plain-http", check=False).returncode != 0


def test_the_cluster_crd_takes_an_https_url(registry):
    directory = registry[0]
    try:
        created = directory.kubectl("create", "-f", "-", check=False, input_text=yaml.safe_dump(
            cluster_object("https-ok", "https://east-coast-production-api.example.com:6443/prefix")))
        assert created.returncode == 0, created.stderr
    finally:
        directory.kubectl("delete", "cluster", "https-ok", "--ignore-not-found")


def test_mc_cluster_refuses_an_http_endpoint_before_any_request(registry, run_module):
    directory = registry[0]
    mark = directory.audit_mark()
    for args in ({"endpoints": [PLAIN]}, {"endpoints": ["https://east.example.com"], "console_url": "http://console"}):
        refused = run_module("mc_cluster", dict(connection(directory), name="east-coast-production", **args))
        assert refused.failed
        assert "of Cluster east-coast-production: 'http://" in refused["msg"] and "plain http://" in refused["msg"]
    assert_writes(directory, mark, [])
    assert directory.kubectl("get", "cluster", "east-coast-production", check=False).returncode != 0


def test_mc_replica_onboarding_refuses_an_http_endpoint_before_any_request(registry, run_module):
    directory, replica = registry[0], registry[2]
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    refused = run_module("mc_replica_onboarding", dict(
        connection(directory), name=replica.name, endpoints=[PLAIN], directory_server=directory.server,
        replica_connection=connection(replica)))
    assert refused.failed and "endpoint of Cluster %s: %r is plain http://" % (replica.name, PLAIN) in refused["msg"]
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])


@pytest.mark.parametrize("module", ["mc_replica_onboarding", "mc_replica_credentials"])
def test_an_http_directory_server_is_refused_before_any_write(registry, run_module, module):
    """The address written into a replica's credential (where it sends its token) must be https too."""
    directory, replica = registry[0], registry[2]
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    args = dict(connection(directory), name=replica.name, directory_server=PLAIN)
    if module == "mc_replica_onboarding":
        args.update(endpoints=[replica.server], replica_connection=connection(replica))
    refused = run_module(module, args)
    assert refused.failed and "directory_server %r is plain http://" % PLAIN in refused["msg"], refused["msg"]
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])


def inventory(registry, tmp_path, directory_endpoint=None, replica_endpoint=None):
    """A static inventory of the session's fleet (directory fleet[0], replica fleet[2])."""
    directory, replica = registry[0], registry[2]

    def host(cluster, endpoint):
        return {"mc_kubeconfig": cluster.kubeconfig, "mc_context": cluster.context,
                "mc_api_endpoint": endpoint or cluster.server, "mc_labels": {"stage": "lab"}}
    data = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                    "children": {"directory": {"hosts": {directory.name: host(directory, directory_endpoint)}},
                                 "replicas": {"hosts": {replica.name: host(replica, replica_endpoint)}}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def preflight_messages(run):
    """The messages of every failed preflight task (and of each failed item of a looped one)."""
    found = []
    for play in run.data.get("plays", []):
        for task in play.get("tasks", []):
            if "Preflight" not in task["task"]["name"]:
                continue
            for result in task["hosts"].values():
                for item in [result] + list(result.get("results") or []):
                    if item.get("failed"):
                        found.append(" ".join(str(item.get("msg")).split()))
    return found


@pytest.mark.parametrize("playbook, where, expected", [
    ("onboard_replica.yml", "replica",
     "replica_onboarding: mc_api_endpoint of central-production is %s, not an https:// URL with a host" % PLAIN),
    ("onboard_replica.yml", "directory",
     "replica_onboarding: the directory's API endpoint (mc_api_endpoint of west-coast-production, or "
     "replica_onboarding_directory_server), where every replica sends its credential, is %s, not an https:// "
     "URL with a host." % PLAIN),
    ("setup_directory.yml", "directory",
     "directory_setup: mc_api_endpoint of west-coast-production is %s, not an https:// URL with a host" % PLAIN),
    ("setup_directory.yml", "replica",
     "directory_setup: mc_api_endpoint of replica central-production is %s, not an https:// URL with a host."
     % PLAIN),
], ids=["onboard-replica-endpoint", "onboard-directory-endpoint", "setup-directory-endpoint",
        "setup-replica-endpoint"])
def test_the_preflights_refuse_an_http_endpoint_before_any_write(
        registry, run_playbook, tmp_path, playbook, where, expected):
    directory, replica = registry[0], registry[2]
    path = inventory(registry, tmp_path, **{where + "_endpoint": PLAIN})
    marks = {c.name: c.audit_mark() for c in (directory, replica)}
    run = run_playbook(playbook, path)
    assert run.rc != 0
    messages = preflight_messages(run)
    assert any(msg.startswith(expected) for msg in messages), messages
    for cluster in (directory, replica):
        assert_writes(cluster, marks[cluster.name], [])
