// SPDX-License-Identifier: MIT

//go:build race

package dtlssrtp_test

// raceEnabled: built with -race, where sync.Pool drops items at random and
// allocation counts mean nothing.
const raceEnabled = true
