// SPDX-License-Identifier: MIT

//go:build !race

package nice_test

const raceEnabled = false
