"""The playbooks' summary filters."""

from ansible_collections.coreos.multicluster.plugins.filter.summary import summary_line, summary_table


def test_summary_line_statuses():
    assert summary_line({"changed": True, "item": "east"}, "register") == {"step": "register east", "status": "changed"}
    assert summary_line({"changed": False}, "install") == {"step": "install", "status": "ok"}
    assert summary_line({"skipped": True, "item": "x"}, "s")["status"] == "skipped"
    failed = summary_line({"failed": True, "msg": "cannot connect", "item": "central"}, "register")
    assert failed == {"step": "register central", "status": "failed", "msg": "cannot connect"}
    assert summary_line({"unreachable": True}, "s")["status"] == "failed"


def test_summary_table_counts_and_skips_hosts_without_records():
    hostvars = {
        "west": {"directory_setup_summary": [{"step": "b", "status": "ok"}],
                 "registry_summary": [{"step": "a", "status": "changed"}]},
        "east": {"replica_onboarding_summary": [{"step": "c", "status": "failed", "msg": "boom"}]},
        "quiet": {},
    }
    lines = summary_table(hostvars, ["west", "east", "quiet"])
    assert lines[0] == "west:" and "changed  a" in lines[1] and "ok       b" in lines[2]
    assert lines[3] == "east:" and lines[4].endswith("c: boom")
    assert lines[-1] == "total: 1 changed, 1 already in place, 1 failed"
    assert "quiet:" not in lines
