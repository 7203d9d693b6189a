"""Service-account tokens as kube-apiserver issues them (unsigned: the code under
test reads claims, it never verifies), and replica-credential parameters."""

import base64
import json

from ansible_collections.coreos.multicluster.plugins.module_utils import names

NOW = 1_800_000_000
SERVER = "https://directory.example.com:6443"
CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt(claims):
    return "%s.%s.%s" % (b64url({"alg": "RS256", "kid": "k"}), b64url(claims), "c2lnbmF0dXJl")


def bound_token(sa_uid="sa-1", anchor_uid="an-1", exp=NOW + 30 * 86400, iat=NOW, name="east",
                anchor="east-credential-anchor", namespace=names.CREDENTIALS_NAMESPACE, jti=0):
    return jwt({"jti": jti, "aud": ["https://kubernetes.default.svc.cluster.local"], "exp": exp, "iat": iat, "nbf": iat,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "sub": "system:serviceaccount:%s:%s" % (namespace, name),
                "kubernetes.io": {"namespace": namespace, "secret": {"name": anchor, "uid": anchor_uid},
                                  "serviceaccount": {"name": name, "uid": sa_uid}}})


def legacy_token(sa_uid="sa-1", name="east", secret="east-credential-token"):
    return jwt({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:%s:%s" % (names.CREDENTIALS_NAMESPACE, name),
                "kubernetes.io/serviceaccount/namespace": names.CREDENTIALS_NAMESPACE,
                "kubernetes.io/serviceaccount/secret.name": secret,
                "kubernetes.io/serviceaccount/service-account.name": name,
                "kubernetes.io/serviceaccount/service-account.uid": sa_uid})


def params(**kw):
    base = {"name": "east", "state": "present", "credential_type": "token_request", "token_ttl": 2592000,
            "renew_before": 604800, "current_kubeconfig": None, "rotate": False, "directory_server": None,
            "directory_name": "directory", "verify_revoked": False, "revoke_timeout": 30, "wait_timeout": 30}
    base.update(kw)
    return base
