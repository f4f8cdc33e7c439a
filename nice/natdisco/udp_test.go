// SPDX-License-Identifier: MIT

package natdisco

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/stunserver"
)

// udpTimeout bounds every call on loopback.
const udpTimeout = 20 * time.Second

// startLoopbackServer serves behaviour discovery on 127.0.0.1 and
// 127.0.0.2 (loopback holds the whole of 127.0.0.0/8) with free ports.
func startLoopbackServer(t *testing.T) stunserver.BehaviorAddrs {
	t.Helper()
	srv := new(stunserver.Server)
	sa, err := srv.ListenAndServeBehavior(stunserver.BehaviorConfig{
		Primary: netip.MustParseAddr("127.0.0.1"), Alternate: netip.MustParseAddr("127.0.0.2"),
	})
	if err != nil {
		t.Fatalf("ListenAndServeBehavior: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return sa
}

// udpConn opens a UDP socket bound to addr, closed at the end of the test.
func udpConn(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkNoReaders fails t if a session's reading goroutine is still
// running: with *net.UDPConn, every call must stop its own. A reader has
// stopped when the call returns, but its goroutine may take a moment to
// leave the stack dumps (it is past close(done), on its way out), so a
// few dumps are taken before failing.
func checkNoReaders(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for try := 0; ; try++ {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte("natdisco.(*session).read")) {
			return
		}
		if try == 50 {
			t.Fatalf("a reading goroutine outlived its call:\n%s", buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLoopbackUDP(t *testing.T) {
	sa := startLoopbackServer(t)
	for _, bind := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		t.Run("bound to "+bind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), udpTimeout)
			defer cancel()
			c := udpConn(t, bind)
			port := c.LocalAddr().(*net.UDPAddr).AddrPort().Port()
			me := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)

			for range 2 { // the socket stays usable after a call
				mapped, err := MappedAddress(ctx, c, sa.A1P1)
				if err != nil || mapped != me {
					t.Fatalf("MappedAddress = %v, %v; want %v", mapped, err, me)
				}
			}
			checkNoReaders(t)

			cr, err := ClassicNATType(ctx, udpConn(t, bind), sa.A1P1)
			if err != nil || cr.Type != OpenInternet || !cr.PreservesPort || !cr.Hairpin || cr.String() != "Open" {
				t.Errorf("ClassicNATType = %+v (%q), %v; want Open Internet", cr, cr, err)
			}
			if cr.Changed != sa.A2P2 {
				t.Errorf("CHANGED-ADDRESS %v, want %v", cr.Changed, sa.A2P2)
			}
			br, err := Behavior(ctx, udpConn(t, bind), sa.A1P1)
			if err != nil || br.NATed || br.Mapping != EndpointIndependent || br.Filtering != EndpointIndependent ||
				br.Origin != sa.A1P1 || br.Other != sa.A2P2 || br.String() != "Open" {
				t.Errorf("Behavior = %+v (%q), %v; want no NAT, Endpoint-Independent mapping and filtering", br, br, err)
			}
			checkNoReaders(t)
		})
	}
}

func TestLoopbackUDPBlocked(t *testing.T) {
	// A port nobody listens on: ICMP port unreachable is not reported
	// on an unconnected socket, so this is silence.
	closed := udpConn(t, "127.0.0.1:0")
	dead := closed.LocalAddr().(*net.UDPAddr).AddrPort()
	closed.Close()
	fast := &Client{RTO: 20 * time.Millisecond, Rc: 2, Rm: 2}
	ctx, cancel := context.WithTimeout(t.Context(), udpTimeout)
	defer cancel()
	if _, err := fast.MappedAddress(ctx, udpConn(t, "127.0.0.1:0"), dead); !errors.Is(err, ErrNoResponse) {
		t.Errorf("MappedAddress = %v, want ErrNoResponse", err)
	}
	cr, err := fast.ClassicNATType(ctx, udpConn(t, "127.0.0.1:0"), dead)
	if err != nil || cr.Type != UDPBlocked {
		t.Errorf("ClassicNATType = %v, %v; want UDP Blocked", cr.Type, err)
	}
	checkNoReaders(t)
}
