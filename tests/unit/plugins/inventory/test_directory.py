"""The directory inventory plugin's parse() on a recorded ClusterList (fixtures/cluster_list.json: as a 1.28+ API
server returns it, with managedFields, resourceVersion, uid, creationTimestamp, labels, annotations and the spec's
endpoints), the request to the directory replaced where the plugin lists Clusters (registry.cluster.list_clusters),
and `ansible-inventory --list` compared with stored JSON (fixtures/expected_list.json), the netbox pattern. Each run
is a process of its own (recorded_inventory.py), where the collection loader sets the collection up as
ansible-inventory does. Values from the directory are data, never templates: a Cluster's name, labels and addresses
that try template injection stay text."""

import json
import os
import subprocess
import sys

import pytest
import yaml

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded_inventory.py")
PLUGIN = "coreos.multicluster.directory"
DIRECTORY_SERVER = "https://west-coast-production-api.west.example.com:443"
INJECTION = "{{ lookup('pipe', 'id') }}"


def _collections_parent():
    """The folder holding ansible_collections/coreos/multicluster for this checkout (tests/unit/conftest.py)."""
    root = os.path.realpath(os.path.join(FIXTURES, "..", "..", "..", "..", ".."))
    for entry in sys.path:
        path = os.path.join(entry, "ansible_collections", "coreos", "multicluster")
        if os.path.isdir(path) and os.path.realpath(path) == root:
            return entry
    raise AssertionError("no ansible_collections/coreos/multicluster on sys.path for %s" % root)


def make_directory(folder):
    """*folder* with the plugin's kubeconfig for the directory and a folder of kubeconfigs for two clusters."""
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "admin@west",
                  "clusters": [{"name": "west", "cluster": {"server": DIRECTORY_SERVER}}],
                  "users": [{"name": "admin", "user": {"token": "directory-admin-token"}}],
                  "contexts": [{"name": "admin@west", "context": {"cluster": "west", "user": "admin"}}]}
    (folder / "directory.kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    fleet = folder / "fleet"
    fleet.mkdir()
    for name in ("west-coast-production", "east-coast-production"):
        (fleet / (name + ".kubeconfig")).write_text("{}")
    return folder


@pytest.fixture
def directory(tmp_path):
    return make_directory(tmp_path)


def config(folder, **options):
    """A plugin file in *folder*, with the directory's kubeconfig and *options*."""
    data = {"plugin": PLUGIN, "kubeconfig": str(folder / "directory.kubeconfig")}
    data.update(options)
    path = folder / "fleet.directory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


class Run(object):
    """One ansible-inventory run over the recorded ClusterList: rc, stdout, stderr, and the calls the plugin made
    to list Clusters."""

    def __init__(self, folder, path):
        calls = folder / "calls.jsonl"
        if calls.exists():
            calls.unlink()
        environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_parent(),
                       ANSIBLE_INVENTORY_ENABLED=PLUGIN, ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                       ANSIBLE_LOCAL_TEMP=str(folder / "tmp"), ANSIBLE_HOME=str(folder / "home"),
                       ANSIBLE_NOCOLOR="true", ANSIBLE_DEPRECATION_WARNINGS="false", PYTHONWARNINGS="ignore")
        for variable in [v for v in environ if v.startswith("K8S_AUTH_")]:
            del environ[variable]
        proc = subprocess.run([sys.executable, RUNNER, _collections_parent(), os.path.join(FIXTURES, "cluster_list.json"),
                               str(calls), "-i", str(path), "--list"],
                              capture_output=True, text=True, env=environ, timeout=120, check=False)
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.calls = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        self.folder = folder

    def raw(self, object_hook=None):
        """The --list JSON as printed, with the fixture's folder and this Python written as $TMP and $PYTHON."""
        assert self.rc == 0, self.stderr
        text = self.stdout.replace(str(self.folder), "$TMP").replace(sys.executable, "$PYTHON")
        return json.loads(text, object_hook=object_hook)

    def listed(self):
        """The --list JSON without the marks of values that are not templates (checked on their own) and
        without ansible-core 2.19's _meta.profile: what the stored JSON holds."""
        listed = self.raw(_unmarked)
        listed["_meta"].pop("profile", None)
        return listed

    def warnings(self):
        """The plugin's warnings, one string each (continuation lines joined), the fixture's folder as $TMP."""
        found = []
        for line in self.stderr.replace(str(self.folder), "$TMP").splitlines():
            if line.startswith("[WARNING]: "):
                found.append(line[len("[WARNING]: "):])
            elif found and line.startswith(" "):
                found[-1] += " " + line.strip()
        return [w[len(PLUGIN) + 2:] for w in found if w.startswith(PLUGIN + ": ")]


def _unmarked(mapping):
    """A JSON object, or the text it marks as never a template ({"__ansible_unsafe": text})."""
    return mapping["__ansible_unsafe"] if set(mapping) == {"__ansible_unsafe"} else mapping


def unmarked_strings(value, path=""):
    """The paths of the strings of a --list JSON that are not marked as never templates."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return []
        return [p for k, v in value.items() for p in unmarked_strings(v, "%s.%s" % (path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unmarked_strings(v, "%s[%d]" % (path, i))]
    return [path] if isinstance(value, str) else []


FLEET_CONFIG = {
    "keyed_groups": [{"key": "mc_labels.cloud", "prefix": "cloud"}, {"key": "mc_labels.role", "prefix": "role"}],
    "groups": {"production": "mc_labels.stage == 'production'",
               # a group whose test would hold a host only if a value from the directory were rendered
               "rendered": "mc_labels.cloud is search('uid=') or mc_labels.role == 'replicareplicareplica'",
               # the clusters whose heartbeat is fresh (fixtures/lease_list.json): east-coast-production, and the
               # directory, which answered the plugin; not the one whose renewal is dated a day ahead
               "available": "mc_available | default(false)"},
    "compose": {"cloud": "mc_labels.cloud | default('none')", "role_text": "mc_labels.role | default('')",
                "api": "mc_api_endpoint"},
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The recorded fleet listed once with a folder of kubeconfigs, keyed groups, groups, compose and a cache
    (which this first run fills)."""
    folder = make_directory(tmp_path_factory.mktemp("fleet"))
    return Run(folder, config(folder, cluster_kubeconfig_dir=str(folder / "fleet"), cache=True,
                              cache_plugin="ansible.builtin.jsonfile", cache_connection=str(folder / "cache"),
                              **FLEET_CONFIG))


def _expected(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


def test_the_recorded_directory_lists_as_stored(fleet):
    assert fleet.listed() == _expected("expected_list.json")
    assert fleet.calls == [{"label_selector": None, "server": DIRECTORY_SERVER}]  # one list, on the directory


def test_every_value_is_marked_as_never_a_template(fleet):
    raw = fleet.raw()
    assert unmarked_strings(raw["_meta"]["hostvars"]) == []
    injected = raw["_meta"]["hostvars"]["injected-labels"]
    assert injected["mc_labels"]["cloud"] == {"__ansible_unsafe": INJECTION}


def test_template_injection_from_the_directory_stays_text(fleet):
    hostvars = fleet.listed()["_meta"]["hostvars"]
    injected = hostvars["injected-labels"]
    assert injected["mc_labels"] == {"cloud": INJECTION, "role": "{% for x in range(3) %}replica{% endfor %}",
                                     "stage": "production"}
    # compose and keyed_groups see the text, and render nothing of it
    assert injected["cloud"] == INJECTION and injected["role_text"] == injected["mc_labels"]["role"]
    assert injected["api"] == injected["mc_api_endpoint"] == \
        "https://injected-labels-api.example.com:6443/{{lookup('pipe','id')}}"
    assert "rendered" not in fleet.listed()
    assert "uid=" not in fleet.stdout and "uid=" not in fleet.stderr
    # a Cluster named like a template is no host
    assert INJECTION not in hostvars and not any(INJECTION in group for group in fleet.listed())
    assert any(w.startswith("Cluster name \"%s\" is not a DNS-1123 label" % INJECTION) and
               w.endswith("left out of the inventory") for w in fleet.warnings())


def test_what_is_wrong_in_the_directory_is_warned_about_once_each(fleet):
    assert fleet.warnings() == _expected("expected_warnings.json")
    assert "directory-admin-token" not in fleet.stdout + fleet.stderr


def test_the_plugins_options_reach_the_list_and_the_hosts(directory):
    """label_selector goes to the list; directory_api_endpoint is the directory's address; one kubeconfig
    with a context per cluster."""
    path = config(directory, label_selector="stage=production", directory_api_endpoint="https://directory.internal:443",
                  cluster_kubeconfig="/etc/fleet/all.kubeconfig", cluster_context="admin@{name}")
    run = Run(directory, path)
    assert run.calls == [{"label_selector": "stage=production", "server": DIRECTORY_SERVER}]
    hostvars = run.listed()["_meta"]["hostvars"]
    west = hostvars["west-coast-production"]
    assert west["mc_api_endpoint"] == "https://directory.internal:443"
    assert west["mc_endpoint_problem"] == (
        "the directory's Cluster object west-coast-production gives API endpoint "
        "'https://west-coast-production-api.west.example.com:443', not https://directory.internal:443: not followed, "
        "mc_api_endpoint is the address from directory_api_endpoint")
    assert "west-coast-production" in run.listed()["endpoint_problems"]["hosts"]
    assert [(name, v["mc_kubeconfig"], v["mc_context"]) for name, v in sorted(hostvars.items())] == [
        (name, "/etc/fleet/all.kubeconfig", "admin@" + name) for name in sorted(hostvars)]


@pytest.fixture(scope="module")
def plain_http_directory(tmp_path_factory):
    folder = make_directory(tmp_path_factory.mktemp("http"))
    return Run(folder, config(folder, directory_api_endpoint="http://directory.internal"))


def test_a_bad_plugin_configuration_fails_the_parse_naming_the_option(plain_http_directory):
    """(The pure half's own errors, such as cluster_kubeconfig with cluster_kubeconfig_dir, are in test_inventory.py;
    this is how parse reports one.)"""
    run = plain_http_directory
    assert run.rc != 0 and "hostvars" not in run.stdout
    assert "coreos.multicluster.directory: directory_api_endpoint 'http://directory.internal' is plain http://" in \
        " ".join(run.stderr.split())


def test_a_bad_plugin_configuration_is_refused_before_the_directory_is_asked(plain_http_directory):
    assert plain_http_directory.calls == []


def test_the_cache_answers_the_second_run_without_asking_the_directory(fleet):
    second = Run(fleet.folder, fleet.folder / "fleet.directory.yml")
    assert second.calls == [] and second.listed() == fleet.listed()
    assert second.warnings() == fleet.warnings()
    # the cache keeps the server the plugin connected to: the directory's address is still the operator's
    assert second.listed()["_meta"]["hostvars"]["west-coast-production"]["mc_api_endpoint"] == DIRECTORY_SERVER
