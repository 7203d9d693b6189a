"""The one comparison: owned fields against objects as 1.21-1.3x API servers return them."""

import copy

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare

MANAGED = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
            "time": "2026-11-30T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]


def served_namespace(name="monitoring", labels=None):
    """A Namespace as kube-apiserver 1.21+ returns it."""
    meta_labels = {"kubernetes.io/metadata.name": name}
    meta_labels.update(labels or {})
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": "3f1c", "resourceVersion": "812", "creationTimestamp": "2026-11-30T10:00:00Z",
                         "labels": meta_labels, "managedFields": MANAGED},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def served_binding(role="admin", subjects=None, extra_annotations=None):
    """A RoleBinding as returned: apiGroup defaulted on User/Group subjects, annotations added by others."""
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
    annotations.update(extra_annotations or {})
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "sre-edit", "namespace": "monitoring", "uid": "9a", "resourceVersion": "77",
                         "labels": {"app.kubernetes.io/managed-by": "directory-sync"}, "annotations": annotations,
                         "managedFields": MANAGED, "creationTimestamp": "2026-11-30T10:00:00Z"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects or [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "sre"}]}


def wanted_binding(role="admin"):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "sre-edit", "namespace": "monitoring",
                         "labels": {"app.kubernetes.io/managed-by": "directory-sync"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "Group", "name": "sre"}]}


def served_deployment():
    """A Deployment with the defaults the server fills in (strategy, probes' thresholds, ...)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "directory-sync", "namespace": "tectonic-system", "generation": 3, "uid": "d",
                         "resourceVersion": "5", "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "selector": {"matchLabels": {"app": "directory-sync"}},
                     "template": {"metadata": {"labels": {"app": "directory-sync"}},
                                  "spec": {"containers": [{"name": "agent", "image": "directory-sync:0.1.0",
                                                           "imagePullPolicy": "IfNotPresent",
                                                           "terminationMessagePath": "/dev/termination-log",
                                                           "resources": {}}],
                                           "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                                           "schedulerName": "default-scheduler", "securityContext": {}}}},
            "status": {"availableReplicas": 1}}


def wanted_deployment(image="directory-sync:0.1.0"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "directory-sync"}},
                     "template": {"metadata": {"labels": {"app": "directory-sync"}},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}


@pytest.mark.parametrize("wanted, live", [
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}, served_namespace()),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring", "labels": {"team": "sre"}}},
     served_namespace(labels={"team": "sre", "added-by-another-tool": "yes"})),
    (wanted_binding(), served_binding(extra_annotations={"argocd.argoproj.io/tracking-id": "x"})),
    (wanted_deployment(), served_deployment()),
])
def test_what_the_server_adds_or_defaults_plans_no_write(wanted, live):
    assert compare.unchanged(wanted, live)
    assert compare.plan(wanted, live, immutable=("roleRef",)) is None


def test_a_changed_owned_field_is_a_patch_of_that_field_only_guarded_by_resource_version():
    action = compare.plan(wanted_deployment(image="directory-sync:0.2.0"), served_deployment())
    assert action[0] == compare.PATCH
    patch = action[1]
    assert patch["metadata"] == {"resourceVersion": "5"}
    assert patch["spec"] == {"template": {"spec": {"containers": [{"name": "agent", "image": "directory-sync:0.2.0"}]}}}


def test_a_changed_role_ref_plans_one_replace_with_the_whole_object():
    action = compare.plan(wanted_binding(role="edit"), served_binding(role="admin"), immutable=("roleRef",))
    assert action == (compare.REPLACE, wanted_binding(role="edit"))


def test_a_changed_subject_is_a_patch_not_a_replace():
    wanted = wanted_binding()
    wanted["subjects"] = [{"kind": "Group", "name": "platform"}]
    verb, patch = compare.plan(wanted, served_binding(), immutable=("roleRef",))
    assert verb == compare.PATCH and patch["subjects"] == [{"kind": "Group", "name": "platform"}]


def test_none_means_the_key_must_be_absent():
    live = served_namespace(labels={"stage": "dev"})
    assert compare.unchanged({"metadata": {"labels": {"gone": None}}}, live)
    verb, patch = compare.plan({"metadata": {"name": "monitoring", "labels": {"stage": None}}}, live)
    assert verb == compare.PATCH and patch["metadata"]["labels"] == {"stage": None}


def test_an_exact_path_is_compared_whole_and_written_whole():
    live = {"metadata": {"name": "east", "resourceVersion": "9"},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://a"}]}, "old": 1}}
    wanted = {"metadata": {"name": "east"},
              "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://a"}]}}}
    assert compare.plan(wanted, live) is None  # a subset, without exact
    verb, patch = compare.plan(wanted, live, exact=("spec",))
    assert verb == compare.PATCH and patch["spec"] == {"old": None}


def test_lists_must_have_the_same_length():
    live = served_binding(subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "sre"},
                                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}])
    assert not compare.unchanged(wanted_binding(), live)


def test_create_when_missing_drops_the_none_markers_and_status():
    wanted = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "1", "b": None}},
              "data": {"k": "v"}, "status": {}}
    assert compare.plan(wanted, None) == (compare.CREATE, {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "x", "labels": {"a": "1"}},
                                                           "data": {"k": "v"}})


def test_plan_never_changes_its_inputs():
    wanted, live = wanted_binding(role="edit"), served_binding()
    copies = copy.deepcopy((wanted, live))
    compare.plan(wanted, live, immutable=("roleRef",))
    assert (wanted, live) == copies


def test_merge_patch_is_exact():
    assert compare.merge_patch({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": 2}, "e": [1]}) == \
        {"a": None, "b": {"c": 2, "d": None}, "e": [1]}
    assert compare.merge_patch({"a": 1}, {"a": 1}) == {}


def test_an_empty_map_the_server_leaves_out_is_no_difference():
    wanted = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n"}, "data": {}}
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n", "resourceVersion": "3"}}
    assert compare.plan(wanted, live) is None
    assert compare.plan(dict(wanted, data={"k": "v"}), live)[0] == compare.PATCH
