"""The one read-compare-write (apply.converge), and patches that mean what they say: a Deployment's lists the
template owns come out equal to the template, on a fake that applies each patch content type as the API server
does."""

import copy

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply, compare
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import ConflictError
from tests.unit.utils.fake_cluster import STRATEGIC_MERGE_PATCH, FakeCluster, apply_strategic_merge_patch


def agent(volumes=("credential",), mounts=("/etc/directory-sync",)):
    """The agent's Deployment, shaped as the registry role's template renders it."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "directory-sync"}},
                     "template": {"metadata": {"labels": {"app": "directory-sync"}}, "spec": {
                         "containers": [{"name": "agent", "image": "directory-sync:1",
                                         "volumeMounts": [{"name": "m%d" % i, "mountPath": path}
                                                          for i, path in enumerate(mounts)]}],
                         "volumes": [{"name": name, "secret": {"secretName": name}} for name in volumes]}}}}


def template_lists(obj):
    spec = obj["spec"]["template"]["spec"]
    return [v["name"] for v in spec["volumes"]], [m["mountPath"] for m in spec["containers"][0]["volumeMounts"]]


def test_a_deployment_with_an_extra_volume_and_mount_comes_out_equal_to_the_template():
    """As after an upgrade whose template dropped a volume: the template owns those lists."""
    cluster = FakeCluster()
    cluster.add(agent(volumes=("credential", "old"), mounts=("/etc/directory-sync", "/old")))
    first = apply.ensure(cluster, agent())
    assert first["changed"]
    assert template_lists(cluster.stored("Deployment", "directory-sync", "tectonic-system")) == (
        ["credential"], ["/etc/directory-sync"])
    cluster.writes.clear()
    second = apply.ensure(cluster, agent())
    assert not second["changed"] and cluster.writes == []


def test_the_same_patch_sent_as_a_strategic_merge_would_keep_the_extra_items():
    """Why the content type matters (and that the fake tells them apart): a strategic merge keeps list items by
    their merge key, so sending the collection's patches that way would never converge the case above."""
    live = agent(volumes=("credential", "old"), mounts=("/etc/directory-sync", "/old"))
    patch = compare.plan(agent(), live)[1]
    assert template_lists(apply_strategic_merge_patch(live, patch)) == (
        ["credential", "old"], ["/etc/directory-sync", "/old"])
    cluster = FakeCluster()
    cluster.add(copy.deepcopy(live))
    cluster.patch("Deployment", "directory-sync", patch, "tectonic-system", content_type=STRATEGIC_MERGE_PATCH)
    assert template_lists(cluster.stored("Deployment", "directory-sync", "tectonic-system"))[0] == ["credential", "old"]


def test_the_fake_refuses_a_strategic_merge_on_a_custom_resource_as_the_server_does():
    cluster = FakeCluster()
    cluster.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": "east"},
                 "spec": {}})
    with pytest.raises(Exception) as raised:
        cluster.patch("Cluster", "east", {"spec": {"a": 1}}, content_type=STRATEGIC_MERGE_PATCH)
    assert raised.value.details["status"] == 415


class Racing(FakeCluster):
    """A concurrent writer changes the object between our read and our first write (once)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.raced = False
        self.reads = 0

    def get(self, kind, name, namespace=None):
        self.reads += 1
        return super().get(kind, name, namespace)

    def patch(self, kind, name, patch, namespace=None, *, content_type):
        if not self.raced:
            self.raced = True
            live = self.objects[self._key(self._check_type(kind), namespace, name)]
            live["metadata"]["labels"] = dict(live["metadata"].get("labels") or {}, other="writer")
            live["metadata"]["resourceVersion"] = str(int(live["metadata"]["resourceVersion"]) + 1)
        return super().patch(kind, name, patch, namespace, content_type=content_type)


def test_a_409_runs_it_again_from_a_fresh_read_and_keeps_the_other_writers_field():
    cluster = Racing()
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"},
                 "data": {"a": "1"}})
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "2"}}
    done = apply.converge(cluster, "ConfigMap", "n", "c", lambda live: desired)
    assert done.verb == apply.UPDATED and done.changed
    stored = cluster.stored("ConfigMap", "c", "n")
    assert stored["data"] == {"a": "2"} and stored["metadata"]["labels"] == {"other": "writer"}
    assert cluster.reads == 2  # the first try's read, and one again after the conflict


def test_a_stale_resource_version_is_a_conflict_not_an_overwrite():
    cluster = FakeCluster()
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}})
    with pytest.raises(ConflictError):
        cluster.patch("ConfigMap", "c", {"metadata": {"resourceVersion": "0"}, "data": {"a": "1"}}, "n",
                      content_type=compare.MERGE_PATCH)


def test_an_object_read_already_is_not_read_again_and_leave_writes_nothing():
    cluster = Racing()
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}})
    live = cluster.stored("ConfigMap", "c", "n")
    done = apply.converge(cluster, "ConfigMap", "n", "c", lambda current: apply.Leave("conflict"), live=live)
    assert (done.verb, done.before, done.after, done.changed) == ("conflict", live, live, False)
    assert cluster.reads == 0 and cluster.writes == []


def test_an_immutable_field_that_differs_is_a_delete_and_create():
    cluster = FakeCluster()
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "Group", "name": "sre", "apiGroup": "rbac.authorization.k8s.io"}]}
    cluster.add(copy.deepcopy(binding))
    binding["roleRef"]["name"] = "edit"
    done = apply.converge(cluster, "ClusterRoleBinding", None, "b", lambda live: binding)
    assert done.verb == apply.REPLACED and done.before["roleRef"]["name"] == "view"
    assert [w[0] for w in cluster.writes] == ["delete", "create"]
    assert cluster.stored("ClusterRoleBinding", "b")["roleRef"]["name"] == "edit"
