"""Roles and playbooks over the lab's kubeconfig inventory, with ansible-playbook."""

import base64
import copy
import json
import time

import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.integration.conftest import assert_writes, frozen, hidden, write_private
from tests.lab.fleet import AGENT_IMAGE


def _clusters_on(cluster):
    out = cluster.kubectl("get", "clusters", "-o", "jsonpath={.items[*].metadata.name}", check=False)
    return sorted(out.stdout.split()) if out.returncode == 0 else None


def _sync_kubeconfig(cluster):
    out = cluster.kubectl("-n", "tectonic-system", "get", "secret", "directory-sync",
                          "-o", "jsonpath={.data.kubeconfig}", check=False)
    if out.returncode != 0 or not out.stdout:
        return None
    return hidden(yaml.safe_load(base64.b64decode(out.stdout)))


def _can_list_clusters(kubeconfig_dict):
    from kubernetes import config
    api = config.new_client_from_config_dict(kubeconfig_dict)
    try:
        k8s.CustomObjectsApi(api).list_cluster_custom_object("multicluster.coreos.com", "v1", "clusters")
        return True
    except ApiException as exc:
        return exc.status


def _can(cluster, *args):
    """kubectl auth can-i as the directory-sync agent's ServiceAccount."""
    out = cluster.kubectl("auth", "can-i", "--as", "system:serviceaccount:tectonic-system:directory-sync", *args,
                          check=False)
    return out.stdout.strip() == "yes"


def _assert_sync_agent_deployed(clusters):
    """The registry role deploys the agent with its own, least-privilege ServiceAccount; on a replica,
    mc_sync_secret has rolled it onto the credential (pod template annotation)."""
    directory = clusters[0].kubectl("-n", "tectonic-system", "get", "deployment", "directory-sync", check=False)
    assert "NotFound" in directory.stderr, "the directory has no credential to sync with: no agent there"
    for cluster in clusters[1:]:
        deployment = json.loads(cluster.kubectl("-n", "tectonic-system", "get", "deployment", "directory-sync",
                                                "-o", "json").stdout)
        pod = deployment["spec"]["template"]["spec"]
        assert deployment["metadata"]["labels"]["app"] == "directory-sync"
        assert pod["serviceAccountName"] == "directory-sync"
        assert pod["containers"][0]["image"] == AGENT_IMAGE
        assert pod["volumes"][0]["secret"]["secretName"] == "directory-sync"
        assert _can(cluster, "create", "clusters.multicluster.coreos.com")
        assert _can(cluster, "delete", "clusters.multicluster.coreos.com")
        assert _can(cluster, "-n", "tectonic-system", "patch", "configmap/directory-sync-status")
        assert not _can(cluster, "-n", "tectonic-system", "patch", "configmap/tectonic-config")
        assert not _can(cluster, "-n", "tectonic-system", "get", "secrets")
        assert not _can(cluster, "create", "deployments")
        # Cluster Policies (on by default): the kinds they write, bind cluster-wide only on the cluster-wide
        # allowlist (view); the rest only inside the namespaces the agent holds (test_policy_bounds.py)
        assert _can(cluster, "create", "namespaces") and _can(cluster, "create", "rolebindings")
        assert not _can(cluster, "delete", "rolebindings") and not _can(cluster, "delete", "namespaces")
        assert _can(cluster, "bind", "clusterroles/view") and not _can(cluster, "bind", "clusterroles/admin")
        assert not _can(cluster, "bind", "clusterroles/cluster-admin")
        assert not _can(cluster, "get", "clusterroles/cluster-admin")
        annotations = deployment["spec"]["template"].get("metadata", {}).get("annotations", {})
        assert "multicluster.coreos.com/credential-hash" in annotations, cluster.name


def test_site_onboards_the_fleet_and_converges(site_fleet, run_playbook):
    west, east, central = site_fleet["clusters"]
    inventory = site_fleet["inventory"]

    # check mode on fresh clusters: the registry would be installed, nothing is written
    marks = {c.name: c.audit_mark() for c in site_fleet["clusters"]}
    dry = run_playbook("install_registry.yml", inventory, check=True)
    assert dry.rc == 0, dry.failures()
    assert all(changed > 0 for changed in dry.changed().values()), dry.changed()
    for cluster in site_fleet["clusters"]:
        assert_writes(cluster, marks[cluster.name], [])
    assert _clusters_on(west) is None  # no Cluster API yet

    first = run_playbook("site.yml", inventory)
    assert first.rc == 0, first.failures()
    assert first.failed_hosts() == []
    names = ["central-production", "east-coast-production", "west-coast-production"]
    assert _clusters_on(west) == names
    directory_flag = west.kubectl("get", "cluster", "west-coast-production",
                                  "-o", "jsonpath={.metadata.annotations.multicluster\\.coreos\\.com/directory}")
    assert directory_flag.stdout == "true"
    for replica in (east, central):
        kubeconfig = _sync_kubeconfig(replica)
        assert kubeconfig, "no directory-sync Secret on %s" % replica.name
        assert kubeconfig["clusters"][0]["cluster"]["server"] == west.server
        assert _can_list_clusters(kubeconfig) is True
        assert _clusters_on(replica) == []  # the registry is installed; the syncer fills it
    summary = "\n".join(first.summary())
    assert "east-coast-production:" in summary and "total:" in summary and "0 failed" in summary
    _assert_sync_agent_deployed(site_fleet["clusters"])

    marks = {c.name: c.audit_mark() for c in site_fleet["clusters"]}
    check = run_playbook("site.yml", inventory, check=True)
    assert check.rc == 0, check.failures()
    assert set(check.changed().values()) == {0}, check.changed()
    second = run_playbook("site.yml", inventory)
    assert second.rc == 0
    assert set(second.changed().values()) == {0}, second.changed()
    for cluster in site_fleet["clusters"]:
        assert_writes(cluster, marks[cluster.name], [])
    assert "0 changed" in "\n".join(second.summary())


def test_a_half_done_run_converges_when_run_again(site_fleet, run_playbook):
    """What a run stopped half-way leaves (a replica registered but without
    its credential and sync Secret, another's Cluster object not yet made) is
    completed by the next run, which then leaves nothing to do."""
    west, east, central = site_fleet["clusters"]
    east.kubectl("-n", "tectonic-system", "delete", "secret", "directory-sync")
    west.kubectl("-n", "tectonic-multi-cluster", "delete", "secret", "east-coast-production-credential-anchor")
    west.kubectl("delete", "cluster", "central-production")

    again = run_playbook("site.yml", site_fleet["inventory"])
    assert again.rc == 0, again.failures()
    # central's Cluster object is made again by central's own onboarding (site.yml registers each replica once)
    assert again.changed()["east-coast-production"] > 0 and again.changed()["central-production"] > 0
    assert again.changed()["west-coast-production"] == 0
    assert _clusters_on(west) == ["central-production", "east-coast-production", "west-coast-production"]
    assert _can_list_clusters(_sync_kubeconfig(east)) is True
    assert _can_list_clusters(_sync_kubeconfig(central)) is True

    marks = {c.name: c.audit_mark() for c in site_fleet["clusters"]}
    settled = run_playbook("site.yml", site_fleet["inventory"])
    assert set(settled.changed().values()) == {0}, settled.changed()
    for cluster in site_fleet["clusters"]:
        assert_writes(cluster, marks[cluster.name], [])


def test_a_frozen_directory_fails_the_run_in_bounded_time_and_the_next_runs_converge(site_fleet, run_playbook):
    """The directory's kube-apiserver frozen (SIGSTOP) while onboard_replica.yml
    runs: every replica fails within the bound request_timeout sets, naming the
    directory and the time waited, instead of waiting forever. After SIGCONT
    the next run converges and the one after writes nothing."""
    west = site_fleet["clusters"][0]
    env = {"K8S_AUTH_REQUEST_TIMEOUT": "3"}
    with frozen(west):
        started = time.monotonic()
        hung = run_playbook("onboard_replica.yml", site_fleet["inventory"], env=env)
        waited = time.monotonic() - started
    assert hung.rc != 0
    failures = hung.failures()
    assert {"east-coast-production", "central-production"} <= {host for host, dummy, dummy2 in failures}
    for host, task, msg in failures:
        assert "on cluster 'west-coast-production'" in msg and "did not answer within 3 s" in msg, (host, task, msg)
    # each replica stops at its first call to the directory; the two run in parallel
    assert waited < 90, "the run took %.1f s" % waited

    again = run_playbook("onboard_replica.yml", site_fleet["inventory"], env=env)
    assert again.rc == 0, again.failures()
    marks = {c.name: c.audit_mark() for c in site_fleet["clusters"]}
    settled = run_playbook("onboard_replica.yml", site_fleet["inventory"], env=env)
    assert settled.rc == 0 and set(settled.changed().values()) == {0}, settled.changed()
    for cluster in site_fleet["clusters"]:
        assert_writes(cluster, marks[cluster.name], [])


def test_deregistration_refuses_several_without_confirmation(site_fleet, run_playbook):
    west = site_fleet["clusters"][0]
    mark = west.audit_mark()
    refused = run_playbook("deregister_replica.yml", site_fleet["inventory"])
    assert refused.rc != 0
    assert "would de-register 2 replicas" in refused.stdout
    assert_writes(west, mark, [])
    assert "east-coast-production" in _clusters_on(west)


def test_deregister_one_replica(site_fleet, run_playbook):
    west, _east, central = site_fleet["clusters"]
    old = _sync_kubeconfig(central)
    assert _can_list_clusters(old) is True
    run = run_playbook("coreos.multicluster.deregister_replica", site_fleet["inventory"], limit="central-production")
    assert run.rc == 0, run.failures()
    assert "central-production" not in _clusters_on(west)
    assert _sync_kubeconfig(central) is None
    assert _can_list_clusters(old) == 401
    assert "old token refused" in "\n".join(run.summary())
    again = run_playbook("deregister_replica.yml", site_fleet["inventory"], limit="central-production")
    assert again.rc == 0, again.failures()
    assert again.changed() == {"central-production": 0}
    assert "not tested: the replica holds no credential" in "\n".join(again.summary())
    # the others are untouched
    assert _can_list_clusters(_sync_kubeconfig(site_fleet["clusters"][1])) is True


def test_one_unreachable_replica_does_not_stop_the_others(site_fleet, run_playbook, tmp_path):
    """A replica whose cluster is gone: its onboarding fails with the reason,
    the others converge; its de-registration still cleans the directory."""
    inventory = yaml.safe_load(open(site_fleet["inventory"]))
    replicas = inventory["all"]["children"]["replicas"]["hosts"]
    dead = copy.deepcopy(replicas["east-coast-production"])
    dead_kubeconfig = yaml.safe_load(open(dead["mc_kubeconfig"]))
    dead_kubeconfig["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "gone.kubeconfig"
    write_private(path, yaml.safe_dump(dead_kubeconfig))
    dead.update({"mc_kubeconfig": str(path), "mc_api_endpoint": "https://127.0.0.1:1",
                 "mc_labels": {"stage": "production", "role": "replica"}})
    replicas["gone-production"] = dead
    dead["mc_context"] = dead_kubeconfig["contexts"][0]["name"]
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))

    run = run_playbook("onboard_replica.yml", inv)
    assert run.rc != 0
    assert run.failed_hosts() == ["gone-production"]
    summary = "\n".join(run.summary())
    assert "gone-production:" in summary and "127.0.0.1:1" in summary
    assert _can_list_clusters(_sync_kubeconfig(site_fleet["clusters"][1])) is True

    # register it without the identity check, then de-register it although it is unreachable
    west = site_fleet["clusters"][0]
    run = run_playbook("setup_directory.yml", inv, extra_vars={"directory_setup_verify_identity": False})
    assert "gone-production" in _clusters_on(west)
    gone = run_playbook("deregister_replica.yml", inv, limit="gone-production")
    assert gone.rc == 0, gone.failures()
    assert "gone-production" not in _clusters_on(west)
    assert "not cleaned" in "\n".join(gone.summary())


def test_preflight_names_the_variable_that_is_wrong_and_its_value(site_fleet, run_playbook, tmp_path):
    inventory = yaml.safe_load(open(site_fleet["inventory"]))
    hosts = inventory["all"]["children"]["replicas"]["hosts"]
    del hosts["east-coast-production"]["mc_api_endpoint"]
    hosts["central-production"]["mc_kubeconfig"] = str(tmp_path / "no-such.kubeconfig")
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    west = site_fleet["clusters"][0]
    mark = west.audit_mark()
    run = run_playbook("onboard_replica.yml", inv)
    assert run.rc != 0
    messages = {host: msg for host, dummy, msg in run.failures()}
    assert messages["east-coast-production"].startswith(
        "replica_onboarding: mc_api_endpoint of east-coast-production is not set;"), messages
    assert messages["central-production"].startswith(
        "replica_onboarding: mc_kubeconfig of central-production is %s, not a readable file;"
        % (tmp_path / "no-such.kubeconfig")), messages
    assert_writes(west, mark, [])
