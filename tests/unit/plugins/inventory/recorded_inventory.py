"""`ansible-inventory` with the directory plugin reading a recorded ClusterList instead of the directory.

    python recorded_inventory.py COLLECTIONS_PARENT RECORDED_JSON CALLS_FILE ansible-inventory-arguments...

Run in a process of its own (test_directory.py), so that the collection loader sets the collection up as
ansible-inventory does. registry.cluster.list_clusters, the one function the plugin lists Clusters with, answers
RECORDED_JSON's items; each call appends {"label_selector": ..., "server": ...} as a JSON line to CALLS_FILE.
registry.cluster.heartbeats, the one function it lists the heartbeat Leases with, answers the items of
lease_list.json (next to RECORDED_JSON), and time.time() is that file's "now", so that availability is the same
every run.
Everything else - the plugin's options, its ClusterClient (built from the kubeconfig option, never used to send
a request), the cache, compose, groups, keyed_groups, the output - is ansible-core's own."""

import datetime
import json
import os
import sys
import time


def main(argv):
    collections_parent, recorded, calls = argv[1:4]
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([collections_parent])
    from ansible_collections.coreos.multicluster.plugins.module_utils.registry import cluster

    with open(recorded, encoding="utf-8") as handle:
        items = json.load(handle)["items"]

    def list_clusters(client, label_selector=None):
        with open(calls, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"label_selector": label_selector, "server": client.server}) + "\n")
        return items

    cluster.list_clusters = list_clusters
    with open(os.path.join(os.path.dirname(recorded), "lease_list.json"), encoding="utf-8") as handle:
        leases = json.load(handle)
    now = datetime.datetime.strptime(leases["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    cluster.heartbeats = lambda client, name=None: (dict((i["metadata"]["name"], i) for i in leases["items"]), None)
    time.time = now.timestamp
    from ansible.cli.inventory import InventoryCLI
    sys.argv = ["ansible-inventory"] + argv[4:]
    InventoryCLI.cli_executor(sys.argv)


if __name__ == "__main__":
    main(sys.argv)
