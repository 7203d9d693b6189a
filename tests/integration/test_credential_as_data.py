"""A kubeconfig that comes from a cluster is data (issue 18), on a lab fleet of its own onboarded with site.yml.

The admin of one replica (east) rewrites its Secret tectonic-system/directory-sync so that the kubeconfig
would make whoever loads it run a command (exec plugin), send a request to an address of the admin's choice
(auth-provider oidc refreshing an expired token) or read a file (tokenFile) - on the Ansible controller, or
in the agent's pod. Each variant carries a probe that tells whether the attack reached this machine: a marker
file the command touches, a loopback HTTP server the refresh would call, a named pipe the loader would open.
Then sync_replicas.yml, fleet_status.yml, the agent as a process and onboard_replica.yml run as usual: the
probe never fires, east fails (or, onboarding, gets a fresh credential) with a message naming the Secret, the
cluster and the refused key, central is unaffected, and after the Secret is put back the next run converges."""

import base64
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

from tests.integration.conftest import SecretText
from tests.integration.test_directory_sync import AGENT_MODULE, healthz, wait_for, write_atomically
from tests.lab.fleet import free_port

EAST, CENTRAL = "east-coast-production", "central-production"
WHERE = "the kubeconfig in Secret tectonic-system/directory-sync on cluster '%s' is refused: " % EAST


# --- the Secret on a replica ---------------------------------------------------------------------------------------

def secret_text(cluster):
    out = cluster.kubectl("-n", "tectonic-system", "get", "secret", "directory-sync", "-o", "jsonpath={.data.kubeconfig}")
    return SecretText(base64.b64decode(out.stdout).decode("utf-8"))


def put_secret(cluster, text):
    """Rewrite the Secret's kubeconfig as the replica's admin would (kubectl replace: only data changes)."""
    secret = json.loads(cluster.kubectl("-n", "tectonic-system", "get", "secret", "directory-sync", "-o", "json").stdout)
    secret["data"]["kubeconfig"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    done = cluster.kubectl("replace", "-f", "-", input_text=json.dumps(secret), check=False)
    assert done.returncode == 0, "kubectl replace failed"  # not its arguments: they hold a token


def token_of(text):
    return SecretText(yaml.safe_load(text)["users"][0]["user"]["token"])


# --- the attacks, each with its probe ------------------------------------------------------------------------------

class MarkerProbe(object):
    """exec: /bin/sh touches a marker file, then prints an ExecCredential with the real token, so that
    a loader that runs it goes on as if nothing happened."""

    what = "exec"

    def __init__(self, tmp_path, token):
        self.marker = tmp_path / "owned-marker"
        credential = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                                 "status": {"token": str(token)}})
        self.user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "/bin/sh",
                              "args": ["-c", "touch %s; printf '%%s' '%s'" % (self.marker, credential)]}}

    def reached(self):
        return self.marker.exists()

    def close(self):
        pass


class _Hits(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        self.server.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


class RequestProbe(object):
    """auth-provider: an oidc provider whose id-token has expired, so that a loader refreshes it by
    calling the issuer the replica's admin chose - here a loopback server that counts the calls."""

    what = "auth-provider"

    def __init__(self, tmp_path, token):
        self.server = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
        self.server.hits = []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        claims = base64.urlsafe_b64encode(json.dumps({"exp": 1000, "sub": "x"}).encode()).decode().rstrip("=")
        self.user = {"auth-provider": {"name": "oidc", "config": {
            "id-token": "eyJhbGciOiJSUzI1NiJ9.%s.c2ln" % claims, "refresh-token": "r", "client-id": "c",
            "client-secret": "s", "idp-issuer-url": "http://127.0.0.1:%d" % self.server.server_port}}}

    def reached(self):
        return bool(self.server.hits)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PipeProbe(object):
    """tokenFile: a named pipe on this machine that hands the real token to whoever opens it."""

    what = "tokenFile"

    def __init__(self, tmp_path, token):
        self.path = str(tmp_path / "token-pipe")
        os.mkfifo(self.path, 0o600)
        self.token = str(token)
        self.opened = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self.user = {"tokenFile": self.path}

    def _serve(self):
        while not self.stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
            except OSError:
                time.sleep(0.01)
                continue
            self.opened += 1
            os.set_blocking(fd, True)
            try:
                os.write(fd, self.token.encode("ascii"))
            except OSError:
                pass
            os.close(fd)

    def reached(self):
        return self.opened > 0

    def close(self):
        self.stop.set()


PROBES = [MarkerProbe, RequestProbe, PipeProbe]


def attack(good_text, probe):
    """The good kubeconfig with its user replaced by the probe's (the token gone from it)."""
    config = yaml.safe_load(good_text)
    config["users"][0]["user"] = probe.user
    return SecretText(yaml.safe_dump(config))


# --- the agent, as a process ---------------------------------------------------------------------------------------

def refusing(port):
    """(503, body) when the agent's /healthz says the credential is refused, else None."""
    code, body = healthz(port)
    return (code, body) if code == 503 and " is refused: " in (body or {}).get("message", "") else None


class AgentProcess(object):
    """The directory-sync agent for *replica*, its credential in *path* (as the mounted Secret)."""

    def __init__(self, replica, path, collection_path, tmp_path):
        self.port = free_port()
        self.log_path = tmp_path / "agent.log"
        argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context", replica.context,
                "--directory-kubeconfig", str(path), "--health-address", "127.0.0.1", "--health-port", str(self.port),
                "--resync-period", "300", "--reload-interval", "0.5", "--backoff-max", "2"]
        with open(str(self.log_path), "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=str(tmp_path),
                                         env=dict(os.environ, PYTHONPATH=collection_path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log(self):
        return self.log_path.read_text()


# --- the fleet -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onboarded(site_fleet, run_playbook):
    site = run_playbook("site.yml", site_fleet["inventory"])
    assert site.rc == 0, site.failures()
    west, east, central = site_fleet["clusters"]
    return dict(site_fleet, west=west, east=east, central=central)


def failures_by_host(run):
    found = {}
    for host, dummy, msg in run.failures():
        found.setdefault(host, []).append(msg)
    return found


def assert_no_token(run, *tokens):
    leaked = any(str(token) in run.stdout or str(token) in run.stderr for token in tokens)
    assert not leaked, "a token shows in the playbook's output"


@pytest.mark.parametrize("probe_class", PROBES, ids=[probe.what for probe in PROBES])
def test_a_replica_secret_that_would_run_or_read_something_is_refused_everywhere(
        onboarded, run_playbook, collection_path, tmp_path, probe_class):
    east, central, inventory = onboarded["east"], onboarded["central"], onboarded["inventory"]
    good = secret_text(east)
    token = token_of(good)
    probe = probe_class(tmp_path, token)
    refused = WHERE + "users[0].user.%s is not allowed" % probe.what
    central_before = secret_text(central)
    restore = [good]  # what east's Secret is put back to, whatever happens
    try:
        put_secret(east, attack(good, probe))

        # sync_replicas.yml: east fails with the message, central syncs; nothing reaches this machine
        sync = run_playbook("sync_replicas.yml", inventory)
        assert not probe.reached(), "sync_replicas.yml: the %s attack reached the controller (rc %s, failed: %s)" % (
            probe.what, sync.rc, sync.failed_hosts() or "none")
        assert sync.failed_hosts() == [EAST], sync.failures()
        assert any(msg.startswith(refused) for msg in failures_by_host(sync)[EAST]), sync.failures()
        assert_no_token(sync, token)

        # fleet_status.yml: east's row says why, the others are fine; the run itself does not fail
        status = run_playbook("fleet_status.yml", inventory)
        assert not probe.reached(), "fleet_status.yml: the %s attack reached the controller" % probe.what
        assert status.rc == 0, status.failures()
        lines = [line for result in status.task_results("per cluster, what needs attention first").values()
                 for line in result["msg"]]
        assert any(line.startswith("%s: %s" % (EAST, refused)) for line in lines), lines
        rows = dict((line.split()[0], line) for line in lines[1:-1] if line.split() and ":" not in line.split()[0])
        assert "error" in rows[EAST] and rows[CENTRAL].rstrip().endswith("ok"), lines
        assert_no_token(status, token)

        # the agent, with the Secret as its mounted file: failing with the message, nothing run
        credential = tmp_path / "kubeconfig"
        write_atomically(credential, attack(good, probe))
        agent = AgentProcess(east, credential, collection_path, tmp_path)
        try:
            code, body = wait_for(lambda: refusing(agent.port), 30, "/healthz 503 with a refusal")
            assert "users[0].user.%s is not allowed" % probe.what in body["message"]
            assert "Secret tectonic-system/directory-sync on cluster '%s'" % EAST in body["message"]
            time.sleep(1)  # a retry after the backoff: still refused, still nothing run
            assert not probe.reached(), "the agent: the %s attack reached the agent's machine" % probe.what
            # the Secret put back: the agent reloads it and syncs
            write_atomically(credential, good)
            wait_for(lambda: healthz(agent.port)[0] == 200, 30, "/healthz 200 after the good credential")
        finally:
            agent.stop()
        log = agent.log()
        leaked = str(token) in log
        assert not leaked, "a token shows in the agent's log"
        assert "users[0].user.%s is not allowed" % probe.what in log

        # the Secret put back: the next sync converges for every replica
        put_secret(east, good)
        again = run_playbook("sync_replicas.yml", inventory)
        assert again.rc == 0 and again.failed_hosts() == [], again.failures()

        # onboarding over a refused Secret: never uses it, issues a fresh credential and stores it over it
        put_secret(east, attack(good, probe))
        onboard = run_playbook("onboard_replica.yml", inventory)
        assert not probe.reached(), "onboard_replica.yml: the %s attack reached the controller" % probe.what
        assert onboard.rc == 0, onboard.failures()
        assert onboard.changed()[CENTRAL] == 0 and onboard.changed()[EAST] > 0, onboard.changed()
        fresh = restore[0] = secret_text(east)
        fresh_config = yaml.safe_load(fresh)
        assert set(fresh_config["users"][0]["user"]) == {"token"} and token_of(fresh) != token
        assert secret_text(central) == central_before
        assert_no_token(onboard, token, token_of(fresh))
        settled = run_playbook("onboard_replica.yml", inventory)
        assert settled.rc == 0 and set(settled.changed().values()) == {0}, settled.changed()
        synced = run_playbook("sync_replicas.yml", inventory)
        assert synced.rc == 0 and synced.failed_hosts() == [], synced.failures()
    finally:
        probe.close()
        if secret_text(east) != restore[0]:
            put_secret(east, restore[0])
    assert not probe.reached()


class _CountingTLS(object):
    """A loopback port that counts the connections made to it (nothing is answered)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, dummy = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def test_a_replica_secret_naming_another_server_is_refused_before_any_request(onboarded, run_playbook):
    """The replica's admin rewrites the Secret in the accepted form (a token, an https server) but points it
    at a server of their choice: sync_replicas.yml checks it against the directory's address from the
    inventory and never connects there; central is unaffected; the Secret put back, the run converges."""
    east, inventory = onboarded["east"], onboarded["inventory"]
    good = secret_text(east)
    token = token_of(good)
    elsewhere = _CountingTLS()
    config = yaml.safe_load(good)
    directory_server = config["clusters"][0]["cluster"]["server"]
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % elsewhere.port
    try:
        put_secret(east, SecretText(yaml.safe_dump(config)))
        sync = run_playbook("sync_replicas.yml", inventory)
        assert elsewhere.accepted == 0, "sync_replicas.yml connected to the server the replica's admin chose"
        assert sync.failed_hosts() == [EAST], sync.failures()
        message = failures_by_host(sync)[EAST][0]
        assert ("the kubeconfig in Secret tectonic-system/directory-sync on cluster '%s' names the server "
                "'https://127.0.0.1:%d', not the directory's address %s" % (EAST, elsewhere.port, directory_server)
                in message), message
        assert_no_token(sync, token)
    finally:
        put_secret(east, good)
        elsewhere.close()
    again = run_playbook("sync_replicas.yml", inventory)
    assert again.rc == 0 and again.failed_hosts() == [], again.failures()
