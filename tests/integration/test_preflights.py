"""The roles' preflights, without a cluster: every role checks what every role needs (exactly one directory host,
the kubeconfigs, the cluster's name) in one place (roles/_common/tasks/preflight.yml), so the same inventory mistake
reads the same from each role, and each stops in its one preflight task, naming the variable, the host and the value,
before any module runs. The clusters' addresses lead nowhere (https://127.0.0.1:1): nothing could be written."""

import copy

import pytest
import yaml

from tests.integration.conftest import write_private

NOWHERE = "https://127.0.0.1:1"
PREFLIGHT = "Preflight | the inventory, the kubeconfigs and the role's variables"


def kubeconfig(name):
    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": NOWHERE, "insecure-skip-tls-verify": True}}],
            "users": [{"name": name, "user": {"token": "not-a-token"}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}


@pytest.fixture
def fleet_inventory(tmp_path):
    """write(change) -> the path of an inventory of the directory west and replicas east and central (each with
    a kubeconfig file of its own), after change(inventory) edits it."""
    import sys
    base = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                    "children": {"directory": {"hosts": {}}, "replicas": {"hosts": {}}}}}
    for group, name in (("directory", "west"), ("replicas", "east"), ("replicas", "central")):
        path = tmp_path / ("%s.kubeconfig" % name)
        write_private(path, yaml.safe_dump(kubeconfig(name)))
        base["all"]["children"][group]["hosts"][name] = {
            "mc_kubeconfig": str(path), "mc_context": name, "mc_api_endpoint": "https://%s.example.com:6443" % name,
            "mc_labels": {"stage": "test"}}

    def write(change=None):
        data = copy.deepcopy(base)
        if change:
            change(data["all"]["children"])
        path = tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(data))
        return path
    return write


def preflight_failures(run):
    """{host: message} of the failed preflight tasks (one line each)."""
    found = {}
    for host, task, msg in run.failures():
        if PREFLIGHT in task:
            found[host] = " ".join(msg.split())
    return found


def two_directories(groups):
    groups["directory"]["hosts"]["north"] = dict(groups["directory"]["hosts"]["west"])


@pytest.mark.parametrize("playbook, role, hosts, extra_vars", [
    ("setup_directory.yml", "directory_setup", ["west", "north"], None),
    ("apply_policies.yml", "cluster_policies", ["west", "north"], {"cluster_policies_prune": True}),
    ("onboard_replica.yml", "replica_onboarding", ["east", "central"], None),
    ("deregister_replica.yml", "deregistration", ["east", "central"], {"deregister_confirm": True}),
])
def test_one_directory_host_is_checked_alike_by_every_role_that_needs_it(
        fleet_inventory, run_playbook, playbook, role, hosts, extra_vars):
    run = run_playbook(playbook, fleet_inventory(two_directories), extra_vars=extra_vars)
    assert run.rc != 0
    messages = preflight_failures(run)
    assert sorted(messages) == sorted(hosts), run.failures()
    for host in hosts:
        assert messages[host] == (
            "%s: the inventory needs exactly one host in group 'directory', and this role runs %s (group directory: "
            "north, west; this host: %s)." % (role, "on it" if host in ("west", "north") else "on the replicas", host))


@pytest.mark.parametrize("playbook, role", [("onboard_replica.yml", "replica_onboarding"),
                                            ("deregister_replica.yml", "deregistration")])
def test_the_directory_hosts_kubeconfig_is_checked_alike_from_the_replicas(
        fleet_inventory, run_playbook, tmp_path, playbook, role):
    missing = tmp_path / "gone.kubeconfig"

    def change(groups):
        groups["directory"]["hosts"]["west"]["mc_kubeconfig"] = str(missing)
    run = run_playbook(playbook, fleet_inventory(change), limit="east")
    assert preflight_failures(run) == {"east": "%s: mc_kubeconfig of directory host west is %s, not a readable file; "
                                               "set it to the path of the directory's kubeconfig." % (role, missing)}


def test_a_replica_whose_kubeconfig_is_gone_passes_the_deregistration_preflight(fleet_inventory, run_playbook, tmp_path):
    """A replica gone for good is de-registered all the same; the onboarding refuses it."""
    def change(groups):
        groups["replicas"]["hosts"]["east"]["mc_kubeconfig"] = str(tmp_path / "gone.kubeconfig")
    inventory = fleet_inventory(change)
    onboard = run_playbook("onboard_replica.yml", inventory, limit="east")
    assert preflight_failures(onboard) == {"east": "replica_onboarding: mc_kubeconfig of east is %s, not a readable "
                                                   "file; set it to the path of this cluster's kubeconfig."
                                                   % (tmp_path / "gone.kubeconfig")}
    deregister = run_playbook("deregister_replica.yml", inventory, limit="east")
    assert preflight_failures(deregister) == {}
    # it went on to the module, which failed at the directory (nowhere), with the step in the summary
    assert deregister.rc != 0 and any("127.0.0.1:1" in msg for _h, _t, msg in deregister.failures())


@pytest.mark.parametrize("playbook, role, extra_vars", [
    ("install_registry.yml", "registry", {"registry_sync_agent": False}),
    ("onboard_replica.yml", "replica_onboarding", None),
    ("deregister_replica.yml", "deregistration", None),
])
def test_a_cluster_name_that_is_no_dns_label_is_refused_alike(fleet_inventory, run_playbook, playbook, role, extra_vars):
    def change(groups):
        groups["replicas"]["hosts"]["central"]["mc_cluster_name"] = "Central_Production"
    run = run_playbook(playbook, fleet_inventory(change), extra_vars=extra_vars, limit="central")
    assert preflight_failures(run) == {"central": (
        "%s: the cluster name of central (mc_cluster_name, or the host name) is Central_Production, not a DNS-1123 "
        "label (lower-case letters, digits and '-', at most 63); set mc_cluster_name to the name the cluster is "
        "installed with." % role)}


@pytest.mark.parametrize("playbook, change, extra_vars, host, expected", [
    ("setup_directory.yml", lambda g: g["replicas"]["hosts"]["east"].pop("mc_kubeconfig"), None, "west",
     "directory_setup: mc_kubeconfig of east is not set; it is needed to check that the cluster is the one installed "
     "under that name (or set directory_setup_verify_identity to false)."),
    ("apply_policies.yml", lambda g: g["directory"]["hosts"]["west"].update(
        mc_cluster_policies=[{"name": "a", "spec": {}}, {"name": "a", "spec": {}}]), None, "west",
     "cluster_policies: cluster_policies_list (default mc_cluster_policies) of west names a more than once; give "
     "each ClusterPolicy once."),
    ("install_registry.yml", None, {"registry_sync_agent": False, "registry_sync_protected_namespaces": ["Bad"]},
     "west", "registry: registry_sync_protected_namespaces of west must be a list of namespace names (DNS-1123 "
     "labels); got [\"Bad\"]."),
    ("install_registry.yml", None, {"registry_sync_agent": False, "registry_sync_policy_cluster_roles": ["a/b"]},
     "west", "registry: registry_sync_policy_cluster_roles of west must be a list of ClusterRole names (no '/' or "
     "'%', not '.' or '..'), for example [view, edit, admin]; got [\"a/b\"]."),
    # one case for each other branch of the roles' own chains (the first check that fails is the one named)
    ("install_registry.yml", None, {"registry_sync_agent": True, "registry_sync_image": " "}, "east",
     "registry: no image for the directory-sync agent on east (registry_sync_image is empty): no public image is "
     "published. Build it from the collection with `make image`, which prints its reference "
     "(localhost/coreos-multicluster/directory-sync:<version>), push it to a registry the cluster can pull from "
     "(podman push <reference> registry.example.com/<path>/directory-sync:<version>), and set registry_sync_image to "
     "the pushed reference in the inventory (docs/agent-image.md); or set registry_sync_agent to false to install "
     "the registry without the agent."),
    ("install_registry.yml", None, {"registry_sync_agent": False, "registry_sync_policy_roles": ["view"]}, "west",
     "registry: registry_sync_policy_roles is set for west, but it is replaced by two lists: "
     "registry_sync_policy_cluster_roles (roles policies may bind cluster-wide, default [view]) and "
     "registry_sync_policy_namespace_roles (roles they may bind inside their namespaces, default [view, edit, "
     "admin]). Set those instead (docs/policies.md, \"Bounds\")."),
    ("install_registry.yml", None, {"registry_sync_agent": True, "registry_sync_image": "example.test/agent:1",
                                    "registry_sync_max_clusters": 0}, "east",
     "registry: registry_sync_max_clusters of east must be a whole number of 1 or more (the agent refuses a "
     "directory over it); got 0."),
    ("install_registry.yml", None, {"registry_sync_agent": True, "registry_sync_image": "example.test/agent:1",
                                    "registry_sync_heartbeat_period": 7200}, "east",
     "registry: registry_sync_heartbeat_period of east must be a whole number of seconds from 1 to 3600 (readers "
     "do not believe a longer heartbeat period); got 7200."),
    ("setup_directory.yml", lambda g: g["directory"]["hosts"]["west"].update(mc_api_endpoint="http://west:6443"),
     None, "west",
     "directory_setup: mc_api_endpoint of west is http://west:6443, not an https:// URL with a host; set it to the "
     "https:// URL other clusters use to reach the directory."),
    ("setup_directory.yml", lambda g: g["directory"]["hosts"]["west"].update(mc_console_url="ftp://west"), None,
     "west", "directory_setup: mc_console_url of west is ftp://west, not an https:// URL with a host."),
    ("onboard_replica.yml", lambda g: g["replicas"]["hosts"]["east"].update(mc_api_endpoint="http://east:6443"),
     None, "east",
     "replica_onboarding: mc_api_endpoint of east is http://east:6443, not an https:// URL with a host; set it to "
     "the https:// URL of this cluster's API server."),
    ("onboard_replica.yml", lambda g: g["replicas"]["hosts"]["east"].update(mc_console_url="ftp://east"), None,
     "east", "replica_onboarding: mc_console_url of east is ftp://east, not an https:// URL with a host."),
], ids=["setup-replica-kubeconfig", "policies-twice", "registry-namespaces", "registry-roles", "registry-no-image",
        "registry-old-roles", "registry-limit", "registry-heartbeat", "setup-endpoint", "setup-console", "onboarding-endpoint",
        "onboarding-console"])
def test_a_roles_own_check_names_the_variable_the_host_and_the_value(
        fleet_inventory, run_playbook, playbook, change, extra_vars, host, expected):
    run = run_playbook(playbook, fleet_inventory(change), extra_vars=extra_vars, limit=host)
    assert preflight_failures(run) == {host: expected}
