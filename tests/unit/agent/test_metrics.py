# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's metrics (agent/metrics.py): their values after syncs, failures
and credential loads. Fakes only: in-memory clusters, or the real
ClusterClient over a fake transport at its one request seam (so failures
carry the details the client gives)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import math
import os

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from ansible_collections.coreos.multicluster.agent import logs, loop
from ansible_collections.coreos.multicluster.agent import metrics as metrics_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import DirectoryError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import SOURCES
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as policy_outcomes
from tests.unit.agent.metrics_fakes import (
    EXP, ROOT, SERVER, T0, Clock, cluster, errors, exposition, fleet, make_agent, no_errors_but, parse, value,
    write_credential)
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.fake_transport import FakeTransport
from tests.unit.utils.tokens import bound_token, legacy_token


@pytest.fixture(autouse=True)
def quiet_logs():
    logs.configure_logging(io.StringIO())


# --- the pieces -----------------------------------------------------------------------------------------------

def test_the_version_comes_from_galaxy_yml_else_it_is_unknown(tmp_path):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        assert metrics_mod.VERSION == str(yaml.safe_load(handle)["version"]) != "unknown"
    galaxy = tmp_path / "galaxy.yml"
    galaxy.write_text("namespace: coreos\nname: multicluster\nversion: \"1.2.3-rc.1\"  # the next one\n")
    assert metrics_mod.collection_version(str(galaxy)) == "1.2.3-rc.1"
    galaxy.write_text("namespace: coreos\n")
    assert metrics_mod.collection_version(str(galaxy)) == "unknown"
    assert metrics_mod.collection_version(str(tmp_path / "missing.yml")) == "unknown"


def test_a_new_metrics_object_has_every_series_in_a_registry_of_its_own():
    first, second = metrics_mod.new_metrics("9.9.9"), metrics_mod.new_metrics()
    assert first.available and first.registry is not second.registry
    code, content_type, body = first.render()
    values, types = parse(body.decode("utf-8"))
    types.pop("directory_sync_errors_created")  # the counters' creation times, as prometheus_client adds them
    assert types == {"directory_sync_last_success_timestamp_seconds": "gauge",
                     "directory_sync_last_attempt_timestamp_seconds": "gauge",
                     "directory_sync_objects_held": "gauge",
                     "directory_sync_policies": "gauge",
                     "directory_sync_errors": "counter",
                     "directory_sync_credential_expiry_timestamp_seconds": "gauge",
                     "directory_sync_build_info": "gauge"}
    assert value(values, "last_success_timestamp_seconds") == 0 == value(values, "last_attempt_timestamp_seconds")
    assert math.isnan(value(values, "credential_expiry_timestamp_seconds"))
    assert errors(values) == no_errors_but()  # every reason from 0
    assert value(values, "build_info", version="9.9.9") == 1
    assert value(exposition(second), "build_info", version=metrics_mod.VERSION) == 1
    assert not [key for key in values if key[0] == "directory_sync_objects_held"]  # none before a sync
    first.sync_failed("a free-text message", T0)  # never a label value
    assert errors(exposition(first)) == no_errors_but(other=1)
    assert errors(exposition(second)) == no_errors_but()


def test_the_credential_expiry_is_the_exp_claim_of_the_user_token():
    assert metrics_mod.credential_expiry(build_kubeconfig(SERVER, bound_token(exp=EXP))) == EXP
    assert metrics_mod.credential_expiry(build_kubeconfig(SERVER, legacy_token())) is None
    assert metrics_mod.credential_expiry(build_kubeconfig(SERVER, "not-a-jwt")) is None
    assert metrics_mod.credential_expiry({"token": "not a kubeconfig"}) is None
    assert metrics_mod.credential_expiry(None) is None


# --- the agent records them ---------------------------------------------------------------------------------
def test_after_a_successful_sync(tmp_path):
    clock = Clock()
    directory = fleet("a", "b", "c")
    agent, metrics, dummy = make_agent(tmp_path, clock, lambda config: directory)
    agent.step()
    assert agent.health.ready()[0] == 200
    values = exposition(metrics)
    assert value(values, "last_success_timestamp_seconds") == T0 == value(values, "last_attempt_timestamp_seconds")
    assert value(values, "objects_held", kind="clusters") == 3
    assert value(values, "credential_expiry_timestamp_seconds") == EXP
    assert errors(values) == no_errors_but()
    directory.add(cluster("d"))
    clock.advance(60)  # the periodic resync
    agent.step()
    values = exposition(metrics)
    assert value(values, "last_success_timestamp_seconds") == T0 + 60
    assert value(values, "objects_held", kind="clusters") == 4


def test_policies_are_counted_by_state_the_fixed_set_of_states_only():
    metrics = metrics_mod.new_metrics()
    assert value(exposition(metrics), "policies", state="applied") == 0  # every state from 0
    items = {"a": {"state": "applied"}, "b": {"state": "refused"}, "c": {"state": "applied"},
             "d": {"state": "made up by a replica"}}
    metrics.sync_succeeded({"policies": {"enabled": True, "error": None, "items": items}}, T0)
    values = exposition(metrics)
    assert value(values, "policies", state="applied") == 2 and value(values, "policies", state="refused") == 1
    assert value(values, "policies", state="not selected") == 0
    assert sorted(key for key in values if key[0] == "directory_sync_policies") == sorted(
        ("directory_sync_policies", (("state", state),)) for state in policy_outcomes.STATES)
    metrics.sync_succeeded({"policies": None}, T0 + 1)  # no policies in the directory any more
    assert value(exposition(metrics), "policies", state="applied") == 0


def api_error(status, reason, body=None):
    exc = ApiException(status=status, reason=reason)
    exc.body = body
    exc.headers = {}
    return exc


def read_timeout():
    pool = HTTPSConnectionPool("directory.example.com", 6443)
    return MaxRetryError(pool, "/apis", ReadTimeoutError(pool, "/apis", "Read timed out."))


def connection_refused():
    pool = HTTPSConnectionPool("directory.example.com", 6443)
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    cause.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return MaxRetryError(pool, "/apis", cause)


# the lists one sync reads from the directory (Clusters, ClusterPolicies)
READS = len(set(kind.kind for source in SOURCES for kind in source.reads))


def failing_directory(error, clock):
    """The real ClusterClient (its retries, deadline and error details) over a fake transport:
    the first sync's lists answer with nothing, later requests raise *error*."""
    def factory(config):
        client = ClusterClient({"kubeconfig": config, "request_timeout": 5}, sleep=clock.sleep, clock=clock)

        def answer(call):
            if len(transport.calls) > READS:
                return error
            return {"items": [], "metadata": {"resourceVersion": "5"}}
        transport = FakeTransport(fallback=answer).install(client)
        return client
    return factory


@pytest.mark.parametrize("error, reason", [
    (api_error(401, "Unauthorized"), "credential_refused"),
    (api_error(403, "Forbidden", json.dumps({"kind": "Status", "message": "clusters is forbidden: User x"})),
     "credential_refused"),
    (read_timeout(), "directory_unreachable"),
    (connection_refused(), "directory_unreachable"),
    (api_error(503, "Service Unavailable"), "directory_unreachable"),
    (api_error(404, "Not Found", "404 page not found"), "directory_api_missing"),
    (api_error(400, "Bad Request"), "other"),
], ids=["401", "403", "timeout", "refused", "503", "no-api", "400"])
def test_after_a_failure_reading_the_directory(tmp_path, error, reason):
    clock = Clock()
    agent, metrics, dummy = make_agent(tmp_path, clock, failing_directory(error, clock))
    agent.step()  # the first list answers
    assert value(exposition(metrics), "last_success_timestamp_seconds") == T0
    clock.advance(60)
    started = clock()
    agent.step()  # the client's retries and deadline move the clock
    assert agent.health.ready()[1]["status"] == "failing"
    values = exposition(metrics)
    assert errors(values) == no_errors_but(**{reason: 1})
    assert started <= value(values, "last_attempt_timestamp_seconds") == clock() <= started + 6
    assert value(values, "last_success_timestamp_seconds") == T0  # kept
    assert value(values, "objects_held", kind="clusters") == 0  # of the last success
    assert value(values, "credential_expiry_timestamp_seconds") == EXP  # the credential is still the one in use
    clock.advance(1)  # the backoff
    agent.step()
    assert errors(exposition(metrics))[reason] == 2


def test_a_failure_on_the_replica_and_an_unexpected_one(tmp_path):
    clock = Clock()
    replica = FakeCluster(label="east")
    replica.failures[("list", "Cluster")] = MulticlusterError(
        "list Clusters on cluster 'east': HTTP 500 Internal Server Error", cluster="east", details={"status": 500})
    agent, metrics, dummy = make_agent(tmp_path, clock, lambda config: fleet("a"), replica=replica)
    agent.step()
    assert errors(exposition(metrics)) == no_errors_but(replica_error=1)
    agent._sync = lambda *args, **kwargs: {}["boom"]
    clock.advance(1)
    agent.step()
    values = exposition(metrics)
    assert errors(values) == no_errors_but(replica_error=1, other=1)
    assert value(values, "last_attempt_timestamp_seconds") == T0 + 1
    assert value(values, "last_success_timestamp_seconds") == 0


def test_the_reasons_come_from_the_error_type_and_details_not_its_text():
    reason = metrics_mod.sync_error_reason
    worded_401 = "the directory refused the credential (HTTP 401 Unauthorized)"
    assert reason(DirectoryError(worded_401, details={"status": 401})) == "credential_refused"
    assert reason(DirectoryError(worded_401, details={"timeout": 30, "waited": 30.0})) == "directory_unreachable"
    assert reason(MulticlusterError(worded_401, details={"status": 401})) == "replica_error"
    assert reason(DirectoryError("x", details={"status": 429})) == "directory_unreachable"
    assert reason(ValueError(worded_401)) == "other"


def test_after_credential_loads_with_and_without_exp_and_failed_ones(tmp_path):
    clock = Clock()
    agent, metrics, path = make_agent(tmp_path, clock, None)  # the real ClusterClient factory
    agent._sync = lambda *args, **kwargs: {"counts": {"clusters": {"desired": 2, "held": 2, "conflicts": 0}}}
    agent.step()
    values = exposition(metrics)
    assert value(values, "credential_expiry_timestamp_seconds") == EXP
    assert value(values, "objects_held", kind="clusters") == 2
    write_credential(path, legacy_token())  # a legacy service-account token has no exp
    clock.advance(2)
    agent.step()
    assert math.isnan(value(exposition(metrics), "credential_expiry_timestamp_seconds"))
    write_credential(path, bound_token(exp=EXP + 86400))
    clock.advance(2)
    agent.step()
    assert value(exposition(metrics), "credential_expiry_timestamp_seconds") == EXP + 86400
    path.write_text("clusters: [\n")  # not YAML: cannot be loaded
    clock.advance(2)
    agent.step()
    values = exposition(metrics)
    assert errors(values) == no_errors_but(credential_unusable=1)
    assert math.isnan(value(values, "credential_expiry_timestamp_seconds"))  # none is in use
    assert value(values, "last_attempt_timestamp_seconds") == clock() and agent.directory is None
    write_credential(path, bound_token(exp=EXP), ca_file=str(tmp_path / "no-ca.crt"))  # the client cannot use it
    clock.advance(2)
    agent.step()
    values = exposition(metrics)
    assert errors(values) == no_errors_but(credential_unusable=2) and agent.directory is None
    assert math.isnan(value(values, "credential_expiry_timestamp_seconds"))
    write_credential(path, bound_token(exp=EXP))
    clock.advance(2)
    agent.step()
    values = exposition(metrics)
    assert value(values, "credential_expiry_timestamp_seconds") == EXP
    assert value(values, "last_success_timestamp_seconds") == clock()
    assert "eyJ" not in metrics.render()[2].decode("utf-8")  # no token (a JWT starts so) in any label


def test_an_agent_without_metrics_still_runs(tmp_path):
    clock = Clock()
    agent, dummy, dummy2 = make_agent(tmp_path, clock, lambda config: fleet("a"))
    agent.metrics = loop.Agent("replica", None).metrics  # the default: records nothing
    agent.step()
    assert agent.health.ready()[0] == 200 and not agent.metrics.available
