# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory-sync engine: make a replica hold what the directory says it should.

Pull-only: the replica reads the directory with its own view-only credential,
and nothing on the directory writes to replicas.

One mechanism for every kind of object:

* the **desired set** - what the directory says this replica should hold,
  computed by each *source* from what was read from the directory;
* the **held set** - the objects on the replica that carry the syncer's mark
  (label ``app.kubernetes.io/managed-by: directory-sync``; annotation
  ``multicluster.coreos.com/synced-from`` names the directory);
* a **plan** per source (create, update, delete, conflict), pure and
  unit-tested;
* **apply**, through a ClusterClient of the replica.

Only objects carrying the mark are ever updated or deleted. An object made
on the replica by hand with the name of a desired one is a *conflict*: left
alone and reported. An object is written only when its normalised form
(labels, annotations other than server-owned and ``kubectl.kubernetes.io/``
ones, and every top-level field other than apiVersion, kind, metadata and
status) differs, so a run with nothing to change makes no write request.

When the directory cannot be read (credential refused, not reachable, no
Cluster API) nothing on the replica is changed: the whole desired set is
read before anything is planned.

The outcome is recorded on the replica in ConfigMap
``tectonic-system/directory-sync-status`` (directory, lastAttempt,
lastSuccess, result, message, counts). The ConfigMap is written only when
its content other than the timestamps changes, or when the recorded
lastAttempt is at least ``status_interval`` seconds old (a heartbeat), so
that a second identical run writes nothing; the timestamps are therefore
exact to within ``status_interval``.

Today there is one source, the Clusters; Cluster policies add sources (and
the resource types they need) to SOURCES, the engine stays as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import datetime
import json
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.cluster import merge_patch
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import (
    MulticlusterError,
    api_reason,
    http_status,
    is_missing_type,
    is_transient,
    retry,
)

GROUP = "multicluster.coreos.com"
VERSION = "v1"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "directory-sync"
SYNCED_FROM_ANNOTATION = GROUP + "/synced-from"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "tectonic-multi-cluster"

SECRET_NAMESPACE = "tectonic-system"
SECRET_NAME = "directory-sync"
SECRET_KEY = "kubeconfig"

STATUS_NAMESPACE = "tectonic-system"
STATUS_CONFIG_MAP = "directory-sync-status"
DEFAULT_STATUS_INTERVAL = 300

RESULT_OK = "ok"
RESULT_FAILED = "failed"

PAGE_SIZE = 500
DIRECTORY_TIMEOUT = 30

# metadata the server owns: never copied, never compared
_SERVER_FIELDS = ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")
# annotations tools keep for themselves: never copied, never compared
_TOOL_ANNOTATION_PREFIXES = ("kubectl.kubernetes.io/",)
_TOP_LEVEL_SKIPPED = ("apiVersion", "kind", "metadata", "status")


class DirectoryError(MulticlusterError):
    """The directory could not be read: nothing on the replica was changed."""


# --- resource types ----------------------------------------------------------------------------

class CustomResource(object):
    """How to list, read, create, patch and delete one custom resource type
    through a ClusterClient's CustomObjectsApi. A kind served by a typed API
    (Namespaces, RBAC) gets a class with the same methods."""

    def __init__(self, kind, plural, group=GROUP, version=VERSION, namespaced=False):
        self.kind = kind
        self.plural = plural
        self.group = group
        self.version = version
        self.namespaced = namespaced

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version)

    def __repr__(self):
        return "CustomResource(%s.%s/%s)" % (self.plural, self.group, self.version)

    @staticmethod
    def _pages(fetch):
        """Every item of a paged list; fetch(continue_token) gets one page.
        Returns (items, resourceVersion of the list)."""
        items, token, version = [], None, None
        while True:
            page = fetch(token)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            version = meta.get("resourceVersion") or version
            token = meta.get("continue")
            if not token:
                return items, version

    @staticmethod
    def _paging(token, page_size, timeout=None):
        kwargs = {"limit": page_size}
        if token:
            kwargs["_continue"] = token
        if timeout:
            kwargs["_request_timeout"] = timeout
        return kwargs

    def list(self, client, page_size=PAGE_SIZE):
        """(items, resourceVersion) on a ClusterClient; errors read as its other errors do."""
        return self._pages(lambda token: client.call(
            "list", self.kind + "s", "", client.custom.list_cluster_custom_object, self.group, self.version,
            self.plural, **self._paging(token, page_size)))

    def list_raw(self, client, page_size=PAGE_SIZE, timeout=DIRECTORY_TIMEOUT):
        """(items, resourceVersion), raising the API or network error itself
        (retried when transient): for the directory, whose errors the engine words."""
        def fetch(token):
            return retry(lambda: client.custom.list_cluster_custom_object(
                self.group, self.version, self.plural, **self._paging(token, page_size, timeout)),
                transient=lambda exc: is_transient(exc) and http_status(exc) != 409)
        return self._pages(fetch)

    def read(self, client, key):
        """The object (dict) or None."""
        return client.read(self.kind, display(key), client.custom.get_cluster_custom_object, self.group,
                           self.version, self.plural, key[1])

    def create(self, client, body):
        """Create body (one call, not retried on 409: AlreadyExists is no transient)."""
        return client.call("create", self.kind, display(key_of(body)), client.custom.create_cluster_custom_object,
                           self.group, self.version, self.plural, body, dry_run=client.dry_run)

    def patch(self, client, key, patch):
        """The raw patch call: for read-modify-write functions run by client.write()."""
        return client.custom.patch_cluster_custom_object(self.group, self.version, self.plural, key[1], patch,
                                                         dry_run=client.dry_run)

    def delete(self, client, key):
        """True when deleted, False when already gone."""
        return client.delete(self.kind, display(key), client.custom.delete_cluster_custom_object, self.group,
                             self.version, self.plural, key[1], dry_run=client.dry_run)


CLUSTERS = CustomResource("Cluster", "clusters")


# --- sources: what the directory says a replica should hold ------------------------------------------

class ClusterSource(object):
    """Every Cluster of the directory, as it is there."""

    name = "clusters"
    kind = "Cluster"
    target = CLUSTERS          # the type written on the replica
    reads = (CLUSTERS,)        # the types read from the directory

    def desired(self, snapshot, context):
        """The objects (unmarked) this replica should hold. snapshot: {type: items}
        read from the directory; context: {directory_server, ...}."""
        result = []
        for obj in snapshot[CLUSTERS]:
            meta = obj.get("metadata") or {}
            copied = {"apiVersion": CLUSTERS.api_version, "kind": CLUSTERS.kind,
                      "metadata": {"name": meta.get("name")}}
            for key in ("labels", "annotations"):
                if meta.get(key):
                    copied["metadata"][key] = dict(meta[key])
            for key, value in obj.items():
                if key not in _TOP_LEVEL_SKIPPED:
                    copied[key] = copy.deepcopy(value)
            result.append(copied)
        return result


# ClusterPolicy materialisation adds its sources here (Namespaces before the
# RoleBindings in them: creates and updates run in this order, deletes in reverse).
SOURCES = (ClusterSource(),)


# --- pure: keys, marks, comparison, plans ------------------------------------------------------------

def key_of(obj):
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name"))


def display(key):
    namespace, name = key
    return "%s/%s" % (namespace, name) if namespace else name


def is_held(obj):
    """True when obj carries the syncer's mark (it made the object)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def _tool_annotation(key):
    return any(key.startswith(prefix) for prefix in _TOOL_ANNOTATION_PREFIXES)


def comparable(obj):
    """What is compared and written: name and namespace, labels, annotations
    other than tools' own, and the top-level fields other than apiVersion,
    kind, metadata and status (spec, or subjects and roleRef, ...)."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    result = {"metadata": {"name": meta.get("name")}}
    if meta.get("namespace"):
        result["metadata"]["namespace"] = meta["namespace"]
    labels = dict(meta.get("labels") or {})
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items() if not _tool_annotation(k))
    if labels:
        result["metadata"]["labels"] = labels
    if annotations:
        result["metadata"]["annotations"] = annotations
    for key, value in obj.items():
        if key not in _TOP_LEVEL_SKIPPED:
            result[key] = copy.deepcopy(value)
    return result


def mark(obj, directory_server):
    """A desired object as the syncer writes it: with its label and annotation."""
    marked = comparable(obj)
    marked["apiVersion"] = obj.get("apiVersion")
    marked["kind"] = obj.get("kind")
    meta = marked["metadata"]
    meta.setdefault("labels", {})[MANAGED_BY_LABEL] = MANAGED_BY
    meta.setdefault("annotations", {})[SYNCED_FROM_ANNOTATION] = directory_server
    return marked


def plan_source(desired, live, directory_server):
    """Compare the desired objects (unmarked, from a source) with every object
    of that type on the replica. Returns a dict of lists:

    create:    marked objects to create
    update:    (live, marked desired, merge patch) of held objects that differ
    delete:    held objects the directory no longer has
    conflicts: keys of desired objects that exist on the replica without the mark
    unchanged: keys of held objects already as desired
    """
    wanted = {}
    for obj in desired:
        wanted[key_of(obj)] = mark(obj, directory_server)
    on_replica = dict((key_of(obj), obj) for obj in live)
    plan = {"create": [], "update": [], "delete": [], "conflicts": [], "unchanged": []}
    for key in sorted(wanted):
        want = wanted[key]
        have = on_replica.get(key)
        if have is None:
            plan["create"].append(want)
        elif not is_held(have):
            plan["conflicts"].append(key)
        else:
            patch = merge_patch(comparable(have), comparable(want))
            if patch:
                plan["update"].append((have, want, patch))
            else:
                plan["unchanged"].append(key)
    for key in sorted(on_replica):
        if key not in wanted and is_held(on_replica[key]):
            plan["delete"].append(on_replica[key])
    return plan


def plan_is_empty(plan):
    return not (plan["create"] or plan["update"] or plan["delete"])


def counts_of(plans):
    """Stable counts (the same on a re-run with nothing to change): per source,
    the objects the directory wants, the ones the syncer holds after the run,
    and the conflicts."""
    counts = {}
    for name, plan in plans.items():
        desired = len(plan["create"]) + len(plan["update"]) + len(plan["unchanged"]) + len(plan["conflicts"])
        counts[name] = {"desired": desired, "held": desired - len(plan["conflicts"]),
                        "conflicts": len(plan["conflicts"])}
    return counts


def success_message(sources, plans):
    parts = []
    for source in sources:
        plan = plans[source.name]
        held = len(plan["create"]) + len(plan["update"]) + len(plan["unchanged"])
        text = "%d %s%s in sync" % (held, source.kind, "" if held == 1 else "s")
        if plan["conflicts"]:
            text += " (%d conflict%s, made on the replica without the %s=%s label, left alone: %s)" % (
                len(plan["conflicts"]), "" if len(plan["conflicts"]) == 1 else "s", MANAGED_BY_LABEL, MANAGED_BY,
                ", ".join(display(k) for k in plan["conflicts"]))
        parts.append(text)
    return "; ".join(parts)


# --- pure: the status ConfigMap ------------------------------------------------------------------------

def iso_now(now):
    return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """Epoch seconds of an RFC 3339 UTC time written by iso_now, or None."""
    try:
        moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None
    return (moment.replace(tzinfo=datetime.timezone.utc) - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            ).total_seconds()


def status_core(directory_server, result, message, counts):
    """The ConfigMap data other than the timestamps."""
    return {"directory": directory_server or "", "result": result, "message": message,
            "counts": json.dumps(counts, sort_keys=True, separators=(",", ":"))}


def plan_status(existing, core, now, interval=DEFAULT_STATUS_INTERVAL):
    """The data to write to the status ConfigMap, or None when nothing needs writing.

    existing: the current data (dict) or None. It is written when its content
    other than the timestamps changes, or when its lastAttempt is missing or
    at least *interval* seconds old. lastSuccess moves only on success."""
    existing = existing or None
    stamp = iso_now(now)
    if existing is not None:
        same = all(existing.get(k) == v for k, v in core.items())
        last = parse_time(existing.get("lastAttempt"))
        if same and last is not None and now - last < interval:
            return None
    data = dict(core)
    data["lastAttempt"] = stamp
    if core["result"] == RESULT_OK:
        data["lastSuccess"] = stamp
    else:
        data["lastSuccess"] = (existing or {}).get("lastSuccess") or ""
    return data


def status_content_changed(existing, core):
    return existing is None or any(existing.get(k) != v for k, v in core.items())


def desired_status_map(data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": STATUS_CONFIG_MAP, "namespace": STATUS_NAMESPACE,
                         "labels": {PART_OF_LABEL: PART_OF, "app.kubernetes.io/name": "directory-sync"}},
            "data": data}


# --- the directory's credential --------------------------------------------------------------------

def decode_secret_kubeconfig(secret, where):
    """The kubeconfig text under key 'kubeconfig' of a Secret (a dict as the API gives it)."""
    encoded = ((secret or {}).get("data") or {}).get(SECRET_KEY)
    if not encoded:
        raise MulticlusterError("Secret %s has no key '%s'" % (where, SECRET_KEY))
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise MulticlusterError("Secret %s: key '%s' is not base64-encoded UTF-8 text" % (where, SECRET_KEY)) from None


def read_credential(replica, namespace=SECRET_NAMESPACE, name=SECRET_NAME):
    """The directory kubeconfig (text) the replica holds in its Secret."""
    where = "%s/%s" % (namespace, name)
    secret = replica.read("Secret", where, replica.core.read_namespaced_secret, name, namespace)
    if secret is None:
        raise MulticlusterError(
            "read Secret %s on cluster '%s': it does not exist; store the replica's directory credential with "
            "coreos.multicluster.mc_sync_secret, or give directory_kubeconfig" % (where, replica.label),
            cluster=replica.label)
    try:
        return decode_secret_kubeconfig(replica.to_dict(secret), where)
    except MulticlusterError as exc:
        raise MulticlusterError("read Secret %s on cluster '%s': %s" % (where, replica.label, exc),
                                cluster=replica.label) from None


# --- reading the directory --------------------------------------------------------------------------

def directory_reason(exc):
    """Why the directory could not be read, worded for the replica's operator."""
    status = http_status(exc)
    if status in (401, 403):
        reason = getattr(exc, "reason", None) or ("Unauthorized" if status == 401 else "Forbidden")
        text = "the directory refused the credential (HTTP %s %s" % (status, reason)
        if status == 403:
            message = api_reason(exc)
            if message and not message.startswith("HTTP "):
                text += ": " + message
        return text + ")"
    if is_missing_type(exc):
        return "the directory has no Cluster API (%s/%s): is the registry installed there?" % (GROUP, VERSION)
    if isinstance(exc, MulticlusterError):
        return str(exc)
    reason = api_reason(exc)
    return "cannot read the directory: %s" % reason if status else reason


def read_directory(directory, sources=SOURCES):
    """{type: items} of every type the sources read, and {type: resourceVersion}.
    Raises the API or network error as it is (the caller words it)."""
    snapshot, versions = {}, {}
    for source in sources:
        for rtype in source.reads:
            if rtype not in snapshot:
                snapshot[rtype], versions[rtype] = rtype.list_raw(directory)
    return snapshot, versions


def read_replica(replica, sources=SOURCES):
    """{source name: every object of its target type on the replica}."""
    live = {}
    for source in sources:
        live[source.name] = [_dict(replica, obj) for obj in source.target.list(replica)[0]]
    return live


# --- applying a plan to the replica ------------------------------------------------------------------

def _view(obj):
    """An object as shown in diffs: its normalised form."""
    return None if obj is None else dict(comparable(obj), apiVersion=obj.get("apiVersion"), kind=obj.get("kind"))


def _dict(replica, obj):
    return obj if isinstance(obj, dict) or obj is None else replica.to_dict(obj)


def _create(replica, rtype, want):
    """Create a desired object. When it appeared meanwhile (409 AlreadyExists,
    e.g. a second syncer) it is updated if held, a conflict if not.
    Returns (outcome, object) as _update does."""
    try:
        return "created", _dict(replica, rtype.create(replica, want))
    except MulticlusterError as exc:
        if exc.details.get("status") != 409:
            raise
    live = rtype.read(replica, key_of(want))
    return _update(replica, rtype, live, want)


def _update(replica, rtype, have, want):
    """Patch a held object to the desired form; a 409 re-reads it. Returns
    ('updated', obj), ('unchanged', obj), ('created', obj) when it vanished,
    or ('conflict', obj) when it is not (or no longer) held."""
    key = key_of(want)
    state = {"live": have, "fresh": True}

    def attempt():
        if not state["fresh"]:
            state["live"] = rtype.read(replica, key)
        state["fresh"] = False
        live = _dict(replica, state["live"])
        if live is None:
            return "created", _dict(replica, rtype.create(replica, want))
        if not is_held(live):
            return "conflict", live
        patch = merge_patch(comparable(live), comparable(want))
        if not patch:
            return "unchanged", live
        # optimistic concurrency: a concurrent writer makes this a 409, and the retry re-reads
        patch.setdefault("metadata", {})["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
        return "updated", _dict(replica, rtype.patch(replica, key, patch))

    return replica.write("update", rtype.kind, display(key), attempt)


class Cancelled(Exception):
    """The caller asked to stop between two writes (the agent on SIGTERM)."""


def apply_plans(replica, sources, plans, cancel=None):
    """Carry out the plans (server-side dry run in check mode). Returns
    {source name: {created, updated, deleted, conflicts: [keys], before: {}, after: {}}}."""
    done = dict((s.name, {"created": [], "updated": [], "deleted": [], "conflicts": list(plans[s.name]["conflicts"]),
                          "before": {}, "after": {}}) for s in sources)

    def check():
        if cancel is not None and cancel():
            raise Cancelled()

    def record(out, key, outcome, have, obj):
        if outcome == "conflict":
            out["conflicts"].append(key)
        elif outcome != "unchanged":
            out["before"][display(key)] = _view(have) if outcome == "updated" else None
            out["after"][display(key)] = _view(obj)
            out[outcome].append(key)

    for source in sources:
        plan, out, rtype = plans[source.name], done[source.name], source.target
        for want in plan["create"]:
            check()
            outcome, obj = _create(replica, rtype, want)
            record(out, key_of(want), outcome, None, obj)
        for have, want, dummy in plan["update"]:
            check()
            outcome, obj = _update(replica, rtype, have, want)
            record(out, key_of(want), outcome, have, obj)
    for source in reversed(sources):
        plan, out, rtype = plans[source.name], done[source.name], source.target
        for have in plan["delete"]:
            check()
            key = key_of(have)
            if rtype.delete(replica, key):
                out["before"][display(key)] = _view(have)
                out["after"][display(key)] = None
                out["deleted"].append(key)
    return done


# --- the status ConfigMap on the replica ----------------------------------------------------------------

def read_status(replica):
    where = "%s/%s" % (STATUS_NAMESPACE, STATUS_CONFIG_MAP)
    found = replica.read("ConfigMap", where, replica.core.read_namespaced_config_map, STATUS_CONFIG_MAP,
                         STATUS_NAMESPACE)
    if found is None:
        return None
    return dict(replica.to_dict(found).get("data") or {})


def write_status(replica, core, now, interval=DEFAULT_STATUS_INTERVAL, dry=False):
    """Record an outcome. Returns {data, written, changed}: *changed* when the
    content other than the timestamps changed; nothing is written with dry=True
    (check mode) or when plan_status says there is no need."""
    where = "%s/%s" % (STATUS_NAMESPACE, STATUS_CONFIG_MAP)
    existing = read_status(replica)
    data = plan_status(existing, core, now, interval)
    changed = status_content_changed(existing, core)
    if data is None:
        return {"data": existing, "written": False, "changed": False}
    if not dry:
        body = desired_status_map(data)
        state = {"current": existing, "fresh": True}

        def attempt():
            """Create or patch; after a conflict (created meanwhile) read again."""
            if not state["fresh"]:
                state["current"] = read_status(replica)
            state["fresh"] = False
            if state["current"] is None:
                return replica.core.create_namespaced_config_map(STATUS_NAMESPACE, body)
            return replica.core.patch_namespaced_config_map(STATUS_CONFIG_MAP, STATUS_NAMESPACE, {"data": data})
        replica.write("record status in", "ConfigMap", where, attempt)
    return {"data": data, "written": not dry, "changed": changed}


# --- one sync -------------------------------------------------------------------------------------

def _names(keys):
    return [display(k) for k in keys]


def sync(directory, replica, directory_server, sources=SOURCES, status_interval=DEFAULT_STATUS_INTERVAL,
         now=None, cancel=None, clock=time.time):
    """Make the replica hold what the directory says; record the outcome.

    directory: a ClusterClient of the directory (only read). replica: a
    ClusterClient of the replica (check mode = server-side dry run, and the
    status is not recorded). Returns a dict: changed, created, updated,
    deleted, conflicts (names of the first source's objects), sources (the same
    per source), counts, status, directory_server, resource_versions (of the
    directory lists, for a watch) and diff. Raises DirectoryError when the
    directory cannot be read (after recording the failure), MulticlusterError
    for failures on the replica."""
    now = clock() if now is None else now
    action = "sync %s from directory '%s' to cluster '%s'" % (
        " and ".join(s.kind + "s" for s in sources), directory_server, replica.label)
    dry = replica.check_mode
    try:
        snapshot, versions = read_directory(directory, sources)
    except Exception as exc:  # pylint: disable=broad-except
        reason = directory_reason(exc)
        error = DirectoryError("%s: %s" % (action, reason), cluster=replica.label,
                               details={"directory_server": directory_server, "status": http_status(exc)})
        recorded = record_failure(replica, directory_server, reason, now, status_interval, dry)
        error.details["status_recorded"] = recorded
        raise error from None

    context = {"directory_server": directory_server}
    try:
        live = read_replica(replica, sources)
        plans = {}
        for source in sources:
            plans[source.name] = plan_source(source.desired(snapshot, context), live[source.name], directory_server)
        done = apply_plans(replica, sources, plans, cancel)
    except Cancelled:
        raise
    except MulticlusterError as exc:
        record_failure(replica, directory_server, str(exc), now, status_interval, dry)
        raise

    counts = counts_of(plans)
    for source in sources:  # an update that found the mark removed meanwhile is a conflict after all
        extra = len(done[source.name]["conflicts"]) - len(plans[source.name]["conflicts"])
        counts[source.name]["conflicts"] += extra
        counts[source.name]["held"] -= extra
    status = write_status(replica, status_core(directory_server, RESULT_OK, success_message(sources, plans), counts),
                          now, status_interval, dry)
    first = done[sources[0].name]
    changed = any(done[s.name]["created"] or done[s.name]["updated"] or done[s.name]["deleted"] for s in sources)
    before, after = {}, {}
    for source in sources:
        if done[source.name]["before"]:
            before[source.name] = done[source.name]["before"]
            after[source.name] = done[source.name]["after"]
    return {
        "changed": bool(changed or status["changed"]),
        "created": _names(first["created"]),
        "updated": _names(first["updated"]),
        "deleted": _names(first["deleted"]),
        "conflicts": _names(first["conflicts"]),
        "sources": dict((s.name, {"created": _names(done[s.name]["created"]),
                                  "updated": _names(done[s.name]["updated"]),
                                  "deleted": _names(done[s.name]["deleted"]),
                                  "conflicts": _names(done[s.name]["conflicts"])}) for s in sources),
        "counts": counts,
        "status": status,
        "directory_server": directory_server,
        "resource_versions": dict((t.plural, v) for t, v in versions.items()),
        "diff": {"before": before, "after": after},
    }


def record_failure(replica, directory_server, reason, now, interval, dry):
    """Record a failed sync; best effort (the replica may be what fails). True when recorded."""
    if dry:
        return False
    try:
        existing = read_status(replica) or {}
        counts = json.loads(existing.get("counts") or "{}")
    except (MulticlusterError, ValueError):
        return False
    try:
        write_status(replica, status_core(directory_server, RESULT_FAILED, reason, counts), now, interval)
    except MulticlusterError:
        return False
    return True
