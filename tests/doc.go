// SPDX-License-Identifier: MIT

// Package tests holds gonice's integration and interop tests: gonice
// against other ICE implementations (pion/ice now; libnice, aioice and a
// NAT lab later). It is a Go module of its own, so that test-only peers
// such as pion/ice never enter the library's go.mod.
package tests
