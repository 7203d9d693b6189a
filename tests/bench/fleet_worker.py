"""The fleet benchmark's worker process (bench_fleet.py starts it): directory-sync agents as threads, each with a
replica in memory.

    python -m tests.bench.fleet_worker fleet --collections TREE --credential FILE --base FILE --agents N
        --first-index I --stats FILE --relabel-name NAME --relabel-key KEY
    python -m tests.bench.fleet_worker single --collections TREE --credential FILE --dump FILE --stats FILE

TREE is the folder holding ansible_collections/coreos/multicluster (today's agent or the new one: one tree a
process, as both are the same package). Each agent is that tree's own agent.loop.Agent with its own Watchers,
built as agent/cli.py's main() builds it (cli.make_agent when the tree has it), on the agent's default options,
but with no heartbeat, no ClusterStatus reporter, no health server and no metrics: bench_heartbeat measures the
heartbeats. Its replica is a ClusterClient of that tree whose _send is served by a fleet_store.Replica (a Base
shared by the process's replicas, and an overlay of the replica's own writes): every request goes through the
client's real _do/run/_decode. Its directory is the lab's real API server, through the credential file (one
view-only credential, shared by all agents: the CredentialFile each agent reads).

fleet: N agents on replicas that start from --base (the converged replica), --wave at a time; until SIGTERM, every
half second, --stats gets {agents, synced (first sync done), failures, last_failure, first_sync (seconds each), requests
(each replica's), verbs (summed), relabel ({label value: [monotonic time each replica stored it]})}. A replica
records when Cluster --relabel-name is written holding label --relabel-key: CLOCK_MONOTONIC, the same in every
process of the machine.

single: one agent on an empty replica (only the ConfigMaps the registry role puts on a replica: tectonic-config
and directory-sync-config with the role's defaults); --stats gets {phase: synced} at the end of its first sync,
then {phase: done, first_sync, rss_after_imports, hwm_after_sync, rss_after_sync, hwm, rss, clusters, syncs_after
(syncs ended in the --after seconds after the first), resync, default_resync, ...} once --after seconds more have
passed (the agent runs with --resync-period --after-1, so its peak covers a resync); then the replica is written
to --dump (the converged replica the fleet starts from), and the process ends.
"""

import argparse
import functools
import json
import logging
import os
import signal
import sys
import threading
import time

from tests.bench import fleet_store
from tests.bench import memory

AGENTS_PER_WORKER = 50
CLUSTER_NAME = "fleet-replica"  # tectonic-config's clusterName on every in-memory replica


def _write_json(path, data):
    with open(path + ".new", "w") as handle:
        json.dump(data, handle)
    os.replace(path + ".new", path)


class Tree(object):
    """The chosen collection tree's modules."""

    def __init__(self, path):
        path = os.path.abspath(path)
        if not os.path.isdir(os.path.join(path, "ansible_collections", "coreos", "multicluster", "agent")):
            raise SystemExit("no collection with an agent in %s" % path)
        sys.path.insert(0, path)
        from ansible_collections.coreos.multicluster.agent import cli, loop
        from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client, kinds
        from ansible_collections.coreos.multicluster.plugins.module_utils import names
        if not os.path.abspath(cli.__file__).startswith(path + os.sep):
            raise SystemExit("the agent was imported from %s, not from %s" % (cli.__file__, path))
        self.path, self.cli, self.loop, self.client, self.kinds, self.names = path, cli, loop, client, kinds, names
        try:
            from kubernetes.client.exceptions import ApiException
        except ImportError:  # pragma: no cover - older clients
            from kubernetes.client.rest import ApiException
        self.api_exception = ApiException
        self.resources = self._resources()

    def _resources(self):
        types, subresources = [], []
        for kind in self.kinds.KINDS.values():
            if kind.parent:
                parent_version, parent_plural = kind.parent
                subresources.append((parent_version, parent_plural, kind.plural))
            else:
                types.append((kind.api_version, kind.plural, kind.kind, kind.namespaced))
        return fleet_store.Resources(types, subresources)

    def error(self, status, reason, body):
        exc = self.api_exception(status=status, reason=reason)
        exc.body = body
        exc.headers = {"Content-Type": "application/json" if body.startswith("{") else "text/plain"}
        return exc

    def seed(self):
        """What the registry role puts on a replica before any sync: its name and the policy settings (the role's
        defaults: roles/registry/defaults/main.yml)."""
        names = self.names
        return [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": names.CLUSTER_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE},
             "data": {names.CLUSTER_NAME_KEY: CLUSTER_NAME}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": names.SETTINGS_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE},
             "data": {"policies": "enabled", "clusterRoles": json.dumps(["view"]),
                      "namespaceRoles": json.dumps(["view", "edit", "admin"]), "protectedNamespaces": "[]",
                      "allowedSubjects": "[]", "allowedLabelKeys": "[]"}},
        ]

    def replica_client(self, store, label):
        """A ClusterClient of this tree whose requests *store* serves."""
        base_class = self.client.ClusterClient

        class _Configuration(object):
            host = "https://%s.in-memory.invalid" % label
            ssl_ca_cert = None
            ca_cert_data = None
            verify_ssl = True

        class _ApiClient(object):
            configuration = _Configuration()

            def close(self):
                store.close()

        class InMemoryReplica(base_class):
            def _send(self, method, path, query=None, body=None, content_type=None, timeout=None):
                return store.serve(method, path, query, body, content_type)

        return InMemoryReplica({"context": label}, api_client=_ApiClient())

    def make_agent(self, replica, credential_path, extra=()):
        """(agent with its watchers set, not started; how it was made)."""
        cli = self.cli
        argv = ["--directory-kubeconfig", credential_path, "--health-address", "127.0.0.1", "--health-port", "0",
                "--log-level", "warning"] + list(extra)
        args = cli.parse_args(argv)
        if hasattr(cli, "make_agent"):
            credential = self.loop.CredentialFile(args.directory_kubeconfig) if hasattr(
                self.loop, "CredentialFile") else args.directory_kubeconfig
            agent = cli.make_agent(args, replica, credential, health=None, metrics=None, reporter=None)
            return agent, "cli.make_agent", (getattr(args, "resync_period", None), getattr(args, "relist_period", None))
        health = cli.Health(args.health_window or 2 * args.resync_period, max(120.0, 3 * args.resync_period))
        agent = cli.Agent(replica, cli.CredentialFile(args.directory_kubeconfig), resync=args.resync_period,
                          status_interval=args.status_interval, reload_interval=args.reload_interval,
                          backoff=cli.Backoff(1.0, args.backoff_max), health=health,
                          request_timeout=args.request_timeout, metrics=None,
                          sync_fn=functools.partial(cli.sync, limits=args.limits, diff=False), reporter=None)
        kinds = []
        for source in cli.SOURCES:
            kinds.extend(kind for kind in source.reads if kind not in kinds)
        agent.watchers = [cli.Watcher(kind, agent.notify, agent.stop, timeout=args.resync_period) for kind in kinds]
        return agent, "as cli.main() builds it", (args.resync_period, getattr(args, "relist_period", None))


class Member(object):
    """One agent, its replica, and what the benchmark reads of them."""

    def __init__(self, tree, base, index, credential, relabel_name, relabel_key, extra_args=()):
        self.index = index
        self.first_sync = None
        self.successes = 0
        self.failures = 0
        self.last_failure = None
        self.relabel = {}  # label value: monotonic time the replica stored it
        self.store = fleet_store.Replica(base, on_write=self._on_write, error=tree.error,
                                         name="%s-%d" % (CLUSTER_NAME, index))
        self._relabel = (tree.resources.plural_of.get((tree.kinds.CLUSTER.api_version, "Cluster")), relabel_name,
                         relabel_key)
        self.replica = tree.replica_client(self.store, self.store.name)
        self.agent, self.how, (self.resync, self.relist) = tree.make_agent(self.replica, credential, extra_args)
        health = getattr(self.agent, "health", None)
        if health is None or not hasattr(health, "record"):
            raise SystemExit("the agent has no health object with record(): cannot tell when it synced")
        original = health.record

        def record(ok, *args, **kwargs):
            if ok:
                self.successes += 1
            if ok and self.first_sync is None:
                self.first_sync = time.monotonic()
            elif not ok:
                self.failures += 1
                self.last_failure = str(args[0] if args else kwargs)[:300]
            return original(ok, *args, **kwargs)
        health.record = record
        self.thread = None
        self.started = None

    def _on_write(self, store, key, obj):
        plural, name, label = self._relabel
        if obj is None or key[1] != plural or key[3] != name:
            return
        value = ((obj.get("metadata") or {}).get("labels") or {}).get(label)
        if value is not None and value not in self.relabel:
            self.relabel[value] = time.monotonic()

    def start(self):
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.agent.run, name="sync-%d" % self.index, daemon=True)
        self.thread.start()
        for watcher in self.agent.watchers:
            watcher.start()

    def stop(self):
        self.agent.request_stop()
        self.store.close()


def _common(parser):
    parser.add_argument("--collections", required=True)
    parser.add_argument("--credential", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--relabel-name", default="")
    parser.add_argument("--relabel-key", default="")


def _configure_logging(tree):
    try:
        from ansible_collections.coreos.multicluster.agent.logs import configure_logging
        configure_logging(sys.stderr, logging.WARNING)
    except ImportError:  # pragma: no cover - the new agent may log otherwise
        logging.basicConfig(level=logging.WARNING)


def fleet(argv):
    parser = argparse.ArgumentParser(prog="fleet_worker fleet")
    _common(parser)
    parser.add_argument("--base", required=True)
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--first-index", type=int, default=0)
    parser.add_argument("--wave", type=int, default=0, help="start the agents this many at a time, each group once "
                        "the one before has synced (or --wave-timeout passed); 0: all at once")
    parser.add_argument("--wave-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    tree = Tree(args.collections)
    _configure_logging(tree)
    base = fleet_store.Base.load(tree.resources, args.base)
    members = [Member(tree, base, args.first_index + n, args.credential, args.relabel_name, args.relabel_key)
               for n in range(args.agents)]

    def report(final=False):
        relabel = {}
        for member in members:
            for value, when in list(member.relabel.items()):
                relabel.setdefault(value, []).append(when)
        verbs = {}
        for member in members:
            for verb, count in list(member.store.verbs.items()):
                verbs[verb] = verbs.get(verb, 0) + count
        failed = [m for m in members if m.last_failure]
        _write_json(args.stats, {
            "pid": os.getpid(), "agents": len(members), "how": members[0].how if members else None,
            "synced": sum(1 for m in members if m.first_sync is not None),
            "first_sync": [m.first_sync - m.started for m in members if m.first_sync is not None and m.started],
            "last_synced_at": max([m.first_sync for m in members if m.first_sync is not None] or [None]),
            "failures": sum(m.failures for m in members),
            "last_failure": failed[-1].last_failure if failed else None,
            "requests": [m.store.requests for m in members], "verbs": verbs, "relabel": relabel,
            "resync": members[0].resync if members else None, "relist": members[0].relist if members else None,
            "threads": threading.active_count(), "final": final})

    wave = args.wave or len(members)
    for start in range(0, len(members), wave):
        group = members[start:start + wave]
        for member in group:
            member.start()
        deadline = time.monotonic() + args.wave_timeout
        while any(m.first_sync is None for m in group) and time.monotonic() < deadline:
            if stop.wait(0.2):
                break
            report()
        if stop.is_set():
            break
    while not stop.wait(0.5):
        report()
    for member in members:
        member.stop()
    deadline = time.monotonic() + 5
    for member in members:
        if member.thread is not None:
            member.thread.join(max(0.1, deadline - time.monotonic()))
    report(final=True)
    return 0


def single(argv):
    parser = argparse.ArgumentParser(prog="fleet_worker single")
    _common(parser)
    parser.add_argument("--dump", required=True)
    parser.add_argument("--after", type=float, default=12.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    tree = Tree(args.collections)
    _configure_logging(tree)
    after_imports = memory()
    base = fleet_store.Base(tree.resources, tree.seed())
    resync = max(1.0, args.after - 1.0)
    defaults = tree.cli.parse_args(["--directory-kubeconfig", args.credential])
    default_resync, relist = getattr(defaults, "resync_period", None), getattr(defaults, "relist_period", None)
    try:
        member = Member(tree, base, 0, args.credential, args.relabel_name, args.relabel_key,
                        ("--resync-period", str(resync)))
    except SystemExit as exc:  # an agent without --resync-period: its own period
        if exc.code != 2:
            raise
        resync = None
        member = Member(tree, base, 0, args.credential, args.relabel_name, args.relabel_key)
    member.start()
    deadline = member.started + args.timeout
    while member.first_sync is None:
        if time.monotonic() > deadline:
            _write_json(args.stats, {"error": "no first sync within %d s; last failure: %s" % (
                args.timeout, member.last_failure)})
            return 1
        time.sleep(0.05)
    synced = memory()
    successes = member.successes
    _write_json(args.stats, {"phase": "synced", "first_sync": member.first_sync - member.started})
    time.sleep(args.after)
    final = memory()
    plural = tree.kinds.CLUSTER.plural
    clusters = member.store.count(tree.kinds.CLUSTER.api_version, plural)
    member.stop()
    member.thread.join(5)
    member.store.dump(args.dump)
    _write_json(args.stats, {
        "phase": "done", "first_sync": member.first_sync - member.started, "how": member.how, "clusters": clusters,
        "resync": resync, "default_resync": default_resync, "relist": relist,
        "syncs_after": member.successes - successes, "store_bytes": member.store.size(),
        "rss_after_imports": after_imports["VmRSS"], "hwm_after_sync": synced["VmHWM"],
        "rss_after_sync": synced["VmRSS"], "hwm": final["VmHWM"], "rss": final["VmRSS"],
        "failures": member.failures, "last_failure": member.last_failure, "requests": member.store.requests,
        "verbs": member.store.verbs})
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("fleet", "single"):
        print(__doc__, file=sys.stderr)
        return 2
    return (fleet if argv[0] == "fleet" else single)(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
