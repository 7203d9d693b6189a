"""Session fixtures: the lab fleet (or existing clusters named by MC_LAB_CONTEXTS)."""

import os

import pytest

from tests.lab import DEFAULT_NAMES, Fleet, external_clusters

_CLUSTERS = []


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """A list of clusters (tests.lab.LabCluster): three lab clusters by default.

    MC_LAB_CONTEXTS=ctx1,ctx2,... runs the suite against existing clusters
    named by kubeconfig contexts (KUBECONFIG) instead; MC_LAB_BIN_DIR brings
    other Kubernetes binaries to the lab."""
    contexts = [c for c in os.environ.get("MC_LAB_CONTEXTS", "").split(",") if c]
    if contexts:
        clusters = external_clusters(contexts)
        _CLUSTERS.extend(clusters)
        yield clusters
        return
    lab = Fleet(str(tmp_path_factory.mktemp("lab")), DEFAULT_NAMES)
    clusters = lab.start()
    _CLUSTERS.extend(clusters)
    try:
        yield clusters
    finally:
        lab.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, point at the lab's logs (they are kept under the tmp dir)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _CLUSTERS:
        lines = []
        for cluster in _CLUSTERS:
            lines.extend("%s: %s" % (cluster.name, path) for path in cluster.logs())
        if lines:
            report.sections.append(("lab logs", "\n".join(lines)))
