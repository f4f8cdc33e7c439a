// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net"
	"net/netip"
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
