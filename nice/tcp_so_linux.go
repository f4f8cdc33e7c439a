// SPDX-License-Identifier: MIT

//go:build linux && (amd64 || arm64)

package nice

import (
	"context"
	"net"
	"net/netip"
	"syscall"
)

var _ soNet = osNet{}

// soReusePort is SO_REUSEPORT on Linux (amd64 and arm64), which package
// syscall names only for arm64.
const soReusePort = 0xf

// shareTCPPort lets a listener and the connections made from its port
// share it (SO_REUSEADDR, SO_REUSEPORT), for simultaneous open.
func shareTCPPort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		}
	}); err != nil {
		return err
	}
	return serr
}

func (osNet) listenTCPShared(laddr netip.AddrPort) (net.Listener, error) {
	lc := net.ListenConfig{Control: shareTCPPort}
	return lc.Listen(context.Background(), "tcp", laddr.String())
}

func (osNet) dialTCPFrom(ctx context.Context, laddr, raddr netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(laddr), Control: shareTCPPort}
	return d.DialContext(ctx, "tcp", raddr.String())
}
