"""Onboarding over a replica whose directory-sync Secret holds a kubeconfig the strict reader refuses:
the refused kubeconfig is read as data only, never used; a fresh credential is issued and stored over it."""

import base64

import yaml

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import onboarding
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig, read_credential
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_onboarding import DIRECTORY_SERVER, Lister, params, replica_cluster
from tests.unit.utils.fake_directory import FakeDirectory
from tests.unit.utils.tokens import bound_token

OLD_TOKEN = bound_token(jti=7)


def store(replica, config):
    replica.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": names.CREDENTIAL_SECRET, "namespace": names.SYSTEM_NAMESPACE},
                 "data": {names.CREDENTIAL_SECRET_KEY: base64.b64encode(yaml.safe_dump(config).encode()).decode()}})


def test_a_refused_secret_is_replaced_by_a_fresh_credential_and_never_used(tmp_path):
    marker = tmp_path / "marker"
    directory, replica, lister, hidden = FakeDirectory(), replica_cluster(), Lister(count=3), []
    onboarding.onboard(directory, replica, params(), lister=Lister())  # onboarded once: a good credential
    attack = build_kubeconfig(DIRECTORY_SERVER, OLD_TOKEN, None, "directory")
    attack["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh",
                                           "args": ["-c", "touch %s; printf '%s'" % (marker, OLD_TOKEN)]}}
    store(replica, attack)
    replica.writes.clear()

    result = onboarding.onboard(directory, replica, params(), lister=lister, hide=hidden.append)
    assert result["changed"] and result["credential"]["minted"]
    assert result["credential"]["reason"].startswith(
        "the kubeconfig in Secret tectonic-system/directory-sync on cluster 'east' is refused: "
        "users[0].user.exec is not allowed")
    stored = base64.b64decode(replica.stored("Secret", names.CREDENTIAL_SECRET, names.SYSTEM_NAMESPACE)["data"][names.CREDENTIAL_SECRET_KEY]).decode()
    fresh = read_credential(stored, "the stored kubeconfig")  # the accepted form again
    assert fresh.server == DIRECTORY_SERVER and fresh.token != OLD_TOKEN
    assert lister.calls == [(DIRECTORY_SERVER, fresh.token)]  # only the fresh one was ever used
    assert ("patch", "Secret", names.CREDENTIAL_SECRET) in replica.writes
    assert not marker.exists()
    assert OLD_TOKEN not in str(result["credential"]["reason"])
    assert any(isinstance(value, str) and "printf" in value for value in hidden)  # its text kept out of output
