"""A fleet of real Kubernetes control planes on loopback.

Each cluster is three real processes - etcd, kube-apiserver and
kube-controller-manager - with a CA of its own, free ports, RBAC, the
ServiceAccount admission plugin, a service-account issuer and signing key (so
the TokenRequest API works) and an audit log of every write request, which the
tests use to prove that an idempotent re-run writes nothing.

With ``nodes`` (python -m tests.lab up --nodes), the replicas get a real node
each (tests/lab/node.py: containerd, kubelet, kube-proxy in a network namespace
of its own, kube-scheduler next to the API server), and the API servers listen
on the lab's bridge address instead of loopback, so that pods reach them.

With ``controller_managers`` (python -m tests.lab up --light-replicas), only
the clusters named there get a kube-controller-manager; the others are
lightweight, etcd and kube-apiserver only, so that a fleet of twenty replicas
fits a small machine. A lightweight cluster has no token controller (no token
Secrets for its ServiceAccounts, no 'default' ServiceAccount), no namespace
controller (a deleted Namespace stays Terminating) and no garbage collector;
its API, RBAC, CRDs and audit log are those of any other lab cluster.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field

import yaml

from . import node as labnode
from . import pki

DEFAULT_NAMES = ("west-coast-production", "east-coast-production", "central-production")
DEB_VERSION = "1.20.5+really1.20.2-1.1+deb12u1"
STATE_FILE = "lab.json"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

# Labels the lab gives its clusters (the first one is the directory).
FLEET_LABELS = {
    "west-coast-production": {"stage": "production", "cloud": "aws", "region": "us-west-1"},
    "east-coast-production": {"stage": "production", "cloud": "gcp", "region": "us-east1"},
    "central-production": {"stage": "production", "cloud": "azure", "region": "centralus"},
}

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    resources:
      - group: authentication.k8s.io
      - group: authorization.k8s.io
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
"""

# Writes by these users are the lab's own controllers, not the code under test.
CONTROLLER_USER = "system:kube-controller-manager"
ADMIN_USER = "lab-admin"
# The directory-sync agent's image in the lab's inventory (registry_sync_image): the reference make image
# builds (containers/directory-sync/build-image.sh). A lab with nodes loads it into them from podman's store.
with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "galaxy.yml")) as _galaxy:
    AGENT_IMAGE = "localhost/coreos-multicluster/directory-sync:%s" % yaml.safe_load(_galaxy)["version"]


class LabError(RuntimeError):
    """The lab could not start or stop; the message names the log to read."""


def cache_dir():
    return os.environ.get("MC_LAB_CACHE", os.path.expanduser("~/.cache/coreos-multicluster"))


def default_bin_dir():
    """MC_LAB_BIN_DIR, else the folder tests/lab/build-kubernetes.sh fills."""
    return os.environ.get("MC_LAB_BIN_DIR") or os.path.join(cache_dir(), "kubernetes", DEB_VERSION, "bin")


def _binary(bin_dir, name, node=False):
    candidate = os.path.join(bin_dir, name)
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found:
        return found
    if node:
        raise LabError("%s not found in %s nor on PATH; run 'tests/lab/build-kubernetes.sh --node' (it builds a "
                       "lab node's kubelet, kube-scheduler and kube-proxy)" % (name, bin_dir))
    raise LabError(
        "%s not found in %s nor on PATH; run 'make lab-bin' (or set MC_LAB_BIN_DIR to a folder "
        "holding kube-apiserver and kube-controller-manager)" % (name, bin_dir))


_handed_out = set()  # ports free_port() gave in this process, never given twice


def ephemeral_port_range():
    """The kernel's range for the local ports of outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            low, high = (int(x) for x in handle.read().split())
        return low, high
    except (IOError, OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(rand=random.SystemRandom()):
    """A port that is free now and lies outside the ephemeral range.

    Ports are chosen before the processes start, and etcd and kube-apiserver
    open outgoing connections meanwhile; a port from the ephemeral range (what
    bind(0) gives) can be taken by one of them before kube-controller-manager
    binds it ("address already in use").
    """
    low, high = ephemeral_port_range()
    pool = max(range(10000, low), range(high + 1, 65536), key=len)  # the larger side of the ephemeral range
    if len(pool) < 1000:
        raise LabError("lab: too few ports outside the ephemeral range %d-%d (net.ipv4.ip_local_port_range); "
                       "narrow it to leave 1000 ports above 10000 free" % (low, high))
    for dummy in range(500):
        port = rand.choice(pool)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise LabError("lab: no free port in %d-%d" % (pool.start, pool.stop - 1))


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _b64file(path):
    import base64
    with open(path, "rb") as handle:
        return base64.b64encode(handle.read()).decode()


@dataclass
class LabCluster:
    """One cluster of the fleet, as tests and people see it."""

    name: str
    kubeconfig: str
    context: str
    server: str
    ca_cert: str
    log_dir: str = ""
    audit_log: str = ""
    pids: dict = field(default_factory=dict)
    node: dict = field(default_factory=dict)  # this cluster's lab node (tests/lab/node.py), if it has one

    def api_client(self):
        from kubernetes import config
        return config.new_client_from_config(config_file=self.kubeconfig, context=self.context)

    def kubectl(self, *args, check=True, input_text=None):
        return subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, "--context", self.context] + list(args),
            check=check, capture_output=True, text=True, input=input_text, timeout=120)

    # --- audit log: the writes the apiserver received -------------------
    def audit_mark(self):
        """A position in the audit log; writes_since() reads from there. None
        for a cluster that has no audit log (an existing one); a lab cluster
        whose log is missing is an error, never a check quietly not made."""
        if not self.audit_log:
            return None
        return os.path.getsize(self.audit_log)

    def writes_since(self, mark, user=ADMIN_USER):
        """Write requests (not dry-run) by *user* since *mark*, as
        (verb, resource, namespace, name) tuples; None when the cluster has
        no audit log (an external cluster)."""
        if mark is None:
            return None
        events = []
        with open(self.audit_log, "rb") as handle:
            handle.seek(mark)
            for line in handle:
                event = json.loads(line)
                if user and event.get("user", {}).get("username") != user:
                    continue
                if "dryRun=All" in event.get("requestURI", ""):
                    continue
                ref = event.get("objectRef", {})
                resource = ref.get("resource", "")
                if ref.get("subresource"):
                    resource += "/" + ref["subresource"]
                events.append((event.get("verb"), resource, ref.get("namespace", ""), ref.get("name", "")))
        return events

    def logs(self):
        if not self.log_dir or not os.path.isdir(self.log_dir):
            return []
        return sorted(os.path.join(self.log_dir, f) for f in os.listdir(self.log_dir))


class Fleet:
    """Start and stop N clusters under *root*; state kept in root/lab.json.

    nodes: False (no node: the default), True (a node for every cluster but the
    first, the directory) or the names of the clusters that get one. images:
    references in podman's store loaded into every node (default, with nodes:
    the agent's image, AGENT_IMAGE). controller_managers: the names of the
    clusters that run a kube-controller-manager (default None: all of them;
    the others run etcd and kube-apiserver only; a cluster with a node needs
    one, for its Deployments' pods)."""

    def __init__(self, root, names=DEFAULT_NAMES, bin_dir=None, nodes=False, images=None, controller_managers=None):
        self.root = os.path.abspath(root)
        self.names = list(names)
        self.bin_dir = bin_dir or default_bin_dir()
        self.clusters = {}
        self._procs = []
        if nodes is True:
            nodes = self.names[1:]
        self.node_names = [n for n in self.names if n in (nodes or ())]
        if nodes and set(nodes) - set(self.names):
            raise LabError("nodes for clusters not in the fleet: %s" % sorted(set(nodes) - set(self.names)))
        self.images = list(images) if images is not None else ([AGENT_IMAGE] if self.node_names else [])
        self.net = None  # the lab's bridge and host address (tests/lab/node.py), with nodes only
        if controller_managers is None:
            controller_managers = self.names
        if set(controller_managers) - set(self.names):
            raise LabError("controller-managers for clusters not in the fleet: %s"
                           % sorted(set(controller_managers) - set(self.names)))
        self.kcm_names = [n for n in self.names if n in controller_managers]
        if set(self.node_names) - set(self.kcm_names):
            raise LabError("clusters with a node need a controller-manager (their Deployments' pods): %s"
                           % sorted(set(self.node_names) - set(self.kcm_names)))

    @property
    def host(self):
        """The address the API servers listen on: loopback, or the lab's bridge address with nodes."""
        return self.net["address"] if self.net else "127.0.0.1"

    # --- start ----------------------------------------------------------
    def start(self, timeout=90):
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        binaries = {n: _binary(self.bin_dir, n) for n in ("etcd", "kube-apiserver", "kube-controller-manager")}
        if self.node_names:
            problem = labnode.check_host()
            if problem:
                raise LabError(problem)
            binaries.update({n: _binary(self.bin_dir, n, node=True) for n in labnode.NODE_BINARIES})
            try:
                archives = [labnode.pause_archive(cache_dir())] + [
                    labnode.podman_archive(ref, os.path.join(self.root, "images")) for ref in self.images]
                self.net = labnode.create_net()
            except labnode.NodeError as exc:
                raise LabError(str(exc))
        try:
            plans = {name: self._prepare(name) for name in self.names}
            for name, plan in plans.items():
                self._spawn(name, "etcd", plan, [
                    binaries["etcd"], "--name", name, "--data-dir", plan["etcd_dir"],
                    "--listen-client-urls", "http://127.0.0.1:%d" % plan["etcd_port"],
                    "--advertise-client-urls", "http://127.0.0.1:%d" % plan["etcd_port"],
                    "--listen-peer-urls", "http://127.0.0.1:%d" % plan["peer_port"],
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % plan["peer_port"],
                    "--initial-cluster", "%s=http://127.0.0.1:%d" % (name, plan["peer_port"]),
                    "--log-level", "warn"])
            for name, plan in plans.items():
                p = plan["pki"]
                self._spawn(name, "kube-apiserver", plan, [
                    binaries["kube-apiserver"],
                    "--etcd-servers", "http://127.0.0.1:%d" % plan["etcd_port"],
                    "--bind-address", self.host, "--advertise-address", self.host,
                    "--secure-port", str(plan["api_port"]), "--insecure-port", "0",
                    "--cert-dir", plan["dir"],
                    "--tls-cert-file", p["apiserver.crt"], "--tls-private-key-file", p["apiserver.key"],
                    "--client-ca-file", p["ca.crt"],
                    "--service-account-key-file", p["sa.pub"],
                    "--service-account-signing-key-file", p["sa.key"],
                    "--service-account-issuer", SA_ISSUER,
                    "--service-cluster-ip-range", "10.0.0.0/24",
                    "--enable-admission-plugins", "NamespaceLifecycle,ServiceAccount,LimitRanger,ResourceQuota",
                    "--audit-policy-file", plan["audit_policy"],
                    "--audit-log-path", plan["audit_log"], "--audit-log-maxsize", "0",
                    "--profiling=false"] + self._apiserver_node_args(plan))
            for name, plan in plans.items():
                self._wait_https(name, "kube-apiserver", plan,
                                 "https://%s:%d/readyz" % (self.host, plan["api_port"]), timeout, client_cert=True)
            for name, plan in plans.items():
                if name not in self.kcm_names:
                    continue  # a lightweight cluster: etcd and kube-apiserver only
                self._spawn(name, "kube-controller-manager", plan, [
                    binaries["kube-controller-manager"],
                    "--kubeconfig", plan["kcm_kubeconfig"],
                    "--authentication-kubeconfig", plan["kcm_kubeconfig"],
                    "--authorization-kubeconfig", plan["kcm_kubeconfig"],
                    "--bind-address", "127.0.0.1", "--secure-port", str(plan["kcm_port"]), "--port", "0",
                    "--cert-dir", os.path.join(plan["dir"], "kcm-certs"),
                    "--service-account-private-key-file", plan["pki"]["sa.key"],
                    "--root-ca-file", plan["pki"]["ca.crt"],
                    "--controllers",
                    "serviceaccount-token,serviceaccount,namespace,garbagecollector,deployment,replicaset,"
                    "clusterrole-aggregation",  # view, edit and admin get their rules, as on any cluster
                    "--use-service-account-credentials=false", "--leader-elect=false",
                    "--profiling=false"])
            for name, plan in plans.items():
                if name in self.kcm_names:
                    self._wait_https(name, "kube-controller-manager", plan,
                                     "https://127.0.0.1:%d/healthz" % plan["kcm_port"], timeout)
            for name, plan in plans.items():
                self.clusters[name] = plan["cluster"]
                if name in self.kcm_names:  # without a controller-manager, no one creates it
                    self._wait_default_serviceaccount(plan["cluster"], timeout)
            if self.node_names:
                self.save_state()  # lab down can stop what is started from here on, even if start fails
                self._start_nodes(plans, binaries, archives, timeout)
        except BaseException:
            self.stop()
            raise
        self.save_state()
        return [self.clusters[n] for n in self.names]

    def _apiserver_node_args(self, plan):
        """The API server's flags: RBAC, and without nodes no Endpoints for the kubernetes Service. With
        nodes: its Endpoints (the lab address) for kube-proxy, the Node authorizer for the kubelets, and
        a client certificate to reach them (kubectl logs), by their InternalIP."""
        if not self.node_names:
            return ["--authorization-mode", "RBAC", "--endpoint-reconciler-type", "none"]
        crt, key = pki.client_cert(plan["pki"], os.path.join(plan["dir"], "pki"), "apiserver-kubelet-client",
                                   "kube-apiserver-kubelet-client", "system:masters")
        return ["--authorization-mode", "Node,RBAC", "--endpoint-reconciler-type", "lease",
                "--kubelet-client-certificate", crt, "--kubelet-client-key", key,
                "--kubelet-preferred-address-types", "InternalIP"]

    def _start_nodes(self, plans, binaries, archives, timeout):
        """kube-scheduler for every cluster with a node, then the nodes: network, containerd, images,
        kube-proxy and kubelet; Ready, untainted, and the kubernetes Service routed in each."""
        try:
            for index, name in enumerate(self.node_names):
                plan, cluster = plans[name], plans[name]["cluster"]
                sched_port = free_port()
                sched_kubeconfig = self._component_kubeconfig(plan, "kube-scheduler", "system:kube-scheduler",
                                                              "system:masters", plan["dir"])
                self._spawn(name, "kube-scheduler", plan, [
                    binaries["kube-scheduler"], "--kubeconfig", sched_kubeconfig,
                    "--authentication-kubeconfig", sched_kubeconfig, "--authorization-kubeconfig", sched_kubeconfig,
                    "--bind-address", "127.0.0.1", "--secure-port", str(sched_port), "--port", "0",
                    "--cert-dir", os.path.join(plan["dir"], "scheduler-certs"), "--leader-elect=false"])
                plan["sched_port"] = sched_port
                node = labnode.plan_node(self.net, name, index, plan["dir"], plan["log_dir"])
                cluster.node = node
                self.save_state()
                labnode.setup_network(node)
                labnode.write_files(node, plan["pki"], lambda stem, cn, org, plan=plan, node=node:
                                    self._component_kubeconfig(plan, stem, cn, org, node["dir"]),
                                    plan["pki"]["ca.crt"], cluster.server)
                self._spawn(name, "containerd", plan, labnode.containerd_argv(node))
            imports = {}
            for name in self.node_names:
                plan, node = plans[name], plans[name]["cluster"].node
                labnode.wait_containerd(node, self._proc(name, "containerd"), timeout)
                imports[name] = labnode.start_import(node, archives)
                self._spawn(name, "kube-proxy", plan, labnode.kube_proxy_argv(node, binaries["kube-proxy"]))
                self._spawn(name, "kubelet", plan, labnode.kubelet_argv(node, binaries["kubelet"],
                                                                        plan["cluster"].pids["containerd"]))
            for name in self.node_names:
                self._wait_https(name, "kube-scheduler", plans[name],
                                 "https://127.0.0.1:%d/healthz" % plans[name]["sched_port"], timeout)
                labnode.wait_import(plans[name]["cluster"].node, imports[name], 300)
                self._wait_node(plans[name]["cluster"], timeout)
        except labnode.NodeError as exc:
            raise LabError(str(exc))

    def _component_kubeconfig(self, plan, stem, common_name, organization, folder):
        crt, key = pki.client_cert(plan["pki"], os.path.join(plan["dir"], "pki"), stem, common_name, organization)
        path = os.path.join(folder, "%s.kubeconfig" % stem)
        _write_private(path, yaml.safe_dump(self._kubeconfig(plan["cluster"].name, plan["cluster"].server, crt,
                                                             key, plan["pki"]["ca.crt"])))
        return path

    def _wait_node(self, cluster, timeout):
        """The node Ready, its not-ready taint removed (no node-lifecycle controller does it here), and the
        kubernetes Service's ClusterIP routed to the API server in its network namespace (kube-proxy)."""
        node = cluster.node
        logs = node["logs"]
        deadline = time.monotonic() + timeout
        started, state = time.monotonic(), "not registered"
        while True:
            for component in ("kubelet", "kube-proxy", "containerd"):
                proc = self._proc(cluster.name, component)
                if proc is not None and proc.poll() is not None:
                    raise LabError("%s of node %s (cluster %s) exited with %s; see %s" % (
                        component, node["name"], cluster.name, proc.returncode,
                        os.path.join(logs, component + ".log")))
            got = cluster.kubectl("get", "node", node["name"], "-o", "json", check=False)
            if got.returncode == 0:
                conditions = {c["type"]: c for c in json.loads(got.stdout)["status"].get("conditions", [])}
                ready = conditions.get("Ready", {})
                state = "Ready=%s (%s)" % (ready.get("status", "unknown"), ready.get("message", ""))
                if ready.get("status") == "True":
                    break
            if time.monotonic() > deadline:
                raise LabError("node %s of cluster %s not Ready after %.0fs (%s); see %s" % (
                    node["name"], cluster.name, time.monotonic() - started, state, os.path.join(logs, "kubelet.log")))
            time.sleep(0.5)
        taints = json.loads(cluster.kubectl("get", "node", node["name"], "-o", "json").stdout)["spec"].get("taints", [])
        for taint in taints:
            if taint["key"] == "node.kubernetes.io/not-ready":
                cluster.kubectl("taint", "nodes", node["name"], "%s:%s-" % (taint["key"], taint["effect"]))
        probe = ["nsenter", "--net=/run/netns/%s" % node["netns"], "--", sys.executable, "-c",
                 "import socket; socket.create_connection(('%s', 443), 2).close()" % labnode.SERVICE_IP]
        while subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise LabError("node %s of cluster %s: the kubernetes Service %s:443 not routed after %.0fs; "
                               "see %s" % (node["name"], cluster.name, labnode.SERVICE_IP, time.monotonic() - started,
                                           os.path.join(logs, "kube-proxy.log")))
            time.sleep(0.5)

    def _prepare(self, name):
        cdir = os.path.join(self.root, name)
        if os.path.exists(cdir):
            shutil.rmtree(cdir)
        log_dir = os.path.join(cdir, "logs")
        os.makedirs(log_dir, mode=0o700)
        plan = {
            "dir": cdir, "log_dir": log_dir, "etcd_dir": os.path.join(cdir, "etcd"),
            "etcd_port": free_port(), "peer_port": free_port(), "api_port": free_port(), "kcm_port": free_port(),
            "pki": pki.make_pki(os.path.join(cdir, "pki"), name, extra_ips=[self.host] if self.net else []),
            "audit_policy": os.path.join(cdir, "audit-policy.yaml"),
            "audit_log": os.path.join(log_dir, "audit.log"),
        }
        with open(plan["audit_policy"], "w") as handle:
            handle.write(AUDIT_POLICY)
        server = "https://%s:%d" % (self.host, plan["api_port"])
        kubeconfig = os.path.join(self.root, "%s.kubeconfig" % name)
        _write_private(kubeconfig, yaml.safe_dump(self._kubeconfig(name, server, plan["pki"]["admin.crt"],
                                                                   plan["pki"]["admin.key"], plan["pki"]["ca.crt"])))
        kcm_crt, kcm_key = pki.client_cert(plan["pki"], os.path.join(cdir, "pki"), "kcm",
                                           CONTROLLER_USER, "system:masters")
        plan["kcm_kubeconfig"] = os.path.join(cdir, "kcm.kubeconfig")
        _write_private(plan["kcm_kubeconfig"], yaml.safe_dump(
            self._kubeconfig(name, server, kcm_crt, kcm_key, plan["pki"]["ca.crt"])))
        plan["cluster"] = LabCluster(name=name, kubeconfig=kubeconfig, context=name, server=server,
                                     ca_cert=plan["pki"]["ca.crt"], log_dir=log_dir,
                                     audit_log=plan["audit_log"])
        return plan

    @staticmethod
    def _kubeconfig(name, server, cert, key, ca):
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64file(ca)}}],
            "users": [{"name": "%s-admin" % name, "user": {
                "client-certificate-data": _b64file(cert), "client-key-data": _b64file(key)}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": "%s-admin" % name}}],
            "current-context": name,
        }

    def _spawn(self, name, component, plan, argv):
        log_path = os.path.join(plan["log_dir"], "%s.log" % component)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self._procs.append((name, component, proc))
        plan["cluster"].pids[component] = proc.pid

    def _proc(self, name, component):
        for pname, pcomp, proc in self._procs:
            if (pname, pcomp) == (name, component):
                return proc
        return None

    def _wait_https(self, name, component, plan, url, timeout, client_cert=False):
        ctx = ssl.create_default_context(cafile=plan["pki"]["ca.crt"]) if client_cert else ssl._create_unverified_context()
        if client_cert:
            ctx.load_cert_chain(plan["pki"]["admin.crt"], plan["pki"]["admin.key"])
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = self._proc(name, component)
            if proc is not None and proc.poll() is not None:
                raise LabError("%s of cluster %s exited with %s; see %s" % (
                    component, name, proc.returncode, os.path.join(plan["log_dir"], component + ".log")))
            try:
                with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise LabError("%s of cluster %s not ready after %ss (%s); see %s" % (
            component, name, timeout, last, os.path.join(plan["log_dir"], component + ".log")))

    @staticmethod
    def _wait_default_serviceaccount(cluster, timeout):
        """The serviceaccount controller creates 'default' in 'default':
        proof that the controller-manager really runs its controllers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cluster.kubectl("-n", "default", "get", "serviceaccount", "default", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise LabError("cluster %s: no default ServiceAccount after %ss; see %s" % (
            cluster.name, timeout, cluster.log_dir))

    # --- state and stop ---------------------------------------------------
    def save_state(self):
        state = {"root": self.root, "names": self.names, "nodes": self.node_names, "net": self.net,
                 "controller_managers": self.kcm_names,
                 "clusters": [asdict(self.clusters[n]) for n in self.names if n in self.clusters]}
        _write_private(os.path.join(self.root, STATE_FILE), json.dumps(state, indent=2))

    @classmethod
    def from_state(cls, root):
        path = os.path.join(root, STATE_FILE)
        with open(path) as handle:
            state = json.load(handle)
        fleet = cls(state["root"], state["names"], nodes=state.get("nodes") or False, images=[],
                    controller_managers=state.get("controller_managers"))
        fleet.net = state.get("net")
        for data in state["clusters"]:
            fleet.clusters[data["name"]] = LabCluster(**data)
        return fleet

    def pids(self):
        found = [entry[2].pid for entry in self._procs]
        for cluster in self.clusters.values():
            found.extend(cluster.pids.values())
        return sorted(set(found))

    def stop(self, timeout=20):
        """Stop every process of the fleet; raise if any is left running.

        The nodes first (tests/lab/node.py: their pods, kubelet, kube-proxy, containerd; their mounts and
        network namespaces), then the control planes, then the lab's bridge."""
        problems = []
        for name in self.names:
            cluster = self.clusters.get(name)
            if cluster is not None and cluster.node:
                pids = {c: [cluster.pids[c]] for c in ("kubelet", "kube-proxy", "containerd") if c in cluster.pids}
                try:
                    labnode.stop_node(cluster.node, pids, timeout)
                except labnode.NodeError as exc:
                    problems.append(str(exc))
        pids = [pid for pid in self.pids() if _is_lab_process(pid, self.root)]
        # schedulers and controller-managers first, then apiservers, then etcd
        order = {"kube-scheduler": 0, "kube-controller-manager": 0, "kube-apiserver": 1, "etcd": 2}
        pids.sort(key=lambda pid: order.get(_comm(pid), 3))
        deadline = time.monotonic() + timeout
        if self.net:
            # With nodes, the API servers keep the kubernetes Service's endpoints in etcd (the lease
            # reconciler) and remove them as they stop: etcd goes last, once they are gone.
            self._terminate([pid for pid in pids if _comm(pid) != "etcd"], deadline)
        self._terminate(pids, deadline)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        for entry in self._procs:
            try:
                entry[2].wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        left = [pid for pid in pids if _alive(pid)]
        if left:
            problems.append("lab processes still running after stop: %s" % left)
        if self.net:
            try:
                labnode.delete_net(self.net)
            except labnode.NodeError as exc:
                problems.append(str(exc))
        if problems:
            raise LabError("; ".join(problems))
        state = os.path.join(self.root, STATE_FILE)
        if os.path.exists(state):
            os.unlink(state)
        return pids

    def _terminate(self, pids, deadline):
        """SIGTERM to *pids*, then wait (until *deadline*) for them to end."""
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            for entry in self._procs:
                entry[2].poll()
            time.sleep(0.1)

    # --- inventory ----------------------------------------------------------
    def write_inventory(self, path=None, directory=None):
        """The Ansible inventory of this fleet (the roles' inventory contract)."""
        path = path or os.path.join(self.root, "inventory.yml")
        directory = directory or self.names[0]
        hosts = {}
        for name in self.names:
            cluster = self.clusters[name]
            labels = dict(FLEET_LABELS.get(name, {"stage": "lab"}))
            labels["role"] = "directory" if name == directory else "replica"
            hosts[name] = {
                "mc_kubeconfig": cluster.kubeconfig,
                "mc_context": cluster.context,
                "mc_api_endpoint": cluster.server,
                "mc_console_url": "https://%s.console.lab.invalid" % name,
                "mc_labels": labels,
            }
        inventory = {"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                     "registry_sync_image": AGENT_IMAGE},
            "children": {
                "directory": {"hosts": {directory: hosts[directory]}},
                "replicas": {"hosts": {n: hosts[n] for n in self.names if n != directory}},
            }}}
        with open(path, "w") as handle:
            handle.write("# Written by the coreos.multicluster lab: one host per cluster.\n")
            yaml.safe_dump(inventory, handle, sort_keys=False)
        return path


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _is_lab_process(pid, root):
    """Only signal a pid that still is one of ours (pids get reused)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return root.encode() in handle.read()
    except OSError:
        return False


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def external_clusters(contexts, workdir, kubeconfig=None):
    """Clusters named by kubeconfig contexts (MC_LAB_CONTEXTS), for running
    the integration suite against existing clusters (kind, cloud).

    Each gets a kubeconfig of its own in *workdir* (``kubectl config view
    --minify --flatten``: that context only, files inlined, mode 0600) and its
    CA in a file, as a lab cluster has. They have no audit log: the tests'
    checks of write requests are not made on them (a warning says so)."""
    import base64
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    result = []
    for context in contexts:
        view = subprocess.run(["kubectl", "config", "view", "--minify", "--flatten", "--context", context],
                              env=dict(os.environ, KUBECONFIG=kubeconfig), capture_output=True, text=True,
                              timeout=60, check=False)
        if view.returncode != 0:
            raise LabError("MC_LAB_CONTEXTS: context %r: %s" % (context, view.stderr.strip()))
        config = yaml.safe_load(view.stdout)
        config["current-context"] = context
        name = re.sub(r"[^a-z0-9-]+", "-", context.lower()).strip("-")[:63].rstrip("-")  # a DNS-1123 label
        if not name or name in [c.name for c in result]:
            raise LabError("MC_LAB_CONTEXTS: context %r gives the cluster name %r, empty or already taken"
                           % (context, name))
        path = os.path.join(workdir, "%s.kubeconfig" % name)
        _write_private(path, yaml.safe_dump(config))
        cluster = config["clusters"][0]["cluster"]
        ca_cert = ""
        if cluster.get("certificate-authority-data"):
            ca_cert = os.path.join(workdir, "%s-ca.crt" % name)
            with open(ca_cert, "wb") as handle:
                handle.write(base64.b64decode(cluster["certificate-authority-data"]))
        result.append(LabCluster(name=name, kubeconfig=path, context=context, server=cluster["server"],
                                 ca_cert=ca_cert))
    return result
