// SPDX-License-Identifier: MIT

//go:build race

package nice_test

// raceEnabled: built with -race. The race detector makes sync.Pool drop a
// quarter of what is put back (on purpose, to find misuse), so pooled
// buffers are reallocated at random and allocation counts mean nothing.
const raceEnabled = true
