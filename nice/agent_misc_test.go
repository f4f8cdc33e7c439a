// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestCloseReleasesEverything: after Close no goroutine and no socket of
// the agents is left, and every method reports ErrClosed.
func TestCloseReleasesEverything(t *testing.T) {
	fds, gs := openFDs(t), runtime.NumGoroutine()
	a, b, sa, _ := connectedPair(t, 2, nice.Config{Controlling: true}, nice.Config{})
	if n := openFDs(t); n < fds+4 {
		t.Fatalf("%d fds open with two 2-component agents, want at least %d", n, fds+4)
	}
	a.Close()
	b.Close()
	a.Close() // idempotent
	checkNoLeak(t, gs)
	if n := openFDs(t); n > fds {
		t.Errorf("%d fds open after Close, %d before", n, fds)
	}
	if _, err := a.Send(sa, 1, []byte("x")); !errors.Is(err, nice.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := a.GatherCandidates(sa); !errors.Is(err, nice.ErrClosed) {
		t.Errorf("GatherCandidates after Close = %v, want ErrClosed", err)
	}
	if st := a.ComponentState(sa, 1); st != nice.ComponentStateFailed {
		t.Errorf("ComponentState after Close = %v, want failed", st)
	}
}

// TestCloseFromCallback: a signal handler may close its own agent.
func TestCloseFromCallback(t *testing.T) {
	gs := runtime.NumGoroutine()
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	a.OnCandidateGatheringDone(func(int) {
		a.Close()
		close(closed)
	})
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(1)
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a handler did not return")
	}
	a.Close()
	checkNoLeak(t, gs)
}

func TestInvalidIDs(t *testing.T) {
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sid, _ := a.AddStream(2)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"GatherCandidates bad stream", a.GatherCandidates(99), nice.ErrInvalidStream},
		{"SetRemoteCredentials bad stream", a.SetRemoteCredentials(0, "abcd", "0123456789012345678901"), nice.ErrInvalidStream},
		{"SetRemoteCredentials bad chars", a.SetRemoteCredentials(sid, "a b", "pwd"), nice.ErrInvalidArgument},
		{"SetPortRange bad component", a.SetPortRange(sid, 3, 1000, 2000), nice.ErrInvalidComponent},
		{"SetPortRange inverted", a.SetPortRange(sid, 1, 2000, 1000), nice.ErrInvalidArgument},
		{"RemoveStream bad stream", a.RemoveStream(7), nice.ErrInvalidStream},
		{"AddLocalAddress invalid", a.AddLocalAddress(netip.Addr{}), nice.ErrInvalidArgument},
		{"PeerCandidateGatheringDone bad stream", a.PeerCandidateGatheringDone(5), nice.ErrInvalidStream},
		{"RestartStream bad stream", a.RestartStream(5), nice.ErrInvalidStream},
		{"ConsentLost bad component", a.ConsentLost(sid, 0), nice.ErrInvalidComponent},
	}
	_, err = a.AddStream(0)
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"AddStream 0 components", err, nice.ErrInvalidArgument})
	_, err = a.Send(sid, 3, []byte("x"))
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"Send bad component", err, nice.ErrInvalidComponent})
	_, err = a.Send(sid, 1, []byte("x"))
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"Send before a pair", err, nice.ErrNotReady})
	_, err = a.SetRemoteCandidates(sid, 1, []nice.Candidate{{Addr: netip.MustParseAddrPort("10.0.0.1:1")}})
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"SetRemoteCandidates priority 0", err, nice.ErrInvalidArgument})
	_, err = a.ParseRemoteSDP("m=text 9 ICE/SDP\nm=text 9 ICE/SDP\n")
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"ParseRemoteSDP more m= than streams", err, nice.ErrSDP})
	_, err = a.ParseRemoteCandidateSDP(sid, "a=candidate:1 3 UDP 1 10.0.0.1 1 typ host")
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"ParseRemoteCandidateSDP bad component", err, nice.ErrSDP})
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if st := a.ComponentState(42, 1); st != nice.ComponentStateFailed {
		t.Errorf("ComponentState of a bad stream = %v, want failed (as libnice)", st)
	}
}

// TestPortRange: candidates use the range; two components cannot share a
// single-port range (libnice's test-set-port-range).
func TestPortRange(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close() // now probably free
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(2)
	for cid := 1; cid <= 2; cid++ {
		if err := a.SetPortRange(sid, cid, port, port); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.GatherCandidates(sid); !errors.Is(err, nice.ErrNoAddress) {
		t.Fatalf("GatherCandidates with one port for two components = %v, want ErrNoAddress", err)
	}
	if err := a.SetPortRange(sid, 2, port+1, port+1); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Skipf("ports %d-%d not free on this machine: %v", port, port+1, err)
	}
	for cid := 1; cid <= 2; cid++ {
		cs, _ := a.LocalCandidates(sid, cid)
		if len(cs) != 1 || cs[0].Addr.Port() != port+uint16(cid-1) {
			t.Errorf("component %d candidates %v, want port %d", cid, cs, port+uint16(cid-1))
		}
	}
	if err := a.SetPortRange(sid, 1, 1, 2); !errors.Is(err, nice.ErrAlreadyGathering) {
		t.Errorf("SetPortRange after gathering = %v, want ErrAlreadyGathering", err)
	}
}

// TestIPv6Loopback connects two agents over ::1.
func TestIPv6Loopback(t *testing.T) {
	if c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		c.Close()
	}
	v6 := netip.MustParseAddr("::1")
	mk := func(ctl bool) (*nice.Agent, *recorder, int) {
		a, err := nice.NewAgent(nice.Config{Controlling: ctl})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		r := newRecorder(a)
		_ = a.AddLocalAddress(v6)
		_ = a.AddLocalAddress(loopback) // both families: pairs stay within one
		sid, _ := a.AddStream(1)
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		r.waitGathered(t, sid)
		return a, r, sid
	}
	a, ra, sa := mk(true)
	b, rb, sb := mk(false)
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	ra.waitState(t, sa, 1, nice.ComponentStateReady, 10*time.Second)
	rb.waitState(t, sb, 1, nice.ComponentStateReady, 10*time.Second)
	l, r, err := a.SelectedPair(sa, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr.Addr().Is4() != r.Addr.Addr().Is4() {
		t.Errorf("selected pair mixes families: %v / %v", l, r)
	}
	// The IPv6 host candidate has the higher priority (listed later, as libnice).
	cs, _ := a.LocalCandidates(sa, 1)
	if len(cs) != 2 || cs[0].Priority >= cs[1].Priority {
		t.Errorf("candidates %v: want two, the later with the higher priority", cs)
	}
}

// TestLite: an ICE-lite agent answers checks and is selected by a full
// controlling agent; it never sends checks itself.
func TestLite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		full, rf, sf, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		lite, rl, sl, _ := e.agent("10.0.0.2", nice.Config{Lite: true, Controlling: true}, 1)
		defer full.Close()
		defer lite.Close()
		synctest.Wait()
		if lite.Controlling() {
			t.Fatal("a lite agent must be controlled")
		}
		exchange(t, full, lite, sf, sl, 1)
		exchange(t, lite, full, sl, sf, 1)
		time.Sleep(time.Second)
		synctest.Wait()
		if st := rf.state(sf, 1); st != nice.ComponentStateReady {
			t.Errorf("full agent = %v, want ready; %q", st, rf.all())
		}
		if st := rl.state(sl, 1); st != nice.ComponentStateReady {
			t.Errorf("lite agent = %v, want ready; %q", st, rl.all())
		}
		// Both stay up: the full agent's consent checks are answered.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if st := rf.state(sf, 1); st != nice.ComponentStateReady {
			t.Errorf("full agent after 2 min = %v, want ready", st)
		}
	})
}

// TestSetStreamTOS sets the TOS byte on a stream's sockets, before and after
// gathering, and reads it back from the kernel.
func TestSetStreamTOS(t *testing.T) {
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(1)
	if err := a.SetStreamTOS(sid, 0xb8); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	if err := a.SetStreamTOS(sid, 256); !errors.Is(err, nice.ErrInvalidArgument) {
		t.Errorf("SetStreamTOS(256) = %v, want ErrInvalidArgument", err)
	}
	if err := a.SetStreamTOS(99, 0); !errors.Is(err, nice.ErrInvalidStream) {
		t.Errorf("SetStreamTOS on a bad stream = %v, want ErrInvalidStream", err)
	}
	// The kernel's view: the socket bound to the candidate's port.
	cs, _ := a.LocalCandidates(sid, 1)
	if got := socketTOS(t, cs[0].Addr); got != 0xb8 {
		t.Errorf("TOS set before gathering = %#x, want 0xb8", got)
	}
	if err := a.SetStreamTOS(sid, 0x28); err != nil {
		t.Fatal(err)
	}
	if got := socketTOS(t, cs[0].Addr); got != 0x28 {
		t.Errorf("TOS set after gathering = %#x, want 0x28", got)
	}
}

// socketTOS reads IP_TOS of this process's UDP socket bound to addr, through
// /proc/self/fd: the agent's sockets are its own, so we find the fd by its
// local address with getsockname.
func socketTOS(t *testing.T, addr netip.AddrPort) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list fds: %v", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		in4, ok := sa.(*syscall.SockaddrInet4)
		if !ok || in4.Port != int(addr.Port()) || netip.AddrFrom4(in4.Addr) != addr.Addr() {
			continue
		}
		tos, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_TOS)
		if err != nil {
			t.Fatal(err)
		}
		return tos
	}
	t.Fatalf("no socket bound to %v", addr)
	return -1
}
