# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync engine's pure half: sources (what the directory says a replica
should hold), the syncer's mark, plans (create, update, delete), counts,
messages and the status ConfigMap's content.

Every object the syncer writes carries its mark: the label
``app.kubernetes.io/managed-by: directory-sync``, the annotation
``multicluster.coreos.com/synced-from`` naming the directory, and the
annotation ``multicluster.coreos.com/synced-keys`` listing the labels,
annotations and top-level fields it set, so that it can later remove the
ones the directory dropped while leaving alone what the server and other
tools add. "No change" is compare.plan's: the fields the syncer sets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import plan as policy_plan
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.status import message as policy_status_message
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import (
    CLUSTER, CLUSTER_POLICY, REGISTRY_GROUP, display, key_of)

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time, parse_time
from ansible_collections.coreos.multicluster.plugins.module_utils import names

MANAGED_SELECTOR = "%s=%s" % (names.MANAGED_BY_LABEL, names.SYNCED_BY)
UNMARKED_SELECTOR = "%s!=%s" % (names.MANAGED_BY_LABEL, names.SYNCED_BY)  # the others (without the label too)
SYNCED_FROM_ANNOTATION = REGISTRY_GROUP + "/synced-from"
SYNCED_KEYS_ANNOTATION = REGISTRY_GROUP + "/synced-keys"
_MARKS = (names.MANAGED_BY_LABEL, SYNCED_FROM_ANNOTATION, SYNCED_KEYS_ANNOTATION)

DEFAULT_STATUS_INTERVAL = 300
RESULT_OK = "ok"
RESULT_FAILED = "failed"

# annotations tools keep for themselves: never copied from the directory
_TOOL_ANNOTATION_PREFIXES = ("kubectl.kubernetes.io/",)
_TOP_LEVEL_SKIPPED = ("apiVersion", "kind", "metadata", "status")


# --- sources ----------------------------------------------------------------------------------

class ClusterSource(object):
    """Every Cluster of the directory, copied as it is there."""

    name = "clusters"
    target = CLUSTER           # the kind written on the replica
    reads = (CLUSTER,)         # the kinds read from the directory
    noun = ("Cluster", "Clusters")
    exact = ("spec",)          # owned whole: a key the directory drops is dropped
    from_policies = False      # its objects are the directory's own, not a policy's

    def desired(self, snapshot, context):
        """The objects (unmarked) this replica should hold. snapshot: {kind
        name: items} read from the directory; context: {directory_server, ...}.
        Their values are the snapshot's own, not copies (never changed)."""
        return [kept(obj) for obj in snapshot[CLUSTER.kind]]

    def desired_by_key(self, snapshot):
        """{key: object (unmarked)} of the same objects: the snapshot's own lazy mapping when it has one (the
        agent's view decodes an object when asked, sync/view.py), else a dict. Its objects are as the directory's
        reading keeps them (kept()), the snapshot's own values."""
        items = snapshot[CLUSTER.kind]
        keyed = getattr(items, "keyed", None)
        return keyed() if keyed is not None else dict((key_of(obj), kept(obj)) for obj in items)


def kept(obj):
    """What the sync uses of an object read from the directory (apiVersion,
    kind, name, namespace, labels, annotations other than tools' ones, and the
    top-level fields other than status): the rest (managedFields, status,
    kubectl's last-applied-configuration, ...) is dropped as each page of a
    list arrives. The values are *obj*'s own, not copies."""
    meta = obj.get("metadata") or {}
    stripped = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": {"name": meta.get("name")}}
    if meta.get("namespace"):
        stripped["metadata"]["namespace"] = meta["namespace"]
    labels = dict(meta.get("labels") or {})
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items()
                       if not k.startswith(_TOOL_ANNOTATION_PREFIXES))
    if labels:
        stripped["metadata"]["labels"] = labels
    if annotations:
        stripped["metadata"]["annotations"] = annotations
    for key, value in obj.items():
        if key not in _TOP_LEVEL_SKIPPED:
            stripped[key] = value
    return stripped


def compact(kept_obj):
    """An object as kept() returns it, as canonical compact JSON bytes (sorted keys): what the agent's view of the
    directory holds of each object (sync/view.py), equal for two versions of an object that differ only in what
    the sync drops (its status, resourceVersion, managedFields)."""
    return json.dumps(kept_obj, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


class PolicySource(object):
    """One kind of object the directory's Cluster Policies ask for on this
    replica (policies/plan.py plans them all at once; the plan is in the context
    under "policies"). A directory without the ClusterPolicy API still syncs
    its Clusters (CLUSTER_POLICY is an optional read), and an object the
    replica refuses fails alone, reported with its policy."""

    reads = (CLUSTER, CLUSTER_POLICY)
    optional = (CLUSTER_POLICY,)
    from_policies = True  # its objects are made for policies: each fails alone and is reported with its policy

    def __init__(self, target, exact=()):
        self.target = target
        self.name = target.plural
        self.noun = (target.kind, target.kind + "s")
        self.exact = exact

    def desired(self, snapshot, context):
        return context["policies"]["desired"][self.target.kind]

    def prepare(self, want, live):
        """The desired object as compared with *live* (quantities spelt as the server does)."""
        return quantities.align_quantities(want, live)

    order = staticmethod(policy_plan.create_order)  # the agent's own binding in a namespace before the policies'


POLICY_SOURCES = (PolicySource(policy_plan.NAMESPACE_KIND), PolicySource(policy_plan.CRB), PolicySource(policy_plan.RB),
                  PolicySource(policy_plan.QUOTA, exact=("spec",)), PolicySource(policy_plan.LIMITS))

# Creates and updates run in this order (Namespaces before what goes in them), deletes in reverse.
SOURCES = (ClusterSource(),) + POLICY_SOURCES


# --- limits: what a replica accepts from the directory ----------------------------------------------

DEFAULT_MAX_CLUSTERS = 10000
DEFAULT_MAX_CLUSTER_POLICIES = 1000
DEFAULT_MAX_POLICY_NAMESPACES = 100
# 256 KiB: the API server's own limit for all the annotations of one object (TotalAnnotationSizeLimitB), and
# about a hundred times a real Cluster (name, labels, a few endpoints: 0.5 to 2 KiB) or ClusterPolicy.
DEFAULT_MAX_OBJECT_BYTES = 256 * 1024
# Directory lists are read this many objects a page, and a page may not be larger than this many times the
# object bound: what one page holds in memory before it is stripped is bounded too.
DIRECTORY_PAGE_SIZE = 100


class Limits(object):
    """The most a replica accepts from the directory: Clusters, ClusterPolicies,
    namespaces in one policy, and bytes of one object as the sync keeps it
    (kept(), serialized as JSON)."""

    def __init__(self, clusters=DEFAULT_MAX_CLUSTERS, cluster_policies=DEFAULT_MAX_CLUSTER_POLICIES,
                 policy_namespaces=DEFAULT_MAX_POLICY_NAMESPACES, object_bytes=DEFAULT_MAX_OBJECT_BYTES):
        self.clusters = clusters
        self.cluster_policies = cluster_policies
        self.policy_namespaces = policy_namespaces
        self.object_bytes = object_bytes
        for option, value in self.options().items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("%s must be a whole number of 1 or more, not %r" % (option, value))

    def options(self):
        """{option name: value}: the names of the module options (the agent's flags are these with dashes)."""
        return {"max_clusters": self.clusters, "max_cluster_policies": self.cluster_policies,
                "max_policy_namespaces": self.policy_namespaces, "max_object_bytes": self.object_bytes}

    def count_of(self, kind):
        """(the most objects of *kind*, the option that sets it)."""
        if kind is CLUSTER_POLICY:
            return self.cluster_policies, "max_cluster_policies"
        return self.clusters, "max_clusters"

    def page_bytes(self):
        """The largest page of a directory list read (DIRECTORY_PAGE_SIZE objects at the bound)."""
        return DIRECTORY_PAGE_SIZE * self.object_bytes


def serialized_size(obj):
    """Bytes of *obj* as compact JSON (characters outside ASCII escaped: never less than its UTF-8 size)."""
    return len(json.dumps(obj, separators=(",", ":")))


_REFUSED = "; nothing was synced"


def _plural(kind):
    return kind.kind[:-1] + "ies" if kind.kind.endswith("y") else kind.kind + "s"


def over_limit(kind, obj, limits):
    """(option, why) one object kept from the directory (kept()) is refused, or
    None: larger than the object bound, or a ClusterPolicy with too many namespaces."""
    name = (obj.get("metadata") or {}).get("name")
    size = serialized_size(obj)
    if size > limits.object_bytes:
        return "max_object_bytes", "%s %s in the directory is %d bytes, more than the %d this replica accepts " \
            "(max_object_bytes)%s" % (kind.kind, name, size, limits.object_bytes, _REFUSED)
    spec = obj.get("spec")
    namespaces = spec.get("namespaces") if kind is CLUSTER_POLICY and isinstance(spec, dict) else None
    if isinstance(namespaces, list) and len(namespaces) > limits.policy_namespaces:
        return "max_policy_namespaces", "%s %s in the directory has %d namespaces, more than the %d this replica " \
            "accepts (max_policy_namespaces)%s" % (kind.kind, name, len(namespaces), limits.policy_namespaces, _REFUSED)
    return None


def too_many(kind, limits):
    """Why a directory holding more objects of *kind* than the limit is refused."""
    most, option = limits.count_of(kind)
    return "the directory holds more than %d %s, the most this replica accepts (%s)%s" % (
        most, _plural(kind), option, _REFUSED)


def page_too_large(kind, limits):
    """Why a page of a directory list larger than limits.page_bytes() is refused."""
    return ("a page of up to %d %s read from the directory is larger than %d bytes (%d times max_object_bytes)%s"
            % (DIRECTORY_PAGE_SIZE, _plural(kind), limits.page_bytes(), DIRECTORY_PAGE_SIZE, _REFUSED))


# --- the mark -----------------------------------------------------------------------------------

def is_held(obj):
    """True when obj carries the syncer's mark (it made the object)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(names.MANAGED_BY_LABEL) == names.SYNCED_BY


def synced_keys(obj):
    """{labels, annotations, fields}: what the syncer set on a held object, as
    its synced-keys annotation records it (empty lists when it has none)."""
    text = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(SYNCED_KEYS_ANNOTATION)
    try:
        recorded = json.loads(text) if text else {}
    except ValueError:
        recorded = {}
    if not isinstance(recorded, dict):
        recorded = {}
    return dict((part, [k for k in recorded.get(part) or [] if isinstance(k, str)])
                for part in ("labels", "annotations", "fields"))


def mark(obj, directory_server):
    """A desired object as the syncer writes it: with its label and
    annotations. Its metadata, labels and annotations are new dicts; its other
    fields are *obj*'s own (one copy of each spec, however many forms of the
    object the sync holds: the plan, and whatever changes it, copies first)."""
    marked = dict(obj)
    meta = marked["metadata"] = dict(obj.get("metadata") or {})
    keys = {"labels": sorted(meta.get("labels") or {}), "annotations": sorted(meta.get("annotations") or {}),
            "fields": sorted(k for k in marked if k not in _TOP_LEVEL_SKIPPED)}
    labels = meta["labels"] = dict(meta.get("labels") or {})
    labels[names.MANAGED_BY_LABEL] = names.SYNCED_BY
    annotations = meta["annotations"] = dict(meta.get("annotations") or {})
    annotations[SYNCED_FROM_ANNOTATION] = directory_server
    annotations[SYNCED_KEYS_ANNOTATION] = json.dumps(keys, sort_keys=True, separators=(",", ":"))
    return marked


def owned(want, live):
    """*want* (marked) plus None for every label, annotation and top-level
    field the syncer set on *live* before and no longer sets."""
    result = copy.deepcopy(want)
    before = synced_keys(live)
    meta = result.setdefault("metadata", {})
    for part in ("labels", "annotations"):
        gone = [k for k in before[part] if k not in (meta.get(part) or {}) and k not in _MARKS]
        if gone:
            meta.setdefault(part, {}).update(dict.fromkeys(gone))
    for field in before["fields"]:
        if field not in result and field not in _TOP_LEVEL_SKIPPED:
            result[field] = None
    return result


# --- plans ----------------------------------------------------------------------------------------

def prepared(source, want, live):
    """*want* as the source compares it with *live* (its prepare(), when it has one)."""
    prepare = getattr(source, "prepare", None)
    return want if prepare is None else prepare(want, live)


def plan_source(source, desired, held, directory_server):
    """Compare the desired objects (unmarked, from a source) with the objects
    on the replica that carry the mark. Returns a dict of lists:

    create:    marked objects the replica does not hold (apply() reads each
               first: one made there by hand is a conflict, left alone)
    update:    (live, marked desired) of held objects that differ
    delete:    held objects the directory no longer has
    unchanged: keys of held objects already as desired
    """
    wanted = dict((key_of(obj), mark(obj, directory_server)) for obj in desired)
    on_replica = dict((key_of(obj), obj) for obj in held if is_held(obj))
    plan = {"create": [], "update": [], "delete": [], "unchanged": []}
    for key in sorted(wanted, key=getattr(source, "order", None)):
        have = on_replica.get(key)
        if have is None:
            plan["create"].append(wanted[key])
            continue
        if compare.plan(owned(prepared(source, wanted[key], have), have), have, source.exact,
                        source.target.immutable) is None:
            plan["unchanged"].append(key)
        else:
            plan["update"].append((have, wanted[key]))
    for key in sorted(on_replica):
        if key not in wanted and not terminating(on_replica[key]):  # one being deleted is going already
            plan["delete"].append(on_replica[key])
    return plan


def terminating(obj):
    """True for an object being deleted (a Namespace while its content goes)."""
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def counts_of(sources, done):
    """Stable counts (the same on a re-run with nothing to change): per source,
    the objects the directory wants, the ones the syncer holds after the
    run, and the conflicts."""
    counts = {}
    for source in sources:
        out = done[source.name]
        held = len(out["created"]) + len(out["updated"]) + len(out["unchanged"])
        counts[source.name] = {"desired": held + len(out["conflicts"]), "held": held,
                               "conflicts": len(out["conflicts"])}
    return counts


def success_message(sources, done, policy_status=None):
    """"3 Clusters in sync; policies: 2 applied, 1 not selected" (the objects of policies are counted per policy)."""
    parts = []
    for source in sources:
        if source.from_policies:
            continue
        out = done[source.name]
        held = len(out["created"]) + len(out["updated"]) + len(out["unchanged"])
        text = "%d %s in sync" % (held, source.noun[0] if held == 1 else source.noun[1])
        conflicts = out["conflicts"]
        if conflicts:
            text += " (%d conflict%s, made on the replica without the %s label, left alone: %s)" % (
                len(conflicts), "" if len(conflicts) == 1 else "s", MANAGED_SELECTOR,
                ", ".join(display(*k) for k in conflicts))
        parts.append(text)
    text = policy_status_message(policy_status) if policy_status is not None else None
    if text:
        parts.append(text)
    return "; ".join(parts)


# --- the status ConfigMap ------------------------------------------------------------------------

def status_content(directory_server, result, message, counts, policy_status=None):
    """The ConfigMap data other than the timestamps (key policies: JSON, when given)."""
    content = {"directory": directory_server or "", "result": result, "message": message,
               "counts": json.dumps(counts, sort_keys=True, separators=(",", ":"))}
    if policy_status is not None:
        content["policies"] = json.dumps(policy_status, sort_keys=True, separators=(",", ":"))
    return content


def plan_status(existing, content, now, interval=DEFAULT_STATUS_INTERVAL):
    """The data to write to the status ConfigMap, or None when nothing needs writing.

    existing: the current data (dict) or None. It is written when its content
    other than the timestamps changes, or when its lastAttempt is missing or
    at least *interval* seconds old. lastSuccess moves only on success."""
    existing = existing or None
    stamp = iso_time(now)
    if existing is not None:
        last = parse_time(existing.get("lastAttempt"))
        if not status_content_changed(existing, content) and last is not None and now - last < interval:
            return None
    data = dict(content)
    data["lastAttempt"] = stamp
    if content["result"] == RESULT_OK:
        data["lastSuccess"] = stamp
    else:
        data["lastSuccess"] = (existing or {}).get("lastSuccess") or ""
    return data


def status_content_changed(existing, content):
    return existing is None or any(existing.get(k) != v for k, v in content.items())


def desired_status_map(data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": names.STATUS_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE,
                         "labels": {names.PART_OF_LABEL: names.PART_OF, "app.kubernetes.io/name": "directory-sync"}},
            "data": data}
