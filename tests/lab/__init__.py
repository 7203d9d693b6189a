"""The coreos.multicluster lab: real Kubernetes control planes on loopback."""

from .fleet import (  # noqa: F401
    DEFAULT_NAMES, FLEET_LABELS, Fleet, LabCluster, LabError, default_bin_dir, external_clusters,
)
