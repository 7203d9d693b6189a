"""The directory-sync agent's image (make image: containers/directory-sync/build-image.sh), built with
podman on the Debian base it makes without a registry, then run as the agent against the lab.

The container runs as a pod would run it: host networking (the lab's API servers listen on loopback),
a read-only root file system with a /tmp of its own, no capabilities, the replica's kubeconfig and the
directory credential mounted read-only, the credential laid out as the kubelet lays out a Secret
volume (kubeconfig -> ..data/kubeconfig, ..data -> a timestamped folder) and updated as it updates one
(a new folder, then ..data swapped). Skipped, saying why, where podman cannot build or run images."""

import json
import os
import resource
import shutil
import subprocess
import time
import uuid

import pytest
import yaml

from tests.integration.test_directory_sync import (apply, cleanup_replica, cluster_manifest, connection, healthz,
                                                   issue_credential, names, token_of, unhealthy, wait_for)
from tests.lab.fleet import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "containers", "directory-sync", "build-image.sh")
DEBIAN_BASE = "localhost/coreos-multicluster/debian-python3:bookworm"
COLLECTION = "/usr/share/ansible/collections/ansible_collections/coreos/multicluster"
AGENT_FILES = ["agent", "plugins/module_utils", "galaxy.yml", "meta"]
USER = "65532"
PREFIX = "img-"


def podman_flags():
    """podman's global flags, as build-image.sh chooses them (MC_PODMAN_FLAGS, else runc with cgroupfs
    where runc is installed: Debian's crun fails on hosts with hybrid cgroups)."""
    if "MC_PODMAN_FLAGS" in os.environ:
        return os.environ["MC_PODMAN_FLAGS"].split()
    runc = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)
    return ["--runtime", runc, "--cgroup-manager=cgroupfs"] if runc else []


def ulimits():
    """Limits no higher than this process's own: podman's defaults (a million open files) are refused
    where the hard limits are lower."""
    flags = []
    for name, limit, wanted in (("nofile", resource.RLIMIT_NOFILE, 4096), ("nproc", resource.RLIMIT_NPROC, 4096)):
        hard = resource.getrlimit(limit)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        flags += ["--ulimit", "%s=%d:%d" % (name, value, value)]
    return flags


def podman(*args, timeout=60, check=True):
    proc = subprocess.run(["podman"] + podman_flags() + list(args), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "podman %s: rc %s: %s" % (" ".join(args[:2]), proc.returncode, proc.stderr[-2000:])
    return proc


def in_image(image, *command, user=None):
    """stdout of *command* run in a throw-away container of *image* (the entrypoint replaced)."""
    argv = ["run", "--rm", "--network", "none"] + ulimits()
    if user:
        argv += ["--user", user]
    argv += ["--entrypoint", command[0], image] + list(command[1:])
    return podman(*argv).stdout


def _cannot_build():
    """Why podman cannot build the image here (a skip reason), or None."""
    if not shutil.which("podman"):
        return "podman is not installed (Debian: apt-get install podman runc uidmap mmdebstrap; make deps does)"
    info = podman("info", check=False)
    if info.returncode != 0:
        lines = info.stderr.strip().splitlines() or ["rc %d" % info.returncode]
        return "podman does not work here (no user namespaces?): %s" % lines[-1]
    if podman("image", "exists", DEBIAN_BASE, check=False).returncode != 0:
        if not shutil.which("mmdebstrap"):
            return "mmdebstrap is not installed: the Debian base cannot be made (apt-get install mmdebstrap)"
        if os.geteuid() != 0:
            probe = subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True, timeout=30,
                                   check=False)
            if probe.returncode != 0:
                return "no user namespaces: mmdebstrap cannot make the Debian base without root"
    return None


@pytest.fixture(scope="module")
def image():
    """The image reference make image prints (the Debian base is reused when present)."""
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    proc = subprocess.run([BUILD], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, "build-image.sh: rc %s: %s" % (proc.returncode, proc.stderr[-3000:])
    ref = proc.stdout.strip().splitlines()[-1]
    print("built %s in %.0f s" % (ref, time.monotonic() - started))
    return ref


def test_the_image_holds_the_agent_and_its_dependencies_and_no_build_tools(image):
    version = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"]
    assert image == "localhost/coreos-multicluster/directory-sync:%s" % version
    config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "%s:%s" % (USER, USER)
    assert in_image(image, "id", "-u").strip() == USER
    assert in_image(image, "id", "-g").strip() == USER

    # exactly the collection's agent code: the files git knows under agent/, plugins/module_utils/, meta/
    expected = subprocess.run(["git", "ls-files", "--cached", "--"] + AGENT_FILES,
                              cwd=ROOT, capture_output=True, text=True, check=True, timeout=30).stdout.split()
    expected = sorted(f for f in expected if os.path.exists(os.path.join(ROOT, f)))
    found = in_image(image, "find", COLLECTION, "-type", "f", "-printf", "%P\\n").split()
    assert sorted(found) == expected

    # the dependencies of agent/requirements.txt, each at a version it allows
    with open(os.path.join(ROOT, "agent", "requirements.txt")) as handle:
        wanted = [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    check = ("import sys\nfrom importlib.metadata import version\nfrom packaging.requirements import Requirement\n"
             "bad = [r for r in sys.argv[1:] if not Requirement(r).specifier.contains(version(Requirement(r).name))]\n"
             "print(bad)\n")
    assert in_image(image, "python3", "-c", check, *wanted).strip() == "[]"

    # no compiler, no pip, no pip cache (pip ran in the build's first stage only)
    tools = in_image(image, "sh", "-c", "for t in gcc cc c++ g++ make pip pip3; do command -v $t; done; "
                     "python3 -c 'import pip' 2>/dev/null && echo pip-module; ls -d /root/.cache 2>/dev/null; true",
                     user="0")
    assert tools.split() == []


def _kubelet_secret(folder, kubeconfig, generation):
    """The credential as the kubelet's Secret volume holds it: kubeconfig -> ..data/kubeconfig and
    ..data -> ..<generation>; a new generation is written to a folder of its own, then ..data is
    swapped (an atomic rename) and the old folder removed, never a file rewritten. Readable by the pod's group (defaultMode
    0440, fsGroup 65532) where the test runs as root; else by all (in a folder private to the test)."""
    data = folder / ("..%s" % generation)
    data.mkdir(mode=0o755)
    path = data / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    if os.geteuid() == 0:
        os.chown(str(path), 0, int(USER))
        os.chmod(str(path), 0o440)
    else:
        os.chmod(str(path), 0o644)
    previous = os.readlink(str(folder / "..data")) if (folder / "..data").is_symlink() else None
    link = folder / "..data_tmp"
    os.symlink(data.name, str(link))
    os.replace(str(link), str(folder / "..data"))
    if not (folder / "kubeconfig").is_symlink():
        os.symlink("..data/kubeconfig", str(folder / "kubeconfig"))
    if previous:
        shutil.rmtree(str(folder / previous))


@pytest.fixture
def replica_with_credential(registry, run_module):
    directory, replica = registry[0], registry[2]
    kubeconfig = issue_credential(run_module, directory, replica.name)
    yield directory, replica, kubeconfig
    directory.kubectl("delete", "clusters.multicluster.coreos.com", "--ignore-not-found", PREFIX + "added",
                      check=False)
    run_module("mc_replica_credentials", dict(connection(directory), name=replica.name, state="absent"))
    cleanup_replica(replica)


def test_the_image_runs_the_agent_against_the_lab(image, replica_with_credential, tmp_path):
    directory, replica, kubeconfig = replica_with_credential
    token = token_of(kubeconfig)
    # the replica's kubeconfig with its certificates inline (one file to mount)
    flat = replica.kubectl("config", "view", "--raw", "--minify", "--flatten").stdout
    replica_kubeconfig = tmp_path / "replica.kubeconfig"
    replica_kubeconfig.write_text(flat)
    os.chmod(str(replica_kubeconfig), 0o644)  # for user 65532; the folder is private to the test
    secret = tmp_path / "directory-sync"
    secret.mkdir(mode=0o755)
    _kubelet_secret(secret, kubeconfig, 1)

    port = free_port()
    name = "mc-test-directory-sync-%s" % uuid.uuid4().hex[:8]
    podman("run", "--detach", "--name", name, "--network", "host", *ulimits(),
           "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
           "--volume", "%s:/etc/replica/kubeconfig:ro" % replica_kubeconfig,
           "--volume", "%s:/etc/directory-sync:ro" % secret,
           image, "--kubeconfig", "/etc/replica/kubeconfig", "--context", replica.context,
           "--directory-kubeconfig", "/etc/directory-sync/kubeconfig",
           "--health-address", "127.0.0.1", "--health-port", str(port),
           "--resync-period", "300", "--reload-interval", "0.5", "--backoff-max", "2")
    try:
        wait_for(lambda: healthz(port)[0] == 200, 60, "/healthz 200 from the container after the first sync")
        assert names(replica) == names(directory)
        assert podman("exec", name, "id", "-u").stdout.strip() == USER

        # changes arrive through the watch, from inside the container
        apply(directory, cluster_manifest(PREFIX + "added", {"stage": "canary"}))
        wait_for(lambda: PREFIX + "added" in names(replica), 15, "a new directory Cluster on the replica")

        # the Secret updated as the kubelet updates it: a refused token, then the good one back
        bad = yaml.safe_load(yaml.safe_dump(kubeconfig))
        bad["users"][0]["user"]["token"] = "not-a-valid-token"
        _kubelet_secret(secret, bad, 2)
        code, body = wait_for(lambda: unhealthy(port), 20, "/healthz 503 after the ..data swap")
        assert "HTTP 401 Unauthorized" in body["message"]
        _kubelet_secret(secret, kubeconfig, 3)
        wait_for(lambda: healthz(port)[0] == 200, 20, "/healthz 200 after the next ..data swap")

        # SIGTERM, as the kubelet stops a pod: a clean exit
        podman("stop", "--time", "10", name, timeout=30)
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        assert state["ExitCode"] == 0, state
        logs = podman("logs", name)
    finally:
        podman("rm", "--force", "--time", "0", name, check=False, timeout=30)
    entries = [json.loads(line) for line in logs.stderr.splitlines() + logs.stdout.splitlines()]
    messages = [e["msg"] for e in entries]
    assert messages[0] == "started" and messages[-1] == "stopped"
    assert "directory credential changed: reloading" in messages
    leaked = token in logs.stdout or token in logs.stderr  # a boolean: a failing assert must not print it
    assert not leaked, "the token shows in the container's log"
