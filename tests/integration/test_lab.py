"""The lab itself: real control planes that enforce RBAC, and a clean teardown."""

import os
import stat
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.conftest import token_client, write_private
from tests.lab import Fleet, LabError, external_clusters
from tests.lab.fleet import ephemeral_port_range, free_port

NS = "lab-rbac-probe"


def _create(fn, *args):
    """Create, or find it there from an earlier run (existing clusters, MC_LAB_CONTEXTS, outlive a run)."""
    try:
        fn(*args)
    except ApiException as exc:
        assert exc.status == 409, exc.reason


def _grant_configmap_reader(api):
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    _create(core.create_namespace, {"metadata": {"name": NS}})
    _create(core.create_namespaced_service_account, NS, {"metadata": {"name": "reader"}})
    _create(rbac.create_namespaced_role, NS, {
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})
    _create(rbac.create_namespaced_role_binding, NS, {
        "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}]})
    request = core.create_namespaced_service_account_token(
        "reader", NS, {"spec": {"audiences": [], "expirationSeconds": 600}})
    return request.status.token


def _status(fn):
    try:
        fn()
        return 200
    except ApiException as exc:
        return exc.status


def test_rbac_is_enforced_on_two_clusters(fleet):
    west, east = fleet[0], fleet[1]
    token = _grant_configmap_reader(west.api_client())
    east_token = _grant_configmap_reader(east.api_client())

    as_reader = client.CoreV1Api(token_client(west, token))
    # what the Role grants
    assert len(as_reader.list_namespaced_config_map(NS).items) >= 0
    # what it does not grant: other resources, other namespaces, writes
    assert _status(lambda: as_reader.list_namespaced_secret(NS)) == 403
    assert _status(lambda: as_reader.list_namespaced_config_map("default")) == 403
    assert _status(lambda: as_reader.create_namespaced_config_map(
        NS, {"metadata": {"name": "x"}})) == 403
    # each cluster signs its own tokens: west's token means nothing to east
    assert _status(lambda: client.CoreV1Api(token_client(east, token)).list_namespaced_config_map(NS)) == 401
    assert client.CoreV1Api(token_client(east, east_token)).list_namespaced_config_map(NS).items is not None


def test_controller_manager_runs_on_every_cluster(fleet):
    """Each cluster has its own working controller-manager: the token
    controller gives a new ServiceAccount its token Secret (v1.20), and
    re-creates it when it is deleted while the account exists."""
    for cluster in fleet:
        core = client.CoreV1Api(cluster.api_client())
        core.create_namespaced_service_account("default", {"metadata": {"name": "kcm-probe"}})
        first = _wait_for(lambda c=core: _token_secret(c, "kcm-probe"))
        assert first, "no token Secret on %s: its controller-manager is not running" % cluster.name
        core.delete_namespaced_secret(first, "default")
        second = _wait_for(lambda c=core, old=first: _token_secret(c, "kcm-probe", not_named=old))
        assert second and second != first
        core.delete_namespaced_service_account("kcm-probe", "default")


def _token_secret(core, account_name, not_named=None):
    account = core.read_namespaced_service_account(account_name, "default")
    names = [ref.name for ref in account.secrets or [] if ref.name != not_named]
    return names[0] if names else None


def _wait_for(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.3)
    return None


@pytest.mark.skipif(bool(os.environ.get("MC_LAB_CONTEXTS")), reason="external clusters: no lab to start")
def test_lab_cli_up_and_down(tmp_path):
    """`python -m tests.lab up` writes kubeconfigs (0600) and the inventory;
    `down` leaves no process behind."""
    root = tmp_path / "lab"
    up = subprocess.run([sys.executable, "-m", "tests.lab", "up", "--dir", str(root), "--names", "solo-a,solo-b"],
                        capture_output=True, text=True, timeout=300, check=False)
    assert up.returncode == 0, up.stderr
    assert str(root) in up.stdout
    fleet = Fleet.from_state(str(root))
    pids = fleet.pids()
    assert len(pids) == 6 and all(os.path.exists("/proc/%d" % pid) for pid in pids)
    try:
        kubeconfig = root / "solo-a.kubeconfig"
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
        ns = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "ns", "-o", "name"],
                            capture_output=True, text=True, timeout=60, check=False)
        assert ns.returncode == 0 and "namespace/kube-system" in ns.stdout
        inventory = yaml.safe_load((root / "inventory.yml").read_text())
        assert list(inventory["all"]["children"]["directory"]["hosts"]) == ["solo-a"]
        replica = inventory["all"]["children"]["replicas"]["hosts"]["solo-b"]
        assert replica["mc_kubeconfig"] == str(root / "solo-b.kubeconfig")
        assert replica["mc_api_endpoint"] == fleet.clusters["solo-b"].server
        assert replica["mc_labels"]["role"] == "replica"
    finally:
        down = subprocess.run([sys.executable, "-m", "tests.lab", "down", "--dir", str(root)],
                              capture_output=True, text=True, timeout=120, check=False)
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids if os.path.exists("/proc/%d" % pid)
                and open("/proc/%d/stat" % pid).read().split(") ")[-1][0] != "Z"]


def test_lab_ports_are_distinct_and_outside_the_ephemeral_range():
    # outgoing connections take ephemeral ports: one of them must never steal a lab port before its process binds it
    low, high = ephemeral_port_range()
    ports = [free_port() for dummy in range(200)]
    assert len(set(ports)) == len(ports)
    assert not [p for p in ports if low <= p <= high]


def test_existing_clusters_named_by_contexts_get_a_kubeconfig_each(fleet, tmp_path):
    """MC_LAB_CONTEXTS: contexts of one merged kubeconfig become clusters like the lab's."""
    merged = tmp_path / "merged.kubeconfig"
    view = subprocess.run(["kubectl", "config", "view", "--flatten"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, KUBECONFIG=os.pathsep.join(c.kubeconfig for c in fleet)), check=True)
    write_private(merged, view.stdout)
    found = external_clusters([c.context for c in fleet], str(tmp_path / "external"), kubeconfig=str(merged))
    assert [c.context for c in found] == [c.context for c in fleet]
    for lab, ext in zip(fleet, found):
        assert ext.server == lab.server and ext.kubeconfig != str(merged)
        assert stat.S_IMODE(os.stat(ext.kubeconfig).st_mode) == 0o600
        with open(ext.kubeconfig) as handle:
            config = yaml.safe_load(handle)
        assert [c["name"] for c in config["contexts"]] == [lab.context] and len(config["users"]) == 1
        if lab.ca_cert:
            with open(lab.ca_cert, "rb") as want, open(ext.ca_cert, "rb") as got:
                assert got.read() == want.read()
        assert ext.kubectl("get", "ns", "kube-system", "-o", "name").stdout.strip() == "namespace/kube-system"
        assert ext.audit_mark() is None and ext.writes_since(ext.audit_mark()) is None


def test_context_names_become_dns_labels(fleet, tmp_path):
    """EKS and `oc login` context names (':' and '/') make valid, distinct cluster names."""
    lab = fleet[0]
    with open(lab.kubeconfig) as handle:
        config = yaml.safe_load(handle)
    context = config["contexts"][0]
    config["contexts"] = [dict(context, name="arn:aws:eks:us-west-1:123456789012:cluster/Prod_West"),
                          dict(context, name="default/api-x:6443/kube:admin")]
    merged = tmp_path / "renamed.kubeconfig"
    write_private(merged, yaml.safe_dump(config))
    found = external_clusters([c["name"] for c in config["contexts"]], str(tmp_path / "ext"), kubeconfig=str(merged))
    assert [c.name for c in found] == ["arn-aws-eks-us-west-1-123456789012-cluster-prod-west",
                                       "default-api-x-6443-kube-admin"]
    assert all(os.path.exists(c.kubeconfig) for c in found)
    with pytest.raises(LabError, match="already taken"):
        external_clusters(["default/api-x:6443/kube:admin"] * 2, str(tmp_path / "twice"), kubeconfig=str(merged))


def test_lab_ports_take_the_larger_side_of_a_wide_ephemeral_range(monkeypatch):
    from tests.lab import fleet as fleet_module
    monkeypatch.setattr(fleet_module, "ephemeral_port_range", lambda: (1024, 60000))
    assert all(60000 < free_port() <= 65535 for dummy in range(50))
    monkeypatch.setattr(fleet_module, "ephemeral_port_range", lambda: (1024, 65000))
    with pytest.raises(LabError, match="ip_local_port_range"):
        free_port()


def _controller_managers_under(root):
    """The pids of kube-controller-manager processes whose command line names a folder of *root*."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"kube-controller-manager" and str(root).encode() in b" ".join(argv):
            found.append(int(entry))
    return found


def test_controller_managers_must_name_clusters_of_the_fleet_and_every_node_cluster(tmp_path):
    names = ["light-a", "light-b"]
    with pytest.raises(LabError, match="not in the fleet"):
        Fleet(str(tmp_path / "x"), names, controller_managers=["elsewhere"])
    with pytest.raises(LabError, match="need a controller-manager"):
        Fleet(str(tmp_path / "y"), names, nodes=True, controller_managers=names[:1])
    assert Fleet(str(tmp_path / "z"), names).kcm_names == names  # the default: every cluster has one


@pytest.mark.skipif(bool(os.environ.get("MC_LAB_CONTEXTS")), reason="external clusters: no lab to start")
def test_lightweight_replicas_have_no_controller_manager_and_the_collection_onboards_them(tmp_path, run_playbook):
    """Fleet(controller_managers=[directory]): the replicas run etcd and kube-apiserver only, the directory
    keeps its controller-manager (token controller), and the collection's playbooks work on that fleet."""
    names = ["light-directory", "light-replica-a", "light-replica-b"]
    root = tmp_path / "lab"
    lab = Fleet(str(root), names, controller_managers=names[:1])
    clusters = lab.start()
    try:
        directory, replicas = clusters[0], clusters[1:]
        assert "kube-controller-manager" in directory.pids
        assert all(sorted(r.pids) == ["etcd", "kube-apiserver"] for r in replicas), [r.pids for r in replicas]
        running = _controller_managers_under(root)
        assert running == [directory.pids["kube-controller-manager"]]
        assert Fleet.from_state(str(root)).kcm_names == names[:1]
        for cluster in clusters:  # every API server answers
            assert cluster.kubectl("get", "ns", "kube-system", "-o", "name").stdout.strip() == "namespace/kube-system"
        # no controller-manager, no one makes the 'default' ServiceAccount there
        assert replicas[0].kubectl("-n", "default", "get", "serviceaccount", "default", check=False).returncode != 0

        inventory = lab.write_inventory()
        for playbook, extra in (("install_registry.yml", None),
                                ("setup_directory.yml", {"directory_setup_replicas": []}),
                                ("onboard_replica.yml", None)):
            run = run_playbook(playbook, inventory, extra_vars=extra)
            assert run.rc == 0 and not run.failed_hosts(), (playbook, run.failures())
        for replica in replicas:
            got = replica.kubectl("-n", "tectonic-system", "get", "secret", "directory-sync", "-o", "name")
            assert got.stdout.strip() == "secret/directory-sync"
        again = run_playbook("onboard_replica.yml", inventory)
        assert again.rc == 0 and not any(again.changed().values()), again.changed()
    finally:
        lab.stop()
    assert not _controller_managers_under(root)
