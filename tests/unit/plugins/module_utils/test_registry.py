"""Installing, upgrading and removing the registry on one cluster (an in-memory cluster)."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import install as registry_install
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from tests.unit.utils.fake_cluster import FakeCluster

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "clusters.multicluster.coreos.com"},
       "spec": {"group": "multicluster.coreos.com", "scope": "Cluster",
                "names": {"plural": "clusters", "singular": "cluster", "kind": "Cluster"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tectonic-system"}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "tectonic-view-clusters"},
        "rules": [{"apiGroups": ["multicluster.coreos.com"], "resources": ["clusters"], "verbs": ["get", "list", "watch"]}]}
DEFINITIONS = [CRD, NAMESPACE, ROLE]


class Cluster(FakeCluster):
    """Marks a CustomResourceDefinition Established as soon as it is created."""

    def serve(self, obj):
        served = super(Cluster, self).serve(obj)
        if served["kind"] == "CustomResourceDefinition":
            served["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        return served


def install(cluster, name="east", **kw):
    return registry_install.ensure_present(cluster, DEFINITIONS, name, sleep=lambda s: None, **kw)


def test_install_then_again_writes_nothing():
    cluster = Cluster(label="east")
    first = install(cluster)
    assert first["changed"] and [o["ref"] for o in first["objects"]] == [
        "CustomResourceDefinition clusters.multicluster.coreos.com", "Namespace tectonic-system",
        "ClusterRole tectonic-view-clusters", "ConfigMap tectonic-system/tectonic-config"]
    assert cluster.stored("ConfigMap", "tectonic-config", "tectonic-system")["data"] == {"clusterName": "east"}
    writes = list(cluster.writes)
    second = install(cluster)
    assert not second["changed"] and cluster.writes == writes and second["diff"] == {"before": {}, "after": {}}


def test_check_mode_on_a_fresh_cluster_reports_every_object_and_writes_nothing():
    cluster = Cluster(label="east", check_mode=True)
    result = install(cluster)
    assert result["changed"] and all(o["changed"] for o in result["objects"]) and cluster.writes == []


def test_a_cluster_installed_under_another_name_is_not_renamed_without_force():
    cluster = Cluster(label="east")
    install(cluster)
    with pytest.raises(MulticlusterError, match=r"installed as 'east' \(tectonic-system/tectonic-config\); "
                                                r"refusing to rename it to 'west'"):
        install(cluster, "west")
    assert install(cluster, "west", force=True)["changed"]


def test_definitions_without_the_cluster_crd_or_with_a_bad_name_are_refused_before_any_write():
    cluster = Cluster()
    with pytest.raises(MulticlusterError, match="lack CustomResourceDefinition clusters.multicluster.coreos.com"):
        registry_install.ensure_present(cluster, [NAMESPACE], "east")
    with pytest.raises(MulticlusterError, match="cluster_name 'East!' is not a DNS-1123 label"):
        registry_install.ensure_present(cluster, DEFINITIONS, "East!")
    assert cluster.writes == []


def test_a_crd_that_never_becomes_established_times_out_naming_it():
    cluster = FakeCluster(label="east")
    ticks = iter(range(1000))
    with pytest.raises(MulticlusterError, match="clusters.multicluster.coreos.com on cluster 'east' is not Established"):
        registry_install.wait_established(cluster, "clusters.multicluster.coreos.com", 5, sleep=lambda s: None,
                                          clock=lambda: next(ticks))


def test_removal_is_refused_while_clusters_are_registered_then_removes_everything_once():
    cluster = Cluster(label="east")
    install(cluster)
    cluster.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": "east"}})
    with pytest.raises(MulticlusterError, match=r"still holds 1 Cluster\(s\) \(east\)"):
        registry_install.ensure_absent(cluster, DEFINITIONS)
    del cluster.objects[("Cluster", "", "east")]
    removed = registry_install.ensure_absent(cluster, DEFINITIONS)
    assert removed["changed"] and [w[0] for w in cluster.writes[-4:]] == ["delete"] * 4
    assert removed["objects"][0]["ref"] == "ConfigMap tectonic-system/tectonic-config"
    assert not registry_install.ensure_absent(cluster, DEFINITIONS)["changed"]


def test_removal_from_a_cluster_without_the_cluster_api_is_allowed():
    cluster = Cluster(missing_kinds=["Cluster"])
    assert not registry_install.ensure_absent(cluster, DEFINITIONS)["changed"]


PROFILE_CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "clusterprofiles.multicluster.x-k8s.io",
                            "labels": {"app.kubernetes.io/part-of": "tectonic-multi-cluster"}},
               "spec": {"group": "multicluster.x-k8s.io", "scope": "Namespaced",
                        "names": {"plural": "clusterprofiles", "kind": "ClusterProfile"},
                        "versions": [{"name": "v1alpha1", "served": True, "storage": True}]}}


def test_the_cluster_profile_api_is_installed_when_absent_and_upgraded_when_ours():
    cluster = Cluster(label="west")
    first = registry_install.ensure_present(cluster, DEFINITIONS + [PROFILE_CRD], "west", sleep=lambda s: None)
    assert first["left_alone"] == [] and ("create", "CustomResourceDefinition",
                                          "clusterprofiles.multicluster.x-k8s.io") in cluster.writes
    version = dict(PROFILE_CRD["spec"]["versions"][0], subresources={"status": {}})
    newer = dict(PROFILE_CRD, spec=dict(PROFILE_CRD["spec"], versions=[version]))
    second = registry_install.ensure_present(cluster, DEFINITIONS + [newer], "west", sleep=lambda s: None)
    assert second["changed"] and second["left_alone"] == []


def test_another_managers_cluster_profile_api_is_left_alone_on_install_and_removal():
    cluster = Cluster(label="west")
    foreign = dict(PROFILE_CRD, metadata={"name": PROFILE_CRD["metadata"]["name"], "labels": {"owner": "ocm"}})
    cluster.add(foreign)
    result = registry_install.ensure_present(cluster, DEFINITIONS + [PROFILE_CRD], "west", sleep=lambda s: None)
    assert result["left_alone"] == ["CustomResourceDefinition clusterprofiles.multicluster.x-k8s.io"]
    assert not [w for w in cluster.writes if w[2] == "clusterprofiles.multicluster.x-k8s.io"]
    assert cluster.stored("CustomResourceDefinition", "clusterprofiles.multicluster.x-k8s.io")["metadata"][
        "labels"] == {"owner": "ocm"}
    removed = registry_install.ensure_absent(cluster, DEFINITIONS + [PROFILE_CRD])
    assert removed["left_alone"] == ["CustomResourceDefinition clusterprofiles.multicluster.x-k8s.io"]
    assert cluster.stored("CustomResourceDefinition", "clusterprofiles.multicluster.x-k8s.io") is not None


def test_the_registrys_own_crd_is_always_written_even_without_the_label():
    assert registry_install.is_foreign_api(CRD, {"metadata": {"labels": {}}}) is False
    assert registry_install.is_foreign_api(PROFILE_CRD, None) is False
    assert registry_install.is_foreign_api(PROFILE_CRD, {"metadata": {}}) is True
