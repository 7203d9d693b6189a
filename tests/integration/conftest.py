"""Session fixtures: the lab fleet (or existing clusters named by MC_LAB_CONTEXTS)."""

import contextlib
import os
import signal
import time
import warnings

import pytest
import yaml

from tests.lab import DEFAULT_NAMES, Fleet, external_clusters

_CLUSTERS = []


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """A list of clusters (tests.lab.LabCluster): three lab clusters by default.

    MC_LAB_CONTEXTS=ctx1,ctx2,... runs the suite against existing clusters
    named by kubeconfig contexts (KUBECONFIG) instead; MC_LAB_BIN_DIR brings
    other Kubernetes binaries to the lab."""
    contexts = [c for c in os.environ.get("MC_LAB_CONTEXTS", "").split(",") if c]
    if contexts:
        clusters = external_clusters(contexts, str(tmp_path_factory.mktemp("external")))
        _CLUSTERS.extend(clusters)
        yield clusters
        return
    lab = Fleet(str(tmp_path_factory.mktemp("lab")), DEFAULT_NAMES)
    clusters = lab.start()
    _CLUSTERS.extend(clusters)
    try:
        yield clusters
    finally:
        lab.stop()


class WritesNotAudited(UserWarning):
    """A check of the write requests was not made: the cluster has no audit
    log (an existing cluster named by MC_LAB_CONTEXTS, not a lab one)."""


def writes(cluster, mark):
    """The write requests (verb, resource, namespace, name) made on *cluster*
    since *mark* (cluster.audit_mark()); None, after a WritesNotAudited
    warning, on a cluster without an audit log."""
    found = cluster.writes_since(mark)
    if found is None:
        warnings.warn(WritesNotAudited("%s has no audit log: its write requests are not checked" % cluster.name))
    return found


def assert_writes(cluster, mark, expected):
    """The write requests made on *cluster* since *mark* are exactly *expected*
    (on lab clusters, always; see writes() for the others)."""
    found = writes(cluster, mark)
    if found is not None:
        assert found == expected, "%s: write requests %r, expected %r" % (cluster.name, found, expected)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, point at the lab's logs (they are kept under the tmp dir)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _CLUSTERS:
        lines = []
        for cluster in _CLUSTERS:
            lines.extend("%s: %s" % (cluster.name, path) for path in cluster.logs())
        if lines:
            report.sections.append(("lab logs", "\n".join(lines)))


@contextlib.contextmanager
def frozen(cluster):
    """The cluster's kube-apiserver stopped with SIGSTOP (a wedged control plane:
    connections are accepted by the kernel, nothing answers), then resumed
    with SIGCONT and waited for. Lab clusters only."""
    pid = (cluster.pids or {}).get("kube-apiserver")
    if not pid:
        pytest.skip("%s is not a lab cluster: its API server cannot be frozen" % cluster.name)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while cluster.kubectl("get", "--raw", "/readyz", check=False).returncode != 0:
            assert time.monotonic() < deadline, "%s did not answer again after SIGCONT" % cluster.name
            time.sleep(0.5)


# --- the collection under test, run through real ansible-playbook ----------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGISTRY_MANIFEST = os.path.join(ROOT, "roles", "registry", "files", "registry.yml")


@pytest.fixture(scope="session")
def collection_path():
    """build/ (holding ansible_collections/coreos/multicluster), made fresh."""
    import subprocess
    subprocess.run(["make", "-s", "tree"], cwd=ROOT, check=True, timeout=300)
    return os.path.join(ROOT, "build")


@pytest.fixture(scope="session")
def registry(fleet):
    """The fleet with the registry's cluster-wide objects installed and each
    cluster's tectonic-config ConfigMap naming it."""
    for cluster in fleet:
        cluster.kubectl("apply", "-f", REGISTRY_MANIFEST)
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                        "crd/clusters.multicluster.coreos.com")
        cm = cluster.kubectl("-n", "tectonic-system", "create", "configmap", "tectonic-config",
                             "--from-literal=clusterName=%s" % cluster.name, "--dry-run=client", "-o", "yaml")
        cluster.kubectl("apply", "-f", "-", input_text=cm.stdout)
    return fleet


class Hidden(dict):
    """A kubeconfig (or anything holding a credential) that pytest may show
    in a failure report: it compares and serialises as the dict it is, but
    its repr never shows the content."""

    def __repr__(self):
        return "<%d-key mapping holding a credential: not shown>" % len(self)


class SecretText(str):
    """A token or other secret string: used as the string it is, but its
    repr (what pytest shows of locals and arguments) never shows it."""

    def __repr__(self):
        return "<%d-character secret: not shown>" % len(self)


class _Result(dict):
    """A module result whose repr leaves out the kubeconfig it may return."""

    def __repr__(self):
        return repr({k: ("<not shown>" if k == "kubeconfig" and v else v) for k, v in self.items()})


def _represent_hidden(dumper, data):
    return dumper.represent_dict(dict(data))


yaml.SafeDumper.add_representer(Hidden, _represent_hidden)
yaml.SafeDumper.add_representer(_Result, _represent_hidden)


def hidden(value):
    """Hidden(value) for a dict, else value."""
    return Hidden(value) if isinstance(value, dict) else value


class ModuleRun:
    """What one ansible-playbook run of one task returned. A failing assert
    may print the result or its kubeconfig: neither shows a credential."""

    def __init__(self, result, stdout, stderr, rc):
        self.result = _Result(result)
        if isinstance(self.result.get("kubeconfig"), dict):
            self.result["kubeconfig"] = Hidden(self.result["kubeconfig"])
        self.stdout = stdout
        self.stderr = stderr
        self.rc = rc

    def __repr__(self):
        return "ModuleRun(rc=%s, result=%r)" % (self.rc, self.result)

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    @property
    def changed(self):
        return self.result.get("changed")

    @property
    def failed(self):
        return bool(self.result.get("failed"))


@pytest.fixture(scope="session")
def run_module(collection_path, tmp_path_factory):
    """run_module(name, args, check=False, diff=True, env=None) -> ModuleRun.

    Runs one task of the module (FQCN or short name) with ansible-playbook on
    localhost, as a user would; returns its result, and the raw output for
    leak checks."""
    import json
    import subprocess
    import yaml

    workdir = tmp_path_factory.mktemp("playbooks")
    counter = [0]

    def run(name, args, check=False, diff=True, env=None, no_log_ok=False):
        counter[0] += 1
        fqcn = name if "." in name else "coreos.multicluster." + name
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "under test", fqcn: args, "check_mode": check, "diff": diff,
             "ignore_errors": True}]}]
        path = workdir / ("play%03d.yml" % counter[0])
        write_private(path, yaml.safe_dump(play))  # module args may hold a kubeconfig
        run_env = ansible_env(collection_path)
        run_env.update(env or {})
        proc = subprocess.run([os.path.join(os.path.dirname(_venv_python()), "ansible-playbook"), str(path)],
                              capture_output=True, text=True, env=run_env, timeout=300, check=False)
        try:
            out = json.loads(proc.stdout)
            result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError):
            # stderr only: stdout holds results, which may hold a kubeconfig
            raise AssertionError("ansible-playbook gave no result (rc=%s): %s" % (proc.returncode, proc.stderr[-3000:]))
        return ModuleRun(result, proc.stdout, proc.stderr, proc.returncode)

    return run


def write_private(path, text):
    """Write a file that may hold a credential: mode 0600 from the start."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def _venv_python():
    import sys
    return sys.executable


def ansible_env(collection_path):
    """The environment of an ansible-playbook run under test: the built
    collection, and the test suite's JSON stdout callback (mc_json)."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collection_path,
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "tests", "integration", "callback_plugins"),
        "ANSIBLE_STDOUT_CALLBACK": "mc_json",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_PYTHON_INTERPRETER": _venv_python(),
    })
    return env


# --- playbooks over a kubeconfig inventory ------------------------------------------

class PlaybookRun:
    """What one ansible-playbook run printed, parsed from the json callback."""

    def __init__(self, proc):
        import json
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            # stderr only: stdout holds results, which may hold a kubeconfig
            raise AssertionError("ansible-playbook printed no JSON (rc=%s): %s" % (proc.returncode, proc.stderr[-3000:]))
        self.stats = self.data.get("stats", {})

    def changed(self):
        """{host: number of changed tasks}."""
        return {host: stats.get("changed", 0) for host, stats in self.stats.items()}

    def failed_hosts(self):
        return sorted(host for host, stats in self.stats.items()
                      if stats.get("failures") or stats.get("unreachable"))

    def failures(self):
        """[(host, task, msg)] of every failed task result (rescued ones included)."""
        found = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task["hosts"].items():
                    if result.get("failed"):
                        found.append((host, task["task"]["name"], str(result.get("msg"))[:1000]))
        return found

    def task_results(self, name):
        """{host: result} of every task whose name contains *name*."""
        found = {}
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if name in task["task"]["name"]:
                    found.update(task["hosts"])
        return found

    def summary(self):
        results = self.task_results("Summary | per cluster")
        return [line for result in results.values() for line in (result.get("msg") or [])]


@pytest.fixture(scope="session")
def run_playbook(collection_path):
    """run_playbook(playbook, inventory, extra_vars=None, limit=None, check=False) -> PlaybookRun.

    playbook: a file under playbooks/ (by path) or a FQCN (coreos.multicluster.site)."""
    import json
    import subprocess
    import sys

    def run(playbook, inventory, extra_vars=None, limit=None, check=False, forks=5, env=None):
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                "--forks", str(forks)]
        if "." not in playbook or playbook.endswith(".yml"):
            playbook = os.path.join(ROOT, "playbooks", playbook)
        argv.append(playbook)
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        if limit:
            argv += ["--limit", limit]
        if check:
            argv.append("--check")
        run_env = ansible_env(collection_path)
        run_env.update(env or {})
        proc = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=900, check=False)
        return PlaybookRun(proc)

    return run


@pytest.fixture(scope="module")
def site_fleet(tmp_path_factory):
    """A fleet of its own for the playbook tests (they change everything on
    it), with the lab's inventory. Not available against external clusters."""
    if os.environ.get("MC_LAB_CONTEXTS"):
        pytest.skip("playbook tests need a lab fleet of their own")
    lab = Fleet(str(tmp_path_factory.mktemp("site-lab")), DEFAULT_NAMES)
    clusters = lab.start()
    _CLUSTERS.extend(clusters)
    inventory = lab.write_inventory()
    try:
        yield {"clusters": clusters, "inventory": inventory, "root": lab.root}
    finally:
        lab.stop()


def token_client(cluster, token):
    """A kubernetes ApiClient of *cluster* that authenticates with *token* only."""
    from kubernetes import client
    cfg = client.Configuration()
    cfg.host = cluster.server
    cfg.ssl_ca_cert = cluster.ca_cert
    cfg.api_key = {"authorization": "Bearer " + token}
    return client.ApiClient(cfg)


def service_account_token(cluster, name, cluster_role="cluster-admin"):
    """A token (TokenRequest API, 10 minutes) of a new ServiceAccount default/*name* bound to *cluster_role* by a
    ClusterRoleBinding *name*, as an AWX user would paste it into a bearer-token credential; the caller deletes both."""
    from kubernetes import client
    api = cluster.api_client()
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account("default", {"metadata": {"name": name}})
    rbac.create_cluster_role_binding({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
    return core.create_namespaced_service_account_token(
        name, "default", {"spec": {"audiences": [], "expirationSeconds": 600}}).status.token
