// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Net opens the sockets an agent uses and lists the local addresses that
// can carry host candidates. Config.Net nil means the operating system's
// network; package nicetest provides an in-memory network with NATs.
type Net interface {
	// ListenUDP opens a UDP socket bound to laddr; port 0 asks for any port.
	ListenUDP(laddr netip.AddrPort) (PacketConn, error)
	// InterfaceAddrs returns the addresses of the interfaces that are up,
	// loopback and link-local excluded, in a stable order.
	InterfaceAddrs() ([]netip.Addr, error)
}

// PacketConn is a UDP socket as the agent uses it. *net.UDPConn has every
// method but LocalAddrPort. ReadFromUDPAddrPort must return an error wrapping
// net.ErrClosed once Close was called.
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddrPort() netip.AddrPort
	Close() error
}

// TCPDialer is implemented by a Net that can open TCP connections, which
// TURN over TCP and TLS needs (RelayTypeTURNTCP, RelayTypeTURNTLS). The
// operating system's network implements it; with a Net that does not, such
// allocations fail (RelayErrors tells).
type TCPDialer interface {
	// DialTCP connects from local address laddr (any port) to raddr.
	DialTCP(ctx context.Context, laddr netip.Addr, raddr netip.AddrPort) (net.Conn, error)
}

// osNet is the operating system's network.
type osNet struct{}

var _ TCPDialer = osNet{}

func (osNet) DialTCP(ctx context.Context, laddr netip.Addr, raddr netip.AddrPort) (net.Conn, error) {
	var d net.Dialer
	if laddr.IsValid() && !laddr.IsUnspecified() {
		d.LocalAddr = &net.TCPAddr{IP: laddr.AsSlice(), Zone: laddr.Zone()}
	}
	return d.DialContext(ctx, "tcp", raddr.String())
}

// socketBufferSize is what the agent asks for SO_RCVBUF and SO_SNDBUF: large
// enough that a burst of media is not dropped by the kernel. The kernel caps
// it at net.core.rmem_max / wmem_max.
const socketBufferSize = 4 << 20

type osConn struct {
	*net.UDPConn
	local netip.AddrPort
	// rc is the socket's raw access, for sends (send_linux.go) and the
	// error queue (icmp_linux.go).
	rc syscall.RawConn
	// icmp receives the socket's ICMP errors (icmp_linux.go): set by
	// watchICMP before the socket is used, nil if it was not called.
	icmp func(dst netip.AddrPort, err syscall.Errno)
}

func (c *osConn) LocalAddrPort() netip.AddrPort { return c.local }

// SetTOS sets the IP TOS byte (IPv4) or traffic class (IPv6) of what the
// socket sends. It implements tosSetter.
func (c *osConn) SetTOS(tos int) error {
	if c.local.Addr().Is4() {
		return ipv4.NewConn(c.UDPConn).SetTOS(tos)
	}
	return ipv6.NewConn(c.UDPConn).SetTrafficClass(tos)
}

// tosSetter is a socket whose TOS / traffic class can be set. Sockets of a
// Net that do not implement it (in-memory ones) ignore SetStreamTOS.
type tosSetter interface {
	SetTOS(tos int) error
}

func (osNet) ListenUDP(laddr netip.AddrPort) (PacketConn, error) {
	network := "udp4"
	if laddr.Addr().Is6() && !laddr.Addr().Is4In6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(socketBufferSize)
	_ = c.SetWriteBuffer(socketBufferSize)
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	// Keep the bound address (with its zone) rather than the unspecified one.
	local = netip.AddrPortFrom(laddr.Addr(), local.Port())
	rc, err := c.SyscallConn()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &osConn{UDPConn: c, local: local, rc: rc}, nil
}

// ignoredInterfacePrefixes are skipped when addresses are detected, as
// libnice's default ignored-network-interface-prefix list.
var ignoredInterfacePrefixes = []string{"docker", "veth", "virbr", "vnet"}

func (osNet) InterfaceAddrs() ([]netip.Addr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagRunning == 0 {
			continue
		}
		skip := false
		for _, p := range ignoredInterfacePrefixes {
			if strings.HasPrefix(ifc.Name, p) {
				skip = true
			}
		}
		if skip {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			out = append(out, ip)
		}
	}
	return out, nil
}

// isClosedErr reports whether err means the socket was closed.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

// isTransientErr reports whether a read error should be ignored: an ICMP
// error reported on the socket (isICMPErr).
func isTransientErr(err error) bool {
	return isICMPErr(err)
}
