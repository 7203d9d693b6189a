"""The kinds table: one description of every kind."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kinds


def test_the_registry_kinds_are_custom_and_cluster_scoped():
    for kind in (kinds.CLUSTER, kinds.CLUSTER_POLICY):
        assert kind.custom and not kind.namespaced and kind.group == kinds.REGISTRY_GROUP and kind.version == "v1"
    assert kinds.crd_name("ClusterPolicy") == "clusterpolicies.multicluster.coreos.com"


def test_typed_kinds_name_their_plural_and_scope():
    secret = kinds.lookup("Secret")
    assert (secret.api_version, secret.plural, secret.namespaced, secret.group, secret.version) == \
        ("v1", "secrets", True, "", "v1")
    assert kinds.lookup("RoleBinding").immutable == ("roleRef",)
    assert kinds.lookup(secret) is secret


def test_builtin_kinds_are_not_custom_and_the_registry_kinds_are():
    for name in ("Secret", "Namespace", "Deployment", "ClusterRoleBinding", "CustomResourceDefinition", "TokenRequest"):
        assert kinds.lookup(name).builtin and not kinds.lookup(name).custom, name
    assert [k.kind for k in kinds.KINDS.values() if k.custom] == [
        "Cluster", "ClusterStatus", "ClusterPolicy", "ClusterProfile", "ClusterProfileStatus"]
    assert "ClusterStatus" not in kinds.MANIFEST_KINDS and "Lease" in kinds.MANIFEST_KINDS


def test_a_status_subresource_is_its_parents_path_and_status():
    assert kinds.resource_path("ClusterStatus", parent="east") == "/apis/multicluster.coreos.com/v1/clusters/east/status"
    assert (kinds.resource_path("ClusterProfileStatus", "fleet-inventory", parent="east")
            == "/apis/multicluster.x-k8s.io/v1alpha1/namespaces/fleet-inventory/clusterprofiles/east/status")


def test_the_api_prefix_of_the_core_group_and_of_a_named_group():
    assert kinds.api_prefix("v1") == "/api/v1"
    assert kinds.api_prefix("apps/v1") == "/apis/apps/v1"
    assert kinds.api_prefix(kinds.REGISTRY_API_VERSION) == "/apis/multicluster.coreos.com/v1"


@pytest.mark.parametrize("kind, namespace, name, path", [
    ("Secret", "ns", "s", "/api/v1/namespaces/ns/secrets/s"),
    ("Secret", "ns", None, "/api/v1/namespaces/ns/secrets"),
    ("Namespace", None, "team", "/api/v1/namespaces/team"),
    ("Namespace", "ignored", "team", "/api/v1/namespaces/team"),  # cluster-scoped: a namespace does not apply
    ("RoleBinding", "ns", "rb", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/rb"),
    ("ClusterRole", None, "reader", "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader"),
    ("Deployment", "ns", None, "/apis/apps/v1/namespaces/ns/deployments"),
    ("Cluster", None, "east", "/apis/multicluster.coreos.com/v1/clusters/east"),
    ("ClusterPolicy", None, None, "/apis/multicluster.coreos.com/v1/clusterpolicies"),
    ("TokenReview", None, None, "/apis/authentication.k8s.io/v1/tokenreviews"),
    ("Secret", None, None, "/api/v1/secrets"),  # a namespaced kind without a namespace: every namespace
    ("RoleBinding", "", None, "/apis/rbac.authorization.k8s.io/v1/rolebindings"),
    ("Secret", "n s", "a/b c", "/api/v1/namespaces/n%20s/secrets/a%2Fb%20c"),  # quoted, "/" too
], ids=["core-object", "core-collection", "cluster-scoped", "cluster-scoped-ns", "grouped", "grouped-cluster",
        "grouped-collection", "custom-object", "custom-collection", "create-only", "all-namespaces",
        "all-namespaces-empty", "quoted"])
def test_resource_paths(kind, namespace, name, path):
    assert kinds.resource_path(kind, namespace, name) == path


def test_a_subresource_is_under_its_parent():
    token = kinds.lookup("TokenRequest")
    assert token.parent == ("v1", "serviceaccounts") and token.create_only
    assert kinds.resource_path("TokenRequest", "ns", parent="robot") == "/api/v1/namespaces/ns/serviceaccounts/robot/token"
    assert kinds.resource_path(token, "ns", parent="a/b") == "/api/v1/namespaces/ns/serviceaccounts/a%2Fb/token"


def test_every_stored_kind_may_be_in_a_manifest_and_create_only_kinds_not():
    assert "TokenReview" not in kinds.MANIFEST_KINDS and "ResourceQuota" in kinds.MANIFEST_KINDS


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(kinds.UnknownKindError, match="kind 'Pod' is not one this collection manages .*ConfigMap"):
        kinds.lookup("Pod")


def test_keys_and_references():
    obj = {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}
    assert kinds.key_of(obj) == ("ns", "s") and kinds.ref(obj) == "Secret ns/s"
    assert kinds.display("", "east") == "east"
