// SPDX-License-Identifier: MIT

//go:build linux && !386

package nice

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestRawSend: a socket's raw sendto (send_linux.go) delivers the datagram
// whole, from the socket's address, to IPv4 and IPv6 destinations; a
// destination of the other family goes through the standard library; the
// errors are the standard library's shapes (an errno inside a
// *net.OpError, net.ErrClosed after Close); a send allocates nothing.
func TestRawSend(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"IPv4", "127.0.0.1:0"}, {"IPv6", "[::1]:0"}, {"IPv4 bound as IPv4-mapped", "[::ffff:127.0.0.1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			laddr := netip.MustParseAddrPort(tc.addr)
			pc, err := osNet{}.ListenUDP(laddr)
			if err != nil {
				t.Skip(err) // no IPv6 loopback here
			}
			c := pc.(*osConn)
			defer c.Close()
			rx, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(laddr.Addr().Unmap(), 0)))
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
			for _, size := range []int{0, 1, 1200, 65507} {
				p := bytes.Repeat([]byte{byte(size)}, size)
				n, err := c.send(p, dst)
				if err != nil || n != size {
					t.Fatalf("send of %d bytes: %d, %v", size, n, err)
				}
				buf := make([]byte, 65536)
				_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
				m, from, err := rx.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:m], p) {
					t.Fatalf("received %d bytes, sent %d", m, size)
				}
				if from.Port() != c.local.Port() || from.Addr().Unmap() != c.local.Addr().Unmap() {
					t.Fatalf("from %v, the socket is %v", from, c.local)
				}
			}
			if !raceBuild {
				p := make([]byte, 100)
				if a := testing.AllocsPerRun(100, func() { _, _ = c.send(p, dst) }); a != 0 {
					t.Errorf("a send allocates %.1f times", a)
				}
				drain(rx)
			}
			// The other family: the standard library's path and error.
			other := netip.MustParseAddrPort("[::1]:9")
			if !laddr.Addr().Unmap().Is4() {
				other = netip.MustParseAddrPort("127.0.0.1:9")
			}
			_, errRaw := c.send([]byte("x"), other)
			_, errStd := c.UDPConn.WriteToUDPAddrPort([]byte("x"), other)
			if (errRaw == nil) != (errStd == nil) {
				t.Errorf("to the other family: %v, the standard library: %v", errRaw, errStd)
			}
			_ = c.Close()
			if _, err := c.send([]byte("x"), dst); !errors.Is(err, net.ErrClosed) {
				t.Errorf("send after Close: %v, want net.ErrClosed", err)
			}
		})
	}
	t.Run("errno", func(t *testing.T) {
		// A datagram larger than IPv4 carries: EMSGSIZE.
		pc, err := osNet{}.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		c := pc.(*osConn)
		defer c.Close()
		big := make([]byte, 65508)
		dst := netip.MustParseAddrPort("127.0.0.1:9")
		_, err = c.send(big, dst)
		var oe *net.OpError
		var errno syscall.Errno
		if !errors.As(err, &oe) || !errors.As(err, &errno) || errno != syscall.EMSGSIZE {
			t.Fatalf("65508 bytes: %v (%T), want EMSGSIZE in a *net.OpError", err, err)
		}
		_, stdErr := c.UDPConn.WriteToUDPAddrPort(big, dst)
		if err.Error() != stdErr.Error() {
			t.Errorf("error %q, the standard library's %q", err, stdErr)
		}
	})
}

// drain reads what is queued on c.
func drain(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			return
		}
	}
}
