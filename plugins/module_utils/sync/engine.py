# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory-sync engine: make a replica hold what the directory says it
should, once (mc_directory_sync and the agent both run sync()).

Pull-only: the replica reads the directory with its own view-only
credential, and nothing on the directory writes to replicas. The whole
desired set is read from the directory before anything is planned, so when
the directory cannot be read (credential refused, not reachable, no API)
nothing on the replica changes. Only objects carrying the syncer's mark
(sync/plan.py) are updated or deleted; a desired object that exists on the
replica without the mark is a conflict, left alone and reported.

Reading both sides is reading.py's; recording the outcome on the replica is record.py's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import (
    CLUSTER, CLUSTER_POLICY, display, key_of)
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as outcomes
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.plan import materialise
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.replica_policies import (
    PoliciesUnavailable, own_name, read_settings, remove_namespace, role_exists, without_foreign_inspection)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_STATUS_INTERVAL, MANAGED_SELECTOR, RESULT_OK, SOURCES, UNMARKED_SELECTOR, counts_of, is_held, owned,
    mark, plan_source, prepared, status_content, success_message, terminating)

from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import (
    CONSISTENT, DirectoryError, directory_reason, read_directory, read_replica)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.record import (
    Holdings, record_failure, write_status)


class Cancelled(Exception):
    """The caller asked to stop between two writes (the agent on SIGTERM)."""


# --- applying ---------------------------------------------------------------------------------------

CONFLICT = "conflict"  # an object of the wanted name the syncer does not hold: left alone


def _converge(replica, source, want, have=apply.UNREAD):
    """(verb, object) of bringing *want* onto the replica through apply.converge: 'created', 'updated',
    'unchanged', or ('conflict', live) when an object of that name exists without the syncer's mark (left
    alone, no write). *have*: the object as the replica's list showed it (no read before the first try)."""
    namespace, name = key_of(want)

    def desired_of(live):
        if live is None:
            return want
        if not is_held(live):
            return apply.Leave(CONFLICT)
        return owned(prepared(source, want, live), live)
    done = apply.converge(replica, source.target, namespace, name, desired_of, source.exact, live=have,
                          action="update")
    return (apply.UPDATED if done.verb == apply.REPLACED else done.verb), done.after


def _empty():
    return {"created": [], "updated": [], "deleted": [], "unchanged": [], "conflicts": [], "failed": [],
            "released": [], "before": {}, "after": {}}


# What a cluster says when it refuses one object (RBAC, admission, validation, its namespace gone): for a
# source whose objects fail alone, that object fails and the others go on. Anything else (the replica not
# answering) stops the sync.
_REFUSALS = (400, 403, 404, 409, 422)


def _refused(source, exc):
    return source.from_policies and (exc.details or {}).get("status") in _REFUSALS


def _remove(replica, source, have):
    """("deleted"/"released", reason) for a held object the source no longer wants."""
    namespace, name = key_of(have)
    if source.target.kind == "Namespace" and source.from_policies:
        return remove_namespace(replica, have)
    return ("deleted" if replica.delete(source.target, name, namespace or None) else None), None


def apply_plans(replica, sources, plans, cancel=None, diff=True):
    """Carry out the plans (server-side dry run in check mode). Returns
    {source name: {created, updated, deleted, unchanged, conflicts: [keys], failed and released: [(key,
    reason)], before: {}, after: {}}}; before and after (the objects written, for a diff) stay empty
    with diff=False."""
    done = dict((s.name, _empty()) for s in sources)
    dry_namespaces = set()  # created by a dry run only: what goes in them cannot be tried

    def check():
        if cancel is not None and cancel():
            raise Cancelled()

    def record(out, key, outcome, have, obj):
        if outcome == CONFLICT:
            out["conflicts"].append(key)
            return
        out[outcome].append(key)
        if outcome != "unchanged" and diff:
            out["before"][display(*key)] = apply.view(have) if outcome == "updated" else None
            out["after"][display(*key)] = apply.view(obj)

    def attempt(source, out, key, fn):
        check()
        try:
            return fn()
        except MulticlusterError as exc:
            if not _refused(source, exc):
                raise
            out["failed"].append((key, str(exc)))
            return None

    for source in sources:
        plan, out = plans[source.name], done[source.name]
        out["unchanged"].extend(plan["unchanged"])
        out["conflicts"].extend(plan.get("conflicts") or ())
        have = None if plan.get("absent") else apply.UNREAD  # plan_paged's creates: the replica has none of them
        for want in plan["create"]:
            key = key_of(want)
            if key[0] in dry_namespaces:
                record(out, key, "created", None, want)
                continue
            outcome = attempt(source, out, key, lambda: _converge(replica, source, want, have))
            if outcome is not None:
                record(out, key, outcome[0], None, outcome[1])
                if replica.check_mode and want["kind"] == "Namespace" and outcome[0] == "created":
                    dry_namespaces.add(key[1])
        for have, want in plan["update"]:
            outcome = attempt(source, out, key_of(have), lambda: _converge(replica, source, want, have))
            if outcome is not None:
                record(out, key_of(have), outcome[0], have, outcome[1])
    for source in reversed(sources):
        plan, out = plans[source.name], done[source.name]
        for have in plan["delete"]:
            key = key_of(have)
            outcome = attempt(source, out, key, lambda: _remove(replica, source, have))
            if outcome is None or outcome[0] is None:
                continue
            if diff:
                out["before"][display(*key)] = apply.view(have)
                out["after"][display(*key)] = ("released: " + outcome[1]) if outcome[0] == "released" else None
            if outcome[0] == "released":
                out["released"].append((key, outcome[1]))
            else:
                out["deleted"].append(key)
    return done


def _desired_by_key(source, snapshot, context):
    """{key: object (unmarked)} the source wants: its own mapping when it has one (plan.ClusterSource)."""
    by_key = getattr(source, "desired_by_key", None)
    if by_key is not None:
        return by_key(snapshot)
    return dict((key_of(obj), obj) for obj in source.desired(snapshot, context))


def plan_paged(source, desired, replica, directory_server):
    """plan_source's plan of *source*, made a page of the replica's held objects at a time: *desired* is a mapping
    {key: object (unmarked)} (the agent's is its view, decoding an object when asked: sync/view.py); what the plan
    keeps is the objects to update or delete, and the keys of the unchanged and of the conflicts; the creates are
    marked one at a time as apply_plans takes them, and written without a read first (absent). So a sync of
    10,000 Clusters never holds them all, twice, at once, and the first costs one request a Cluster."""
    plan = {"create": [], "update": [], "delete": [], "unchanged": []}
    seen = set()
    for page, dummy in replica.pages(source.target, label_selector=MANAGED_SELECTOR):
        for obj in page:
            (obj.get("metadata") or {}).pop("managedFields", None)  # never used: it would double what they cost
        keys = [key_of(obj) for obj in page]
        seen.update(keys)
        part = plan_source(source, [desired[key] for key in keys if key in desired], page, directory_server)
        for what in ("update", "delete", "unchanged"):
            plan[what].extend(part[what])
    missing = sorted((key for key in desired if key not in seen), key=getattr(source, "order", None))
    # when some are missing, the objects of that kind the syncer does not hold (made on the replica by hand: one
    # more list, usually of none): a desired one of their names is a conflict, left alone; the other creates
    # need no read first
    others = set(key_of(obj) for page, dummy in replica.pages(source.target, label_selector=UNMARKED_SELECTOR)
                 for obj in page) if missing else set()
    plan["conflicts"] = [key for key in missing if key in others]
    plan["create"] = (mark(desired[key], directory_server) for key in missing if key not in others)
    plan["absent"] = True
    return plan


# --- one sync -------------------------------------------------------------------------------------

def _names(source, keys):
    """Names of a source's objects: plain for Clusters, 'Kind ns/name' for other kinds."""
    if source.target is CLUSTER:
        return [display(*k) for k in keys]
    return ["%s %s" % (source.target.kind, display(*k)) for k in keys]


def _unavailable(snapshot, reason):
    """The policy status when no policy can be applied now (nothing of theirs is touched)."""
    return outcomes.replica_status(
        outcomes.not_applied(snapshot.get(CLUSTER_POLICY.kind), outcomes.FAILED, reason).items(),
        error=reason)


def _forbidden(exc):
    return (exc.details or {}).get("status") == 403


def _policies_ready(replica, snapshot, errors):
    """(settings, own name, None) when the policies can be applied on the
    replica, else (settings or None, None, the policy status saying why).
    What the replica forbids the syncer to read for them (an agent whose
    RBAC predates policies) makes them unavailable, never the sync fail."""
    settings = None
    try:
        settings = read_settings(replica)
        if not settings.enabled:
            report = outcomes.not_applied(snapshot.get(CLUSTER_POLICY.kind), outcomes.DISABLED,
                                          "policies are disabled on this replica")
            return settings, None, outcomes.replica_status(report.items(), enabled=False)
        if errors.get(CLUSTER_POLICY.kind):
            raise PoliciesUnavailable("cannot read the directory's ClusterPolicies: %s" % errors[CLUSTER_POLICY.kind])
        if not snapshot[CLUSTER_POLICY.kind]:
            return settings, None, None  # no policy: whatever the syncer holds of them goes
        return settings, own_name(replica, snapshot[CLUSTER.kind]), None
    except PoliciesUnavailable as exc:
        return settings, None, _unavailable(snapshot, str(exc))
    except MulticlusterError as exc:
        if not _forbidden(exc):
            raise
        return settings, None, _unavailable(snapshot, str(exc))


def _plan_policies(replica, snapshot, settings, name, held):
    """The policies' plan (policy_plan.materialise) for this replica."""
    found = snapshot[CLUSTER_POLICY.kind]
    held_namespaces = set(obj["metadata"]["name"] for obj in held.get("namespaces") or []
                          if is_held(obj) and not terminating(obj))
    plan = materialise(found, name, snapshot[CLUSTER.kind], settings, lambda role: role_exists(replica, role),
                       held_namespaces)
    return without_foreign_inspection(replica, plan, held_namespaces)


def _policy_status(plan, done, sources, settings):
    """The per-policy outcome: the objects each policy holds, its conflicts,
    refusals and failures; and the Namespaces released."""
    report, wanted_by = plan["report"], plan["wanted_by"]
    released = []
    for source in sources:
        out, kind = done[source.name], source.target.kind

        def owners(key):
            found = wanted_by.get((kind,) + tuple(key)) or []
            return found or wanted_by.get(("Namespace", "", key[0])) or []

        def ref(key):
            return "%s %s" % (kind, display(*key))
        for key in out["created"] + out["updated"] + out["unchanged"]:
            for name in wanted_by.get((kind,) + tuple(key)) or []:
                report.policy(name).holds(ref(key))
        for key in out["conflicts"]:
            report.add(owners(key), "conflicts", ref(key), "exists on the replica without the %s label (made there "
                       "by hand): left alone" % MANAGED_SELECTOR)
        for key, reason in out["failed"]:
            report.add(owners(key), "failed", ref(key), reason)
        released.extend({"object": ref(key), "reason": reason} for key, reason in out["released"])
    return outcomes.replica_status(report.items(), allowlist=settings.roles, released=released)


def sync(directory, replica, directory_server, sources=SOURCES, status_interval=DEFAULT_STATUS_INTERVAL,
         now=None, cancel=None, clock=time.time, limits=None, policy_replica=None, diff=True, cached=CONSISTENT,
         read=None):
    """Make the replica hold what the directory says; record the outcome.

    directory: a ClusterClient of the directory (only read). replica: a
    ClusterClient of the replica (check mode = server-side dry run, and the
    status is not recorded). Returns a dict: changed, created, updated,
    deleted, conflicts, failed and released (of every source), sources (the
    same per source), policies (the per-policy status, or None without
    policy sources), counts, status, directory_server, resource_versions (of
    the directory lists, for a watch), holdings (what the replica holds after
    it: record.Holdings, for the agent's later syncs of single changes)
    and diff. Raises DirectoryError when the directory
    cannot be read or holds more than *limits* (sync/plan.Limits, default its
    defaults) allow (after recording the failure; its details then name the
    option in "limit"), MulticlusterError for failures on the replica.
    policy_replica: the ClusterClient of the replica that reads and writes
    the policies' objects (default *replica*; mc_directory_sync gives one
    acting as the agent's ServiceAccount, so that the agent's RBAC bounds
    them on both paths). With diff=False (the agent) the objects written
    are not kept for the diff, which is then empty. *cached*: how the
    directory's lists are read (reading.read_kind); *read*: a function
    returning what read_directory returns, read instead of the directory
    (the agent's view of it, sync/view.py), its errors handled alike."""
    policy_replica = replica if policy_replica is None else policy_replica
    now = clock() if now is None else now
    nouns = [s.noun[1] for s in sources if not s.from_policies]
    nouns += ["Cluster Policies"] if any(s.from_policies for s in sources) else []
    action = "sync %s from directory '%s' to cluster '%s'" % (" and ".join(nouns), directory_server, replica.label)
    dry = replica.check_mode
    try:
        if read is None:
            snapshot, versions, optional_errors = read_directory(directory, sources, limits, cached)
        else:
            snapshot, versions, optional_errors = read()
    except MulticlusterError as exc:  # the resource layer words every API and network error as one
        reason = directory_reason(exc)
        details = {"directory_server": directory_server}
        details.update(getattr(exc, "details", None) or {})
        error = DirectoryError("%s: %s" % (action, reason), cluster=replica.label, details=details)
        error.details["status_recorded"] = record_failure(replica, directory_server, reason, now, status_interval,
                                                          dry)
        raise error from None

    context = {"directory_server": directory_server}
    policy_sources = [s for s in sources if s.from_policies]
    policy_status = None
    own = None  # the replica's own Cluster, when the policies were applied
    try:
        held = {}
        if policy_sources:
            settings, name, policy_status = _policies_ready(policy_replica, snapshot, optional_errors)
            own = name
            if policy_status is None:
                try:
                    held = read_replica(policy_replica, policy_sources)
                except MulticlusterError as exc:
                    if not _forbidden(exc):
                        raise
                    policy_status = _unavailable(snapshot, str(exc))
            if policy_status is not None:  # not applied now: nothing of the policies' is touched
                sources = [s for s in sources if s not in policy_sources]
                policy_sources = []
        if policy_sources:
            context["policies"] = _plan_policies(policy_replica, snapshot, settings, name, held)
        plans = dict((s.name, plan_source(s, s.desired(snapshot, context), held[s.name], directory_server))
                     for s in policy_sources)
        plans.update((s.name, plan_paged(s, _desired_by_key(s, snapshot, context), replica, directory_server))
                     for s in sources if s not in policy_sources)
        done = apply_plans(replica, [s for s in sources if s not in policy_sources], plans, cancel, diff)
        done.update(apply_plans(policy_replica, policy_sources, plans, cancel, diff))
    except Cancelled:
        raise
    except MulticlusterError as exc:
        record_failure(replica, directory_server, str(exc), now, status_interval, dry)
        raise
    if policy_sources:
        policy_status = _policy_status(context["policies"], done, policy_sources, settings)

    counts = counts_of(sources, done)
    status = write_status(replica, status_content(directory_server, RESULT_OK,
                                                  success_message(sources, done, policy_status), counts,
                                                  policy_status), now, status_interval, dry)
    per_source = dict((s.name, dict((what, _names(s, done[s.name][what]))
                                    for what in ("created", "updated", "deleted", "conflicts"))) for s in sources)
    result = dict((what, [n for s in sources for n in per_source[s.name][what]])
                  for what in ("created", "updated", "deleted", "conflicts"))
    for s in sources:
        per_source[s.name]["failed"] = [{"object": n, "reason": r} for n, (k, r) in zip(
            _names(s, [k for k, r in done[s.name]["failed"]]), done[s.name]["failed"])]
        per_source[s.name]["released"] = _names(s, [k for k, r in done[s.name]["released"]])
    result["failed"] = [f for s in sources for f in per_source[s.name]["failed"]]
    result["released"] = [n for s in sources for n in per_source[s.name]["released"]]
    before = dict((s.name, done[s.name]["before"]) for s in sources if done[s.name]["before"])
    after = dict((s.name, done[s.name]["after"]) for s in sources if done[s.name]["after"])
    result.update({
        "changed": bool(any(result[w] for w in ("created", "updated", "deleted", "released"))
                        or status["changed"]),
        "policies": policy_status,
        "sources": per_source,
        "counts": counts,
        "status": status,
        "directory_server": directory_server,
        "resource_versions": versions,
        "holdings": Holdings.of(sources, done, own if policy_sources else None, policy_status),
        "diff": {"before": before, "after": after},
    })
    return result
