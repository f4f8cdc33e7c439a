// SPDX-License-Identifier: MIT

//go:build race

package srtp

const raceEnabled = true
