// SPDX-License-Identifier: MIT

//go:build race

package nice

// raceBuild is raceEnabled (race_on_test.go) for the package's internal tests.
const raceBuild = true
