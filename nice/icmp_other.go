// SPDX-License-Identifier: MIT

//go:build !linux

package nice

import (
	"errors"
	"net/netip"
	"syscall"
)

// watchICMP: ICMP errors are read on Linux only (icmp_linux.go); elsewhere
// STUN and TURN transactions to an unreachable server end at their
// timeouts.
func (c *osConn) watchICMP(func(netip.AddrPort, syscall.Errno)) error {
	return errors.ErrUnsupported
}

func (c *osConn) pendingICMP(error) bool { return false }

// isICMPErr reports whether err is one that an ICMP error may become on a
// socket.
func isICMPErr(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EMSGSIZE)
}
