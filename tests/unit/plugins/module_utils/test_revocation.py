"""credentials/revocation.py: proving a revoked token is refused. wait_refused with a fake probe and a clock
moved by hand; token_probe through the real ClusterClient over a fake transport (no network, no waiting)."""

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import revocation
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from tests.unit.plugins.module_utils.test_client import kubeconfig
from tests.unit.utils.clock import Clock
from tests.unit.utils.fake_transport import FakeTransport

OLD_TOKEN = "eyJhbGciOiJSUzI1NiJ9.old-token-of-east.c2lnbmF0dXJl"
CLUSTERS = "/apis/multicluster.coreos.com/v1/clusters"


class Directory(object):
    """What wait_refused reads of the directory's client when given a probe: its label."""
    label = "west-coast-production"


class Probe(object):
    """A probe answering from a list of (status, error), the last one repeating; records the time of each try."""

    def __init__(self, clock, answers):
        self.clock, self.answers, self.tries = clock, list(answers), []

    def __call__(self):
        self.tries.append(self.clock.now)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def wait(answers, timeout=30):
    clock = Clock(1000.0)
    probe = Probe(clock, answers)
    result = revocation.wait_refused(Directory(), "east", OLD_TOKEN, timeout, sleep=clock.sleep, clock=clock,
                                     probe=probe)
    return result, probe, clock


def refusal(answers, timeout):
    """The error of a wait that never saw 401, and the probe."""
    clock = Clock(1000.0)
    probe = Probe(clock, answers)
    with pytest.raises(MulticlusterError) as err:
        revocation.wait_refused(Directory(), "east", OLD_TOKEN, timeout, sleep=clock.sleep, clock=clock, probe=probe)
    return str(err.value), probe


# --- wait_refused -------------------------------------------------------------------------------------------

def test_refused_at_once_is_one_try_and_no_wait():
    result, probe, clock = wait([(401, None)])
    assert result is True
    assert probe.tries == [1000.0] and clock.sleeps == []


def test_refused_after_the_api_servers_token_cache_expires():
    """The API server caches a token's authentication for about 10 s: accepted, then refused."""
    result, probe, clock = wait([(200, None)] * 9 + [(401, None)])
    assert result is True
    assert probe.tries == [1000.0 + second for second in range(10)]  # at once, then once a second
    assert clock.sleeps == [1] * 9


def test_a_probe_error_then_401_is_refused():
    result, probe, dummy = wait([(None, "cannot connect"), (503, None), (401, None)])
    assert result is True and len(probe.tries) == 3


def test_still_accepted_at_the_deadline_names_replica_cluster_status_and_seconds():
    message, probe = refusal([(200, None)], 10)
    assert message == ("verify revocation of the credential of replica east on cluster 'west-coast-production': "
                       "the old token is still accepted (HTTP 200) after 10s")
    assert OLD_TOKEN not in message and "old-token-of-east" not in message
    # tries at once and every second up to the deadline, the last one at it
    assert probe.tries == [1000.0 + second for second in range(11)]


def test_the_last_answer_is_the_one_reported():
    message, dummy = refusal([(200, None), (200, None), (403, None)], 3)
    assert message.endswith("the old token is still accepted (HTTP 403) after 3s")


def test_a_probe_error_without_status_is_not_refused_with_its_reason():
    reason = "list Clusters on cluster 'west-coast-production': connection refused"
    message, dummy = refusal([(None, reason)], 5)
    assert message == ("verify revocation of the credential of replica east on cluster 'west-coast-production': "
                       "the old token is still not refused (%s) after 5s" % reason)
    assert "accepted" not in message and OLD_TOKEN not in message


def test_a_timeout_of_zero_tries_once():
    message, probe = refusal([(200, None)], 0)
    assert len(probe.tries) == 1 and message.endswith("accepted (HTTP 200) after 0s")


# --- token_probe: one real request made with the old token alone ----------------------------------------------

@pytest.fixture
def probing(monkeypatch):
    """(the directory's ClusterClient, the transport every probe client it makes sends through, the probe
    clients made, the clock)."""
    clock = Clock(1000.0)
    directory = ClusterClient({"kubeconfig": kubeconfig(), "request_timeout": 30}, sleep=clock.sleep, clock=clock)
    transport, made = FakeTransport(), []
    real = ClusterClient.with_token

    def with_token(self, token, request_timeout=None):
        probe = real(self, token, request_timeout)
        made.append(probe)
        transport.install(probe)
        return probe
    monkeypatch.setattr(ClusterClient, "with_token", with_token)
    return directory, transport, made, clock


def api_error(status, reason):
    exc = ApiException(status=status, reason=reason)
    exc.body = '{"kind": "Status", "code": %d, "message": "%s"}' % (status, reason)
    return exc


def cannot_connect(cause):
    """The error urllib3 raises when a connection cannot be made for *cause* (an OSError)."""
    pool = HTTPSConnectionPool("east.example.com", 6443)
    new_connection = NewConnectionError(pool, "Failed to establish a new connection: [Errno %d] %s"
                                        % (cause.errno, cause.strerror))
    new_connection.__cause__ = cause
    return MaxRetryError(pool, CLUSTERS, new_connection)


def test_the_probe_lists_one_cluster_with_the_token_alone(probing):
    directory, transport, made, dummy = probing
    transport.answer("GET", CLUSTERS, {"items": [{"metadata": {"name": "east"}}], "metadata": {}})
    attempt = revocation.token_probe(directory, OLD_TOKEN)
    assert attempt() == (200, None)
    assert transport.requests() == [("GET", CLUSTERS)] and transport.calls[0].query == {"limit": 1}
    probe = made[0]
    assert probe.configuration.api_key["BearerToken"] == "Bearer " + OLD_TOKEN
    assert probe.configuration.cert_file is None and probe.configuration.key_file is None
    assert probe.label == directory.label and probe.server == directory.server


@pytest.mark.parametrize("timeout, expected", [(30, 10.0), (4, 4.0)])
def test_a_probe_waits_at_most_ten_seconds_or_the_clients_own_timeout(probing, timeout, expected):
    directory, dummy, made, dummy_clock = probing
    directory.timeout = float(timeout)
    revocation.token_probe(directory, OLD_TOKEN)
    assert made[0].timeout == expected


@pytest.mark.parametrize("status", [401, 403])
def test_an_http_error_is_its_status(probing, status):
    directory, transport, dummy, dummy_clock = probing
    transport.answer("GET", CLUSTERS, api_error(status, "Unauthorized" if status == 401 else "Forbidden"))
    assert revocation.token_probe(directory, OLD_TOKEN)() == (status, None)
    assert len(transport.calls) == 1  # neither is retried


def test_a_network_error_is_no_status_and_a_reason_without_the_token(probing):
    directory, transport, dummy, dummy_clock = probing
    transport.answer("GET", CLUSTERS, cannot_connect(ConnectionRefusedError(111, "Connection refused")))
    status, reason = revocation.token_probe(directory, OLD_TOKEN)()
    assert (status, reason) == (None, "list clusters on cluster 'east': cannot connect to "
                                      "https://east.example.com:6443: connection refused")


def test_one_probe_through_wait_refused_end_to_end(probing):
    """wait_refused without a probe of its own makes token_probe's: 200 twice, then 401."""
    directory, transport, dummy, clock = probing
    ok = {"items": [], "metadata": {}}
    transport.answer("GET", CLUSTERS, ok, ok, api_error(401, "Unauthorized"))
    assert revocation.wait_refused(directory, "east", OLD_TOKEN, 30, sleep=clock.sleep, clock=clock) is True
    assert len(transport.calls) == 3


def test_a_probe_is_one_request_whatever_the_number_of_clusters(probing):
    directory, transport, dummy, dummy_clock = probing
    pages = [{"items": [{"metadata": {"name": "c%d" % i}}], "metadata": {"continue": "t%d" % i}} for i in range(4)]
    transport.answer("GET", CLUSTERS, *(pages + [{"items": [], "metadata": {}}]))
    assert revocation.token_probe(directory, OLD_TOKEN)() == (200, None)
    assert len(transport.calls) == 1


def test_a_probe_on_an_unreachable_network_does_not_say_timed_out(probing):
    directory, transport, dummy, dummy_clock = probing
    transport.answer("GET", CLUSTERS, cannot_connect(OSError(101, "Network is unreachable")))
    status, reason = revocation.token_probe(directory, OLD_TOKEN)()
    assert status is None and "timed out" not in reason
