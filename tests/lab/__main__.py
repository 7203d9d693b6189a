"""make lab-up / make lab-down: python -m tests.lab up|down|status [--dir DIR] [--nodes] [--light-replicas].

up --nodes gives every replica (every cluster but the first, the directory) a
real node (tests/lab/node.py), with the agent's image (make image) and a pause
image loaded into it; the API servers then listen on the lab's bridge address.

up --light-replicas runs etcd and kube-apiserver only on the replicas: only the
directory gets a kube-controller-manager (its token controller), so that many
replicas fit one machine (no token Secrets, namespace controller or garbage
collector on the replicas)."""

import argparse
import os
import sys

from .fleet import AGENT_IMAGE, DEFAULT_NAMES, Fleet, LabError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", default=os.environ.get("MC_LAB_DIR", os.path.abspath(".lab")),
                        help="folder for kubeconfigs, inventory, state and logs (default: .lab, or MC_LAB_DIR)")
    parser.add_argument("--names", default=",".join(DEFAULT_NAMES), help="comma-separated cluster names")
    parser.add_argument("--nodes", action="store_true",
                        help="up: a node for every replica (root; containerd, runc, containernetworking-plugins; "
                             "tests/lab/build-kubernetes.sh --node; the agent's image built by make image)")
    parser.add_argument("--light-replicas", action="store_true",
                        help="up: no kube-controller-manager on the replicas (etcd and kube-apiserver only); "
                             "the directory keeps one")
    parser.add_argument("--image", action="append", dest="images", metavar="REF",
                        help="with --nodes: an image in podman's store to load into the nodes (repeatable; "
                             "default: the agent's image, %s)" % AGENT_IMAGE)
    args = parser.parse_args(argv)
    root = os.path.abspath(args.dir)
    state = os.path.join(root, "lab.json")
    try:
        if args.action == "up":
            if os.path.exists(state):
                print("a lab is already running in %s (make lab-down first)" % root, file=sys.stderr)
                return 1
            names = [n for n in args.names.split(",") if n]
            fleet = Fleet(root, names, nodes=args.nodes, images=args.images,
                          controller_managers=names[:1] if args.light_replicas else None)
            clusters = fleet.start()
            inventory = fleet.write_inventory()
            print("lab fleet is up: %s" % root)
            for cluster in clusters:
                print("  %-24s %s  kubeconfig: %s" % (cluster.name, cluster.server, cluster.kubeconfig))
                if cluster.node:
                    print("  %-24s node %s (%s), network namespace %s" % (
                        "", cluster.node["name"], cluster.node["ip"], cluster.node["netns"]))
            print("  inventory: %s" % inventory)
            print("  logs:      %s/<cluster>/logs/" % root)
            return 0
        if not os.path.exists(state):
            print("no lab running in %s" % root)
            return 0
        fleet = Fleet.from_state(root)
        if args.action == "status":
            for cluster in fleet.clusters.values():
                result = cluster.kubectl("get", "--raw", "/readyz", check=False)
                print("%-24s %s %s" % (cluster.name, cluster.server, result.stdout.strip() or result.stderr.strip()))
            return 0
        stopped = fleet.stop()
        print("lab fleet stopped: %d processes ended, none left running" % len(stopped))
        return 0
    except LabError as exc:
        print("lab: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
