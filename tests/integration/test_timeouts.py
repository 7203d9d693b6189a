"""A frozen API server (SIGSTOP) never hangs a module: the call ends within
request_timeout with a message naming the cluster, the call and the time
waited; after SIGCONT the next run converges and the one after writes nothing.
(The playbook and agent cases are in test_playbooks.py and test_directory_sync.py.)"""

import time

from tests.integration.conftest import assert_writes, frozen

TIMEOUT = 3
# the module process itself (Python, ansible, the kubernetes client) on a loaded 2-core machine
STARTUP = 20


def test_a_module_against_a_frozen_directory_ends_within_its_timeout_and_converges_after(registry, run_module):
    directory = registry[0]
    args = {"kubeconfig": directory.kubeconfig, "context": directory.context, "request_timeout": TIMEOUT,
            "name": "frozen-test", "labels": {"stage": "test"}, "endpoints": ["https://frozen-test.example.invalid:6443"]}
    mark = directory.audit_mark()
    with frozen(directory):
        started = time.monotonic()
        hung = run_module("mc_cluster", args)
        waited = time.monotonic() - started
    assert hung.failed
    assert hung["msg"] == ("read Cluster frozen-test on cluster '%s': the API server did not answer within %d s"
                           % (directory.context, TIMEOUT))
    assert hung["cluster"] == directory.context and hung["details"]["timeout"] == TIMEOUT
    assert waited < TIMEOUT + STARTUP, "the run took %.1f s" % waited
    assert_writes(directory, mark, [])

    try:
        converged = run_module("mc_cluster", args)
        assert not converged.failed and converged.changed
        mark = directory.audit_mark()
        again = run_module("mc_cluster", args)
        assert not again.failed and not again.changed
        assert_writes(directory, mark, [])
    finally:
        run_module("mc_cluster", {"kubeconfig": directory.kubeconfig, "context": directory.context,
                                  "name": "frozen-test", "state": "absent"})


def test_the_environment_sets_the_timeout_and_a_second_cluster_inherits_it(registry, run_module):
    """K8S_AUTH_REQUEST_TIMEOUT bounds every call, also those to the cluster of cluster_connection."""
    directory, replica = registry[0], registry[1]
    with frozen(replica):
        started = time.monotonic()
        hung = run_module("mc_cluster", {
            "kubeconfig": directory.kubeconfig, "context": directory.context, "name": replica.name,
            "endpoints": [replica.server],
            "cluster_connection": {"kubeconfig": replica.kubeconfig, "context": replica.context}},
            env={"K8S_AUTH_REQUEST_TIMEOUT": str(TIMEOUT)})
        waited = time.monotonic() - started
    assert hung.failed
    assert hung["msg"] == ("read ConfigMap tectonic-system/tectonic-config on cluster '%s': the API server did not "
                           "answer within %d s" % (replica.context, TIMEOUT))
    assert waited < TIMEOUT + STARTUP, "the run took %.1f s" % waited
