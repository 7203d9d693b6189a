# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""View-only credentials of replicas on the directory.

For each replica the directory holds a ServiceAccount ``<replica>`` in
``tectonic-multi-cluster``, a ClusterRoleBinding ``<replica>-view-clusters``
to ClusterRole ``tectonic-view-clusters``, and one credential:

* ``token_request`` (default): an expiring token from the TokenRequest API,
  bound to the Opaque Secret ``<replica>-credential-anchor``; deleting that
  Secret revokes every token bound to it. The token is kept nowhere on the
  directory, so the caller hands the one the replica holds back in
  (``current_kubeconfig``) and the module decides whether it is still good.
* ``service_account_token``: a long-lived token in Secret
  ``<replica>-credential-token`` (type kubernetes.io/service-account-token),
  filled by the token controller.

Kubeconfig parsing and building, JWT claims, the "does the replica need a new
credential?" decision and the diff views are pure; the ``ensure_*`` functions
apply them through a ClusterClient.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import json
import re
import time

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

try:
    from kubernetes import client as k8s_client
except ImportError:  # pragma: no cover - MulticlusterModule.requires_kubernetes() reports it
    k8s_client = None

from ansible_collections.coreos.multicluster.plugins.module_utils.cluster import validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils.core import (
    hash_secret_data, kubeconfig_user_leaves, secret_leaves)
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

NAMESPACE = "tectonic-multi-cluster"
CLUSTER_ROLE = "tectonic-view-clusters"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "tectonic-multi-cluster"
REPLICA_LABEL = "multicluster.coreos.com/replica"

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"

TOKEN_REQUEST = "token_request"
SERVICE_ACCOUNT_TOKEN = "service_account_token"
CREDENTIAL_TYPES = (TOKEN_REQUEST, SERVICE_ACCOUNT_TOKEN)

DEFAULT_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_RENEW_BEFORE = 7 * 24 * 3600
MIN_TOKEN_TTL = 600  # the TokenRequest API refuses shorter tokens

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
NEW_TOKEN = "(a new token)"
NEW_OBJECT = "(new)"

_URL = re.compile(r"^https?://[^\s/?#]+")


# --- input ---------------------------------------------------------------------------

def validate_replica_name(name):
    return validate_name(name, "replica name")


def object_names(replica):
    """Names of the objects the directory holds for one replica."""
    return {
        "service_account": replica,
        "binding": replica + "-view-clusters",
        "anchor": replica + "-credential-anchor",
        "token_secret": replica + "-credential-token",
    }


def validate(params):
    """Refuse bad input before anything is read or written; returns the settings."""
    validate_replica_name(params.get("name"))
    state = params.get("state") or "present"
    ttl = params.get("token_ttl")
    ttl = DEFAULT_TOKEN_TTL if ttl is None else ttl
    renew_before = params.get("renew_before")
    renew_before = DEFAULT_RENEW_BEFORE if renew_before is None else renew_before
    if ttl < MIN_TOKEN_TTL:
        raise MulticlusterError("token_ttl %d is too short: the TokenRequest API needs at least %d seconds"
                                % (ttl, MIN_TOKEN_TTL))
    if renew_before < 0 or renew_before >= ttl:
        raise MulticlusterError("renew_before %d must be at least 0 and less than token_ttl %d, or every run "
                                "would mint a new token" % (renew_before, ttl))
    server = params.get("directory_server")
    if server not in (None, "") and not _URL.match(server):
        raise MulticlusterError("directory_server %r is not a URL with scheme https:// (or http://) and a host"
                                % (server,))
    name = params.get("directory_name") or "directory"
    if not isinstance(name, str) or re.search(r"\s", name):
        raise MulticlusterError("directory_name %r must be a name without white space" % (name,))
    for option in ("wait_timeout", "revoke_timeout"):
        if params.get(option) is not None and params[option] <= 0:
            raise MulticlusterError("%s must be a positive number of seconds" % option)
    if params.get("verify_revoked") and state == "present" and not params.get("rotate"):
        raise MulticlusterError("verify_revoked applies to state=absent or rotate=true, when an old token "
                                "is revoked")
    return {
        "name": params["name"],
        "state": state,
        "credential_type": params.get("credential_type") or TOKEN_REQUEST,
        "token_ttl": ttl,
        "renew_before": renew_before,
        "rotate": bool(params.get("rotate")),
        "directory_server": server or None,
        "directory_name": name,
        "verify_revoked": bool(params.get("verify_revoked")),
        "wait_timeout": params.get("wait_timeout") or 30,
        "revoke_timeout": params.get("revoke_timeout") or 30,
    }


# --- kubeconfig ---------------------------------------------------------------------------

def parse_kubeconfig(value, what="kubeconfig"):
    """A kubeconfig given as a dict or as YAML/JSON text -> dict.

    Raises MulticlusterError naming *what*; the message never quotes the
    content (it holds a credential)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise MulticlusterError("%s is not UTF-8 text" % what)
    if isinstance(value, str):
        if not value.strip():
            raise MulticlusterError("%s is empty" % what)
        if yaml is None:  # pragma: no cover
            raise MulticlusterError("PyYAML is needed to read %s" % what)
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = " (line %d)" % (mark.line + 1) if mark is not None else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise MulticlusterError("%s is not valid YAML%s: %s" % (what, where, problem)) from None
    if not isinstance(value, dict):
        raise MulticlusterError("%s is not a kubeconfig: expected a mapping with clusters, users and contexts, "
                                "got %s" % (what, type(value).__name__))
    resolve_kubeconfig(value, what)
    return value


def _named(entries, name, section, what):
    if not isinstance(entries, list):
        raise MulticlusterError("%s is not a kubeconfig: '%s' is not a list" % (what, section))
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(section[:-1])
            if not isinstance(body, dict):
                raise MulticlusterError("%s: %s entry %r has no '%s' mapping" % (what, section, name, section[:-1]))
            return body
    raise MulticlusterError("%s: %s has no entry named %r" % (what, section, name))


def resolve_kubeconfig(config, what="kubeconfig"):
    """The current context of a kubeconfig: {context, server, cluster, user}."""
    contexts = config.get("contexts")
    name = config.get("current-context")
    if not name:
        if isinstance(contexts, list) and len(contexts) == 1 and isinstance(contexts[0], dict):
            name = contexts[0].get("name")
        if not name:
            raise MulticlusterError("%s has no current-context (and not exactly one context)" % what)
    context = _named(contexts, name, "contexts", what)
    cluster = _named(config.get("clusters"), context.get("cluster"), "clusters", what)
    user = _named(config.get("users"), context.get("user"), "users", what)
    server = cluster.get("server")
    if not isinstance(server, str) or not _URL.match(server):
        raise MulticlusterError("%s: cluster %r has no server URL" % (what, context.get("cluster")))
    return {"context": name, "server": server, "cluster": cluster, "user": user}


def build_kubeconfig(server, token, ca_pem=None, name="directory"):
    """A kubeconfig with one cluster, user and context, all called *name*."""
    cluster = {"server": server}
    if ca_pem:
        if isinstance(ca_pem, str):
            ca_pem = ca_pem.encode("utf-8")
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def current_token(value):
    """(token, None) from the kubeconfig a replica holds, or (None, why not).

    Lenient on purpose: a replica whose Secret is missing or damaged simply
    gets a new credential."""
    if value is None or value == "" or value == {}:
        return None, "no current kubeconfig was given"
    try:
        resolved = resolve_kubeconfig(parse_kubeconfig(value, "current_kubeconfig"), "current_kubeconfig")
    except MulticlusterError as exc:
        return None, str(exc)
    token = resolved["user"].get("token")
    if not isinstance(token, str) or not token:
        return None, "current_kubeconfig has no user token"
    return token, None


def user_leaves(value):
    """The credential strings of a kubeconfig given as a dict or as text
    (everything under users[].user); none when it cannot be read."""
    try:
        config = parse_kubeconfig(value) if not isinstance(value, dict) else value
    except MulticlusterError:
        return set()
    return kubeconfig_user_leaves(config)


def narrow_no_log(module, option, keep=()):
    """Take a structured no_log option out of the module's output machinery.

    Ansible hides every string of a dict-valued no_log option wherever it
    appears in the result, so 'v1', 'Config', the server URL or the context
    name would show as '********' everywhere (and a token returned on purpose
    would be masked too). This keeps only *keep* (and the whole text when the
    option was given as a string) among the hidden values, and replaces the
    option in module.params, so the invocation shows the usual placeholder.
    Returns the original value."""
    value = module.params.get(option)
    if value is None or value == "":
        return value
    others = set()
    for name, spec in module.argument_spec.items():
        if name != option and spec.get("no_log") and module.params.get(name):
            others.update(secret_leaves(module.params[name]))
    keep = set(keep)
    if isinstance(value, str):
        keep.add(value)
    for leaf in set(secret_leaves(value)) - others - keep:
        module.no_log_values.discard(leaf)
    module.no_log_values.update(leaf for leaf in keep if leaf)
    module.params[option] = NO_LOG_PLACEHOLDER
    return value


# --- tokens -----------------------------------------------------------------------------------

def jwt_claims(token):
    """The claims of a JWT, decoded without verifying it; None if it is not one."""
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _int(value):
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def token_facts(token):
    """What a service-account token says about itself (type, account, bound object, expiry)."""
    claims = jwt_claims(token)
    if claims is None:
        return {"type": None}
    facts = {"type": None, "expires": _int(claims.get("exp")), "issued": _int(claims.get("iat"))}
    bound = claims.get("kubernetes.io")
    if isinstance(bound, dict):
        account = bound.get("serviceaccount") or {}
        secret = bound.get("secret") or {}
        facts.update(type=TOKEN_REQUEST, namespace=bound.get("namespace"), service_account=account.get("name"),
                     service_account_uid=account.get("uid"), secret=secret.get("name"), secret_uid=secret.get("uid"))
    elif claims.get("kubernetes.io/serviceaccount/service-account.name"):
        facts.update(type=SERVICE_ACCOUNT_TOKEN,
                     namespace=claims.get("kubernetes.io/serviceaccount/namespace"),
                     service_account=claims.get("kubernetes.io/serviceaccount/service-account.name"),
                     service_account_uid=claims.get("kubernetes.io/serviceaccount/service-account.uid"),
                     secret=claims.get("kubernetes.io/serviceaccount/secret.name"), secret_uid=None)
    return facts


def iso_time(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def renew_threshold(facts, renew_before, token_ttl=None):
    """Seconds of validity left below which a token is renewed: renew_before;
    but when the API server issued a shorter token than token_ttl asked for
    (a --service-account-max-token-expiration cap), at most half the token's
    lifetime, so that a capped token is not re-minted on every run."""
    issued, expires = facts.get("issued"), facts.get("expires")
    if token_ttl and issued is not None and expires is not None and issued < expires < issued + token_ttl:
        return min(renew_before, (expires - issued) // 2)
    return renew_before


def renewal_reason(facts, want, now):
    """Why the replica's current TokenRequest token must be replaced, or None.

    facts: token_facts() of the current token. want: namespace,
    service_account, service_account_uid, anchor, anchor_uid, renew_before,
    token_ttl (uids may be None when unknown). Pure: the TokenReview on the directory
    is a separate, later check."""
    account = "%s/%s" % (want["namespace"], want["service_account"])
    if facts.get("type") != TOKEN_REQUEST:
        return "the current token is not a TokenRequest token bound to Secret %s/%s" % (
            want["namespace"], want["anchor"])
    if (facts.get("namespace"), facts.get("service_account")) != (want["namespace"], want["service_account"]):
        return "the current token belongs to ServiceAccount %s/%s, not %s" % (
            facts.get("namespace"), facts.get("service_account"), account)
    if want.get("service_account_uid") and facts.get("service_account_uid") != want["service_account_uid"]:
        return "the current token was issued to an earlier ServiceAccount %s (since re-created)" % account
    if facts.get("secret") != want["anchor"]:
        return "the current token is bound to %s, not to the anchor Secret %s" % (
            "Secret %s" % facts["secret"] if facts.get("secret") else "no Secret", want["anchor"])
    if want.get("anchor_uid") and facts.get("secret_uid") != want["anchor_uid"]:
        return "the current token is bound to an earlier anchor Secret %s (re-created since, which revoked it)" % (
            want["anchor"])
    expires = facts.get("expires")
    if expires is None:
        return "the current token has no expiry time"
    if expires <= now:
        return "the current token expired at %s" % iso_time(expires)
    threshold = renew_threshold(facts, want["renew_before"], want.get("token_ttl"))
    if expires - now <= threshold:
        return "the current token expires at %s, within %d seconds (renew_before)" % (iso_time(expires), threshold)
    return None


def token_secret_problem(secret, replica, service_account_uid=None):
    """Why an existing explicit service-account token Secret must be replaced, or None."""
    meta = secret.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    where = "%s/%s" % (meta.get("namespace"), meta.get("name"))
    if secret.get("type") != SA_TOKEN_TYPE:
        return "Secret %s is of type %s, not %s" % (where, secret.get("type"), SA_TOKEN_TYPE)
    if annotations.get(SA_NAME_ANNOTATION) != replica:
        return "Secret %s is for ServiceAccount %r, not %r" % (where, annotations.get(SA_NAME_ANNOTATION), replica)
    uid = annotations.get(SA_UID_ANNOTATION)
    if service_account_uid and uid and uid != service_account_uid:
        return "Secret %s holds the token of an earlier ServiceAccount %s (since re-created)" % (where, replica)
    return None


def secret_token(secret):
    """The token a filled service-account token Secret holds, or None."""
    encoded = ((secret or {}).get("data") or {}).get("token")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        return None


# --- desired objects and views ------------------------------------------------------------

def _labels(replica):
    return {PART_OF_LABEL: PART_OF, REPLICA_LABEL: replica}


def desired_service_account(replica):
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": replica, "namespace": NAMESPACE, "labels": _labels(replica)}}


def desired_binding(replica):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": object_names(replica)["binding"], "labels": _labels(replica)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": replica, "namespace": NAMESPACE}],
    }


def desired_anchor(replica):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": object_names(replica)["anchor"], "namespace": NAMESPACE,
                         "labels": _labels(replica),
                         "annotations": {"multicluster.coreos.com/purpose":
                                         "tokens of replica %s are bound to this Secret; deleting it revokes them"
                                         % replica}}}


def desired_token_secret(replica, service_account_uid=None):
    annotations = {SA_NAME_ANNOTATION: replica}
    if service_account_uid:
        annotations[SA_UID_ANNOTATION] = service_account_uid
    return {"apiVersion": "v1", "kind": "Secret", "type": SA_TOKEN_TYPE,
            "metadata": {"name": object_names(replica)["token_secret"], "namespace": NAMESPACE,
                         "labels": _labels(replica), "annotations": annotations}}


def _subject(entry):
    return "%s %s/%s" % (entry.get("kind"), entry.get("namespace") or "", entry.get("name"))


def binding_view(obj):
    if obj is None:
        return None
    ref = obj.get("roleRef") or {}
    return {"name": (obj.get("metadata") or {}).get("name"),
            "role_ref": "%s %s" % (ref.get("kind"), ref.get("name")),
            "subjects": sorted(_subject(s) for s in obj.get("subjects") or [] if isinstance(s, dict))}


def plan_binding(existing, replica):
    """None (as wanted), 'create', 'patch' (subjects differ) or 'replace' (roleRef is immutable)."""
    want = desired_binding(replica)
    if existing is None:
        return "create"
    have, wanted = binding_view(existing), binding_view(want)
    if have["role_ref"] != wanted["role_ref"]:
        return "replace"
    if have["subjects"] != wanted["subjects"]:
        return "patch"
    return None


def object_view(obj):
    """Name and uid of an object (the uid changes when it is replaced)."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    view = {"name": meta.get("name"), "uid": meta.get("uid") or NEW_OBJECT}
    if meta.get("namespace"):
        view["namespace"] = meta["namespace"]
    if obj.get("type"):
        view["type"] = obj["type"]
    return view


def credential_view(credential_type, token, hash_fn):
    if token is None:
        return None
    facts = token_facts(token) if token != NEW_TOKEN else {}
    return {"type": credential_type, "token": token if token == NEW_TOKEN else hash_fn(token),
            "expires_at": iso_time(facts.get("expires"))}


def hash_token(token):
    """'sha256:<16 hex>' of a token, the only form it takes in diffs and results."""
    return hash_secret_data({"token": token})["token"]


# --- applying it to the directory (a ClusterClient) ------------------------------------------

class _Directory:
    """The calls this module makes, each named for error messages."""

    def __init__(self, client, replica):
        self.client = client
        self.replica = replica
        self.names = object_names(replica)

    def _dict(self, obj):
        return None if obj is None else self.client.to_dict(obj)

    def _ns(self, name):
        return "%s/%s" % (NAMESPACE, name)

    def _create(self, create, read):
        """create(), or on 409 AlreadyExists (a concurrent run created it) the object read again."""
        try:
            return create()
        except MulticlusterError as exc:
            if exc.details.get("status") != 409 or self.client.check_mode:
                raise
            found = read()
            if found is None:
                raise
            return found

    def read_service_account(self):
        c = self.client
        return self._dict(c.read("ServiceAccount", self._ns(self.replica), c.core.read_namespaced_service_account,
                                 self.replica, NAMESPACE))

    def create_service_account(self):
        c = self.client
        return self._create(lambda: self._dict(c.call(
            "create", "ServiceAccount", self._ns(self.replica), c.core.create_namespaced_service_account, NAMESPACE,
            desired_service_account(self.replica), dry_run=c.dry_run)), self.read_service_account)

    def delete_service_account(self):
        c = self.client
        return c.delete("ServiceAccount", self._ns(self.replica), c.core.delete_namespaced_service_account,
                        self.replica, NAMESPACE, dry_run=c.dry_run)

    def read_binding(self):
        c = self.client
        name = self.names["binding"]
        return self._dict(c.read("ClusterRoleBinding", name, c.rbac.read_cluster_role_binding, name))

    def create_binding(self):
        c = self.client
        return self._create(lambda: self._dict(c.call(
            "create", "ClusterRoleBinding", self.names["binding"], c.rbac.create_cluster_role_binding,
            desired_binding(self.replica), dry_run=c.dry_run)), self.read_binding)

    def patch_binding(self):
        c = self.client
        name = self.names["binding"]
        body = {"subjects": desired_binding(self.replica)["subjects"]}
        return self._dict(c.call("update", "ClusterRoleBinding", name, c.rbac.patch_cluster_role_binding,
                                 name, body, dry_run=c.dry_run))

    def delete_binding(self):
        c = self.client
        name = self.names["binding"]
        return c.delete("ClusterRoleBinding", name, c.rbac.delete_cluster_role_binding, name, dry_run=c.dry_run)

    def read_secret(self, name):
        c = self.client
        return self._dict(c.read("Secret", self._ns(name), c.core.read_namespaced_secret, name, NAMESPACE))

    def create_secret(self, body):
        c = self.client
        name = body["metadata"]["name"]
        return self._create(lambda: self._dict(c.call(
            "create", "Secret", self._ns(name), c.core.create_namespaced_secret, NAMESPACE, body, dry_run=c.dry_run)),
            lambda: self.read_secret(name))

    def delete_secret(self, name):
        c = self.client
        return c.delete("Secret", self._ns(name), c.core.delete_namespaced_secret, name, NAMESPACE,
                        dry_run=c.dry_run)

    def account_token_secrets(self):
        """Names of every service-account token Secret of the replica's account
        (the ones the v1.20 token controller makes by itself included)."""
        c = self.client
        found = self._dict(c.call("list", "Secrets", "in namespace %s" % NAMESPACE, c.core.list_namespaced_secret,
                                  NAMESPACE, field_selector="type=%s" % SA_TOKEN_TYPE))
        names = []
        for item in (found or {}).get("items") or []:
            meta = item.get("metadata") or {}
            if (meta.get("annotations") or {}).get(SA_NAME_ANNOTATION) == self.replica:
                names.append(meta.get("name"))
        return sorted(names)

    def review(self, token):
        """(accepted as this replica's account?, why not) by a TokenReview."""
        c = self.client
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        status = (self._dict(c.call("review", "token of ServiceAccount", self._ns(self.replica),
                                    c.authn.create_token_review, body)) or {}).get("status") or {}
        expected = "system:serviceaccount:%s:%s" % (NAMESPACE, self.replica)
        if not status.get("authenticated"):
            return False, "the directory refuses the current token (TokenReview: %s)" % (
                status.get("error") or "not authenticated")
        user = (status.get("user") or {}).get("username")
        if user != expected:
            return False, "the current token authenticates as %s, not %s" % (user, expected)
        return True, None

    def request_token(self, ttl, anchor):
        c = self.client
        meta = anchor["metadata"]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [], "expirationSeconds": ttl,
                         "boundObjectRef": {"apiVersion": "v1", "kind": "Secret", "name": meta["name"],
                                            "uid": meta["uid"]}}}
        result = self._dict(c.call("request", "token for ServiceAccount", self._ns(self.replica),
                                   c.core.create_namespaced_service_account_token, self.replica, NAMESPACE, body))
        token = ((result or {}).get("status") or {}).get("token")
        if not token:
            raise MulticlusterError("request token for ServiceAccount %s on cluster '%s': the API returned no token"
                                    % (self._ns(self.replica), c.label))
        return token


def _uid(obj):
    return ((obj or {}).get("metadata") or {}).get("uid")


def _ensure_account(directory, before, after):
    """ServiceAccount and ClusterRoleBinding; returns the account (None in a
    check-mode run that would create it)."""
    account = directory.read_service_account()
    before["service_account"] = object_view(account)
    created = False
    if account is None:
        account = directory.create_service_account()
        created = True
    after["service_account"] = object_view(account)
    if created and directory.client.check_mode:
        after["service_account"]["uid"] = NEW_OBJECT

    binding = directory.read_binding()
    before["cluster_role_binding"] = binding_view(binding)
    action = plan_binding(binding, directory.replica)
    if action == "create":
        binding = directory.create_binding()
    elif action == "patch":
        binding = directory.patch_binding()
    elif action == "replace":
        directory.delete_binding()
        binding = desired_binding(directory.replica) if directory.client.check_mode else directory.create_binding()
    after["cluster_role_binding"] = binding_view(binding)
    return None if created and directory.client.check_mode else account


def _replace_secret(directory, name, body, existing, replace):
    """(secret after, created?) - create *body* if missing, or replace it."""
    if existing is not None and not replace:
        return existing, False
    if existing is not None:
        directory.delete_secret(name)
        if directory.client.check_mode:
            return dict(body, metadata=dict(body["metadata"], uid=NEW_OBJECT)), True
    created = directory.create_secret(body)
    if directory.client.check_mode:
        created = dict(created, metadata=dict(created.get("metadata") or {}, uid=NEW_OBJECT))
    return created, True


def _ensure_token_request(directory, settings, account, current, before, after, now):
    """Anchor Secret and, unless the replica's current token is still good, a new token."""
    names = directory.names
    explicit = directory.read_secret(names["token_secret"])
    before["token_secret"] = object_view(explicit)
    if explicit is not None:  # switching from service_account_token: revoke that long-lived token
        directory.delete_secret(names["token_secret"])
    after["token_secret"] = None

    anchor = directory.read_secret(names["anchor"])
    before["credential_anchor"] = object_view(anchor)
    anchor, anchor_created = _replace_secret(directory, names["anchor"], desired_anchor(directory.replica),
                                             anchor, settings["rotate"])
    after["credential_anchor"] = object_view(anchor)

    token, problem = current
    before["credential"] = credential_view(token_facts(token)["type"] if token else None, token, hash_token)
    if settings["rotate"]:
        reason = "rotation was asked for (rotate=true)"
    elif token is None:
        reason = problem
    elif account is None:
        reason = "ServiceAccount %s/%s does not exist yet" % (NAMESPACE, directory.replica)
    elif anchor_created:
        reason = "the anchor Secret %s/%s did not exist" % (NAMESPACE, names["anchor"])
    else:
        reason = renewal_reason(token_facts(token), {
            "namespace": NAMESPACE, "service_account": directory.replica,
            "service_account_uid": _uid(account), "anchor": names["anchor"], "anchor_uid": _uid(anchor),
            "renew_before": settings["renew_before"], "token_ttl": settings["token_ttl"]}, now)
        if reason is None:
            _accepted, reason = directory.review(token)
    if reason is not None:
        token = None if directory.client.check_mode else directory.request_token(settings["token_ttl"], anchor)
    after["credential"] = credential_view(TOKEN_REQUEST, token or NEW_TOKEN, hash_token)
    return token, reason


def _wait_for_token(directory, settings, secret, account, sleep, clock):
    """The token controller fills a new service-account token Secret; wait for it."""
    name = directory.names["token_secret"]
    deadline = clock() + settings["wait_timeout"]
    while True:
        token = secret_token(secret)
        if token:
            return secret, token
        if clock() >= deadline:
            raise MulticlusterError(
                "wait for the token of Secret %s/%s on cluster '%s': the token controller did not fill it within %ds "
                "(is kube-controller-manager running?)" % (NAMESPACE, name, directory.client.label,
                                                           settings["wait_timeout"]))
        sleep(0.5)
        secret = directory.read_secret(name)
        if secret is None:  # the controller dropped it (it did not know the new account yet): again
            secret = directory.create_secret(desired_token_secret(directory.replica, _uid(account)))


def _ensure_service_account_token(directory, settings, account, before, after, sleep, clock):
    """A long-lived token Secret, created explicitly (the way that works on 1.24+ too)."""
    names = directory.names
    anchor = directory.read_secret(names["anchor"])
    before["credential_anchor"] = object_view(anchor)
    if anchor is not None:  # switching from token_request: deleting the anchor revokes those tokens
        directory.delete_secret(names["anchor"])
    after["credential_anchor"] = None

    secret = directory.read_secret(names["token_secret"])
    before["token_secret"] = object_view(secret)
    before["credential"] = credential_view(SERVICE_ACCOUNT_TOKEN, secret_token(secret), hash_token)
    if secret is None:
        reason = "Secret %s/%s does not exist" % (NAMESPACE, names["token_secret"])
    elif settings["rotate"]:
        reason = "rotation was asked for (rotate=true)"
    else:
        reason = token_secret_problem(secret, directory.replica, _uid(account))
    secret, created = _replace_secret(directory, names["token_secret"],
                                      desired_token_secret(directory.replica, _uid(account)), secret,
                                      reason is not None)
    if not directory.client.check_mode:
        secret, token = _wait_for_token(directory, settings, secret, account, sleep, clock)
    else:
        token = None if created else secret_token(secret)
    after["token_secret"] = object_view(secret)
    after["credential"] = credential_view(SERVICE_ACCOUNT_TOKEN, token or NEW_TOKEN, hash_token)
    return token, reason if created else None


def _result(settings, before, after, token, reason, server, ca_pem, revoked=None):
    facts = token_facts(token) if token else {}
    names = object_names(settings["name"])
    result = {
        "changed": before != after,
        "kubeconfig": build_kubeconfig(server, token, ca_pem, settings["directory_name"]) if token else None,
        "credential": {
            "type": settings["credential_type"],
            "minted": reason is not None,
            "reason": reason,
            "expires_at": iso_time(facts.get("expires")),
            "token_sha256": hash_token(token) if token else None,
        },
        "service_account": "%s/%s" % (NAMESPACE, names["service_account"]),
        "cluster_role_binding": names["binding"],
        "credential_secret": "%s/%s" % (NAMESPACE, names["anchor"] if settings["credential_type"] == TOKEN_REQUEST
                                        else names["token_secret"]),
        "diff": {"before": before, "after": after},
    }
    if revoked is not None:
        result["revoked"] = revoked
    return result


def ensure_present(client, params, now=None, sleep=time.sleep, clock=time.monotonic, probe=None):
    """Ensure the replica's account, binding and a usable credential on the directory *client*.

    params: the module's options (current_kubeconfig raw, not masked).
    Returns {changed, kubeconfig, credential, ..., diff}; kubeconfig is None
    in check mode when a new token would be minted."""
    settings = validate(params)
    current = current_token(params.get("current_kubeconfig"))
    if settings["verify_revoked"] and current[0] is None:
        raise MulticlusterError("verify_revoked needs the old token: %s" % current[1])
    now = time.time() if now is None else now
    directory = _Directory(client, settings["name"])
    before, after = {}, {}
    account = _ensure_account(directory, before, after)
    if settings["credential_type"] == SERVICE_ACCOUNT_TOKEN:
        token, reason = _ensure_service_account_token(directory, settings, account, before, after, sleep, clock)
    else:
        token, reason = _ensure_token_request(directory, settings, account, current, before, after, now)
    revoked = None
    if settings["verify_revoked"] and not client.check_mode and current[0] != token:
        revoked = wait_refused(client, settings, current[0], sleep, clock, probe)
    return _result(settings, before, after, token, reason, settings["directory_server"] or client.server,
                   client.ca_data(), revoked)


def ensure_absent(client, params, sleep=time.sleep, clock=time.monotonic, probe=None, token_unknown=None):
    """Revoke everything the directory holds for the replica: binding, account,
    anchor Secret, token Secrets. With verify_revoked, poll with the old token
    until the directory refuses it.

    token_unknown: why the old token cannot be had (the replica holds none, or
    cannot be read); verify_revoked then tests nothing and says so in
    revocation_check, instead of failing: a replica gone for good, or one
    de-registered already, is still de-registered."""
    settings = validate(params)
    token, problem = current_token(params.get("current_kubeconfig"))
    if settings["verify_revoked"] and token is None and not token_unknown:
        raise MulticlusterError("verify_revoked needs the old token: %s" % problem)
    directory = _Directory(client, settings["name"])
    names = directory.names
    binding = directory.read_binding()
    account = directory.read_service_account()
    anchor = directory.read_secret(names["anchor"])
    explicit = directory.read_secret(names["token_secret"])
    token_secrets = directory.account_token_secrets()
    before = {"service_account": object_view(account), "cluster_role_binding": binding_view(binding),
              "credential_anchor": object_view(anchor), "token_secret": object_view(explicit),
              "token_secrets": token_secrets or None}
    after = dict.fromkeys(before)
    # the binding first (no more access), then the account (so that the token
    # controller does not re-create its token Secrets), then the Secrets
    if binding is not None:
        directory.delete_binding()
    if account is not None:
        directory.delete_service_account()
    secrets = set(token_secrets)
    secrets.update(name for name, obj in ((names["anchor"], anchor), (names["token_secret"], explicit)) if obj)
    for name in sorted(secrets):
        directory.delete_secret(name)
    revoked = None
    if settings["verify_revoked"] and token is not None and not client.check_mode:
        revoked = wait_refused(client, settings, token, sleep, clock, probe)
    result = {
        "changed": before != after,
        "kubeconfig": None,
        "diff": {"before": before, "after": after},
        "service_account": "%s/%s" % (NAMESPACE, names["service_account"]),
        "cluster_role_binding": names["binding"],
    }
    if revoked is not None:
        result["revoked"] = revoked
    if settings["verify_revoked"]:
        result["revocation_check"] = ("old token refused" if revoked else
                                      "not tested: %s" % token_unknown if token is None else
                                      "not tested in check mode")
    return result


# --- proving a token is refused ------------------------------------------------------------

def token_probe(client, token):
    """A function returning the HTTP status of one real request to the
    directory made with *token* alone (no client certificate)."""
    base = client.api_client.configuration
    config = k8s_client.Configuration()
    config.host = client.server
    config.verify_ssl = base.verify_ssl
    config.ssl_ca_cert = base.ssl_ca_cert
    if getattr(base, "ca_cert_data", None) is not None:
        config.ca_cert_data = base.ca_cert_data
    config.assert_hostname = getattr(base, "assert_hostname", None)
    if getattr(base, "tls_server_name", None):
        config.tls_server_name = base.tls_server_name
    config.proxy = base.proxy
    config.api_key = {"BearerToken": "Bearer " + token, "authorization": "Bearer " + token}
    api = k8s_client.CoreApi(k8s_client.ApiClient(config))

    def probe():
        try:
            api.get_api_versions(_request_timeout=10)
            return 200, None
        except k8s_client.ApiException as exc:
            return exc.status, None
        except Exception as exc:  # pylint: disable=broad-except
            return None, "%s: %s" % (type(exc).__name__, exc)

    return probe


def wait_refused(client, settings, token, sleep=time.sleep, clock=time.monotonic, probe=None):
    """Poll with the old token until the directory answers 401 (the API server
    caches token authentications for about 10 seconds). True, or raises."""
    probe = probe or token_probe(client, token)
    deadline = clock() + settings["revoke_timeout"]
    while True:
        status, error = probe()
        if status == 401:
            return True
        if clock() >= deadline:
            raise MulticlusterError(
                "verify revocation of the credential of replica %s on cluster '%s': the old token is still %s after "
                "%ds" % (settings["name"], client.label, "accepted (HTTP %s)" % status if status else
                         "not refused (%s)" % error, settings["revoke_timeout"]))
        sleep(1)
