"""The directory-sync agent (agent/): its pieces and loop, with fakes (no API server)."""

import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

from ansible_collections.coreos.multicluster.agent import cli, logs, loop
from ansible_collections.coreos.multicluster.agent import health as health_mod
from ansible_collections.coreos.multicluster.agent import watcher as watcher_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import retries
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import Cancelled
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig

SERVER = "https://directory.example.com:6443"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.s3cr3t-signature"


class Clock(object):
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


# --- backoff, health, logs --------------------------------------------------------------------------------

def test_backoff_doubles_up_to_the_cap_with_jitter_and_resets():
    high = retries.Backoff(1.0, 10.0, rand=lambda: 1.0)
    assert [high.next() for dummy in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    low = retries.Backoff(1.0, 10.0, rand=lambda: 0.0)
    assert [low.next() for dummy in range(3)] == [0.5, 1.0, 2.0]
    low.reset()
    assert low.failures == 0 and low.next() == 0.5


def test_health_is_ok_only_after_a_recent_successful_sync():
    clock = Clock()
    health = health_mod.Health(window=120, live_window=180, clock=clock)
    assert health.ready()[0] == 503 and health.ready()[1]["status"] == "starting"
    health.record(True, "3 Clusters in sync")
    code, body = health.ready()
    assert code == 200 and body["status"] == "ok" and body["message"] == "3 Clusters in sync"
    assert body["lastSuccess"] is not None and body["lastSuccess"] == body["lastAttempt"]
    clock.advance(121)
    assert health.ready() == (503, dict(body, status="stale"))
    health.record(True, "again")
    assert health.ready()[0] == 200
    health.record(False, "the directory refused the credential (HTTP 401 Unauthorized)")
    code, body = health.ready()
    assert code == 503 and body["status"] == "failing" and "401" in body["message"]
    # liveness follows the loop, not the directory
    assert health.live()[0] == 200  # 121 s since the loop's last beat: within 180 s
    clock.advance(60)
    assert health.live() == (503, {"status": "stuck", "loopAge": 181.0})
    health.beat()
    assert health.live() == (200, {"status": "ok", "loopAge": 0.0})


def test_logs_are_one_json_object_per_line_and_never_carry_a_bearer_token():
    stream = io.StringIO()
    logs.configure_logging(stream)
    logs.log(logging.INFO, "synced", created=2, reason="header Authorization: Bearer %s" % TOKEN)
    logs.log(logging.DEBUG, "not shown at info")
    logs.log(logging.ERROR, "sync failed with token=%s" % TOKEN)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info" and first["msg"] == "synced" and first["created"] == 2
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "error"
    assert TOKEN not in stream.getvalue()


# --- the credential file ---------------------------------------------------------------------------------------

def test_the_credential_file_is_loaded_reloaded_on_change_and_never_quoted(tmp_path):
    path = tmp_path / "kubeconfig"
    cred = loop.CredentialFile(str(path))
    assert cred.fingerprint() is None and not cred.changed()
    with pytest.raises(MulticlusterError, match=r"cannot read the directory kubeconfig .*kubeconfig: No such file"):
        cred.load()
    path.write_text(yaml.safe_dump(build_kubeconfig(SERVER, TOKEN)))
    assert cred.changed()
    credential, server = cred.load()
    assert server == SERVER and credential.token == TOKEN
    assert not cred.changed()
    path.write_text("clusters: [\n  token: " + TOKEN)
    assert cred.changed()
    with pytest.raises(MulticlusterError, match="is not valid YAML") as err:
        cred.load()
    assert TOKEN not in str(err.value)
    assert not cred.changed()  # the broken content is what was last loaded


# --- the loop -------------------------------------------------------------------------------------------------

class FakeCredential(object):
    path = "/etc/directory-sync/kubeconfig"

    def __init__(self):
        self.content = "good"
        self.loaded = None
        self.loads = 0

    def changed(self):
        return self.content != self.loaded

    def load(self, cluster=None):
        self.loads += 1
        self.loaded = self.content
        if self.content is None:
            raise MulticlusterError("cannot read the directory kubeconfig %s: No such file or directory" % self.path)
        return {"token": self.content}, SERVER


class FakeSync(object):
    def __init__(self):
        self.calls = []
        self.error = None
        self.version = 10

    def __call__(self, directory, replica, server, status_interval=None, cancel=None):
        self.calls.append((directory, server, status_interval, cancel))
        if self.error is not None:
            raise self.error
        self.version += 1
        return {"changed": True, "created": ["a"], "updated": [], "deleted": [], "conflicts": [],
                "counts": {"clusters": {"desired": 1, "held": 1, "conflicts": 0}},
                "status": {"data": {"message": "1 Cluster in sync"}, "written": True},
                "resource_versions": {"clusters": str(self.version)}}


class FakeWatcher(object):
    kind = CLUSTER

    def __init__(self):
        self.follows = []

    def follow(self, directory, version, seen=None):
        self.follows.append((directory, version))

    def drop(self):
        self.follows.append(None)


def make_agent(clock, **kw):
    sync, credential, watcher, records = FakeSync(), FakeCredential(), FakeWatcher(), []
    agent = loop.Agent("replica", credential, resync=60, status_interval=300, reload_interval=2,
                       backoff=retries.Backoff(1.0, 8.0, rand=lambda: 1.0),
                       health=health_mod.Health(120, 180, clock=clock), watchers=[watcher], sync_fn=sync,
                       directory_factory=lambda config: ("directory", config["token"]),
                       record_fn=lambda *args: records.append(args), clock=clock, wall=clock, **kw)
    return agent, sync, credential, watcher, records


@pytest.fixture(autouse=True)
def quiet_logs():
    logs.configure_logging(io.StringIO())


def test_the_first_step_loads_the_credential_syncs_and_starts_the_watch():
    clock = Clock()
    agent, sync, credential, watcher, records = make_agent(clock)
    wait = agent.step()
    assert len(sync.calls) == 1
    directory, server, interval, cancel = sync.calls[0]
    assert directory == ("directory", "good") and server == SERVER and interval == 300
    assert cancel() is False
    assert watcher.follows == [(("directory", "good"), "11")]
    assert agent.health.ready()[0] == 200 and agent.health.ready()[1]["message"] == "1 Cluster in sync"
    assert 0 < wait <= 2  # the next look at the credential file
    clock.advance(2)
    agent.step()
    assert len(sync.calls) == 1 and credential.loads == 1  # nothing due, file unchanged
    clock.advance(58)
    agent.step()
    assert len(sync.calls) == 2  # the periodic resync
    assert records == []


def test_watch_events_trigger_one_sync_after_the_debounce():
    clock = Clock()
    agent, sync, dummy, dummy2, dummy3 = make_agent(clock)
    agent.step()
    agent.notify("ADDED", "a")
    agent.notify("MODIFIED", "b")
    assert agent.wake.is_set()
    assert agent.step() == pytest.approx(loop.DEBOUNCE)
    assert len(sync.calls) == 1
    clock.advance(loop.DEBOUNCE)
    agent.step()
    assert len(sync.calls) == 2
    clock.advance(1)
    agent.step()
    assert len(sync.calls) == 2


def test_failures_back_off_and_a_new_credential_is_tried_at_once():
    clock = Clock()
    agent, sync, credential, watcher, dummy = make_agent(clock)
    sync.error = MulticlusterError("sync Clusters from directory 'x' to cluster 'east': the directory refused the "
                                   "credential (HTTP 401 Unauthorized)")
    assert agent.step() == pytest.approx(1.0)
    assert agent.health.ready()[1]["status"] == "failing"
    clock.advance(0.5)
    agent.notify("ADDED", "a")
    clock.advance(0.3)
    agent.step()
    assert len(sync.calls) == 1  # events wait for the backoff
    clock.advance(0.2)
    agent.step()
    assert len(sync.calls) == 2 and agent.backoff.failures == 2
    clock.advance(0.9)
    agent.step()
    assert len(sync.calls) == 2  # the second backoff is 2 s
    # the Secret changes: reloaded at the next look at the file (every 2 s) and tried at once, whatever the backoff
    credential.content = "rotated"
    sync.error = None
    clock.advance(0.1)
    agent.step()
    assert len(sync.calls) == 3 and sync.calls[-1][0] == ("directory", "rotated")
    assert agent.backoff.failures == 0 and agent.health.ready()[0] == 200
    assert watcher.follows == [(("directory", "rotated"), "11")]


def test_an_unreadable_credential_is_recorded_and_retried_after_the_backoff():
    clock = Clock()
    agent, sync, credential, dummy, records = make_agent(clock)
    credential.content = None
    agent.step()
    assert sync.calls == [] and agent.directory is None
    assert len(records) == 1
    replica, server, message, now, interval, dry = records[0]
    assert replica == "replica" and server == "" and "No such file" in message and interval == 300 and dry is False
    assert agent.health.ready()[1]["status"] == "failing"
    clock.advance(0.5)
    agent.step()
    assert credential.loads == 1  # within the backoff, and the file did not change
    clock.advance(0.5)
    agent.step()
    assert credential.loads == 2 and len(records) == 2
    credential.content = "good"
    clock.advance(2)
    agent.step()
    assert len(sync.calls) == 1 and agent.health.ready()[0] == 200


def test_a_new_credential_that_cannot_be_used_stops_the_old_one_and_is_reported():
    clock = Clock()
    sync, credential, watcher, records = FakeSync(), FakeCredential(), FakeWatcher(), []

    def factory(config):
        if config["token"] == "bad-ca":
            raise MulticlusterError("the directory kubeconfig has an unreadable certificate-authority-data")
        if config["token"] == "odd":
            raise ValueError("odd value near bearer abc.def")
        return ("directory", config["token"])

    agent = loop.Agent("replica", credential, resync=60, status_interval=300, reload_interval=2,
                       backoff=retries.Backoff(1.0, 8.0, rand=lambda: 1.0),
                       health=health_mod.Health(120, 180, clock=clock), watchers=[watcher], sync_fn=sync,
                       directory_factory=factory, record_fn=lambda *args: records.append(args), clock=clock,
                       wall=clock)
    agent.step()
    assert len(sync.calls) == 1 and agent.directory == ("directory", "good")
    credential.content = "bad-ca"
    clock.advance(2)
    agent.step()
    assert agent.directory is None and len(sync.calls) == 1  # the replaced credential is not used any more
    assert watcher.follows == [(("directory", "good"), "11"), None]  # nor watched with
    code, body = agent.health.ready()
    assert code == 503 and "unreadable certificate-authority-data" in body["message"]
    assert len(records) == 1 and "unreadable certificate-authority-data" in records[0][2]
    assert records[0][1] == SERVER  # the server of the file that failed, not of the one before
    credential.content = "odd"
    clock.advance(2)
    agent.step()
    message = agent.health.ready()[1]["message"]
    assert message.startswith("cannot use the directory kubeconfig /etc/directory-sync/kubeconfig: ValueError")
    assert "abc.def" not in message and len(records) == 2
    credential.content = "fixed"
    clock.advance(2)
    agent.step()
    assert sync.calls[-1][0] == ("directory", "fixed") and agent.health.ready()[0] == 200


def test_a_cancelled_sync_changes_nothing_and_unexpected_errors_are_failures():
    clock = Clock()
    agent, sync, dummy, dummy2, dummy3 = make_agent(clock)
    sync.error = Cancelled()
    agent.step()
    assert agent.health.ready()[1]["status"] == "starting" and agent.backoff.failures == 0
    sync.error = KeyError("boom")
    clock.advance(60)
    agent.step()
    code, body = agent.health.ready()
    assert code == 503 and body["message"] == "unexpected error: KeyError: 'boom'"


def test_run_returns_promptly_when_asked_to_stop():
    agent, sync, dummy, dummy2, dummy3 = make_agent(time.monotonic)
    thread = threading.Thread(target=agent.run)
    thread.start()
    deadline = time.monotonic() + 5
    while not sync.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    agent.request_stop()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - started < 1
    assert len(sync.calls) == 1


# --- the watch -------------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status):
        super(ApiError, self).__init__("(%s)" % status)
        self.status = status
        self.reason = "Gone" if status == 410 else "Unauthorized"
        self.body = ""
        self.headers = {}


class FakeStream(object):
    def __init__(self, events, error=None):
        self.events = events
        self.error = error
        self.kwargs = None
        self.stopped = False

    def stream(self, fn, *args, **kwargs):
        self.kwargs = kwargs
        yield from self.events
        if self.error is not None:
            raise self.error

    def stop(self):
        self.stopped = True


class FakeDirectory(object):
    """ClusterClient.watch over a fake stream."""

    def watch(self, kind, resource_version, timeout_seconds, stream):
        assert kind is CLUSTER
        for item in stream.stream(None, resource_version=resource_version, timeout_seconds=timeout_seconds):
            yield item["type"], item["raw_object"]


def event(kind, name, version):
    return {"type": kind, "raw_object": {"metadata": {"name": name, "resourceVersion": version}}}


def test_the_watch_reports_changes_and_resumes_from_the_last_version():
    seen = []
    streams = [FakeStream([event("ADDED", "a", "12"), event("BOOKMARK", None, "13"), event("DELETED", "b", "14")])]
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append((kind, name)), threading.Event(),
                                  timeout=60, stream_factory=lambda: streams[-1])
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == [("ADDED", "Cluster a"), ("DELETED", "Cluster b")]
    assert streams[0].kwargs["resource_version"] == "11" and streams[0].kwargs["timeout_seconds"] == 60
    streams.append(FakeStream([]))
    watcher.watch_once()
    assert streams[1].kwargs["resource_version"] == "14"
    watcher.follow(directory, "20")  # the same client: its own position is newer, kept
    watcher.watch_once()
    assert streams[1].kwargs["resource_version"] == "14"


def cluster_event(kind, name, version, labels=None, status=None):
    """An event of a Cluster as a v1.28+ server sends it (managedFields, a status written by its replica)."""
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
           "metadata": {"name": name, "resourceVersion": version, "labels": dict(labels or {}),
                        "managedFields": [{"manager": "directory-sync", "operation": "Update",
                                           "subresource": "status", "time": "2026-12-07T01:00:00Z"}]},
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}
    if status is not None:
        obj["status"] = status
    return {"type": kind, "raw_object": obj}


def test_an_event_that_changes_only_a_status_asks_for_no_sync_and_a_relabel_does():
    seen = []
    listed = cluster_event("ADDED", "east", "10", {"stage": "dev"})["raw_object"]
    streams = [FakeStream([
        cluster_event("MODIFIED", "east", "12", {"stage": "dev"}, {"conditions": [{"type": "Synced"}]}),
        cluster_event("MODIFIED", "east", "13", {"stage": "dev"}, {"kubernetesVersion": "v1.31.0"}),
        cluster_event("MODIFIED", "east", "14", {"stage": "prod"}, {"kubernetesVersion": "v1.31.0"}),
        cluster_event("MODIFIED", "east", "15", {"stage": "prod"}, {"kubernetesVersion": "v1.31.1"}),
        cluster_event("ADDED", "west", "16"),
        cluster_event("DELETED", "west", "17")])]
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append((kind, name)), threading.Event(),
                                  stream_factory=lambda: streams[-1])
    watcher.follow(FakeDirectory(), "11", {"east": plan.fingerprint(listed)})
    watcher.watch_once()
    assert seen == [("MODIFIED", "Cluster east"), ("ADDED", "Cluster west"), ("DELETED", "Cluster west")]
    assert watcher.skipped == 3
    assert streams[0].stopped is False


class StreamWithSyncBetween(FakeStream):
    """A stream that, between two events, lets a sync that listed before the first one end (its follow())."""

    def __init__(self, first, second, between):
        super(StreamWithSyncBetween, self).__init__([first, second])
        self.between = between

    def stream(self, fn, *args, **kwargs):
        self.kwargs = kwargs
        yield self.events[0]
        self.between()
        yield self.events[1]


def test_a_list_older_than_the_watch_never_takes_the_view_back_so_an_undoing_event_still_syncs():
    """A sync lists Cluster east as stage=dev; the watch then delivers dev->prod (a sync is asked for); that
    first sync ends and hands its (older) list over; the watch delivers prod->dev: a change the sync uses,
    which must ask for a sync although it equals the older list."""
    seen = []
    listed = cluster_event("ADDED", "east", "10", {"stage": "dev"})["raw_object"]
    directory = FakeDirectory()
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append((kind, name)), threading.Event(),
                                  stream_factory=lambda: stream)
    stream = StreamWithSyncBetween(
        cluster_event("MODIFIED", "east", "11", {"stage": "prod"}),
        cluster_event("MODIFIED", "east", "12", {"stage": "dev"}),
        lambda: watcher.follow(directory, "10", {"east": plan.fingerprint(listed)}))
    watcher.follow(directory, "10", {"east": plan.fingerprint(listed)})
    watcher.watch_once()
    assert seen == [("MODIFIED", "Cluster east"), ("MODIFIED", "Cluster east")] and watcher.skipped == 0


def test_a_new_watch_takes_the_view_of_the_list_it_starts_from():
    seen = []
    directory, other = FakeDirectory(), FakeDirectory()
    stream = FakeStream([cluster_event("MODIFIED", "east", "21", {"stage": "prod"}, {"kubernetesVersion": "v2"})])
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append(kind), threading.Event(),
                                  stream_factory=lambda: stream)
    watcher.follow(directory, "10", {})
    watcher.follow(other, "20", {"east": plan.fingerprint(cluster_event("ADDED", "east", "20", {"stage": "prod"})[
        "raw_object"])})  # a new client (a reloaded credential): a new watch from that list
    watcher.watch_once()
    assert seen == [] and watcher.skipped == 1 and stream.kwargs["resource_version"] == "20"


def test_an_object_the_last_list_did_not_hold_asks_for_a_sync():
    seen = []
    stream = FakeStream([cluster_event("MODIFIED", "east", "12", status={"policiesApplied": "1/1"})])
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append(kind), threading.Event(),
                                  stream_factory=lambda: stream)
    watcher.follow(FakeDirectory(), "11", {})
    watcher.watch_once()
    assert seen == ["MODIFIED"] and watcher.skipped == 0


def test_an_expired_watch_asks_for_a_full_sync_and_waits_for_a_fresh_version():
    seen = []
    stream = FakeStream([], error=ApiError(410))
    watcher = watcher_mod.Watcher(CLUSTER, lambda kind, name: seen.append(kind), threading.Event(),
                                  stream_factory=lambda: stream)
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == ["EXPIRED"]
    fresh = FakeStream([])
    watcher._stream_factory = lambda: fresh
    watcher.follow(directory, "30")  # after the full sync
    watcher.watch_once()
    assert fresh.kwargs["resource_version"] == "30"


def test_a_failing_watch_backs_off():
    stop = threading.Event()
    waits = []
    stop.wait = waits.append
    watcher = watcher_mod.Watcher(CLUSTER, lambda *a: None, stop, backoff=retries.Backoff(1.0, 4.0, rand=lambda: 1.0),
                                  stream_factory=lambda: FakeStream([], error=ApiError(401)))
    watcher.follow(FakeDirectory(), "11")
    for dummy in range(4):
        watcher.watch_once()
    assert waits == [1.0, 2.0, 4.0, 4.0]


# --- the command ------------------------------------------------------------------------------------------------

def test_arguments_have_defaults_and_are_checked(monkeypatch):
    monkeypatch.delenv("DIRECTORY_KUBECONFIG", raising=False)
    args = cli.parse_args([])
    assert args.directory_kubeconfig == "/etc/directory-sync/kubeconfig" and args.resync_period == 60
    assert args.health_port == 8080 and args.status_interval == 300 and args.kubeconfig is None
    monkeypatch.setenv("DIRECTORY_KUBECONFIG", "/run/secret/kubeconfig")
    assert cli.parse_args([]).directory_kubeconfig == "/run/secret/kubeconfig"
    assert args.heartbeat_period == 60 and args.cluster_name is None
    for bad in (["--resync-period", "0"], ["--status-interval", "-1"], ["--log-level", "loud"],
                ["--heartbeat-period", "0"], ["--heartbeat-period", "3601"], ["--heartbeat-period", "0.5"]):
        with pytest.raises(SystemExit):
            cli.parse_args(bad)
    assert cli.parse_args(["--heartbeat-period", "3600"]).heartbeat_period == 3600


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_health_endpoint_answers_from_the_health_record():
    health = health_mod.Health(120, 180)
    server = health_mod.serve_health(health, "127.0.0.1", 0)
    try:
        port = server.server_port
        assert get(port, "/healthz") == (503, {"status": "starting", "lastAttempt": None, "lastSuccess": None,
                                               "message": "no sync yet", "window": 120})
        health.record(True, "in sync")
        assert get(port, "/healthz")[0] == 200 and get(port, "/readyz")[0] == 200
        assert get(port, "/livez")[0] == 200
        assert get(port, "/other")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_main_fails_cleanly_without_a_replica(tmp_path):
    stream = io.StringIO()
    code = cli.main(["--kubeconfig", str(tmp_path / "missing"), "--health-port", "0"], stream=stream)
    assert code == 2
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["msg"] == "cannot connect to the replica" and "file does not exist" in entry["reason"]


def test_main_stops_with_exit_code_0_on_sigterm(tmp_path, monkeypatch):
    """main() in a thread of this process, stopped through the handler it installs."""
    replica = tmp_path / "replica.kubeconfig"
    replica.write_text(yaml.safe_dump(build_kubeconfig("https://127.0.0.1:9", "replica-token")))
    handlers = {}
    monkeypatch.setattr(cli.signal, "signal", handlers.__setitem__)
    stream = io.StringIO()
    result = []
    thread = threading.Thread(target=lambda: result.append(cli.main(
        ["--kubeconfig", str(replica), "--directory-kubeconfig", str(tmp_path / "none"), "--health-address",
         "127.0.0.1", "--health-port", "0", "--backoff-max", "0.5"], stream=stream)))
    thread.start()
    deadline = time.monotonic() + 5
    while cli.signal.SIGTERM not in handlers and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    handlers[cli.signal.SIGTERM](cli.signal.SIGTERM, None)
    thread.join(5)
    assert result == [0]
    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert messages[0] == "started" and messages[-1] == "stopped" and "sync failed" in messages
    assert "replica-token" not in stream.getvalue()


def test_a_dropped_watch_ends_and_none_starts_until_followed_again():
    seen, streams = [], []

    def on_event(kind, name):
        seen.append((kind, name))
        if name == "Cluster a":
            watcher.drop()  # what the agent does when a new credential cannot be used

    watcher = watcher_mod.Watcher(CLUSTER, on_event, threading.Event(), timeout=60, stream_factory=lambda: streams[-1])
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    streams.append(FakeStream([event("ADDED", "a", "12"), event("ADDED", "b", "13")]))
    watcher.watch_once()
    assert seen == [("ADDED", "Cluster a")] and streams[0].stopped
    streams.append(FakeStream([event("ADDED", "c", "14")]))
    watcher.watch_once()  # nothing to follow: waits, opens no watch
    assert streams[-1].kwargs is None and seen == [("ADDED", "Cluster a")]
    watcher.follow(directory, "20")
    watcher.watch_once()
    assert streams[-1].kwargs["resource_version"] == "20" and seen[-1] == ("ADDED", "Cluster c")
