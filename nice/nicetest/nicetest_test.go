// SPDX-License-Identifier: MIT

package nicetest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

var (
	ip = netip.MustParseAddr
	ap = netip.MustParseAddrPort

	any4 = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
)

func listen(t *testing.T, h *Host, laddr netip.AddrPort) nice.PacketConn {
	t.Helper()
	c, err := h.ListenUDP(laddr)
	if err != nil {
		t.Fatalf("ListenUDP(%v): %v", laddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c nice.PacketConn, to netip.AddrPort, msg string) {
	t.Helper()
	if n, err := c.WriteToUDPAddrPort([]byte(msg), to); err != nil || n != len(msg) {
		t.Fatalf("WriteToUDPAddrPort(%v) = %d, %v", to, n, err)
	}
}

// recvNow returns a datagram already queued at c, without blocking.
func recvNow(c nice.PacketConn) (string, netip.AddrPort, bool) {
	select {
	case p := <-c.(*conn).in:
		return string(p.data), p.from, true
	default:
		return "", netip.AddrPort{}, false
	}
}

func mustRecv(t *testing.T, c nice.PacketConn, wantMsg string) netip.AddrPort {
	t.Helper()
	msg, from, ok := recvNow(c)
	if !ok {
		t.Fatalf("%v: no datagram, want %q", c.LocalAddrPort(), wantMsg)
	}
	if msg != wantMsg {
		t.Fatalf("%v: got %q from %v, want %q", c.LocalAddrPort(), msg, from, wantMsg)
	}
	return from
}

func mustNotRecv(t *testing.T, c nice.PacketConn) {
	t.Helper()
	if msg, from, ok := recvNow(c); ok {
		t.Fatalf("%v: unexpected %q from %v", c.LocalAddrPort(), msg, from)
	}
}

type result struct {
	msg  string
	from netip.AddrPort
	err  error
	at   time.Time
}

// readAsync reads one datagram from c in a goroutine, with the public API.
func readAsync(c nice.PacketConn) <-chan result {
	ch := make(chan result, 1)
	go func() {
		buf := make([]byte, 1500)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		ch <- result{string(buf[:n]), from, err, time.Now()}
	}()
	return ch
}

func TestDirectDelivery(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	a := n.NewHost(ip("203.0.113.1"))
	b := n.NewHost(ip("203.0.113.2"), ip("2001:db8::2"))
	ca := listen(t, a, ap("203.0.113.1:5000"))
	cb := listen(t, b, any4)
	cb6 := listen(t, b, ap("[2001:db8::2]:6000"))

	send(t, ca, netip.AddrPortFrom(ip("203.0.113.2"), cb.LocalAddrPort().Port()), "hello")
	if from := mustRecv(t, cb, "hello"); from != ap("203.0.113.1:5000") {
		t.Errorf("b saw source %v, want 203.0.113.1:5000", from)
	}
	send(t, cb, ap("203.0.113.1:5000"), "back")
	if from, want := mustRecv(t, ca, "back"), ap("203.0.113.2:49152"); from != want {
		t.Errorf("a saw source %v, want %v (first IPv4 address of b)", from, want)
	}
	// IPv4-mapped destinations are IPv4; the source is unmapped too.
	send(t, ca, ap("[::ffff:203.0.113.2]:49152"), "mapped")
	if from := mustRecv(t, cb, "mapped"); from != ap("203.0.113.1:5000") {
		t.Errorf("source %v", from)
	}
	// A host reaches its own address.
	send(t, cb6, ap("[2001:db8::2]:6000"), "self")
	if from := mustRecv(t, cb6, "self"); from != ap("[2001:db8::2]:6000") {
		t.Errorf("source %v", from)
	}
	// Nobody at that address or port: dropped silently.
	send(t, ca, ap("203.0.113.9:1"), "void")
	send(t, ca, ap("203.0.113.2:1"), "void")
	if s := n.Stats(); s.Sent != 6 || s.Received != 4 || s.Unroutable != 2 {
		t.Errorf("stats %+v", s)
	}
	if s := a.Stats(); s.Sent != 4 || s.Received != 1 || s.Unroutable != 2 {
		t.Errorf("a stats %+v", s)
	}
}

func TestInterfaceAddrs(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	want := []netip.Addr{ip("192.0.2.1"), ip("2001:db8::1"), ip("192.0.2.7")}
	h := n.NewHost(want...)
	got, err := h.InterfaceAddrs()
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("InterfaceAddrs() = %v, %v; want %v", got, err, want)
	}
	got[0] = ip("10.0.0.1")
	if got, _ := h.InterfaceAddrs(); got[0] != want[0] {
		t.Error("InterfaceAddrs returned the host's own slice")
	}
	if h.Addr() != want[0] {
		t.Errorf("Addr() = %v", h.Addr())
	}
}

func TestDuplicateAddressPanics(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	n.NewHost(ip("192.0.2.1"))
	nat := n.NewNAT(FullCone, ip("192.0.2.2"))
	nat.NewHost(ip("10.0.0.1"))
	n.NewHost(ip("10.0.0.1")) // another segment: fine
	for name, f := range map[string]func(){
		"host on host":  func() { n.NewHost(ip("192.0.2.1")) },
		"host on NAT":   func() { n.NewHost(ip("192.0.2.2")) },
		"NAT on host":   func() { n.NewNAT(FullCone, ip("192.0.2.1")) },
		"private":       func() { nat.NewHost(ip("10.0.0.1")) },
		"no address":    func() { n.NewHost() },
		"unspecified":   func() { n.NewHost(netip.IPv4Unspecified()) },
		"twice":         func() { n.NewHost(ip("192.0.2.9"), ip("192.0.2.9")) },
		"bad behaviour": func() { n.NewNAT(NATConfig{Mapping: 7}, ip("192.0.2.3")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestPortAllocation(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	h := n.NewHost(ip("192.0.2.1"))
	c1 := listen(t, h, any4)
	c2 := listen(t, h, ap("192.0.2.1:0"))
	listen(t, h, ap("192.0.2.1:49154"))
	c4 := listen(t, h, any4)
	got := []netip.AddrPort{c1.LocalAddrPort(), c2.LocalAddrPort(), c4.LocalAddrPort()}
	want := []netip.AddrPort{ap("0.0.0.0:49152"), ap("192.0.2.1:49153"), ap("0.0.0.0:49155")}
	if !slices.Equal(got, want) {
		t.Fatalf("ports %v, want %v", got, want)
	}
	// A closed port is free again.
	c2.Close()
	if c, err := h.ListenUDP(ap("192.0.2.1:49153")); err != nil {
		t.Fatalf("rebinding a closed port: %v", err)
	} else {
		c.Close()
	}
	// The invalid address binds like 0.0.0.0.
	c5 := listen(t, h, netip.AddrPort{})
	if got := c5.LocalAddrPort(); got != ap("0.0.0.0:49156") {
		t.Errorf("LocalAddrPort() = %v", got)
	}
}

func TestAddrInUse(t *testing.T) {
	tests := []struct {
		first, second string
		want          error
	}{
		{"192.0.2.1:4000", "192.0.2.1:4000", syscall.EADDRINUSE},
		{"192.0.2.1:4000", "0.0.0.0:4000", syscall.EADDRINUSE},
		{"0.0.0.0:4000", "192.0.2.2:4000", syscall.EADDRINUSE},
		{"0.0.0.0:4000", "0.0.0.0:4000", syscall.EADDRINUSE},
		{"[::]:4000", "[2001:db8::1]:4000", syscall.EADDRINUSE},
		{"192.0.2.1:4000", "192.0.2.2:4000", nil},
		{"0.0.0.0:4000", "[::]:4000", nil},
		{"192.0.2.1:4000", "[2001:db8::1]:4000", nil},
		{"192.0.2.1:4000", "[::ffff:192.0.2.1]:4000", syscall.EADDRINUSE},
		{"192.0.2.1:4000", "192.0.2.3:4001", syscall.EADDRNOTAVAIL},
	}
	for _, tt := range tests {
		t.Run(tt.first+"+"+tt.second, func(t *testing.T) {
			n := NewNetwork()
			defer n.Close()
			h := n.NewHost(ip("192.0.2.1"), ip("192.0.2.2"), ip("2001:db8::1"))
			listen(t, h, ap(tt.first))
			c, err := h.ListenUDP(ap(tt.second))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("second bind: %v", err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("second bind: %v, want %v", err, tt.want)
			}
			if _, ok := errors.AsType[*net.OpError](err); !ok {
				t.Errorf("error %T is not a *net.OpError", err)
			}
		})
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		defer n.Close()
		h := n.NewHost(ip("192.0.2.1"))
		c, err := h.ListenUDP(any4)
		if err != nil {
			t.Fatal(err)
		}
		res := readAsync(c)
		synctest.Wait() // the reader is blocked
		select {
		case r := <-res:
			t.Fatalf("read returned early: %+v", r)
		default:
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if r := <-res; !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("read after Close: %v, want net.ErrClosed", r.err)
		}
		if err := c.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}
		if _, err := c.WriteToUDPAddrPort([]byte("x"), ap("192.0.2.1:1")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write after Close: %v", err)
		}
		if _, _, err := c.ReadFromUDPAddrPort(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after Close: %v", err)
		}
	})
}

func TestNetworkClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		h := n.NewHost(ip("192.0.2.1"))
		nat := n.NewNAT(Symmetric, ip("192.0.2.2"))
		p := nat.NewHost(ip("10.0.0.1"))
		var reads []<-chan result
		for _, host := range []*Host{h, h, p} {
			c, err := host.ListenUDP(any4)
			if err != nil {
				t.Fatal(err)
			}
			reads = append(reads, readAsync(c))
		}
		// A datagram in flight is discarded, and its timer stopped.
		n.SetDelay(time.Second)
		c, _ := h.ListenUDP(ap("192.0.2.1:7"))
		send(t, c, ap("192.0.2.1:7"), "late")
		synctest.Wait()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		for _, r := range reads {
			if r := <-r; !errors.Is(r.err, net.ErrClosed) {
				t.Errorf("read: %v, want net.ErrClosed", r.err)
			}
		}
		time.Sleep(2 * time.Second)
		if s := n.Stats(); s.Received != 0 {
			t.Errorf("delivered after Close: %+v", s)
		}
		if err := n.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := h.ListenUDP(any4); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ListenUDP after Close: %v", err)
		}
	})
}

// TestCloseNoLeak checks with real time that Close leaves no goroutine
// behind, even with a delayed datagram pending.
func TestCloseNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	n := NewNetwork()
	h := n.NewHost(ip("192.0.2.1"))
	c := listen(t, h, ap("192.0.2.1:7"))
	n.SetDelay(time.Hour)
	send(t, c, ap("192.0.2.1:7"), "x")
	n.SetDelay(time.Millisecond)
	send(t, c, ap("192.0.2.1:7"), "y")
	buf := make([]byte, 10)
	if k, _, err := c.ReadFromUDPAddrPort(buf); err != nil || string(buf[:k]) != "y" {
		t.Fatalf("read %q, %v", buf[:k], err)
	}
	n.Close()
	// A timer goroutine may still be returning from its last call.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriteErrors(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	h := n.NewHost(ip("192.0.2.1"))
	c4 := listen(t, h, any4)
	c6 := listen(t, h, ap("[::]:0"))
	tests := []struct {
		c    nice.PacketConn
		to   netip.AddrPort
		size int
		want error
	}{
		{c4, ap("[2001:db8::1]:1"), 1, syscall.EAFNOSUPPORT},
		{c6, ap("[2001:db8::1]:1"), 1, syscall.ENETUNREACH}, // no IPv6 address
		{c4, ap("192.0.2.1:0"), 1, syscall.EINVAL},
		{c4, netip.AddrPort{}, 1, syscall.EINVAL},
		{c4, ap("192.0.2.1:1"), 65508, syscall.EMSGSIZE},
	}
	for _, tt := range tests {
		if _, err := tt.c.WriteToUDPAddrPort(make([]byte, tt.size), tt.to); !errors.Is(err, tt.want) {
			t.Errorf("write %d bytes to %v from %v: %v, want %v", tt.size, tt.to, tt.c.LocalAddrPort(), err, tt.want)
		}
	}
}

func TestCopyAndTruncate(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	h := n.NewHost(ip("192.0.2.1"))
	c := listen(t, h, ap("192.0.2.1:7"))
	b := []byte("abcdef")
	send(t, c, c.LocalAddrPort(), string(b))
	if _, err := c.WriteToUDPAddrPort(b, c.LocalAddrPort()); err != nil {
		t.Fatal(err)
	}
	copy(b, "XXXXXX") // the caller may reuse its buffer
	buf := make([]byte, 3)
	for range 2 {
		k, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:k]) != "abc" {
			t.Fatalf("read %q, %v; want \"abc\"", buf[:k], err)
		}
	}
	// Empty datagrams are datagrams.
	send(t, c, c.LocalAddrPort(), "")
	mustRecv(t, c, "")
}

func TestOverflow(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	h := n.NewHost(ip("192.0.2.1"))
	c := listen(t, h, ap("192.0.2.1:7"))
	for range queueLen + 6 {
		send(t, c, c.LocalAddrPort(), "x")
	}
	if s := n.Stats(); s.Received != queueLen || s.Overflow != 6 {
		t.Errorf("stats %+v", s)
	}
}

// Addresses of the NAT behaviour tests: two STUN-like servers on three
// endpoints, a client behind a NAT.
var (
	s1a = ap("203.0.113.1:3478")
	s1b = ap("203.0.113.1:3479")
	s2a = ap("203.0.113.2:3478")
)

type natLab struct {
	net           *Network
	nat           *NAT
	client        nice.PacketConn
	s1a, s1b, s2a nice.PacketConn
}

func newNATLab(t *testing.T, cfg NATConfig) *natLab {
	n := NewNetwork()
	t.Cleanup(func() { n.Close() })
	s1 := n.NewHost(s1a.Addr())
	s2 := n.NewHost(s2a.Addr())
	nat := n.NewNAT(cfg, ip("198.51.100.1"))
	c := nat.NewHost(ip("192.168.0.2"))
	return &natLab{
		net: n, nat: nat,
		client: listen(t, c, any4),
		s1a:    listen(t, s1, s1a),
		s1b:    listen(t, s1, s1b),
		s2a:    listen(t, s2, s2a),
	}
}

// mapped sends from the client to server and returns the source address the
// server sees.
func (l *natLab) mapped(t *testing.T, server nice.PacketConn) netip.AddrPort {
	t.Helper()
	send(t, l.client, server.LocalAddrPort(), "binding request")
	return mustRecv(t, server, "binding request")
}

// TestNATBehaviours checks mapping (RFC 4787 §4.1) and filtering (§5) of the
// RFC 3489 NAT types and of other combinations: which mapped address
// servers at different addresses and ports observe, and which of them may
// then send to the mapping created towards s1a.
func TestNATBehaviours(t *testing.T) {
	tests := []struct {
		name string
		cfg  NATConfig
		// Mapping: is the mapped address seen by s1b, and by s2a, the
		// one seen by s1a?
		samePort, sameAddr bool
		// Filtering of the mapping towards s1a: are s1b and s2a let in?
		otherPortIn, otherAddrIn bool
	}{
		{"FullCone", FullCone, true, true, true, true},
		{"RestrictedCone", RestrictedCone, true, true, true, false},
		{"PortRestrictedCone", PortRestrictedCone, true, true, false, false},
		{"Symmetric", Symmetric, false, false, false, false},
		{"AD/AD", NATConfig{Mapping: AddressDependent, Filtering: AddressDependent}, true, false, true, false},
		{"APD/EI", NATConfig{Mapping: AddressAndPortDependent, Filtering: EndpointIndependent}, false, false, true, true},
		{"zero", NATConfig{}, true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newNATLab(t, tt.cfg)
			m := l.mapped(t, l.s1a)
			if m.Addr() != l.nat.Addr() || m.Port() != firstNATPort {
				t.Fatalf("s1a saw %v, want %v:%d", m, l.nat.Addr(), firstNATPort)
			}
			if again := l.mapped(t, l.s1a); again != m {
				t.Errorf("second request to s1a mapped to %v, want %v", again, m)
			}
			mb := l.mapped(t, l.s1b)
			m2 := l.mapped(t, l.s2a)
			if (mb == m) != tt.samePort {
				t.Errorf("s1b saw %v, s1a %v: same = %v, want %v", mb, m, mb == m, tt.samePort)
			}
			if (m2 == m) != tt.sameAddr {
				t.Errorf("s2a saw %v, s1a %v: same = %v, want %v", m2, m, m2 == m, tt.sameAddr)
			}

			// Filtering, on a fresh NAT whose only mapping was created
			// towards s1a.
			l = newNATLab(t, tt.cfg)
			m = l.mapped(t, l.s1a)
			for _, probe := range []struct {
				from nice.PacketConn
				want bool
			}{{l.s1a, true}, {l.s1b, tt.otherPortIn}, {l.s2a, tt.otherAddrIn}} {
				send(t, probe.from, m, "probe")
				_, from, ok := recvNow(l.client)
				if ok != probe.want {
					t.Errorf("datagram from %v to %v let in = %v, want %v", probe.from.LocalAddrPort(), m, ok, probe.want)
				}
				if ok && from != probe.from.LocalAddrPort() {
					t.Errorf("client saw source %v, want %v", from, probe.from.LocalAddrPort())
				}
			}
			// No mapping on this port: always dropped.
			send(t, l.s1a, netip.AddrPortFrom(m.Addr(), m.Port()+1), "probe")
			mustNotRecv(t, l.client)
			want := uint64(2)
			if tt.otherPortIn {
				want--
			}
			if tt.otherAddrIn {
				want--
			}
			if got := l.net.Stats().Filtered; got != want+1 {
				t.Errorf("Filtered = %d, want %d", got, want+1)
			}
		})
	}
}

func TestFlushMappings(t *testing.T) {
	l := newNATLab(t, PortRestrictedCone)
	m := l.mapped(t, l.s1a)
	l.nat.FlushMappings()
	send(t, l.s1a, m, "stale")
	mustNotRecv(t, l.client)
	if m2 := l.mapped(t, l.s1a); m2 == m {
		t.Errorf("mapping %v survived a flush", m)
	}
}

// peer is an endpoint behind a NAT that learns its mapped address from a
// STUN-like server.
type peer struct {
	c      nice.PacketConn
	mapped netip.AddrPort
}

func newPeer(t *testing.T, n *Network, cfg NATConfig, public netip.Addr, stun nice.PacketConn) *peer {
	t.Helper()
	// Every peer uses the same private address: segments are separate.
	h := n.NewNAT(cfg, public).NewHost(ip("192.168.1.2"))
	p := &peer{c: listen(t, h, any4)}
	send(t, p.c, stun.LocalAddrPort(), "request")
	p.mapped = mustRecv(t, stun, "request")
	return p
}

func TestHolePunching(t *testing.T) {
	tests := []struct {
		name  string
		a, b  NATConfig
		punch bool
		prflx bool // b hears a from another address than a's mapped one
	}{
		{"PortRestricted-PortRestricted", PortRestrictedCone, PortRestrictedCone, true, false},
		{"Restricted-PortRestricted", RestrictedCone, PortRestrictedCone, true, false},
		{"Symmetric-PortRestricted", Symmetric, PortRestrictedCone, false, false},
		{"Symmetric-Restricted", Symmetric, RestrictedCone, true, true},
		{"Symmetric-FullCone", Symmetric, FullCone, true, true},
		{"Symmetric-Symmetric", Symmetric, Symmetric, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNetwork()
			defer n.Close()
			stun := listen(t, n.NewHost(ip("203.0.113.1")), ap("203.0.113.1:3478"))
			a := newPeer(t, n, tt.a, ip("198.51.100.1"), stun)
			b := newPeer(t, n, tt.b, ip("198.51.100.2"), stun)

			// Both send to the other's server-reflexive address, a first:
			// a's first datagram opens a's NAT towards b and is dropped
			// by b's NAT unless b's filtering lets it in.
			send(t, a.c, b.mapped, "a1")
			send(t, b.c, a.mapped, "b1")
			send(t, a.c, b.mapped, "a2")
			aSeen := drain(b.c)
			bSeen := drain(a.c)
			if !tt.punch {
				if len(aSeen)+len(bSeen) > 0 {
					t.Fatalf("hole punched: b saw a from %v, a saw b from %v", aSeen, bSeen)
				}
				return
			}
			if len(aSeen) == 0 {
				t.Fatal("b never heard a")
			}
			from := aSeen[0]
			for _, f := range aSeen {
				if f != from {
					t.Errorf("b saw a from %v", aSeen)
				}
			}
			if (from != a.mapped) != tt.prflx {
				t.Errorf("b saw a from %v, a's mapped address is %v; want peer-reflexive %v", from, a.mapped, tt.prflx)
			}
			// b answers where it heard a from, a answers b: the path
			// works both ways.
			send(t, b.c, from, "b2")
			if got := mustRecv(t, a.c, "b2"); got != b.mapped {
				t.Errorf("a saw b from %v, want %v", got, b.mapped)
			}
			send(t, a.c, b.mapped, "a3")
			if got := mustRecv(t, b.c, "a3"); got != from {
				t.Errorf("b saw a3 from %v, want %v", got, from)
			}
		})
	}
}

// drain returns the sources of the datagrams queued at c.
func drain(c nice.PacketConn) []netip.AddrPort {
	var froms []netip.AddrPort
	for {
		_, from, ok := recvNow(c)
		if !ok {
			return froms
		}
		froms = append(froms, from)
	}
}

// TestHairpinning checks that two hosts behind one NAT reach each other
// through their mapped addresses (RFC 4787 §6, REQ-9) and see external
// source addresses.
func TestHairpinning(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	stun := listen(t, n.NewHost(ip("203.0.113.1")), ap("203.0.113.1:3478"))
	nat := n.NewNAT(FullCone, ip("198.51.100.1"))
	a := listen(t, nat.NewHost(ip("10.0.0.1")), any4)
	b := listen(t, nat.NewHost(ip("10.0.0.2")), any4)
	send(t, a, stun.LocalAddrPort(), "a")
	ma := mustRecv(t, stun, "a")
	send(t, b, stun.LocalAddrPort(), "b")
	mb := mustRecv(t, stun, "b")
	send(t, a, mb, "hairpin")
	if from := mustRecv(t, b, "hairpin"); from != ma {
		t.Errorf("b saw %v, want a's mapped address %v", from, ma)
	}
	// On the LAN they talk directly with private addresses.
	send(t, a, ap("10.0.0.2:49152"), "lan")
	if from := mustRecv(t, b, "lan"); from != ap("10.0.0.1:49152") {
		t.Errorf("b saw %v", from)
	}
}

// TestNestedNAT puts home NATs behind a carrier-grade NAT.
func TestNestedNAT(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	stun := listen(t, n.NewHost(ip("203.0.113.1")), ap("203.0.113.1:3478"))
	cgn := n.NewNAT(FullCone, ip("198.51.100.1"))
	home := cgn.NewNAT(PortRestrictedCone, ip("100.64.0.2"))
	c := listen(t, home.NewHost(ip("192.168.1.2")), any4)
	send(t, c, stun.LocalAddrPort(), "req")
	m := mustRecv(t, stun, "req")
	if m.Addr() != cgn.Addr() {
		t.Fatalf("server saw %v, want the CGN's address", m)
	}
	send(t, stun, m, "resp")
	if from := mustRecv(t, c, "resp"); from != stun.LocalAddrPort() {
		t.Errorf("client saw %v", from)
	}
	// Another endpoint is filtered by the home NAT, not by the CGN.
	other := listen(t, n.NewHost(ip("203.0.113.2")), ap("203.0.113.2:1"))
	send(t, other, m, "probe")
	mustNotRecv(t, c)
	if s := n.Stats(); s.Filtered != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestMappingLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newNATLab(t, NATConfig{MappingLifetime: 30 * time.Second})
		m := l.mapped(t, l.s1a)
		// Outbound traffic refreshes the mapping.
		for range 3 {
			time.Sleep(20 * time.Second)
			if got := l.mapped(t, l.s1a); got != m {
				t.Fatalf("mapping changed to %v after an outbound refresh", got)
			}
		}
		// Inbound traffic does not.
		for range 3 {
			time.Sleep(10 * time.Second)
			send(t, l.s2a, m, "keepalive")
			mustRecv(t, l.client, "keepalive")
		}
		time.Sleep(time.Second) // idle for 31s
		send(t, l.s2a, m, "late")
		mustNotRecv(t, l.client)
		if s := l.net.Stats(); s.Filtered != 1 {
			t.Errorf("stats %+v", s)
		}
		if got := l.mapped(t, l.s1a); got == m {
			t.Errorf("expired mapping %v reused", m)
		}
	})
}

func TestLoss(t *testing.T) {
	const total = 1000
	run := func(seed uint64, netLoss, hostLoss float64) (got []int, s Stats) {
		n := NewNetwork()
		defer n.Close()
		n.SetSeed(seed)
		n.SetLoss(netLoss)
		h := n.NewHost(ip("192.0.2.1"))
		h.SetLoss(hostLoss)
		c, _ := h.ListenUDP(ap("192.0.2.1:7"))
		for i := range total {
			send(t, c, c.LocalAddrPort(), fmt.Sprint(i))
			if _, _, ok := recvNow(c); ok {
				got = append(got, i)
			}
		}
		return got, n.Stats()
	}
	got, s := run(DefaultSeed, 0.25, 0)
	if len(got) < 700 || len(got) > 800 {
		t.Errorf("%d of %d delivered with 25%% loss", len(got), total)
	}
	if s.Lost+s.Received != total || s.Received != uint64(len(got)) {
		t.Errorf("stats %+v", s)
	}
	again, _ := run(DefaultSeed, 0.25, 0)
	if !slices.Equal(got, again) {
		t.Error("same seed, different losses")
	}
	other, _ := run(2, 0.25, 0)
	if slices.Equal(got, other) {
		t.Error("different seeds, same losses")
	}
	// A host's loss applies when it sends and when it receives: here
	// both, so 1-0.8*0.8 = 36% are lost.
	got, _ = run(DefaultSeed, 0, 0.2)
	if len(got) < 590 || len(got) > 690 {
		t.Errorf("%d of %d delivered with 2×20%% host loss", len(got), total)
	}
	got, _ = run(DefaultSeed, 1, 0)
	if len(got) != 0 {
		t.Errorf("%d delivered with 100%% loss", len(got))
	}
	defer func() {
		if recover() == nil {
			t.Error("SetLoss(1.5) did not panic")
		}
	}()
	NewNetwork().SetLoss(1.5)
}

func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		defer n.Close()
		a := n.NewHost(ip("192.0.2.1"))
		b := n.NewHost(ip("192.0.2.2"))
		n.SetDelay(40 * time.Millisecond)
		b.SetDelay(10 * time.Millisecond)
		ca := listen(t, a, ap("192.0.2.1:1"))
		cb := listen(t, b, ap("192.0.2.2:2"))

		start := time.Now()
		res := readAsync(cb)
		send(t, ca, cb.LocalAddrPort(), "ping")
		r := <-res
		if r.err != nil || r.msg != "ping" || r.at.Sub(start) != 50*time.Millisecond {
			t.Fatalf("got %+v after %v, want ping after 50ms", r, r.at.Sub(start))
		}

		// Datagrams keep their order.
		for i := range 100 {
			send(t, ca, cb.LocalAddrPort(), fmt.Sprint(i))
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		buf := make([]byte, 10)
		for i := range 100 {
			k, _, err := cb.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:k]) != fmt.Sprint(i) {
				t.Fatalf("datagram %d: %q, %v", i, buf[:k], err)
			}
		}

		// A shorter delay overtakes a longer one sent earlier.
		n.SetDelay(time.Second)
		start = time.Now()
		send(t, ca, cb.LocalAddrPort(), "slow")
		n.SetDelay(0)
		b.SetDelay(0)
		a.SetDelay(5 * time.Millisecond)
		send(t, ca, cb.LocalAddrPort(), "fast")
		for _, want := range []struct {
			msg string
			at  time.Duration
		}{{"fast", 5 * time.Millisecond}, {"slow", 1010 * time.Millisecond}} {
			k, _, err := cb.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:k]) != want.msg || time.Since(start) != want.at {
				t.Fatalf("got %q, %v after %v; want %q after %v", buf[:k], err, time.Since(start), want.msg, want.at)
			}
		}
	})
}

func TestBlock(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	a := n.NewHost(ip("192.0.2.1"))
	b := n.NewHost(ip("192.0.2.2"))
	ca := listen(t, a, ap("192.0.2.1:1"))
	cb := listen(t, b, ap("192.0.2.2:2"))
	send(t, ca, cb.LocalAddrPort(), "before")
	b.Block(true)
	send(t, ca, cb.LocalAddrPort(), "in")
	send(t, cb, ca.LocalAddrPort(), "out")
	mustRecv(t, cb, "before") // already queued
	mustNotRecv(t, cb)
	mustNotRecv(t, ca)
	if s := n.Stats(); s.Blocked != 2 {
		t.Errorf("stats %+v", s)
	}
	if sa, sb := a.Stats(), b.Stats(); sa.Blocked != 1 || sb.Blocked != 1 || sb.Received != 1 {
		t.Errorf("a %+v, b %+v", sa, sb)
	}
	b.Block(false)
	send(t, ca, cb.LocalAddrPort(), "after")
	mustRecv(t, cb, "after")
}

// TestBlockInFlight checks that a host blocked while a datagram is on its
// way does not receive it.
func TestBlockInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		defer n.Close()
		n.SetDelay(time.Second)
		h := n.NewHost(ip("192.0.2.1"))
		c := listen(t, h, ap("192.0.2.1:1"))
		send(t, c, c.LocalAddrPort(), "x")
		time.Sleep(500 * time.Millisecond)
		h.Block(true)
		time.Sleep(time.Second)
		if s := n.Stats(); s.Blocked != 1 || s.Received != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestTap(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	type seen struct{ from, to, msg string }
	var got []seen
	n.SetTap(func(from, to netip.AddrPort, b []byte) {
		got = append(got, seen{from.String(), to.String(), string(b)})
		n.Stats() // the tap may call into the network
	})
	stun := listen(t, n.NewHost(ip("203.0.113.1")), ap("203.0.113.1:3478"))
	h := n.NewNAT(Symmetric, ip("198.51.100.1")).NewHost(ip("10.0.0.1"))
	h.Block(true)
	c := listen(t, h, any4)
	send(t, c, stun.LocalAddrPort(), "blocked")
	h.Block(false)
	send(t, c, stun.LocalAddrPort(), "req")
	send(t, stun, mustRecv(t, stun, "req"), "resp")
	n.SetTap(nil)
	send(t, c, stun.LocalAddrPort(), "untapped")
	want := []seen{
		{"10.0.0.1:49152", "203.0.113.1:3478", "blocked"},
		{"10.0.0.1:49152", "203.0.113.1:3478", "req"},
		{"203.0.113.1:3478", "198.51.100.1:20000", "resp"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tap saw %v, want %v", got, want)
	}
}

// TestConcurrentEcho runs echo traffic through NATs from many goroutines,
// for the race detector, with a delay so that timers deliver.
func TestConcurrentEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		defer n.Close()
		n.SetDelay(3 * time.Millisecond)
		server := listen(t, n.NewHost(ip("203.0.113.1")), ap("203.0.113.1:7"))
		var wg sync.WaitGroup
		wg.Go(func() {
			buf := make([]byte, 100)
			for {
				k, from, err := server.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				server.WriteToUDPAddrPort(buf[:k], from)
			}
		})
		var clients sync.WaitGroup
		for i := range 8 {
			nat := n.NewNAT(Symmetric, netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}))
			c := listen(t, nat.NewHost(ip("10.0.0.1")), any4)
			clients.Go(func() {
				buf := make([]byte, 100)
				for j := range 50 {
					msg := fmt.Sprintf("%d/%d", i, j)
					if _, err := c.WriteToUDPAddrPort([]byte(msg), server.LocalAddrPort()); err != nil {
						t.Error(err)
						return
					}
					start := time.Now()
					k, _, err := c.ReadFromUDPAddrPort(buf)
					if err != nil || string(buf[:k]) != msg || time.Since(start) != 6*time.Millisecond {
						t.Errorf("echo %q: %q, %v after %v", msg, buf[:k], err, time.Since(start))
						return
					}
				}
			})
		}
		clients.Wait()
		server.Close()
		wg.Wait()
	})
}

func TestEphemeralPortsExhausted(t *testing.T) {
	n := NewNetwork()
	defer n.Close()
	h := n.NewHost(ip("192.0.2.1"))
	// Fill the range with placeholders without queues: 16k real
	// sockets would cost a gigabyte.
	n.mu.Lock()
	for p := firstEphemeralPort; p < 65535; p++ {
		h.binds[uint16(p)] = []*conn{{
			host:  h,
			local: netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)),
			done:  make(chan struct{}),
		}}
	}
	h.nextPort = 65535
	n.mu.Unlock()
	last := listen(t, h, any4)
	if got := last.LocalAddrPort().Port(); got != 65535 {
		t.Fatalf("last ephemeral port %d", got)
	}
	if _, err := h.ListenUDP(any4); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("ListenUDP with no free port: %v", err)
	}
	last.Close()
	if c := listen(t, h, any4); c.LocalAddrPort().Port() != 65535 {
		t.Errorf("got port %d after freeing 65535", c.LocalAddrPort().Port())
	}
}

// TestNATPortWrap checks that external ports wrap from 65535 to 1024 and
// skip live mappings but reuse expired ones.
func TestNATPortWrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newNATLab(t, NATConfig{Mapping: AddressAndPortDependent, MappingLifetime: time.Minute})
		if l.nat.Config() != (NATConfig{Mapping: AddressAndPortDependent, MappingLifetime: time.Minute}) {
			t.Errorf("Config() = %+v", l.nat.Config())
		}
		m1 := l.mapped(t, l.s1a) // 20000, will expire
		time.Sleep(2 * time.Minute)
		m2 := l.mapped(t, l.s1b) // 20001, live
		l.net.mu.Lock()
		l.nat.nextPort = 65535
		l.net.mu.Unlock()
		var got []uint16
		for _, s := range []nice.PacketConn{l.s2a, l.s1a} {
			got = append(got, l.mapped(t, s).Port())
		}
		if want := []uint16{65535, minNATPort}; !slices.Equal(got, want) {
			t.Errorf("ports %v, want %v", got, want)
		}
		l.net.mu.Lock()
		l.nat.nextPort = 20000
		l.net.mu.Unlock()
		c := listen(t, l.nat.NewHost(ip("192.168.0.3")), any4)
		send(t, c, s1a, "x")
		if from := mustRecv(t, l.s1a, "x"); from != m1 {
			t.Errorf("new mapping on %v, want the expired %v", from, m1)
		}
		send(t, c, s1b, "y")
		if from := mustRecv(t, l.s1b, "y"); from.Port() != 20002 || from == m2 {
			t.Errorf("new mapping on %v, want port 20002 (20001 is live)", from)
		}
	})
}

func TestBehaviorString(t *testing.T) {
	for b, want := range map[Behavior]string{
		EndpointIndependent:     "Endpoint-Independent",
		AddressDependent:        "Address-Dependent",
		AddressAndPortDependent: "Address and Port-Dependent",
		Behavior(9):             "Behavior(9)",
	} {
		if got := b.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(b), got, want)
		}
	}
}
