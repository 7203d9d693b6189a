"""Replica credentials: kubeconfigs, JWT claims, the renewal decision, and the
present/absent flows against an in-memory directory."""

import base64
import copy
import itertools
import json

import pytest
import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils import credentials as cr
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError
from ansible_collections.coreos.multicluster.tests.unit.utils.fake_client import FakeClusterClient, NotFound

NOW = 1_800_000_000
SERVER = "https://directory.example.com:6443"
CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt(claims):
    return "%s.%s.%s" % (b64url({"alg": "RS256", "kid": "k"}), b64url(claims), "c2lnbmF0dXJl")


def bound_token(sa_uid="sa-1", anchor_uid="an-1", exp=NOW + 30 * 86400, iat=NOW, name="east",
                anchor="east-credential-anchor", namespace=cr.NAMESPACE, jti=0):
    return jwt({"jti": jti, "aud": ["https://kubernetes.default.svc.cluster.local"], "exp": exp, "iat": iat, "nbf": iat,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "sub": "system:serviceaccount:%s:%s" % (namespace, name),
                "kubernetes.io": {"namespace": namespace, "secret": {"name": anchor, "uid": anchor_uid},
                                  "serviceaccount": {"name": name, "uid": sa_uid}}})


def legacy_token(sa_uid="sa-1", name="east", secret="east-credential-token"):
    return jwt({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:%s:%s" % (cr.NAMESPACE, name),
                "kubernetes.io/serviceaccount/namespace": cr.NAMESPACE,
                "kubernetes.io/serviceaccount/secret.name": secret,
                "kubernetes.io/serviceaccount/service-account.name": name,
                "kubernetes.io/serviceaccount/service-account.uid": sa_uid})


def params(**kw):
    base = {"name": "east", "state": "present", "credential_type": "token_request", "token_ttl": 2592000,
            "renew_before": 604800, "current_kubeconfig": None, "rotate": False, "directory_server": None,
            "directory_name": "directory", "verify_revoked": False, "revoke_timeout": 30, "wait_timeout": 30}
    base.update(kw)
    return base


# --- input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "East", "-east", "east-", "e_st", "a" * 64, "east.coast", None])
def test_bad_replica_names_are_refused(name):
    with pytest.raises(MulticlusterError, match="DNS-1123"):
        cr.validate(params(name=name))


@pytest.mark.parametrize("kw, match", [
    ({"token_ttl": 599}, "at least 600"),
    ({"renew_before": 2592000}, "less than token_ttl"),
    ({"renew_before": -1}, "at least 0"),
    ({"directory_server": "directory.example.com:6443"}, "directory_server"),
    ({"directory_name": "my dir"}, "white space"),
    ({"revoke_timeout": 0}, "revoke_timeout"),
    ({"verify_revoked": True}, "state=absent or rotate=true"),
])
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(MulticlusterError, match=match):
        cr.validate(params(**kw))


def test_defaults_and_names():
    settings = cr.validate({"name": "east"})
    assert settings["token_ttl"] == 30 * 86400 and settings["renew_before"] == 7 * 86400
    assert settings["credential_type"] == "token_request" and settings["directory_name"] == "directory"
    assert cr.object_names("east") == {"service_account": "east", "binding": "east-view-clusters",
                                       "anchor": "east-credential-anchor", "token_secret": "east-credential-token"}
    assert cr.validate(params(verify_revoked=True, rotate=True))["verify_revoked"]
    assert cr.validate(params(state="absent", verify_revoked=True))["verify_revoked"]


# --- kubeconfig ------------------------------------------------------------------------------------

def test_built_kubeconfig_is_one_cluster_user_context():
    config = cr.build_kubeconfig(SERVER, "tok", CA, "directory")
    assert config["current-context"] == "directory"
    assert config["clusters"] == [{"name": "directory", "cluster": {
        "server": SERVER, "certificate-authority-data": base64.b64encode(CA).decode()}}]
    assert config["users"] == [{"name": "directory", "user": {"token": "tok"}}]
    assert config["contexts"] == [{"name": "directory", "context": {"cluster": "directory", "user": "directory"}}]
    resolved = cr.resolve_kubeconfig(config)
    assert resolved["server"] == SERVER and resolved["user"] == {"token": "tok"}
    assert "certificate-authority-data" not in cr.build_kubeconfig(SERVER, "tok", None)["clusters"][0]["cluster"]


def test_kubeconfig_as_text_dict_or_json_is_the_same():
    config = cr.build_kubeconfig(SERVER, "tok", CA)
    assert cr.parse_kubeconfig(yaml.safe_dump(config)) == config
    assert cr.parse_kubeconfig(json.dumps(config)) == config
    assert cr.parse_kubeconfig(json.dumps(config).encode()) == config
    assert cr.parse_kubeconfig(config) is config


@pytest.mark.parametrize("value, match", [
    ("clusters: [a\ntoken: s3cr3t-token", "not valid YAML"),
    ("   ", "empty"),
    ("- just\n- a list", "expected a mapping"),
    ("s3cr3t-token", "expected a mapping"),
    ({"contexts": [{"name": "a", "context": {}}, {"name": "b", "context": {}}]}, "no current-context"),
    ({"current-context": "x", "contexts": []}, "no entry named 'x'"),
    ({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
      "clusters": [{"name": "c", "cluster": {"server": "nope"}}], "users": [{"name": "u", "user": {}}]}, "no server"),
    ({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
      "clusters": [{"name": "c", "cluster": {"server": SERVER}}], "users": "s3cr3t-token"}, "'users' is not a list"),
])
def test_bad_kubeconfigs_are_refused_without_quoting_them(value, match):
    with pytest.raises(MulticlusterError, match=match) as err:
        cr.parse_kubeconfig(value, "kubeconfig_content")
    assert "s3cr3t" not in str(err.value)
    assert str(err.value).startswith("kubeconfig_content")


def test_a_single_context_needs_no_current_context():
    config = cr.build_kubeconfig(SERVER, "tok")
    del config["current-context"]
    assert cr.resolve_kubeconfig(config)["context"] == "directory"


@pytest.mark.parametrize("value, why", [
    (None, "no current kubeconfig"),
    ("", "no current kubeconfig"),
    ("{{{", "not valid YAML"),
    (cr.build_kubeconfig(SERVER, ""), "no user token"),
])
def test_current_token_is_lenient(value, why):
    token, problem = cr.current_token(value)
    assert token is None and why in problem


def test_current_token_from_text():
    assert cr.current_token(yaml.safe_dump(cr.build_kubeconfig(SERVER, "abc"))) == ("abc", None)


# --- tokens -----------------------------------------------------------------------------------------

def test_jwt_claims_decodes_unpadded_payloads_and_refuses_the_rest():
    for pad in range(4):
        claims = {"sub": "x" * pad}
        assert cr.jwt_claims(jwt(claims)) == claims
    for bad in (None, "", "abc", "a.b", "a.!!!.c", "a.%s.c" % b64url([1, 2]), 42):
        assert cr.jwt_claims(bad) is None


def test_token_facts():
    facts = cr.token_facts(bound_token())
    assert facts == {"type": "token_request", "expires": NOW + 30 * 86400, "issued": NOW, "namespace": cr.NAMESPACE,
                     "service_account": "east", "service_account_uid": "sa-1",
                     "secret": "east-credential-anchor", "secret_uid": "an-1"}
    legacy = cr.token_facts(legacy_token())
    assert legacy["type"] == "service_account_token" and legacy["expires"] is None
    assert legacy["secret"] == "east-credential-token"
    assert cr.token_facts("opaque")["type"] is None


WANT = {"namespace": cr.NAMESPACE, "service_account": "east", "service_account_uid": "sa-1",
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
    assert match in cr.renewal_reason(cr.token_facts(token), WANT, NOW)


def test_a_good_token_is_kept():
    assert cr.renewal_reason(cr.token_facts(bound_token()), WANT, NOW) is None
    assert cr.renewal_reason(cr.token_facts(bound_token()), dict(WANT, service_account_uid=None, anchor_uid=None),
                             NOW) is None
    # just outside renew_before
    token = bound_token(exp=NOW + 7 * 86400 + 1, iat=NOW - 23 * 86400)
    assert cr.renewal_reason(cr.token_facts(token), WANT, NOW) is None


def test_a_capped_token_is_renewed_at_half_its_life_not_on_every_run():
    # asked for 30 days, the API server capped it at one day: renew_before (7 d) would renew it always
    fresh = bound_token(iat=NOW - 3600, exp=NOW - 3600 + 86400)
    assert cr.renew_threshold(cr.token_facts(fresh), 7 * 86400, 30 * 86400) == 43200
    assert cr.renew_threshold(cr.token_facts(fresh), 7 * 86400) == 7 * 86400
    assert cr.renewal_reason(cr.token_facts(fresh), WANT, NOW) is None
    old = bound_token(iat=NOW - 50000, exp=NOW - 50000 + 86400)
    assert "within 43200 seconds" in cr.renewal_reason(cr.token_facts(old), WANT, NOW)


def test_a_short_token_asked_for_is_not_capped():
    # token_ttl=600, renew_before=599: the token got what it asked for, renew_before applies as it is
    token = bound_token(iat=NOW - 2, exp=NOW + 598)
    want = dict(WANT, renew_before=599, token_ttl=600)
    assert "within 599 seconds" in cr.renewal_reason(cr.token_facts(token), want, NOW)


def test_token_secret_problems():
    good = cr.desired_token_secret("east", "sa-1")
    assert cr.token_secret_problem(good, "east", "sa-1") is None
    assert cr.token_secret_problem(good, "east", None) is None
    assert "earlier ServiceAccount" in cr.token_secret_problem(good, "east", "sa-2")
    assert "of type Opaque" in cr.token_secret_problem(dict(good, type="Opaque"), "east", "sa-1")
    assert "is for ServiceAccount 'west'" in cr.token_secret_problem(cr.desired_token_secret("west"), "east")
    assert cr.secret_token({"data": {"token": base64.b64encode(b"abc").decode()}}) == "abc"
    assert cr.secret_token({"data": {}}) is None and cr.secret_token(None) is None


def test_binding_plan():
    want = cr.desired_binding("east")
    assert cr.plan_binding(None, "east") == "create"
    assert cr.plan_binding(copy.deepcopy(want), "east") is None
    api_form = copy.deepcopy(want)
    api_form["subjects"][0]["apiGroup"] = ""
    assert cr.plan_binding(api_form, "east") is None
    assert cr.plan_binding(dict(want, subjects=[]), "east") == "patch"
    assert cr.plan_binding(dict(want, roleRef=dict(want["roleRef"], name="admin")), "east") == "replace"


# --- no_log of structured options --------------------------------------------------------------------

class FakeModule:
    def __init__(self, params, spec):
        self.params = params
        self.argument_spec = spec
        self.no_log_values = set()
        for name, opts in spec.items():
            if opts.get("no_log"):
                self.no_log_values.update(cr.secret_leaves(params.get(name)))


def test_narrow_no_log_keeps_only_the_secret_strings():
    config = cr.build_kubeconfig(SERVER, "tok-123", CA)
    module = FakeModule({"kubeconfig_content": config, "api_key": "key-1"},
                        {"kubeconfig_content": {"no_log": True}, "api_key": {"no_log": True}})
    assert "v1" in module.no_log_values and "directory" in module.no_log_values
    value = cr.narrow_no_log(module, "kubeconfig_content", keep=cr.user_leaves(config))
    assert value is config
    assert module.no_log_values == {"tok-123", "key-1"}
    assert module.params["kubeconfig_content"] == cr.NO_LOG_PLACEHOLDER


def test_narrow_no_log_of_text_keeps_the_text_and_releases_nothing_else():
    text = yaml.safe_dump(cr.build_kubeconfig(SERVER, "tok-123"))
    module = FakeModule({"current_kubeconfig": text}, {"current_kubeconfig": {"no_log": True}})
    assert cr.narrow_no_log(module, "current_kubeconfig") == text
    assert module.no_log_values == {text}
    empty = FakeModule({"current_kubeconfig": None}, {"current_kubeconfig": {"no_log": True}})
    assert cr.narrow_no_log(empty, "current_kubeconfig") is None and empty.params["current_kubeconfig"] is None


def test_narrow_no_log_does_not_release_what_another_option_hides():
    config = cr.build_kubeconfig(SERVER, "shared")
    module = FakeModule({"current_kubeconfig": config, "api_key": "shared"},
                        {"current_kubeconfig": {"no_log": True}, "api_key": {"no_log": True}})
    cr.narrow_no_log(module, "current_kubeconfig")
    assert module.no_log_values == {"shared"}


# --- the flows, against an in-memory directory ---------------------------------------------------------

class FakeDirectory(FakeClusterClient):
    """Enough of a ClusterClient and of the typed APIs for credentials.py."""

    label = "fake-directory"
    server = SERVER

    def __init__(self, check_mode=False, clock=lambda: NOW, fill_tokens=True):
        self.objects = {}
        self.writes = []
        self.check_mode = check_mode
        self.clock = clock
        self.fill_tokens = fill_tokens
        self.uids = itertools.count(1)
        self.core = self.rbac = self.authn = self
        self.add("ClusterRole", "", cr.CLUSTER_ROLE, {"metadata": {"name": cr.CLUSTER_ROLE}})

    def ca_data(self):
        return CA

    # store
    def add(self, kind, namespace, name, obj):
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.update(name=name, uid="uid-%d" % next(self.uids))
        if namespace:
            meta["namespace"] = namespace
        self.objects[(kind, namespace, name)] = obj
        return obj

    def get(self, kind, namespace, name):
        try:
            return copy.deepcopy(self.objects[(kind, namespace, name)])
        except KeyError:
            raise NotFound()

    def _create(self, kind, namespace, body, dry_run):
        name = body["metadata"]["name"]
        assert (kind, namespace, name) not in self.objects, "409 AlreadyExists"
        if dry_run:
            obj = copy.deepcopy(body)
            obj["metadata"]["uid"] = "dry-run"
            return obj
        self.writes.append(("create", kind, name))
        obj = self.add(kind, namespace, name, body)
        if kind == "Secret" and obj.get("type") == cr.SA_TOKEN_TYPE and self.fill_tokens:
            self._fill(obj)
        return copy.deepcopy(obj)

    def _fill(self, obj):
        account = self.get("ServiceAccount", cr.NAMESPACE, obj["metadata"]["annotations"][cr.SA_NAME_ANNOTATION])
        obj["metadata"]["annotations"][cr.SA_UID_ANNOTATION] = account["metadata"]["uid"]
        token = legacy_token(account["metadata"]["uid"], account["metadata"]["name"], obj["metadata"]["name"])
        obj["data"] = {"token": base64.b64encode(token.encode()).decode(), "namespace": "dGVjdG9uaWM="}

    def _delete(self, kind, namespace, name, dry_run):
        self.get(kind, namespace, name)
        if not dry_run:
            self.writes.append(("delete", kind, name))
            del self.objects[(kind, namespace, name)]

    def read_namespaced_service_account(self, name, namespace):
        return self.get("ServiceAccount", namespace, name)

    def create_namespaced_service_account(self, namespace, body, dry_run=None):
        return self._create("ServiceAccount", namespace, body, dry_run)

    def delete_namespaced_service_account(self, name, namespace, dry_run=None):
        self._delete("ServiceAccount", namespace, name, dry_run)

    def read_cluster_role_binding(self, name):
        return self.get("ClusterRoleBinding", "", name)

    def create_cluster_role_binding(self, body, dry_run=None):
        return self._create("ClusterRoleBinding", "", body, dry_run)

    def patch_cluster_role_binding(self, name, body, dry_run=None):
        obj = self.get("ClusterRoleBinding", "", name)
        obj.update(body)
        if not dry_run:
            self.writes.append(("patch", "ClusterRoleBinding", name))
            self.objects[("ClusterRoleBinding", "", name)] = copy.deepcopy(obj)
        return obj

    def delete_cluster_role_binding(self, name, dry_run=None):
        self._delete("ClusterRoleBinding", "", name, dry_run)

    def read_namespaced_secret(self, name, namespace):
        return self.get("Secret", namespace, name)

    def create_namespaced_secret(self, namespace, body, dry_run=None):
        return self._create("Secret", namespace, body, dry_run)

    def delete_namespaced_secret(self, name, namespace, dry_run=None):
        self._delete("Secret", namespace, name, dry_run)

    def list_namespaced_secret(self, namespace, field_selector=None):
        items = [copy.deepcopy(obj) for (kind, ns, _n), obj in sorted(self.objects.items())
                 if kind == "Secret" and ns == namespace and "type=%s" % obj.get("type") == field_selector]
        return {"items": items}

    def create_namespaced_service_account_token(self, name, namespace, body):
        assert not self.check_mode, "a token was minted in check mode"
        account = self.get("ServiceAccount", namespace, name)
        ref = body["spec"]["boundObjectRef"]
        anchor = self.get("Secret", namespace, ref["name"])
        assert anchor["metadata"]["uid"] == ref["uid"]
        self.writes.append(("create", "TokenRequest", name))
        now = self.clock()
        token = bound_token(account["metadata"]["uid"], ref["uid"], now + body["spec"]["expirationSeconds"], now,
                            name, ref["name"], namespace, jti=next(self.uids))
        return {"status": {"token": token}}

    def create_token_review(self, body):
        facts = cr.token_facts(body["spec"]["token"])
        try:
            account = self.get("ServiceAccount", facts.get("namespace"), facts.get("service_account"))
            assert account["metadata"]["uid"] == facts["service_account_uid"]
            if facts["type"] == "token_request":
                assert self.get("Secret", facts["namespace"], facts["secret"])["metadata"]["uid"] == facts["secret_uid"]
                assert facts["expires"] > self.clock()
        except (NotFound, AssertionError, KeyError):
            return {"status": {"authenticated": False, "error": "invalid bearer token"}}
        return {"status": {"authenticated": True, "user": {
            "username": "system:serviceaccount:%s:%s" % (facts["namespace"], facts["service_account"])}}}


def present(directory, **kw):
    return cr.ensure_present(directory, params(**kw), now=directory.clock(), sleep=lambda s: None)


def test_check_mode_mints_nothing_and_reports_a_change():
    directory = FakeDirectory(check_mode=True)
    result = present(directory)
    assert result["changed"] and result["kubeconfig"] is None and not directory.writes
    assert result["credential"]["minted"] and "no current kubeconfig" in result["credential"]["reason"]
    assert result["diff"]["before"]["service_account"] is None
    assert result["diff"]["after"]["credential"]["token"] == cr.NEW_TOKEN


def test_apply_then_rerun_with_the_current_kubeconfig_writes_nothing():
    directory = FakeDirectory()
    first = present(directory, directory_server="https://dir.example.com")
    assert first["changed"] and first["credential"]["minted"]
    kinds = [w[1] for w in directory.writes]
    assert kinds == ["ServiceAccount", "ClusterRoleBinding", "Secret", "TokenRequest"]
    config = first["kubeconfig"]
    assert cr.resolve_kubeconfig(config)["server"] == "https://dir.example.com"
    token = cr.resolve_kubeconfig(config)["user"]["token"]
    assert first["credential"]["expires_at"] == cr.iso_time(NOW + 2592000)
    assert token not in json.dumps({k: v for k, v in first.items() if k != "kubeconfig"})

    directory.writes.clear()
    directory.check_mode = True
    again_check = present(directory, current_kubeconfig=yaml.safe_dump(config), directory_server="https://dir.example.com")
    directory.check_mode = False
    again = present(directory, current_kubeconfig=config, directory_server="https://dir.example.com")
    for result in (again_check, again):
        assert not result["changed"] and not result["credential"]["minted"]
        assert result["credential"]["reason"] is None
        assert result["kubeconfig"] == config
    assert not directory.writes


def test_near_expiry_renews_on_the_same_anchor():
    clock = [NOW]
    directory = FakeDirectory(clock=lambda: clock[0])
    first = present(directory)
    clock[0] = NOW + 2592000 - 3600
    directory.writes.clear()
    second = present(directory, current_kubeconfig=first["kubeconfig"])
    assert second["changed"] and "within 604800 seconds" in second["credential"]["reason"]
    assert directory.writes == [("create", "TokenRequest", "east")]
    assert second["kubeconfig"] != first["kubeconfig"]


def test_a_refused_token_is_replaced():
    directory = FakeDirectory()
    first = present(directory)
    directory.writes.clear()
    # the token is fine by its claims, but the directory does not accept it
    directory.create_token_review = lambda body: {"status": {"authenticated": False, "error": "bad signature"}}
    second = present(directory, current_kubeconfig=first["kubeconfig"])
    assert second["changed"] and "bad signature" in second["credential"]["reason"]


def test_rotate_replaces_the_anchor():
    directory = FakeDirectory()
    first = present(directory)
    anchor_uid = directory.get("Secret", cr.NAMESPACE, "east-credential-anchor")["metadata"]["uid"]
    directory.writes.clear()
    directory.check_mode = True
    check = present(directory, rotate=True, current_kubeconfig=first["kubeconfig"])
    assert check["changed"] and check["kubeconfig"] is None and not directory.writes
    assert check["diff"]["after"]["credential_anchor"]["uid"] == cr.NEW_OBJECT
    directory.check_mode = False
    rotated = present(directory, rotate=True, current_kubeconfig=first["kubeconfig"])
    assert rotated["changed"] and "rotate" in rotated["credential"]["reason"]
    assert directory.writes == [("delete", "Secret", "east-credential-anchor"),
                                ("create", "Secret", "east-credential-anchor"), ("create", "TokenRequest", "east")]
    assert directory.get("Secret", cr.NAMESPACE, "east-credential-anchor")["metadata"]["uid"] != anchor_uid
    # the old token is now bound to a Secret that is gone
    old = cr.resolve_kubeconfig(first["kubeconfig"])["user"]["token"]
    assert not directory.create_token_review({"spec": {"token": old}})["status"]["authenticated"]


def test_rotate_with_verify_revoked_polls_the_old_token():
    directory = FakeDirectory()
    first = present(directory)
    answers = iter([(200, None), (403, None), (401, None)])
    result = cr.ensure_present(directory, params(rotate=True, verify_revoked=True, current_kubeconfig=first["kubeconfig"]),
                               now=NOW, sleep=lambda s: None, probe=lambda: next(answers))
    assert result["revoked"] is True


def test_service_account_token_type():
    directory = FakeDirectory()
    directory.check_mode = True
    check = present(directory, credential_type="service_account_token")
    assert check["changed"] and check["kubeconfig"] is None and not directory.writes
    directory.check_mode = False
    first = present(directory, credential_type="service_account_token")
    assert first["changed"] and first["credential"]["expires_at"] is None
    token = cr.resolve_kubeconfig(first["kubeconfig"])["user"]["token"]
    assert cr.token_facts(token)["secret"] == "east-credential-token"
    directory.writes.clear()
    for check_mode in (True, False):
        directory.check_mode = check_mode
        again = present(directory, credential_type="service_account_token")
        assert not again["changed"] and again["kubeconfig"] == first["kubeconfig"]
    assert not directory.writes
    # switching type revokes the other credential
    switched = present(directory, credential_type="token_request")
    assert switched["changed"] and ("delete", "Secret", "east-credential-token") in directory.writes


def test_service_account_token_wait_is_bounded():
    ticks = itertools.count()
    directory = FakeDirectory(fill_tokens=False)
    with pytest.raises(MulticlusterError, match="did not fill it within 30s"):
        cr.ensure_present(directory, params(credential_type="service_account_token"), now=NOW,
                          sleep=lambda s: None, clock=lambda: next(ticks))


def test_a_binding_with_another_role_is_replaced():
    directory = FakeDirectory()
    wrong = cr.desired_binding("east")
    wrong["roleRef"]["name"] = "cluster-admin"
    directory.add("ClusterRoleBinding", "", "east-view-clusters", wrong)
    result = present(directory)
    assert result["diff"]["before"]["cluster_role_binding"]["role_ref"] == "ClusterRole cluster-admin"
    assert result["diff"]["after"]["cluster_role_binding"]["role_ref"] == "ClusterRole tectonic-view-clusters"
    assert ("delete", "ClusterRoleBinding", "east-view-clusters") in directory.writes


def test_absent_revokes_everything_and_is_idempotent():
    directory = FakeDirectory()
    first = present(directory)
    # the v1.20 token controller's own token Secret for the account
    auto = cr.desired_token_secret("east")
    auto["metadata"]["name"] = "east-token-x7k2p"
    directory.add("Secret", cr.NAMESPACE, "east-token-x7k2p", auto)
    directory.writes.clear()

    directory.check_mode = True
    check = cr.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                               current_kubeconfig=first["kubeconfig"]), probe=lambda: 1 / 0)
    assert check["changed"] and "revoked" not in check and not directory.writes

    directory.check_mode = False
    answers = iter([(200, None), (None, "timeout"), (401, None)])
    gone = cr.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                              current_kubeconfig=first["kubeconfig"]),
                            sleep=lambda s: None, probe=lambda: next(answers))
    assert gone["changed"] and gone["revoked"] is True
    assert directory.writes[:2] == [("delete", "ClusterRoleBinding", "east-view-clusters"),
                                    ("delete", "ServiceAccount", "east")]
    assert sorted(w[2] for w in directory.writes[2:]) == ["east-credential-anchor", "east-token-x7k2p"]
    assert [k for k in directory.objects if k[0] != "ClusterRole"] == []

    directory.writes.clear()
    again = cr.ensure_absent(directory, params(state="absent"))
    assert not again["changed"] and not directory.writes


def test_absent_fails_when_the_old_token_stays_accepted():
    directory = FakeDirectory()
    first = present(directory)
    ticks = itertools.count(step=5)
    with pytest.raises(MulticlusterError, match="still accepted \\(HTTP 200\\) after 30s"):
        cr.ensure_absent(directory, params(state="absent", verify_revoked=True, current_kubeconfig=first["kubeconfig"]),
                         sleep=lambda s: None, clock=lambda: next(ticks), probe=lambda: (200, None))


def test_verify_revoked_without_a_token_is_refused_before_any_write():
    directory = FakeDirectory()
    present(directory)
    directory.writes.clear()
    with pytest.raises(MulticlusterError, match="verify_revoked needs the old token: current_kubeconfig has no user"):
        cr.ensure_absent(directory, params(state="absent", verify_revoked=True,
                                           current_kubeconfig=cr.build_kubeconfig(SERVER, "")))
    assert not directory.writes


def test_an_unknown_old_token_revokes_all_the_same_and_says_it_was_not_tested():
    """A replica gone for good (or de-registered already) holds no token to test."""
    directory = FakeDirectory()
    present(directory)
    probes = []
    gone = cr.ensure_absent(directory, params(state="absent", verify_revoked=True), probe=lambda: probes.append(1),
                            token_unknown="the replica could not be read")
    assert gone["changed"] and "revoked" not in gone and probes == []
    assert gone["revocation_check"] == "not tested: the replica could not be read"
    assert all(value is None for value in gone["diff"]["after"].values())
    directory.writes.clear()
    again = cr.ensure_absent(directory, params(state="absent", verify_revoked=True),
                             token_unknown="the replica holds no credential")
    assert not again["changed"] and not directory.writes
    assert again["revocation_check"] == "not tested: the replica holds no credential"


def test_a_concurrent_create_is_taken_as_it_is():
    directory = FakeDirectory()
    real_create = directory.create_namespaced_service_account

    def racing_create(namespace, body, dry_run=None):
        real_create(namespace, body)  # another run was faster
        raise MulticlusterError("create ServiceAccount ... : already exists", details={"status": 409})

    directory.create_namespaced_service_account = racing_create
    result = present(directory)
    assert result["changed"] and result["diff"]["after"]["service_account"]["name"] == "east"
    assert result["kubeconfig"] is not None


def test_token_hashes_are_short_sha256():
    assert cr.hash_token("abc") == "sha256:ba7816bf8f01cfea"
