"""The registry role's agent Deployment on a replica that already has one made otherwise: the role's template
owns the Deployment's strategy, so a Deployment made with the default RollingUpdate strategy (by hand, or by an
earlier tool) is converged to Recreate - the API server refuses a Recreate Deployment that keeps the
rollingUpdate parameters - and the next run writes nothing."""

import json

import yaml

from tests.integration.conftest import assert_writes
from tests.integration.test_cluster_policies import install_registry

ROLLING = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "directory-sync"}},
             "template": {"metadata": {"labels": {"app": "directory-sync"}},
                          "spec": {"containers": [{"name": "syncer", "image": "localhost/none:0"}]}}},
}


def strategy(cluster):
    out = cluster.kubectl("-n", "tectonic-system", "get", "deployment", "directory-sync", "-o", "json")
    return json.loads(out.stdout)["spec"]["strategy"]


def test_a_rolling_update_deployment_is_converged_to_the_templates_strategy(registry, run_playbook, tmp_path):
    replica = registry[1]
    replica.kubectl("-n", "tectonic-system", "delete", "deployment", "directory-sync", "--ignore-not-found")
    replica.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(ROLLING))
    assert strategy(replica)["type"] == "RollingUpdate" and "rollingUpdate" in strategy(replica)  # server defaults

    install_registry(run_playbook, tmp_path, replica)
    assert strategy(replica) == {"type": "Recreate"}

    mark = replica.audit_mark()
    install_registry(run_playbook, tmp_path, replica)
    assert_writes(replica, mark, [])
