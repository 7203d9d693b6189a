"""The directory inventory's pure half, on Cluster objects as the directory returns them (recorded shapes)."""

import pytest

from ansible_collections.coreos.multicluster.plugins.plugin_utils import inventory
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError

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
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": e % name if "%s" in e else e}
                                                                    for e in endpoints]}}}


# The address replicas reach the directory at: the server of the plugin's own connection (directory_address()).
OPERATOR = {"directory_address": "https://west.example.com:6443",
            "directory_address_source": "the inventory's connection to the directory"}

FLEET = [cluster("west", {"stage": "production", "cloud": "aws", "region": "us-west-1", "role": "directory"},
                 directory=True, console="https://west.console.example.com"),
         cluster("east", {"stage": "production", "cloud": "gcp", "region": "us-east1", "role": "replica"})]


def test_one_host_per_cluster_in_directory_or_replicas_with_the_contract_variables():
    hosts, problems = inventory.hosts_from_clusters(FLEET, dict(OPERATOR))
    assert problems == []
    assert [(h["name"], h["groups"]) for h in hosts] == [("west", ["directory"]), ("east", ["replicas"])]
    assert hosts[0]["vars"] == {"mc_cluster_name": "west", "mc_labels": FLEET[0]["metadata"]["labels"],
                                "mc_api_endpoint": "https://west.example.com:6443",
                                "mc_console_url": "https://west.console.example.com"}
    assert hosts[1]["vars"]["mc_console_url"] is None and "mc_kubeconfig" not in hosts[1]["vars"]


def test_a_folder_of_kubeconfigs_gives_each_host_its_own():
    present = {"/etc/fleet/west.kubeconfig"}
    hosts, problems = inventory.hosts_from_clusters(FLEET, dict(OPERATOR, cluster_kubeconfig_dir="/etc/fleet"),
                                                    present.__contains__)
    assert hosts[0]["vars"]["mc_kubeconfig"] == "/etc/fleet/west.kubeconfig" and "mc_context" not in hosts[0]["vars"]
    assert "mc_kubeconfig" not in hosts[1]["vars"]
    assert problems == ["Cluster east: no kubeconfig /etc/fleet/east.kubeconfig (mc_kubeconfig not set)"]
    hosts, dummy = inventory.hosts_from_clusters(
        FLEET, {"cluster_kubeconfig_dir": "/k", "cluster_kubeconfig_file": "{name}/admin.conf",
                "cluster_context": "admin@{name}"}, lambda path: True)
    assert hosts[1]["vars"]["mc_kubeconfig"] == "/k/east/admin.conf" and hosts[1]["vars"]["mc_context"] == "admin@east"


def test_one_kubeconfig_with_a_context_per_cluster():
    hosts, problems = inventory.hosts_from_clusters(FLEET, dict(OPERATOR, cluster_kubeconfig="/etc/fleet/all.kubeconfig"))
    assert problems == []
    assert [(h["vars"]["mc_kubeconfig"], h["vars"]["mc_context"]) for h in hosts] == [
        ("/etc/fleet/all.kubeconfig", "west"), ("/etc/fleet/all.kubeconfig", "east")]
    with pytest.raises(MulticlusterError, match="mutually exclusive"):
        inventory.hosts_from_clusters(FLEET, {"cluster_kubeconfig": "/a", "cluster_kubeconfig_dir": "/b"})


def test_odd_clusters_are_reported_not_fatal():
    odd = [cluster("Not_A_Host"), cluster("dotted.name"), cluster("no-endpoint", endpoints=()),
           cluster("second-directory", directory=True), cluster("west", directory=True)]
    hosts, problems = inventory.hosts_from_clusters(odd, dict(OPERATOR))
    assert [h["name"] for h in hosts] == ["no-endpoint", "second-directory", "west"]
    assert problems[0].startswith("Cluster name 'Not_A_Host' is not a DNS-1123 label")
    assert problems[1].startswith("Cluster name 'dotted.name' is not a DNS-1123 label")
    assert problems[2] == "Cluster no-endpoint has no API endpoint (mc_api_endpoint is null)"
    # the second directory's object gives its own address: reported, and it gets the operator's
    assert problems[3].startswith("the directory's Cluster object second-directory gives API endpoint "
                                  "'https://second-directory.example.com:6443', not https://west.example.com:6443")
    assert hosts[1]["vars"]["mc_api_endpoint"] == "https://west.example.com:6443"
    assert problems[4] == "2 Clusters carry the directory annotation (second-directory, west): a fleet has one directory"


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


# --- the directory's address comes from the operator ------------------------------------------------------------

def test_the_directory_cluster_object_cannot_choose_where_replicas_send_their_token():
    """A directory admin (or anyone who may write the directory's Cluster object) points its endpoint elsewhere:
    the directory host's mc_api_endpoint - what onboard_replica.yml writes into each replica's credential - stays
    the server the operator's own connection reaches, and the mismatch is reported."""
    moved = [cluster("west", directory=True, endpoints=("https://attacker.example.net:6443",)), FLEET[1]]
    hosts, problems = inventory.hosts_from_clusters(moved, dict(OPERATOR))
    west = hosts[0]
    assert west["vars"]["mc_api_endpoint"] == "https://west.example.com:6443"
    assert west["groups"] == ["directory", "endpoint_problems"]
    assert west["vars"]["mc_endpoint_problem"] == (
        "the directory's Cluster object west gives API endpoint 'https://attacker.example.net:6443', not "
        "https://west.example.com:6443: not followed, mc_api_endpoint is the address from the inventory's "
        "connection to the directory")
    assert problems == [west["vars"]["mc_endpoint_problem"]]
    assert "mc_endpoint_problem" not in hosts[1]["vars"] and hosts[1]["groups"] == ["replicas"]


def test_the_operator_may_name_the_directorys_address_and_it_must_be_https():
    address, source = inventory.directory_address("https://directory.internal:443", "https://127.0.0.1:6443")
    assert (address, source) == ("https://directory.internal:443", "directory_api_endpoint")
    assert inventory.directory_address(None, "https://127.0.0.1:6443") == (
        "https://127.0.0.1:6443", "the inventory's connection to the directory")
    assert inventory.directory_address("", "https://127.0.0.1:6443")[0] == "https://127.0.0.1:6443"
    with pytest.raises(MulticlusterError, match=r"directory_api_endpoint 'http://directory.internal' is plain http://"):
        inventory.directory_address("http://directory.internal", "https://127.0.0.1:6443")
    settings = dict(zip(("directory_address", "directory_address_source"),
                        inventory.directory_address("https://directory.internal:443", "https://127.0.0.1:6443")))
    hosts, problems = inventory.hosts_from_clusters(FLEET, settings)
    assert hosts[0]["vars"]["mc_api_endpoint"] == "https://directory.internal:443"
    assert problems == ["the directory's Cluster object west gives API endpoint 'https://west.example.com:6443', not "
                        "https://directory.internal:443: not followed, mc_api_endpoint is the address from "
                        "directory_api_endpoint"]


def test_a_plain_http_connection_to_the_directory_is_not_given_to_replicas():
    settings = {"directory_address": "http://west.example.com:8080",
                "directory_address_source": "the inventory's connection to the directory"}
    hosts, problems = inventory.hosts_from_clusters(FLEET, settings)
    assert hosts[0]["vars"]["mc_api_endpoint"] is None and "endpoint_problems" in hosts[0]["groups"]
    assert problems[0].startswith("the directory's address from the inventory's connection to the directory "
                                  "'http://west.example.com:8080' is plain http://")
    assert problems[0].endswith("mc_api_endpoint of west is null (set the plugin's directory_api_endpoint)")


def test_without_an_operator_address_the_directory_has_none():
    hosts, problems = inventory.hosts_from_clusters(FLEET, {})
    assert hosts[0]["vars"]["mc_api_endpoint"] is None
    assert problems[0].startswith("the directory's address from the inventory is not known")


# --- https only ----------------------------------------------------------------------------------------------

def test_a_cluster_with_an_http_endpoint_is_reported_and_its_address_not_used():
    plain = cluster("central", endpoints=("http://%s.example.com:8080",), console="http://central.console.example.com")
    mixed = cluster("north", endpoints=("https://%s.example.com:6443", "http://%s.example.com:8080"))
    hosts, problems = inventory.hosts_from_clusters(FLEET + [plain, mixed], dict(OPERATOR))
    central, north = hosts[2], hosts[3]
    assert central["vars"]["mc_api_endpoint"] is None and central["vars"]["mc_console_url"] is None
    assert central["groups"] == ["replicas", "endpoint_problems"]
    assert central["vars"]["mc_endpoint_problem"] == (
        "Cluster central: API endpoint 'http://central.example.com:8080' is plain http://, not an https:// URL with "
        "a host (no user info, no white space or control characters): a credential sent there would cross the "
        "network in clear text (mc_api_endpoint is null); Cluster central: console URL "
        "'http://central.console.example.com' is plain http://, not an https:// URL with a host (no user info, no "
        "white space or control characters): a credential sent there would cross the network in clear text "
        "(mc_console_url is null)")
    # the first endpoint is https and is used; the second is still reported
    assert north["vars"]["mc_api_endpoint"] == "https://north.example.com:6443"
    assert north["groups"] == ["replicas", "endpoint_problems"]
    assert "'http://north.example.com:8080' is plain http://" in north["vars"]["mc_endpoint_problem"]
    assert problems == [central["vars"]["mc_endpoint_problem"].split("; ")[0],
                        central["vars"]["mc_endpoint_problem"].split("; ")[1],
                        north["vars"]["mc_endpoint_problem"]]


def test_an_endpoint_with_user_info_or_control_characters_is_not_used_and_quoted_escaped():
    odd = [cluster("east", endpoints=("https://east.example.com@attacker.example.net",)),
           cluster("south", endpoints=("https://south.example.com\n\x1b[2J",))]
    hosts, problems = inventory.hosts_from_clusters(odd, dict(OPERATOR))
    assert [h["vars"]["mc_api_endpoint"] for h in hosts] == [None, None]
    assert "'https://south.example.com\\n\\x1b[2J' is not an https:// URL" in problems[1]
    assert all("\n" not in p and "\x1b" not in p for p in problems)
