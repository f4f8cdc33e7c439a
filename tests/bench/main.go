// SPDX-License-Identifier: MIT

// Command nicebench runs gonice, libnice and pion/ice side by side and
// prints a table of ratios (tests/bench/README.md). `./run bench` builds
// everything it needs and runs it.
//
//	nicebench run [-rounds 5] [-tests connect,throughput,idle,scale] [-quick] [-out FILE]
//	nicebench worker gonice|pion|raw-go TEST [options]
//	nicebench webrtc [-rounds 10] [-sessions 5] [-roles client,server] [-quick] [-out FILE]
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	if os.Getenv("NICEBENCH_MEMPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact per-agent account
	}
	switch os.Args[1] {
	case "run":
		runDriver(os.Args[2:])
	case "webrtc":
		runWebRTC(os.Args[2:])
	case "soak":
		runSoak(os.Args[2:])
	case "worker":
		if len(os.Args) < 4 {
			usage()
		}
		impl, test, o := os.Args[2], os.Args[3], parseOptions(os.Args[4:])
		switch impl {
		case "gonice":
			goniceWorker(test, o)
		case "pion":
			pionWorker(test, o)
		case "raw-go":
			rawGoWorker(test, o)
		default:
			fatalf("unknown implementation %q", impl)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  nicebench run [-rounds N] [-tests connect,throughput,idle,scale] [-quick] [-out FILE] [-bin DIR]
  nicebench worker gonice|pion|raw-go connect|throughput|idle|scale [--option value ...]
  nicebench webrtc [-rounds N] [-sessions N] [-roles client,server] [-quick] [-out FILE] [-log FILE] [-page FILE]`)
	os.Exit(2)
}
