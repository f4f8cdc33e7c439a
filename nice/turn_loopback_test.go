// SPDX-License-Identifier: MIT

package nice_test

// TURN on real loopback sockets, in real time, with helpers shared by the
// pion/turn server test here and the coturn test (turn_coturn_test.go).

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
	"github.com/pion/turn/v2"
)

// pionLoopbackServer runs pion/turn's server on 127.0.0.1 over UDP and TCP
// (user "u", password "p") and returns its two addresses.
func pionLoopbackServer(t testing.TB) (udp, tcp string, srv *turn.Server) {
	t.Helper()
	udp, tcp, srv, _ = pionLoopbackServerTracked(t)
	return udp, tcp, srv
}

// trackedListener records the connections it accepted, so that a test
// can end them all (closeAll), as a server that restarts does; pion's
// server's Close closes its listener only.
type trackedListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// closeAll closes every connection accepted so far.
func (l *trackedListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
}

// pionLoopbackServerTracked is pionLoopbackServer with its TCP listener,
// which records what it accepted.
func pionLoopbackServerTracked(t testing.TB) (udp, tcp string, srv *turn.Server, tl *trackedListener) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &trackedListener{Listener: ln}
	return pc.LocalAddr().String(), l.Addr().String(), pionServer(t, pc, l), l
}

// pionServer runs pion/turn's server on pc (UDP) and l (TCP), either may be
// nil, user "u" with password "p", relaying on 127.0.0.1.
func pionServer(t testing.TB, pc net.PacketConn, l net.Listener) *turn.Server {
	t.Helper()
	gen := &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}
	cfg := turn.ServerConfig{
		Realm: "gonice",
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			return turn.GenerateAuthKey("u", realm, "p"), user == "u"
		},
		LoggerFactory: quietPion{},
	}
	if pc != nil {
		cfg.PacketConnConfigs = []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: gen}}
	}
	if l != nil {
		cfg.ListenerConfigs = []turn.ListenerConfig{{Listener: l, RelayAddressGenerator: gen}}
	}
	srv, err := turn.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// pionServerOn runs pion/turn's server over TCP on addr (a server back on
// the address it had).
func pionServerOn(t testing.TB, addr string) *turn.Server {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	return pionServer(t, nil, l)
}

// relayPair makes two force-relay agents on 127.0.0.1 with server as TURN
// server, connects them and returns them once both are READY.
func relayPair(t testing.TB, server string, rt nice.RelayType) (a, b *nice.Agent, sa, sb int) {
	t.Helper()
	mk := func(controlling bool) (*nice.Agent, *recorder, int) {
		ag, err := nice.NewAgent(nice.Config{Controlling: controlling, ForceRelay: true})
		if err != nil {
			t.Fatal(err)
		}
		r := newRecorder(ag)
		if err := ag.AddLocalAddress(loopback); err != nil {
			t.Fatal(err)
		}
		sid, err := ag.AddStream(1)
		if err != nil {
			t.Fatal(err)
		}
		if err := ag.SetRelayInfo(sid, 1, server, "u", "p", rt); err != nil {
			t.Fatal(err)
		}
		if err := ag.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		return ag, r, sid
	}
	a, ra, sa := mk(true)
	b, rb, sb := mk(false)
	for _, x := range []struct {
		ag  *nice.Agent
		r   *recorder
		sid int
	}{{a, ra, sa}, {b, rb, sb}} {
		waitGatheredTB(t, x.r, x.sid)
		cs, _ := x.ag.LocalCandidates(x.sid, 1)
		if len(cs) != 1 || cs[0].Type != nice.CandidateTypeRelayed {
			errs, _ := x.ag.RelayErrors(x.sid)
			t.Fatalf("local candidates %v, want one relay; relay errors %v", cs, errs)
		}
	}
	agentpair.Exchange(t, a, b, sa, sb, 1)
	agentpair.Exchange(t, b, a, sb, sa, 1)
	waitStateTB(t, ra, sa, nice.ComponentStateReady)
	waitStateTB(t, rb, sb, nice.ComponentStateReady)
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		l, r, err := x.ag.SelectedPair(x.sid, 1)
		if err != nil || l.Type != nice.CandidateTypeRelayed || r.Type != nice.CandidateTypeRelayed {
			t.Fatalf("selected %v -> %v (%v), want relay -> relay", l, r, err)
		}
	}
	return a, b, sa, sb
}

func waitGatheredTB(t testing.TB, r *recorder, sid int) {
	t.Helper()
	r.mu.Lock()
	ch := r.doneCh(sid)
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("gathering of stream %d did not finish", sid)
	}
}

func waitStateTB(t testing.TB, r *recorder, sid int, st nice.ComponentState) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		ok := r.states[[2]int{sid, 1}] == st
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.change:
		case <-deadline:
			t.Fatalf("stream %d did not reach %s; events: %q", sid, st, r.snapshot())
		}
	}
}

// relayEcho sends one message each way and waits for it.
func relayEcho(t testing.TB, a, b *nice.Agent, sa, sb int) {
	t.Helper()
	for _, x := range []struct {
		from, to   *nice.Agent
		fsid, tsid int
		msg        string
	}{{a, b, sa, sb, "a to b through the relay"}, {b, a, sb, sa, "b to a through the relay"}} {
		got := make(chan string, 16)
		_ = x.to.AttachRecv(x.tsid, 1, func(_, _ int, p []byte) {
			select {
			case got <- string(p):
			default:
			}
		})
		// The first datagrams may be lost while the channel is bound:
		// repeat until one arrives.
		deadline := time.After(5 * time.Second)
	wait:
		for {
			if _, err := x.from.Send(x.fsid, 1, []byte(x.msg)); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-got:
				if s != x.msg {
					t.Fatalf("got %q, want %q", s, x.msg)
				}
				break wait
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatalf("%q did not arrive", x.msg)
			}
		}
		_ = x.to.AttachRecv(x.tsid, 1, nil)
	}
}

// TestTURNLoopbackPion: two force-relay agents connect on loopback through
// pion/turn's server over UDP and TCP; Close releases the allocations and
// leaves no goroutine behind. It also logs the relay data path's
// allocations (TestZeroAllocRelayedDataPath asserts there are none).
func TestTURNLoopbackPion(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	for _, rt := range []nice.RelayType{nice.RelayTypeTURNUDP, nice.RelayTypeTURNTCP} {
		t.Run(rt.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			udp, tcp, srv := pionLoopbackServer(t)
			server := udp
			if rt == nice.RelayTypeTURNTCP {
				server = tcp
			}
			start := time.Now()
			a, b, sa, sb := relayPair(t, server, rt)
			t.Logf("connected through the relay in %v", time.Since(start).Round(time.Millisecond))
			relayEcho(t, a, b, sa, sb)
			if rt == nice.RelayTypeTURNUDP {
				measureRelayAllocs(t, a, b, sa, sb)
			}
			if n := srv.AllocationCount(); n != 2 {
				t.Errorf("server has %d allocations, want 2", n)
			}
			start = time.Now()
			a.Close()
			b.Close()
			t.Logf("Close of both agents took %v", time.Since(start).Round(time.Millisecond))
			if n := srv.AllocationCount(); n != 0 {
				t.Errorf("server has %d allocations after Close, want 0", n)
			}
			_ = srv.Close()
			checkNoLeak(t, before)
		})
	}
}

// measureRelayAllocs logs and returns the allocations per Send and per
// Send + receive on a relayed pair, once its channel is bound (the counts
// are process-wide: Send's includes the receiving reader's).
func measureRelayAllocs(t *testing.T, a, b *nice.Agent, sa, sb int) (send, roundTrip float64) {
	t.Helper()
	got := make(chan struct{}, 1024)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	defer b.AttachRecv(sb, 1, nil)
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	lost := time.NewTimer(time.Minute)
	defer lost.Stop()
	once := func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-lost.C:
			t.Fatal("packet lost")
		}
	}
	// Warm up until the channel is bound (ChannelData, not Send indications).
	for range 300 {
		once()
		time.Sleep(time.Millisecond)
	}
	roundTrip = testing.AllocsPerRun(1000, once)
	send = testing.AllocsPerRun(1000, func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
	})
	for len(got) > 0 {
		<-got
	}
	t.Logf("relay data path: %.1f allocations per Send, %.1f per Send + receive", send, roundTrip)
	return send, roundTrip
}

// BenchmarkTURNSend1200 sends 1200-byte datagrams on a UDP TURN relay
// (pion/turn's server on loopback), received by the peer's relay.
func BenchmarkTURNSend1200(b *testing.B) {
	udp, _, srv := pionLoopbackServer(b)
	defer srv.Close()
	x, y, sx, sy := relayPair(b, udp, nice.RelayTypeTURNUDP)
	defer x.Close()
	defer y.Close()
	got := make(chan struct{}, 4096)
	_ = y.AttachRecv(sy, 1, func(_, _ int, p []byte) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	for range 200 {
		_, _ = x.Send(sx, 1, pkt)
		time.Sleep(time.Millisecond)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := x.Send(sx, 1, pkt); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(time.Second):
			b.Fatal("datagram lost")
		}
	}
}

// TestTURNTCPConnectionLost: an allocation over TCP lives as long as its
// connection. When the server goes away (pion's server closed, and its
// connections with it), each agent reports the allocation lost at once
// (RelayErrors, ErrRelayLost), not at its next refresh or when consent
// runs out, withdraws the relayed candidate, and tries to allocate again
// (which fails here: the server is gone).
func TestTURNTCPConnectionLost(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	_, tcp, srv, tl := pionLoopbackServerTracked(t)
	a, b, sa, sb := relayPair(t, tcp, nice.RelayTypeTURNTCP)
	relayEcho(t, a, b, sa, sb)
	start := time.Now()
	_ = srv.Close()
	tl.closeAll()
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		var errs []nice.RelayError
		waitUntil(t, 5*time.Second, func() bool {
			errs, _ = x.ag.RelayErrors(x.sid)
			return slices.ContainsFunc(errs, func(e nice.RelayError) bool { return errors.Is(e.Err, nice.ErrRelayLost) })
		}, func() string {
			return fmt.Sprintf("no lost allocation reported 5 s after the server closed; relay errors %v", errs)
		})
		t.Logf("allocation reported lost %v after the server closed: %v", time.Since(start).Round(time.Millisecond), errs)
		cands, _ := x.ag.LocalCandidates(x.sid, 1)
		for _, c := range cands {
			if c.Type == nice.CandidateTypeRelayed {
				t.Errorf("relayed candidate %v still listed after its allocation was lost", c.Addr)
			}
		}
	}
}

// waitRelayedCandidate waits up to 10 s until the agent lists a relayed
// candidate on component 1 of stream sid; when says when, for the failure.
func waitRelayedCandidate(t *testing.T, ag *nice.Agent, sid int, when string) {
	t.Helper()
	waitUntil(t, 10*time.Second, func() bool {
		cands, _ := ag.LocalCandidates(sid, 1)
		return slices.ContainsFunc(cands, func(c nice.Candidate) bool { return c.Type == nice.CandidateTypeRelayed })
	}, func() string {
		errs, _ := ag.RelayErrors(sid)
		return fmt.Sprintf("no relayed candidate %s; relay errors %v", when, errs)
	})
}

// TestTURNRecoversAfterOutage: the TURN server goes away (over TCP: its
// connections end), each agent reports its allocation lost and tries to
// make it again, which fails while the server is down. When the server is
// back on the same address, an ICE restart makes the allocation anew, a
// new relayed candidate is listed, and the pair connects through the
// relay again.
func TestTURNRecoversAfterOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	_, tcp, srv, tl := pionLoopbackServerTracked(t)
	a, b, sa, sb := relayPair(t, tcp, nice.RelayTypeTURNTCP)
	relayEcho(t, a, b, sa, sb)
	_ = srv.Close()
	tl.closeAll()
	agents := []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}}
	// Lost, then the new allocation refused (nothing listens): two errors.
	for _, x := range agents {
		var errs []nice.RelayError
		waitUntil(t, 10*time.Second, func() bool {
			errs, _ = x.ag.RelayErrors(x.sid)
			return len(errs) >= 2
		}, func() string {
			return fmt.Sprintf("relay errors %v: want the loss and the failed new allocation", errs)
		})
	}
	// The server comes back on the same address.
	srv2 := pionServerOn(t, tcp)
	defer srv2.Close()
	for _, x := range agents {
		if err := x.ag.RestartStream(x.sid); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range agents {
		waitRelayedCandidate(t, x.ag, x.sid, "after the restart")
	}
	agentpair.Exchange(t, a, b, sa, sb, 1)
	agentpair.Exchange(t, b, a, sb, sa, 1)
	for _, x := range agents {
		waitUntil(t, 10*time.Second, func() bool { return x.ag.ComponentState(x.sid, 1) == nice.ComponentStateReady },
			func() string {
				return fmt.Sprintf("not READY through the relay after the restart: %v", x.ag.ComponentState(x.sid, 1))
			})
	}
	relayEcho(t, a, b, sa, sb)
	if n := srv2.AllocationCount(); n != 2 {
		t.Errorf("the server has %d allocations after the restart, want 2", n)
	}
}
