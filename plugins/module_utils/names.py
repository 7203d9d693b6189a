# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every namespace, object name, label and annotation the collection writes or reads: one place, one meaning each.

Imports nothing; every package of module_utils may import it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# --- in the directory: the replicas' credentials ------------------------------------------------------
# the namespace of every replica's ServiceAccount, token Secret and anchor Secret
CREDENTIALS_NAMESPACE = "tectonic-multi-cluster"
# the ClusterRole each replica's ServiceAccount is bound to (get, list, watch Clusters and ClusterPolicies)
VIEW_CLUSTERS_ROLE = "tectonic-view-clusters"

# --- in the directory: the replicas' heartbeats and status -----------------------------------------------
# each replica renews a Lease named after its Cluster in CREDENTIALS_NAMESPACE (the names of the Lease and of the
# grants that let the replica renew it and write its own Cluster's status: credentials/objects.object_names)
HEARTBEAT_NAMESPACE = CREDENTIALS_NAMESPACE

# --- in the directory: the fleet as SIG-Multicluster ClusterProfiles (multicluster.x-k8s.io/v1alpha1) ---------
PROFILE_NAMESPACE = "fleet-inventory"  # the default namespace of the exported ClusterProfiles
CLUSTER_MANAGER_LABEL = "x-k8s.io/cluster-manager"  # the KEP's label naming a profile's manager
CLUSTER_MANAGER = "coreos-multicluster"  # its value, and spec.clusterManager.name, on the profiles we export
PROFILE_PROPERTY_PREFIX = "multicluster.coreos.com/"  # a Cluster's label as a profile property
# the exporter (the agent run with --mode export-profiles on the directory): its Deployment and ServiceAccount
EXPORTER_DEPLOYMENT = "cluster-profile-exporter"
EXPORTER_ACCOUNT = "cluster-profile-exporter"

# --- on every cluster of the registry: the registry's own namespace and what lives in it -----------------
SYSTEM_NAMESPACE = "tectonic-system"
# the directory-sync agent: its Deployment and ServiceAccount, and the Secret holding its directory credential
AGENT_DEPLOYMENT = "directory-sync"
AGENT_ACCOUNT = "directory-sync"
CREDENTIAL_SECRET = "directory-sync"
CREDENTIAL_SECRET_KEY = "kubeconfig"
# on the Deployment's pod template: the hash of the credential, so that a new one restarts the pods
CREDENTIAL_HASH_ANNOTATION = "multicluster.coreos.com/credential-hash"
# the replica's bounds for Cluster Policies (written by the registry role, read by the syncer)
SETTINGS_CONFIG_MAP = "directory-sync-config"
# the last sync's result (written by the syncer)
STATUS_CONFIG_MAP = "directory-sync-status"
# the name this cluster is registered under (written when the registry is installed)
CLUSTER_CONFIG_MAP = "tectonic-config"
CLUSTER_NAME_KEY = "clusterName"
# in each namespace a policy creates: the agent may read what is in it, to see what it holds
INSPECT_ROLE = "tectonic-directory-sync-inspect"
INSPECT_BINDING = "directory-sync-inspect"

# --- on a replica: the objects a Cluster Policy makes ------------------------------------------------------
# a quota or limit range is "clusterpolicy.<policy>", a binding "clusterpolicy:<policy>:<clusterRole>"
POLICY_OBJECT_PREFIX = "clusterpolicy"

# --- labels ------------------------------------------------------------------------------------------
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF = "tectonic-multi-cluster"
# on a replica's objects in the directory: the replica they belong to
REPLICA_LABEL = "multicluster.coreos.com/replica"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# MANAGED_BY_LABEL's value on what a sync wrote on a replica (the only objects a sync updates or deletes)
SYNCED_BY = "directory-sync"
# MANAGED_BY_LABEL's value on what the collection's modules write in the directory (ClusterPolicies)
WRITTEN_BY = "coreos.multicluster"
