"""The directory-sync agent: a program of its own (python -m ansible_collections.coreos.multicluster.agent)."""
