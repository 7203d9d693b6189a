# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Cluster Policy may never ask of a replica, whatever the replica
allows (docs/policies.md, "Bounds"): the names and prefixes every replica
refuses, and problems(spec), the directory's check of a policy against them.

- Protected namespaces: a policy writes nothing into PROTECTED_NAMESPACES (a
  replica may protect more).
- System subjects: users and groups named ``system:...`` (``system:anonymous``,
  ``system:unauthenticated``, ``system:masters``, ...) are refused unless a
  replica allows one by name; a ServiceAccount subject only in a namespace the
  policy itself creates.
- Reserved label keys: a namespace label key under ``kubernetes.io/``,
  ``k8s.io/`` (their subdomains included: the Pod Security labels are
  ``pod-security.kubernetes.io/...``) or the collection's own
  ``multicluster.coreos.com/`` is refused unless a replica allows it by name.

The replica's planner (policies.materialise) applies the same predicates with
the replica's own allowances; mc_cluster_policy refuses what every replica
refuses with its defaults, so that an author learns at apply time. Pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import REGISTRY_GROUP

PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default", "tectonic-system",
                        "tectonic-multi-cluster")
SYSTEM_PREFIX = "system:"
RESERVED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io", REGISTRY_GROUP)


def is_system_subject(name):
    """True for a user or group name Kubernetes reserves (``system:...``)."""
    return isinstance(name, str) and name.startswith(SYSTEM_PREFIX)


def is_reserved_label_key(key):
    """True for a label key whose prefix is one of RESERVED_LABEL_DOMAINS or a subdomain of one."""
    if not isinstance(key, str) or "/" not in key:
        return False
    prefix = key.rpartition("/")[0].lower()
    return any(prefix == domain or prefix.endswith("." + domain) for domain in RESERVED_LABEL_DOMAINS)


PROTECTED_REASON = "is a protected namespace: a Cluster Policy writes nothing into it (no quota, limit range, " \
                   "binding or label)"
SYSTEM_SUBJECT_REASON = "is a system: %s: policies never bind those unless a replica allows one by name"
SERVICE_ACCOUNT_REASON = "a policy binds only service accounts of the namespaces it creates (%s is not one of them)"
LABEL_REASON = "label keys under %s are reserved (the replica's own and Kubernetes' marks)" % ", ".join(
    d + "/" for d in RESERVED_LABEL_DOMAINS)


def _names_problems(found, entry, path, own_namespaces):
    """system: users and groups, and service accounts outside the policy's own namespaces, of one binding entry."""
    for field, what in (("users", "user"), ("groups", "group")):
        names = entry.get(field)
        for index, name in enumerate(names if isinstance(names, list) else []):
            if is_system_subject(name):
                found.append("%s.%s[%d]: %r %s" % (path, field, index, name, SYSTEM_SUBJECT_REASON % what))
    accounts = entry.get("serviceAccounts")
    for index, account in enumerate(accounts if isinstance(accounts, list) else []):
        namespace = account.get("namespace") if isinstance(account, dict) else None
        if isinstance(namespace, str) and namespace not in own_namespaces:
            found.append("%s.serviceAccounts[%d].namespace: %s" % (path, index, SERVICE_ACCOUNT_REASON % namespace))


def _bindings(container, key):
    value = container.get(key) if isinstance(container, dict) else None
    return [(i, b) for i, b in enumerate(value) if isinstance(b, dict)] if isinstance(value, list) else []


def problems(spec, path="spec"):
    """What every replica refuses in a ClusterPolicy *spec* (run it on a spec
    policy_spec.validate_spec accepts): protected namespace names, system:
    subjects, service accounts outside the policy's own namespaces and reserved
    namespace label keys, each as "<path>: <problem>"; [] when none."""
    found = []
    if not isinstance(spec, dict):
        return found
    entries = [(i, e) for i, e in enumerate(spec.get("namespaces") or []) if isinstance(e, dict)]
    own = set(e.get("name") for _i, e in entries if e.get("name") not in PROTECTED_NAMESPACES)
    for index, entry in _bindings(spec.get("authorization"), "clusterBindings"):
        _names_problems(found, entry, "%s.authorization.clusterBindings[%d]" % (path, index), own)
    for index, entry in entries:
        here = "%s.namespaces[%d]" % (path, index)
        if entry.get("name") in PROTECTED_NAMESPACES:
            found.append("%s.name: %s %s" % (here, entry["name"], PROTECTED_REASON))
        labels = entry.get("labels")
        for key in sorted(labels if isinstance(labels, dict) else {}):
            if is_reserved_label_key(key):
                found.append("%s.labels[%s]: %s" % (here, key, LABEL_REASON))
        for number, binding in _bindings(entry.get("authorization"), "bindings"):
            _names_problems(found, binding, "%s.authorization.bindings[%d]" % (here, number), own)
    return found
