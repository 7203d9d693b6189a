"""Onboarding N replicas: the collection against kubectl and a kubernetes.core playbook.

python -m tests.bench onboard          (make bench BENCH=onboard)

Environment: BENCH_SIZES (default 2,8,20), BENCH_RUNS (default 3), BENCH_SITE_RUNS (default 2; 0 skips the
site.yml part), BENCH_TOOLS (default collection,kubectl,kcore).

One lab fleet of 1 + max(N) clusters (tests/lab, ``controller_managers``: only the directory runs a
kube-controller-manager, for its token controller; the replicas are etcd and kube-apiserver only), with the
registry installed on all of them (install_registry.yml) and the directory set up with no replica registered
(setup_directory.yml, directory_setup_replicas: []), untimed. For each N the first N replicas are used, with an
inventory of their own. Three ways to onboard them are timed, on the same clusters in the same run:

collection
    ansible-playbook playbooks/onboard_replica.yml with the built collection (build/, make tree);
kubectl
    tests/bench/onboard_kubectl.sh: the original guide's procedure scripted with kubectl, one background job
    per replica, then wait (Cluster object, ServiceAccount, ClusterRoleBinding, the token of the
    ServiceAccount's token Secret, a kubeconfig, Secret tectonic-system/directory-sync on the replica, a check
    that it lists Clusters on the directory), all with kubectl apply;
kcore
    tests/bench/kcore/onboard.yml: the same procedure as a naive kubernetes.core 6.2 playbook (k8s and
    k8s_info tasks, one play over the replicas), run by the ansible-playbook of a virtualenv of its own
    (~/.cache/coreos-multicluster/bench-kcore-venv, made on first use with PyPI's ansible package, whose
    bundled kubernetes.core is 6.2.x, and the kubernetes client); it is never a dependency of the collection.

Both Ansible tools run with ANSIBLE_FORKS = N (every replica in parallel, as the script does). For each run
and each tool, in an order rotated from run to run: a reset (untimed, python kubernetes client: the replicas'
Cluster objects, every ServiceAccount but 'default' and every Secret but its token in tectonic-multi-cluster,
every ClusterRoleBinding to tectonic-view-clusters, and Secret tectonic-system/directory-sync and the
credential-hash annotation of the agent's Deployment on every replica, deleted; then checked gone), a cold
run, a check that every replica is onboarded (its Cluster object, and the kubeconfig of its sync Secret lists
it on the directory), and a converged re-run. Each run is measured for wall seconds, CPU seconds (user + system
of the child and its descendants, os.wait4: not this process's own), Ansible's changed count, and the write
requests the API servers' audit logs show from the admin user the tools use, on the directory and every
replica.

site.yml on a fresh fleet (N = max(BENCH_SIZES) replicas): ansible-playbook playbooks/site.yml against
tests/bench/site_kubectl.sh (the registry's manifest, rendered per cluster the way the registry role renders
it, applied with kubectl apply on every cluster in parallel, the directory's own Cluster, then
onboard_kubectl.sh) and tests/bench/kcore/site.yml (the same with kubernetes.core). "Fresh" is a new lab fleet
for every site run, started (untimed) after the previous one is stopped: lightweight replicas have no
namespace controller, so a deleted Namespace would stay Terminating and its objects in etcd; a new fleet
leaves nothing stale. After the cold run every cluster is checked (the registry's CRDs Established, its
tectonic-config naming it) and every replica onboarded; after a kubectl run, install_registry.yml --check
must find nothing to change (the script installed what the collection would). A converged re-run follows on
the same fleet. The Ansible tools run with ANSIBLE_FORKS = N + 1 there (the registry play runs over every
cluster). BENCH_SITE_RUNS runs each (default 2), the tools alternating.

Printed: every run as it ends, then one table (medians over the runs; the ratios of the collection to kubectl
and to kubernetes.core; CPU seconds per replica; write requests per replica), its Markdown form, and the cost
per added replica (least squares of the median wall and CPU seconds against N). Everything, raw runs
included, goes to bench-results/onboard.json. A failed run, or a state that is not onboarded after a cold
run, raises BenchError; nothing is asserted about time. Tokens and kubeconfigs only ever go to 0600 files in
private folders, and are never printed.
"""

import base64
import collections
import concurrent.futures
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from tests.lab import Fleet, LabError, default_bin_dir
from tests.lab.fleet import ADMIN_USER, AGENT_IMAGE

from . import BUILD, ROOT, BenchError, ansible_playbook, collections_path, run_measured, write_private

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(ROOT, "bench-results", "onboard.json")

GROUP, VERSION = "multicluster.coreos.com", "v1"
CREDENTIAL_NAMESPACE = "tectonic-multi-cluster"
CLUSTER_ROLE = "tectonic-view-clusters"
SYNC_NAMESPACE = "tectonic-system"
SYNC_SECRET = "directory-sync"
SYNC_DEPLOYMENT = "directory-sync"
HASH_ANNOTATION = "multicluster.coreos.com/credential-hash"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
CONFIG_MAP = "tectonic-config"

TOOLS = ("collection", "kubectl", "kcore")
TOOL_TITLES = {"collection": "collection", "kubectl": "kubectl, parallel", "kcore": "kubernetes.core 6.2"}

# kubernetes.core for the comparison: PyPI's ansible package whose bundled kubernetes.core is 6.2.x.
KCORE_ANSIBLE = "ansible==12.3.0"
KCORE_SERIES = "6.2."
KCORE_VENV = os.path.join(os.environ.get("MC_LAB_CACHE", os.path.expanduser("~/.cache/coreos-multicluster")),
                          "bench-kcore-venv")

DIRECTORY = "bench-directory"


def _replica_names(count):
    return ["bench-replica-%02d" % i for i in range(1, count + 1)]


def _env_list(name, default):
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def _settings():
    try:
        sizes = sorted({int(x) for x in _env_list("BENCH_SIZES", "2,8,20")})
        runs = int(os.environ.get("BENCH_RUNS", "3"))
        site_runs = int(os.environ.get("BENCH_SITE_RUNS", "2"))
    except ValueError as exc:
        raise BenchError("BENCH_SIZES, BENCH_RUNS and BENCH_SITE_RUNS take integers: %s" % exc) from None
    tools = _env_list("BENCH_TOOLS", ",".join(TOOLS))
    if not sizes or min(sizes) < 1 or runs < 1 or site_runs < 0:
        raise BenchError("BENCH_SIZES needs sizes >= 1, BENCH_RUNS >= 1, BENCH_SITE_RUNS >= 0")
    unknown = set(tools) - set(TOOLS)
    if unknown or "collection" not in tools:
        raise BenchError("BENCH_TOOLS: %s; the tools are %s (collection always among them)" % (
            ", ".join(sorted(unknown)) or "no collection", ", ".join(TOOLS)))
    return sizes, runs, site_runs, [t for t in TOOLS if t in tools]


def main():
    sizes, runs, site_runs, tools = _settings()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    collections_path()  # make -s tree, once
    versions = _versions("kcore" in tools)
    workdir = tempfile.mkdtemp(prefix="mc-bench-onboard-")
    os.chmod(workdir, 0o700)
    bench = Bench(workdir, tools, versions)
    ok = False
    try:
        print("bench onboard: N = %s, %d run(s) each, tools %s; ANSIBLE_FORKS = N for both Ansible tools "
              "(N + 1 for site.yml); %d CPUs; work folder %s" % (
                  ",".join(map(str, sizes)), runs, ", ".join(tools), os.cpu_count(), workdir), flush=True)
        print("  versions: %s" % ", ".join("%s %s" % item for item in sorted(versions.items())), flush=True)
        bench.onboarding(sizes, runs)
        if site_runs:
            bench.site(max(sizes), site_runs)
        summary = summarise(bench.records, sizes, tools)
        table = render_table(summary, sizes, tools)
        print()
        print("bench onboard: medians over %d run(s) (site.yml: %d); wall s, CPU s (children's user+sys)" % (
            runs, site_runs))
        print(table["text"])
        print()
        print(table["markdown"])
        for note in table["notes"]:
            print("  " + note)
        result = {
            "benchmark": "onboard", "started": started_at, "seconds": round(time.monotonic() - started, 1),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "versions": versions,
            "settings": {"sizes": sizes, "runs": runs, "site_runs": site_runs, "site_size": max(sizes),
                         "tools": tools, "forks": "N (onboarding), N + 1 (site.yml)",
                         "lab": "1 directory with kube-controller-manager + %d replicas of etcd and kube-apiserver "
                                "only (tests/lab Fleet controller_managers)" % max(sizes),
                         "writes": "audit-log write requests (create, update, patch, delete) by %s on the "
                                   "directory and every replica during the timed run" % ADMIN_USER,
                         "site_reset": "a fresh lab fleet for every site run"},
            "runs": bench.records, "medians": summary["medians"], "slopes": summary["slopes"],
            "table_markdown": table["markdown"], "notes": table["notes"],
        }
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
            handle.write("\n")
        print("bench onboard: results in %s (%.0f s in all)" % (RESULTS, time.monotonic() - started), flush=True)
        ok = True
        return 0
    except (LabError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BenchError(_describe(exc)) from None
    finally:
        try:
            bench.stop()
        finally:
            if ok:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                print("bench onboard: lab logs and run output kept in %s" % workdir, flush=True)


# --- the benchmark ------------------------------------------------------------------------

class Bench:
    """One lab fleet at a time, the tools' runs over it, and the records of the runs."""

    def __init__(self, workdir, tools, versions):
        self.workdir = workdir
        self.tools = tools
        self.versions = versions
        self.records = []
        self.fleet = None
        self.clusters = {}
        self._apis = {}
        self._fleets = 0

    # --- the fleet -------------------------------------------------------------------------
    def start_fleet(self, replicas):
        self.stop()
        self._fleets += 1
        root = os.path.join(self.workdir, "lab-%d" % self._fleets)
        names = [DIRECTORY] + _replica_names(replicas)
        self.fleet = Fleet(root, names, controller_managers=[DIRECTORY])
        start = time.monotonic()
        clusters = self.fleet.start(timeout=300)
        self.clusters = {c.name: c for c in clusters}
        self.full_inventory = self.fleet.write_inventory()
        with open(self.full_inventory) as handle:
            self.inventory_data = yaml.safe_load(handle)
        print("  lab fleet of %d clusters (%d replicas without a controller-manager) up in %.0f s: %s" % (
            len(names), replicas, time.monotonic() - start, root), flush=True)
        return root

    def stop(self):
        for api in self._apis.values():
            api.close()
        self._apis = {}
        if self.fleet is not None:
            fleet, self.fleet = self.fleet, None
            fleet.stop()
            shutil.rmtree(fleet.root, ignore_errors=True)  # etcd data: a fleet is never reused

    @property
    def directory(self):
        return self.clusters[DIRECTORY]

    def replicas(self, n=None):
        names = sorted(name for name in self.clusters if name != DIRECTORY)
        return [self.clusters[name] for name in names[:n]]

    def api(self, cluster):
        if cluster.name not in self._apis:
            self._apis[cluster.name] = cluster.api_client()
        return self._apis[cluster.name]

    def inventory(self, n):
        """An inventory of the directory and the first *n* replicas (the roles' inventory contract)."""
        data = json.loads(json.dumps(self.inventory_data))
        replicas = data["all"]["children"]["replicas"]["hosts"]
        keep = [c.name for c in self.replicas(n)]
        data["all"]["children"]["replicas"]["hosts"] = {name: replicas[name] for name in keep}
        path = os.path.join(self.workdir, "inventory-%d.yml" % n)
        with open(path, "w") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
        return path

    def hostvars(self, name):
        for group in self.inventory_data["all"]["children"].values():
            if name in (group.get("hosts") or {}):
                return group["hosts"][name]
        raise KeyError(name)

    def replicas_file(self, n):
        """onboard_kubectl.sh's input: name, kubeconfig, context, API endpoint, console URL, labels (JSON)."""
        path = os.path.join(self.workdir, "replicas-%d.tsv" % n)
        with open(path, "w") as handle:
            for cluster in self.replicas(n):
                hv = self.hostvars(cluster.name)
                handle.write("\t".join([cluster.name, cluster.kubeconfig, cluster.context, hv["mc_api_endpoint"],
                                        hv["mc_console_url"], json.dumps(hv.get("mc_labels", {}),
                                                                         sort_keys=True)]) + "\n")
        return path

    # --- onboarding on one fleet -------------------------------------------------------------
    def onboarding(self, sizes, runs):
        self.start_fleet(max(sizes))
        forks = len(self.clusters)
        install = ansible_playbook("install_registry.yml", self.full_inventory, self.workdir, forks=forks)
        setup = ansible_playbook("setup_directory.yml", self.full_inventory, self.workdir, forks=forks,
                                 extra_vars={"directory_setup_replicas": []})
        print("  untimed: install_registry.yml %.1f s, setup_directory.yml %.1f s" % (install.seconds, setup.seconds),
              flush=True)
        listed = [item["metadata"]["name"] for item in self._list_clusters()]
        if listed != [DIRECTORY]:
            raise BenchError("after setup_directory.yml the directory holds Clusters %s, not only %s" % (
                listed, DIRECTORY))
        for index, n in enumerate(sizes):
            inventory, replicas_file = self.inventory(n), self.replicas_file(n)
            for run in range(runs):
                shift = (run + index) % len(self.tools)
                for tool in self.tools[shift:] + self.tools[:shift]:
                    self.reset()
                    for phase in ("cold", "converged"):
                        self.measure(tool, n, phase, run + 1, inventory, replicas_file)
        self.reset()
        self.stop()

    def measure(self, tool, n, phase, run, inventory, replicas_file, site=False):
        """One timed run of *tool* over the first *n* replicas; recorded, and returned."""
        marks = {name: cluster.audit_mark() for name, cluster in self.clusters.items()}
        forks = n + 1 if site else n
        changed = None
        if tool == "collection":
            pb = ansible_playbook("site.yml" if site else "onboard_replica.yml", inventory, self.workdir, forks=forks)
            seconds, cpu, changed, log = pb.seconds, pb.cpu_seconds, pb.changed(), pb.log_path
        elif tool == "kcore":
            pb = ansible_playbook(os.path.join(HERE, "kcore", "site.yml" if site else "onboard.yml"), inventory,
                                  self.workdir, forks=forks, ansible_bin_dir=os.path.join(KCORE_VENV, "bin"),
                                  extra_vars={"bench_manifests": self.manifest_dir} if site else None)
            seconds, cpu, changed, log = pb.seconds, pb.cpu_seconds, pb.changed(), pb.log_path
        else:
            directory = self.directory
            if site:
                hv = self.hostvars(DIRECTORY)
                argv = ["bash", os.path.join(HERE, "site_kubectl.sh"), self.clusters_file, directory.server,
                        json.dumps(hv.get("mc_labels", {}), sort_keys=True), hv["mc_console_url"], replicas_file]
            else:
                argv = ["bash", os.path.join(HERE, "onboard_kubectl.sh"), directory.kubeconfig, directory.context,
                        directory.server, replicas_file]
            proc = run_measured(argv, env=dict(os.environ, TMPDIR=self.workdir), timeout=900)
            log = write_private(os.path.join(self.workdir, "kubectl-%d-%s-%d.log" % (n, phase, run)),
                                proc.stdout + proc.stderr)
            if proc.returncode != 0:
                raise BenchError("%s (N=%d, %s, run %d) failed (rc=%d): %s" % (
                    os.path.basename(argv[1]), n, phase, run, proc.returncode, proc.stderr.strip()[-2000:]))
            seconds, cpu = proc.seconds, proc.cpu_seconds
        what = "%s%s N=%d %s run %d" % ("site " if site else "", tool, n, phase, run)
        if phase == "cold":
            self.check_onboarded(n, what)
            if site:
                self.check_registry(what)
        writes = collections.Counter()
        for name, cluster in self.clusters.items():
            for verb, resource, namespace, obj in cluster.writes_since(marks[name]):
                writes["%s %s %s" % ("directory" if name == DIRECTORY else "replica", verb, resource)] += 1
        total = sum(writes.values())
        record = {"tool": tool, "n": n, "phase": phase, "run": run, "site": site, "forks": forks if tool != "kubectl"
                  else None, "wall": round(seconds, 3), "cpu": round(cpu, 3), "changed": changed,
                  "writes": total, "writes_per_replica": round(total / n, 2), "write_kinds": dict(sorted(writes.items())),
                  "log": log}
        self.records.append(record)
        print("  %-38s %7.2f s wall %7.2f s CPU  changed %-4s writes %4d (%.1f per replica)" % (
            what, seconds, cpu, "-" if changed is None else changed, total, total / n), flush=True)
        return record

    # --- reset and checks ----------------------------------------------------------------------
    def _list_clusters(self):
        from kubernetes import client
        return client.CustomObjectsApi(self.api(self.directory)).list_cluster_custom_object(
            GROUP, VERSION, "clusters")["items"]

    def _leftovers(self):
        """What onboarding leaves, as (description, delete) pairs: empty once the fleet is reset."""
        from kubernetes import client
        custom = client.CustomObjectsApi(self.api(self.directory))
        core = client.CoreV1Api(self.api(self.directory))
        rbac = client.RbacAuthorizationV1Api(self.api(self.directory))
        found = []
        for item in self._list_clusters():
            name = item["metadata"]["name"]
            if name != DIRECTORY:
                found.append(("Cluster %s" % name,
                              lambda n=name: custom.delete_cluster_custom_object(GROUP, VERSION, "clusters", n)))
        for account in core.list_namespaced_service_account(CREDENTIAL_NAMESPACE).items:
            name = account.metadata.name
            if name != "default":
                found.append(("ServiceAccount %s/%s" % (CREDENTIAL_NAMESPACE, name),
                              lambda n=name: core.delete_namespaced_service_account(n, CREDENTIAL_NAMESPACE)))
        for binding in rbac.list_cluster_role_binding().items:
            if binding.role_ref.kind == "ClusterRole" and binding.role_ref.name == CLUSTER_ROLE:
                name = binding.metadata.name
                found.append(("ClusterRoleBinding %s" % name, lambda n=name: rbac.delete_cluster_role_binding(n)))
        for secret in core.list_namespaced_secret(CREDENTIAL_NAMESPACE).items:
            if (secret.metadata.annotations or {}).get(SA_NAME_ANNOTATION) != "default":
                name = secret.metadata.name
                found.append(("Secret %s/%s" % (CREDENTIAL_NAMESPACE, name),
                              lambda n=name: core.delete_namespaced_secret(n, CREDENTIAL_NAMESPACE)))
        for replica in self.replicas():
            rcore = client.CoreV1Api(self.api(replica))
            if _read(lambda c=rcore: c.read_namespaced_secret(SYNC_SECRET, SYNC_NAMESPACE)) is not None:
                found.append(("Secret %s/%s on %s" % (SYNC_NAMESPACE, SYNC_SECRET, replica.name),
                              lambda c=rcore: c.delete_namespaced_secret(SYNC_SECRET, SYNC_NAMESPACE)))
            apps = client.AppsV1Api(self.api(replica))
            deployment = _read(lambda a=apps: a.read_namespaced_deployment(SYNC_DEPLOYMENT, SYNC_NAMESPACE))
            annotations = deployment.spec.template.metadata.annotations if deployment is not None else None
            if HASH_ANNOTATION in (annotations or {}):
                path = "/spec/template/metadata/annotations/" + HASH_ANNOTATION.replace("~", "~0").replace("/", "~1")
                found.append(("annotation %s of Deployment %s/%s on %s" % (
                    HASH_ANNOTATION, SYNC_NAMESPACE, SYNC_DEPLOYMENT, replica.name),
                    lambda a=apps, p=path: a.patch_namespaced_deployment(
                        SYNC_DEPLOYMENT, SYNC_NAMESPACE, [{"op": "remove", "path": p}])))
        return found

    def reset(self, timeout=60):
        """Back to "registry installed, directory set up, nothing onboarded" (untimed), and checked."""
        from kubernetes.client.rest import ApiException
        deadline = time.monotonic() + timeout
        while True:
            left = self._leftovers()
            if not left:
                return
            if time.monotonic() > deadline:
                raise BenchError("reset: still there after %ss: %s" % (timeout, "; ".join(entry[0] for entry in left[:10])))
            # the ServiceAccounts first, so that the token controller makes no new token Secret for them
            left.sort(key=lambda item: not item[0].startswith("ServiceAccount"))
            for description, delete in left:
                try:
                    delete()
                except ApiException as exc:
                    if exc.status not in (404, 409, 422):
                        raise BenchError("reset: deleting %s: %s %s" % (description, exc.status, exc.reason)) from None
            time.sleep(0.2)

    def check_onboarded(self, n, when):
        """Each of the first *n* replicas: its Cluster object on the directory, and a sync Secret whose
        kubeconfig lists that Cluster on the directory."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            problems = [p for p in pool.map(self._onboarded_problem, self.replicas(n)) if p]
        if problems:
            raise BenchError("%s: not onboarded: %s" % (when, "; ".join(problems)))

    def _onboarded_problem(self, replica):
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
        custom = client.CustomObjectsApi(self.api(self.directory))
        if _read(lambda: custom.get_cluster_custom_object(GROUP, VERSION, "clusters", replica.name)) is None:
            return "no Cluster %s on the directory" % replica.name
        secret = _read(lambda: client.CoreV1Api(self.api(replica)).read_namespaced_secret(SYNC_SECRET, SYNC_NAMESPACE))
        if secret is None or not (secret.data or {}).get("kubeconfig"):
            return "no Secret %s/%s with a kubeconfig on %s" % (SYNC_NAMESPACE, SYNC_SECRET, replica.name)
        try:
            kubeconfig = yaml.safe_load(base64.b64decode(secret.data["kubeconfig"]))
            api = config.new_client_from_config_dict(kubeconfig)
        except Exception as exc:  # the content is never shown, only what is wrong with it
            return "the kubeconfig in %s's sync Secret does not load (%s)" % (replica.name, type(exc).__name__)
        try:
            listed = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, "clusters")["items"]
        except ApiException as exc:
            return "the credential of %s cannot list Clusters on the directory (%s %s)" % (
                replica.name, exc.status, exc.reason)
        finally:
            api.close()
        if replica.name not in [item["metadata"]["name"] for item in listed]:
            return "the credential of %s lists Clusters on the directory, not itself" % replica.name
        return None

    def check_registry(self, when):
        """The registry on every cluster: both CRDs Established, and tectonic-config naming the cluster."""
        from kubernetes import client
        problems = []
        for cluster in self.clusters.values():
            ext = client.ApiextensionsV1Api(self.api(cluster))
            for crd in ("clusters.multicluster.coreos.com", "clusterpolicies.multicluster.coreos.com"):
                got = _read(lambda e=ext, c=crd: e.read_custom_resource_definition(c))
                if got is None or not any(c.type == "Established" and c.status == "True"
                                          for c in (got.status.conditions or [])):
                    problems.append("CRD %s not Established on %s" % (crd, cluster.name))
            cm = _read(lambda c=cluster: client.CoreV1Api(self.api(c)).read_namespaced_config_map(
                CONFIG_MAP, SYNC_NAMESPACE))
            if cm is None or (cm.data or {}).get("clusterName") != cluster.name:
                problems.append("ConfigMap %s/%s on %s does not name it" % (SYNC_NAMESPACE, CONFIG_MAP, cluster.name))
        if problems:
            raise BenchError("%s: registry not installed: %s" % (when, "; ".join(problems[:10])))

    # --- site.yml on fresh fleets ----------------------------------------------------------------
    def site(self, n, runs):
        print("  site.yml: a fresh fleet of 1 + %d clusters for every run" % n, flush=True)
        for run in range(runs):
            shift = run % len(self.tools)
            for tool in self.tools[shift:] + self.tools[:shift]:
                self.start_fleet(n)
                self.manifest_dir = self.render_manifests()
                self.clusters_file = self.write_clusters_file()
                inventory, replicas_file = self.inventory(n), self.replicas_file(n)
                self.measure(tool, n, "cold", run + 1, inventory, replicas_file, site=True)
                if tool == "kubectl":
                    check = ansible_playbook("install_registry.yml", inventory, self.workdir, forks=n + 1,
                                             extra_args=["--check"])
                    if check.changed():
                        raise BenchError("after site_kubectl.sh, install_registry.yml --check would change %d "
                                         "things (output in %s): the script did not install what the collection "
                                         "does" % (check.changed(), check.log_path))
                self.measure(tool, n, "converged", run + 1, inventory, replicas_file, site=True)
                self.stop()

    def render_manifests(self):
        """The registry's objects for each cluster, as the registry role renders them (its files, its
        templates with its defaults, then module_utils.registry.install.plan_objects), one List file a cluster."""
        registry_install = _collection_registry()
        import jinja2
        role = os.path.join(BUILD, "ansible_collections", "coreos", "multicluster", "roles", "registry")
        with open(os.path.join(role, "defaults", "main.yml")) as handle:
            defaults = yaml.safe_load(handle)
        with open(os.path.join(role, "tasks", "main.yml")) as handle:
            tasks = yaml.safe_load(handle)
        labels = _find_var(tasks, "_registry_sync_labels")
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        env.filters.update({"to_json": lambda value: json.dumps(value, default=list), "bool": _to_bool,
                            "combine": lambda first, *more: dict(first, **{k: v for m in more for k, v in m.items()})})
        with open(os.path.join(role, "files", "registry.yml")) as handle:
            base = yaml.safe_load(handle)["items"]
        folder = os.path.join(self.workdir, "manifests-%d" % self._fleets)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for cluster in self.clusters.values():
            values = {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}
            values.update({"registry_sync_image": self.hostvars(cluster.name).get("registry_sync_image", AGENT_IMAGE),
                           "_registry_sync_labels": labels, "registry_sync_agent": cluster.name != DIRECTORY})
            items = list(base)
            for template, wanted in (("directory-sync-config.yml.j2", True),
                                     ("directory-sync.yml.j2", values["registry_sync_agent"])):
                if wanted:
                    with open(os.path.join(role, "templates", template)) as handle:
                        items += yaml.safe_load(env.from_string(handle.read()).render(**values))["items"]
            objects = registry_install.plan_objects(items, cluster.name)
            with open(os.path.join(folder, "%s.yml" % cluster.name), "w") as handle:
                yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects}, handle, sort_keys=False)
        return folder

    def write_clusters_file(self):
        """site_kubectl.sh's input: name, kubeconfig, context, manifest; the directory first."""
        path = os.path.join(self.workdir, "clusters-%d.tsv" % self._fleets)
        with open(path, "w") as handle:
            for cluster in [self.directory] + self.replicas():
                handle.write("\t".join([cluster.name, cluster.kubeconfig, cluster.context,
                                        os.path.join(self.manifest_dir, "%s.yml" % cluster.name)]) + "\n")
        return path


def _read(fn):
    """fn()'s object, or None when the API says 404."""
    from kubernetes.client.rest import ApiException
    try:
        return fn()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _to_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "on", "1", "true", "y", "t")


def _find_var(node, name):
    """The value of the first ``vars: {name: ...}`` in a task file."""
    if isinstance(node, dict):
        if isinstance(node.get("vars"), dict) and name in node["vars"]:
            return node["vars"][name]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_var(child, name)
        if found is not None:
            return found
    return None


def _collection_registry():
    if BUILD not in sys.path:
        sys.path.insert(0, BUILD)
    from ansible_collections.coreos.multicluster.plugins.module_utils.registry import install
    return install


# --- versions --------------------------------------------------------------------------------

def _versions(with_kcore):
    versions = {"ansible-core (collection)": _ansible_core_version(sys.executable)}
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        versions["coreos.multicluster"] = yaml.safe_load(handle)["version"]
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True,
                         timeout=60, check=False)
    try:
        versions["kubectl"] = json.loads(out.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        versions["kubectl"] = "(unknown)"
    versions["kubectl path"] = os.path.realpath(shutil.which("kubectl") or "kubectl")
    bin_dir = default_bin_dir()
    out = subprocess.run([os.path.join(bin_dir, "kube-apiserver"), "--version"], capture_output=True, text=True,
                         timeout=60, check=False)
    versions["kube-apiserver"] = out.stdout.strip().split()[-1] if out.returncode == 0 and out.stdout.strip() else "?"
    if with_kcore:
        python, kcore = kcore_venv()
        versions["ansible-core (kubernetes.core)"] = _ansible_core_version(python)
        versions["kubernetes.core"] = kcore
        versions["ansible (PyPI, for kubernetes.core)"] = KCORE_ANSIBLE.split("==")[1]
    return versions


def _ansible_core_version(python):
    out = subprocess.run([python, "-c", "import ansible.release; print(ansible.release.__version__)"],
                         capture_output=True, text=True, timeout=60, check=False)
    return out.stdout.strip() or "(unknown)"


def kcore_venv():
    """The benchmark's own virtualenv with kubernetes.core (made on first use); (its python, the
    kubernetes.core version). It is never the collection's venv, and no dependency of the collection."""
    python = os.path.join(KCORE_VENV, "bin", "python")
    version = _kcore_version()
    if version is None:
        print("bench onboard: making %s (%s and kubernetes from PyPI, once)" % (KCORE_VENV, KCORE_ANSIBLE), flush=True)
        steps = [[sys.executable, "-m", "venv", "--clear", KCORE_VENV],
                 [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", KCORE_ANSIBLE, "kubernetes"]]
        for argv in steps:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
            if proc.returncode != 0:
                raise BenchError("making the kubernetes.core virtualenv: %s failed: %s (BENCH_TOOLS=collection,"
                                 "kubectl runs without it)" % (" ".join(argv[:4]), proc.stderr.strip()[-1500:]))
        version = _kcore_version()
    if not version or not version.startswith(KCORE_SERIES):
        raise BenchError("%s holds kubernetes.core %s, not %sx" % (KCORE_VENV, version, KCORE_SERIES))
    return python, version


def _kcore_version():
    found = glob.glob(os.path.join(KCORE_VENV, "lib", "python*", "site-packages", "ansible_collections",
                                   "kubernetes", "core", "MANIFEST.json"))
    if not found or not os.access(os.path.join(KCORE_VENV, "bin", "ansible-playbook"), os.X_OK):
        return None
    with open(found[0]) as handle:
        return json.load(handle)["collection_info"]["version"]


# --- figures -----------------------------------------------------------------------------------

def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _slope(points):
    """Least-squares slope of y against x, or None with fewer than two distinct x."""
    points = [(x, y) for x, y in points if y is not None]
    xs = [x for x, dummy in points]
    if len(set(xs)) < 2:
        return None
    mx = sum(xs) / len(xs)
    my = sum(y for dummy, y in points) / len(points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def summarise(records, sizes, tools):
    groups = collections.defaultdict(list)
    for rec in records:
        groups[(rec["site"], rec["n"], rec["phase"], rec["tool"])].append(rec)
    medians = []
    for (site, n, phase, tool), recs in sorted(groups.items()):
        medians.append({
            "site": site, "n": n, "phase": phase, "tool": tool, "runs": len(recs),
            "wall": _median([r["wall"] for r in recs]), "cpu": _median([r["cpu"] for r in recs]),
            "writes_per_replica": _median([r["writes_per_replica"] for r in recs]),
            "changed": _median([r["changed"] for r in recs]),
            "cpu_per_replica": _median([r["cpu"] / n for r in recs]),
        })
    slopes = []
    for phase in ("cold", "converged"):
        for tool in tools:
            pts = [(m["n"], m) for m in medians if not m["site"] and m["phase"] == phase and m["tool"] == tool]
            slopes.append({"phase": phase, "tool": tool,
                           "wall_per_replica": _slope([(n, m["wall"]) for n, m in pts]),
                           "cpu_per_replica": _slope([(n, m["cpu"]) for n, m in pts])})
    return {"medians": medians, "slopes": slopes}


def _get(items, **keys):
    for item in items:
        if all(item.get(k) == v for k, v in keys.items()):
            return item
    return None


def _pair(a, b, fmt="%.2f"):
    return "%s, %s" % tuple("-" if v is None else fmt % v for v in (a, b))


def _ratio(a, b):
    return None if a is None or not b else a / b


def render_table(summary, sizes, tools):
    """The table, as aligned text and as Markdown, and its notes."""
    medians, slopes = summary["medians"], summary["slopes"]
    others = [t for t in ("kubectl", "kcore") if t in tools]
    header = ["N", "collection (wall, CPU)"] + [TOOL_TITLES[t] for t in others]
    header += ["this / %s (wall, CPU)" % TOOL_TITLES[t].split(",")[0] for t in others]
    header += ["CPU per replica (this, kubectl)", "writes per replica (%s)" % ", ".join(
        {"collection": "this", "kubectl": "kubectl", "kcore": "k.core"}[t] for t in tools)]
    rows = []
    notes = []

    def row(label, cells):
        by_tool = {t: cells.get(t) for t in tools}
        this = by_tool["collection"]
        line = [label, _pair(this and this["wall"], this and this["cpu"]) + " s"]
        for t in others:
            m = by_tool[t]
            line.append(_pair(m and m["wall"], m and m["cpu"]) + " s" if m else "-")
        for t in others:
            m = by_tool[t]
            line.append(_pair(_ratio(this and this["wall"], m and m["wall"]),
                              _ratio(this and this["cpu"], m and m["cpu"]), "%.1fx"))
        kubectl = by_tool.get("kubectl")
        line.append(_pair(this and this["cpu_per_replica"], kubectl and kubectl["cpu_per_replica"], "%.2f s")
                    .replace(" s,", ","))
        line.append(", ".join("-" if not by_tool[t] else "%.1f" % by_tool[t]["writes_per_replica"] for t in tools))
        rows.append(line)

    for n in sizes:
        for phase in ("cold", "converged"):
            row("%d %s" % (n, phase), {t: _get(medians, site=False, n=n, phase=phase, tool=t) for t in tools})
    for phase in ("cold", "converged"):
        cells = {t: _get(medians, site=True, phase=phase, tool=t) for t in tools}
        if any(cells.values()):
            n = next(c["n"] for c in cells.values() if c)
            row("%d site.yml %s" % (n, "fresh fleet" if phase == "cold" else "converged"), cells)
    for phase in ("cold", "converged"):
        cells = {t: _get(slopes, phase=phase, tool=t) for t in tools}
        this = cells["collection"]
        if this["wall_per_replica"] is None:
            continue
        line = ["slope per added replica, %s" % phase,
                _pair(this["wall_per_replica"], this["cpu_per_replica"]) + " s"]
        for t in others:
            line.append(_pair(cells[t]["wall_per_replica"], cells[t]["cpu_per_replica"]) + " s")
        for t in others:
            line.append(_pair(_ratio(this["wall_per_replica"], cells[t]["wall_per_replica"]),
                              _ratio(this["cpu_per_replica"], cells[t]["cpu_per_replica"]), "%.1fx"))
        line += ["", ""]
        rows.append(line)

    for n in sizes:
        conv = _get(medians, site=False, n=n, phase="converged", tool="collection")
        if conv:
            verdict = "as it should" if not conv["changed"] and not conv["writes_per_replica"] else "NOT converged"
            notes.append("converged collection run, N=%d: changed=%s, writes per replica %.1f (%s)" % (
                n, _num(conv["changed"]), conv["writes_per_replica"], verdict))
    notes.append("CPU = user + system seconds of the tool's process tree (os.wait4); forks = N for the Ansible "
                 "tools (N + 1 for site.yml); writes = audit-log write requests by %s on every cluster, divided "
                 "by N (site.yml rows: the registry's objects on all N + 1 clusters included)" % ADMIN_USER)
    notes.append("slope = least-squares cost of one more replica (median wall, CPU seconds against N); kubectl's "
                 "CPU per replica is the script's kubectl processes, kubernetes.core's is in the JSON")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    text = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    text += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    markdown = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for dummy in header) + "|"]
    markdown += ["| " + " | ".join(r) + " |" for r in rows]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown), "notes": notes, "header": header, "rows": rows}


def _num(value):
    return "-" if value is None else ("%g" % value)


def _describe(exc):
    if isinstance(exc, subprocess.CalledProcessError):
        return "%s failed (rc=%s): %s" % (" ".join(exc.cmd[:8]), exc.returncode, (exc.stderr or "").strip())
    if isinstance(exc, subprocess.TimeoutExpired):
        return "%s timed out after %ss" % (" ".join(exc.cmd[:4]), exc.timeout)
    return str(exc)
