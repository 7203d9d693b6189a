"""Leaving the registry: remove_synced takes away what the directory put on a
replica (the agent's Deployment, marked objects; Namespaces deleted or
released), and nothing else."""

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.removal import remove_synced
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_policy_sync import AWS_ADMINS, directory_with, held, replica_cluster, run_sync

AGENT = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "directory-sync", "namespace": "tectonic-system"}, "spec": {"replicas": 1}}


def synced_replica():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    replica.add(AGENT)
    replica.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": "by-hand"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "User", "name": "bob"}]})
    run_sync(directory, replica)
    assert held(replica, "Namespace") == ["monitoring"] and held(replica, "Cluster") == ["east", "west"]
    return replica


def test_everything_the_sync_holds_goes_and_the_agent_first():
    replica = synced_replica()
    replica.writes[:] = []
    result = remove_synced(replica)
    assert replica.writes[0] == ("delete", "Deployment", "directory-sync")
    assert replica.stored("Deployment", "directory-sync", "tectonic-system") is None
    for kind in ("Cluster", "Namespace", "ClusterRoleBinding", "RoleBinding", "ResourceQuota", "LimitRange"):
        assert held(replica, kind) == [], kind
    assert replica.stored("Namespace", "monitoring") is None  # it held only the syncer's objects
    assert replica.stored("ClusterRoleBinding", "by-hand") is not None  # no mark: never touched
    assert result["changed"] and result["released"] == [] and result["failed"] == []
    assert "Deployment tectonic-system/directory-sync" in result["deleted"]
    assert "ClusterRoleBinding clusterpolicy:aws-admins:view" in result["deleted"]
    assert "RoleBinding monitoring/" + names.INSPECT_BINDING in result["deleted"]
    # a second run has nothing to do and writes nothing
    replica.writes[:] = []
    again = remove_synced(replica)
    assert not again["changed"] and again["deleted"] == [] and replica.writes == []


def test_a_namespace_holding_a_workload_is_released_not_deleted():
    replica = synced_replica()
    replica.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "monitoring"},
                 "spec": {"replicas": 1}})
    result = remove_synced(replica)
    ns = replica.stored("Namespace", "monitoring")
    assert ns is not None and not sp.is_held(ns)
    assert replica.stored("Deployment", "app", "monitoring") is not None
    assert result["released"] == [{"object": "Namespace monitoring", "reason": "it holds Deployment app"}]
    assert held(replica, "RoleBinding") == held(replica, "ResourceQuota") == []


def test_check_mode_writes_nothing():
    replica = synced_replica()
    replica.check_mode = True
    replica.writes[:] = []
    result = remove_synced(replica)
    assert result["changed"] and replica.writes == []
    assert held(replica, "Namespace") == ["monitoring"]
