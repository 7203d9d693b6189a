"""A real node for a lab cluster: Fleet(..., nodes=True) (python -m tests.lab up --nodes).

The lab's network
    A bridge of the lab's own on the host, ``mclab<N>`` with ``10.213.<N>.1/24`` (the first N free on
    this machine). A lab with nodes has all its API servers listen on that address instead of
    127.0.0.1 (it is in their serving certificates), and its kubeconfigs, inventory and Cluster
    endpoints name it: loopback is not the host from a pod's network namespace, this address is.

A node
    A network namespace of its own (``mclab<N>-<k>``), joined to the bridge by a veth pair
    (``eth0``, ``10.213.<N>.<10+k>``, default route through the host), in which run

    - containerd (Debian's) with a private root, state and socket under the node's folder, runc,
      the ``native`` snapshotter, and the bridge CNI of Debian's containernetworking-plugins
      (bridge ``cni0`` with masquerading, host-local addresses from 10.244.0.0/24, loopback);
    - kube-proxy (iptables mode: the node's own iptables, in its namespace), which routes the
      ``kubernetes`` Service's ClusterIP (10.0.0.1:443) to the API server's lab address: a pod's
      in-cluster configuration works as on any cluster;
    - kubelet, registered as ``<cluster>-node``, with client certificates of its cluster's CA.

    kube-scheduler runs for the cluster next to its API server. The pause image (a static binary,
    containers/pause/pause.go) and the images the lab is given (the agent's) are loaded into the
    node's containerd from OCI archives: no registry is involved. The lab's controller-manager runs
    no node-lifecycle controller, so the lab removes the ``not-ready`` taint once the node is Ready.

    containerd and kubelet share a mount namespace of the node's own (see containerd_argv), so the
    volumes they mount, and /var/log/pods, are the node's alone; ``in_node_mounts`` enters it.

Stopping a node ends every process it started: the pods' processes and their shims, kube-proxy,
kubelet and containerd; its mounts go with its mount namespace, then its network namespace is
deleted. Root only.
"""

import gzip
import hashlib
import io
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

LAB_NET = "10.213.%d.0/24"
BRIDGE = "mclab%d"
POD_SUBNET = "10.244.0.0/24"  # each node's own: behind its masquerading, in its namespace
SERVICE_IP = "10.0.0.1"  # the kubernetes Service (first address of --service-cluster-ip-range)
PAUSE_IMAGE = "localhost/coreos-multicluster/pause:1"
GO = "/usr/lib/go-1.19/bin/go"  # golang-1.19-go, the lab's Kubernetes build's Go
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAUSE_SOURCE = os.path.join(ROOT, "containers", "pause", "pause.go")
NODE_BINARIES = ("kubelet", "kube-scheduler", "kube-proxy")  # tests/lab/build-kubernetes.sh --node
NODE_PACKAGES = "containerd runc containernetworking-plugins iptables conntrack golang-1.19-go"


class NodeError(RuntimeError):
    """A node could not start or stop; the message names the node and the log to read."""


def _run(argv, what, timeout=60, check=True, netns=None):
    if netns:
        argv = ["nsenter", "--net=/run/netns/%s" % netns, "--"] + list(argv)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise NodeError("%s: %s did not finish in %ss" % (what, " ".join(argv[:4]), timeout))
    if check and proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip()[-1500:]
        raise NodeError("%s: %s: rc %s: %s" % (what, " ".join(argv[:6]), proc.returncode, output))
    return proc


def check_host():
    """Why this machine cannot run a lab node (a message), or None."""
    if os.geteuid() != 0:
        return "lab nodes need root (network namespaces, a bridge, containerd)"
    missing = [p for p in ("containerd", "ctr", "nsenter", "ip", "iptables") if not shutil.which(p)]
    missing += [p for p in ("/usr/sbin/runc", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local",
                            "/usr/lib/cni/loopback", GO) if not os.path.exists(p)]
    if missing:
        return "missing for a lab node: %s (apt-get install %s)" % (", ".join(missing), NODE_PACKAGES)
    return None


# --- the lab's network on the host ------------------------------------------------------------------

def create_net():
    """The lab's bridge and host address: {"bridge", "address", "subnet"}. The first free N is taken by
    creating its bridge (atomic: a lab started at the same time gets another one)."""
    used = _run(["ip", "-4", "-o", "addr", "show"], "lab network").stdout + \
        _run(["ip", "-4", "route", "show"], "lab network").stdout
    for n in range(256):
        subnet = ipaddress.ip_network(LAB_NET % n)
        if str(subnet.network_address)[:-1] in used:  # "10.213.<n>." already in an address or route
            continue
        bridge = BRIDGE % n
        if _run(["ip", "link", "add", bridge, "type", "bridge"], "lab network", check=False).returncode != 0:
            continue  # taken (another lab), or not allowed: the next one says which
        address = str(subnet.network_address + 1)
        net = {"bridge": bridge, "address": address, "subnet": str(subnet), "index": n}
        try:
            _run(["ip", "addr", "add", "%s/%d" % (address, subnet.prefixlen), "dev", bridge], "lab network")
            _run(["ip", "link", "set", bridge, "up"], "lab network")
        except NodeError:
            delete_net(net)
            raise
        return net
    raise NodeError("lab network: no free bridge %s with a free %s (N in 0..255)" % (BRIDGE % 0, LAB_NET % 0))


def delete_net(net):
    if net and _run(["ip", "link", "show", net["bridge"]], "lab network", check=False).returncode == 0:
        _run(["ip", "link", "del", net["bridge"]], "lab network")


# --- images ---------------------------------------------------------------------------------------------

def pause_archive(cache):
    """The pause image as an OCI archive (made once per source into *cache*): one static binary."""
    with open(PAUSE_SOURCE, "rb") as handle:
        source = handle.read()
    folder = os.path.join(cache, "pause", hashlib.sha256(source).hexdigest()[:16])
    archive = os.path.join(folder, "pause.oci.tar")
    if os.path.exists(archive):
        return archive
    os.makedirs(folder, exist_ok=True)
    binary = os.path.join(folder, "pause")
    env = dict(os.environ, CGO_ENABLED="0", GO111MODULE="off", GOCACHE=os.path.join(cache, "pause", "gocache"))
    proc = subprocess.run([GO, "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, PAUSE_SOURCE],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    if proc.returncode != 0:
        raise NodeError("pause image: go build %s: %s" % (PAUSE_SOURCE, proc.stderr.strip()[-1500:]))
    _write_oci_archive(archive + ".tmp", PAUSE_IMAGE, binary)
    os.replace(archive + ".tmp", archive)
    return archive


def _write_oci_archive(path, ref, binary):
    """An OCI image layout in a tar: one layer holding /pause, entrypoint /pause."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tar.gettarinfo(binary, arcname="pause")
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        info.mode = 0o755
        with open(binary, "rb") as handle:
            tar.addfile(info, handle)
    layer_tar = layer.getvalue()
    layer_gz = gzip.compress(layer_tar, mtime=0)
    blobs = {}

    def blob(data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(layer_gz, "application/vnd.oci.image.layer.v1.tar+gzip")],
    }, sort_keys=True).encode()
    descriptor = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    descriptor["annotations"] = {"io.containerd.image.name": ref,
                                 "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}
    index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + \
                [("blobs/sha256/" + d.split(":")[1], b) for d, b in blobs.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


def podman_archive(ref, folder):
    """*ref* from podman's store, written as an OCI archive into *folder* (podman save)."""
    runc = "/usr/sbin/runc"
    flags = os.environ["MC_PODMAN_FLAGS"].split() if "MC_PODMAN_FLAGS" in os.environ else \
        (["--runtime", runc, "--cgroup-manager=cgroupfs"] if os.path.exists(runc) else [])
    if not shutil.which("podman") or subprocess.run(["podman"] + flags + ["image", "exists", ref],
                                                    capture_output=True, timeout=60, check=False).returncode != 0:
        raise NodeError("image %s is not in podman's store: build it first (make image)" % ref)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, ref.rsplit("/", 1)[-1].replace(":", "_") + ".oci.tar")
    if os.path.exists(path):
        os.unlink(path)
    _run(["podman"] + flags + ["save", "--quiet", "--format", "oci-archive", "-o", path, ref],
         "image %s" % ref, timeout=300)
    return path


# --- the node --------------------------------------------------------------------------------------------

CONTAINERD_CONFIG = """\
version = 2
root = "{dir}/containerd/root"
state = "{dir}/containerd/state"
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # Needed on this kind of host: without them every sandbox fails with
  # "runc create failed: ... can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  disable_apparmor = true
  # the pods' network namespaces under the node's folder, not /var/run/netns
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{dir}/cni/net.d"
"""


def node_name(cluster):
    return "%s-node" % cluster


def plan_node(net, cluster, index, cluster_dir, log_dir):
    """The node's identity and files' places (kept in the lab's state): nothing is created yet."""
    subnet = ipaddress.ip_network(net["subnet"])
    folder = os.path.join(cluster_dir, "node")
    socket = os.path.join(folder, "containerd.sock")
    if len(socket) + len(".ttrpc") > 100:
        raise NodeError("node of %s: the socket path %s is too long for a unix socket; use a shorter lab "
                        "folder" % (cluster, socket))
    return {"name": node_name(cluster), "cluster": cluster, "dir": folder, "socket": socket, "logs": log_dir,
            "netns": "%s-%d" % (net["bridge"], index), "veth": "%sv%d" % (net["bridge"], index),
            "ip": str(subnet.network_address + 10 + index), "gateway": net["address"],
            "prefix": subnet.prefixlen}


def setup_network(node):
    """The node's network namespace, joined to the lab's bridge."""
    what = "node %s" % node["name"]
    _run(["ip", "netns", "add", node["netns"]], what)
    _run(["ip", "link", "add", node["veth"], "type", "veth", "peer", "name", "eth0", "netns", node["netns"]], what)
    _run(["ip", "link", "set", node["veth"], "master", node["veth"].rsplit("v", 1)[0], "up"], what)
    _run(["ip", "-n", node["netns"], "addr", "add", "%s/%d" % (node["ip"], node["prefix"]), "dev", "eth0"], what)
    _run(["ip", "-n", node["netns"], "link", "set", "eth0", "up"], what)
    _run(["ip", "-n", node["netns"], "link", "set", "lo", "up"], what)
    _run(["ip", "-n", node["netns"], "route", "add", "default", "via", node["gateway"]], what)
    _run(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"], what, netns=node["netns"])


def write_files(node, pki_paths, kubeconfig_for, ca_cert, server):
    """containerd's config, the CNI config, and the kubeconfigs of kubelet and kube-proxy."""
    folder = node["dir"]
    for sub in ("containerd", "cni/net.d", "cni/ipam", "kubelet", "var-log-pods", "var-log-containers"):
        os.makedirs(os.path.join(folder, sub), mode=0o700, exist_ok=True)
    for mount_point in ("/var/log/pods", "/var/log/containers"):  # where the node's own are bind-mounted
        os.makedirs(mount_point, mode=0o755, exist_ok=True)
    with open(os.path.join(folder, "containerd", "config.toml"), "w") as handle:
        handle.write(CONTAINERD_CONFIG.format(dir=folder, socket=node["socket"], pause=PAUSE_IMAGE))
    cni = {"cniVersion": "0.4.0", "name": "mclab", "plugins": [{
        "type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]], "routes": [{"dst": "0.0.0.0/0"}],
                 "dataDir": os.path.join(folder, "cni", "ipam")}}]}
    with open(os.path.join(folder, "cni", "net.d", "10-mclab.conflist"), "w") as handle:
        json.dump(cni, handle, indent=2)
    node["kubelet_kubeconfig"] = kubeconfig_for("kubelet", "system:node:%s" % node["name"], "system:nodes")
    node["proxy_kubeconfig"] = kubeconfig_for("kube-proxy", "system:kube-proxy", None)
    node["ca_cert"] = ca_cert
    node["server"] = server


def _in_netns(node):
    return ["nsenter", "--net=/run/netns/%s" % node["netns"], "--"]


def containerd_argv(node):
    """containerd in the node's network namespace and in a mount namespace of the node's own, which the
    kubelet joins: kubelet 1.20 keeps containers' logs in /var/log/pods and /var/log/containers (fixed
    paths), and removes there what its own runtime does not know, so each node gets its own (folders of
    the node bind-mounted there). The volumes and pod namespaces they mount stay in that namespace too,
    and go with it when the node's last process ends."""
    logs = [os.path.join(node["dir"], "var-log-pods"), os.path.join(node["dir"], "var-log-containers")]
    script = 'mount --bind "$1" /var/log/pods && mount --bind "$2" /var/log/containers && shift 2 && exec "$@"'
    return _in_netns(node) + ["unshare", "--mount", "--propagation", "slave", "--", "sh", "-c", script, "sh"] + \
        logs + ["containerd", "--config", os.path.join(node["dir"], "containerd", "config.toml"), "--log-level", "warn"]


def in_node_mounts(node, containerd_pid):
    """The prefix of a command run where the node's kubelet runs: its network and mount namespaces."""
    return _in_netns(node)[:-1] + ["--mount=/proc/%d/ns/mnt" % containerd_pid, "--"]


def kube_proxy_argv(node, binary):
    return _in_netns(node) + [
        binary, "--kubeconfig", node["proxy_kubeconfig"], "--hostname-override", node["name"],
        "--bind-address", node["ip"], "--proxy-mode", "iptables", "--cluster-cidr", POD_SUBNET,
        # leave the host's conntrack settings alone (they are not the namespace's own)
        "--conntrack-max-per-core", "0", "--conntrack-tcp-timeout-established", "0",
        "--conntrack-tcp-timeout-close-wait", "0", "--oom-score-adj", "0",
        "--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249"]


def kubelet_argv(node, binary, containerd_pid):
    root = os.path.join(node["dir"], "kubelet")
    return in_node_mounts(node, containerd_pid) + [
        binary, "--kubeconfig", node["kubelet_kubeconfig"], "--hostname-override", node["name"],
        "--node-ip", node["ip"], "--address", node["ip"],
        "--container-runtime=remote", "--container-runtime-endpoint=unix://%s" % node["socket"],
        "--image-service-endpoint=unix://%s" % node["socket"], "--runtime-request-timeout=2m",
        "--cgroup-driver=cgroupfs", "--cgroups-per-qos=false", "--enforce-node-allocatable=",
        "--fail-swap-on=false", "--eviction-hard=", "--image-gc-high-threshold=100",
        "--root-dir", root, "--cert-dir", os.path.join(root, "pki"),
        "--volume-plugin-dir", os.path.join(root, "volume-plugins"),
        "--port=10250", "--healthz-port=10248", "--healthz-bind-address=127.0.0.1", "--read-only-port=0",
        "--client-ca-file", node["ca_cert"], "--anonymous-auth=false", "--authorization-mode=AlwaysAllow",
        "--pod-infra-container-image", PAUSE_IMAGE,
        # Secret volumes follow their Secret within about this period (the default is a minute)
        "--sync-frequency=10s", "--max-pods=20", "--v=1"]


def wait_containerd(node, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NodeError("containerd of node %s exited with %s; see %s" % (
                node["name"], proc.returncode, os.path.join(node["logs"], "containerd.log")))
        if os.path.exists(node["socket"]) and _ctr(node, "version", check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise NodeError("containerd of node %s: no answer on %s after %ss; see %s" % (
        node["name"], node["socket"], timeout, os.path.join(node["logs"], "containerd.log")))


def _ctr(node, *args, check=True, timeout=60):
    return _run(["ctr", "--address", node["socket"], "--namespace", "k8s.io"] + list(args),
                "node %s" % node["name"], check=check, timeout=timeout)


def start_import(node, archives):
    """Start loading OCI archives into the node's containerd (unpacked for its snapshotter), one after the
    other, in the background: wait_import() waits for it. The kubelet needs no image to register."""
    log = os.path.join(node["logs"], "image-import.log")
    script = " && ".join("ctr --address '%s' --namespace k8s.io images import --snapshotter native '%s'"
                         % (node["socket"], archive) for archive in archives)
    with open(log, "ab") as handle:
        return subprocess.Popen(["sh", "-c", script or "true"], stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_import(node, proc, timeout):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise NodeError("node %s: images not loaded into containerd after %ss; see %s" % (
            node["name"], timeout, os.path.join(node["logs"], "image-import.log")))
    if proc.returncode != 0:
        raise NodeError("node %s: loading the images into containerd failed (rc %s); see %s" % (
            node["name"], proc.returncode, os.path.join(node["logs"], "image-import.log")))


def images(node):
    return sorted(line.split()[0] for line in _ctr(node, "images", "ls", "-q").stdout.splitlines() if line.strip())


# --- stop -------------------------------------------------------------------------------------------------

def _children():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                ppid = int(handle.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _descendants(pids):
    kids, found, todo = _children(), [], list(pids)
    while todo:
        pid = todo.pop()
        for kid in kids.get(pid, []):
            found.append(kid)
            todo.append(kid)
    return found


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(") ", 1)[-1][0] != "Z"
    except OSError:
        return False


def shims(node):
    """The containerd shims of this node (they outlive containerd): found by its socket in their command line."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            line = _cmdline(int(entry))
            if line.startswith(("containerd-shim", "/usr/bin/containerd-shim")) and \
                    (" %s " % node["socket"]) in (line + " "):
                found.append(int(entry))
    return found


def _kill_and_wait(pids, sig, timeout):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def stop_node(node, pids, timeout=20):
    """Stop the node: kubelet and kube-proxy, the pods (every process under the node's shims), containerd;
    then unmount what they mounted, delete the namespace, remove the pods' logs. Returns the pids ended;
    raises NodeError when one is left."""
    is_ours = [p for p in pids.get("kubelet", []) + pids.get("kube-proxy", []) if node["dir"] in _cmdline(p)]
    ended = list(is_ours)
    left = _kill_and_wait(is_ours, signal.SIGTERM, timeout)
    _kill_and_wait(left, signal.SIGKILL, 5)
    # the pods: containerd kills and deletes its tasks (the shims then exit and remove their sockets)
    containerd = [p for p in pids.get("containerd", []) if node["dir"] in _cmdline(p)]
    if containerd and os.path.exists(node["socket"]):
        tasks = _ctr(node, "tasks", "ls", "-q", check=False, timeout=20).stdout.split()
        for task in tasks:
            _ctr(node, "tasks", "kill", "--signal", "SIGKILL", task, check=False, timeout=20)
        for task in tasks:
            _ctr(node, "tasks", "delete", "--force", task, check=False, timeout=20)
    # whatever is left of them (containerd gone, or a task it could not delete)
    shim_pids = shims(node)
    pods = _descendants(shim_pids)
    ended += pods + shim_pids
    _kill_and_wait(pods, signal.SIGKILL, 5)
    _kill_and_wait(shim_pids, signal.SIGKILL, 5)
    ended += containerd
    left = _kill_and_wait(containerd, signal.SIGTERM, timeout)
    _kill_and_wait(left, signal.SIGKILL, 5)
    unmount_under(node["dir"])  # (the node's own mounts went with its mount namespace; any others)
    if _run(["ip", "netns", "list"], "node %s" % node["name"]).stdout.split().count(node["netns"]):
        _run(["ip", "netns", "del", node["netns"]], "node %s" % node["name"])
    still = [p for p in ended if _alive(p)]
    if still:
        raise NodeError("node %s: processes still running after stop: %s" % (node["name"], still))
    return ended


def unmount_under(folder):
    """Unmount every mount under *folder*, the deepest first (lazily: a mount still busy goes when freed)."""
    prefix = os.path.realpath(folder).rstrip("/") + "/"
    for dummy in range(3):
        with open("/proc/self/mountinfo") as handle:
            points = [line.split()[4].encode().decode("unicode_escape") for line in handle]
        ours = sorted((p for p in points if (p + "/").startswith(prefix)), key=len, reverse=True)
        if not ours:
            return
        for point in ours:
            subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=30, check=False)
    raise NodeError("mounts left under %s after unmounting: %s" % (folder, ours[:5]))
