"""Service-account tokens: JWT claims and the renewal policy."""

import base64

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import objects as ro
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import tokens as tk
from ansible_collections.coreos.multicluster.plugins.module_utils import names

from tests.unit.utils.tokens import NOW, b64url, bound_token, jwt, legacy_token


# --- tokens -----------------------------------------------------------------------------------------

def test_jwt_claims_decodes_unpadded_payloads_and_refuses_the_rest():
    for pad in range(4):
        claims = {"sub": "x" * pad}
        assert tk.jwt_claims(jwt(claims)) == claims
    for bad in (None, "", "abc", "a.b", "a.!!!.c", "a.%s.c" % b64url([1, 2]), 42):
        assert tk.jwt_claims(bad) is None


def test_token_facts():
    facts = tk.token_facts(bound_token())
    assert facts == {"type": "token_request", "expires": NOW + 30 * 86400, "issued": NOW, "namespace": names.CREDENTIALS_NAMESPACE,
                     "service_account": "east", "service_account_uid": "sa-1",
                     "secret": "east-credential-anchor", "secret_uid": "an-1"}
    legacy = tk.token_facts(legacy_token())
    assert legacy["type"] == "service_account_token" and legacy["expires"] is None
    assert legacy["secret"] == "east-credential-token"
    assert tk.token_facts("opaque")["type"] is None


WANT = {"namespace": names.CREDENTIALS_NAMESPACE, "service_account": "east", "service_account_uid": "sa-1",
        "anchor": "east-credential-anchor", "anchor_uid": "an-1", "renew_before": 7 * 86400, "token_ttl": 30 * 86400}


@pytest.mark.parametrize("token, match", [
    (legacy_token(), "not a TokenRequest token"),
    ("opaque", "not a TokenRequest token"),
    (bound_token(name="west"), "belongs to ServiceAccount tectonic-multi-cluster/west"),
    (bound_token(namespace="default"), "belongs to ServiceAccount default/east"),
    (bound_token(sa_uid="sa-0"), "earlier ServiceAccount"),
    (bound_token(anchor="other"), "bound to Secret other"),
    (bound_token(anchor_uid="an-0"), "earlier anchor Secret"),
    (bound_token(exp=NOW - 1, iat=NOW - 86400), "expired at"),
    (bound_token(exp=NOW + 86400, iat=NOW - 29 * 86400), "within 604800 seconds"),
])
def test_renewal_reasons(token, match):
    assert match in tk.renewal_reason(tk.token_facts(token), WANT, NOW)


def test_a_good_token_is_kept():
    assert tk.renewal_reason(tk.token_facts(bound_token()), WANT, NOW) is None
    assert tk.renewal_reason(tk.token_facts(bound_token()), dict(WANT, service_account_uid=None, anchor_uid=None),
                             NOW) is None
    # just outside renew_before
    token = bound_token(exp=NOW + 7 * 86400 + 1, iat=NOW - 23 * 86400)
    assert tk.renewal_reason(tk.token_facts(token), WANT, NOW) is None


def test_a_capped_token_is_renewed_at_half_its_life_not_on_every_run():
    # asked for 30 days, the API server capped it at one day: renew_before (7 d) would renew it always
    fresh = bound_token(iat=NOW - 3600, exp=NOW - 3600 + 86400)
    assert tk.renew_threshold(tk.token_facts(fresh), 7 * 86400, 30 * 86400) == 43200
    assert tk.renew_threshold(tk.token_facts(fresh), 7 * 86400) == 7 * 86400
    assert tk.renewal_reason(tk.token_facts(fresh), WANT, NOW) is None
    old = bound_token(iat=NOW - 50000, exp=NOW - 50000 + 86400)
    assert "within 43200 seconds" in tk.renewal_reason(tk.token_facts(old), WANT, NOW)


def test_a_short_token_asked_for_is_not_capped():
    # token_ttl=600, renew_before=599: the token got what it asked for, renew_before applies as it is
    token = bound_token(iat=NOW - 2, exp=NOW + 598)
    want = dict(WANT, renew_before=599, token_ttl=600)
    assert "within 599 seconds" in tk.renewal_reason(tk.token_facts(token), want, NOW)


def test_token_secret_problems():
    good = ro.desired_token_secret("east", "sa-1")
    assert tk.token_secret_problem(good, "east", "sa-1") is None
    assert tk.token_secret_problem(good, "east", None) is None
    assert "earlier ServiceAccount" in tk.token_secret_problem(good, "east", "sa-2")
    assert "of type Opaque" in tk.token_secret_problem(dict(good, type="Opaque"), "east", "sa-1")
    assert "is for ServiceAccount 'west'" in tk.token_secret_problem(ro.desired_token_secret("west"), "east")
    assert tk.secret_token({"data": {"token": base64.b64encode(b"abc").decode()}}) == "abc"
    assert tk.secret_token({"data": {}}) is None and tk.secret_token(None) is None


def test_absurd_time_claims_are_no_time():
    for exp in (10 ** 30, float("inf"), float("nan"), True, "1800000000"):
        assert tk.token_facts(jwt({"exp": exp, "kubernetes.io": {"namespace": "n"}}))["expires"] is None
    assert tk.token_facts(jwt({"exp": 1800000000.5, "kubernetes.io": {"namespace": "n"}}))["expires"] == 1800000000
