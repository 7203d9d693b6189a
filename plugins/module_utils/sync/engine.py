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

The outcome is recorded on the replica in ConfigMap
``tectonic-system/directory-sync-status`` (directory, lastAttempt,
lastSuccess, result, message, counts), written only when its content other
than the timestamps changes or when lastAttempt is at least
``status_interval`` seconds old, so that a converged run writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import TooLargeError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MulticlusterError, api_reason, http_status, is_missing_type)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import (
    CLUSTER, CLUSTER_POLICY, display, key_of)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    load_kubeconfig_option, resolve_kubeconfig)
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as outcomes
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.plan import materialise
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.replica_policies import (
    PoliciesUnavailable, own_name, read_settings, remove_namespace, role_exists, without_foreign_inspection)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_STATUS_INTERVAL, DIRECTORY_PAGE_SIZE, MANAGED_SELECTOR, RESULT_FAILED, RESULT_OK, SOURCES, Limits,
    counts_of, desired_status_map, is_held, kept, over_limit, owned, page_too_large, plan_source, plan_status,
    prepared, status_content, status_content_changed, success_message, terminating, too_many)
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import (
    read_sync_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import same_server
from ansible_collections.coreos.multicluster.plugins.module_utils import names


class DirectoryError(MulticlusterError):
    """The directory could not be read: nothing on the replica was changed."""


class OverLimit(MulticlusterError):
    """The directory holds more than the replica accepts (sync_plan.Limits): nothing on the replica was changed."""


class Cancelled(Exception):
    """The caller asked to stop between two writes (the agent on SIGTERM)."""


# --- reading ------------------------------------------------------------------------------------

def directory_reason(exc):
    """Why the directory could not be read, worded for the replica's operator."""
    if isinstance(exc, MulticlusterError):
        status = exc.details.get("status")
        if status == 401:
            return "the directory refused the credential (HTTP 401 Unauthorized)"
        if status == 403:
            return "the directory refused the credential (HTTP 403 Forbidden: %s)" % str(exc).split(": ", 1)[-1]
        return str(exc)
    status = http_status(exc)
    reason = api_reason(exc)
    if is_missing_type(exc):
        return "the directory has no such API (%s)" % reason
    return "cannot read the directory: %s" % reason if status else reason


def read_kind(directory, kind, limits):
    """(the objects of *kind* in the directory as the sync keeps them
    (sync_plan.kept), sorted; the list's resourceVersion). Read a page at a
    time, each object stripped as its page arrives; OverLimit as soon as one
    object, one page or the count passes *limits* (nothing more is read)."""
    items, version = [], None
    most = limits.count_of(kind)[0]
    try:
        for page, version in directory.pages(kind, page_size=DIRECTORY_PAGE_SIZE, max_bytes=limits.page_bytes()):
            for obj in page:
                if len(items) == most:
                    raise OverLimit(too_many(kind, limits), details={"limit": limits.count_of(kind)[1]})
                obj = kept(obj)
                problem = over_limit(kind, obj, limits)
                if problem is not None:
                    raise OverLimit(problem[1], details={"limit": problem[0]})
                items.append(obj)
    except TooLargeError:
        raise OverLimit(page_too_large(kind, limits), details={"limit": "max_object_bytes"}) from None
    return sorted(items, key=key_of), version


def read_directory(directory, sources=SOURCES, limits=None):
    """({kind name: items} of every kind the sources read, {plural:
    resourceVersion} (for a watch), {kind name: reason} of the optional kinds
    that could not be read (their items are None)). Errors reading a kind
    that is not optional are the client's; a directory over *limits* (default
    Limits()) raises OverLimit, whether the kind is optional or not."""
    limits = limits or Limits()
    snapshot, versions, errors = {}, {}, {}
    for source in sources:
        for kind in source.reads:
            if kind.kind in snapshot:
                continue
            try:
                snapshot[kind.kind], versions[kind.plural] = read_kind(directory, kind, limits)
            except OverLimit:
                raise
            except MulticlusterError as exc:
                if kind not in getattr(source, "optional", ()):
                    raise
                snapshot[kind.kind], errors[kind.kind] = None, directory_reason(exc)
    return snapshot, versions, errors


def read_replica(replica, sources=SOURCES):
    """{source name: the objects of its target kind on the replica that carry
    the mark}, sorted, without their managedFields (the sync never uses them:
    they would double what a held object costs in memory)."""
    found = {}
    for source in sources:
        items = []
        for page, dummy in replica.pages(source.target, label_selector=MANAGED_SELECTOR):
            for obj in page:
                (obj.get("metadata") or {}).pop("managedFields", None)
                items.append(obj)
        found[source.name] = sorted(items, key=key_of)
    return found


def directory_credential(replica, value, secret_namespace, secret_name, expected_server=None):
    """(credential, server) of the directory: *value* (the operator's own
    kubeconfig: a dict, text or a file's path) as a kubeconfig dict, else the
    Credential in the replica's sync Secret - data, read by the strict reader
    (kubeconfig.read_credential): a kubeconfig there with anything but a
    server, CA, TLS server name and token is refused before any request, and
    so is one whose server is not *expected_server* (the directory's address
    from the operator's inventory) when that is given: the replica's admin
    writes that Secret, and would otherwise choose where the controller sends
    requests."""
    what = "directory_kubeconfig"
    if value in (None, "", {}):
        credential = read_sync_credential(replica, secret_namespace, secret_name)
        if credential is None:
            raise MulticlusterError(
                "read Secret %s on cluster '%s': it does not exist or has no key '%s'; store the replica's directory "
                "credential with coreos.multicluster.mc_sync_secret, or give directory_kubeconfig"
                % (display(secret_namespace, secret_name), replica.label, names.CREDENTIAL_SECRET_KEY), cluster=replica.label)
        if expected_server and not same_server(credential.server, expected_server):
            where = (display(secret_namespace, secret_name), replica.label, one_line(repr(credential.server)),
                     expected_server)
            raise MulticlusterError(
                "the kubeconfig in Secret %s on cluster '%s' names the server %s, not the directory's address %s "
                "(directory_server): refused, no request was made with it; onboard the replica again to store a "
                "credential for the directory" % where, cluster=replica.label)
        return credential, credential.server
    config = load_kubeconfig_option(value, what)
    return config, resolve_kubeconfig(config, what)["server"]


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
    return getattr(source, "policy", False) and (exc.details or {}).get("status") in _REFUSALS


def _remove(replica, source, have):
    """("deleted"/"released", reason) for a held object the source no longer wants."""
    namespace, name = key_of(have)
    if source.target.kind == "Namespace" and getattr(source, "policy", False):
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
        for want in plan["create"]:
            key = key_of(want)
            if key[0] in dry_namespaces:
                record(out, key, "created", None, want)
                continue
            outcome = attempt(source, out, key, lambda: _converge(replica, source, want))
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


# --- the status ConfigMap on the replica ----------------------------------------------------------------

def _status_map(replica):
    return replica.get("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)


def read_status(replica):
    found = _status_map(replica)
    return None if found is None else dict(found.get("data") or {})


def write_status(replica, content, now, interval=DEFAULT_STATUS_INTERVAL, dry=False):
    """Record an outcome. Returns {data, written, changed}: *changed* when the
    content other than the timestamps changed; nothing is written with dry=True
    (check mode) or when plan_status says there is no need."""
    found = _status_map(replica)
    existing = None if found is None else dict(found.get("data") or {})
    data = plan_status(existing, content, now, interval)
    changed = status_content_changed(existing, content)
    if data is None:
        return {"data": existing, "written": False, "changed": False}
    if not dry:
        apply.converge(replica, "ConfigMap", names.SYSTEM_NAMESPACE, names.STATUS_CONFIG_MAP,
                       lambda live: desired_status_map(data), live=found, action="record status in")
    return {"data": data, "written": not dry, "changed": changed}


def record_failure(replica, directory_server, reason, now, interval, dry):
    """Record a failed sync; best effort (the replica may be what fails). True when recorded."""
    if dry:
        return False
    try:
        existing = read_status(replica) or {}
        counts = json.loads(existing.get("counts") or "{}")
        policy_status = json.loads(existing["policies"]) if existing.get("policies") else None
        write_status(replica, status_content(directory_server, RESULT_FAILED, reason, counts, policy_status), now,
                     interval)
    except (MulticlusterError, ValueError):
        return False
    return True


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
         now=None, cancel=None, clock=time.time, limits=None, policy_replica=None, diff=True):
    """Make the replica hold what the directory says; record the outcome.

    directory: a ClusterClient of the directory (only read). replica: a
    ClusterClient of the replica (check mode = server-side dry run, and the
    status is not recorded). Returns a dict: changed, created, updated,
    deleted, conflicts, failed and released (of every source), sources (the
    same per source), policies (the per-policy status, or None without
    policy sources), counts, status, directory_server, resource_versions (of
    the directory lists, for a watch) and diff. Raises DirectoryError when the directory
    cannot be read or holds more than *limits* (sync_plan.Limits, default its
    defaults) allow (after recording the failure; its details then name the
    option in "limit"), MulticlusterError for failures on the replica.
    policy_replica: the ClusterClient of the replica that reads and writes
    the policies' objects (default *replica*; mc_directory_sync gives one
    acting as the agent's ServiceAccount, so that the agent's RBAC bounds
    them on both paths). With diff=False (the agent) the objects written
    are not kept for the diff, which is then empty."""
    policy_replica = replica if policy_replica is None else policy_replica
    now = clock() if now is None else now
    nouns = [s.noun[1] for s in sources if not getattr(s, "policy", False)]
    nouns += ["Cluster Policies"] if any(getattr(s, "policy", False) for s in sources) else []
    action = "sync %s from directory '%s' to cluster '%s'" % (" and ".join(nouns), directory_server, replica.label)
    dry = replica.check_mode
    try:
        snapshot, versions, optional_errors = read_directory(directory, sources, limits)
    except MulticlusterError as exc:  # the resource layer words every API and network error as one
        reason = directory_reason(exc)
        details = {"directory_server": directory_server}
        details.update(getattr(exc, "details", None) or {})
        error = DirectoryError("%s: %s" % (action, reason), cluster=replica.label, details=details)
        error.details["status_recorded"] = record_failure(replica, directory_server, reason, now, status_interval,
                                                          dry)
        raise error from None

    context = {"directory_server": directory_server}
    policy_sources = [s for s in sources if getattr(s, "policy", False)]
    policy_status = None
    try:
        held = {}
        if policy_sources:
            settings, name, policy_status = _policies_ready(policy_replica, snapshot, optional_errors)
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
        held.update(read_replica(replica, [s for s in sources if s not in policy_sources]))
        if policy_sources:
            context["policies"] = _plan_policies(policy_replica, snapshot, settings, name, held)
        plans = dict((s.name, plan_source(s, s.desired(snapshot, context), held[s.name], directory_server))
                     for s in sources)
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
        "diff": {"before": before, "after": after},
    })
    return result
