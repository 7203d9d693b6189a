# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's /metrics: the exposition on the health port (read back with
prometheus_client's parser), main() serving it, the agent without
prometheus_client (503), and docs/monitoring.md naming only real metrics."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import io
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ansible_collections.coreos.multicluster.agent import cli, logs
from ansible_collections.coreos.multicluster.agent import health as health_mod
from ansible_collections.coreos.multicluster.agent import metrics as metrics_mod
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from tests.unit.agent.metrics_fakes import (
    EXP, ROOT, SERVER, T0, Clock, errors, exposition, fleet, make_agent, no_errors_but, parse, value)
from tests.unit.utils.tokens import bound_token


@pytest.fixture(autouse=True)
def quiet_logs():
    logs.configure_logging(io.StringIO())


def test_the_monitoring_page_names_only_metrics_the_agent_has():
    with open(os.path.join(ROOT, "docs", "monitoring.md")) as handle:
        page = handle.read()
    metrics = metrics_mod.new_metrics()
    metrics.sync_succeeded({"counts": {"clusters": {"held": 1}}}, T0)
    exposed = set(name for name, labels in exposition(metrics))
    named = set(re.findall(r"\bdirectory_sync_[a-z_]+", page))
    assert named and named <= exposed, named - exposed
    assert exposed - {"directory_sync_errors_created"} <= named  # and every one is described
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", page, re.S)]
    rule = [b for b in blocks if b.get("kind") == "PrometheusRule"][0]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    assert "time() - directory_sync_last_success_timestamp_seconds > 600" in exprs
    assert any('directory_sync_errors_total{reason="credential_refused"}' in e for e in exprs)


def fetch(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read().decode("utf-8")


def serve(metrics):
    return health_mod.serve_health(health_mod.Health(120, 180), "127.0.0.1", 0, metrics)


def test_the_metrics_endpoint_serves_the_exposition_on_the_health_port():
    metrics = metrics_mod.new_metrics("1.0.0")
    metrics.credential_loaded(build_kubeconfig(SERVER, bound_token(exp=EXP)))
    metrics.sync_succeeded({"counts": {"clusters": {"desired": 3, "held": 3, "conflicts": 0}}}, T0)
    metrics.sync_failed("credential_refused", T0 + 5)
    server = serve(metrics)
    try:
        code, content_type, text = fetch(server.server_port, "/metrics")
        assert code == 200 and content_type == CONTENT_TYPE_LATEST
        values = parse(text)[0]
        assert value(values, "last_success_timestamp_seconds") == T0
        assert value(values, "last_attempt_timestamp_seconds") == T0 + 5
        assert value(values, "objects_held", kind="clusters") == 3
        assert value(values, "credential_expiry_timestamp_seconds") == EXP
        assert errors(values) == no_errors_but(credential_refused=1)
        assert value(values, "build_info", version="1.0.0") == 1
        assert fetch(server.server_port, "/metrics?debug=1")[0] == 200
        code, content_type, text = fetch(server.server_port, "/healthz")
        assert code == 503 and content_type == "application/json" and json.loads(text)["status"] == "starting"
    finally:
        server.shutdown()
        server.server_close()
    server = serve(None)  # no metrics given: no /metrics
    try:
        assert fetch(server.server_port, "/metrics")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def run_main(tmp_path, monkeypatch, stream):
    """main() in a thread, with a missing directory kubeconfig; returns (GET /metrics, stop)."""
    replica = tmp_path / "replica.kubeconfig"
    replica.write_text(yaml.safe_dump(build_kubeconfig("https://127.0.0.1:9", "replica-token")))
    handlers, result = {}, []
    monkeypatch.setattr(cli.signal, "signal", handlers.__setitem__)
    thread = threading.Thread(target=lambda: result.append(cli.main(
        ["--kubeconfig", str(replica), "--directory-kubeconfig", str(tmp_path / "none"), "--health-address",
         "127.0.0.1", "--health-port", "0", "--backoff-max", "0.5"], stream=stream)))
    thread.start()
    deadline = time.monotonic() + 5
    while '"sync failed"' not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    port = json.loads(stream.getvalue().splitlines()[0])["health_port"]
    answer = fetch(port, "/metrics")
    handlers[cli.signal.SIGTERM](cli.signal.SIGTERM, None)
    thread.join(5)
    assert result == [0]
    return answer


def test_the_agent_serves_its_metrics(tmp_path, monkeypatch):
    stream = io.StringIO()
    code, content_type, text = run_main(tmp_path, monkeypatch, stream)
    assert code == 200 and content_type == CONTENT_TYPE_LATEST
    values = parse(text)[0]
    assert value(values, "errors_total", reason="credential_unusable") >= 1
    assert value(values, "build_info", version=metrics_mod.VERSION) == 1
    assert "not installed" not in stream.getvalue()


@pytest.fixture
def without_prometheus_client(monkeypatch):
    """agent/metrics.py imported where prometheus_client cannot be imported."""
    for name in [n for n in sys.modules if n == "prometheus_client" or n.startswith("prometheus_client.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    try:
        fresh = importlib.reload(metrics_mod)
        monkeypatch.setattr(cli, "new_metrics", fresh.new_metrics)
        yield fresh
    finally:
        monkeypatch.undo()
        importlib.reload(metrics_mod)


def test_without_prometheus_client_the_agent_runs_and_metrics_answers_503(tmp_path, monkeypatch,
                                                                          without_prometheus_client):
    metrics = without_prometheus_client.new_metrics()
    assert not metrics.available
    clock = Clock()
    agent, dummy, dummy2 = make_agent(tmp_path, clock, lambda config: fleet("a", "b"))
    agent.metrics = metrics
    agent.step()
    assert agent.health.ready()[0] == 200
    server = serve(metrics)
    try:
        code, content_type, text = fetch(server.server_port, "/metrics")
        assert code == 503 and content_type.startswith("text/plain")
        assert text.endswith("\n") and len(text.splitlines()) == 1 and "prometheus_client" in text
        assert fetch(server.server_port, "/livez")[0] == 200
    finally:
        server.shutdown()
        server.server_close()
    stream = io.StringIO()
    code, dummy, text = run_main(tmp_path, monkeypatch, stream)
    assert code == 503 and "not installed" in text
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entries[0]["msg"] == "started" and entries[-1]["msg"] == "stopped"
    assert any(e["level"] == "warning" and "/metrics answers 503" in e["msg"] for e in entries)
