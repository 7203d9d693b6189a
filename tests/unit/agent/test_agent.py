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
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan, record
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.view import DirectoryView
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import Cancelled
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, CLUSTER_POLICY
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


def listed(*names, **labels):
    """A Cluster as a v1.28+ server lists it (managedFields, a status written by its replica)."""
    return [{"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
             "metadata": {"name": name, "resourceVersion": "10", "labels": dict(labels),
                          "managedFields": [{"manager": "directory-sync", "operation": "Update",
                                             "subresource": "status", "time": "2026-12-07T01:00:00Z"}]},
             "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}},
             "status": {"kubernetesVersion": "v1.31.0"}} for name in names]


class FakeDirectoryLists(object):
    """read_view: each call lists the directory (a DirectoryView of what it holds now, at a new version)."""

    def __init__(self, clusters, policies=()):
        self.clusters = list(clusters)
        self.policies = list(policies)
        self.version = 10
        self.calls = []
        self.error = None

    def __call__(self, directory):
        self.calls.append(directory)
        if self.error is not None:
            raise self.error
        self.version += 1
        version = str(self.version)
        return DirectoryView.of({"Cluster": [plan.kept(c) for c in self.clusters],
                                 "ClusterPolicy": [plan.kept(p) for p in self.policies]},
                                {"clusters": version, "clusterpolicies": version}, {})


class FakeSync(object):
    """engine.sync: reads through *read* as the engine does, and says what it held."""

    def __init__(self, own=None):
        self.calls = []
        self.snapshots = []
        self.error = None
        self.own = own

    def __call__(self, directory, replica, server, status_interval=None, cancel=None, read=None):
        self.calls.append((directory, server, status_interval, cancel))
        snapshot = read()[0]
        self.snapshots.append(snapshot)
        if self.error is not None:
            raise self.error
        names = [c["metadata"]["name"] for c in snapshot["Cluster"]]
        holdings = record.Holdings({"clusters": set(("", n) for n in names)}, {"clusters": set()}, self.own)
        return {"changed": True, "created": names, "updated": [], "deleted": [], "conflicts": [],
                "counts": {"clusters": {"desired": len(names), "held": len(names), "conflicts": 0}},
                "status": {"data": {"message": "%d Clusters in sync" % len(names)}, "written": True},
                "holdings": holdings}


class FakeChanges(object):
    """sync_changes."""

    def __init__(self):
        self.calls = []
        self.error = None

    def __call__(self, replica, server, changes, holdings, status_interval=None, cancel=None):
        self.calls.append(changes)
        if self.error is not None:
            raise self.error
        return {"changed": True, "created": [], "updated": sorted(changes), "deleted": [], "conflicts": [],
                "status": {"data": {"message": "in sync"}}, "holdings": holdings}


class FakeWatcher(object):
    kind = CLUSTER

    def __init__(self, kind=CLUSTER):
        self.kind = kind
        self.follows = []
        self.generation = 0

    def follow(self, directory, version):
        self.generation += 1
        self.follows.append((directory, version))

    def current(self, generation):
        return generation == self.generation

    def drop(self):
        self.generation += 1
        self.follows.append(None)


def make_agent(clock, clusters=("east", "west"), policies=(), own=None, **kw):
    sync, credential, records = FakeSync(own), FakeCredential(), []
    lists, changes = FakeDirectoryLists(listed(*clusters), policies), FakeChanges()
    watcher, policy_watcher = FakeWatcher(), FakeWatcher(CLUSTER_POLICY)
    agent = loop.Agent("replica", credential, resync=300, relist=1800, status_interval=300, reload_interval=2,
                       backoff=retries.Backoff(1.0, 8.0, rand=lambda: 1.0),
                       health=health_mod.Health(600, 900, clock=clock), watchers=[watcher, policy_watcher],
                       sync_fn=sync, read_view=lists, changes_fn=changes,
                       directory_factory=lambda config: ("directory", config["token"]),
                       record_fn=lambda *args: records.append(args), clock=clock, wall=clock, rand=lambda: 0.5, **kw)
    return Fakes(agent, sync, credential, watcher, policy_watcher, records, lists, changes)


class Fakes(object):
    def __init__(self, agent, sync, credential, watcher, policy_watcher, records, lists, changes):
        self.agent, self.sync, self.credential, self.watcher = agent, sync, credential, watcher
        self.policy_watcher, self.records, self.lists, self.changes = policy_watcher, records, lists, changes

    def event(self, event_type, obj, watcher=None):
        watcher = watcher or self.watcher
        self.agent.on_event(watcher, watcher.generation, event_type, obj)


@pytest.fixture(autouse=True)
def quiet_logs():
    logs.configure_logging(io.StringIO())


def test_the_first_step_lists_the_directory_once_syncs_and_follows_the_list():
    clock = Clock()
    f = make_agent(clock)
    wait = f.agent.step()
    assert len(f.lists.calls) == 1 and len(f.sync.calls) == 1
    directory, server, interval, cancel = f.sync.calls[0]
    assert directory == ("directory", "good") and server == SERVER and interval == 300
    assert cancel() is False
    assert f.watcher.follows == [None, (("directory", "good"), "11")]  # dropped with the old credential, then this
    assert f.policy_watcher.follows[-1] == (("directory", "good"), "11")
    assert [c["metadata"]["name"] for c in f.sync.snapshots[0]["Cluster"]] == ["east", "west"]
    assert "status" not in f.sync.snapshots[0]["Cluster"][0]  # the view keeps what the sync uses
    assert f.agent.health.ready()[0] == 200 and f.agent.health.ready()[1]["message"] == "2 Clusters in sync"
    assert 0 < wait <= 2  # the next look at the credential file
    clock.advance(2)
    f.agent.step()
    assert len(f.sync.calls) == 1 and f.credential.loads == 1  # nothing due, file unchanged


def test_the_replica_is_synced_in_full_from_the_view_every_resync_and_the_directory_listed_every_relist():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    for dummy in range(5):  # 5 x 300 s: full syncs of the replica, from the view: the directory is not listed
        clock.advance(300)
        f.agent.step()
    assert len(f.sync.calls) == 6 and len(f.lists.calls) == 1
    clock.advance(1800 - 1500)  # the relist period (1800 s +/- 10%: rand 0.5 is the middle)
    f.agent.step()
    assert len(f.lists.calls) == 2 and len(f.sync.calls) == 7
    assert f.watcher.follows[-1] == (("directory", "good"), "12")  # the watch follows the new list


def test_the_relist_period_is_jittered_by_ten_percent():
    for rand, period in ((0.0, 1620.0), (1.0, 1980.0)):
        clock = Clock()
        f = make_agent(clock)
        f.agent._rand = lambda: rand
        f.agent.step()
        assert f.agent.next_relist == pytest.approx(clock.now + period)


def test_a_change_is_synced_alone_after_the_debounce_without_a_list():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    f.event("MODIFIED", listed("east", stage="prod")[0])
    f.event("ADDED", listed("north")[0])
    assert f.agent.wake.is_set()
    assert f.agent.step() == pytest.approx(loop.DEBOUNCE)
    assert f.changes.calls == []
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert len(f.changes.calls) == 1 and len(f.lists.calls) == 1 and len(f.sync.calls) == 1
    assert sorted(f.changes.calls[0]) == ["east", "north"]
    assert f.changes.calls[0]["east"]["metadata"]["labels"] == {"stage": "prod"}
    f.event("DELETED", listed("north")[0])
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert f.changes.calls[-1] == {"north": None}  # gone from the directory
    clock.advance(1)
    f.agent.step()
    assert len(f.changes.calls) == 2


def test_an_event_that_changes_only_a_status_costs_nothing():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    same = listed("east")[0]
    same["metadata"]["resourceVersion"] = "12"
    same["status"] = {"kubernetesVersion": "v1.31.1", "conditions": [{"type": "Synced", "status": "True"}]}
    same["metadata"]["managedFields"][0]["time"] = "2026-12-07T02:00:00Z"
    f.event("MODIFIED", same)
    assert f.agent.dirty_at is None and not f.agent.pending
    clock.advance(1)
    f.agent.step()
    assert f.changes.calls == [] and len(f.sync.calls) == 1
    assert f.agent.view.versions["clusters"] == "12"  # its version is the view's all the same


def test_an_event_of_an_earlier_list_never_changes_the_view():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    earlier = f.watcher.generation
    clock.advance(1800)
    f.agent.step()  # listed again: the watch follows the new list
    f.agent.on_event(f.watcher, earlier, "MODIFIED", listed("east", stage="old")[0])
    assert not f.agent.pending and "labels" not in f.agent.view.get(CLUSTER, "east")["metadata"]


def test_a_policy_change_or_a_change_of_the_replicas_own_cluster_syncs_in_full_from_the_view():
    clock = Clock()
    policy = {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy",
              "metadata": {"name": "team", "resourceVersion": "12"}, "spec": {"namespaces": ["team"]}}
    f = make_agent(clock, own="east")
    f.agent.step()
    f.event("ADDED", policy, f.policy_watcher)
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert len(f.sync.calls) == 2 and f.changes.calls == [] and len(f.lists.calls) == 1
    assert f.sync.snapshots[-1]["ClusterPolicy"][0]["spec"] == {"namespaces": ["team"]}
    f.event("MODIFIED", listed("east", stage="prod")[0])  # its labels select the policies
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert len(f.sync.calls) == 3 and f.changes.calls == []
    f.event("MODIFIED", listed("west", stage="prod")[0])  # another Cluster: synced alone
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert len(f.sync.calls) == 3 and f.changes.calls == [{"west": f.agent.view.get(CLUSTER, "west")}]


def test_an_expired_watch_lists_the_directory_again_at_once_and_follows_the_new_list():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    f.lists.clusters = listed("east")  # west was deleted while the watch could not see it
    f.event("EXPIRED", {})
    assert f.agent.wake.is_set()
    f.agent.step()  # at once, whatever the relist period
    assert len(f.lists.calls) == 2 and len(f.sync.calls) == 2
    assert [c["metadata"]["name"] for c in f.sync.snapshots[-1]["Cluster"]] == ["east"]
    assert f.watcher.follows[-1] == (("directory", "good"), "12")


def test_a_failed_sync_of_changes_is_followed_by_a_full_sync_from_the_view_after_the_backoff():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    f.changes.error = MulticlusterError("update Cluster east on cluster 'replica': the API server did not answer")
    f.event("MODIFIED", listed("east", stage="prod")[0])
    clock.advance(loop.DEBOUNCE)
    f.agent.step()
    assert f.agent.health.ready()[1]["status"] == "failing" and len(f.changes.calls) == 1
    clock.advance(0.5)
    f.agent.step()
    assert len(f.sync.calls) == 1  # within the backoff
    clock.advance(0.5)
    f.agent.step()
    assert len(f.sync.calls) == 2 and len(f.lists.calls) == 1  # in full, from the view
    assert f.sync.snapshots[-1]["Cluster"][0]["metadata"]["labels"] == {"stage": "prod"}
    assert f.agent.health.ready()[0] == 200


def test_failures_back_off_and_a_new_credential_is_listed_with_at_once():
    clock = Clock()
    f = make_agent(clock)
    f.lists.error = MulticlusterError("sync Clusters from directory 'x' to cluster 'east': the directory refused "
                                      "the credential (HTTP 401 Unauthorized)")
    assert f.agent.step() == pytest.approx(1.0)
    assert f.agent.health.ready()[1]["status"] == "failing" and f.agent.view is None
    clock.advance(0.8)
    f.agent.step()
    assert len(f.lists.calls) == 1  # the backoff
    clock.advance(0.2)
    f.agent.step()
    assert len(f.lists.calls) == 2 and f.agent.backoff.failures == 2
    clock.advance(0.9)
    f.agent.step()
    assert len(f.lists.calls) == 2  # the second backoff is 2 s
    # the Secret changes: reloaded at the next look at the file (every 2 s) and listed with at once
    f.credential.content = "rotated"
    f.lists.error = None
    clock.advance(0.1)
    f.agent.step()
    assert len(f.lists.calls) == 3 and f.lists.calls[-1] == ("directory", "rotated")
    assert f.agent.backoff.failures == 0 and f.agent.health.ready()[0] == 200
    assert f.watcher.follows[-1] == (("directory", "rotated"), "11")
    f.credential.content = "rotated again"  # a working credential replaced: listed again, watched with the new one
    clock.advance(2)
    f.agent.step()
    assert f.lists.calls[-1] == ("directory", "rotated again") and f.watcher.follows[-2:] == [
        None, (("directory", "rotated again"), "12")]


def test_an_unreadable_credential_is_recorded_and_retried_after_the_backoff():
    clock = Clock()
    f = make_agent(clock)
    f.credential.content = None
    f.agent.step()
    assert f.sync.calls == [] and f.agent.directory is None
    assert len(f.records) == 1
    replica, server, message, now, interval, dry = f.records[0]
    assert replica == "replica" and server == "" and "No such file" in message and interval == 300 and dry is False
    assert f.agent.health.ready()[1]["status"] == "failing"
    clock.advance(0.5)
    f.agent.step()
    assert f.credential.loads == 1  # within the backoff, and the file did not change
    clock.advance(0.5)
    f.agent.step()
    assert f.credential.loads == 2 and len(f.records) == 2
    f.credential.content = "good"
    clock.advance(2)
    f.agent.step()
    assert len(f.sync.calls) == 1 and f.agent.health.ready()[0] == 200


def test_a_new_credential_that_cannot_be_used_stops_the_old_one_and_is_reported():
    clock = Clock()
    f = make_agent(clock)

    def factory(config):
        if config["token"] == "bad-ca":
            raise MulticlusterError("the directory kubeconfig has an unreadable certificate-authority-data")
        if config["token"] == "odd":
            raise ValueError("odd value near bearer abc.def")
        return ("directory", config["token"])
    f.agent._directory_factory = factory
    f.agent.step()
    assert len(f.sync.calls) == 1 and f.agent.directory == ("directory", "good")
    f.credential.content = "bad-ca"
    clock.advance(2)
    f.agent.step()
    assert f.agent.directory is None and len(f.sync.calls) == 1  # the replaced credential is not used any more
    assert f.watcher.follows[-1] is None  # nor watched with
    code, body = f.agent.health.ready()
    assert code == 503 and "unreadable certificate-authority-data" in body["message"]
    assert len(f.records) == 1 and "unreadable certificate-authority-data" in f.records[0][2]
    assert f.records[0][1] == SERVER  # the server of the file that failed, not of the one before
    f.credential.content = "odd"
    clock.advance(2)
    f.agent.step()
    message = f.agent.health.ready()[1]["message"]
    assert message.startswith("cannot use the directory kubeconfig /etc/directory-sync/kubeconfig: ValueError")
    assert "abc.def" not in message and len(f.records) == 2
    f.credential.content = "fixed"
    clock.advance(2)
    f.agent.step()
    assert f.sync.calls[-1][0] == ("directory", "fixed") and f.agent.health.ready()[0] == 200


def test_a_cancelled_sync_changes_nothing_and_unexpected_errors_are_failures():
    clock = Clock()
    f = make_agent(clock)
    f.sync.error = Cancelled()
    f.agent.step()
    assert f.agent.health.ready()[1]["status"] == "starting" and f.agent.backoff.failures == 0
    f.sync.error = KeyError("boom")
    clock.advance(300)
    f.agent.step()
    code, body = f.agent.health.ready()
    assert code == 503 and body["message"] == "unexpected error: KeyError: 'boom'"


def test_run_returns_promptly_when_asked_to_stop():
    f = make_agent(time.monotonic)
    thread = threading.Thread(target=f.agent.run)
    thread.start()
    deadline = time.monotonic() + 5
    while not f.sync.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    f.agent.request_stop()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - started < 1
    assert len(f.sync.calls) == 1


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


def test_the_watch_hands_over_every_event_but_bookmarks_and_resumes_from_the_last_version():
    seen = []
    streams = [FakeStream([event("ADDED", "a", "12"), event("BOOKMARK", None, "13"), event("DELETED", "b", "14")])]
    watcher = watcher_mod.Watcher(CLUSTER, lambda w, g, kind, obj: seen.append((g, kind, obj["metadata"]["name"])),
                                  threading.Event(), timeout=60, stream_factory=lambda: streams[-1])
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == [(1, "ADDED", "a"), (1, "DELETED", "b")] and watcher.current(1)
    assert streams[0].kwargs["resource_version"] == "11" and streams[0].kwargs["timeout_seconds"] == 60
    streams.append(FakeStream([]))
    watcher.watch_once()
    assert streams[1].kwargs["resource_version"] == "14"  # after the bookmark and the last event


def test_a_watch_request_ends_when_the_agent_lists_the_directory_again():
    streams = []
    left = [1000.0]
    watcher = watcher_mod.Watcher(CLUSTER, lambda *a: None, threading.Event(), timeout=300, until=lambda: left[0],
                                  stream_factory=lambda: streams.append(FakeStream([])) or streams[-1])
    watcher.follow(FakeDirectory(), "11")
    watcher.watch_once()
    left[0] = 42.5
    watcher.watch_once()
    left[0] = -3  # due now: the agent is about to list
    watcher.watch_once()
    assert [s.kwargs["timeout_seconds"] for s in streams] == [300, 43, 1]
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    assert f.agent.until_relist() == pytest.approx(1800)


def test_following_a_new_list_ends_the_watch_in_progress_and_its_events_are_no_longer_current():
    seen = []
    directory, other = FakeDirectory(), FakeDirectory()

    def on_event(w, generation, kind, obj):
        seen.append((generation, obj["metadata"]["name"]))
        if obj["metadata"]["name"] == "a":
            watcher.follow(other, "20")  # the agent listed again meanwhile
    stream = FakeStream([event("ADDED", "a", "12"), event("ADDED", "b", "13")])
    watcher = watcher_mod.Watcher(CLUSTER, on_event, threading.Event(), stream_factory=lambda: stream)
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == [(1, "a")] and stream.stopped and not watcher.current(1) and watcher.current(2)
    stream = FakeStream([])
    watcher.watch_once()
    assert stream.kwargs["resource_version"] == "20"


def test_an_expired_watch_says_so_and_waits_for_a_new_list():
    seen = []
    stream = FakeStream([], error=ApiError(410))
    watcher = watcher_mod.Watcher(CLUSTER, lambda w, g, kind, obj: seen.append((g, kind)), threading.Event(),
                                  stream_factory=lambda: stream)
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == [(1, "EXPIRED")]
    waiting = FakeStream([])
    watcher._stream_factory = lambda: waiting
    watcher._changed.set()
    watcher.watch_once()
    assert waiting.kwargs is None  # no watch from the expired version
    watcher.follow(directory, "30")  # after the new list
    watcher.watch_once()
    assert waiting.kwargs["resource_version"] == "30"


def test_a_failing_watch_says_so_and_backs_off():
    stop = threading.Event()
    waits, seen = [], []
    stop.wait = waits.append
    watcher = watcher_mod.Watcher(CLUSTER, lambda w, g, kind, obj: seen.append(kind), stop,
                                  backoff=retries.Backoff(1.0, 4.0, rand=lambda: 1.0),
                                  stream_factory=lambda: FakeStream([], error=ApiError(401)))
    watcher.follow(FakeDirectory(), "11")
    for dummy in range(4):
        watcher.watch_once()
    assert waits == [1.0, 2.0, 4.0, 4.0] and seen == ["FAILED"] * 4


def test_a_failed_watch_lists_the_directory_again_and_says_why_when_that_fails_too():
    clock = Clock()
    f = make_agent(clock)
    f.agent.step()
    f.lists.error = MulticlusterError("list clusters on cluster 'directory': the API server did not answer within 30 s")
    f.event("FAILED", {})
    f.agent.step()
    assert len(f.lists.calls) == 2 and f.agent.health.ready()[1]["status"] == "failing"
    f.lists.error = None
    clock.advance(1)
    f.agent.step()
    assert len(f.lists.calls) == 3 and f.agent.health.ready()[0] == 200


def test_a_watch_ended_by_a_new_list_is_not_a_failure():
    seen = []
    directory = FakeDirectory()

    class Interrupted(FakeStream):
        def stream(self, fn, *args, **kwargs):
            self.kwargs = kwargs
            watcher.follow(directory, "20")  # the agent lists again while this watch reads
            raise ApiError(401)
    watcher = watcher_mod.Watcher(CLUSTER, lambda w, g, kind, obj: seen.append(kind), threading.Event(),
                                  stream_factory=lambda: Interrupted([]))
    watcher.follow(directory, "11")
    watcher.watch_once()
    assert seen == [] and watcher.current(2)


def test_the_watch_and_the_view_together_take_a_relabel_and_skip_a_status_write():
    """The real Watcher feeding the real Agent's view: an event that changes only a status is not pending."""
    clock = Clock()
    f = make_agent(clock, clusters=("east",))
    f.agent.step()
    status_only = listed("east")[0]
    status_only["status"] = {"kubernetesVersion": "v1.31.1"}
    relabel = listed("east", stage="prod")[0]
    stream = FakeStream([{"type": "MODIFIED", "raw_object": status_only}, {"type": "MODIFIED", "raw_object": relabel}])
    watcher = watcher_mod.Watcher(CLUSTER, f.agent.on_event, threading.Event(), stream_factory=lambda: stream)
    f.agent.watchers = [watcher]
    with f.agent._lock:
        watcher.follow(FakeDirectory(), "11")
    watcher.watch_once()
    assert f.agent.pending == {("Cluster", "east")}
    assert f.agent.view.get(CLUSTER, "east")["metadata"]["labels"] == {"stage": "prod"}


# --- the command ------------------------------------------------------------------------------------------------

def test_arguments_have_defaults_and_are_checked(monkeypatch):
    monkeypatch.delenv("DIRECTORY_KUBECONFIG", raising=False)
    args = cli.parse_args([])
    assert args.directory_kubeconfig == "/etc/directory-sync/kubeconfig" and args.resync_period == 300
    assert args.relist_period == 1800
    assert args.health_port == 8080 and args.status_interval == 300 and args.kubeconfig is None
    monkeypatch.setenv("DIRECTORY_KUBECONFIG", "/run/secret/kubeconfig")
    assert cli.parse_args([]).directory_kubeconfig == "/run/secret/kubeconfig"
    assert args.heartbeat_period == 60 and args.cluster_name is None
    for bad in (["--resync-period", "0"], ["--relist-period", "0"], ["--status-interval", "-1"], ["--log-level", "loud"],
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

    def on_event(w, generation, kind, obj):
        seen.append((kind, obj["metadata"]["name"]))
        if obj["metadata"]["name"] == "a":
            watcher.drop()  # what the agent does when a new credential cannot be used

    watcher = watcher_mod.Watcher(CLUSTER, on_event, threading.Event(), timeout=60, stream_factory=lambda: streams[-1])
    directory = FakeDirectory()
    watcher.follow(directory, "11")
    streams.append(FakeStream([event("ADDED", "a", "12"), event("ADDED", "b", "13")]))
    watcher.watch_once()
    assert seen == [("ADDED", "a")] and streams[0].stopped
    streams.append(FakeStream([event("ADDED", "c", "14")]))
    watcher.watch_once()  # nothing to follow: waits, opens no watch
    assert streams[-1].kwargs is None and seen == [("ADDED", "a")]
    watcher.follow(directory, "20")
    watcher.watch_once()
    assert streams[-1].kwargs["resource_version"] == "20" and seen[-1] == ("ADDED", "c")
