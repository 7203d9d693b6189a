"""mc_cluster and mc_cluster_info against the lab's real apiservers."""

import pytest

from tests.integration.conftest import REGISTRY_MANIFEST, SecretText, assert_writes, hidden, service_account_token

API = "https://east-coast-production-api.example.com:443"


def conn(cluster, **extra):
    args = {"kubeconfig": cluster.kubeconfig, "context": cluster.context}
    args.update(extra)
    return args


@pytest.fixture
def directory(registry):
    """The directory cluster with no Cluster objects left from another test."""
    west = registry[0]
    yield west
    west.kubectl("delete", "clusters", "--all", "--wait=true")


def test_register_check_apply_check_apply(directory, run_module):
    args = conn(directory, name="east-coast-production", endpoints=[API],
                labels={"stage": "production", "cloud": "gcp", "region": "us-east1", "role": "replica"},
                console_url="https://east.console.example.com")
    mark = directory.audit_mark()
    check = run_module("mc_cluster", args, check=True)
    assert not check.failed, check.result
    assert check.changed is True
    assert check["diff"]["before"] == {}
    assert check["diff"]["after"]["spec"] == {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": API}]}}
    assert_writes(directory, mark, [])
    assert directory.kubectl("get", "cluster", "east-coast-production", check=False).returncode != 0

    apply = run_module("mc_cluster", args)
    assert apply.changed is True and not apply.failed
    assert apply["cluster"]["server"] == API and apply["cluster"]["labels"]["region"] == "us-east1"
    got = directory.kubectl("get", "cluster", "east-coast-production",
                            "-o", "jsonpath={.spec.KubernetesAPIEndpoints.ServerEndpoints[0].ServerAddress}")
    assert got.stdout == API

    mark = directory.audit_mark()
    again_check = run_module("mc_cluster", args, check=True)
    assert again_check.changed is False
    again = run_module("mc_cluster", args)
    assert again.changed is False and not again.failed
    assert_writes(directory, mark, [])


def test_update_labels_merge_and_purge(directory, run_module):
    base = conn(directory, name="central-production", endpoints=[API], labels={"stage": "production", "team": "a"})
    assert run_module("mc_cluster", base).changed
    merged = run_module("mc_cluster", conn(directory, name="central-production", labels={"region": "centralus"}))
    assert merged.changed and merged["cluster"]["labels"] == {"stage": "production", "team": "a", "region": "centralus"}
    mark = directory.audit_mark()
    check = run_module("mc_cluster", conn(directory, name="central-production", labels={"stage": "production"},
                                          purge_labels=True), check=True)
    assert check.changed and check["cluster"]["labels"] == {"stage": "production"}
    assert_writes(directory, mark, [])
    purged = run_module("mc_cluster", conn(directory, name="central-production", labels={"stage": "production"},
                                           purge_labels=True))
    assert purged.changed
    live = directory.kubectl("get", "cluster", "central-production", "-o", "jsonpath={.metadata.labels}").stdout
    assert "team" not in live and "stage" in live
    assert_writes(directory, mark, [("patch", "clusters", "", "central-production")])


def test_second_directory_is_refused_naming_the_first(directory, run_module):
    first = run_module("mc_cluster", conn(directory, name="west-coast-production", endpoints=[API], directory=True))
    assert first.changed and first["cluster"]["directory"] is True
    mark = directory.audit_mark()
    second = run_module("mc_cluster", conn(directory, name="east-coast-production", endpoints=[API], directory=True))
    assert second.failed
    assert "west-coast-production already has the multicluster.coreos.com/directory annotation" in second["msg"]
    assert_writes(directory, mark, [])


def test_identity_check(directory, registry, run_module):
    east = registry[1]
    args = conn(directory, name="east-coast-production", endpoints=[API], cluster_connection=conn(east))
    ok = run_module("mc_cluster", args)
    assert ok.changed and not ok.failed
    uid = east.kubectl("get", "ns", "kube-system", "-o", "jsonpath={.metadata.uid}").stdout
    assert ok["cluster"]["kube_system_uid"] == uid

    mark = directory.audit_mark()
    # the same cluster under a second name: its tectonic-config says otherwise
    wrong_name = run_module("mc_cluster", conn(directory, name="east-two", endpoints=[API], cluster_connection=conn(east)))
    assert wrong_name.failed and "was installed as 'east-coast-production'" in wrong_name["msg"]
    # and even if its ConfigMap is changed to match, its kube-system UID gives it away
    east.kubectl("-n", "tectonic-system", "patch", "configmap", "tectonic-config", "--type=merge",
                 "-p", '{"data":{"clusterName":"east-two"}}')
    try:
        twin = run_module("mc_cluster", conn(directory, name="east-two", endpoints=[API], cluster_connection=conn(east)))
        assert twin.failed and "already registered as Cluster east-coast-production" in twin["msg"]
    finally:
        east.kubectl("-n", "tectonic-system", "patch", "configmap", "tectonic-config", "--type=merge",
                     "-p", '{"data":{"clusterName":"east-coast-production"}}')
    assert_writes(directory, mark, [])


@pytest.mark.parametrize("bad, message", [
    ({"name": "East_Coast", "endpoints": [API]}, "DNS-1123"),
    ({"name": "east", "endpoints": []}, "endpoints is empty"),
    ({"name": "east", "endpoints": ["east-api.example.com:443"]}, "is not an https:// URL with a host"),
    ({"name": "east", "endpoints": ["http://east-api.example.com:8080"]}, "is plain http://"),
    ({"name": "east", "endpoints": [API], "console_url": "console.example.com"}, "console_url"),
    ({"name": "east", "endpoints": [API], "colour": "blue"}, "Unsupported parameters"),
])
def test_bad_input_is_refused_before_any_write(directory, run_module, bad, message):
    mark = directory.audit_mark()
    result = run_module("mc_cluster", conn(directory, **bad))
    assert result.failed and message in result["msg"]
    assert_writes(directory, mark, [])


def test_absent_check_apply_and_again(directory, run_module):
    assert run_module("mc_cluster", conn(directory, name="central-production", endpoints=[API])).changed
    check = run_module("mc_cluster", conn(directory, name="central-production", state="absent"), check=True)
    assert check.changed and check["diff"]["after"] == {}
    assert directory.kubectl("get", "cluster", "central-production", check=False).returncode == 0
    gone = run_module("mc_cluster", conn(directory, name="central-production", state="absent"))
    assert gone.changed
    assert directory.kubectl("get", "cluster", "central-production", check=False).returncode != 0
    mark = directory.audit_mark()
    again = run_module("mc_cluster", conn(directory, name="central-production", state="absent"))
    assert again.changed is False and not again.failed
    assert_writes(directory, mark, [])


def test_registry_missing_gives_a_clear_error(registry, run_module):
    """A cluster without the Cluster API: no stack trace, the cluster named."""
    bare = registry[2]
    bare.kubectl("delete", "crd", "clusters.multicluster.coreos.com", "--wait=true")
    try:
        for module, args in (("mc_cluster_info", conn(bare)),
                             ("mc_cluster", conn(bare, name="east", endpoints=[API]))):
            result = run_module(module, args)
            assert result.failed
            assert "the multi-cluster registry is not installed on cluster '%s'" % bare.context in result["msg"]
            assert "Traceback" not in result.stdout
    finally:
        bare.kubectl("apply", "-f", REGISTRY_MANIFEST)
        bare.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/clusters.multicluster.coreos.com")


def test_unreachable_cluster_is_named(run_module, directory):
    result = run_module("mc_cluster_info", {"host": "https://127.0.0.1:1", "validate_certs": False,
                                            "api_key": "not-a-real-token"})
    assert result.failed and "127.0.0.1:1" in result["msg"]
    assert "not-a-real-token" not in result.stdout


def test_info_by_name_and_selector(directory, run_module):
    for name, stage in (("east-coast-production", "production"), ("central-production", "staging")):
        assert run_module("mc_cluster", conn(directory, name=name, endpoints=[API], labels={"stage": stage})).changed
    everything = run_module("mc_cluster_info", conn(directory))
    assert [c["name"] for c in everything["fleet"]] == ["central-production", "east-coast-production"]
    assert everything.changed is False
    prod = run_module("mc_cluster_info", conn(directory, label_selectors=["stage=production"]))
    assert [c["name"] for c in prod["fleet"]] == ["east-coast-production"]
    assert prod["fleet"][0]["server"] == API
    one = run_module("mc_cluster_info", conn(directory, name="central-production"))
    assert [c["metadata"]["name"] for c in one["clusters"]] == ["central-production"]
    assert "resourceVersion" not in one["clusters"][0]["metadata"]
    none = run_module("mc_cluster_info", conn(directory, name="nowhere"))
    assert none["clusters"] == [] and not none.failed


def test_env_fallbacks_work_like_kubernetes_core(directory, run_module):
    """AWX's Kubernetes credential injects K8S_AUTH_* variables."""
    env = {"K8S_AUTH_KUBECONFIG": directory.kubeconfig, "K8S_AUTH_CONTEXT": directory.context}
    result = run_module("mc_cluster_info", {}, env=env)
    assert not result.failed and result["clusters"] == []


def test_a_kubeconfig_dict_keeps_its_credentials_out_of_the_output(directory, run_module):
    """kubeconfig given as a dict (not a no_log option, so that its server
    shows): the user's credentials are hidden in the invocation and results."""
    import yaml
    with open(directory.kubeconfig) as handle:
        config = yaml.safe_load(handle)
    config["current-context"] = directory.context
    key_data = config["users"][0]["user"]["client-key-data"]
    result = run_module("mc_cluster_info", {"kubeconfig": config})
    assert not result.failed, result.get("msg")
    leaked = key_data in result.stdout or key_data in result.stderr  # a boolean: never print the key
    assert not leaked, "the client key of the kubeconfig dict shows in the output"
    assert result["invocation"]["module_args"]["kubeconfig"]["clusters"][0]["cluster"]["server"] == directory.server


def test_awx_bearer_token_credential_drives_the_modules(directory, registry, run_module):
    """What AWX's "OpenShift or Kubernetes API Bearer Token" credential injects, and nothing else."""
    try:
        token = SecretText(service_account_token(directory, "awx-job"))
        env = hidden({"K8S_AUTH_HOST": directory.server, "K8S_AUTH_API_KEY": token,
                      "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": directory.ca_cert})
        args = {"name": "east-coast-production", "endpoints": [API], "labels": {"role": "replica"}}
        made = run_module("mc_cluster", args, env=env)
        assert not made.failed and made.changed, made.result
        again = run_module("mc_cluster", args, env=env)
        assert not again.failed and not again.changed, again.result
        listed = run_module("mc_cluster_info", {}, env=env)
        assert [c["name"] for c in listed["fleet"]] == ["east-coast-production"]
        # Verify SSL with another cluster's CA: refused, and the error names the server
        wrong_ca = hidden(dict(env, K8S_AUTH_SSL_CA_CERT=registry[1].ca_cert))
        refused = run_module("mc_cluster_info", {}, env=wrong_ca)
        assert refused.failed and directory.server in refused["msg"], refused.result
        assert "certificate" in refused["msg"].lower(), refused["msg"]
        leaked = any(token in run.stdout or token in run.stderr for run in (made, again, listed, refused))
        assert not leaked, "the bearer token shows in the output"
    finally:
        directory.kubectl("delete", "serviceaccount", "-n", "default", "awx-job", "--ignore-not-found", check=False)
        directory.kubectl("delete", "clusterrolebinding", "awx-job", "--ignore-not-found", check=False)
