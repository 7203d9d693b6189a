"""The kinds table: one description of every kind."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils import kinds


def test_the_registry_kinds_are_custom_and_cluster_scoped():
    for kind in (kinds.CLUSTER, kinds.CLUSTER_POLICY):
        assert kind.custom and not kind.namespaced and kind.group == kinds.REGISTRY_GROUP and kind.version == "v1"
    assert kinds.crd_name("ClusterPolicy") == "clusterpolicies.multicluster.coreos.com"


def test_typed_kinds_name_their_api_and_plural():
    secret = kinds.lookup("Secret")
    assert (secret.api, secret.stem, secret.plural, secret.namespaced, secret.group) == \
        ("CoreV1Api", "secret", "secrets", True, "")
    assert kinds.lookup("RoleBinding").immutable == ("roleRef",)
    assert kinds.lookup(secret) is secret


def test_every_stored_kind_may_be_in_a_manifest_and_create_only_kinds_not():
    assert "TokenReview" not in kinds.MANIFEST_KINDS and "ResourceQuota" in kinds.MANIFEST_KINDS


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(kinds.UnknownKindError, match="kind 'Pod' is not one this collection manages .*ConfigMap"):
        kinds.lookup("Pod")


def test_keys_and_references():
    obj = {"kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}}
    assert kinds.key_of(obj) == ("ns", "s") and kinds.ref(obj) == "Secret ns/s"
    assert kinds.display("", "east") == "east"
