# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What became of the Cluster Policies on one replica: the one type the syncer builds (Report, one
PolicyOutcome a policy), writes into its status ConfigMap (key ``policies``) and returns, and that
mc_cluster_status reads back (read_recorded: data a replica's admin can write, read into this shape only, each
string one bounded line), the policy_status filters tabulate and the agent counts in its metrics.

A replica's policy status is {enabled, error, allowlist, items: {policy: outcome}, released}; an outcome is
{state, and those of objects, conflicts, refused, failed (lists of {object, reason}), problems and reason
that apply}. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line

APPLIED, CONFLICT, REFUSED, FAILED, INVALID, NOT_SELECTED, DISABLED = (
    "applied", "conflict", "refused", "failed", "invalid", "not selected", "disabled")
UNKNOWN = "unknown"  # what a reader shows for a state it could not read
STATES = (APPLIED, CONFLICT, REFUSED, FAILED, INVALID, NOT_SELECTED, DISABLED)  # the order messages list them in
TROUBLE = (CONFLICT, REFUSED, FAILED, INVALID)  # the states that need a person's attention
# the lists of {object, reason} an outcome holds, and the state each makes it: the worst found wins
DETAILS = (("failed", FAILED), ("refused", REFUSED), ("conflicts", CONFLICT))
_LISTS = ("objects",) + tuple(key for key, _state in DETAILS)
_MAX_STATE = 32  # a state is a word or two: a longer recorded one is cut


class PolicyOutcome(object):
    """One policy on one replica: its state, the objects it holds there, and why any of it did not apply.
    Outcomes of policies that were considered object by object carry the lists; the others (not selected,
    disabled, no way to apply them) only a state and a reason."""

    __slots__ = ("state", "lists", "problems", "reason")

    def __init__(self, state=APPLIED, with_lists=True, problems=None, reason=None):
        self.state = state
        self.lists = dict((key, []) for key in _LISTS) if with_lists else None
        self.problems = problems
        self.reason = reason

    def add(self, what, ref, reason):
        self.lists[what].append({"object": ref, "reason": reason})

    def holds(self, ref):
        self.lists["objects"].append(ref)

    def finish(self):
        """Sorted lists, and the state the worst of them makes it."""
        if self.lists is None:
            return
        for key, items in self.lists.items():
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        if self.state in (APPLIED, CONFLICT, REFUSED, FAILED):
            self.state = next((state for key, state in DETAILS if self.lists[key]), APPLIED)

    def to_dict(self):
        found = {"state": self.state}
        found.update(self.lists or {})
        if self.problems is not None:
            found["problems"] = self.problems
        if self.reason is not None:
            found["reason"] = self.reason
        return found


class Report(object):
    """What happened to each policy on this replica (PolicyOutcome by name)."""

    def __init__(self):
        self.outcomes = {}

    def policy(self, name, state=None):
        """The outcome of *name* (a new one, considered object by object, when there is none)."""
        outcome = self.outcomes.setdefault(name, PolicyOutcome())
        if state is not None:
            outcome.state = state
        return outcome

    def settle(self, name, state, reason=None):
        """*name* was not considered object by object: it is *state* only (not selected, disabled, ...)."""
        self.outcomes[name] = PolicyOutcome(state, with_lists=False, reason=reason)

    def add(self, names, what, ref, reason):
        for name in names:
            self.policy(name).add(what, ref, reason)

    def items(self):
        """{policy: outcome as a dict}, each finished."""
        for outcome in self.outcomes.values():
            outcome.finish()
        return dict((name, outcome.to_dict()) for name, outcome in self.outcomes.items())


def not_applied(policies, state, reason):
    """A Report in which no policy applied (policies off, or no way to apply them)."""
    report = Report()
    for policy in policies or []:
        report.settle((policy.get("metadata") or {}).get("name"), state, reason)
    return report


def replica_status(items, enabled=True, error=None, allowlist=None, released=()):
    """A replica's policy status, as the syncer records and returns it."""
    found = {"enabled": enabled, "error": error, "items": items, "released": list(released)}
    if allowlist is not None:
        found["allowlist"] = list(allowlist)
    return found


def counts(status):
    """{state: how many policies are in it} of a replica's policy status."""
    found = {}
    for outcome in ((status or {}).get("items") or {}).values():
        state = (outcome or {}).get("state") or UNKNOWN
        found[state] = found.get(state, 0) + 1
    return found


def needs_attention(outcome):
    return (outcome or {}).get("state") in TROUBLE


def message(status):
    """How the policies went, in a few words (None when the directory has none)."""
    if not status.get("enabled"):
        return "policies disabled on this replica"
    if status.get("error"):
        return "policies not applied: %s" % status["error"]
    found = counts(status)
    if not found and not status.get("released"):
        return None
    text = ", ".join("%d %s" % (found[state], state) for state in STATES if state in found)
    released = status.get("released") or []
    if released:
        text += "; released (kept, no longer managed): %s" % ", ".join(r["object"] for r in released)
    return "policies: " + text


# --- reading what a replica recorded (untrusted) ------------------------------------------------------------

def _list(value):
    return value if isinstance(value, list) else []


def _object_reasons(value):
    """[{object, reason}] of a policy's conflicts, refusals, failures or released Namespaces."""
    return [{"object": one_line(entry.get("object")), "reason": one_line(entry.get("reason"))}
            for entry in _list(value) if isinstance(entry, dict)]


def read_outcome(item):
    """One policy's recorded outcome, read into the shape PolicyOutcome.to_dict writes: state, and those of
    objects, conflicts, refused, failed, problems and reason that are there."""
    item = item if isinstance(item, dict) else {}
    found = {"state": one_line(item.get("state"), _MAX_STATE) or UNKNOWN}
    if "objects" in item:
        found["objects"] = [one_line(ref) for ref in _list(item["objects"])]
    for key, _state in DETAILS:
        if key in item:
            found[key] = _object_reasons(item[key])
    if "problems" in item:
        found["problems"] = [one_line(problem) for problem in _list(item["problems"])]
    if "reason" in item:
        found["reason"] = one_line(item["reason"])
    return found


def read_recorded(text):
    """A replica's policy status from the JSON its last sync recorded, or None: read into that shape only,
    each string one bounded line."""
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    items = found.get("items") if isinstance(found.get("items"), dict) else {}
    return {"enabled": found.get("enabled") if isinstance(found.get("enabled"), bool) else None,
            "error": one_line(found.get("error")),
            "allowlist": [one_line(role) for role in _list(found.get("allowlist"))],
            "items": dict((one_line(name), read_outcome(item)) for name, item in items.items()),
            "released": _object_reasons(found.get("released"))}
