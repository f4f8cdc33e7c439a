// SPDX-License-Identifier: MIT

package nice

import "time"

// SetTCPUnauthTimeout sets how long an accepted ICE-TCP connection may stay
// without an authenticated check, for the tests of package nice_test; the
// function it returns restores the default. Not safe while agents run.
func SetTCPUnauthTimeout(d time.Duration) (restore func()) {
	old := tcpUnauthTimeout
	tcpUnauthTimeout = d
	return func() { tcpUnauthTimeout = old }
}
