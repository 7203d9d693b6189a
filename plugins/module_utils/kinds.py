# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of every kind of object the collection reads or writes, typed and
custom, described once: its apiVersion, plural, scope, and the generated API
class and method stem that serve it (None for custom kinds, served by
CustomObjectsApi). ClusterClient (client.py) is the only reader of the table's
API columns; everything else names kinds by their Kind string.

The registry's own API (group, version, the Cluster and ClusterPolicy kinds)
is defined here and nowhere else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

REGISTRY_GROUP = "multicluster.coreos.com"
REGISTRY_VERSION = "v1"
REGISTRY_API_VERSION = REGISTRY_GROUP + "/" + REGISTRY_VERSION


class Kind(object):
    """One kind: kind, api_version, plural, namespaced; api/stem for typed kinds.

    create_only: a kind that is only ever created, never stored (TokenReview),
    or a subresource created under a parent (TokenRequest, parent
    ServiceAccount). immutable: top-level fields the API refuses to change
    (a change is a delete and create)."""

    __slots__ = ("kind", "api_version", "plural", "namespaced", "api", "stem", "create_only", "immutable")

    def __init__(self, kind, api_version, plural, namespaced, api=None, stem=None, create_only=False,
                 immutable=()):
        self.kind = kind
        self.api_version = api_version
        self.plural = plural
        self.namespaced = namespaced
        self.api = api
        self.stem = stem
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
        return self.api is None

    def __repr__(self):
        return "Kind(%s %s)" % (self.api_version, self.kind)


_TABLE = (
    Kind("Namespace", "v1", "namespaces", False, "CoreV1Api", "namespace"),
    Kind("Secret", "v1", "secrets", True, "CoreV1Api", "secret"),
    Kind("ConfigMap", "v1", "configmaps", True, "CoreV1Api", "config_map"),
    Kind("ServiceAccount", "v1", "serviceaccounts", True, "CoreV1Api", "service_account"),
    Kind("ResourceQuota", "v1", "resourcequotas", True, "CoreV1Api", "resource_quota"),
    Kind("LimitRange", "v1", "limitranges", True, "CoreV1Api", "limit_range"),
    Kind("TokenRequest", "authentication.k8s.io/v1", "token", True, "CoreV1Api", "service_account_token",
         create_only=True),
    Kind("TokenReview", "authentication.k8s.io/v1", "tokenreviews", False, "AuthenticationV1Api", "token_review",
         create_only=True),
    Kind("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", False, "RbacAuthorizationV1Api",
         "cluster_role"),
    Kind("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", False,
         "RbacAuthorizationV1Api", "cluster_role_binding", immutable=("roleRef",)),
    Kind("Role", "rbac.authorization.k8s.io/v1", "roles", True, "RbacAuthorizationV1Api", "role"),
    Kind("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", True, "RbacAuthorizationV1Api",
         "role_binding", immutable=("roleRef",)),
    Kind("Deployment", "apps/v1", "deployments", True, "AppsV1Api", "deployment"),
    Kind("CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions", False,
         "ApiextensionsV1Api", "custom_resource_definition"),
    Kind("Cluster", REGISTRY_API_VERSION, "clusters", False),
    Kind("ClusterPolicy", REGISTRY_API_VERSION, "clusterpolicies", False),
)

KINDS = dict((entry.kind, entry) for entry in _TABLE)

CLUSTER = KINDS["Cluster"]
CLUSTER_POLICY = KINDS["ClusterPolicy"]

# Objects a manifest (mc_registry's definitions) may hold: every stored kind.
MANIFEST_KINDS = tuple(sorted(k.kind for k in _TABLE if not k.create_only))


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
