# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet as SIG-Multicluster ClusterProfiles (multicluster.x-k8s.io/v1alpha1, KEP-4322): one profile per
Cluster of the directory, in one namespace, written by mc_cluster_profiles and by the agent's export-profiles mode.

Planning is pure (desired_profile, desired_status, plan_profile, plan); export() does the reads (one list each of
Clusters, heartbeat Leases and ClusterProfiles) and the writes: the profile through apply.converge, its status
through the status subresource (the main resource's write ignores status). Only profiles labelled
x-k8s.io/cluster-manager=coreos-multicluster (and naming that manager in spec.clusterManager.name, which is never
changed) are created, updated or deleted; a profile of the same name of another manager is a conflict, reported and
left alone. A Cluster is data: only its name, labels, console URL, first API endpoint and Kubernetes version are
taken, each bounded; its heartbeat is read by health.heartbeat. No credential is ever written: the access provider
holds the server address alone (the Cluster object records no CA).

The KEP's budget: with a *last_status_write* map (the continuous exporter's), a profile's status is written at most
once per STATUS_INTERVAL seconds, except when its ControlPlaneHealthy status changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.apply import Leave, converge, view
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MissingResourceTypeError, MulticlusterError)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER_PROFILE
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    is_dns1123_subdomain, is_https_url, label_problem)
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import (
    CONSOLE_ANNOTATION, DIRECTORY_ANNOTATION, list_clusters, list_heartbeats)

STATUS_KIND = "ClusterProfileStatus"
STATUS_INTERVAL = 30  # the KEP's budget: seconds between two status writes of one profile (a transition excepted)
HEALTH_CONDITION = "ControlPlaneHealthy"
ACCESS_PROVIDER = names.CLUSTER_MANAGER  # the name of the one access provider (server and CA, never a secret)
CONSOLE_PROPERTY = names.PROFILE_PROPERTY_PREFIX + "console-url"
MAX_PROPERTIES = 64  # the CRD's maxItems: labels past it (in name order) are left out
MAX_PROPERTY_NAME, MAX_PROPERTY_VALUE = 253, 1024
MANAGER_SELECTOR = "%s=%s" % (names.CLUSTER_MANAGER_LABEL, names.CLUSTER_MANAGER)

# what plan_profile decides for one profile (and FAILED: what export() records when its write failed)
CREATE, UPDATE, DELETE, CONFLICT, UNCHANGED, DEFERRED, FAILED = (
    "create", "update", "delete", "conflict", "unchanged", "deferred", "failed")
ACTIONS = (CREATE, UPDATE, DELETE, CONFLICT, UNCHANGED, DEFERRED)


def validate(params):
    """Refuse bad input before anything is read or written; returns the settings as a dict."""
    settings = {"namespace": params.get("namespace") or names.PROFILE_NAMESPACE,
                "grace_periods": params.get("grace_periods", health.DEFAULT_GRACE_PERIODS),
                "heartbeat_period": params.get("heartbeat_period", health.DEFAULT_HEARTBEAT_PERIOD),
                "state": params.get("state") or "present"}
    found = label_problem(settings["namespace"])
    if found:
        raise MulticlusterError("namespace: %s" % found)
    for option, low, high in (("grace_periods", 1, 1000), ("heartbeat_period", 1, health.MAX_HEARTBEAT_PERIOD)):
        value = settings[option]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise MulticlusterError("%s must be a whole number from %d to %d, not %s"
                                    % (option, low, high, one_line(repr(value), 64)))
    if settings["state"] not in ("present", "absent"):
        raise MulticlusterError("state must be present or absent, not %s" % one_line(repr(settings["state"]), 64))
    return settings


# --- pure: what a profile must hold ---------------------------------------------------------------------------

def _map(obj, *path):
    """The mapping at *path* in *obj* (data read from a cluster), or {} when any step is not a mapping."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _managers(profile):
    """(the manager label's value, spec.clusterManager.name) of a profile."""
    return (_map(profile, "metadata", "labels").get(names.CLUSTER_MANAGER_LABEL),
            _map(profile, "spec", "clusterManager").get("name"))


def is_ours(profile):
    """True for a profile this collection manages: its manager label and spec.clusterManager.name both ours."""
    return _managers(profile) == (names.CLUSTER_MANAGER, names.CLUSTER_MANAGER)


def manager_of(profile):
    """The manager a profile names (its label, else spec.clusterManager.name), as one bounded line."""
    label, spec_name = _managers(profile)
    found = label or spec_name
    return one_line(found, 64) if isinstance(found, str) else None


def desired_profile(name, namespace):
    """The main resource of Cluster *name*'s profile: the fields the exporter owns (status apart)."""
    return {"apiVersion": CLUSTER_PROFILE.api_version, "kind": CLUSTER_PROFILE.kind,
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {names.CLUSTER_MANAGER_LABEL: names.CLUSTER_MANAGER}},
            "spec": {"clusterManager": {"name": names.CLUSTER_MANAGER}, "displayName": name}}


def read_cluster(obj):
    """The few fields of a Cluster a profile shows, each checked and bounded; None for an object without a name
    that can name a profile."""
    name = _map(obj, "metadata").get("name")
    if not is_dns1123_subdomain(name):
        return None
    labels, annotations = _map(obj, "metadata", "labels"), _map(obj, "metadata", "annotations")
    servers = _map(obj, "spec", "KubernetesAPIEndpoints").get("ServerEndpoints")
    first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
    console = annotations.get(CONSOLE_ANNOTATION)
    server = first.get("ServerAddress")
    return {"name": name,
            "labels": dict((k, v) for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)),
            "console_url": console if is_https_url(console) and len(console) <= MAX_PROPERTY_VALUE else None,
            "server": server if is_https_url(server) and len(server) <= MAX_PROPERTY_VALUE else None,
            "kubernetes_version": health.read_conditions(obj)["kubernetes_version"],
            "directory": annotations.get(DIRECTORY_ANNOTATION) == "true"}


def properties(cluster):
    """The Cluster's labels as properties (multicluster.coreos.com/<label>, in name order), then its console URL.
    A label with an empty value, or whose property name would pass 253 characters, is left out."""
    found = []
    for key in sorted(cluster["labels"]):
        name, value = names.PROFILE_PROPERTY_PREFIX + key, one_line(cluster["labels"][key], MAX_PROPERTY_VALUE)
        if value and len(name) <= MAX_PROPERTY_NAME and one_line(name, MAX_PROPERTY_NAME) == name:
            found.append({"name": name, "value": value})
    found = found[:MAX_PROPERTIES - 1]
    if cluster["console_url"]:
        found.append({"name": CONSOLE_PROPERTY, "value": cluster["console_url"]})
    return found


def health_condition(lease, previous, now, grace_periods, period, directory=False):
    """ControlPlaneHealthy from the replica's heartbeat (health.heartbeat): True while it is renewed, Unknown after
    the grace. The directory (*directory*: its own Cluster, which has no agent and so no Lease) is True: its API
    server answered the export. The message names no age, so that it changes only when the state does;
    lastTransitionTime is kept from *previous* (the live conditions) while the status stays."""
    beat = health.heartbeat(lease, now, grace_periods, period)
    if directory and lease is None:
        status, reason, message = health.TRUE, "DirectoryAnswered", \
            "the directory runs no agent; its API server answered this export"
    elif beat["available"]:
        status, reason, message = health.TRUE, "HeartbeatRenewed", \
            "the replica's agent renews its heartbeat Lease (within %d periods)" % grace_periods
    elif beat["last_seen"]:
        status, reason, message = health.UNKNOWN, "HeartbeatExpired", \
            "no heartbeat for more than %d periods: last renewed at %s" % (grace_periods, beat["last_seen"])
    else:
        status, reason, message = health.UNKNOWN, "NoHeartbeat", beat["reason"]
    return health.condition(HEALTH_CONDITION, status, reason, message, previous, now)


def desired_status(cluster, lease, live_status, now, grace_periods, period):
    """The status the exporter writes on Cluster *cluster*'s profile (read_cluster's view of it)."""
    previous = (live_status or {}).get("conditions") if isinstance(live_status, dict) else None
    status = {"conditions": [health_condition(lease, previous if isinstance(previous, list) else None, now,
                                              grace_periods, period, cluster.get("directory", False))],
              "properties": properties(cluster)}
    if cluster["kubernetes_version"]:
        status["version"] = {"kubernetes": cluster["kubernetes_version"]}
    if cluster["server"]:
        status["accessProviders"] = [{"name": ACCESS_PROVIDER, "cluster": {"server": cluster["server"]}}]
    return status


def _health(status):
    for item in (status or {}).get("conditions") or [] if isinstance(status, dict) else []:
        if isinstance(item, dict) and item.get("type") == HEALTH_CONDITION:
            return item.get("status")
    return None


def status_due(live, wanted, now, last_write):
    """Whether *wanted* must be written now: it differs from the live status, and either no budget applies
    (*last_write* None), the last write is STATUS_INTERVAL seconds old, or the health changes."""
    live_status = (live or {}).get("status")
    if compare.unchanged({"status": wanted}, live or {}, exact=("status",)):
        return False
    if last_write is None or _health(live_status) != _health(wanted):
        return True
    return now - last_write >= STATUS_INTERVAL


def plan_profile(cluster, live, wanted_status, now, last_write=None):
    """What to do for one profile name: CREATE, UPDATE, DELETE, CONFLICT, UNCHANGED or DEFERRED (only the status
    differs, and the budget holds it back). *cluster*: read_cluster's view or None (no Cluster of that name);
    *live*: the profile or None."""
    if live is not None and not is_ours(live):
        return CONFLICT if cluster is not None else UNCHANGED  # another manager's: never ours to touch
    if cluster is None:
        return DELETE if live is not None else UNCHANGED
    if live is None:
        return CREATE
    namespace = (live.get("metadata") or {}).get("namespace")
    if compare.plan(desired_profile(cluster["name"], namespace), live) is not None:
        return UPDATE
    if status_due(live, wanted_status, now, last_write):
        return UPDATE
    return UNCHANGED if compare.unchanged({"status": wanted_status}, live, exact=("status",)) else DEFERRED


def shown(obj):
    """A profile as results and diffs show it: apply.view, with its status."""
    if obj is None:
        return None
    result = view(obj)
    if obj.get("status") is not None:
        result["status"] = obj["status"]
    return result


# --- the reads and writes --------------------------------------------------------------------------------------

def _read(client, namespace):
    """(Clusters by name, heartbeat Leases by name, profiles by name): one list of each."""
    try:
        profiles = client.list(CLUSTER_PROFILE, namespace)[0]
    except MissingResourceTypeError as exc:
        raise MissingResourceTypeError(
            "the ClusterProfile API (%s) is not installed on cluster '%s': install it with the registry role "
            "(registry_cluster_profiles: true)" % (CLUSTER_PROFILE.api_version, client.label),
            cluster=client.label, details=exc.details, group=exc.group) from None
    clusters = {}
    for obj in list_clusters(client):
        found = read_cluster(obj)
        if found is not None:
            clusters[found["name"]] = found
    return clusters, list_heartbeats(client), dict((obj["metadata"]["name"], obj) for obj in profiles)


def _write_status(client, namespace, name, wanted, live):
    """PATCH the profile's status subresource so that it holds *wanted* (a merge patch guarded by the live
    resourceVersion; a 409 re-reads and compares again). Returns the object after it."""
    first = [live]

    def attempt():
        current = first[0] if first[0] is not None else client.get(CLUSTER_PROFILE, name, namespace)
        first[0] = None
        if current is None or not is_ours(current):
            return current
        if compare.unchanged({"status": wanted}, current, exact=("status",)):
            return current
        patch = compare.owned_patch({"status": wanted}, current, exact=("status",))
        patch["metadata"] = {"resourceVersion": current["metadata"].get("resourceVersion")}
        return client.patch(STATUS_KIND, name, patch, namespace, content_type=compare.MERGE_PATCH)
    return client.transaction("update", STATUS_KIND, "%s/%s" % (namespace, name), attempt)


def _apply(client, action, name, namespace, wanted, live):
    """Carry out one profile's action; returns the object after it (None when deleted). *wanted*: the status to
    write, or None when the budget holds it back (the profile itself is still written)."""
    if action == DELETE:
        client.delete(CLUSTER_PROFILE, name, namespace)
        return None

    def desired_of(current):
        if current is not None and not is_ours(current):
            return Leave(CONFLICT)  # another manager made it meanwhile
        return desired_profile(name, namespace)
    done = converge(client, CLUSTER_PROFILE, namespace, name, desired_of, live=live)
    if done.verb == CONFLICT or done.after is None:
        return done.after
    after = dict(done.after, status=(live or {}).get("status"))
    if wanted is None:
        return after
    if client.check_mode and done.before is None:
        return dict(after, status=wanted)  # a dry-run create: there is no object whose status a dry run could patch
    if compare.unchanged({"status": wanted}, after, exact=("status",)):
        return after
    written = _write_status(client, namespace, name, wanted, after)
    return dict(after, status=wanted) if client.check_mode else written


def export(client, params, now, last_status_write=None):
    """Make the ClusterProfiles of namespace params['namespace'] on the directory *client* show its Clusters
    (state present), or delete every profile carrying the manager label there (absent).

    *now*: epoch seconds. *last_status_write*: the continuous exporter's {name: epoch of the last status write},
    updated in place; None (the module) applies no budget. A profile whose write fails is recorded in failed
    ({name, reason}) and the others are still exported (one refused profile must not stop every health
    transition). Returns {changed, actions: {name: action}, conflicts: [{name, manager}], failed, created,
    updated, deleted, unchanged, deferred (names), diff: {before, after} per changed profile}."""
    settings = validate(params)
    namespace = settings["namespace"]
    clusters, leases, profiles = _read(client, namespace)
    if settings["state"] == "absent":
        clusters = {}
    actions, conflicts, failed, before, after = {}, [], [], {}, {}
    for name in sorted(set(clusters) | set(profiles)):
        cluster, live = clusters.get(name), profiles.get(name)
        wanted = None
        if cluster is not None:
            wanted = desired_status(cluster, leases.get(name), (live or {}).get("status"), now,
                                    settings["grace_periods"], settings["heartbeat_period"])
        last = None if last_status_write is None else last_status_write.get(name, float("-inf"))
        action = plan_profile(cluster, live, wanted, now, last)
        due = cluster is not None and status_due(live, wanted, now, last)
        if action == UNCHANGED and live is not None and not is_ours(live) and cluster is None:
            continue  # another manager's profile of no Cluster of ours: not ours to mention
        if action in (CREATE, UPDATE, DELETE):
            try:
                result = _apply(client, action, name, namespace, wanted if due else None, live)
            except MissingResourceTypeError:
                raise
            except MulticlusterError as exc:
                failed.append({"name": name, "reason": one_line(str(exc))})
                actions[name] = FAILED
                continue
            if action != DELETE and (result is None or not is_ours(result)):
                action = CONFLICT
                live = result
            else:
                before[name], after[name] = shown(live), shown(result)
                if due and last_status_write is not None and not client.check_mode:
                    last_status_write[name] = now
        if action == CONFLICT:
            conflicts.append({"name": name, "manager": manager_of(live or {})})
        actions[name] = action
    if last_status_write is not None:
        for name in [n for n in last_status_write if n not in clusters]:
            del last_status_write[name]
    listed = dict((verb, sorted(n for n, a in actions.items() if a == verb)) for verb in ACTIONS)
    return {"changed": bool(before), "namespace": namespace, "actions": actions, "conflicts": conflicts,
            "failed": failed,
            "created": listed[CREATE], "updated": listed[UPDATE], "deleted": listed[DELETE],
            "unchanged": listed[UNCHANGED], "deferred": listed[DEFERRED],
            "diff": {"before": before, "after": after}}


def fail_on_failed(result):
    """*result* (export()'s), or a MulticlusterError naming each profile that could not be written (after the
    others were), for a task that must fail then (mc_cluster_profiles)."""
    if not result["failed"]:
        return result
    raise MulticlusterError("%d ClusterProfile(s) in %s could not be written (the others were): %s" % (
        len(result["failed"]), result["namespace"],
        "; ".join("%s: %s" % (item["name"], item["reason"]) for item in result["failed"])),
        details={"failed": result["failed"], "created": result["created"], "updated": result["updated"],
                 "deleted": result["deleted"]})
