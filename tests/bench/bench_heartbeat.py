"""Benchmark (figures, not a test): 1,000 replicas heartbeating against one directory, then the ClusterProfile exporter.

    python -m tests.bench heartbeat    (or: make bench BENCH=heartbeat)

Environment: MC_BENCH_HEARTBEAT_REPLICAS (default 1000), MC_BENCH_HEARTBEAT_SECONDS (default 120: each measured
phase; the whole benchmark then takes about 10 minutes).

A lab with one cluster, the directory (tests/lab Fleet, etcd and kube-apiserver only: no controller-manager, so
that nothing else runs on it), with the registry's CRDs (roles/registry/files/registry.yml) and the ClusterProfile
CRD and namespace (roles/registry/files/cluster-profiles.yml). N Clusters (bench_sync.cluster_manifest) and their N
heartbeat Leases in tectonic-multi-cluster (credentials/objects.desired_lease, the shape onboarding creates) are
created, CREATE_THREADS at a time, then the directory is left SETTLE seconds. Then, one after the other:

1. idle: nothing runs but the directory;
2. heartbeats: a simulator (this module run as ``simulate``, a child process of its own) renews every Lease once a
   period (health.DEFAULT_HEARTBEAT_PERIOD, 60 s), the renewals spread evenly over the period, with the agent's own
   code: one agent/heartbeat.Heartbeat per Lease (health.renewed, then a ClusterClient replace: one PUT a renewal
   after the first read), SIM_THREADS threads with a client each. Its first period, where each Lease is also read
   once, is a warm-up, not measured;
3. heartbeats and the exporter (``python -m ...agent export-profiles`` with the directory's admin kubeconfig and
   its default period), in two parts: (a) from its start to the end of its first export, which creates the N
   ClusterProfiles and writes their status; (b) the steady state after it, where the KEP's budget (one status write
   per profile per 30 s at most, a health transition excepted) and unchanged profiles should leave it writing
   next to nothing. After (b) every Cluster must have its profile (else BenchError), and how many of them are
   ControlPlaneHealthy is said.

Measured for each phase: the CPU seconds (user + system, every thread: utime + stime of /proc/<pid>/stat) of the
directory's kube-apiserver and etcd (the pids the lab keeps in LabCluster.pids), of the simulator and of the
exporter, divided by the phase's wall minutes; the renewals the API server accepted (updates of Leases in
tectonic-multi-cluster answered 200) and the writes of ClusterProfiles (clusterprofiles and clusterprofiles/status,
any verb), both from the directory's audit log (complete lines between the phase's two ends), per minute; and the
renewals the simulator saw fail. Nothing is subtracted: the idle row is the baseline, printed beside the others.
Nothing is asserted about time.
"""

import argparse
import concurrent.futures
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import BUILD, ROOT, BenchError, collections_path, print_table
from .bench_sync import cluster_manifest, install_registry

AGENT_MODULE = "ansible_collections.coreos.multicluster.agent"
PROFILES_MANIFEST = os.path.join(ROOT, "roles", "registry", "files", "cluster-profiles.yml")
PROFILES_CRD = "crd/clusterprofiles.multicluster.x-k8s.io"
DIRECTORY = "hb-directory"
SIMULATE = "simulate"  # the first argument that makes this module the simulator (python -m tests.bench.bench_heartbeat)
CREATE_THREADS = 6
SIM_THREADS = 4
SETTLE = 15  # seconds the directory is left alone after the creations, before the idle phase
CONVERGE_TIMEOUT = 900  # seconds for the exporter's first export (N profiles created, N statuses written)
LATE = 1.0  # a renewal started this many seconds after its slot is counted late
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _collection():
    collections_path()  # a fresh build/ (make tree), for this process and its children
    if BUILD not in sys.path:
        sys.path.insert(0, BUILD)
    from ansible_collections.coreos.multicluster.plugins.module_utils import names
    from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import objects
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client
    from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health, profiles
    return client, objects, names, health, profiles


def _names(count):
    return ["hb-%04d" % index for index in range(count)]


def _settings():
    found = {}
    for variable, default in (("MC_BENCH_HEARTBEAT_REPLICAS", 1000), ("MC_BENCH_HEARTBEAT_SECONDS", 120)):
        text = os.environ.get(variable, str(default))
        if not text.isdigit() or int(text) < 1:
            raise BenchError("%s must be a whole number above 0, not %r" % (variable, text))
        found[variable] = int(text)
    return found["MC_BENCH_HEARTBEAT_REPLICAS"], found["MC_BENCH_HEARTBEAT_SECONDS"]


def _create_all(client_module, lab, bodies):
    """Create *bodies* on *lab*, CREATE_THREADS at a time (one client per thread)."""
    def create(share):
        api = client_module.ClusterClient({"kubeconfig": lab.kubeconfig, "context": lab.context})
        try:
            for body in share:
                api.create(body)
        finally:
            api.close()
    with concurrent.futures.ThreadPoolExecutor(CREATE_THREADS) as pool:
        for future in [pool.submit(create, bodies[n::CREATE_THREADS]) for n in range(CREATE_THREADS)]:
            future.result()


# --- measuring -------------------------------------------------------------------------------------------------

def _cpu(pid):
    """User + system CPU seconds of process *pid*, all its threads (utime and stime of /proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Meter(object):
    """Phases on the directory: the CPU seconds of the watched processes, and the audit log's events, between
    begin() and end()."""

    def __init__(self, lab):
        self.lab = lab
        self.pids = {"apiserver": lab.pids["kube-apiserver"], "etcd": lab.pids["etcd"]}
        self.position = lab.audit_mark()
        self._start = None

    def watch(self, name, pid):
        """Watch a process started after begin(): all of its CPU time counts in this phase."""
        self.pids[name] = pid

    def _events(self):
        """The audit events of the complete lines written since the last look (a line still being written is
        left for the next one)."""
        with open(self.lab.audit_log, "rb") as handle:
            handle.seek(self.position)
            data = handle.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.position += len(complete)
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def _sample(self):
        return time.monotonic(), dict((name, _cpu(pid)) for name, pid in self.pids.items())

    def begin(self):
        self._events()  # what came before the phase
        self._start = self._sample()

    def end(self, label, **extra):
        """The phase just ended: {label, seconds, cpu: {process: seconds}, events, and *extra*}."""
        (began, before), (ended, after) = self._start, self._sample()
        phase = {"label": label, "seconds": ended - began, "events": self._events(),
                 "cpu": dict((name, seconds - before.get(name, 0.0)) for name, seconds in after.items())}
        phase.update(extra)
        return phase


def _count(events, resource, namespace, ok=None):
    """Write events on *resource* (subresources included) in *namespace*; *ok*: only those answered 200 (True) or
    not (False)."""
    found = 0
    for event in events:
        ref = event.get("objectRef") or {}
        if ref.get("resource") != resource or ref.get("namespace") != namespace:
            continue
        if ok is not None and ((event.get("responseStatus") or {}).get("code") == 200) != ok:
            continue
        found += 1
    return found


# --- the simulator: a child process ------------------------------------------------------------------------------

def simulate(argv):
    """Renew Leases tectonic-multi-cluster/hb-0000... once every --period seconds each, spread evenly over the
    period, with agent/heartbeat.Heartbeat, until SIGTERM; every second, write {renewals, failures, late,
    max_lag} to --stats."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_heartbeat " + SIMULATE)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--period", type=float, required=True)
    parser.add_argument("--threads", type=int, default=SIM_THREADS)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args(argv)
    from ansible_collections.coreos.multicluster.agent.heartbeat import Heartbeat, Identity
    from ansible_collections.coreos.multicluster.agent.logs import configure_logging
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient

    configure_logging(level=logging.WARNING)  # the failed renewals, on stderr
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    names = _names(args.count)
    beats = [None] * args.count
    lateness = [[0, 0.0] for dummy in range(args.threads)]  # per thread: renewals started late, the most late
    start = time.monotonic() + 1.0

    def work(thread):
        client = ClusterClient({"kubeconfig": args.kubeconfig, "context": args.context})
        mine = range(thread, args.count, args.threads)
        for index in mine:
            beats[index] = Heartbeat(Identity(None, given=names[index]), args.period, lambda: client, stop)
        try:
            for cycle in itertools.count():
                for index in mine:
                    delay = start + (cycle + index / float(args.count)) * args.period - time.monotonic()
                    if stop.wait(max(0.0, delay)):
                        return
                    lateness[thread][0] += -delay > LATE
                    lateness[thread][1] = max(lateness[thread][1], -delay)
                    beats[index].beat()
        finally:
            client.close()

    def report():
        made = [beat for beat in beats if beat is not None]
        stats = {"renewals": sum(b.renewals for b in made), "failures": sum(b.failures for b in made),
                 "late": sum(late for late, _most in lateness), "max_lag": max(most for _late, most in lateness)}
        with open(args.stats + ".new", "w") as handle:
            json.dump(stats, handle)
        os.replace(args.stats + ".new", args.stats)

    threads = [threading.Thread(target=work, args=(n,), name="renew-%d" % n, daemon=True)
               for n in range(args.threads)]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):
        report()
    for thread in threads:
        thread.join(5)
    report()
    return 0


def _simulator_stats(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"renewals": 0, "failures": 0, "late": 0, "max_lag": 0.0}


# --- the children ------------------------------------------------------------------------------------------------

def _spawn(argv, log_path, workdir):
    env = dict(os.environ, PYTHONPATH=collections_path())
    with open(log_path, "wb") as log:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=workdir)


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _alive(proc, what, log_path):
    if proc.poll() is not None:
        raise BenchError("%s exited with %s; the end of its log (%s):\n%s"
                         % (what, proc.returncode, log_path, _tail(log_path)))


def _tail(path, lines=10):
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


def _exporter_log(log_path, *messages):
    """The exporter's log entries (its complete JSON lines) with one of *messages*."""
    with open(log_path) as handle:
        text = handle.read()
    entries = [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines() if line.startswith("{")]
    return [entry for entry in entries if entry.get("msg") in messages]


def _exports(log_path):
    """The exporter's runs so far: its 'exported' and 'export failed' log entries."""
    return _exporter_log(log_path, "exported", "export failed")


def _wait_first_export(proc, log_path):
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        _alive(proc, "the exporter", log_path)
        runs = _exports(log_path)
        if runs:
            if runs[0]["msg"] != "exported":
                raise BenchError("the exporter's first export failed: %s" % runs[0].get("reason"))
            return runs[0]
        if time.monotonic() > deadline:
            raise BenchError("the exporter did not end its first export within %d s" % CONVERGE_TIMEOUT)
        time.sleep(0.2)


def _wait_renewed(proc, stats_path, log_path, count, period):
    """Wait (at most three periods) until the simulator has renewed every Lease once."""
    deadline = time.monotonic() + 3 * period
    while _simulator_stats(stats_path)["renewals"] < count:
        _alive(proc, "the heartbeat simulator", log_path)
        if time.monotonic() > deadline:
            raise BenchError("the simulator renewed %d of %d Leases in %d s; its log: %s" % (
                _simulator_stats(stats_path)["renewals"], count, 3 * period, log_path))
        time.sleep(1.0)


# --- the benchmark -----------------------------------------------------------------------------------------------

COLUMNS = (("wall s", "%.0f"), ("API server", "%.2f"), ("etcd", "%.2f"), ("simulator", "%.2f"),
           ("exporter", "%.2f"), ("renewals/min", "%.1f"), ("failed", "%d"), ("profile writes/min", "%.1f"),
           ("(in all)", "%d"))
HEADER = "phase (CPU: seconds a minute)"


WIDTH = 7  # the least width of a column


def _cells(values=None):
    """The figures of a row (a value None: '-'), or without *values* the columns' titles, aligned."""
    if values is None:
        cells = [title for title, _form in COLUMNS]
    else:
        cells = ["-" if value is None else form % value for (_title, form), value in zip(COLUMNS, values)]
    return "  ".join("%*s" % (max(WIDTH, len(title)), cell) for (title, _form), cell in zip(COLUMNS, cells))


def _row(phase, names):
    """(label, figures) of a phase, in the columns of COLUMNS."""
    minutes = phase["seconds"] / 60.0
    cpu = dict((name, seconds / minutes) for name, seconds in phase["cpu"].items())
    renewals = _count(phase["events"], "leases", names.HEARTBEAT_NAMESPACE, ok=True)
    writes = _count(phase["events"], "clusterprofiles", names.PROFILE_NAMESPACE)
    return phase["label"], _cells((phase["seconds"], cpu["apiserver"], cpu["etcd"], cpu.get("simulator"),
                                   cpu.get("exporter"), renewals / minutes, phase.get("failures"), writes / minutes,
                                   writes))


def _print_phase(phase, names):
    print("%-38s  %s" % _row(phase, names))
    sys.stdout.flush()


def _profiles_check(client_module, lab, names, profiles, count):
    """(profiles of the bench's Clusters, how many ControlPlaneHealthy True); BenchError when one is missing."""
    api = client_module.ClusterClient({"kubeconfig": lab.kubeconfig, "context": lab.context})
    try:
        found = api.list("ClusterProfile", names.PROFILE_NAMESPACE)[0]
    finally:
        api.close()
    wanted = set(_names(count))
    ours = [p for p in found if p["metadata"]["name"] in wanted and profiles.is_ours(p)]
    if len(ours) != count:
        raise BenchError("after the exporter's runs %d of the %d Clusters have a ClusterProfile" % (len(ours), count))
    healthy = sum(1 for p in ours if any(c.get("type") == profiles.HEALTH_CONDITION and c.get("status") == "True"
                                         for c in (p.get("status") or {}).get("conditions") or []))
    return len(ours), healthy


def main(argv=None):
    from tests.lab import Fleet

    client_module, objects, names, health, profiles = _collection()
    count, seconds = _settings()
    period = health.DEFAULT_HEARTBEAT_PERIOD
    if not os.path.exists(PROFILES_MANIFEST):
        raise BenchError("no ClusterProfile CRD at %s" % PROFILES_MANIFEST)
    root = tempfile.mkdtemp(prefix="mc-bench-heartbeat-")
    fleet = Fleet(root, (DIRECTORY,), controller_managers=())
    print("bench_heartbeat: %d Leases renewed every %d s against one directory, then the ClusterProfile exporter; "
          "%d s a phase; lab in %s" % (count, period, seconds, root))
    print("%-38s  %s" % (HEADER, _cells()))
    children, phases, notes, exporter_period = [], [], [], None
    try:
        lab = fleet.start()[0]
        install_registry(lab)
        lab.kubectl("apply", "-f", PROFILES_MANIFEST)
        lab.kubectl("wait", "--for=condition=Established", "--timeout=60s", PROFILES_CRD)
        started = time.monotonic()
        cluster_names = _names(count)
        _create_all(client_module, lab, [cluster_manifest(name, index) for index, name in enumerate(cluster_names)]
                    + [objects.desired_lease(name) for name in cluster_names])
        print("%-38s  %7.0f" % ("create %d Clusters and %d Leases" % (count, count), time.monotonic() - started))
        time.sleep(SETTLE)
        meter = Meter(lab)

        meter.begin()
        time.sleep(seconds)
        phases.append(meter.end("1 idle directory"))
        _print_phase(phases[-1], names)

        stats_path, sim_log = os.path.join(root, "simulator.json"), os.path.join(root, "simulator.log")
        simulator = _spawn([sys.executable, "-m", "tests.bench.bench_heartbeat", SIMULATE, "--kubeconfig",
                            lab.kubeconfig, "--context", lab.context, "--count", str(count), "--period", str(period),
                            "--stats", stats_path], sim_log, ROOT)
        children.append(simulator)
        meter.watch("simulator", simulator.pid)
        _wait_renewed(simulator, stats_path, sim_log, count, period)  # the warm-up: each Lease read once, renewed

        def heartbeat_phase(label, wait):
            before = _simulator_stats(stats_path)
            meter.begin()
            done = wait()
            _alive(simulator, "the heartbeat simulator", sim_log)
            after = _simulator_stats(stats_path)
            phases.append(meter.end(label, failures=after["failures"] - before["failures"],
                                    late=after["late"] - before["late"], max_lag=after["max_lag"]))
            _print_phase(phases[-1], names)
            return done

        heartbeat_phase("2 heartbeats", lambda: time.sleep(seconds))

        exporter_log = os.path.join(root, "exporter.log")
        exporter = []

        def first_export():
            exporter.append(_spawn([sys.executable, "-m", AGENT_MODULE, "export-profiles", "--kubeconfig",
                                    lab.kubeconfig, "--context", lab.context], exporter_log, root))
            children.append(exporter[0])
            meter.watch("exporter", exporter[0].pid)
            return _wait_first_export(exporter[0], exporter_log)

        first = heartbeat_phase("3a + exporter, start to first export", first_export)
        runs_before = len(_exports(exporter_log))
        heartbeat_phase("3b + exporter, steady state", lambda: time.sleep(seconds))
        _alive(exporter[0], "the exporter", exporter_log)
        runs = _exports(exporter_log)[runs_before:]
        made, healthy = _profiles_check(client_module, lab, names, profiles, count)
        exporter_period = _exporter_log(exporter_log, "started")[0].get("period")

        notes.append("first export: created %d, updated %d, %.1f s; steady state: %d runs, %s failed, %.2f s each on "
                     "average, updated %d profiles in all" % (
                         len(first.get("created", [])), len(first.get("updated", [])), first.get("seconds", 0),
                         len(runs), sum(1 for r in runs if r["msg"] != "exported"),
                         sum(r.get("seconds", 0) for r in runs) / max(1, len(runs)),
                         sum(len(r.get("updated", [])) for r in runs)))
        converge = phases[2]
        notes.append("3a in all: CPU seconds: API server %.1f, etcd %.1f, exporter %.1f, in %.1f s" % (
            converge["cpu"]["apiserver"], converge["cpu"]["etcd"], converge["cpu"]["exporter"], converge["seconds"]))
        notes.append("after 3b: %d ClusterProfiles, %d of them ControlPlaneHealthy=True" % (made, healthy))
        loaded = phases[1:]
        notes.append("simulator: renewals started more than %.0f s after their slot: %s; the most late: %.2f s" % (
            LATE, ", ".join(str(p["late"]) for p in loaded), max(p["max_lag"] for p in loaded)))
    finally:
        for proc in reversed(children):
            _stop(proc)
        fleet.stop()
        shutil.rmtree(root, ignore_errors=True)
    rows = [_row(phase, names) for phase in phases]
    header = (HEADER, _cells())
    notes = [
        "CPU: user + system seconds of the process (/proc/<pid>/stat, all its threads) a minute of the phase; 60 is "
        "one core busy. Renewals: Lease updates the API server answered 200; failed: renewals the simulator saw "
        "fail; profile writes: clusterprofiles and clusterprofiles/status write requests (audit log). The exporter's "
        "CPU in 3a includes its start (Python and imports).",
        "%d Clusters and Leases; heartbeat period %d s (the agent's default); exporter period %s s (its default). Lab "
        "directory: etcd + kube-apiserver v1.20.2 (built from Debian's source), no controller-manager, audit log on "
        "(Metadata level for every write); 2 cores, shared with other work." % (count, period, exporter_period),
    ] + notes
    print_table("%d heartbeats a period against one directory, and the ClusterProfile exporter" % count,
                [header] + rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(simulate(sys.argv[2:]) if sys.argv[1:2] == [SIMULATE] else main())
