// SPDX-License-Identifier: MIT

package nice_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// addrNet is the operating system's network on loopback addresses, with
// interface addresses the test changes.
type addrNet struct {
	mu    sync.Mutex
	addrs []netip.Addr
}

func (n *addrNet) set(addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addrs = nil
	for _, a := range addrs {
		n.addrs = append(n.addrs, netip.MustParseAddr(a))
	}
}

func (n *addrNet) InterfaceAddrs() ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.addrs), nil
}

func (n *addrNet) ListenUDP(laddr netip.AddrPort) (nice.PacketConn, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, err
	}
	return loConn{c}, nil
}

type loConn struct{ *net.UDPConn }

func (c loConn) LocalAddrPort() netip.AddrPort {
	ap := c.UDPConn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// TestRegather: Regather follows the interface addresses: a socket on an
// address that is gone is closed and its candidate withdrawn, a new
// address gets a socket and a signalled host candidate, then
// gathering-done again; an address that stays keeps its socket.
func TestRegather(t *testing.T) {
	n := &addrNet{}
	n.set("127.0.0.1")
	a, err := nice.NewAgent(nice.Config{Net: n})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sid, _ := a.AddStream(1)
	done := make(chan struct{}, 4)
	var mu sync.Mutex
	var signalled []netip.AddrPort
	a.OnCandidateGatheringDone(func(int) { done <- struct{}{} })
	a.OnNewCandidate(func(c nice.Candidate) {
		mu.Lock()
		signalled = append(signalled, c.Addr)
		mu.Unlock()
	})
	if err := a.Regather(sid); !errors.Is(err, nice.ErrInvalidArgument) {
		t.Fatalf("Regather before GatherCandidates: %v, want ErrInvalidArgument", err)
	}
	wait := func() {
		t.Helper()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("no candidate-gathering-done")
		}
	}
	hosts := func() []netip.AddrPort {
		t.Helper()
		cands, err := a.LocalCandidates(sid, 1)
		if err != nil {
			t.Fatal(err)
		}
		var out []netip.AddrPort
		for _, c := range cands {
			out = append(out, c.Addr)
		}
		return out
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	wait()
	first := hosts()
	if len(first) != 1 || first[0].Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("candidates %v, want one on 127.0.0.1", first)
	}

	// 127.0.0.1 goes, 127.0.0.2 comes.
	n.set("127.0.0.2")
	if err := a.Regather(sid); err != nil {
		t.Fatal(err)
	}
	wait()
	second := hosts()
	if len(second) != 1 || second[0].Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("after the change: candidates %v, want one on 127.0.0.2", second)
	}
	// The old socket is closed: its port can be bound again.
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(first[0]))
	if err != nil {
		t.Fatalf("the socket on the old address is still bound: %v", err)
	}
	c.Close()
	mu.Lock()
	if !slices.Contains(signalled, second[0]) {
		t.Errorf("the new candidate %v was not signalled (signalled %v)", second[0], signalled)
	}
	mu.Unlock()

	// An address is added; the one that stays keeps its socket.
	n.set("127.0.0.2", "127.0.0.3")
	if err := a.Regather(sid); err != nil {
		t.Fatal(err)
	}
	wait()
	third := hosts()
	if len(third) != 2 || !slices.Contains(third, second[0]) {
		t.Fatalf("after adding 127.0.0.3: candidates %v, want %v kept and one on 127.0.0.3", third, second[0])
	}

	// No address at all: an error, and nothing changes.
	n.set()
	if err := a.Regather(sid); !errors.Is(err, nice.ErrNoAddress) {
		t.Fatalf("Regather without addresses: %v, want ErrNoAddress", err)
	}
	if got := hosts(); !slices.Equal(got, third) {
		t.Fatalf("candidates %v after a failed Regather, want %v", got, third)
	}
}

// tcpAddrNet is addrNet that also listens and dials TCP (ICE-TCP).
type tcpAddrNet struct{ *addrNet }

func (n tcpAddrNet) ListenTCP(laddr netip.AddrPort) (net.Listener, error) {
	return net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(laddr))
}

func (n tcpAddrNet) DialTCP(ctx context.Context, laddr netip.Addr, raddr netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: laddr.AsSlice()}}
	return d.DialContext(ctx, "tcp4", raddr.String())
}

// TestRegatherTCP: Regather with ICE-TCP only: the TCP candidates of an
// address that is gone are withdrawn and the passive one's listener is
// closed (nothing accepts on its port any more), the new address gets an
// active and a passive candidate, signalled, then gathering-done again;
// and after Close nothing of either is left.
func TestRegatherTCP(t *testing.T) {
	gs := runtime.NumGoroutine()
	n := tcpAddrNet{&addrNet{}}
	n.set("127.0.0.1")
	a, err := nice.NewAgent(nice.Config{Net: n, ICETCP: true, DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := a.AddStream(1)
	done := make(chan struct{}, 4)
	a.OnCandidateGatheringDone(func(int) { done <- struct{}{} })
	wait := func() {
		t.Helper()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("no candidate-gathering-done")
		}
	}
	tcpCands := func() (active, passive []netip.AddrPort) {
		t.Helper()
		cands, err := a.LocalCandidates(sid, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cands {
			switch c.Transport {
			case nice.TransportTCPActive:
				active = append(active, c.Addr)
			case nice.TransportTCPPassive:
				passive = append(passive, c.Addr)
			default:
				t.Errorf("a %v candidate with UDP disabled", c.Transport)
			}
		}
		return active, passive
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	wait()
	act, pas := tcpCands()
	if len(act) != 1 || len(pas) != 1 || pas[0].Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("active %v, passive %v: want one each on 127.0.0.1", act, pas)
	}
	old := pas[0]
	if c, err := net.Dial("tcp4", old.String()); err != nil {
		t.Fatalf("the passive candidate does not accept: %v", err)
	} else {
		c.Close()
	}
	n.set("127.0.0.2")
	if err := a.Regather(sid); err != nil {
		t.Fatal(err)
	}
	wait()
	act, pas = tcpCands()
	if len(act) != 1 || len(pas) != 1 || pas[0].Addr() != netip.MustParseAddr("127.0.0.2") || act[0].Addr() != pas[0].Addr() {
		t.Fatalf("after the change: active %v, passive %v: want one each on 127.0.0.2", act, pas)
	}
	if c, err := net.Dial("tcp4", old.String()); err == nil {
		c.Close()
		t.Error("the withdrawn passive candidate's port still accepts")
	}
	a.Close()
	checkNoLeak(t, gs)
}
