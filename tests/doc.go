// SPDX-License-Identifier: MIT

// Package tests holds gonice's integration and interop tests: gonice against
// other ICE implementations (pion/ice v4, libnice 0.1.21 through a C peer and
// libnice's own examples, aioice in a network namespace), TURN through
// coturn, and the NAT lab (tests/natlab: network namespaces with nftables NAT
// routers). The C API's tests live in tests/c and run under CTest;
// tests/bench is the benchmark harness. It is a Go module of its own, so that
// test-only peers such as pion/ice never enter the library's go.mod.
package tests
