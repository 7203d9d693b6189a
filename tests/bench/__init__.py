"""Benchmarks on the lab: they print figures and assert nothing about time.

``make bench`` runs ``python -m tests.bench``, which runs the ``main()`` of
every ``tests/bench/bench_<name>.py`` in turn; ``python -m tests.bench <name>``
runs one. A benchmark starts its own lab fleet, and stops it in a ``finally``;
when a step fails it raises (``BenchError`` says which step and why), so a
broken step never passes for a fast one.

The helpers here are shared by the benchmarks: the built collection
(``build/``, what ``make tree`` writes), ``ansible-playbook`` runs over a lab
inventory, timed runs of a child process (wall seconds, and the CPU seconds
of the child and its descendants, from ``os.wait4``), private files for
credentials, and the table of figures.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
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


class Measured(subprocess.CompletedProcess):
    """A finished child process with its wall seconds and CPU seconds (user + system of the child and of
    every descendant it waited for: ansible-playbook's forks and module processes, a script's kubectl jobs)."""

    def __init__(self, args, returncode, stdout, stderr, seconds, cpu_seconds):
        super().__init__(args, returncode, stdout, stderr)
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds


def run_measured(argv, env=None, cwd=ROOT, timeout=900, input_text=None):
    """Run *argv* to its end and return a Measured (stdout and stderr as text); the CPU time is the child's
    own rusage (os.wait4), not this process's. After *timeout* seconds the child's whole process group is
    killed and subprocess.TimeoutExpired raised."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as stdin:
        if input_text is not None:
            stdin.write(input_text.encode())
            stdin.seek(0)
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
        expired = []

        def kill():
            expired.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            while True:
                try:
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if expired:
        raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr)
    return Measured(argv, proc.returncode, stdout, stderr, seconds, usage.ru_utime + usage.ru_stime)


class PlaybookRun:
    """One timed ansible-playbook run, read from the JSON stdout callback (mc_json)."""

    def __init__(self, name, seconds, proc, log_path):
        self.name = name
        self.seconds = seconds
        self.cpu_seconds = getattr(proc, "cpu_seconds", None)
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


def ansible_playbook(playbook, inventory, workdir, extra_vars=None, limit=None, forks=None, env=None,
                     ansible_bin_dir=None, timeout=900, extra_args=()):
    """Run playbooks/<playbook> (or *playbook*, an absolute path) over *inventory* with the built
    collection; return a PlaybookRun (wall and CPU seconds, from run_measured), or raise BenchError
    naming the failed tasks when the run fails.

    extra_vars: a dict, passed as one JSON -e. forks: ANSIBLE_FORKS. env: more environment.
    ansible_bin_dir: where ansible-playbook is (default: next to this Python), for an Ansible of
    another virtualenv. extra_args: more arguments (--check)."""
    extra_env = env or {}
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
    if forks:
        env["ANSIBLE_FORKS"] = str(forks)
    env.update(extra_env)
    binary = os.path.join(ansible_bin_dir, "ansible-playbook") if ansible_bin_dir else _ansible_bin("ansible-playbook")
    argv = [binary, "-i", inventory, os.path.join(PLAYBOOKS, playbook)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if limit:
        argv += ["--limit", limit]
    argv += list(extra_args)
    proc = run_measured(argv, env=env, timeout=timeout)
    seconds = proc.seconds
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, mode=0o700, exist_ok=True)
    log_path = write_private(os.path.join(logs, "%03d-%s.json" % (len(os.listdir(logs)) + 1,
                                                                  os.path.basename(playbook))), proc.stdout)
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


def memory(pid="self"):
    """{VmRSS, VmHWM} of a process, in KiB."""
    found = {}
    with open("/proc/%s/status" % pid) as handle:
        for line in handle:
            key, _sep, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(rest.split()[0])
    return found
