# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the metrics tests: a hand-moved clock, an agent with real
Metrics over in-memory clusters, and reading an exposition with the parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.coreos.multicluster.agent import health as health_mod
from ansible_collections.coreos.multicluster.agent import loop
from ansible_collections.coreos.multicluster.agent import metrics as metrics_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import retries
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.tokens import bound_token

SERVER = "https://directory.example.com:6443"
T0 = 1780000000.0
EXP = int(T0) + 30 * 86400
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Clock(object):
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds

    sleep = advance


def parse(text):
    """{(sample name, sorted label items): value} and {family name: type} of an exposition."""
    values, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values, types


def exposition(metrics):
    code, content_type, body = metrics.render()
    assert code == 200 and content_type == CONTENT_TYPE_LATEST
    return parse(body.decode("utf-8"))[0]


def value(values, name, **labels):
    return values[("directory_sync_" + name, tuple(sorted(labels.items())))]


def errors(values):
    return dict((reason, value(values, "errors_total", reason=reason)) for reason in metrics_mod.REASONS)


def no_errors_but(**counts):
    return dict((reason, counts.get(reason, 0.0)) for reason in metrics_mod.REASONS)


def cluster(name):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster", "metadata": {"name": name},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}


def fleet(*names):
    directory = FakeCluster(label="directory", server=SERVER)
    for name in names:
        directory.add(cluster(name))
    return directory


def write_credential(path, token, ca_file=None):
    config = build_kubeconfig(SERVER, token)
    if ca_file is not None:
        config["clusters"][0]["cluster"]["certificate-authority"] = ca_file
    path.write_text(yaml.safe_dump(config))


def make_agent(tmp_path, clock, directory_factory, token=None, replica=None):
    path = tmp_path / "kubeconfig"
    write_credential(path, token or bound_token(exp=EXP))
    metrics = metrics_mod.new_metrics("1.0.0")
    agent = loop.Agent(replica or FakeCluster(label="east"), loop.CredentialFile(str(path)), resync=60, relist=60,
                       rand=lambda: 0.5,  # the directory listed again every 60 s exactly
                       status_interval=300, reload_interval=2, backoff=retries.Backoff(1.0, 8.0, rand=lambda: 1.0),
                       health=health_mod.Health(120, 180, clock=clock), directory_factory=directory_factory,
                       clock=clock, wall=clock, metrics=metrics)
    return agent, metrics, path
