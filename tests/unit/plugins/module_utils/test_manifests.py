"""Ensuring and removing whole definitions (the registry's manifest), on an in-memory cluster."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from tests.unit.utils.fake_cluster import FakeCluster


def namespace(name="tectonic-system", **labels):
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        obj["metadata"]["labels"] = labels
    return obj


def binding(role):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "directory-sync"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "Group", "name": "sre"}]}


@pytest.mark.parametrize("obj, message", [
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}}, "kind 'Pod' is not one"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "has no metadata.name"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "needs metadata.namespace"),
    ({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {"name": "t"}}, "cannot be stored"),
    ("not a mapping", "not a mapping"),
])
def test_definitions_the_collection_cannot_write_are_refused(obj, message):
    with pytest.raises(MulticlusterError, match=message):
        apply.check_definition(obj)


def test_create_then_a_second_run_writes_nothing_though_the_server_added_fields():
    cluster = FakeCluster()
    first = apply.ensure(cluster, namespace(team="sre"))
    assert first["changed"] and first["before"] is None and first["ref"] == "Namespace tectonic-system"
    assert cluster.writes == [("create", "Namespace", "tectonic-system")]
    second = apply.ensure(cluster, namespace(team="sre"))
    assert not second["changed"] and cluster.writes == [("create", "Namespace", "tectonic-system")]
    assert "kubernetes.io/metadata.name" in second["after"]["metadata"]["labels"]
    assert "uid" not in second["after"]["metadata"] and "status" not in second["after"]


def test_a_changed_field_is_patched_and_other_tools_labels_survive():
    cluster = FakeCluster()
    cluster.add(dict(namespace(team="sre", other="kept")))
    result = apply.ensure(cluster, namespace(team="platform"))
    assert result["changed"] and cluster.writes == [("patch", "Namespace", "tectonic-system")]
    labels = cluster.stored("Namespace", "tectonic-system")["metadata"]["labels"]
    assert labels["team"] == "platform" and labels["other"] == "kept"


def test_a_changed_role_ref_is_replaced_once():
    cluster = FakeCluster()
    cluster.add(binding("view"))
    result = apply.ensure(cluster, binding("edit"))
    assert result["changed"]
    assert cluster.writes == [("delete", "ClusterRoleBinding", "directory-sync"),
                              ("create", "ClusterRoleBinding", "directory-sync")]
    assert cluster.stored("ClusterRoleBinding", "directory-sync")["roleRef"]["name"] == "edit"
    assert not apply.ensure(cluster, binding("edit"))["changed"]


def test_a_concurrent_writer_makes_the_apply_read_again():
    cluster = FakeCluster()
    cluster.add(namespace(team="sre"))
    raced = []

    def race(verb, kind, namespace_, name):
        if verb == "patch" and not raced:
            raced.append(1)
            cluster.add(namespace(team="platform"))  # a new resourceVersion: the patch in flight conflicts
    cluster.before_write.append(race)
    result = apply.ensure(cluster, namespace(team="platform"))
    assert not result["changed"]  # the re-read found it already as wanted
    assert [w[0] for w in cluster.writes] == ["patch"]


def test_check_mode_writes_nothing_but_reports_the_change():
    cluster = FakeCluster(check_mode=True)
    result = apply.ensure(cluster, namespace())
    assert result["changed"] and cluster.writes == [] and cluster.objects == {}


def test_remove_deletes_and_removing_what_is_gone_is_no_change():
    cluster = FakeCluster()
    cluster.add(namespace())
    assert apply.remove(cluster, namespace())["changed"]
    assert apply.remove(cluster, namespace()) == {"changed": False, "before": None, "after": None,
                                                  "ref": "Namespace tectonic-system"}


def test_an_object_already_being_deleted_is_no_change():
    cluster = FakeCluster()
    terminating = cluster.add(namespace())
    terminating["metadata"]["deletionTimestamp"] = "2026-12-01T10:00:00Z"
    cluster.objects[("Namespace", "", "tectonic-system")] = terminating
    assert not apply.remove(cluster, namespace())["changed"] and cluster.writes == []
