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


def test_a_registered_result_with_a_summary_is_read_after_the_roles_own_records():
    steps = [{"step": "register in directory", "status": "changed"},
             {"step": "credential on directory", "status": "ok"}]
    hostvars = {
        "east": {"replica_onboarding_result": {"changed": True, "summary": steps}},
        "central": {"replica_onboarding_result": {"failed": True, "msg": "boom"},
                    "replica_onboarding_summary": [{"step": "read the replica", "status": "failed", "msg": "boom"}]},
        "west": {"replica_onboarding_result": {"skipped": True}},
    }
    lines = summary_table(hostvars, ["east", "central", "west"])
    assert lines[:3] == ["east:", "  changed  register in directory", "  ok       credential on directory"]
    assert lines[3] == "central:" and lines[4] == "  failed   read the replica: boom"
    assert "west:" not in lines
    assert lines[-1] == "total: 1 changed, 1 already in place, 1 failed"


def test_a_message_from_a_cluster_is_printed_as_one_line():
    hostvars = {"east": {"directory_sync_summary": [
        {"step": "sync from the directory: 3 Clusters in sync\ncentral:\n  ok       fake", "status": "ok"},
        {"step": "x", "status": "failed", "msg": "refused\x1b[2J\r\ncentral:\n  changed  fake\x1b]0;t\x07"}]}}
    lines = summary_table(hostvars, ["east"])
    assert lines == ["east:", "  ok       sync from the directory: 3 Clusters in sync central: ok fake",
                     "  failed   x: refused central: changed fake",
                     "total: 0 changed, 1 already in place, 1 failed"]
