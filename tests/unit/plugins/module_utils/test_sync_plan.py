"""The sync engine's pure half: copying, marking, plans, counts, messages, the status rule."""

import copy
import json

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import key_of
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time
from ansible_collections.coreos.multicluster.plugins.module_utils import names

DIRECTORY = "https://directory.example.com:6443"
T0 = 1780000000.0
SOURCE = sp.ClusterSource()


def cluster(name, labels=None, annotations=None, **meta):
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": dict({"name": name}, **meta),
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}
    if labels is not None:
        obj["metadata"]["labels"] = labels
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    return obj


def served(obj, rv="7"):
    """As the replica's API server returns it: server fields added."""
    obj = copy.deepcopy(obj)
    obj["metadata"].update(resourceVersion=rv, uid="u-" + obj["metadata"]["name"], generation=1,
                           creationTimestamp="2026-01-01T00:00:00Z", managedFields=[{"manager": "directory-sync"}])
    return obj


def held(name, labels=None, **kw):
    return served(sp.mark(cluster(name, labels=labels if labels is not None else {"stage": "production"}, **kw),
                          DIRECTORY))


def test_the_cluster_source_copies_what_the_directory_has_without_server_and_tool_fields():
    live = cluster("a", labels={"stage": "prod"}, annotations={
        "kubectl.kubernetes.io/last-applied-configuration": "{}", "multicluster.coreos.com/console-url": "x"},
        resourceVersion="9", uid="u", managedFields=[{"manager": "kubectl"}])
    live["status"] = {"x": 1}
    assert SOURCE.desired({"Cluster": [live]}, {}) == [{
        "apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
        "metadata": {"name": "a", "labels": {"stage": "prod"},
                     "annotations": {"multicluster.coreos.com/console-url": "x"}},
        "spec": live["spec"]}]


def test_mark_adds_label_directory_and_the_keys_it_set_without_touching_the_input():
    obj = cluster("a", labels={"stage": "prod"}, annotations={"note": "n"})
    before = copy.deepcopy(obj)
    marked = sp.mark(obj, DIRECTORY)
    assert obj == before
    assert marked["metadata"]["labels"] == {"stage": "prod", names.MANAGED_BY_LABEL: "directory-sync"}
    assert marked["metadata"]["annotations"][sp.SYNCED_FROM_ANNOTATION] == DIRECTORY
    assert sp.synced_keys(marked) == {"labels": ["stage"], "annotations": ["note"], "fields": ["spec"]}
    assert sp.is_held(marked) and not sp.is_held(obj)
    assert not sp.is_held(cluster("b", labels={names.MANAGED_BY_LABEL: "helm"}))


def test_plan_creates_updates_deletes_and_leaves_unchanged():
    desired = [cluster("new", labels={"stage": "production"}),
               cluster("same", labels={"stage": "production"}),
               cluster("relabelled", labels={"stage": "staging"})]
    live = [held("same"), held("relabelled", labels={"stage": "production", "old": "yes"}), held("gone")]
    plan = sp.plan_source(SOURCE, desired, live, DIRECTORY)
    assert [key_of(o) for o in plan["create"]] == [("", "new")] and sp.is_held(plan["create"][0])
    assert [key_of(have) for have, _want in plan["update"]] == [("", "relabelled")]
    assert [key_of(o) for o in plan["delete"]] == [("", "gone")]
    assert plan["unchanged"] == [("", "same")]


def test_server_fields_tool_annotations_and_status_are_no_difference():
    live = held("a")
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = "fleet:x"
    live["metadata"]["labels"]["added-by-another-tool"] = "x"
    live["status"] = {"anything": True}
    plan = sp.plan_source(SOURCE, [cluster("a", labels={"stage": "production"})], [live], DIRECTORY)
    assert plan["update"] == [] and plan["unchanged"] == [("", "a")]


def test_a_label_and_a_spec_key_the_directory_dropped_are_removed_from_the_copy():
    live = held("a", labels={"stage": "production", "cloud": "aws"})
    live["spec"]["Retired"] = "yes"
    wanted = cluster("a", labels={"stage": "production"})
    owned = sp.owned(sp.mark(wanted, DIRECTORY), live)
    assert owned["metadata"]["labels"]["cloud"] is None and "stage" in owned["metadata"]["labels"]
    plan = sp.plan_source(SOURCE, [wanted], [live], DIRECTORY)
    assert [key_of(have) for have, _want in plan["update"]] == [("", "a")]


def test_objects_without_the_mark_are_never_planned_for():
    plan = sp.plan_source(SOURCE, [], [held("a"), cluster("b"), cluster("c", labels={names.MANAGED_BY_LABEL: "helm"})],
                          DIRECTORY)
    assert [key_of(o) for o in plan["delete"]] == [("", "a")] and plan["create"] == plan["update"] == []


def done(**kw):
    out = {"created": [], "updated": [], "deleted": [], "unchanged": [], "conflicts": [], "before": {}, "after": {}}
    out.update(kw)
    return {"clusters": out}


def test_counts_and_message_are_stable_across_runs():
    first = done(created=[("", "a")], conflicts=[("", "b")])
    again = done(unchanged=[("", "a")], conflicts=[("", "b")])
    sources = sp.SOURCES[:1]
    assert sp.counts_of(sources, first) == sp.counts_of(sources, again) == {
        "clusters": {"desired": 2, "held": 1, "conflicts": 1}}
    message = sp.success_message(sources, first)
    assert message == sp.success_message(sources, again)
    assert message.startswith("1 Cluster in sync (1 conflict") and message.endswith("left alone: b)")
    assert sp.success_message(sources, done(unchanged=[("", "a"), ("", "b")])) == "2 Clusters in sync"


CONTENT = sp.status_content(DIRECTORY, "ok", "3 Clusters in sync", {"clusters": {"desired": 3, "held": 3, "conflicts": 0}})


def test_status_is_written_first_then_only_on_content_change_or_after_the_interval():
    first = sp.plan_status(None, CONTENT, T0)
    assert first == dict(CONTENT, lastAttempt=iso_time(T0), lastSuccess=iso_time(T0))
    assert sp.plan_status(first, CONTENT, T0 + 299, 300) is None
    heartbeat = sp.plan_status(first, CONTENT, T0 + 300, 300)
    assert heartbeat["lastAttempt"] == heartbeat["lastSuccess"] == iso_time(T0 + 300)
    changed = sp.plan_status(first, dict(CONTENT, message="2 Clusters in sync"), T0 + 1, 300)
    assert changed["message"] == "2 Clusters in sync" and changed["lastAttempt"] == iso_time(T0 + 1)
    assert sp.plan_status(first, CONTENT, T0, 0) is not None  # interval 0: every run
    assert sp.plan_status(dict(first, lastAttempt="garbage"), CONTENT, T0 + 1, 300) is not None
    assert sp.status_content_changed(first, CONTENT) is False
    assert sp.status_content_changed(first, dict(CONTENT, directory="https://other:6443")) is True
    assert json.loads(CONTENT["counts"]) == {"clusters": {"conflicts": 0, "desired": 3, "held": 3}}


def test_a_failure_keeps_the_last_success():
    ok = sp.plan_status(None, CONTENT, T0)
    failed_content = sp.status_content(DIRECTORY, "failed", "refused", {})
    failed = sp.plan_status(ok, failed_content, T0 + 10)
    assert failed["result"] == "failed" and failed["lastSuccess"] == iso_time(T0)
    assert sp.plan_status(failed, failed_content, T0 + 20) is None
    assert sp.plan_status(None, failed_content, T0)["lastSuccess"] == ""
