# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue, renew and revoke a replica's view-only credential on the directory
(mc_replica_credentials): the ServiceAccount, its ClusterRoleBinding, and a
token - a TokenRequest token bound to an anchor Secret (default) or a
long-lived service-account token Secret - through one ClusterClient.

The token is kept nowhere on the directory, so the caller hands back the one
the replica holds (current_kubeconfig) and the renewal policy (tokens.py)
decides whether it is still good.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply, wait
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig, current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import hash_token
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.objects import (
    NEW_TOKEN, as_new, binding_view, credential_view, desired_anchor, desired_binding,
    desired_service_account, desired_token_secret, object_names, object_view)
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import health_grants
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.revocation import wait_refused
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.tokens import (
    SA_NAME_ANNOTATION, SA_TOKEN_TYPE, SERVICE_ACCOUNT_TOKEN, TOKEN_REQUEST, renewal_reason, secret_token,
    token_facts, token_secret_problem)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    Settings, settled, validate_https_url, validate_name)
from ansible_collections.coreos.multicluster.plugins.module_utils import names

DEFAULT_TOKEN_TTL = 30 * 24 * 3600
DEFAULT_RENEW_BEFORE = 7 * 24 * 3600
MIN_TOKEN_TTL = 600  # the TokenRequest API refuses shorter tokens


def credential_options():
    """The argument spec of the credential's options, shared by mc_replica_credentials and mc_replica_onboarding."""
    return dict(
        credential_type=dict(type="str", choices=[TOKEN_REQUEST, SERVICE_ACCOUNT_TOKEN], default=TOKEN_REQUEST),
        token_ttl=dict(type="int", default=DEFAULT_TOKEN_TTL, no_log=False),
        renew_before=dict(type="int", default=DEFAULT_RENEW_BEFORE),
        rotate=dict(type="bool", default=False),
        directory_server=dict(type="str"),
        directory_name=dict(type="str", default="directory"),
    )


def validate(params):
    """Refuse bad input before anything is read or written; returns the settings."""
    validate_name(params.get("name"), "replica name")
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
    if server not in (None, ""):
        validate_https_url(server, "directory_server")
    name = params.get("directory_name") or "directory"
    if not isinstance(name, str) or re.search(r"\s", name):
        raise MulticlusterError("directory_name %r must be a name without white space" % (name,))
    for option in ("wait_timeout", "revoke_timeout"):
        if params.get(option) is not None and params[option] <= 0:
            raise MulticlusterError("%s must be a positive number of seconds" % option)
    if params.get("verify_revoked") and state == "present" and not params.get("rotate"):
        raise MulticlusterError("verify_revoked applies to state=absent or rotate=true, when an old token "
                                "is revoked")
    return Settings({
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
        "current_kubeconfig": params.get("current_kubeconfig"),  # data read from the replica, for its token only
    })


def _uid(obj):
    return ((obj or {}).get("metadata") or {}).get("uid")


def _ensure_account(client, replica, health, before, after):
    """ServiceAccount, ClusterRoleBinding and the health part (health_grants, from its read() *health*); returns
    the account (None in a check-mode run that would create it)."""
    account = client.get("ServiceAccount", replica, names.CREDENTIALS_NAMESPACE)
    before["service_account"] = object_view(account)
    created = False
    if account is None:
        account, created = client.create_or_get(desired_service_account(replica))
    after["service_account"] = object_view(as_new(account) if created and client.check_mode else account)

    binding = desired_binding(replica)  # roleRef is immutable: another role is a delete and create
    done = apply.converge(client, "ClusterRoleBinding", None, binding["metadata"]["name"], lambda live: binding,
                          action="update")
    before["cluster_role_binding"] = binding_view(done.before)
    after["cluster_role_binding"] = binding_view(done.after)
    health_grants.ensure(client, replica, health, before, after)
    return None if created and client.check_mode else account


def _replace_secret(client, body, existing, replace):
    """(secret after, created?) - create *body* if missing, or replace it."""
    if existing is not None and not replace:
        return existing, False
    if existing is not None:
        client.delete("Secret", body["metadata"]["name"], names.CREDENTIALS_NAMESPACE)
        if client.check_mode:
            return as_new(body), True
    created = client.create_or_get(body)[0]
    return (as_new(created) if client.check_mode else created), True


def review(client, replica, token):
    """(accepted as this replica's account?, why not) by a TokenReview."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    try:
        status = client.create(body).get("status") or {}
    except MulticlusterError as exc:
        raise MulticlusterError("review the current token of ServiceAccount %s/%s on cluster '%s': %s" % (
            names.CREDENTIALS_NAMESPACE, replica, client.label, str(exc).split(": ", 1)[-1]), cluster=client.label,
            details=exc.details) from None
    expected = "system:serviceaccount:%s:%s" % (names.CREDENTIALS_NAMESPACE, replica)
    if not status.get("authenticated"):
        return False, "the directory refuses the current token (TokenReview: %s)" % (
            status.get("error") or "not authenticated")
    user = (status.get("user") or {}).get("username")
    if user != expected:
        return False, "the current token authenticates as %s, not %s" % (user, expected)
    return True, None


def request_token(client, replica, ttl, anchor):
    meta = anchor["metadata"]
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"namespace": names.CREDENTIALS_NAMESPACE},
            "spec": {"audiences": [], "expirationSeconds": ttl,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Secret", "name": meta["name"],
                                        "uid": meta["uid"]}}}
    token = (client.create(body, parent=replica).get("status") or {}).get("token")
    if not token:
        raise MulticlusterError("request token for ServiceAccount %s/%s on cluster '%s': the API returned no token"
                                % (names.CREDENTIALS_NAMESPACE, replica, client.label))
    return token


def _ensure_token_request(client, settings, account, current, before, after, now):
    """Anchor Secret and, unless the replica's current token is still good, a new token."""
    replica = settings["name"]
    own = object_names(replica)
    explicit = client.get("Secret", own["token_secret"], names.CREDENTIALS_NAMESPACE)
    before["token_secret"] = object_view(explicit)
    if explicit is not None:  # switching from service_account_token: revoke that long-lived token
        client.delete("Secret", own["token_secret"], names.CREDENTIALS_NAMESPACE)
    after["token_secret"] = None

    anchor = client.get("Secret", own["anchor"], names.CREDENTIALS_NAMESPACE)
    before["credential_anchor"] = object_view(anchor)
    anchor, anchor_created = _replace_secret(client, desired_anchor(replica), anchor, settings["rotate"])
    after["credential_anchor"] = object_view(anchor)

    token, problem = current
    before["credential"] = credential_view(token_facts(token)["type"] if token else None, token)
    if settings["rotate"]:
        reason = "rotation was asked for (rotate=true)"
    elif token is None:
        reason = problem
    elif account is None:
        reason = "ServiceAccount %s/%s does not exist yet" % (names.CREDENTIALS_NAMESPACE, replica)
    elif anchor_created:
        reason = "the anchor Secret %s/%s did not exist" % (names.CREDENTIALS_NAMESPACE, own["anchor"])
    else:
        reason = renewal_reason(token_facts(token), {
            "namespace": names.CREDENTIALS_NAMESPACE, "service_account": replica,
            "service_account_uid": _uid(account), "anchor": own["anchor"], "anchor_uid": _uid(anchor),
            "renew_before": settings["renew_before"], "token_ttl": settings["token_ttl"]}, now)
        if reason is None:
            reason = review(client, replica, token)[1]
    if reason is not None:
        token = None if client.check_mode else request_token(client, replica, settings["token_ttl"], anchor)
    after["credential"] = credential_view(TOKEN_REQUEST, token or NEW_TOKEN)
    return token, reason


def _wait_for_token(client, settings, secret, account, sleep, clock):
    """The token controller fills a new service-account token Secret; wait for it."""
    name = object_names(settings["name"])["token_secret"]
    tries = []

    def filled():
        current = secret
        if tries:  # after the first try, read it again
            current = client.get("Secret", name, names.CREDENTIALS_NAMESPACE)
            if current is None:  # the controller dropped it (it did not know the new account yet): again
                current = client.create_or_get(desired_token_secret(settings["name"], _uid(account)))[0]
        tries.append(1)
        token = secret_token(current)
        return bool(token), (current, token)

    def not_filled(_last):
        return MulticlusterError(
            "wait for the token of Secret %s/%s on cluster '%s': the token controller did not fill it within %ds "
            "(is kube-controller-manager running?)"
            % (names.CREDENTIALS_NAMESPACE, name, client.label, settings["wait_timeout"]))
    return wait.until(filled, settings["wait_timeout"], 0.5, not_filled, sleep, clock)


def _ensure_service_account_token(client, settings, account, before, after, sleep, clock):
    """A long-lived token Secret, created explicitly (the way that works on 1.24+ too)."""
    replica = settings["name"]
    own = object_names(replica)
    anchor = client.get("Secret", own["anchor"], names.CREDENTIALS_NAMESPACE)
    before["credential_anchor"] = object_view(anchor)
    if anchor is not None:  # switching from token_request: deleting the anchor revokes those tokens
        client.delete("Secret", own["anchor"], names.CREDENTIALS_NAMESPACE)
    after["credential_anchor"] = None

    secret = client.get("Secret", own["token_secret"], names.CREDENTIALS_NAMESPACE)
    before["token_secret"] = object_view(secret)
    before["credential"] = credential_view(SERVICE_ACCOUNT_TOKEN, secret_token(secret))
    if secret is None:
        reason = "Secret %s/%s does not exist" % (names.CREDENTIALS_NAMESPACE, own["token_secret"])
    elif settings["rotate"]:
        reason = "rotation was asked for (rotate=true)"
    else:
        reason = token_secret_problem(secret, replica, _uid(account))
    secret, created = _replace_secret(client, desired_token_secret(replica, _uid(account)), secret,
                                      reason is not None)
    if not client.check_mode:
        secret, token = _wait_for_token(client, settings, secret, account, sleep, clock)
    else:
        token = None if created else secret_token(secret)
    after["token_secret"] = object_view(secret)
    after["credential"] = credential_view(SERVICE_ACCOUNT_TOKEN, token or NEW_TOKEN)
    return token, reason if created else None


def _summary(settings, before, after):
    own = object_names(settings["name"])
    return {
        "changed": before != after,
        "diff": {"before": before, "after": after},
        "service_account": "%s/%s" % (names.CREDENTIALS_NAMESPACE, own["service_account"]),
        "cluster_role_binding": own["binding"],
    }


def ensure_present(client, params, now=None, sleep=time.sleep, clock=time.monotonic, probe=None,
                   current_what="current_kubeconfig"):
    """Ensure the replica's account, binding and a usable credential on the directory *client*.

    params: the module's options (current_kubeconfig raw, not masked: read as
    data, for its token only; *current_what* names it in messages). A current
    kubeconfig that kubeconfig.read_credential refuses is no token: a new one
    is minted, and credential.reason says why.
    Returns {changed, kubeconfig, credential, ..., diff}; kubeconfig is None
    in check mode when a new token would be minted."""
    settings = settled(params, validate)
    if not settings["directory_server"]:
        # the address the module connects to goes into the credential: it too must be https
        validate_https_url(client.server, "the directory's address (directory_server not given: the server the "
                                          "module connects to)")
    current = current_token(settings["current_kubeconfig"], current_what)
    if settings["verify_revoked"] and current[0] is None:
        raise MulticlusterError("verify_revoked needs the old token: %s" % current[1])
    now = time.time() if now is None else now
    before, after = {}, {}
    health = health_grants.read(client, settings["name"])
    health_grants.check(client, health, settings["name"])  # before anything is written
    account = _ensure_account(client, settings["name"], health, before, after)
    if settings["credential_type"] == SERVICE_ACCOUNT_TOKEN:
        token, reason = _ensure_service_account_token(client, settings, account, before, after, sleep, clock)
    else:
        token, reason = _ensure_token_request(client, settings, account, current, before, after, now)
    result = _summary(settings, before, after)
    own = object_names(settings["name"])
    facts = token_facts(token) if token else {}
    server = settings["directory_server"] or client.server  # https, checked above
    result.update({
        "kubeconfig": build_kubeconfig(server, token, client.ca_data(), settings["directory_name"]) if token else None,
        "credential": {"type": settings["credential_type"], "minted": reason is not None, "reason": reason,
                       "expires_at": iso_time(facts.get("expires")),
                       "token_sha256": hash_token(token) if token else None},
        "credential_secret": "%s/%s" % (names.CREDENTIALS_NAMESPACE, own["anchor"] if settings["credential_type"] == TOKEN_REQUEST
                                        else own["token_secret"]),
    })
    if settings["verify_revoked"] and not client.check_mode and current[0] != token:
        result["revoked"] = wait_refused(client, settings["name"], current[0], settings["revoke_timeout"], sleep,
                                         clock, probe)
    return result


def account_token_secrets(client, replica):
    """Names of every service-account token Secret of the replica's account
    (the ones the v1.20 token controller makes by itself included)."""
    items = client.list("Secret", names.CREDENTIALS_NAMESPACE, field_selector="type=%s" % SA_TOKEN_TYPE)[0]
    return sorted(item["metadata"]["name"] for item in items
                  if ((item.get("metadata") or {}).get("annotations") or {}).get(SA_NAME_ANNOTATION) == replica)


def ensure_absent(client, params, sleep=time.sleep, clock=time.monotonic, probe=None, token_unknown=None):
    """Revoke everything the directory holds for the replica: binding, account,
    anchor Secret, token Secrets. With verify_revoked, poll with the old token
    until the directory refuses it.

    token_unknown: why the old token cannot be had (the replica holds none, or
    cannot be read); verify_revoked then tests nothing and says so in
    revocation_check, instead of failing: a replica gone for good, or one
    de-registered already, is still de-registered."""
    settings = settled(params, validate)
    replica = settings["name"]
    token, problem = current_token(settings["current_kubeconfig"])
    if settings["verify_revoked"] and token is None and not token_unknown:
        raise MulticlusterError("verify_revoked needs the old token: %s" % problem)
    own = object_names(replica)
    binding = client.get("ClusterRoleBinding", own["binding"])
    account = client.get("ServiceAccount", replica, names.CREDENTIALS_NAMESPACE)
    anchor = client.get("Secret", own["anchor"], names.CREDENTIALS_NAMESPACE)
    explicit = client.get("Secret", own["token_secret"], names.CREDENTIALS_NAMESPACE)
    token_secrets = account_token_secrets(client, replica)
    health = health_grants.read(client, replica)
    before = {"service_account": object_view(account), "cluster_role_binding": binding_view(binding),
              "credential_anchor": object_view(anchor), "token_secret": object_view(explicit),
              "token_secrets": token_secrets or None}
    before.update(health_grants.views(health, replica))
    after = dict.fromkeys(before)
    # the bindings first (no more access), then the account (so that the token
    # controller does not re-create its token Secrets), then the Secrets, the grants' roles and the Lease
    if binding is not None:
        client.delete("ClusterRoleBinding", own["binding"])
    health_grants.remove(client, health, bindings=True, replica=replica)
    if account is not None:
        client.delete("ServiceAccount", replica, names.CREDENTIALS_NAMESPACE)
    secrets = set(token_secrets)
    secrets.update(name for name, obj in ((own["anchor"], anchor), (own["token_secret"], explicit)) if obj)
    for name in sorted(secrets):
        client.delete("Secret", name, names.CREDENTIALS_NAMESPACE)
    health_grants.remove(client, health, bindings=False, replica=replica)
    result = _summary(settings, before, after)
    result["kubeconfig"] = None
    revoked = None
    if settings["verify_revoked"] and token is not None and not client.check_mode:
        revoked = result["revoked"] = wait_refused(client, replica, token, settings["revoke_timeout"], sleep, clock,
                                                   probe)
    if settings["verify_revoked"]:
        result["revocation_check"] = ("old token refused" if revoked else
                                      "not tested: %s" % token_unknown if token is None else
                                      "not tested in check mode")
    return result
