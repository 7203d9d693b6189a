# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClusterPolicy objects (multicluster.coreos.com/v1) on the directory: the
core of mc_cluster_policy and mc_cluster_policy_info.

A policy is checked whole (policy_spec.validate, then policy_bounds.problems:
what every replica refuses) before anything is sent, and every problem is
reported at once. Its spec is owned whole: "no change" is
compare.plan with exact=("spec",), so a key removed from the spec is removed
from the object, and an unchanged policy makes no write request. Every policy
written here carries the label app.kubernetes.io/managed-by=coreos.multicluster,
which marks what the cluster_policies role may prune; labels other tools set
are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import bounds as policy_bounds
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import spec as policy_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER_POLICY
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.apply import ensure, remove, view

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import subdomain_problem
from ansible_collections.coreos.multicluster.plugins.module_utils import names

MANAGED_SELECTOR = "%s=%s" % (names.MANAGED_BY_LABEL, names.WRITTEN_BY)
EXACT = ("spec",)


class InvalidPolicyError(MulticlusterError):
    """A policy with problems; .problems lists every one ("<path>: <problem>")."""

    def __init__(self, name, problems):
        self.problems = list(problems)
        super(InvalidPolicyError, self).__init__(
            "ClusterPolicy %s is not valid, nothing was written (%d problem%s): %s"
            % (name, len(self.problems), "" if len(self.problems) == 1 else "s", "; ".join(self.problems)),
            details={"problems": self.problems})


def desired(name, spec, labels=None):
    """The ClusterPolicy the module writes: its name, the given labels (None:
    a label to remove) plus the collection's mark, and the spec (quantities
    given as numbers written as strings)."""
    wanted = dict(labels or {})
    wanted[names.MANAGED_BY_LABEL] = names.WRITTEN_BY
    return {"apiVersion": CLUSTER_POLICY.api_version, "kind": CLUSTER_POLICY.kind,
            "metadata": {"name": name, "labels": wanted}, "spec": policy_spec.normalize_spec(spec)}


def check(name, spec=None, labels=None, state="present"):
    """Every problem of the policy the module would write, at once; raises
    InvalidPolicyError, else returns the desired object (None for absent)."""
    if state == "absent":
        found = subdomain_problem(name)
        if found:
            raise InvalidPolicyError(name, ["metadata.name: ClusterPolicy name " + found])
        return None
    problems = []
    if spec is None:
        problems.append("spec: is required with state present")
    labels = dict(labels or {})
    if labels.get(names.MANAGED_BY_LABEL, names.WRITTEN_BY) != names.WRITTEN_BY:
        problems.append("metadata.labels[%s]: is set by this collection to %r, not %r"
                        % (names.MANAGED_BY_LABEL, names.WRITTEN_BY, labels[names.MANAGED_BY_LABEL]))
    kept = dict((k, v) for k, v in labels.items() if v is not None)  # None: a label to remove
    problems.extend(policy_spec.validate({"metadata": {"name": name, "labels": kept}, "spec": spec}))
    if not problems:
        problems.extend(policy_bounds.problems(spec))
    if problems:
        raise InvalidPolicyError(name, problems)
    return desired(name, spec, labels)


def _result(outcome):
    before, after = outcome["before"], outcome["after"]
    return {"changed": outcome["changed"], "policy": after, "before": before, "after": after,
            "diff": {"before": before or {}, "after": after or {}}}


def ensure_policy(client, name, spec=None, labels=None, state="present"):
    """Make ClusterPolicy *name* on the directory *client* hold *spec* and
    *labels* (state present) or be gone (absent). Validates first: a bad
    policy raises InvalidPolicyError before any request.

    Returns {changed, policy, before, after, diff}: policy and after are the
    object as the server returned it (the dry run's answer in check mode),
    without server-owned metadata; None when absent."""
    obj = check(name, spec, labels, state)
    if state == "absent":
        return _result(remove(client, {"apiVersion": CLUSTER_POLICY.api_version, "kind": CLUSTER_POLICY.kind,
                                       "metadata": {"name": name}}))
    return _result(ensure(client, obj, exact=EXACT))


def is_managed(obj):
    """True for a ClusterPolicy carrying this collection's mark."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(names.MANAGED_BY_LABEL) == names.WRITTEN_BY


def info(client, name=None, label_selector=None):
    """{changed: False, policies: [objects sorted by name], names: [...]}: one
    policy by name (none when it does not exist), or all that match the label
    selector."""
    if name:
        found = subdomain_problem(name)
        if found:
            raise MulticlusterError("name: ClusterPolicy name " + found)
        live = client.get(CLUSTER_POLICY, name)
        objects = [live] if live else []
    else:
        objects = client.list(CLUSTER_POLICY, label_selector=label_selector or None)[0]
    policies = [view(obj) for obj in objects]
    return {"changed": False, "policies": policies, "names": [p["metadata"]["name"] for p in policies],
            "managed": [p["metadata"]["name"] for p in policies if is_managed(p)]}
