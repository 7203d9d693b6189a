# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of every kind of object the collection reads or writes, built-in
and custom, described once: its apiVersion, plural and scope, from which
ClusterClient (client.py, the only reader of the path columns) builds each
request's URL; everything else names kinds by their Kind string.

The registry's own API (group, version, the Cluster and ClusterPolicy kinds)
is defined here and nowhere else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote

REGISTRY_GROUP = "multicluster.coreos.com"
REGISTRY_VERSION = "v1"
REGISTRY_API_VERSION = REGISTRY_GROUP + "/" + REGISTRY_VERSION
# SIG-Multicluster's cluster inventory API (KEP-4322, kubernetes-sigs/cluster-inventory-api)
INVENTORY_API_VERSION = "multicluster.x-k8s.io/v1alpha1"


class Kind(object):
    """One kind: kind, api_version, plural, namespaced; builtin (a Kubernetes
    type) or custom (a custom resource). Every kind is patched with an RFC
    7386 merge patch, the content type the patches are computed for.

    create_only: a kind that is only ever created, never stored (TokenReview),
    or a subresource created under a parent (TokenRequest): *parent* is then
    the (apiVersion, plural) of the parent resource, and *plural* the
    subresource's name. immutable: top-level fields the API refuses to change
    (a change is a delete and create)."""

    __slots__ = ("kind", "api_version", "plural", "namespaced", "builtin", "parent", "create_only", "immutable")

    def __init__(self, kind, api_version, plural, namespaced, builtin=True, parent=None, create_only=False,
                 immutable=()):
        self.kind = kind
        self.api_version = api_version
        self.plural = plural
        self.namespaced = namespaced
        self.builtin = builtin
        self.parent = parent
        self.create_only = create_only
        self.immutable = tuple(immutable)

    @property
    def group(self):
        return self.api_version.rpartition("/")[0]

    @property
    def version(self):
        return self.api_version.rpartition("/")[2]

    @property
    def custom(self):
        return not self.builtin

    def __repr__(self):
        return "Kind(%s %s)" % (self.api_version, self.kind)


_TABLE = (
    Kind("Namespace", "v1", "namespaces", False),
    Kind("Secret", "v1", "secrets", True),
    Kind("ConfigMap", "v1", "configmaps", True),
    Kind("ServiceAccount", "v1", "serviceaccounts", True),
    Kind("ResourceQuota", "v1", "resourcequotas", True),
    Kind("LimitRange", "v1", "limitranges", True),
    Kind("TokenRequest", "authentication.k8s.io/v1", "token", True, parent=("v1", "serviceaccounts"),
         create_only=True),
    Kind("TokenReview", "authentication.k8s.io/v1", "tokenreviews", False, create_only=True),
    Kind("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", False),
    Kind("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", False, immutable=("roleRef",)),
    Kind("Role", "rbac.authorization.k8s.io/v1", "roles", True),
    Kind("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", True, immutable=("roleRef",)),
    Kind("Deployment", "apps/v1", "deployments", True),
    Kind("CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    Kind("Lease", "coordination.k8s.io/v1", "leases", True),
    Kind("Cluster", REGISTRY_API_VERSION, "clusters", False, builtin=False),
    # a Cluster's status subresource: *name* in a request is the Cluster's
    Kind("ClusterStatus", REGISTRY_API_VERSION, "status", False, builtin=False, parent=(REGISTRY_API_VERSION, "clusters")),
    Kind("ClusterPolicy", REGISTRY_API_VERSION, "clusterpolicies", False, builtin=False),
    Kind("ClusterProfile", INVENTORY_API_VERSION, "clusterprofiles", True, builtin=False),
    Kind("ClusterProfileStatus", INVENTORY_API_VERSION, "status", True, builtin=False,
         parent=(INVENTORY_API_VERSION, "clusterprofiles")),
)

KINDS = dict((entry.kind, entry) for entry in _TABLE)

CLUSTER = KINDS["Cluster"]
CLUSTER_POLICY = KINDS["ClusterPolicy"]
CLUSTER_PROFILE = KINDS["ClusterProfile"]

# Objects a manifest (mc_registry's definitions) may hold: every stored kind (no subresource).
MANIFEST_KINDS = tuple(sorted(k.kind for k in _TABLE if not k.create_only and not k.parent))


class UnknownKindError(ValueError):
    """A kind name the table does not have (a programming or input error)."""


def lookup(kind):
    """The Kind for a Kind string (or a Kind, returned as it is)."""
    if isinstance(kind, Kind):
        return kind
    try:
        return KINDS[kind]
    except KeyError:
        raise UnknownKindError("kind %r is not one this collection manages (%s)"
                               % (kind, ", ".join(MANIFEST_KINDS))) from None


def api_prefix(api_version):
    """The URL path of an API group version: /api/v1 for the core group, else /apis/<group>/<version>."""
    return "/api/v1" if api_version == "v1" else "/apis/" + api_version


def resource_path(kind, namespace=None, name=None, parent=None):
    """The URL path of a kind's collection (no name) or of one object; for a
    subresource kind (TokenRequest), of *parent*'s subresource. A namespaced
    kind without a namespace is its list across every namespace."""
    kind = lookup(kind)
    api_version, plural = kind.parent or (kind.api_version, kind.plural)
    parts = [api_prefix(api_version)]
    if kind.namespaced and namespace:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if kind.parent:
        parts += [quote(parent, safe=""), kind.plural]
    elif name is not None:
        parts.append(quote(name, safe=""))
    return "/".join(parts)


def crd_name(kind):
    """The CustomResourceDefinition name of a custom kind: <plural>.<group>."""
    kind = lookup(kind)
    return "%s.%s" % (kind.plural, kind.group)


def key_of(obj):
    """(namespace or '', name) of an object dict."""
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name"))


def display(namespace, name):
    """'namespace/name', or 'name' for a cluster-scoped object."""
    return "%s/%s" % (namespace, name) if namespace else str(name)


def ref(obj):
    """'Kind namespace/name' or 'Kind name', for messages and results."""
    namespace, name = key_of(obj)
    return "%s %s" % (obj.get("kind", "?"), display(namespace, name if name is not None else "?"))
