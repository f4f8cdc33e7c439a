// SPDX-License-Identifier: MIT

//go:build !race

package dtlssrtp_test

const raceEnabled = false
