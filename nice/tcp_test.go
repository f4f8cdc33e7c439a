// SPDX-License-Identifier: MIT

package nice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// tcpOnly is an agent configuration with ICE-TCP and no UDP.
func tcpOnly(controlling bool) nice.Config {
	return nice.Config{Controlling: controlling, ICETCP: true, DisableUDP: true}
}

func isTCP(t nice.Transport) bool {
	return t == nice.TransportTCPActive || t == nice.TransportTCPPassive || t == nice.TransportTCPSO
}

// recvChan attaches a receive function that copies each datagram into ch.
func recvChan(t *testing.T, a *nice.Agent, sid, cid int) chan []byte {
	t.Helper()
	ch := make(chan []byte, 64)
	if err := a.AttachRecv(sid, cid, func(_, _ int, p []byte) {
		select {
		case ch <- bytes.Clone(p):
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ch
}

// sendExpect sends msg from a and waits for it at ch.
func sendExpect(t *testing.T, from *nice.Agent, sid, cid int, ch chan []byte, msg []byte) {
	t.Helper()
	if _, err := from.Send(sid, cid, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case got := <-ch:
		if !bytes.Equal(got, msg) {
			t.Fatalf("received %q, want %q", got, msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q not received", msg)
	}
}

// TestTCPConnect connects two agents over ICE-TCP only (UDP off) on
// loopback, one and two components: each side gathers an active (port 0)
// and a passive candidate per component, the selected pairs are TCP, one
// side's active with the other's passive, and data goes both ways, large
// datagrams included.
func TestTCPConnect(t *testing.T) {
	for _, ncomp := range []int{1, 2} {
		a, b, sa, sb := agentpair.Connect(t, ncomp, tcpOnly(true), tcpOnly(false))
		for cid := 1; cid <= ncomp; cid++ {
			cands, err := a.LocalCandidates(sa, cid)
			if err != nil {
				t.Fatal(err)
			}
			var active, passive int
			for _, c := range cands {
				switch c.Transport {
				case nice.TransportTCPActive:
					active++
					if c.Addr.Port() != 0 {
						t.Errorf("active candidate %v has a port", c.Addr)
					}
				case nice.TransportTCPPassive:
					passive++
				default:
					t.Errorf("candidate %v with transport %v, want TCP only", c.Addr, c.Transport)
				}
			}
			if active != 1 || passive != 1 {
				t.Errorf("component %d: %d active and %d passive candidates, want 1 and 1", cid, active, passive)
			}
			la, ra, err := a.SelectedPair(sa, cid)
			if err != nil {
				t.Fatal(err)
			}
			if !isTCP(la.Transport) || !isTCP(ra.Transport) || la.Transport == ra.Transport {
				t.Errorf("component %d: selected %v %v – %v %v, want TCP active with passive", cid, la.Transport, la.Addr, ra.Transport, ra.Addr)
			}
			chA, chB := recvChan(t, a, sa, cid), recvChan(t, b, sb, cid)
			sendExpect(t, a, sa, cid, chB, []byte("a to b"))
			sendExpect(t, b, sb, cid, chA, []byte("b to a"))
			big := bytes.Repeat([]byte{0xab}, 60000)
			sendExpect(t, a, sa, cid, chB, big)
		}
	}
}

// TestTCPBesideUDP: with ICE-TCP on and UDP too, each component has a UDP,
// a TCP active and a TCP passive candidate; TCP candidates rank below UDP
// ones (libnice's priorities), the selected pair is UDP, and the SDP
// carries the TCP candidates with their tcptype, the active one on port 9.
func TestTCPBesideUDP(t *testing.T) {
	a, _, sa, _ := agentpair.Connect(t, 1, nice.Config{Controlling: true, ICETCP: true}, nice.Config{ICETCP: true})
	cands, err := a.LocalCandidates(sa, 1)
	if err != nil {
		t.Fatal(err)
	}
	var udp, tcp []nice.Candidate
	for _, c := range cands {
		if isTCP(c.Transport) {
			tcp = append(tcp, c)
		} else {
			udp = append(udp, c)
		}
	}
	if len(udp) != 1 || len(tcp) != 2 {
		t.Fatalf("%d UDP and %d TCP candidates, want 1 and 2", len(udp), len(tcp))
	}
	for _, c := range tcp {
		if c.Priority >= udp[0].Priority {
			t.Errorf("TCP candidate %v priority %d ≥ UDP's %d", c.Transport, c.Priority, udp[0].Priority)
		}
		if c.Foundation == udp[0].Foundation {
			t.Errorf("TCP candidate %v shares the UDP foundation %s", c.Transport, c.Foundation)
		}
	}
	la, ra, err := a.SelectedPair(sa, 1)
	if err != nil {
		t.Fatal(err)
	}
	if la.Transport != nice.TransportUDP || ra.Transport != nice.TransportUDP {
		t.Errorf("selected %v – %v, want UDP", la.Transport, ra.Transport)
	}
	sdp := a.GenerateLocalSDP()
	if !strings.Contains(sdp, " 9 typ host tcptype active") || !strings.Contains(sdp, "typ host tcptype passive") {
		t.Errorf("SDP without the TCP candidates:\n%s", sdp)
	}
}

// TestTCPPeerGoes: when the peer closes its agent, its connections end;
// the pairs on them fail, the component FAILS (no other path), Send says
// so, and after Close nothing of the agent is left: no goroutine, no
// socket, no connection.
func TestTCPPeerGoes(t *testing.T) {
	fds, gs := openFDs(t), runtime.NumGoroutine()
	a, b, sa, _ := agentpair.Connect(t, 1, tcpOnly(true), tcpOnly(false))
	failed := make(chan struct{}, 1)
	a.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) {
		if st == nice.ComponentStateFailed {
			select {
			case failed <- struct{}{}:
			default:
			}
		}
	})
	b.Close()
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatalf("component %v 10 s after the peer closed, want failed", a.ComponentState(sa, 1))
	}
	if _, err := a.Send(sa, 1, []byte("x")); err == nil {
		t.Error("Send on a failed component succeeded")
	}
	a.Close()
	checkNoLeak(t, gs)
	if n := openFDs(t); n > fds {
		t.Errorf("%d fds open after Close, %d before", n, fds)
	}
}

// TestTCPRestart restarts ICE on a TCP-only pair: both READY again, data
// both ways, and the connection of the old path is reused by the new
// checks rather than dialed anew (the active side dials nothing more).
func TestTCPRestart(t *testing.T) {
	a, b, sa, sb := agentpair.Connect(t, 1, tcpOnly(true), tcpOnly(false))
	ready := make(chan struct{}, 4)
	for _, ag := range []*nice.Agent{a, b} {
		ag.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) {
			if st == nice.ComponentStateReady {
				ready <- struct{}{}
			}
		})
	}
	for round := range 2 {
		if err := a.RestartStream(sa); err != nil {
			t.Fatal(err)
		}
		if err := b.RestartStream(sb); err != nil {
			t.Fatal(err)
		}
		agentpair.Exchange(t, a, b, sa, sb, 1)
		agentpair.Exchange(t, b, a, sb, sa, 1)
		for range 2 {
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatalf("restart %d: not READY", round)
			}
		}
		chA, chB := recvChan(t, a, sa, 1), recvChan(t, b, sb, 1)
		sendExpect(t, a, sa, 1, chB, []byte("after restart"))
		sendExpect(t, b, sb, 1, chA, []byte("and back"))
	}
}

// TestTCPFailedAttemptsLeaveNothing: checks toward passive candidates that
// refuse the connection, and toward a peer that accepts connections but
// never answers a check (a stalled peer), all fail; the component FAILS,
// and the agent keeps nothing of the attempts: no connection, no
// goroutine beyond those it had after gathering. The agent's own
// connections toward the silent peer are closed (its accepted ends see
// EOF).
func TestTCPFailedAttemptsLeaveNothing(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	refused := make([]netip.AddrPort, 0, 4)
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused = append(refused, netip.MustParseAddrPort(ln.Addr().String()))
		ln.Close() // nothing listens there now
	}

	cfg := tcpOnly(true)
	cfg.STUNInitialTimeout = 50 * time.Millisecond // a check over TCP waits 0.75 s
	a, err := nice.NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	gathered := make(chan struct{}, 1)
	failed := make(chan struct{}, 1)
	a.OnCandidateGatheringDone(func(int) { gathered <- struct{}{} })
	a.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) {
		if st == nice.ComponentStateFailed {
			select {
			case failed <- struct{}{}:
			default:
			}
		}
	})
	if err := a.AddLocalAddress(agentpair.Loopback); err != nil {
		t.Fatal(err)
	}
	sid, err := a.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	<-gathered
	time.Sleep(50 * time.Millisecond)
	fds, gs := openFDs(t), runtime.NumGoroutine()
	if err := a.SetRemoteCredentials(sid, "peerufrag", "peerpasswordpeerpassword"); err != nil {
		t.Fatal(err)
	}
	var cands []nice.Candidate
	for i, ap := range append(refused, netip.MustParseAddrPort(silent.Addr().String())) {
		cands = append(cands, nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportTCPPassive, Addr: ap,
			Priority: uint32(1000 + i), Foundation: "p" + strconv.Itoa(i), ComponentID: 1})
	}
	if _, err := a.SetRemoteCandidates(sid, 1, cands); err != nil {
		t.Fatal(err)
	}
	if err := a.PeerCandidateGatheringDone(sid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(15 * time.Second):
		t.Fatalf("component %v, want failed", a.ComponentState(sid, 1))
	}
	// The silent peer saw our connection, and its end is closed again.
	c, ok := <-accepted
	if !ok {
		t.Fatal("the agent never connected to the silent peer")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("the agent's connection to the silent peer: %v, want closed (EOF)", err)
	}
	c.Close()
	waitUntil(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= gs && openFDs(t) <= fds }, func() string {
		return fmt.Sprintf("after the failed attempts: %d goroutines (%d after gathering), %d fds (%d)",
			runtime.NumGoroutine(), gs, openFDs(t), fds)
	})
}

// TestTCPSimultaneousOpen connects two agents by their simultaneous-open
// candidates alone (each is given only the other's tcptype so
// candidates): both connect from their S-O port to the other's at once,
// one connection results (crossed SYNs, or one side's listener taking the
// other's), both select the so–so pair, and data goes both ways.
func TestTCPSimultaneousOpen(t *testing.T) {
	cfg := func(controlling bool) nice.Config {
		c := tcpOnly(controlling)
		c.TCPSimultaneousOpen = true
		return c
	}
	var agents [2]*nice.Agent
	var sids [2]int
	ready := make(chan struct{}, 8)
	gathered := make(chan struct{}, 2)
	for i := range agents {
		a, err := nice.NewAgent(cfg(i == 0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		a.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) {
			if st == nice.ComponentStateReady {
				ready <- struct{}{}
			}
		})
		a.OnCandidateGatheringDone(func(int) { gathered <- struct{}{} })
		if err := a.AddLocalAddress(agentpair.Loopback); err != nil {
			t.Fatal(err)
		}
		if sids[i], err = a.AddStream(1); err != nil {
			t.Fatal(err)
		}
		if err := a.GatherCandidates(sids[i]); err != nil {
			t.Fatal(err)
		}
		agents[i] = a
	}
	<-gathered
	<-gathered
	for i, from := range agents {
		to, toSID := agents[1-i], sids[1-i]
		u, p, err := from.LocalCredentials(sids[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := to.SetRemoteCredentials(toSID, u, p); err != nil {
			t.Fatal(err)
		}
		cands, err := from.LocalCandidates(sids[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		var so []nice.Candidate
		for _, c := range cands {
			if c.Transport == nice.TransportTCPSO {
				so = append(so, c)
			}
		}
		if len(so) != 1 || so[0].Addr.Port() == 0 {
			t.Fatalf("agent %d: S-O candidates %v, want one with a port", i, so)
		}
		if _, err := to.SetRemoteCandidates(toSID, 1, so); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("not READY over simultaneous open")
		}
	}
	for i, a := range agents {
		l, r, err := a.SelectedPair(sids[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		if l.Transport != nice.TransportTCPSO || r.Transport != nice.TransportTCPSO {
			t.Errorf("agent %d selected %v %v – %v %v, want so – so", i, l.Transport, l.Addr, r.Transport, r.Addr)
		}
	}
	ch0, ch1 := recvChan(t, agents[0], sids[0], 1), recvChan(t, agents[1], sids[1], 1)
	sendExpect(t, agents[0], sids[0], 1, ch1, []byte("so 0 to 1"))
	sendExpect(t, agents[1], sids[1], 1, ch0, []byte("so 1 to 0"))
}

// TestTCPConnFlood: 300 TCP connections to the passive candidate of an
// agent whose TCP pair is READY: silent ones, ones that send a frame of
// garbage, an empty frame, or checks with a stranger's credentials. The
// pair stays READY and carries data; the agent holds at most 64
// connections (those beyond are closed at once: of the 75 silent ones, at
// least the 11 that cannot fit are closed well before the others), closes
// every flood connection (at the latest when it has brought no
// authenticated check for the unauthenticated timeout, 3 s here), answers
// nothing larger than what it was sent, and keeps no fd of them.
func TestTCPConnFlood(t *testing.T) {
	const unauth = 3 * time.Second
	defer nice.SetTCPUnauthTimeout(unauth)()
	a, b, sa, sb := agentpair.Connect(t, 1, tcpOnly(true), tcpOnly(false))
	left := make(chan nice.ComponentState, 8)
	a.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) { left <- st })
	cands, err := a.LocalCandidates(sa, 1)
	if err != nil {
		t.Fatal(err)
	}
	var passive netip.AddrPort
	for _, c := range cands {
		if c.Transport == nice.TransportTCPPassive {
			passive = c.Addr
		}
	}
	ufrag, _, err := a.LocalCredentials(sa)
	if err != nil {
		t.Fatal(err)
	}
	fds := openFDs(t)
	chA, chB := recvChan(t, a, sa, 1), recvChan(t, b, sb, 1)

	const n = 300
	var wg sync.WaitGroup
	var closedByAgent, amplified, silentEarly atomic.Int32
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", passive.String(), 5*time.Second)
			if err != nil {
				return // the listen backlog overflowed: refused or timed out, nothing held
			}
			defer c.Close()
			var sent int
			switch i % 4 {
			case 1: // a frame of garbage
				p := append([]byte{0, 8}, []byte("notstun!")...)
				sent, _ = c.Write(p)
			case 2: // an empty frame: not ICE
				sent, _ = c.Write([]byte{0, 0})
			case 3: // a check with a stranger's credentials, and one with our ufrag and a wrong key
				for _, k := range []int{floodWrongUfrag, floodWrongKey} {
					req := floodRequest(k, ufrag)
					m, _ := c.Write(append([]byte{byte(len(req) >> 8), byte(len(req))}, req...))
					sent += m
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.Copy(io.Discard, c)
			if int(got) > sent {
				amplified.Add(1)
			}
			var ne net.Error
			if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
				closedByAgent.Add(1) // EOF or reset: the agent closed it
				if i%4 == 0 && time.Since(start) < unauth/2 {
					silentEarly.Add(1)
				}
			}
		}()
	}
	// Data goes on both ways while the flood runs.
	for i := range 10 {
		sendExpect(t, a, sa, 1, chB, []byte("during the flood "+strconv.Itoa(i)))
		sendExpect(t, b, sb, 1, chA, []byte("and back "+strconv.Itoa(i)))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	select {
	case st := <-left:
		t.Errorf("component went %v during the flood", st)
	default:
	}
	if st := a.ComponentState(sa, 1); st != nice.ComponentStateReady {
		t.Errorf("component %v after the flood, want ready", st)
	}
	if c := closedByAgent.Load(); c == 0 {
		t.Error("the agent closed none of the flood's connections")
	} else {
		t.Logf("%d of %d flood connections were closed by the agent", c, n)
	}
	if e := silentEarly.Load(); e < 75-64 {
		t.Errorf("%d silent connections were closed before half the unauthenticated timeout, want at least %d (the cap of 64)", e, 75-64)
	}
	if m := amplified.Load(); m > 0 {
		t.Errorf("%d flood connections got more bytes than they sent", m)
	}
	sendExpect(t, a, sa, 1, chB, []byte("after the flood"))
	waitUntil(t, 5*time.Second, func() bool { return openFDs(t) <= fds },
		func() string { return fmt.Sprintf("%d fds after the flood, %d before", openFDs(t), fds) })
}

// TestZeroAllocTCPDataPath: a datagram over an ICE-TCP pair, Send and the
// receive function included, allocates nothing once the connection's
// buffers have grown (run without -race, as ./run test's zero-allocation
// step does).
func TestZeroAllocTCPDataPath(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a connected pair; skipped in -short")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random); run without -race")
	}
	a, b, sa, sb := agentpair.Connect(t, 1, tcpOnly(true), tcpOnly(false))
	if l, _, err := a.SelectedPair(sa, 1); err != nil || !isTCP(l.Transport) {
		t.Fatalf("selected %v (%v), want a TCP pair", l.Transport, err)
	}
	checkZeroAllocRoundTrip(t, a, b, sa, sb)
}
