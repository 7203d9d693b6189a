"""The coreos.multicluster lab: real Kubernetes control planes on loopback, or, with nodes
(node.py), on a bridge of their own with a real node for each replica."""

from .fleet import (  # noqa: F401
    DEFAULT_NAMES, FLEET_LABELS, Fleet, LabCluster, LabError, default_bin_dir, external_clusters,
)
