# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory inventory plugin's pure half: connection options with their
K8S_AUTH_* environment fallbacks (from the modules' one spec), and the hosts,
groups and inventory-contract variables made from Cluster objects.

A Cluster object is data written by whoever may write Clusters on the
directory, not the operator's configuration. So the directory host's
mc_api_endpoint - the address every replica onboarded from this inventory
sends its credential to - is the operator's (the plugin's directory_api_endpoint,
else the server of the plugin's own connection to the directory), never the
directory's Cluster object; an object that says otherwise is reported. An
address that is not https:// is reported and not used (the variable is null)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import CONNECTION_ARG_SPEC
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import (
    address_problems, fleet_health, flat_view)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    https_url_problem, is_https_url, same_server, validate_https_url, validate_name)

DIRECTORY_GROUP = "directory"
REPLICAS_GROUP = "replicas"
# Hosts whose Cluster object gives an address that is not used (mc_endpoint_problem says why).
ENDPOINT_PROBLEMS_GROUP = "endpoint_problems"


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


def directory_address(option, connection_server):
    """(address, where it comes from) of the directory for replicas' credentials:
    the plugin's directory_api_endpoint when set (it must be an https:// URL),
    else the server of the plugin's own connection to the directory."""
    if option not in (None, ""):
        return validate_https_url(option, "directory_api_endpoint"), "directory_api_endpoint"
    return connection_server, "the inventory's connection to the directory"


def check_options(settings, endpoint_option):
    """Refuse a configuration the plugin cannot use (settings: its cluster_kubeconfig* options), before the
    directory is asked anything."""
    if settings.get("cluster_kubeconfig_dir") and settings.get("cluster_kubeconfig"):
        raise MulticlusterError("cluster_kubeconfig_dir and cluster_kubeconfig are mutually exclusive")
    directory_address(endpoint_option, None)


def _directory_endpoint(view, address, source):
    """(mc_api_endpoint, [problem]) of the directory host: the operator's
    *address* from *source*, whatever its Cluster object says."""
    problems = []
    if not is_https_url(address):
        problems.append("the directory's address from %s %s: mc_api_endpoint of %s is null (set the plugin's "
                        "directory_api_endpoint)" % (source, https_url_problem(address) if address else "is not known",
                                                     view["name"]))
        address = None
    if view["server"] is not None and not same_server(view["server"], address):
        problems.append("the directory's Cluster object %s gives API endpoint %s, not %s: not followed, "
                        "mc_api_endpoint is the address from %s"
                        % (view["name"], one_line(repr(view["server"])), address or "the inventory's", source))
    return address, problems


def hosts_from_clusters(clusters, settings, isfile=os.path.isfile):
    """([{name, groups, vars}], [problem]) for the Cluster objects of the directory.

    settings: the plugin's cluster_kubeconfig* and cluster_context options, and
    directory_address and directory_address_source (from directory_address()).

    A Cluster whose name is not a DNS-1123 label (a host name the collection's
    roles accept) is left out; one without an API endpoint, or without its
    kubeconfig where one was asked for, is kept and reported. An API endpoint
    or console URL that is not https:// is reported and its variable is null;
    the directory's mc_api_endpoint is the operator's address (see this file's
    docstring). A host with such a problem has mc_endpoint_problem (why) and is
    also in group endpoint_problems."""
    check_options(settings, None)
    hosts, problems = [], []
    for obj in clusters:
        view = flat_view(obj)
        name = view["name"]
        try:
            validate_name(name, "Cluster name")
        except MulticlusterError as exc:
            problems.append("%s: left out of the inventory" % exc)
            continue
        group = DIRECTORY_GROUP if view["directory"] else REPLICAS_GROUP
        found = address_problems(view)
        unusable = list(found["endpoints"])
        if group == DIRECTORY_GROUP:
            endpoint, wrong = _directory_endpoint(view, settings.get("directory_address"),
                                                  settings.get("directory_address_source") or "the inventory")
            unusable.extend(wrong)
        else:
            endpoint = view["server"] if is_https_url(view["server"]) else None
            if not view["server"]:
                problems.append("Cluster %s has no API endpoint (mc_api_endpoint is null)" % name)
            elif not endpoint:
                unusable[0] += " (mc_api_endpoint is null)"
        if found["console_url"]:
            unusable.append(found["console_url"] + " (mc_console_url is null)")
        host_vars = {"mc_cluster_name": name, "mc_labels": view["labels"], "mc_api_endpoint": endpoint,
                     "mc_console_url": None if found["console_url"] else view["console_url"]}
        groups = [group]
        if unusable:
            host_vars["mc_endpoint_problem"] = "; ".join(unusable)
            problems.extend(unusable)
            groups.append(ENDPOINT_PROBLEMS_GROUP)
        kubeconfig, context, problem = _kubeconfig_of(name, settings, isfile)
        if problem:
            problems.append(problem)
        if kubeconfig:
            host_vars["mc_kubeconfig"] = kubeconfig
            if context:
                host_vars["mc_context"] = context
        hosts.append({"name": name, "groups": groups, "vars": host_vars})
    directories = [h["name"] for h in hosts if DIRECTORY_GROUP in h["groups"]]
    if len(directories) > 1:
        problems.append("%d Clusters carry the directory annotation (%s): a fleet has one directory"
                        % (len(directories), ", ".join(directories)))
    return hosts, problems


def add_health(hosts, found, now, grace_periods):
    """Set mc_available, mc_last_seen and mc_health on *hosts* (hosts_from_clusters') from what the plugin read:
    found = {clusters, leases ({name: Lease}, or None when they could not be read), leases_problem}. The
    directory host answered the plugin: it is available."""
    if grace_periods is None or grace_periods < 1:
        raise MulticlusterError("grace_periods %r must be 1 or more" % (grace_periods,))
    states = fleet_health(found["clusters"], found["leases"], now, grace_periods, found["leases_problem"])
    for host in hosts:
        state = dict(states[host["name"]])
        if DIRECTORY_GROUP in host["groups"]:
            state.update(available=True, heartbeat="the directory answered this inventory")
        host["vars"].update(mc_available=state["available"], mc_last_seen=state["last_seen"], mc_health=state)
