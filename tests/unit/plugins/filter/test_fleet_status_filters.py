"""The fleet_status filters: rows from hostvars, a failed host as a row, fail_on checked."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.coreos.multicluster.plugins.filter.fleet_status import (
    fleet_status_failing, fleet_status_rows, fleet_status_table)


def test_rows_from_hostvars_with_a_failed_host_as_a_row():
    hostvars = {
        "east": {"_fleet_status": {"status": {"name": "east", "role": "replica", "reachable": True, "error": None,
                                              "sync": {"stale": False, "result": "ok", "age_seconds": 5},
                                              "credential": {"present": True, "type": "token_request",
                                                             "days_left": 20.0, "renewal_due": False}}}},
        "broken": {"_fleet_status": {"failed": True, "msg": "name 'Broken!' is not a DNS-1123 label"}},
    }
    rows = fleet_status_rows(hostvars, ["east", "broken"], [{"name": "east", "labels": {"stage": "production"}}])
    assert [(r["name"], r["registered"]) for r in rows] == [("broken", False), ("east", True)]
    assert rows[0]["reachable"] is False and "DNS-1123" in rows[0]["error"]
    table = fleet_status_table(rows)
    assert table[1].startswith("broken") and "broken: name 'Broken!'" in "\n".join(table)
    assert fleet_status_failing(rows, "unreachable,stale") == ["broken: unreachable"]


def test_an_unknown_fail_on_reason_is_refused():
    with pytest.raises(AnsibleFilterError, match="fleet_status_fail_on: late not one of stale"):
        fleet_status_failing([], ["late"])


def test_a_host_that_was_not_read_is_a_row_under_its_cluster_name_and_role():
    hostvars = {
        "west-alias": {"mc_cluster_name": "west", "group_names": ["directory"],
                       "_fleet_status": {"skipped": True, "changed": False}},
    }
    rows = fleet_status_rows(hostvars, ["west-alias"], [{"name": "west", "labels": {}}])
    assert rows[0]["name"] == "west" and rows[0]["role"] == "directory" and rows[0]["registered"] is True
    assert rows[0]["error"] == "not read: mc_kubeconfig is not set for this host"


def test_unknown_registration_fails_unregistered_and_a_bad_day_count_is_refused():
    rows = fleet_status_rows({"east": {"_fleet_status": {"status": {"name": "east", "role": "replica",
                                                                    "reachable": True}}}}, ["east"], None)
    assert fleet_status_failing(rows, "unregistered") == [
        "east: registration unknown (the directory's list could not be read)"]
    with pytest.raises(AnsibleFilterError, match="fleet_status_expiring_days: '' is not a number of days"):
        fleet_status_failing(rows, "expiring", "")


def test_a_failed_hosts_message_is_one_line_and_each_row_has_the_inventorys_address():
    hostvars = {"east": {"mc_api_endpoint": "https://east.example.com",
                         "_fleet_status": {"failed": True, "msg": "boom\n\x1b[2Jwest  directory  yes" + "z" * 3000}}}
    rows = fleet_status_rows(hostvars, ["east"], [{"name": "east", "server": "https://east.example.com"}])
    assert rows[0]["api_endpoint"] == "https://east.example.com" and rows[0]["endpoint_mismatch"] is None
    assert rows[0]["error"].startswith("boom west directory yes") and len(rows[0]["error"]) == 1024
    assert fleet_status_failing(rows, "insecure-endpoint,endpoint-mismatch") == []
