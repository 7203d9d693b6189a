"""An in-memory stand-in for ClusterClient's resource verbs, for unit tests of
the logic above the resource layer (the layer itself is tested against the
real API server in the integration tests, and with fake API functions in
test_client.py).

Objects come back the way a 1.21-1.3x API server returns them: uid,
resourceVersion, creationTimestamp and managedFields on every object, the
kubernetes.io/metadata.name label and spec.finalizers on Namespaces, a
defaulted apiGroup on RBAC subjects of kind User and Group, quantities of a
ResourceQuota in canonical form ("1000m" is "1"), a LimitRange's default
and defaultRequest defaulted from max and min; a new Namespace gets its
"default" ServiceAccount and ConfigMap kube-root-ca.crt, and deleting a
Namespace deletes what is in it. A patch is applied as its content type says
(a merge patch as RFC 7386; a strategic merge patch merging lists by their
merge key and keeping the items it leaves out; 415 for one the server would
refuse), with a stale resourceVersion a 409. A kind with a status subresource (ClusterStatus, ClusterProfileStatus
in kinds.py) behaves as its CRD's "subresources: {status: {}}": a create or patch of the object itself keeps the
stored status, a patch of the subresource changes the status only. Writes are
recorded in .writes as (verb, kind, name); a TokenReview, which stores
nothing, is not a write.
"""

import copy
import itertools
import json

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kinds as mc_kinds
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import TooLargeError
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.quantities import parse_quantity
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    AlreadyExistsError, ConflictError, MissingResourceTypeError, MulticlusterError)

RBAC_GROUP = "rbac.authorization.k8s.io"


# A strategic merge patch merges these lists item by item, by the key the API's types declare
# (patchMergeKey); any other list is replaced whole, as in a merge patch. Finalizers are merged as a set.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
              "imagePullSecrets": "name", "env": "name", "ports": "containerPort", "volumeMounts": "mountPath",
              "volumeDevices": "devicePath", "hostAliases": "ip", "ownerReferences": "uid"}
SET_LISTS = ("finalizers",)
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


def _patched(target, patch, strategic, field=None):
    if strategic and isinstance(patch, list) and isinstance(target, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        result = copy.deepcopy(target)
        for item in patch:
            match = [i for i, have in enumerate(result) if isinstance(have, dict) and have.get(key) == item.get(key)]
            if match:
                result[match[0]] = _patched(result[match[0]], item, strategic)
            else:
                result.append(copy.deepcopy(item))
        return result
    if strategic and isinstance(patch, list) and isinstance(target, list) and field in SET_LISTS:
        return copy.deepcopy(target) + [item for item in patch if item not in target]
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _patched(result.get(key), value, strategic, key)
    return result


def apply_merge_patch(target, patch):
    """RFC 7386: maps merged, None removes a key, every list replaced whole."""
    return _patched(target, patch, False)


def apply_strategic_merge_patch(target, patch):
    """A strategic merge patch as the API server applies it to a built-in kind: maps merged as in RFC 7386,
    lists with a merge key merged item by item (items the patch leaves out are KEPT), others replaced."""
    return _patched(target, patch, True)


def _selected(obj, selector):
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in selector.split(","):
        if "!=" in term:  # as the API server: an object without the key matches too
            key, _sep, value = term.partition("!=")
            if labels.get(key) == value:
                return False
            continue
        key, _sep, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def canonical(quantity):
    """A decimal quantity as the API server writes it back (binary suffixes are kept)."""
    if not isinstance(quantity, str) or quantity[-2:] in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        return quantity
    value = parse_quantity(quantity)
    if value.denominator == 1:
        return str(value.numerator)
    milli = value * 1000
    return "%dm" % milli if milli.denominator == 1 else quantity


def _parent(kind):
    """The kind a subresource kind (ClusterProfileStatus) belongs to, or None."""
    return next((k for k in mc_kinds.KINDS.values() if kind.parent == (k.api_version, k.plural)), None) \
        if kind.parent else None


def _has_status(kind):
    """True for a kind with a status subresource: writes of the object itself ignore status."""
    return any(k.parent == (kind.api_version, kind.plural) and k.plural == "status" for k in mc_kinds.KINDS.values())


class FakeCluster(object):
    """get, list, create, create_or_get, patch, replace, delete, transaction
    over a dict; check_mode writes nothing (a dry run)."""

    def __init__(self, label="fake", server="https://fake.example.com:6443", check_mode=False,
                 missing_kinds=(), ca=None):
        self.label = label
        self.server = server
        self.check_mode = check_mode
        self.timeout = 30.0
        self.objects = {}
        self.writes = []
        self.requests = []
        self.missing_kinds = set(missing_kinds)
        self.before_write = []  # callables(verb, kind, namespace, name) run before each write (races)
        self.failures = {}      # (verb, kind) -> the exception every such request raises
        self._ca = ca
        self._versions = itertools.count(100)
        self._uids = itertools.count(1)

    # --- the server's side --------------------------------------------------------------------

    def serve(self, obj):
        """Fill what the server adds; returns the stored form."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", "uid-%d" % next(self._uids))
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("creationTimestamp", "2026-12-01T00:00:00Z")
        meta["managedFields"] = [{"manager": "fake", "operation": "Update"}]
        kind = obj.get("kind")
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        if kind == "ResourceQuota":
            hard = (obj.get("spec") or {}).get("hard") or {}
            for key, value in hard.items():
                hard[key] = canonical(value)
        if kind == "LimitRange":
            for limit in (obj.get("spec") or {}).get("limits") or []:
                if limit.get("type") == "Container":
                    if "max" in limit and "default" not in limit:
                        limit["default"] = dict(limit["max"])
                    if "defaultRequest" not in limit and ("default" in limit or "min" in limit):
                        limit["defaultRequest"] = dict(limit.get("default") or limit["min"])
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects") or []:
                if subject.get("kind") in ("User", "Group"):
                    subject.setdefault("apiGroup", RBAC_GROUP)
        return obj

    def add(self, obj):
        """Store an object as if someone created it; returns the stored form."""
        stored = self.serve(obj)
        self.objects[self._key(stored["kind"], *mc_kinds.key_of(stored))] = stored
        return copy.deepcopy(stored)

    def stored(self, kind, name, namespace=None):
        return copy.deepcopy(self.objects.get(self._key(kind, namespace, name)))

    @staticmethod
    def _key(kind, namespace, name):
        return (mc_kinds.lookup(kind).kind, namespace or "", name)

    def _check_type(self, kind, verb=None):
        kind = mc_kinds.lookup(kind)
        if (verb, kind.kind) in self.failures:
            raise self.failures[(verb, kind.kind)]
        if kind.kind in self.missing_kinds:
            raise MissingResourceTypeError("the multi-cluster registry is not installed on cluster '%s' (no %s API)"
                                           % (self.label, kind.kind), cluster=self.label,
                                           details={"status": 404, "group": kind.group}, group=kind.group)
        return kind

    def _write(self, verb, kind, namespace, name):
        for hook in list(self.before_write):
            hook(verb, kind.kind, namespace or "", name)
        if not self.check_mode and kind.kind != "TokenReview":
            self.writes.append((verb, kind.kind, name))

    # --- the verbs of ClusterClient -------------------------------------------------------------

    def get(self, kind, name, namespace=None):
        kind = self._check_type(kind, "get")
        self.requests.append(("get", kind.kind, mc_kinds.display(namespace, name)))
        return self.stored(_parent(kind) or kind, name, namespace)

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=500):
        kind = self._check_type(kind, "list")
        self.requests.append(("list", kind.kind, label_selector or ""))
        items = [copy.deepcopy(obj) for (k, ns, _n), obj in sorted(self.objects.items())
                 if k == kind.kind and (namespace is None or ns == namespace) and _selected(obj, label_selector)]
        if field_selector:
            field, _sep, value = field_selector.partition("=")
            items = [obj for obj in items if obj.get(field) == value]
        return items, str(next(self._versions))

    def pages(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=500, max_bytes=None,
              resource_version=None, decode=json.loads):
        """As ClusterClient.pages: one request per page of *page_size* (a
        continue token between them), all pages from the snapshot of the first
        request, as the server serves them; a page whose JSON is larger than
        *max_bytes* raises TooLargeError. .pages_served counts the pages.
        As the API server's watch cache does, a list at resource_version "0"
        is one answer whatever *page_size* asks for (.list_versions records
        each list's resource_version). Each page is
        decoded from its JSON with *decode*, as the client decodes it."""
        items, version = self.list(kind, namespace, label_selector, field_selector)
        self.requests.pop()
        self.list_versions = getattr(self, "list_versions", []) + [resource_version]
        if not page_size or resource_version == "0":
            page_size = max(len(items), 1)
        for start in range(0, max(len(items), 1), page_size):
            kind_ = self._check_type(kind, "list")
            self.requests.append(("list", kind_.kind, label_selector or ""))
            self.pages_served = getattr(self, "pages_served", 0) + 1
            page = items[start:start + page_size]
            text = json.dumps({"items": page})
            if max_bytes is not None and len(text) > max_bytes:
                raise TooLargeError("list %s on cluster '%s': the answer is larger than %d bytes"
                                    % (kind_.plural, self.label, max_bytes), cluster=self.label,
                                    details={"max_bytes": max_bytes})
            yield decode(text)["items"], version

    def create(self, body, parent=None):
        kind = self._check_type(body["kind"], "create")
        if kind.create_only:
            self._write("create", kind, (body.get("metadata") or {}).get("namespace"), parent or "")
            return self.create_subresource(kind.kind, body, parent)
        namespace, name = mc_kinds.key_of(body)
        self._write("create", kind, namespace, name)
        if self._key(kind, namespace, name) in self.objects:
            raise AlreadyExistsError("create %s %s on cluster '%s': already exists" % (
                kind.kind, mc_kinds.display(namespace, name), self.label), cluster=self.label,
                details={"status": 409})
        if namespace and not self.check_mode and self._key("Namespace", None, namespace) not in self.objects \
                and any(k[0] == "Namespace" for k in self.objects):
            raise MulticlusterError("create %s %s on cluster '%s': namespaces \"%s\" not found" % (
                kind.kind, mc_kinds.display(namespace, name), self.label, namespace), cluster=self.label,
                details={"status": 404})
        if _has_status(kind):
            body = dict(body)
            body.pop("status", None)
        served = self.serve(body)
        if not self.check_mode:
            self.objects[self._key(kind, namespace, name)] = served
            if kind.kind == "Namespace":
                for obj in ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
                             "data": {"ca.crt": "-----BEGIN CERTIFICATE-----"}}):
                    obj["metadata"]["namespace"] = name
                    self.add(obj)
            self.created(served)
        return copy.deepcopy(served)

    def create_subresource(self, kind, body, parent):
        raise NotImplementedError(kind)

    def created(self, obj):
        """A hook: what a controller does after a create (fill a token Secret)."""

    def create_or_get(self, body):
        try:
            return self.create(body), True
        except AlreadyExistsError:
            namespace, name = mc_kinds.key_of(body)
            return self.get(body["kind"], name, namespace or None), False

    def patch(self, kind, name, patch, namespace=None, *, content_type):
        """As the API server: the patch applied as the content type says (an unknown one, or a strategic merge
        on a custom resource, refused with 415), a stale resourceVersion a 409, an immutable field a 422."""
        kind = self._check_type(kind, "patch")
        if content_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH) or (
                content_type == STRATEGIC_MERGE_PATCH and not kind.builtin):
            raise MulticlusterError("update %s %s on cluster '%s': the server does not accept %s for this kind" % (
                kind.kind, name, self.label, content_type), cluster=self.label, details={"status": 415})
        self._write("patch", kind, namespace, name)
        parent = _parent(kind)
        if parent is not None:  # the status subresource: only the patch's status (and its resourceVersion) count
            patch = dict((k, v) for k, v in patch.items() if k in ("status", "metadata"))
            patch["metadata"] = dict((k, v) for k, v in (patch.get("metadata") or {}).items()
                                     if k == "resourceVersion")
        elif _has_status(kind):
            patch = dict((k, v) for k, v in patch.items() if k != "status")
        kind = parent or kind
        live = self.objects.get(self._key(kind, namespace, name))
        if live is None:
            raise MulticlusterError("update %s %s on cluster '%s': not found" % (kind.kind, name, self.label),
                                    cluster=self.label, details={"status": 404})
        version = (patch.get("metadata") or {}).get("resourceVersion")
        if version is not None and version != live["metadata"]["resourceVersion"]:
            raise ConflictError("update %s %s on cluster '%s': the object has been modified" % (
                kind.kind, name, self.label), cluster=self.label, details={"status": 409})
        if content_type == STRATEGIC_MERGE_PATCH:
            merged = apply_strategic_merge_patch(live, patch)
        else:
            merged = apply_merge_patch(live, patch)
        for field in kind.immutable:
            if merged.get(field) != live.get(field):
                raise MulticlusterError("update %s %s on cluster '%s': %s is immutable" % (
                    kind.kind, name, self.label, field), cluster=self.label, details={"status": 422})
        merged["metadata"]["uid"] = live["metadata"]["uid"]
        served = self.serve(merged)
        if not self.check_mode:
            self.objects[self._key(kind, namespace, name)] = served
        return copy.deepcopy(served)

    def replace(self, body):
        namespace, name = mc_kinds.key_of(body)
        return self.patch(body["kind"], name, body, namespace or None, content_type=MERGE_PATCH)

    def delete(self, kind, name, namespace=None):
        kind = self._check_type(kind, "delete")
        if self._key(kind, namespace, name) not in self.objects:
            return False
        self._write("delete", kind, namespace, name)
        if not self.check_mode:
            del self.objects[self._key(kind, namespace, name)]
            if kind.kind == "Namespace":
                for key in [k for k in self.objects if k[1] == name]:
                    del self.objects[key]
        return True

    def namespace_contents(self, namespace):
        """Every object in *namespace* (ClusterClient.namespace_contents)."""
        if ("inspect", "Namespace") in self.failures:
            raise self.failures[("inspect", "Namespace")]
        self.requests.append(("inspect", "Namespace", namespace))
        return [copy.deepcopy(obj) for (k, ns, _n), obj in sorted(self.objects.items()) if ns == namespace]

    def transaction(self, action, kind, name, fn, attempts=5):
        for attempt in range(attempts):
            try:
                return fn()
            except ConflictError:
                if attempt == attempts - 1:
                    raise
        return None  # pragma: no cover

    def ca_data(self):
        return self._ca

    def close(self):
        self.closed = True
