"""AWX jobs the way AWX runs them: ansible-runner starts the execution environment (make ee:
containers/ee/build-ee.sh, on the Debian base made here) with podman, the job's private data directory mounted
at /runner, and runs ansible-playbook inside it against the lab (the container on the host's network).

Each job gets a private data directory of its own, laid out as AWX lays it out:

- ``project/``: the project (this repository's playbooks, as ``playbooks/<name>.yml``);
- ``inventory/hosts``: the inventory as AWX hands it over, a script that prints the inventory's JSON: the
  lab's hosts and variables without ``mc_kubeconfig`` (docs/awx.md, section 3: a path means nothing in the
  job's container);
- the credential of docs/awx.md's "Multicluster fleet kubeconfig" type, injected as AWX injects a custom
  credential: its file (one kubeconfig, a context per cluster, named as the hosts' ``mc_context``) written
  under ``env/`` with mode 0600, and the extra variable ``mc_kubeconfig`` naming it as the container sees it;
- ``env/extravars``: the survey's answers (strings, as AWX surveys give them) and the credential's variable;
- for an ad hoc job, AWX's "OpenShift or Kubernetes API Bearer Token" credential as AWX injects it:
  ``K8S_AUTH_HOST``, ``K8S_AUTH_VERIFY_SSL`` and ``K8S_AUTH_SSL_CA_CERT`` (a file under ``env/``) in
  ``env/envvars``, and ``K8S_AUTH_API_KEY``, the token, through podman's environment: ansible-runner copies
  ``env/envvars`` into ``artifacts/<id>/command`` and ``env.list`` on the host (an AWX execution node keeps
  those inside the job's container).

The jobs: site.yml, site.yml again (changed=0), sync_replicas.yml, fleet_status.yml, policy_status.yml,
onboard_replica.yml with a survey's "true" and a limit, then with "false", and the ad hoc job. Each job's status must be ``successful``; the events
carry the summary per cluster and the set_stats data; no token or key is in any file of any job's artifacts.
"""

import base64
import glob
import json
import os
import shutil
import stat
import subprocess
import time

import pytest
import yaml

from tests.integration.conftest import service_account_token
from tests.integration.test_image import podman_flags, ulimits

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_EE = os.path.join(ROOT, "containers", "ee", "build-ee.sh")
RUNNER = os.path.join(ROOT, ".venv", "bin", "ansible-runner")
DIRECTORY = "west-coast-production"
CLUSTERS = ["central-production", "east-coast-production", "west-coast-production"]
# The Site survey's answers, as AWX hands a survey over: multiple choice gives strings, integer gives numbers
SITE_SURVEY = {"registry_force": "false", "registry_wait_timeout": 60, "directory_setup_purge_labels": "false",
               "replica_onboarding_credential_type": "token_request", "replica_onboarding_rotate": "false",
               "replica_onboarding_token_ttl": 2592000, "replica_onboarding_renew_before": 604800}


@pytest.fixture(scope="module")
def ee_image():
    """The reference make ee prints (the Debian base is made once, then reused)."""
    started = time.monotonic()
    proc = subprocess.run([BUILD_EE, "--base", "debian"], capture_output=True, text=True, timeout=1500,
                          check=False)
    assert proc.returncode == 0, "build-ee.sh: rc %s: %s" % (proc.returncode, proc.stderr[-3000:])
    ref = proc.stdout.strip().splitlines()[-1]
    print("built %s in %.0f s: %s" % (ref, time.monotonic() - started, proc.stderr.strip().splitlines()[-1]))
    return ref


class Job:
    """One finished ansible-runner job: its status, rc and events, and its artifacts folder."""

    def __init__(self, pdd, ident, proc):
        self.pdd, self.ident, self.proc = pdd, ident, proc
        self.artifacts = os.path.join(pdd, "artifacts", ident)
        self.status = _read(os.path.join(self.artifacts, "status"))
        self.rc = _read(os.path.join(self.artifacts, "rc"))
        self.events = []
        for path in glob.glob(os.path.join(self.artifacts, "job_events", "*.json")):
            with open(path) as handle:
                self.events.append(json.load(handle))
        self.events.sort(key=lambda event: event.get("counter", 0))

    def stats(self):
        """The playbook_on_stats event's data (changed, failures, ..., artifact_data: set_stats)."""
        found = [e["event_data"] for e in self.events if e["event"] == "playbook_on_stats"]
        assert len(found) == 1, "%s: %d playbook_on_stats events" % (self.ident, len(found))
        return found[0]

    def results(self, task):
        """{host: result} of the task named *task*, from its runner_on_ok events."""
        return dict((e["event_data"]["host"], e["event_data"]["res"]) for e in self.events
                    if e["event"] == "runner_on_ok" and e["event_data"].get("task") == task)

    def explain(self):
        return "job %s: status %s, rc %s; stdout ends: %s; stderr: %s" % (
            self.ident, self.status, self.rc, _read(os.path.join(self.artifacts, "stdout"))[-3000:],
            self.proc.stderr[-1500:])


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _private(path, text):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)


def _fleet_kubeconfig(clusters):
    """One kubeconfig with every lab cluster's context (the lab's kubeconfigs embed their certificates)."""
    merged = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for cluster in clusters:
        with open(cluster.kubeconfig) as handle:
            data = yaml.safe_load(handle)
        for key in ("clusters", "users", "contexts"):
            merged[key] += data[key]
    return merged


def _secrets_of(kubeconfig):
    """The credential strings of a kubeconfig: each as it is and, for base64 data, decoded."""
    found = []
    for user in kubeconfig["users"]:
        for key in ("client-key-data", "client-certificate-data", "token"):
            value = user["user"].get(key)
            if value:
                found.append(value)
                if key.endswith("-data"):
                    pem = base64.b64decode(value).decode()
                    found += [line for line in pem.splitlines() if len(line) > 40][:2]
    return found


class AWX:
    """Jobs over the lab fleet, each with a private data directory of its own, as AWX makes them."""

    def __init__(self, fleet, image, root):
        self.image, self.root, self.jobs = image, root, 0
        self.clusters = fleet["clusters"]
        self.kubeconfig = _fleet_kubeconfig(self.clusters)
        with open(fleet["inventory"]) as handle:
            inventory = yaml.safe_load(handle)
        self.hostvars, self.groups = {}, {}
        for group, data in inventory["all"]["children"].items():
            self.groups[group] = {"hosts": sorted(data["hosts"])}
            for host, hostvars in data["hosts"].items():
                hostvars = dict(inventory["all"].get("vars", {}), **hostvars)
                hostvars.pop("mc_kubeconfig")  # the credential gives it
                self.hostvars[host] = hostvars
        self.secrets = _secrets_of(self.kubeconfig)
        # podman with this host's global flags, first on ansible-runner's PATH: ansible-runner knows podman
        # by the name of its executable
        self.bin = os.path.join(root, "bin")
        os.makedirs(self.bin)
        wrapper = os.path.join(self.bin, "podman")
        _private(wrapper, "#!/bin/sh\nexec %s %s \"$@\"\n" % (shutil.which("podman"), " ".join(podman_flags())))
        os.chmod(wrapper, stat.S_IRWXU)

    def _pdd(self, name):
        self.jobs += 1
        pdd = os.path.join(self.root, "job-%d-%s" % (self.jobs, name))
        os.makedirs(os.path.join(pdd, "env"), mode=0o700)
        shutil.copytree(os.path.join(ROOT, "playbooks"), os.path.join(pdd, "project", "playbooks"))
        return pdd, "%d" % self.jobs

    def _inventory(self, pdd, hostvars=None):
        """inventory/hosts as AWX writes it: a script that prints the inventory's JSON (*hostvars*: ungrouped
        hosts instead of the fleet)."""
        if hostvars:
            data = {"all": {"hosts": sorted(hostvars)}, "_meta": {"hostvars": hostvars}}
        else:
            data = {"all": {"children": sorted(self.groups)}, "_meta": {"hostvars": self.hostvars}}
            data.update(self.groups)
        os.makedirs(os.path.join(pdd, "inventory"))
        path = os.path.join(pdd, "inventory", "hosts")
        _private(path, "#!/usr/bin/env python3\nimport sys\nsys.stdout.write(%r)\n" % json.dumps(data))
        os.chmod(path, stat.S_IRWXU)

    def _credential_file(self, pdd, text):
        """A credential's file as AWX writes it into the job's env/ folder; its path in the container."""
        name = "tmp%s" % os.urandom(4).hex()
        _private(os.path.join(pdd, "env", name), text)
        return "/runner/env/" + name

    def _runner(self, pdd, ident, argv, env=None, options=()):
        cmd = [RUNNER, "run", pdd, "--ident", ident] + argv + [
            "--process-isolation", "--process-isolation-executable", "podman", "--container-image", self.image,
            "--container-option=--network=host",  # the lab's API servers listen on the host
            "--container-option=--user=0",  # the job's files are this test's (root's), mode 0600
        ] + ["--container-option=%s" % flag for flag in ulimits()] + list(options)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False,
                              env=dict(os.environ, PATH=self.bin + os.pathsep + os.environ["PATH"], **(env or {})))
        return Job(pdd, ident, proc)

    def run(self, playbook, survey=None, limit=None):
        """A job of *playbook* with the fleet kubeconfig credential and the survey's answers."""
        pdd, ident = self._pdd(playbook)
        self._inventory(pdd)
        extravars = dict(survey or {})
        extravars["mc_kubeconfig"] = self._credential_file(pdd, yaml.safe_dump(self.kubeconfig))
        _private(os.path.join(pdd, "env", "extravars"), json.dumps(extravars))
        argv = ["-p", "playbooks/" + playbook] + (["--limit", limit] if limit else [])
        return self._runner(pdd, ident, argv)

    def bearer_token_job(self, server, token, ca_pem):
        """An ad hoc job (docs/awx.md, "OpenShift or Kubernetes API Bearer Token"): coreos.multicluster.mc_cluster_info
        on localhost with nothing but what that credential injects: K8S_AUTH_HOST, K8S_AUTH_API_KEY,
        K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT (the CA data in a file of env/)."""
        pdd, ident = self._pdd("bearer-token")
        self._inventory(pdd, hostvars={"localhost": {"ansible_connection": "local",
                                                     "ansible_python_interpreter": "{{ ansible_playbook_python }}"}})
        envvars = {"K8S_AUTH_HOST": server, "K8S_AUTH_VERIFY_SSL": "True",
                   "K8S_AUTH_SSL_CA_CERT": self._credential_file(pdd, ca_pem)}
        _private(os.path.join(pdd, "env", "envvars"), json.dumps(envvars))
        # the token into the container from podman's own environment (--env NAME): ansible-runner copies
        # env/envvars into artifacts/<id>/command and env.list
        return self._runner(pdd, ident, ["-m", "coreos.multicluster.mc_cluster_info", "--hosts", "localhost"],
                            env={"K8S_AUTH_API_KEY": token}, options=["--container-option=--env=K8S_AUTH_API_KEY"])


@pytest.fixture(scope="module")
def awx(site_fleet, ee_image, tmp_path_factory):
    return AWX(site_fleet, ee_image, str(tmp_path_factory.mktemp("awx")))


def _scan(root, secrets):
    """[(file, what)] for each secret found in a file under *root*."""
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                data = handle.read()
            for index, secret in enumerate(secrets):
                if secret.encode() in data:
                    found.append((os.path.relpath(path, root), "secret %d" % index))
    return found


def _replica_tokens(clusters):
    """The replicas' credentials on the directory (their sync Secrets' kubeconfig tokens)."""
    tokens = []
    for cluster in clusters:
        if cluster.name == DIRECTORY:
            continue
        proc = cluster.kubectl("get", "secret", "-n", "tectonic-system", "directory-sync",
                               "-o", "jsonpath={.data.kubeconfig}", check=False)
        if proc.returncode == 0 and proc.stdout:
            data = yaml.safe_load(base64.b64decode(proc.stdout))
            tokens += [u["user"]["token"] for u in data["users"] if u["user"].get("token")]
    return tokens


def test_site_sync_and_status_jobs_run_in_the_ee_as_awx_runs_them(awx):
    site = awx.run("site.yml", survey=SITE_SURVEY)
    assert site.status == "successful", site.explain()
    assert site.rc == "0"
    # the Site job's last task, per cluster, in its events (AWX's job output)
    summary = site.results("Summary | per cluster, what changed, what was already in place, what failed and why")
    assert summary, site.explain()
    text = json.dumps(summary)
    for name in CLUSTERS:
        assert name in text, "%s missing from the summary: %s" % (name, text[:2000])
    assert sum(site.stats()["changed"].values()) > 0

    again = awx.run("site.yml", survey=SITE_SURVEY)
    assert again.status == "successful", again.explain()
    assert sum(again.stats()["changed"].values()) == 0, again.stats()["changed"]

    sync = awx.run("sync_replicas.yml")
    assert sync.status == "successful", sync.explain()

    fleet = awx.run("fleet_status.yml")
    assert fleet.status == "successful", fleet.explain()
    rows = fleet.stats()["artifact_data"]["fleet_status"]
    assert sorted(row["name"] for row in rows) == CLUSTERS, rows

    policies = awx.run("policy_status.yml")
    assert policies.status == "successful", policies.explain()
    matrix = policies.stats()["artifact_data"]["policy_status"]
    assert [(row["cluster"], row["role"]) for row in matrix] == [
        ("central-production", "replica"), ("east-coast-production", "replica"), ("west-coast-production", "directory")]

    secrets = awx.secrets + _replica_tokens(awx.clusters)
    assert len(secrets) >= 6
    for job in (site, again, sync, fleet, policies):
        assert _scan(job.artifacts, secrets) == [], job.ident


def test_a_survey_true_and_a_limit_rotate_one_replicas_credential_only(awx):
    before = _replica_tokens(awx.clusters)
    job = awx.run("onboard_replica.yml", survey={"replica_onboarding_rotate": "true"}, limit="central-production")
    assert job.status == "successful", job.explain()
    hosts = set(e["event_data"]["host"] for e in job.events if e["event"] == "runner_on_ok")
    assert hosts == {"central-production"}, hosts
    assert job.stats()["changed"] == {"central-production": 1}, job.stats()["changed"]
    after = _replica_tokens(awx.clusters)
    assert len(set(before) - set(after)) == 1  # central's token replaced, east's kept
    # "false", the answer a survey gives for no, rotates nothing
    kept = awx.run("onboard_replica.yml", survey={"replica_onboarding_rotate": "false"})
    assert kept.status == "successful", kept.explain()
    assert sum(kept.stats()["changed"].values()) == 0 and _replica_tokens(awx.clusters) == after
    for run in (job, kept):
        assert _scan(run.artifacts, awx.secrets + before + after) == [], run.ident


def test_a_job_with_the_bearer_token_credential_lists_the_fleet(awx):
    directory = [c for c in awx.clusters if c.name == DIRECTORY][0]
    with open(directory.kubeconfig) as handle:
        ca = base64.b64decode(yaml.safe_load(handle)["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    token = service_account_token(directory, "awx-inventory", "tectonic-view-clusters")  # may only read Clusters
    try:
        job = awx.bearer_token_job(directory.server, token, ca)
        assert job.status == "successful", job.explain()
        result = job.results("coreos.multicluster.mc_cluster_info")["localhost"]
        assert [c["name"] for c in result["fleet"]] == CLUSTERS, result
        assert _scan(job.artifacts, [token]) == []
        # the credential's other variables come from env/envvars; the token is only named to podman
        command = json.loads(_read(os.path.join(job.artifacts, "command")))
        assert "--env=K8S_AUTH_API_KEY" in command["command"]
        assert sorted(name for name in command["env"] if name.startswith("K8S_AUTH_")) == [
            "K8S_AUTH_HOST", "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL"]
    finally:
        directory.kubectl("delete", "serviceaccount", "-n", "default", "awx-inventory", "--ignore-not-found",
                          check=False)
        directory.kubectl("delete", "clusterrolebinding", "awx-inventory", "--ignore-not-found", check=False)
