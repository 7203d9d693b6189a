"""mc_sync_secret on a lab replica (fleet[1]), with credentials issued on the directory (fleet[0])."""

import base64
import copy
import hashlib
import json

import pytest
import yaml

from tests.integration.conftest import assert_writes, hidden

SYNC_NS = "tectonic-system"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: directory-sync
  namespace: tectonic-system
spec:
  replicas: 1
  selector:
    matchLabels: {app: directory-sync}
  template:
    metadata:
      labels: {app: directory-sync}
    spec:
      containers:
        - name: syncer
          image: registry.invalid/directory-sync:none
          volumeMounts: [{name: credential, mountPath: /etc/directory-sync}]
      volumes:
        - name: credential
          secret: {secretName: directory-sync}
"""


def connection(cluster):
    return {"kubeconfig": cluster.kubeconfig, "context": cluster.context}


def token_of(kubeconfig):
    return kubeconfig["users"][0]["user"]["token"]


def secret_content(cluster, name="directory-sync"):
    out = cluster.kubectl("-n", SYNC_NS, "get", "secret", name, "--ignore-not-found", "-o", "json").stdout
    if not out.strip():
        return None
    return hidden(yaml.safe_load(base64.b64decode(json.loads(out)["data"]["kubeconfig"]).decode()))


def deployment_hash(cluster):
    out = json.loads(cluster.kubectl("-n", SYNC_NS, "get", "deployment", "directory-sync", "-o", "json").stdout)
    return (out["spec"]["template"]["metadata"].get("annotations") or {}).get("multicluster.coreos.com/credential-hash")


def assert_no_leak(run, *secrets):
    for number, secret in enumerate(secrets):
        leaked = secret in run.stdout or secret in run.stderr  # a boolean: a failing assert must not print it
        assert not leaked, "secret #%d shows in the output" % number


@pytest.fixture(scope="module")
def credential(registry, run_module):
    """A view-only kubeconfig on the directory for replica 'sync-replica'."""
    result = run_module("mc_replica_credentials", dict(connection(registry[0]), name="sync-replica"))
    assert not result.failed, result.result
    yield result["kubeconfig"]
    run_module("mc_replica_credentials", dict(connection(registry[0]), name="sync-replica", state="absent"))


def test_check_apply_check_apply_and_rollout(registry, run_module, credential):
    replica = registry[1]
    replica.kubectl("apply", "-f", "-", input_text=DEPLOYMENT)
    args = dict(connection(replica), kubeconfig_content=credential)
    token = token_of(credential)

    mark = replica.audit_mark()
    check = run_module("mc_sync_secret", args, check=True)
    assert not check.failed, check.result
    assert check.changed and check["deployment"]["present"]
    assert_writes(replica, mark, [])
    assert secret_content(replica) is None

    first = run_module("mc_sync_secret", args)
    assert not first.failed and first.changed, first.result
    assert secret_content(replica) == credential
    assert deployment_hash(replica) == first["credential_hash"]
    assert first["secret"]["data"]["kubeconfig"].startswith("sha256:")
    assert first["diff"]["after"]["secret"]["data"]["kubeconfig"].startswith("sha256:")
    assert_no_leak(first, token)

    # the same content as YAML text is no change
    again = dict(connection(replica), kubeconfig_content=yaml.safe_dump(credential))
    check2 = run_module("mc_sync_secret", again, check=True)
    assert not check2.failed and not check2.changed, check2.result
    mark = replica.audit_mark()
    second = run_module("mc_sync_secret", again)
    assert not second.failed and not second.changed, second.result
    assert_writes(replica, mark, [])
    assert_no_leak(second, token)

    # a new credential: the Secret changes and the Deployment's pods are rolled
    rotated = run_module("mc_replica_credentials", dict(connection(registry[0]), name="sync-replica", rotate=True,
                                                        current_kubeconfig=credential))
    assert rotated.changed
    new = rotated["kubeconfig"]
    old_hash = deployment_hash(replica)
    third = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=new))
    assert not third.failed and third.changed and third["deployment"]["updated"], third.result
    assert secret_content(replica) == new
    assert deployment_hash(replica) == third["credential_hash"] != old_hash
    assert third["credential_hash"] == hashlib.sha256(yaml.safe_dump(new, default_flow_style=False, sort_keys=True)
                                                      .encode()).hexdigest()
    assert_no_leak(third, token, token_of(new))
    credential.clear()
    credential.update(new)


def test_a_credential_that_cannot_list_clusters_is_refused(registry, run_module, credential):
    replica = registry[2]
    for token in ("garbage-token-value", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.bm9wZQ"):
        bad = copy.deepcopy(credential)
        bad["users"][0]["user"]["token"] = token
        mark = replica.audit_mark()
        result = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=bad))
        assert result.failed, result.result
        assert result["msg"].startswith("the credential cannot list Clusters on directory '%s'" % registry[0].server)
        assert "Unauthorized" in result["msg"]
        assert_writes(replica, mark, [])
        assert_no_leak(result, token)
    assert secret_content(replica) is None

    # a kubeconfig naming another cluster (whose CA and tokens are not the directory's)
    wrong_cluster = copy.deepcopy(credential)
    wrong_cluster["clusters"][0]["cluster"]["server"] = registry[2].server
    mark = replica.audit_mark()
    result = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=wrong_cluster))
    assert result.failed and "cannot list Clusters on directory '%s'" % registry[2].server in result["msg"]
    assert_writes(replica, mark, [])


@pytest.mark.parametrize("content, message", [
    ("clusters: [\n  token: s3cr3t-in-broken-yaml", "kubeconfig_content is refused: it is not valid YAML"),
    ("s3cr3t-plain-text", "kubeconfig_content is refused: it is not a kubeconfig"),
    ({"apiVersion": "v1", "users": [{"name": "u", "user": {"token": "s3cr3t-in-dict"}}]},
     "kubeconfig_content is refused: clusters is missing"),
])
def test_bad_content_is_refused_before_any_write(registry, run_module, content, message):
    replica = registry[2]
    mark = replica.audit_mark()
    result = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=content))
    assert result.failed and message in result["msg"], result.result
    assert_writes(replica, mark, [])
    assert "s3cr3t" not in result.stdout


def test_a_kubeconfig_with_an_exec_plugin_is_refused_before_anything_is_run_or_written(
        registry, run_module, credential, tmp_path):
    """Only the form every reader of the Secret accepts is stored: an exec plugin is refused, never run."""
    replica = registry[2]
    marker = tmp_path / "marker"
    content = copy.deepcopy(credential)
    content["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                            "command": "/bin/sh", "args": ["-c", "touch %s" % marker]}}
    mark = replica.audit_mark()
    result = run_module("mc_sync_secret", dict(connection(replica), kubeconfig_content=content))
    assert result.failed and result["msg"].startswith(
        "kubeconfig_content is refused: users[0].user.exec is not allowed"), result.result
    assert not marker.exists()
    assert_writes(replica, mark, [])


def test_missing_deployment_is_skipped_and_absent_removes_the_secret(registry, run_module, credential):
    replica = registry[2]
    args = dict(connection(replica), kubeconfig_content=credential, name="directory-sync-b")
    first = run_module("mc_sync_secret", args)
    assert not first.failed and first.changed and not first["deployment"]["present"], first.result
    assert secret_content(replica, "directory-sync-b") == credential

    gone_args = dict(connection(replica), name="directory-sync-b", state="absent")
    mark = replica.audit_mark()
    check = run_module("mc_sync_secret", gone_args, check=True)
    assert not check.failed and check.changed
    assert_writes(replica, mark, [])
    gone = run_module("mc_sync_secret", gone_args)
    assert not gone.failed and gone.changed
    assert secret_content(replica, "directory-sync-b") is None
    mark = replica.audit_mark()
    repeat = run_module("mc_sync_secret", gone_args)
    assert not repeat.failed and not repeat.changed
    assert_writes(replica, mark, [])
