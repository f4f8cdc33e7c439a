// SPDX-License-Identifier: MIT

//go:build linux && 386

package nice

import "net/netip"

// send sends b to addr through the standard library: on 386 there is no
// sendto system call of its own (socketcall multiplexes them), so no raw
// path (send_linux.go). Off Linux nothing calls send (icmp_other.go keeps
// the standard library's WriteToUDPAddrPort).
func (c *osConn) send(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}
