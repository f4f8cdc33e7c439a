// SPDX-License-Identifier: MIT

//go:build !race

package nice

// raceBuild is raceEnabled (race_off_test.go) for the package's internal tests.
const raceBuild = false
