# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory inventory plugin's pure half: connection options with their
K8S_AUTH_* environment fallbacks (from the modules' one spec), and the hosts,
groups and inventory-contract variables made from Cluster objects."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.coreos.multicluster.plugins.module_utils.args_common import CONNECTION_ARG_SPEC
from ansible_collections.coreos.multicluster.plugins.module_utils.cluster import flat_view
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.validation import validate_name

DIRECTORY_GROUP = "directory"
REPLICAS_GROUP = "replicas"


def _from_environment(name, option, environ):
    """The value of the first K8S_AUTH_* variable the modules' spec names for *option*, or None."""
    fallback = option.get("fallback")
    if not fallback:
        return None
    for variable in fallback[1]:
        value = environ.get(variable)
        if value not in (None, ""):
            if option.get("type") == "bool":  # as the modules read it (env_fallback, then the bool type)
                try:
                    return boolean(value, strict=True)
                except TypeError:
                    raise MulticlusterError("%s=%r is not a boolean" % (variable, value)) from None
            if option.get("type") == "int":
                try:
                    return int(value)
                except ValueError:
                    raise MulticlusterError("%s=%r is not a whole number" % (variable, value)) from None
            return value
    return None


def connection_from_options(options, environ=None):
    """The connection options of the plugin's configuration, each taken from
    the environment (the modules' K8S_AUTH_* variables) when not set."""
    environ = os.environ if environ is None else environ
    conn = {}
    for name, option in CONNECTION_ARG_SPEC.items():
        value = options.get(name)
        conn[name] = value if value not in (None, "") else _from_environment(name, option, environ)
    return conn


def _kubeconfig_of(name, settings, isfile):
    """(mc_kubeconfig, mc_context, problem) for Cluster *name* from the plugin's settings."""
    context_template = settings.get("cluster_context")
    if settings.get("cluster_kubeconfig_dir"):
        pattern = settings.get("cluster_kubeconfig_file") or "{name}.kubeconfig"
        path = os.path.join(settings["cluster_kubeconfig_dir"], pattern.replace("{name}", name))
        if not isfile(path):
            return None, None, "Cluster %s: no kubeconfig %s (mc_kubeconfig not set)" % (name, path)
        return path, context_template.replace("{name}", name) if context_template else None, None
    if settings.get("cluster_kubeconfig"):
        return settings["cluster_kubeconfig"], (context_template or "{name}").replace("{name}", name), None
    return None, None, None


def hosts_from_clusters(clusters, settings, isfile=os.path.isfile):
    """([{name, group, vars}], [problem]) for the Cluster objects of the directory.

    A Cluster whose name is not a DNS-1123 label (a host name the collection's
    roles accept) is left out; one without an API endpoint, or without its
    kubeconfig where one was asked for, is kept and reported."""
    if settings.get("cluster_kubeconfig_dir") and settings.get("cluster_kubeconfig"):
        raise MulticlusterError("cluster_kubeconfig_dir and cluster_kubeconfig are mutually exclusive")
    hosts, problems = [], []
    for obj in clusters:
        view = flat_view(obj)
        name = view["name"]
        try:
            validate_name(name, "Cluster name")
        except MulticlusterError as exc:
            problems.append("%s: left out of the inventory" % exc)
            continue
        host_vars = {"mc_cluster_name": name, "mc_labels": view["labels"], "mc_api_endpoint": view["server"],
                     "mc_console_url": view["console_url"]}
        if not view["server"]:
            problems.append("Cluster %s has no API endpoint (mc_api_endpoint is null)" % name)
        kubeconfig, context, problem = _kubeconfig_of(name, settings, isfile)
        if problem:
            problems.append(problem)
        if kubeconfig:
            host_vars["mc_kubeconfig"] = kubeconfig
            if context:
                host_vars["mc_context"] = context
        hosts.append({"name": name, "group": DIRECTORY_GROUP if view["directory"] else REPLICAS_GROUP,
                      "vars": host_vars})
    directories = [h["name"] for h in hosts if h["group"] == DIRECTORY_GROUP]
    if len(directories) > 1:
        problems.append("%d Clusters carry the directory annotation (%s): a fleet has one directory"
                        % (len(directories), ", ".join(directories)))
    return hosts, problems
