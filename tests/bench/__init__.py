"""Benchmarks on the lab: they print figures and assert nothing about time.

``make bench`` runs ``python -m tests.bench``, which runs the ``main()`` of
every ``tests/bench/bench_<name>.py`` in turn; ``python -m tests.bench <name>``
runs one. A benchmark starts its own lab fleet, and stops it in a ``finally``;
when a step fails it raises (``BenchError`` says which step and why), so a
broken step never passes for a fast one.

The helpers here are shared by the benchmarks: the built collection
(``build/``, what ``make tree`` writes), ``ansible-playbook`` runs over a lab
inventory, private files for credentials, and the table of figures.
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, "playbooks")
BUILD = os.path.join(ROOT, "build")


class BenchError(RuntimeError):
    """A step of a benchmark failed; the message names the step and the reason."""


def collections_path():
    """The folder holding ansible_collections/coreos/multicluster.

    Under ``make bench`` the tree is fresh (``make tree`` ran first); run
    directly, ``make -s tree`` is run once here so the benchmark never times
    a stale copy of the collection."""
    if not os.environ.get("MAKELEVEL") and not getattr(collections_path, "_fresh", False):
        subprocess.run(["make", "-s", "tree"], cwd=ROOT, check=True, timeout=300)
        collections_path._fresh = True
    tree = os.path.join(BUILD, "ansible_collections", "coreos", "multicluster")
    if not os.path.isdir(tree):
        raise BenchError("no built collection in %s: run 'make -s tree'" % tree)
    return BUILD


def _ansible_bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.access(candidate, os.X_OK) else name


def write_private(path, text):
    """Write *text* to a file only its owner can read (credentials go there, never to stdout)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


class PlaybookRun:
    """One timed ansible-playbook run, read from the JSON stdout callback (mc_json)."""

    def __init__(self, name, seconds, proc, log_path):
        self.name = name
        self.seconds = seconds
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.log_path = log_path
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            self.data = {}
        self.stats = self.data.get("stats", {})

    def changed(self):
        return sum(stats.get("changed", 0) for stats in self.stats.values())

    def failures(self):
        """(host, task, message) of every failed task result."""
        found = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    if result.get("failed") and not result.get("ignore_errors"):
                        msg = result.get("msg") or ("(details hidden: no_log)" if result.get("censored") else "failed")
                        found.append((host, task["task"]["name"], msg))
        return found


def ansible_playbook(playbook, inventory, workdir, extra_vars=None, limit=None):
    """Run playbooks/<playbook> over *inventory* with the built collection; return a
    PlaybookRun, or raise BenchError naming the failed tasks when the run fails."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        # the test suite's JSON stdout callback (ansible-core 2.19 ships none)
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "tests", "integration", "callback_plugins"),
        "ANSIBLE_STDOUT_CALLBACK": "mc_json",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-tmp"),
    })
    argv = [_ansible_bin("ansible-playbook"), "-i", inventory, os.path.join(PLAYBOOKS, playbook)]
    for key, value in (extra_vars or {}).items():
        argv += ["-e", "%s=%s" % (key, value)]
    if limit:
        argv += ["--limit", limit]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.monotonic() - start
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, mode=0o700, exist_ok=True)
    log_path = write_private(os.path.join(logs, "%02d-%s.json" % (len(os.listdir(logs)) + 1, playbook)),
                             proc.stdout)
    run = PlaybookRun(playbook, seconds, proc, log_path)
    if run.rc != 0:
        lines = ["ansible-playbook %s failed (rc=%d, %.1f s); output kept in %s" % (
            playbook, run.rc, seconds, log_path)]
        lines += ["  %s | %s: %s" % failure for failure in run.failures()]
        if not run.failures():
            lines += ["  " + line for line in (run.stderr or "").strip().splitlines()[-15:]]
        raise BenchError("\n".join(lines))
    return run


def print_table(title, rows, notes=()):
    """rows: (label, figure) pairs, figure already formatted."""
    width = max(len(row[0]) for row in rows)
    fig_width = max(len(row[1]) for row in rows)
    print()
    print(title)
    for label, figure in rows:
        print("  %-*s  %*s" % (width, label, fig_width, figure))
    for note in notes:
        print("  " + note)
    sys.stdout.flush()
