# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory as an Ansible inventory: one host per Cluster object."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: directory
short_description: The multi-cluster directory's Clusters as an inventory
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Reads the C(Cluster) objects (C(multicluster.coreos.com/v1)) of the B(directory) cluster and makes one host per
    Cluster, named after it, in group C(directory) (the Cluster annotated C(multicluster.coreos.com/directory=true))
    or C(replicas) (every other one).
  - Each host gets the variables of the collection's inventory contract, so every playbook of the collection runs
    on it unchanged - C(mc_cluster_name), C(mc_labels), C(mc_api_endpoint) (the first API server address),
    C(mc_console_url), C(mc_available), C(mc_last_seen) and C(mc_health) (below), and C(mc_kubeconfig)/C(mc_context) when O(cluster_kubeconfig_dir) or
    O(cluster_kubeconfig) tells where each cluster's own kubeconfig is - plus C(ansible_connection=local) and the
    controller's Python as C(ansible_python_interpreter).
  - The directory holds no admin credential for the clusters. Without O(cluster_kubeconfig_dir) or
    O(cluster_kubeconfig) the hosts have no C(mc_kubeconfig); that is enough for plays that only read the directory,
    not for the ones that write to a cluster (C(install_registry.yml), C(site.yml), C(onboard_replica.yml),
    C(sync_replicas.yml), C(fleet_status.yml)).
  - A Cluster whose name is not a valid host name is reported as a warning and left out; one without an API endpoint,
    or whose kubeconfig is not where O(cluster_kubeconfig_dir) says, is reported and kept (without C(mc_kubeconfig)).
  - The directory host's C(mc_api_endpoint) is the address every replica onboarded from this inventory sends its
    credential to, so it comes from the operator, not from a Cluster object - O(directory_api_endpoint) when set,
    else the server of this plugin's own connection to the directory. A directory C(Cluster) object that gives
    another address is reported as a warning and not followed.
  - Only C(https://) addresses are used. A Cluster whose API endpoint or console URL is not an C(https://) URL
    (plain C(http://), written before the Cluster CRD refused it) is reported as a warning, and kept with
    C(mc_api_endpoint) (or C(mc_console_url)) null - so no play sends a credential there - with the reason in
    C(mc_endpoint_problem) and in the group C(endpoint_problems) as well. The directory host is there too when its
    Cluster object disagrees with the operator's address.
  - Health, from the directory alone (one list of the replicas' heartbeat Leases in C(tectonic-multi-cluster), read
    with the Clusters) - C(mc_available) is true while the cluster's agent renewed its Lease within
    O(grace_periods) periods, false after them, null when not known (no agent ever renewed it, it has no Lease,
    or the Leases cannot be read);
    C(mc_last_seen) is the last renewal (UTC) or null; C(mc_health) holds the rest (the heartbeat's age and reason,
    the C(Synced) and C(PoliciesApplied) conditions its agent wrote on its Cluster, its Kubernetes version); the
    directory host, which answered this plugin, is C(mc_available=true). Use them in O(groups) or O(keyed_groups)
    to leave unavailable clusters out of a run. With O(cache), they are as of the read the cache holds (its
    C(mc_last_seen) and the heartbeat's age then); C(--flush-cache) reads them again.
  - Values read from the API are never templates; O(compose), O(groups) and O(keyed_groups) are (from this file).
  - The file's name must end in C(directory.yml) or C(directory.yaml), for example C(fleet.directory.yml).
options:
  plugin:
    description: The name of this plugin; it makes the file a source of this plugin.
    required: true
    choices: [coreos.multicluster.directory]
    type: str
  label_selector:
    description:
      - Only the Clusters with these labels, as a Kubernetes label selector, for example C(stage=production).
    type: str
  cluster_kubeconfig_dir:
    description:
      - A folder with one kubeconfig per cluster, named after O(cluster_kubeconfig_file) (C(<name>.kubeconfig) by
        default); it becomes the host's C(mc_kubeconfig). Its current context is used unless
        O(cluster_context) is set.
    type: path
  cluster_kubeconfig_file:
    description:
      - The name of a cluster's file in O(cluster_kubeconfig_dir); C({name}) stands for the Cluster's name.
    type: str
    default: "{name}.kubeconfig"
  cluster_kubeconfig:
    description:
      - One kubeconfig holding a context per cluster; it becomes every host's C(mc_kubeconfig), and the context
        named after O(cluster_context) its C(mc_context). Mutually exclusive with O(cluster_kubeconfig_dir).
    type: path
  cluster_context:
    description:
      - The name of a cluster's context; C({name}) stands for the Cluster's name. Defaults to C({name}) with
        O(cluster_kubeconfig), and to the file's current context with O(cluster_kubeconfig_dir).
    type: str
  grace_periods:
    description:
      - How many heartbeat periods without a renewal make a cluster unavailable (C(mc_available=false)).
    type: int
    default: 5
  directory_api_endpoint:
    description:
      - The C(https://) URL replicas reach the directory's API at, which becomes the directory host's
        C(mc_api_endpoint) (the address written into each replica's credential by C(onboard_replica.yml) and
        C(site.yml)).
      - Default, the server of this plugin's own connection to the directory (O(host), or the O(kubeconfig)'s
        cluster) - set this when replicas reach the directory at another address than the controller does.
      - Never taken from the directory's C(Cluster) object.
    type: str
extends_documentation_fragment:
  - coreos.multicluster.connection
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - kubernetes >= 24.2.0
notes:
  - The connection options (O(kubeconfig), O(context), O(host), ...) are for the directory, and take the same
    C(K8S_AUTH_*) environment variables as the modules.
"""

EXAMPLES = r"""
# fleet.directory.yml: the fleet from the directory, each cluster's kubeconfig from a folder,
# a group per region label
plugin: coreos.multicluster.directory
kubeconfig: /etc/fleet/west-coast-production.kubeconfig
cluster_kubeconfig_dir: /etc/fleet
# where replicas reach the directory (default: the server of the kubeconfig above)
directory_api_endpoint: https://west-coast-production-api.west.example.com:443
keyed_groups:
  - key: mc_labels.region
    prefix: region
  - key: mc_labels.cloud
    prefix: cloud
groups:
  production: mc_labels.stage == 'production'
  # the clusters whose agent renewed its heartbeat lately: run with --limit available
  available: mc_available | default(false)


# prod.directory.yml would read only production, with the contexts of one kubeconfig named after the
# clusters, and reuse the list it read for an hour (cache_timeout) without asking the directory:
#   plugin: coreos.multicluster.directory
#   label_selector: stage=production
#   cluster_kubeconfig: /etc/fleet/all-clusters.kubeconfig
#   cluster_context: "admin@{name}"
#   cache: true
#   cache_plugin: ansible.builtin.jsonfile
#   cache_connection: /var/cache/ansible-inventory
"""

import os
import sys
import time

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

try:  # ansible-core 2.19+: a string is a template only when trusted, and API values never are
    from ansible.template import trust_as_template  # noqa: F401 pylint: disable=unused-import
    _UNTRUSTED_BY_DEFAULT = True
except ImportError:  # older: mark API values unsafe, or a {{ }} in them would be rendered
    _UNTRUSTED_BY_DEFAULT = False

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import CONNECTION_ARG_SPEC
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.plugin_utils.inventory import (
    DIRECTORY_GROUP, REPLICAS_GROUP, add_health, check_options, connection_from_options, directory_address,
    hosts_from_clusters)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """One host per Cluster of the directory."""

    NAME = "coreos.multicluster.directory"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("directory.yml", "directory.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            check_options(self._kubeconfig_settings(), self.get_option("directory_api_endpoint"))
        except MulticlusterError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc)) from None
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        found = None
        if use_cache:
            try:
                found = self._cache[cache_key]
            except KeyError:
                update_cache = True
            if not (isinstance(found, dict) and "read_at" in found):  # none, or cached by an older version: read again
                found, update_cache = None, True
        if found is None:
            found = self._read_directory()
        if update_cache:
            self._cache[cache_key] = found
        self._populate(found)

    def _read_directory(self):
        """{clusters: the Clusters of the directory as plain dicts, server: the server the plugin connected to}
        (what the cache keeps)."""
        from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient, HAS_KUBERNETES
        from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import heartbeats, list_clusters
        if not HAS_KUBERNETES:
            raise AnsibleError("the %s inventory plugin needs the kubernetes Python library (pip install kubernetes)"
                               % self.NAME)
        options = dict((name, self.get_option(name)) for name in CONNECTION_ARG_SPEC)
        try:
            directory = ClusterClient(connection_from_options(options, os.environ))
            try:
                leases, problem = heartbeats(directory)
                return {"clusters": list_clusters(directory, self.get_option("label_selector")),
                        "server": directory.server, "leases": leases, "leases_problem": problem,
                        "read_at": time.time()}
            finally:
                directory.close()
        except MulticlusterError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc)) from None

    def _kubeconfig_settings(self):
        return dict((name, self.get_option(name)) for name in (
            "cluster_kubeconfig_dir", "cluster_kubeconfig_file", "cluster_kubeconfig", "cluster_context"))

    def _populate(self, found):
        settings = self._kubeconfig_settings()
        try:
            settings["directory_address"], settings["directory_address_source"] = directory_address(
                self.get_option("directory_api_endpoint"), found["server"])
            hosts, problems = hosts_from_clusters(found["clusters"], settings, os.path.isfile)
            # availability as of the read: a cached list says what the Leases said then, not that they stopped
            add_health(hosts, found, found["read_at"], self.get_option("grace_periods"))
        except MulticlusterError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc)) from None
        for problem in problems:
            self.display.warning("%s: %s" % (self.NAME, problem))
        strict = self.get_option("strict")
        for group in (DIRECTORY_GROUP, REPLICAS_GROUP):
            self.inventory.add_group(group)
        for host in hosts:
            name = host["name"]
            for group in host["groups"]:
                self.inventory.add_group(group)  # endpoint_problems only when a host is in it
                self.inventory.add_host(name, group=group)
            variables = dict(host["vars"], ansible_connection="local", ansible_python_interpreter=sys.executable)
            if not _UNTRUSTED_BY_DEFAULT:  # compose, groups and keyed_groups must see them unsafe too
                variables = wrap_var(variables)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
