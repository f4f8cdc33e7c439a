// SPDX-License-Identifier: MIT

//go:build !linux || 386

package nice

import "net/netip"

// send sends b to addr through the standard library (send_linux.go has
// the raw path).
func (c *osConn) send(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}
