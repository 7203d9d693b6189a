"""The directory inventory's pure half, on Cluster objects as the directory returns them (recorded shapes)."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils import inventory
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

DIRECTORY_ANNOTATION = "multicluster.coreos.com/directory"
CONSOLE = "multicluster.coreos.com/console-url"


def cluster(name, labels=None, directory=False, endpoints=("https://%s.example.com:6443",), console=None):
    annotations = {"multicluster.coreos.com/kube-system-uid": "3c2b"}
    if directory:
        annotations[DIRECTORY_ANNOTATION] = "true"
    if console:
        annotations[CONSOLE] = console
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "uid": "u-" + name, "resourceVersion": "412", "generation": 1,
                         "creationTimestamp": "2026-11-30T10:00:00Z", "labels": dict(labels or {}),
                         "annotations": annotations,
                         "managedFields": [{"manager": "Go-http-client", "operation": "Update"}]},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": e % name} for e in endpoints]}}}


FLEET = [cluster("west", {"stage": "production", "cloud": "aws", "region": "us-west-1", "role": "directory"},
                 directory=True, console="https://west.console.example.com"),
         cluster("east", {"stage": "production", "cloud": "gcp", "region": "us-east1", "role": "replica"})]


def test_one_host_per_cluster_in_directory_or_replicas_with_the_contract_variables():
    hosts, problems = inventory.hosts_from_clusters(FLEET, {})
    assert problems == []
    assert [(h["name"], h["group"]) for h in hosts] == [("west", "directory"), ("east", "replicas")]
    assert hosts[0]["vars"] == {"mc_cluster_name": "west", "mc_labels": FLEET[0]["metadata"]["labels"],
                                "mc_api_endpoint": "https://west.example.com:6443",
                                "mc_console_url": "https://west.console.example.com"}
    assert hosts[1]["vars"]["mc_console_url"] is None and "mc_kubeconfig" not in hosts[1]["vars"]


def test_a_folder_of_kubeconfigs_gives_each_host_its_own():
    present = {"/etc/fleet/west.kubeconfig"}
    hosts, problems = inventory.hosts_from_clusters(FLEET, {"cluster_kubeconfig_dir": "/etc/fleet"}, present.__contains__)
    assert hosts[0]["vars"]["mc_kubeconfig"] == "/etc/fleet/west.kubeconfig" and "mc_context" not in hosts[0]["vars"]
    assert "mc_kubeconfig" not in hosts[1]["vars"]
    assert problems == ["Cluster east: no kubeconfig /etc/fleet/east.kubeconfig (mc_kubeconfig not set)"]
    hosts, dummy = inventory.hosts_from_clusters(
        FLEET, {"cluster_kubeconfig_dir": "/k", "cluster_kubeconfig_file": "{name}/admin.conf",
                "cluster_context": "admin@{name}"}, lambda path: True)
    assert hosts[1]["vars"]["mc_kubeconfig"] == "/k/east/admin.conf" and hosts[1]["vars"]["mc_context"] == "admin@east"


def test_one_kubeconfig_with_a_context_per_cluster():
    hosts, problems = inventory.hosts_from_clusters(FLEET, {"cluster_kubeconfig": "/etc/fleet/all.kubeconfig"})
    assert problems == []
    assert [(h["vars"]["mc_kubeconfig"], h["vars"]["mc_context"]) for h in hosts] == [
        ("/etc/fleet/all.kubeconfig", "west"), ("/etc/fleet/all.kubeconfig", "east")]
    with pytest.raises(MulticlusterError, match="mutually exclusive"):
        inventory.hosts_from_clusters(FLEET, {"cluster_kubeconfig": "/a", "cluster_kubeconfig_dir": "/b"})


def test_odd_clusters_are_reported_not_fatal():
    odd = [cluster("Not_A_Host"), cluster("dotted.name"), cluster("no-endpoint", endpoints=()),
           cluster("second-directory", directory=True), cluster("west", directory=True)]
    hosts, problems = inventory.hosts_from_clusters(odd, {})
    assert [h["name"] for h in hosts] == ["no-endpoint", "second-directory", "west"]
    assert problems[0].startswith("Cluster name 'Not_A_Host' is not a DNS-1123 label")
    assert problems[1].startswith("Cluster name 'dotted.name' is not a DNS-1123 label")
    assert problems[2] == "Cluster no-endpoint has no API endpoint (mc_api_endpoint is null)"
    assert problems[3] == "2 Clusters carry the directory annotation (second-directory, west): a fleet has one directory"


def test_connection_options_fall_back_to_the_modules_environment_variables():
    env = {"K8S_AUTH_HOST": "https://env.example.com", "K8S_AUTH_VERIFY_SSL": "no", "K8S_AUTH_REQUEST_TIMEOUT": "7",
           "K8S_AUTH_SSL_CA_CERT": "/ca.pem"}
    conn = inventory.connection_from_options({"host": None, "kubeconfig": "/k"}, env)
    assert conn["host"] == "https://env.example.com" and conn["kubeconfig"] == "/k"
    assert conn["validate_certs"] is False and conn["request_timeout"] == 7 and conn["ca_cert"] == "/ca.pem"
    assert inventory.connection_from_options({"host": "https://given"}, env)["host"] == "https://given"
    assert inventory.connection_from_options({}, {"K8S_AUTH_VERIFY_SSL": "y"})["validate_certs"] is True
    with pytest.raises(MulticlusterError, match="K8S_AUTH_VERIFY_SSL='maybe' is not a boolean"):
        inventory.connection_from_options({}, {"K8S_AUTH_VERIFY_SSL": "maybe"})
