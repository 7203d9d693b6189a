// The lab node's pause image (tests/lab/node.py): the process that holds a pod's namespaces. It waits
// for SIGINT or SIGTERM and exits 0, and reaps the zombies it inherits as a pod's first process.
//
// Built static (CGO_ENABLED=0) by the lab into an image of one file, localhost/coreos-multicluster/pause,
// which the lab loads into each node's containerd; no registry is involved.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
