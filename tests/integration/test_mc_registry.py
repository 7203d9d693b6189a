"""mc_registry on a lab cluster of its own: check, install, check, install
again (nothing written), then removal the same way, refused while Clusters
are registered."""

import os

import pytest
import yaml

from tests.integration.conftest import REGISTRY_MANIFEST, assert_writes
from tests.lab import Fleet

CRD = "customresourcedefinition.apiextensions.k8s.io/clusters.multicluster.coreos.com"


@pytest.fixture(scope="module")
def lone(tmp_path_factory):
    if os.environ.get("MC_LAB_CONTEXTS"):
        pytest.skip("installing and removing the registry needs a lab cluster of its own")
    lab = Fleet(str(tmp_path_factory.mktemp("registry-lab")), ["registry-only"])
    cluster = lab.start()[0]
    try:
        yield cluster
    finally:
        lab.stop()


def args(cluster, **kw):
    with open(REGISTRY_MANIFEST) as handle:
        definitions = yaml.safe_load(handle)["items"]
    base = {"kubeconfig": cluster.kubeconfig, "context": cluster.context, "definitions": definitions,
            "cluster_name": "registry-only"}
    base.update(kw)
    return base


def present(cluster):
    return cluster.kubectl("get", CRD, "--ignore-not-found", "-o", "name").stdout.strip() != ""


def test_install_check_apply_check_apply(lone, run_module):
    check = run_module("mc_registry", args(lone), check=True)
    assert not check.failed and check.changed and not present(lone)
    applied = run_module("mc_registry", args(lone))
    assert not applied.failed and applied.changed and present(lone)
    assert run_module("mc_registry", args(lone), check=True).changed is False
    mark = lone.audit_mark()
    again = run_module("mc_registry", args(lone))
    assert not again.failed and again.changed is False
    assert_writes(lone, mark, [])


def test_removal_is_refused_while_a_cluster_is_registered_then_removes_everything(lone, run_module):
    lone.kubectl("apply", "-f", "-", input_text=yaml.safe_dump({
        "apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": "still-here"},
        "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://x.example.invalid"}]}}}))
    mark = lone.audit_mark()
    refused = run_module("mc_registry", args(lone, state="absent"))
    assert refused.failed and "still holds 1 Cluster(s) (still-here)" in refused["msg"]
    assert_writes(lone, mark, [])
    lone.kubectl("delete", "clusters.multicluster.coreos.com", "still-here")

    check = run_module("mc_registry", args(lone, state="absent"), check=True)
    assert not check.failed and check.changed and present(lone)
    removed = run_module("mc_registry", args(lone, state="absent"))
    assert not removed.failed and removed.changed and not present(lone)
    assert lone.kubectl("get", "namespace", "tectonic-system", "--ignore-not-found", "-o", "name").stdout.strip() in (
        "", "namespace/tectonic-system")  # a namespace may still be terminating
    mark = lone.audit_mark()
    gone = run_module("mc_registry", args(lone, state="absent"))
    assert not gone.failed and gone.changed is False
    assert_writes(lone, mark, [])
