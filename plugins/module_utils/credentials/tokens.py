# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service-account tokens: what a token says about itself (JWT claims, read
without verifying), and the renewal policy - when the token a replica holds
must be replaced. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import math

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time

TOKEN_REQUEST = "token_request"
SERVICE_ACCOUNT_TOKEN = "service_account_token"

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"


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


_LATEST = 253402300799  # 9999-12-31T23:59:59Z: a claim beyond it is not a time


def _int(value):
    """A time claim as whole seconds, or None (not a number, not finite, or past year 9999)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if not math.isfinite(value) or abs(value) > _LATEST:
        return None
    return int(value)


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
