"""Benchmark (figures, not a test): a fleet of K directory-sync agents against one directory of N Clusters, today's
agent and the new one side by side, in one run.

    python -m tests.bench fleet    (or: make bench BENCH=fleet)

What runs. One lab directory (tests/lab Fleet: etcd and kube-apiserver v1.20.2 only, no controller-manager, so
that nothing else reads it; the registry's CRDs; its audit log also records every request of the agents' user,
reads included: see AUDIT_POLICY). One view-only credential, issued by the collection's own code
(credentials/replica_credential.ensure_present) for the replica FLEET_REPLICA, written once to a 0600 file that
every agent's CredentialFile reads. N Clusters (bench_sync.cluster_manifest, named fleet-00000...), then for each
agent version (today's: commit MC_BENCH_FLEET_TODAY, default 747f8a4, its tree extracted with git archive; the new
one: the working copy, build/ under make bench, else a private `make tree BUILD=<tmp>`, or MC_BENCH_FLEET_NEW_TREE):

1. one agent alone in a process (fleet_worker.py single) on an EMPTY in-memory replica: its first sync (seconds
   from its start to the end of its first successful sync), its peak RSS (VmHWM, read after that sync and one
   resync), and the API server + etcd CPU that first sync cost the directory (the K' rule below uses it). The
   replica it leaves is the converged replica every fleet agent starts from;
2. with MC_BENCH_FLEET_REAL_REPLICA naming N: the same first sync into a real lab replica (its Clusters deleted
   first), the agent as its own process (python -m ...agent, as bench_agent_memory runs it): seconds from the
   process's start to its "synced" log line;
3. for each K: K agents, AGENTS_PER_WORKER threads in each worker process (fleet_worker.py fleet; K agents are
   added to the ones already running for a smaller K), each agent the version's own agent.loop.Agent and
   Watchers, built as agent/cli.py builds them (cli.make_agent when the tree has it) on the default options,
   WITHOUT the heartbeat and the ClusterStatus reporter (bench_heartbeat measures those), each on its own replica
   in memory behind ClusterClient._send (fleet_store.py: a copy-on-write store, converged). Once every agent
   has synced once and the replicas have gone quiet: an idle window of MC_BENCH_FLEET_IDLE_SECONDS (default 60,
   today's resync period: every one of today's agents lists the directory once in it; for agents whose resyncs
   list the directory, it starts half a period after the last first sync, so that the resyncs fall whole in it;
   the new agent's relists, every --relist-period, are added to the idle goal from step 1's cost of one list,
   not measured in the window), then one Cluster relabelled
   in the directory (a merge patch of one label): the seconds until every replica holds the new label (max and
   median), the API server's and etcd's CPU from the patch until then plus RELABEL_SETTLE seconds, and the agents'
   requests to the directory in that window (audit log, by verb). RSS: the worker processes' VmRSS (and VmHWM)
   summed, divided by the agents.

Today's agent lists all N Clusters every resync period and after every change, per agent; at K = 200 and N =
10,000 that is more than the machine's two cores can serve. So a cell runs for real at K' = the largest K (of
those asked) whose predicted idle cost to the directory fits MC_BENCH_FLEET_TODAY_BUDGET (default 40 CPU s/min),
else the largest K' that fits (at least 1). The prediction is K x the directory's CPU for one idle agent a
minute, from step 1: the agent alone runs with a resync period of SINGLE_AFTER-1 s, and the directory's CPU over
its resyncs (less the directory alone) is scaled to the agent's default period (for an agent that does not take
--resync-period: today's, its first sync's cost once a minute; the new one's, none). Both versions also get a K'
below K when K agents would need more than MC_BENCH_FLEET_MEMORY_SHARE (default 0.8) of the memory available, at
the peak RSS of step 1 an agent (less the Python and kubernetes imports, which the agents of a process share).
A cell whose K is above K' is printed "K'=..., scaled xK/K'": its idle CPU is
the directory-alone baseline plus (measured - baseline) x K/K', its relabel CPU and requests likewise, its
relabel times are those measured at K' (">=": more agents only wait longer), its RSS an agent the one measured.
Every extrapolated figure is marked with "~" (or ">="); the notes say which cells ran at which K and why.

Agents start MC_BENCH_FLEET_WAVE (default 10) at a time, the next ones once those have synced: the new agent's
first list is one answer from the watch cache, and on kube-apiserver v1.20 each such list of 10,000 Clusters being
served costs the directory a few hundred MiB (50 at once took it to about 20 GiB on this machine); the cells print
the directory kube-apiserver's peak RSS. A sampler thread watches the machine's available memory: below
MC_BENCH_FLEET_MIN_MEMORY MiB (default 3072) the cell's agents are stopped, the cell is said stopped in the notes,
and its K is printed at the largest K' measured before it (or "not measured").

Environment: MC_BENCH_FLEET_N (default 1000,10000), MC_BENCH_FLEET_K (default 50,200), MC_BENCH_FLEET_IDLE_SECONDS
(60), MC_BENCH_FLEET_BASELINE_SECONDS (30: the directory alone, no agent, at each N), MC_BENCH_FLEET_RELABEL_TIMEOUT
(300), MC_BENCH_FLEET_REAL_REPLICA (N values, default 1000,10000; empty: none), MC_BENCH_FLEET_TODAY_BUDGET,
MC_BENCH_FLEET_MEMORY_SHARE, MC_BENCH_FLEET_WAVE, MC_BENCH_FLEET_MIN_MEMORY, MC_BENCH_FLEET_TODAY,
MC_BENCH_FLEET_NEW_TREE, MC_BENCH_FLEET_AGENTS_PER_WORKER (50), MC_BENCH_FLEET_VERSIONS (today,new: one of them
alone for a quick look, without the goals), MC_BENCH_FLEET_KEEP (keep the work folder: logs of the lab and workers).
Nothing is asserted about time: the goals of the issue are computed from the figures and printed met or not.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from . import BUILD, ROOT, BenchError, print_table, write_private
from .bench_heartbeat import Meter
from .bench_sync import cluster_manifest, install_registry

DIRECTORY = "fleet-directory"
REPLICA = "fleet-replica"
FLEET_REPLICA = "fleet-bench-agents"  # the credential's replica name: its ServiceAccount is the agents' user
CLUSTER_PREFIX = "fleet-"
RELABEL_KEY = "bench-relabel"
CREATE_THREADS = 6
SETTLE = 10           # seconds the directory is left alone after creating Clusters
FLEET_SETTLE = 5      # seconds after the last agent's first sync, before waiting for quiet
QUIET = 3.0           # seconds without a replica request that make the fleet quiet
QUIET_MAX = 45        # the longest wait for quiet (then the window starts anyway, said in the notes)
RELABEL_SETTLE = 2.0  # seconds counted in the relabel window after the last replica has the label
SINGLE_AFTER = 12.0   # seconds after the single agent's first sync (a resync at 11 s) before its peak RSS is read
STOP_TIMEOUT = 20
AGENT_MODULE = "ansible_collections.coreos.multicluster.agent"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
VERSIONS = ("today", "new")
HALF_CORE = 30.0  # CPU seconds a minute

# The lab's audit policy (tests/lab/fleet.py AUDIT_POLICY: every write, at Metadata level), plus every request of
# the agents' ServiceAccount, reads included; for those a watch is logged when it starts (ResponseStarted), so that
# the watches opened in a window count in it.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    resources:
      - group: authentication.k8s.io
      - group: authorization.k8s.io
  - level: Metadata
    users: ["%s"]
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
    omitStages: [ResponseStarted]
  - level: None
"""


# --- settings ----------------------------------------------------------------------------------------------------

def _numbers(variable, default, kind=int, allow_empty=False):
    text = os.environ.get(variable, default).strip()
    if not text and allow_empty:
        return ()
    try:
        values = tuple(sorted(set(kind(part) for part in text.replace(" ", ",").split(",") if part)))
    except ValueError:
        values = ()
    if not values or min(values) <= 0:
        raise BenchError("%s must be numbers above 0, comma-separated, not %r" % (variable, text))
    return values


def _settings():
    return {
        "n": _numbers("MC_BENCH_FLEET_N", "1000,10000"),
        "k": _numbers("MC_BENCH_FLEET_K", "50,200"),
        "idle": _numbers("MC_BENCH_FLEET_IDLE_SECONDS", "60", float)[0],
        "baseline": _numbers("MC_BENCH_FLEET_BASELINE_SECONDS", "30", float)[0],
        "relabel_timeout": _numbers("MC_BENCH_FLEET_RELABEL_TIMEOUT", "300", float)[0],
        "wave": _numbers("MC_BENCH_FLEET_WAVE", "10")[0],
        "min_memory": _numbers("MC_BENCH_FLEET_MIN_MEMORY", "3072", float)[0],
        "real": _numbers("MC_BENCH_FLEET_REAL_REPLICA", "1000,10000", allow_empty=True),
        "budget": _numbers("MC_BENCH_FLEET_TODAY_BUDGET", "40", float)[0],
        "memory_share": _numbers("MC_BENCH_FLEET_MEMORY_SHARE", "0.8", float)[0],
        "per_worker": _numbers("MC_BENCH_FLEET_AGENTS_PER_WORKER", "50")[0],
        "today": os.environ.get("MC_BENCH_FLEET_TODAY", "747f8a4"),
        "new_tree": os.environ.get("MC_BENCH_FLEET_NEW_TREE", ""),
        "versions": tuple(v for v in VERSIONS if v in os.environ.get("MC_BENCH_FLEET_VERSIONS", ",".join(VERSIONS))),
    }


# --- the two trees ---------------------------------------------------------------------------------------------

def _git(*args):
    return subprocess.run(["git"] + list(args), cwd=ROOT, check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()


def _trees(work, settings):
    """{version: (collections folder, description)}: today's extracted from git, the new one from the working copy."""
    try:
        today_commit = _git("rev-parse", "--short", settings["today"] + "^{commit}")
    except subprocess.CalledProcessError as exc:
        raise BenchError("no commit %s for today's agent: %s" % (settings["today"], exc.stderr.strip()))
    today = os.path.join(work, "today")
    tree = os.path.join(today, "ansible_collections", "coreos", "multicluster")
    os.makedirs(tree)
    archive = subprocess.Popen(["git", "archive", today_commit], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", tree], stdin=archive.stdout, check=True, timeout=300)
    archive.stdout.close()
    if archive.wait(timeout=60) != 0:
        raise BenchError("git archive %s failed" % today_commit)
    head = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "agent", "plugins")
    description = "working copy of %s%s" % (head, " with uncommitted changes in agent/ or plugins/" if dirty else "")
    if settings["new_tree"]:
        new = os.path.abspath(settings["new_tree"])
        description = "the tree in %s" % new
    elif os.environ.get("MAKELEVEL"):
        new = BUILD  # make bench ran make tree just before
        description += " (build/, from make tree)"
    else:
        new = os.path.join(work, "new")
        subprocess.run(["make", "-s", "tree", "BUILD=%s" % new], cwd=ROOT, check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        description += " (a private make tree)"
    for folder in (today, new):
        if not os.path.isdir(os.path.join(folder, "ansible_collections", "coreos", "multicluster", "agent")):
            raise BenchError("no collection with an agent in %s" % folder)
    return {"today": (today, "commit %s" % today_commit), "new": (new, description)}


def _collection(path):
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.coreos.multicluster.plugins.module_utils import names
    from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.compare import MERGE_PATCH
    return client, replica_credential, names, MERGE_PATCH


# --- the lab -----------------------------------------------------------------------------------------------------

def _audited_fleet(root, clusters, agent_user):
    from tests.lab import Fleet

    class AuditedFleet(Fleet):
        def _prepare(self, name):
            plan = super(AuditedFleet, self)._prepare(name)
            with open(plan["audit_policy"], "w") as handle:
                handle.write(AUDIT_POLICY % agent_user)
            return plan
    return AuditedFleet(root, clusters, controller_managers=())


def _create_clusters(client_module, lab, start, stop):
    def create(indexes):
        api = client_module.ClusterClient({"kubeconfig": lab.kubeconfig, "context": lab.context})
        try:
            for index in indexes:
                api.create(cluster_manifest("%s%05d" % (CLUSTER_PREFIX, index), index))
        finally:
            api.close()
    with concurrent.futures.ThreadPoolExecutor(CREATE_THREADS) as pool:
        for future in [pool.submit(create, range(start + n, stop, CREATE_THREADS)) for n in range(CREATE_THREADS)]:
            future.result()


def _agent_requests(events, user):
    """{verb: count} of the agents' requests among audit *events*: a watch counted when it started, anything
    else when it ended."""
    found = {}
    for event in events:
        if (event.get("user") or {}).get("username") != user:
            continue
        verb = event.get("verb")
        if event.get("stage") != ("ResponseStarted" if verb == "watch" else "ResponseComplete"):
            continue
        found[verb] = found.get(verb, 0) + 1
    return found


def _machine_busy():
    """(busy, total) jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _cpu_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except OSError:
        return 0.0


class Window(object):
    """One measured stretch: the directory's CPU (Meter), the workers' CPU, the machine's busy share."""

    def __init__(self, meter, pids=()):
        self.meter, self.pids = meter, list(pids)

    def begin(self):
        self.meter.begin()
        self._workers = dict((pid, _cpu_of(pid)) for pid in self.pids)
        self._machine = _machine_busy()

    def end(self, label):
        phase = self.meter.end(label)
        busy, total = _machine_busy()
        phase["busy"] = (busy - self._machine[0]) / float(max(1, total - self._machine[1]))
        phase["workers_cpu"] = sum(_cpu_of(pid) - before for pid, before in self._workers.items())
        return phase


# --- the workers ---------------------------------------------------------------------------------------------------

def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _tail(path, lines=12):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


class Worker(object):
    """A fleet_worker.py process and its files."""

    def __init__(self, work, tree, argv, label, children):
        self.stats_path = os.path.join(work, "%s.json" % label)
        self.log_path = os.path.join(work, "%s.log" % label)
        self.label = label
        env = dict(os.environ, PYTHONPATH=tree, PYTHONDONTWRITEBYTECODE="1")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.bench.fleet_worker"] + argv + [
                "--collections", tree, "--stats", self.stats_path], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=log, stdin=subprocess.DEVNULL)
        children.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def stats(self):
        return _read_json(self.stats_path) or {}

    def check(self):
        if self.proc.poll() is not None:
            raise BenchError("worker %s exited with %s; the end of its log (%s):\n%s" % (
                self.label, self.proc.returncode, self.log_path, _tail(self.log_path)))

    def memory(self):
        found = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as handle:
                for line in handle:
                    key, _sep, rest = line.partition(":")
                    if key in ("VmHWM", "VmRSS"):
                        found[key] = int(rest.split()[0])
        except OSError:
            pass
        return found

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _stop_all(workers):
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.stop()


def _wait(what, done, timeout, check=None, step=0.5):
    """Poll done() until true; BenchError naming *what* after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError("%s: not done within %.0f s" % (what, timeout))
        time.sleep(step)


# --- the steps -----------------------------------------------------------------------------------------------------

def _single(work, tree, version, count, credential, meter, baseline, children):
    """Step 1: one agent, an empty replica in memory. {first_sync, hwm, ..., directory_cpu, base}."""
    label = "single-%s-%d" % (version, count)
    base = os.path.join(work, "%s.base" % label)
    window = Window(meter)
    window.begin()
    worker = Worker(work, tree, ["single", "--credential", credential, "--dump", base, "--after", str(SINGLE_AFTER),
                                 "--timeout", str(max(300, count / 20.0)), "--relabel-name",
                                 "%s%05d" % (CLUSTER_PREFIX, 0), "--relabel-key", RELABEL_KEY], label, children)
    try:
        _wait("%s agent's first sync of %d Clusters into an empty in-memory replica" % (version, count),
              lambda: worker.stats().get("phase") in ("synced", "done") or worker.stats().get("error"),
              max(360, count / 15.0), worker.check, step=0.1)
        phase = window.end(label)
        window.begin()
        if worker.stats().get("error"):
            raise BenchError("%s: %s" % (label, worker.stats()["error"]))
        _wait("%s agent's stop after its first sync" % version, lambda: worker.stats().get("phase") == "done",
              SINGLE_AFTER + 120, step=0.1)
        after = window.end(label + " after")
        _wait("%s agent's exit" % version, lambda: worker.proc.poll() is not None, 60)
        found = worker.stats()
        if worker.proc.returncode != 0 or found.get("phase") != "done":
            raise BenchError("%s ended with %s: %s\n%s" % (
                label, worker.proc.returncode, found.get("error"), _tail(worker.log_path)))
    finally:
        worker.stop()
        children.remove(worker)
    if found["clusters"] != count:
        raise BenchError("%s: after its first sync the in-memory replica holds %d Clusters, not %d (last failure: %s)"
                         % (label, found["clusters"], count, found.get("last_failure")))
    found["directory_cpu"] = phase["cpu"]["apiserver"] + phase["cpu"]["etcd"]
    found["base"] = base
    # the directory's CPU for one resync (over the directory alone), when the agent took the short resync period
    found["resync_cpu"] = None
    if found.get("resync") and found.get("syncs_after"):
        alone = (baseline["cpu"]["apiserver"] + baseline["cpu"]["etcd"]) / baseline["seconds"]
        found["resync_cpu"] = max(0.0, after["cpu"]["apiserver"] + after["cpu"]["etcd"] - alone * after["seconds"]) / \
            found["syncs_after"]
    return found


def _count_clusters(client_module, lab):
    api = client_module.ClusterClient({"kubeconfig": lab.kubeconfig, "context": lab.context})
    try:
        page = api._do("list", "Cluster", "list", query={"limit": 1})
    finally:
        api.close()
    meta = page.get("metadata") or {}
    return len(page.get("items") or []) + int(meta.get("remainingItemCount") or 0)


def _wipe(client_module, lab, timeout=900):
    deadline = time.monotonic() + timeout
    while _count_clusters(client_module, lab):
        if time.monotonic() > deadline:
            raise BenchError("the replica's Clusters were not deleted within %d s" % timeout)
        lab.kubectl("delete", "--raw", "/apis/multicluster.coreos.com/v1/clusters", check=False)


def _real_first_sync(work, tree, version, count, credential, client_module, replica_lab, children):
    """Step 2: the agent as a process, into the real (emptied) lab replica: seconds to its 'synced' log line."""
    _wipe(client_module, replica_lab)
    log_path = os.path.join(work, "real-%s-%d.log" % (version, count))
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica_lab.kubeconfig, "--context",
            replica_lab.context, "--directory-kubeconfig", credential, "--health-address", "127.0.0.1",
            "--health-port", "0", "--log-level", "debug"]
    env = dict(os.environ, PYTHONPATH=tree)

    class Proc(object):
        label = "real-%s-%d" % (version, count)

        def __init__(self):
            with open(log_path, "wb") as log:
                self.started = time.monotonic()
                self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=work)
            self.log_path = log_path

        def stop(self):
            Worker.stop(self)

    proc = Proc()
    children.append(proc)

    def ended():
        with open(log_path, errors="replace") as handle:
            text = handle.read()
        for line in text[:text.rfind("\n") + 1].splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("msg") in ("synced", "sync failed"):
                    return entry
        return None

    def check():
        if proc.proc.poll() is not None:
            raise BenchError("the %s agent (real replica) exited with %s:\n%s" % (version, proc.proc.returncode,
                                                                                  _tail(log_path)))
    try:
        entry = _wait("%s agent's first sync of %d Clusters into the lab replica" % (version, count), ended,
                      max(600, count / 10.0), check, step=0.2)
        seconds = time.monotonic() - proc.started
    finally:
        proc.stop()
        children.remove(proc)
    if entry["msg"] != "synced":
        raise BenchError("the %s agent's first sync into the lab replica failed: %s" % (version, entry.get("reason")))
    held = _count_clusters(client_module, replica_lab)
    if held != count:
        raise BenchError("after the %s agent's first sync the lab replica holds %d Clusters, not %d"
                         % (version, held, count))
    return seconds


class MemoryGuard(BenchError):
    """The machine's available memory fell below MC_BENCH_FLEET_MIN_MEMORY: the cell is stopped."""


class Sampler(object):
    """A thread sampling, every SAMPLE seconds, the directory API server's RSS (its peak since the last take())
    and the machine's available memory (low: below *minimum* MiB at some sample)."""

    SAMPLE = 0.25

    def __init__(self, pid, minimum):
        import threading
        self.pid, self.minimum = pid, minimum
        self.peak, self.low, self.lowest = 0, None, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def rss(self):
        try:
            with open("/proc/%d/status" % self.pid) as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return 0.0

    def _run(self):
        while not self._stop.wait(self.SAMPLE):
            self.peak = max(self.peak, self.rss())
            available = _memory_available()
            self.lowest = available if self.lowest is None else min(self.lowest, available)
            if available < self.minimum and self.low is None:
                self.low = (available, self.rss())

    def take(self):
        """The peak RSS (MiB) since the last take()."""
        peak, self.peak = max(self.peak, self.rss()), 0
        return peak

    def check(self):
        if self.low is not None:
            available, rss = self.low
            self.low = None
            raise MemoryGuard("the memory available fell to %.0f MiB (under MC_BENCH_FLEET_MIN_MEMORY, %.0f MiB); the "
                              "directory's kube-apiserver then held %.0f MiB" % (available, self.minimum, rss))

    def stop(self):
        self._stop.set()


class FleetRun(object):
    """The agents of one version at one N, added in steps of K: one worker process (of at most per_worker agents,
    started *wave* at a time) after the other, each once the one before has all its agents synced."""

    def __init__(self, work, tree, version, count, credential, base, per_worker, wave, sampler, children):
        self.work, self.tree, self.version, self.count = work, tree, version, count
        self.credential, self.base, self.per_worker, self.children = credential, base, per_worker, children
        self.wave, self.sampler = wave, sampler
        self.workers = []

    @property
    def agents(self):
        return sum(w.agents for w in self.workers)

    def grow(self, total, timeout):
        """Start agents up to *total*; wait until each has synced once."""
        started = time.monotonic()

        def failing():
            stats = [w.stats() for w in self.workers]
            return "; ".join("%s: %d failed syncs, last: %s" % (w.label, s.get("failures"), s.get("last_failure"))
                             for w, s in zip(self.workers, stats) if s.get("failures"))
        while self.agents < total:
            index = self.agents
            size = min(self.per_worker, total - index)
            label = "fleet-%s-%d-w%d" % (self.version, self.count, len(self.workers))
            worker = Worker(self.work, self.tree, [
                "fleet", "--credential", self.credential, "--base", self.base, "--agents", str(size),
                "--first-index", str(index), "--relabel-name", "%s%05d" % (CLUSTER_PREFIX, 0),
                "--relabel-key", RELABEL_KEY, "--wave", str(self.wave)], label, self.children)
            worker.agents = size
            self.workers.append(worker)
            left = timeout - (time.monotonic() - started)
            try:
                _wait("%d %s agents' first syncs (N=%d)" % (index + size, self.version, self.count),
                      lambda: worker.stats().get("synced", 0) >= size, max(1.0, left), self.check)
            except MemoryGuard:
                raise
            except BenchError as exc:
                raise BenchError("%s; %s" % (exc, failing() or "no sync failed"))
        return time.monotonic() - started

    def check(self):
        for worker in self.workers:
            worker.check()
        self.sampler.check()

    def stats(self):
        return [w.stats() for w in self.workers]

    def requests(self):
        return sum(sum(s.get("requests") or []) for s in self.stats())

    def quiet(self):
        """Wait until no replica was asked anything for QUIET seconds (at most QUIET_MAX); whether it was."""
        deadline = time.monotonic() + QUIET_MAX
        last, since = self.requests(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            self.check()
            now = self.requests()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= QUIET:
                return True
        return False

    def relabelled(self, value):
        return sorted(t for s in self.stats() for t in (s.get("relabel") or {}).get(value, []))

    def memory(self):
        found = [w.memory() for w in self.workers]
        return (sum(m.get("VmRSS", 0) for m in found) / 1024.0, sum(m.get("VmHWM", 0) for m in found) / 1024.0)

    def stop(self):
        _stop_all(self.workers)
        for worker in self.workers:
            if worker in self.children:
                self.children.remove(worker)
        self.workers = []


def _measure(run, size, meter, api, merge_patch, user, settings, relabel_value, notes, align=None):
    """Step 3 for *size* agents: {idle phase, relabel phase, relabel times, memory, ...}. *align*: the period of
    the agents' resyncs that list the directory: the idle window then starts half a period after the last agent's
    first sync, so that each agent's resync falls whole in it."""
    run.sampler.take()
    startup = run.grow(size, max(300.0, size * run.count / 500.0))
    time.sleep(FLEET_SETTLE)
    if align:
        last = max(s.get("last_synced_at") or 0 for s in run.stats())
        while time.monotonic() < last + align / 2.0:
            time.sleep(min(1.0, last + align / 2.0 - time.monotonic()))
            run.check()
    quiet = run.quiet()
    resync = next((s.get("resync") for s in run.stats() if s.get("resync")), None)
    how = next((s.get("how") for s in run.stats() if s.get("how")), None)
    idle_window = Window(meter, [w.pid for w in run.workers])
    idle_window.begin()
    deadline = time.monotonic() + settings["idle"]
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        run.check()
    idle = idle_window.end("idle")
    idle["requests"] = _agent_requests(idle["events"], user)
    rss, hwm = run.memory()
    quiet_before_relabel = run.quiet()

    relabel_window = Window(meter, [w.pid for w in run.workers])
    relabel_window.begin()
    started = time.monotonic()
    api.patch("Cluster", "%s%05d" % (CLUSTER_PREFIX, 0), {"metadata": {"labels": {RELABEL_KEY: relabel_value}}},
              content_type=merge_patch)
    times = _wait("%d %s replicas holding the relabelled Cluster (N=%d)" % (size, run.version, run.count),
                  lambda: len(run.relabelled(relabel_value)) >= size and run.relabelled(relabel_value),
                  settings["relabel_timeout"], run.check, step=0.05)
    time.sleep(RELABEL_SETTLE)
    relabel = relabel_window.end("relabel")
    relabel["requests"] = _agent_requests(relabel["events"], user)
    delays = [t - started for t in times]
    failures = sum(s.get("failures", 0) for s in run.stats())
    if not quiet or not quiet_before_relabel:
        notes.append("%s N=%d K=%d: the replicas were not quiet for %.0f s within %d s before the %s window" % (
            run.version, run.count, size, QUIET, QUIET_MAX, "idle" if not quiet else "relabel"))
    if failures:
        notes.append("%s N=%d K=%d: %d failed syncs (last: %s)" % (run.version, run.count, size, failures, next(
            (s.get("last_failure") for s in run.stats() if s.get("last_failure")), "")))
    for name, phase in (("idle", idle), ("relabel", relabel)):
        if phase["busy"] > 0.9:
            notes.append("%s N=%d K=%d: the machine was %.0f%% busy in the %s window: CPU figures are what the "
                         "directory could get, not what it would need" % (run.version, run.count, size,
                                                                          100 * phase["busy"], name))
    return {"size": size, "startup": startup, "idle": idle, "relabel": relabel, "max": max(delays),
            "api_rss": run.sampler.take(),
            "median": statistics.median(delays), "rss": rss / size, "hwm": hwm / size, "resync": resync, "how": how}


# --- the table -------------------------------------------------------------------------------------------------------

COLUMNS = (("idle API s/min", 14), ("idle etcd s/min", 15), ("dir/agent/min", 13), ("agents CPU/agent/min", 20),
           ("relabel max s", 13), ("median s", 8), ("relabel API s", 13), ("etcd s", 6),
           ("requests list/watch/get", 23), ("dir API RSS MiB", 15), ("RSS/agent MiB", 13), ("1-agent HWM MiB", 15),
           ("1st sync s mem", 14), ("1st sync s lab", 14))
LABEL_WIDTH = 44


def _line(cells):
    return "  ".join("%*s" % (width, cell) for (title, width), cell in zip(COLUMNS, cells))


def _per_minute(phase, name):
    return phase["cpu"][name] * 60.0 / phase["seconds"]


def _cell(version, count, k, measured, single, real, baseline):
    """(label, figures, derived numbers) of one cell; *measured* is the run at K' (= k when measured)."""
    size = measured["size"]
    scale = float(k) / size
    scaled = size != k
    mark = "~" if scaled else ""
    base_api, base_etcd = (_per_minute(baseline, "apiserver"), _per_minute(baseline, "etcd"))
    idle, relabel = measured["idle"], measured["relabel"]
    api = base_api + (_per_minute(idle, "apiserver") - base_api) * scale
    etcd = base_etcd + (_per_minute(idle, "etcd") - base_etcd) * scale
    per_agent = (api + etcd - base_api - base_etcd) / k
    agents_cpu = idle["workers_cpu"] * 60.0 / idle["seconds"] / size
    window_min = relabel["seconds"] / 60.0
    relabel_api = base_api * window_min + (relabel["cpu"]["apiserver"] - base_api * window_min) * scale
    relabel_etcd = base_etcd * window_min + (relabel["cpu"]["etcd"] - base_etcd * window_min) * scale
    requests = dict((verb, relabel["requests"].get(verb, 0) * scale) for verb in ("list", "watch", "get"))
    label = "%-5s N=%-6d K=%-4d" % (version, count, k)
    if scaled:
        label += "(K'=%d, scaled x%g)" % (size, round(scale, 2))
    else:
        label += "(measured)"
    figures = [
        "%s%.2f" % (mark, api), "%s%.2f" % (mark, etcd), "%s%.3f" % (mark, per_agent), "%.3f" % agents_cpu,
        "%s%.2f" % (">=" if scaled else "", measured["max"]), "%s%.2f" % (">=" if scaled else "", measured["median"]),
        "%s%.2f" % (mark, relabel_api), "%s%.2f" % (mark, relabel_etcd),
        "%s%.0f/%.0f/%.0f" % (mark, requests["list"], requests["watch"], requests["get"]),
        "%s%.0f" % (">=" if scaled else "", measured["api_rss"]), "%.1f" % measured["rss"],
        "%.1f" % (single["hwm"] / 1024.0), "%.2f" % single["first_sync"],
        "-" if real is None else "%.1f" % real]
    return label, figures, {"api": api, "etcd": etcd, "per_agent": per_agent, "max": measured["max"],
                            "lists": requests["list"], "scaled": scaled, "relabel_api": relabel_api}


def _goals(results, singles, reals, baselines, settings):
    """Lines: each goal of the issue, met or not, from the figures."""
    lines = []
    top_n, top_k = max(settings["n"]), max(settings["k"])
    where = "" if top_n == 10000 else " (asked at N=10,000: this run's largest N is %d)" % top_n
    for count in settings["n"]:
        per_agent = {}
        for version in VERSIONS:
            per_agent[version] = max(0.0, results[(version, count, top_k)]["per_agent"]) + _relist_per_minute(
                singles[(version, count)])
        today, new = per_agent["today"], per_agent["new"]
        base = _per_minute(baselines[count], "apiserver") + _per_minute(baselines[count], "etcd")
        if today > 0:
            ratio = new / today
            verdict = "met" if ratio <= 0.01 else "NOT met"
            text = "%.4f of today's" % ratio
        else:
            verdict, text = "not measurable", "today's per-agent figure is not above the baseline"
        fleet = base + new * 1000
        lines.append("goal idle, N=%d, K=%d: directory CPU per agent per minute (idle window + relists) new %.4f s vs "
                     "today %s%.4f s: %s (<= 1/100): %s; extrapolated to 1,000 new agents: %.1f CPU s/min with the "
                     "%.1f s/min baseline (under half a core = 30): %s" % (
                         count, top_k, new, "~" if results[("today", count, top_k)]["scaled"] else "", today, text,
                         verdict, fleet, base, "met" if fleet < HALF_CORE else "NOT met"))
    new = results[("new", top_n, top_k)]
    lines.append("goal relabel, N=%d, K=%d: every replica has it after %.2f s (<= 5 s): %s; the agents made %.0f "
                 "list requests for it (K lists would be %d; goal O(K) watch events, no per-agent list): %s%s" % (
                     top_n, top_k, new["max"], "met" if new["max"] <= 5 else "NOT met", new["lists"], top_k,
                     "met" if new["lists"] < top_k / 10.0 else "NOT met", where))
    single = singles[("new", top_n)]
    lines.append("goal RSS, N=%d: one new agent's peak RSS %.1f MiB (<= 100 MiB; it includes its in-memory replica's "
                 "%.1f MiB of JSON and the Python + kubernetes imports' %.1f MiB): %s%s" % (
                     top_n, single["hwm"] / 1024.0, single["store_bytes"] / 1048576.0,
                     single["rss_after_imports"] / 1024.0, "met" if single["hwm"] <= 100 * 1024 else "NOT met", where))
    real = reals.get(("new", top_n))
    lines.append("goal first sync, N=%d into an empty replica: new agent %.2f s in memory%s (<= 20 s): %s%s" % (
        top_n, single["first_sync"], "" if real is None else ", %.1f s into the lab replica" % real,
        "met" if max(single["first_sync"], real or 0) <= 20 else "NOT met", where))
    return lines


# --- the benchmark ---------------------------------------------------------------------------------------------

def _memory_available():
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _listing_resync(single):
    """The agent's default resync period when its resyncs read the directory (step 1: a resync cost the directory
    more than a quarter of its first sync), else None."""
    cost = single.get("resync_cpu")
    if cost is not None and single.get("default_resync") and cost > max(0.05, 0.25 * single["directory_cpu"]):
        return single["default_resync"]
    return None


def _relist_per_minute(single):
    """The directory's CPU a minute an agent's periodic relists cost (its first list's, measured in step 1, once a
    --relist-period), or 0 for an agent that has none (today's: its resyncs list, in the idle window)."""
    return single["directory_cpu"] * 60.0 / single["relist"] if single.get("relist") else 0.0


def _periods_note(version, count, single, settings):
    text = "%s N=%d: resync every %s s (one cost the directory %s CPU s in step 1)" % (
        version, count, single.get("default_resync"),
        "-" if single.get("resync_cpu") is None else "%.2f" % single["resync_cpu"])
    if single.get("relist"):
        text += "; a relist of the directory every %g s (+-10%%), not in the %.0f-s idle window: at the cost of its " \
                "first list (%.2f CPU s) it adds %.4f CPU s/min an agent, counted in the idle goal below" % (
                    single["relist"], settings["idle"], single["directory_cpu"], _relist_per_minute(single))
    return text


def _sizes(version, count, single, settings, reasons):
    """{K: K'} for this version and N (K' = K: measured)."""
    ks = settings["k"]
    # the directory's CPU a minute for one idle agent, predicted from the single agent's run: its resync's cost
    # at the agent's default period when it took a short one, else (today's agent) its first sync's once a minute
    if single.get("resync_cpu") is not None and single.get("default_resync"):
        per_minute = single["resync_cpu"] * 60.0 / single["default_resync"]
        basis = "%.2f CPU s a resync, every %g s, measured" % (single["resync_cpu"], single["default_resync"])
    elif version == "today":
        per_minute = single["directory_cpu"]
        basis = "%.2f CPU s a list of them, once a minute" % single["directory_cpu"]
    else:
        per_minute, basis = 0.0, "unknown"
    allowed = {}
    own = max(1.0, (single["hwm"] - single["rss_after_imports"]) / 1024.0)  # an agent's own peak, imports apart
    memory_cap = int(settings["memory_share"] * _memory_available() / own)
    for k in ks:
        cap = k
        why = []
        fits = int(settings["budget"] / max(per_minute, 1e-6))
        if k > fits:
            cap = max(1, fits)
            why.append("%d idle agents at N=%d would cost the directory about %.0f CPU s/min (%s), over the budget "
                       "of %.0f" % (k, count, k * per_minute, basis, settings["budget"]))
        if cap > memory_cap:
            cap = max(1, memory_cap)
            why.append("%d agents at %.0f MiB each (step 1's peak less the imports) would need more than %.0f%% of "
                       "the memory available" % (k, own, 100 * settings["memory_share"]))
        if cap < k:
            fitting = [x for x in ks if x <= cap]
            cap = max(fitting) if fitting else cap
            reasons.append("%s N=%d K=%d runs at K'=%d: %s" % (version, count, k, cap, "; ".join(why)))
        allowed[k] = cap
    return allowed


def _lab_diagnosis(fleet):
    """On a failure: whether the lab's processes still run, and the end of the logs of those that do not."""
    if fleet is None:
        return
    for cluster in fleet.clusters.values():
        for component, pid in sorted(cluster.pids.items()):
            alive = os.path.exists("/proc/%d" % pid)
            state = "running" if alive else "NOT running"
            print("bench_fleet: lab %s %s (pid %d): %s" % (cluster.name, component, pid, state), file=sys.stderr)
            if not alive:
                print(_tail(os.path.join(cluster.log_dir, "%s.log" % component), 15), file=sys.stderr)


def main(argv=None):
    settings = _settings()
    work = tempfile.mkdtemp(prefix="mc-bench-fleet-")
    children, fleet, results, singles, reals, baselines, measured = [], None, {}, {}, {}, {}, {}
    sampler = None
    reasons, notes = [], []
    started = time.monotonic()
    try:
        trees = _trees(work, settings)
        client_module, replica_credential, names, merge_patch = _collection(trees["new"][0])
        user = "system:serviceaccount:%s:%s" % (names.CREDENTIALS_NAMESPACE, FLEET_REPLICA)
        clusters = [DIRECTORY] + ([REPLICA] if settings["real"] else [])
        fleet = _audited_fleet(os.path.join(work, "lab"), clusters, user)
        print("bench_fleet: N=%s Clusters, K=%s agents; today's agent: %s; new agent: %s; idle window %.0f s; lab and "
              "files in %s" % (",".join(map(str, settings["n"])), ",".join(map(str, settings["k"])), trees["today"][1],
                               trees["new"][1], settings["idle"], work), flush=True)
        labs = fleet.start()
        directory_lab = labs[0]
        replica_lab = labs[1] if len(labs) > 1 else None
        install_registry(*labs)
        api = client_module.ClusterClient({"kubeconfig": directory_lab.kubeconfig, "context": directory_lab.context})
        issued = replica_credential.ensure_present(api, {"name": FLEET_REPLICA,
                                                         "directory_server": directory_lab.server})
        credential = write_private(os.path.join(work, "directory.kubeconfig"), json.dumps(issued["kubeconfig"]))
        meter = Meter(directory_lab)
        sampler = Sampler(directory_lab.pids["kube-apiserver"], settings["min_memory"])
        made, relabels = 0, 0
        for count in settings["n"]:
            begun = time.monotonic()
            _create_clusters(client_module, directory_lab, made, count)
            made = count
            print("directory: %d Clusters (created in %.0f s)" % (count, time.monotonic() - begun), flush=True)
            time.sleep(SETTLE)
            window = Window(meter)
            window.begin()
            time.sleep(settings["baseline"])
            baselines[count] = window.end("baseline")
            print("  directory alone: API server %.2f, etcd %.2f CPU s/min" % (
                _per_minute(baselines[count], "apiserver"), _per_minute(baselines[count], "etcd")), flush=True)
            for version in settings["versions"]:
                tree = trees[version][0]
                single = singles[(version, count)] = _single(work, tree, version, count, credential, meter,
                                                             baselines[count], children)
                print("  %-5s one agent, empty in-memory replica: first sync %.2f s, peak RSS %.1f MiB, directory CPU "
                      "for it %.2f s (built %s)" % (version, single["first_sync"], single["hwm"] / 1024.0,
                                                    single["directory_cpu"], single["how"]), flush=True)
                if replica_lab is not None and count in settings["real"]:
                    reals[(version, count)] = _real_first_sync(work, tree, version, count, credential, client_module,
                                                               replica_lab, children)
                    print("  %-5s one agent process, empty lab replica: first sync %.1f s" % (
                        version, reals[(version, count)]), flush=True)
                notes.append(_periods_note(version, count, single, settings))
                sizes = _sizes(version, count, single, settings, reasons)
                run = FleetRun(work, tree, version, count, credential, single["base"], settings["per_worker"],
                               settings["wave"], sampler, children)
                done = []
                try:
                    for size in sorted(set(sizes.values())):
                        relabels += 1
                        try:
                            found = _measure(run, size, meter, api, merge_patch, user, settings, "r%d" % relabels,
                                             notes, _listing_resync(single))
                        except MemoryGuard as exc:
                            stopped = "%s N=%d K=%d: stopped with %d agents started: %s" % (
                                version, count, size, run.agents, exc)
                            notes.append(stopped)
                            print("  " + stopped, flush=True)
                            break
                        measured[(version, count, size)] = found
                        done.append(size)
                        print("  %-5s K=%-4d first syncs %.0f s; idle: API %.2f etcd %.2f CPU s/min, %s requests; "
                              "relabel: all in %.2f s, API %.2f CPU s, requests %s; RSS %.1f MiB an agent; directory "
                              "kube-apiserver peak RSS %.0f MiB" % (
                                  version, size, found["startup"], _per_minute(found["idle"], "apiserver"),
                                  _per_minute(found["idle"], "etcd"), found["idle"]["requests"], found["max"],
                                  found["relabel"]["cpu"]["apiserver"], found["relabel"]["requests"], found["rss"],
                                  found["api_rss"]), flush=True)
                finally:
                    run.stop()
                _wait("the memory available back above %.0f MiB after the agents stopped" % settings["min_memory"],
                      lambda: _memory_available() >= settings["min_memory"], 180)
                sampler.low = None
                for k, size in sorted(sizes.items()):
                    usable = [d for d in done if d <= size]
                    if usable:
                        results[(version, count, k)] = measured[(version, count, max(usable))]
                        if max(usable) < size:
                            reasons.append("%s N=%d K=%d runs at K'=%d: K'=%d was stopped (memory, see below)" % (
                                version, count, k, max(usable), size))
        issued_cleanup = replica_credential.ensure_absent(api, {"name": FLEET_REPLICA})
        api.close()
        del issued_cleanup
    except BaseException:
        _lab_diagnosis(fleet)
        raise
    finally:
        _stop_all(children)
        if sampler is not None:
            sampler.stop()
        if fleet is not None:
            fleet.stop()
        if os.environ.get("MC_BENCH_FLEET_KEEP"):
            print("bench_fleet: files kept in %s (MC_BENCH_FLEET_KEEP)" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    header = ("cell", _line([title for title, _width in COLUMNS]))
    rows, derived = [header], {}
    for count in settings["n"]:
        for k in settings["k"]:
            for version in settings["versions"]:
                if (version, count, k) not in results:
                    rows.append(("%-5s N=%-6d K=%-4d(not measured)" % (version, count, k),
                                 _line(["-"] * len(COLUMNS))))
                    continue
                label, figures, numbers = _cell(version, count, k, results[(version, count, k)],
                                                singles[(version, count)], reals.get((version, count)),
                                                baselines[count])
                rows.append((label, _line(figures)))
                derived[(version, count, k)] = numbers
    hows = sorted(set(m["how"] for m in measured.values() if m.get("how")))
    lines = [
        "directory alone (no agent): " + ", ".join("N=%d: API server %.2f, etcd %.2f CPU s/min" % (
            count, _per_minute(baselines[count], "apiserver"), _per_minute(baselines[count], "etcd"))
            for count in settings["n"]),
        "idle: CPU s a minute of the directory's processes over %.0f s with the fleet idle (for an agent whose resyncs "
        "list the directory, the window starts half a resync period after the last first sync, so that each agent's "
        "resync falls whole in it); dir/agent/min: (API server + etcd - the directory alone) / K (below 0: noise); "
        "agents CPU: the worker processes' CPU a minute, per agent. relabel: seconds from the directory patch until "
        "every replica stored the label (max, median); CPU s and the agents' directory requests (audit log: each "
        "page of a list is a request, a watch counts when opened) from the patch until %.0f s after the last replica "
        "had it." % (settings["idle"], RELABEL_SETTLE),
        "dir API RSS: the directory kube-apiserver's peak RSS from the start of the cell's agents (started %d at a "
        "time, MC_BENCH_FLEET_WAVE) to the end of its windows." % settings["wave"],
        "RSS/agent: the worker processes' VmRSS / their agents (%d agents a process, the Python + kubernetes imports "
        "and the replicas' shared base shared); 1-agent HWM: VmHWM of one agent alone in a process after its first "
        "sync into an empty in-memory replica and one resync (the issue's RSS); 1st sync: seconds from the agent's "
        "start to the end of its first sync into an empty replica, in memory and (lab) into a real lab replica, the "
        "agent as its own process." % settings["per_worker"],
        "replicas: in memory behind ClusterClient._send (copy-on-write store: fleet_store.py), converged at start; "
        "agents: the version's own Agent and Watchers (built %s), threads in worker processes of %d agents each; no "
        "heartbeat and no ClusterStatus reporter (BENCH=heartbeat measures those), no health server, no metrics." % (
            " / ".join(hows) or "-", settings["per_worker"]),
        "lab: one directory, etcd + kube-apiserver v1.20.2, no controller-manager, audit log on (the agents' every "
        "request, at Metadata level); one view-only credential (ServiceAccount %s) shared by all agents; 2 cores "
        "shared by the directory, the agents and this script; %d s in all." % (
            FLEET_REPLICA, time.monotonic() - started),
    ]
    lines += ["measured vs extrapolated: " + r for r in reasons] or [
        "measured vs extrapolated: every cell measured at its K"]
    lines += list(dict.fromkeys(notes))
    try:
        lines += _goals(derived, singles, reals, baselines, settings)
    except KeyError as exc:  # a version not run (MC_BENCH_FLEET_VERSIONS), or a cell not measured
        lines.append("goals: not computed, no figure for %s" % (exc,))
    print_table("A fleet of K agents against one directory of N Clusters: today's agent and the new one", rows, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
