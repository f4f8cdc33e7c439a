// SPDX-License-Identifier: MIT

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// netnsMarker is set in the environment of a run re-executed in a network
// namespace of its own.
const netnsMarker = "NICEBENCH_NETNS"

// inOwnNetns makes sure the rest of this run happens in a network
// namespace of its own, where only lo exists (brought up here): the
// first time, it runs this program again with sub and args in a new
// namespace (root only) and exits with its status; in that child it
// brings lo up and returns.
func inOwnNetns(sub string, args []string) {
	if os.Getenv(netnsMarker) == "" {
		self, err := os.Executable()
		if err != nil {
			fatalf("%v", err)
		}
		cmd := exec.Command(self, append([]string{sub}, args...)...)
		cmd.Env = append(os.Environ(), netnsMarker+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fatalf("nicebench %s: re-exec in a network namespace: %v", sub, err)
		}
		os.Exit(0)
	}
	if b, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fatalf("ip link set lo up: %v: %s", err, b)
	}
}
