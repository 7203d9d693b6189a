"""An in-memory directory: a FakeCluster with a token controller and the token APIs
(TokenRequest, TokenReview), serving tokens as kube-apiserver issues them."""

import base64
import itertools

from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import tokens as tk
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.tokens import CA, NOW, SERVER, bound_token, legacy_token


class FakeDirectory(FakeCluster):
    """An in-memory directory with a token controller and the token APIs."""

    def __init__(self, check_mode=False, clock=lambda: NOW, fill_tokens=True):
        super(FakeDirectory, self).__init__(label="fake-directory", server=SERVER, check_mode=check_mode, ca=CA)
        self.clock = clock
        self.fill_tokens = fill_tokens
        self.jti = itertools.count(1)
        self.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": names.VIEW_CLUSTERS_ROLE}})

    def get_obj(self, kind, namespace, name):
        return self.stored(kind, name, namespace)

    def created(self, obj):
        """The token controller fills a service-account token Secret."""
        if obj["kind"] == "Secret" and obj.get("type") == tk.SA_TOKEN_TYPE and self.fill_tokens:
            account = self.stored("ServiceAccount", obj["metadata"]["annotations"][tk.SA_NAME_ANNOTATION], names.CREDENTIALS_NAMESPACE)
            stored = self.objects[("Secret", names.CREDENTIALS_NAMESPACE, obj["metadata"]["name"])]
            stored["metadata"]["annotations"][tk.SA_UID_ANNOTATION] = account["metadata"]["uid"]
            token = legacy_token(account["metadata"]["uid"], account["metadata"]["name"], obj["metadata"]["name"])
            stored["data"] = {"token": base64.b64encode(token.encode()).decode(), "namespace": "dGVjdG9uaWM="}

    def create_subresource(self, kind, body, parent):
        if kind == "TokenReview":
            return self.review(body)
        assert kind == "TokenRequest" and not self.check_mode, "a token was minted in check mode"
        namespace = body["metadata"]["namespace"]
        account = self.stored("ServiceAccount", parent, namespace)
        ref = body["spec"]["boundObjectRef"]
        anchor = self.stored("Secret", ref["name"], namespace)
        assert anchor["metadata"]["uid"] == ref["uid"]
        now = self.clock()
        token = bound_token(account["metadata"]["uid"], ref["uid"], now + body["spec"]["expirationSeconds"], now,
                            parent, ref["name"], namespace, jti=next(self.jti))
        return {"status": {"token": token}}

    def review(self, body):
        facts = tk.token_facts(body["spec"]["token"])
        try:
            account = self.stored("ServiceAccount", facts.get("service_account"), facts.get("namespace"))
            assert account["metadata"]["uid"] == facts["service_account_uid"]
            if facts["type"] == "token_request":
                anchor = self.stored("Secret", facts["secret"], facts["namespace"])
                assert anchor["metadata"]["uid"] == facts["secret_uid"]
                assert facts["expires"] > self.clock()
        except (TypeError, AssertionError, KeyError):
            return {"status": {"authenticated": False, "error": "invalid bearer token"}}
        return {"status": {"authenticated": True, "user": {
            "username": "system:serviceaccount:%s:%s" % (facts["namespace"], facts["service_account"])}}}
