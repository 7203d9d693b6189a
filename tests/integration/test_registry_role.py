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


def pod_lists(cluster):
    """(volume names, the agent container's mount paths) of the agent's Deployment."""
    out = cluster.kubectl("-n", "tectonic-system", "get", "deployment", "directory-sync", "-o", "json")
    spec = json.loads(out.stdout)["spec"]["template"]["spec"]
    mounts = [m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts") or []]
    return sorted(v["name"] for v in spec.get("volumes") or []), sorted(mounts)


def test_a_volume_and_mount_the_template_does_not_have_are_removed_and_the_next_run_writes_nothing(
        registry, run_playbook, tmp_path):
    """As after an upgrade whose template dropped a volume: the template owns the pod's volumes and each
    container's mounts. Sent as a strategic merge, the patch would keep them (by their merge keys) and every run
    would patch again; sent as the merge patch it is computed as, they go."""
    replica = registry[1]
    install_registry(run_playbook, tmp_path, replica)
    expected = pod_lists(replica)
    live = json.loads(replica.kubectl("-n", "tectonic-system", "get", "deployment", "directory-sync", "-o",
                                      "json").stdout)
    container = live["spec"]["template"]["spec"]["containers"][0]["name"]
    patch = {"spec": {"template": {"spec": {
        "volumes": [{"name": "leftover", "emptyDir": {}}],
        "containers": [{"name": container, "volumeMounts": [{"name": "leftover", "mountPath": "/leftover"}]}]}}}}
    replica.kubectl("-n", "tectonic-system", "patch", "deployment", "directory-sync", "--type", "strategic",
                    "-p", json.dumps(patch))
    volumes, mounts = pod_lists(replica)
    assert "leftover" in volumes and "/leftover" in mounts  # added beside the template's own (merge keys)

    install_registry(run_playbook, tmp_path, replica)
    assert pod_lists(replica) == expected

    mark = replica.audit_mark()
    install_registry(run_playbook, tmp_path, replica)
    assert_writes(replica, mark, [])
