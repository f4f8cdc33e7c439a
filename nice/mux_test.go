// SPDX-License-Identifier: MIT

package nice_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/pion/stun"
	"golang.org/x/net/ipv4"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// newMux opens a mux on loopback, closed by t's cleanup (after the agents'
// cleanups, which were registered later and run first).
func newMux(t testing.TB) *nice.UDPMux {
	t.Helper()
	m, err := nice.NewUDPMux(netip.AddrPortFrom(agentpair.Loopback, 0), nice.UDPMuxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// roundTrip sends one datagram each way on a connected pair and waits for
// both.
func roundTrip(t testing.TB, a, b *nice.Agent, sa, sb int, tag string) {
	t.Helper()
	gotA, gotB := make(chan string, 1), make(chan string, 1)
	if err := a.AttachRecv(sa, 1, func(_, _ int, p []byte) { gotA <- string(p) }); err != nil {
		t.Fatal(err)
	}
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { gotB <- string(p) }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, []byte("a→b "+tag)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(sb, 1, []byte("b→a "+tag)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan string{gotA, gotB} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: a datagram was not received", tag)
		}
	}
}

// TestMuxConnect: 20 agents on one mux, each connected to a client agent
// with sockets of its own; every pair carries data both ways; each mux
// agent has one host candidate, the mux's address; closing the agents
// releases every route.
func TestMuxConnect(t *testing.T) {
	m := newMux(t)
	const n = 20
	var servers []*nice.Agent
	for i := range n {
		cli, srv, sc, ss := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
		servers = append(servers, srv)
		cands, err := srv.LocalCandidates(ss, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(cands) != 1 || cands[0].Type != nice.CandidateTypeHost || cands[0].Addr != m.LocalAddr() {
			t.Fatalf("the mux agent's candidates are %v, want one host candidate at %v", cands, m.LocalAddr())
		}
		local, _, err := srv.SelectedPair(ss, 1)
		if err != nil || local.Addr != m.LocalAddr() {
			t.Fatalf("selected pair's local candidate %v, %v: want it on the mux", local, err)
		}
		roundTrip(t, cli, srv, sc, ss, fmt.Sprint("pair ", i))
	}
	st := m.Stats()
	if st.Agents != n || st.Routes < n {
		t.Errorf("stats with %d agents: %+v", n, st)
	}
	t.Logf("mux after %d pairs: %+v", n, st)
	for _, srv := range servers {
		srv.Close()
		select {
		case <-srv.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("an agent on the mux did not finish closing")
		}
	}
	if st := m.Stats(); st.Agents != 0 || st.Routes != 0 {
		t.Errorf("after closing every agent on the mux: %+v, want no agents and no routes", st)
	}
}

// TestMuxBothSides: both agents of a pair on muxes (client and server of
// one process on two ports), and a second agent on the first mux with a
// client that has sockets of its own. (Two pairs whose agents share the
// same two muxes would share one 5-tuple: data could not be told apart.)
func TestMuxBothSides(t *testing.T) {
	m1, m2 := newMux(t), newMux(t)
	a, b, sa, sb := agentpair.Connect(t, 1, nice.Config{Controlling: true, Muxes: []*nice.UDPMux{m1}},
		nice.Config{Muxes: []*nice.UDPMux{m2}})
	c, d, sc, sd := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m1}})
	for i := range 3 {
		roundTrip(t, a, b, sa, sb, fmt.Sprint("mux to mux ", i))
		roundTrip(t, c, d, sc, sd, fmt.Sprint("socket to mux ", i))
	}
}

// TestMuxTwoComponents: component 1 goes on the mux, component 2 binds a
// socket of its own; both connect.
func TestMuxTwoComponents(t *testing.T) {
	m := newMux(t)
	a, b, sa, sb := agentpair.Connect(t, 2, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
	c1, _ := b.LocalCandidates(sb, 1)
	c2, _ := b.LocalCandidates(sb, 2)
	if len(c1) != 1 || c1[0].Addr != m.LocalAddr() || len(c2) != 1 || c2[0].Addr.Port() == m.LocalAddr().Port() {
		t.Fatalf("component 1 %v (want only the mux %v), component 2 %v (want its own socket)", c1, m.LocalAddr(), c2)
	}
	got := make(chan struct{}, 1)
	if err := b.AttachRecv(sb, 2, func(_, _ int, _ []byte) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 2, []byte("rtcp")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("component 2 received nothing")
	}
	roundTrip(t, a, b, sa, sb, "component 1")
}

// TestMuxUfrag: a ufrag names one stream on a mux. An application's ufrag
// that another agent has is refused; an ICE restart moves the stream to a
// new ufrag, and the pair reconnects through the mux.
func TestMuxUfrag(t *testing.T) {
	m := newMux(t)
	cli, srv, sc, ss := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
	taken, _, err := srv.LocalCredentials(ss)
	if err != nil {
		t.Fatal(err)
	}
	other, err := nice.NewAgent(nice.Config{Muxes: []*nice.UDPMux{m}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sid, _ := other.AddStream(1)
	if err := other.SetLocalCredentials(sid, taken, "apasswordof22charsXYZW"); !errors.Is(err, nice.ErrUfragInUse) {
		t.Fatalf("SetLocalCredentials to a ufrag another agent on the mux has: %v, want ErrUfragInUse", err)
	}
	third, err := nice.NewAgent(nice.Config{Muxes: []*nice.UDPMux{m}})
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	tid, _ := third.AddStream(1)
	for _, x := range []struct {
		a   *nice.Agent
		sid int
	}{{other, sid}, {third, tid}} {
		if err := x.a.SetLocalCredentials(x.sid, "free1", "apasswordof22charsXYZW"); err != nil {
			t.Fatal(err) // free: no agent on the mux has it yet
		}
	}
	if err := other.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	if err := third.GatherCandidates(tid); !errors.Is(err, nice.ErrUfragInUse) {
		t.Fatalf("gathering with a ufrag another agent took meanwhile: %v, want ErrUfragInUse", err)
	}
	if err := other.SetLocalCredentials(sid, taken, "apasswordof22charsXYZW"); !errors.Is(err, nice.ErrUfragInUse) {
		t.Fatalf("SetLocalCredentials to a taken ufrag after gathering: %v, want ErrUfragInUse", err)
	}
	if u, _, _ := other.LocalCredentials(sid); u != "free1" {
		t.Fatalf("a refused SetLocalCredentials changed the ufrag to %q", u)
	}
	other.Close()
	<-other.Done()

	// ICE restart of the pair: new credentials both ways, then connected
	// again on the mux.
	ready := make(chan struct{}, 2)
	for _, ag := range []*nice.Agent{cli, srv} {
		ag.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				ready <- struct{}{}
			}
		})
	}
	if err := srv.RestartStream(ss); err != nil {
		t.Fatal(err)
	}
	if err := cli.RestartStream(sc); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := srv.LocalCredentials(ss); u == taken {
		t.Fatal("restart kept the ufrag")
	}
	agentpair.Exchange(t, srv, cli, ss, sc, 1)
	agentpair.Exchange(t, cli, srv, sc, ss, 1)
	for range 2 {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("not READY again after the restart")
		}
	}
	roundTrip(t, cli, srv, sc, ss, "after restart")
	if st := m.Stats(); st.Agents != 1 {
		t.Errorf("after the restart the mux has %d agents, want 1 (the old ufrag released)", st.Agents)
	}
}

// TestMuxUnknownUfrag: an ICE-lite server makes its agent when the
// client's first check arrives (the OnUnknownUfrag function), and that
// check is not lost: it is delivered to the agent made for it.
func TestMuxUnknownUfrag(t *testing.T) {
	m := newMux(t)
	const srvUfrag, srvPwd = "lite", "serverpassword22charsXY"
	cli, err := nice.NewAgent(nice.Config{Controlling: true, Nomination: nice.NominationAggressive})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.AddLocalAddress(agentpair.Loopback); err != nil {
		t.Fatal(err)
	}
	sc, _ := cli.AddStream(1)
	cliUfrag, cliPwd, _ := cli.LocalCredentials(sc)

	var (
		mu      sync.Mutex
		srv     *nice.Agent
		unknown []nice.UnknownCheck
	)
	srvReady := make(chan int, 1)
	m.OnUnknownUfrag(func(u nice.UnknownCheck) {
		mu.Lock()
		defer mu.Unlock()
		unknown = append(unknown, u)
		if u.LocalUfrag != srvUfrag || srv != nil {
			return // not ours, or made already
		}
		a, err := nice.NewAgent(nice.Config{Lite: true, Muxes: []*nice.UDPMux{m}})
		if err != nil {
			t.Error(err)
			return
		}
		sid, _ := a.AddStream(1)
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				srvReady <- sid
			}
		})
		if err := a.SetLocalCredentials(sid, srvUfrag, srvPwd); err != nil {
			t.Error(err)
		}
		if err := a.SetRemoteCredentials(sid, u.RemoteUfrag, cliPwd); err != nil {
			t.Error(err)
		}
		if err := a.GatherCandidates(sid); err != nil {
			t.Error(err)
		}
		srv = a
	})
	// A check for a stranger goes to the function and nowhere else.
	stranger := stunCheck(t, "nobody:"+cliUfrag, "whateverpassword22chXY")
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if _, err := sock.WriteToUDPAddrPort(stranger, m.LocalAddr()); err != nil {
		t.Fatal(err)
	}

	if err := cli.SetRemoteCredentials(sc, srvUfrag, srvPwd); err != nil {
		t.Fatal(err)
	}
	if err := cli.GatherCandidates(sc); err != nil {
		t.Fatal(err)
	}
	host := nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportUDP, Addr: m.LocalAddr(),
		ComponentID: 1, Foundation: "1", Priority: 2130706431}
	if _, err := cli.SetRemoteCandidates(sc, 1, []nice.Candidate{host}); err != nil {
		t.Fatal(err)
	}
	var ss int
	select {
	case ss = <-srvReady:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent made on the first check did not become READY")
	}
	mu.Lock()
	a := srv
	seen := append([]nice.UnknownCheck(nil), unknown...)
	mu.Unlock()
	defer a.Close()
	var ours int
	for _, u := range seen {
		if u.LocalUfrag == srvUfrag {
			ours++
			if u.RemoteUfrag != cliUfrag || u.Local != m.LocalAddr() || !u.From.IsValid() {
				t.Errorf("unknown check %+v: want remote ufrag %q, local %v", u, cliUfrag, m.LocalAddr())
			}
		}
	}
	if ours != 1 {
		t.Errorf("the function saw %d checks for %q, want 1 (the first; the agent got the rest)", ours, srvUfrag)
	}
	if len(seen) != ours+1 || seen[0].LocalUfrag != "nobody" {
		t.Errorf("the function saw %+v, want the stranger's check and the first of ours", seen)
	}
	if st := m.Stats(); st.UnknownUfrag != 1 {
		t.Errorf("%d checks counted as for an unknown ufrag, want 1 (the stranger's: the first of ours was delivered)", st.UnknownUfrag)
	}
	for {
		// The lite agent is READY; the client may still be nominating.
		if cli.ComponentState(sc, 1) == nice.ComponentStateReady {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	roundTrip(t, cli, a, sc, ss, "lite")
}

// stunCheck builds a Binding request as an ICE check carries it.
func stunCheck(t testing.TB, username, pwd string) []byte {
	t.Helper()
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(username),
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// TestMuxFlood: checks for unknown ufrags, from 64 source addresses, at a
// mux with a connected agent: each is shown to OnUnknownUfrag once, none
// leaves a route or an agent behind, the memory in use is flat, and the
// connected pair keeps carrying data.
func TestMuxFlood(t *testing.T) {
	m := newMux(t)
	cli, srv, sc, ss := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
	var seen atomic.Int64
	m.OnUnknownUfrag(func(nice.UnknownCheck) { seen.Add(1) })
	before := m.Stats()
	heapBefore := heapInUse()

	total := 200_000
	if raceEnabled || testing.Short() {
		total = 20_000
	}
	const sources, batch = 64, 50
	var conns []*ipv4.PacketConn
	for i := range sources {
		src := netip.AddrFrom4([4]byte{127, 3, byte(i + 1), 9})
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
		if err != nil {
			t.Fatalf("binding %v: %v", src, err)
		}
		defer c.Close()
		conns = append(conns, ipv4.NewPacketConn(c))
	}
	// Distinct ufrags: 256 requests, sent over and over.
	var reqs [256][]byte
	for i := range reqs {
		var u [6]byte
		_, _ = rand.Read(u[:])
		reqs[i] = stunCheck(t, fmt.Sprintf("f%x:peer", u), "floodpassword22charsXYZ")
	}
	target := net.UDPAddrFromAddrPort(m.LocalAddr())
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Addr = target
	}
	sent := 0
	for i := 0; sent < total; i++ {
		for j := range msgs {
			msgs[j].Buffers = [][]byte{reqs[(sent+j)%len(reqs)]}
		}
		n, err := conns[i%sources].WriteBatch(msgs, 0)
		if err == nil {
			sent += n
		}
		if i%20 == 19 {
			roundTrip(t, cli, srv, sc, ss, "during the flood")
		}
	}
	// Wait for the mux to have read what the kernel kept.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := m.Stats()
		if int64(st.UnknownUfrag-before.UnknownUfrag) == seen.Load() && time.Since(deadline) > -9*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mux did not settle: %+v, function saw %d", st, seen.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := m.Stats()
	heapAfter := heapInUse()
	t.Logf("flood: %d checks sent, %d read by the mux (%d batches), %d shown to OnUnknownUfrag; heap in use %d KB before, %d KB after",
		sent, after.Received-before.Received, after.Batches-before.Batches, seen.Load(), heapBefore>>10, heapAfter>>10)
	if seen.Load() == 0 || uint64(seen.Load()) != after.UnknownUfrag-before.UnknownUfrag {
		t.Errorf("the function saw %d checks, the mux counted %d", seen.Load(), after.UnknownUfrag-before.UnknownUfrag)
	}
	if after.Agents != before.Agents || after.Routes != before.Routes {
		t.Errorf("the flood changed the mux's agents or routes: before %+v, after %+v", before, after)
	}
	if !raceEnabled && heapAfter > heapBefore+4<<20 {
		t.Errorf("heap in use grew from %d KB to %d KB over the flood", heapBefore>>10, heapAfter>>10)
	}
	roundTrip(t, cli, srv, sc, ss, "after the flood")
}

// TestZeroAllocMuxDataPath: 0 allocations per datagram through a mux, both
// ways (the agent on the mux sends through it and receives from its
// reader).
func TestZeroAllocMuxDataPath(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random); ./run test runs this without -race")
	}
	m := newMux(t)
	a, b, sa, sb := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
	gotA, gotB := make(chan struct{}, 1), make(chan struct{}, 1)
	if err := a.AttachRecv(sa, 1, func(_, _ int, _ []byte) { gotA <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := b.AttachRecv(sb, 1, func(_, _ int, _ []byte) { gotB <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	lost := time.NewTimer(time.Minute)
	defer lost.Stop()
	wait := func(ch chan struct{}) {
		select {
		case <-ch:
		case <-lost.C:
			t.Fatal("packet lost on loopback")
		}
	}
	toMux := func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
		wait(gotB)
	}
	fromMux := func() {
		if _, err := b.Send(sb, 1, pkt); err != nil {
			t.Fatal(err)
		}
		wait(gotA)
	}
	batch := [][]byte{pkt, pkt, pkt, pkt}
	batchFromMux := func() {
		if n, err := b.SendMessages(sb, 1, batch); n != len(batch) || err != nil {
			t.Fatalf("SendMessages = %d, %v", n, err)
		}
		for range batch {
			wait(gotA)
		}
	}
	for _, tc := range []struct {
		name string
		fn   func()
	}{{"to the mux (its reader, delivery)", toMux}, {"from the mux (Send)", fromMux}, {"from the mux (SendMessages of 4)", batchFromMux}} {
		for range 100 {
			tc.fn()
		}
		if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tc.name, n)
		}
	}
}

// TestMuxMaxDatagram: a datagram of MaxDatagram bytes arrives; a larger
// one is dropped and counted, and the next one arrives.
func TestMuxMaxDatagram(t *testing.T) {
	m, err := nice.NewUDPMux(netip.AddrPortFrom(agentpair.Loopback, 0), nice.UDPMuxConfig{MaxDatagram: 1200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if _, err := nice.NewUDPMux(netip.AddrPortFrom(agentpair.Loopback, 0), nice.UDPMuxConfig{MaxDatagram: 100}); !errors.Is(err, nice.ErrInvalidArgument) {
		t.Errorf("MaxDatagram 100: %v, want ErrInvalidArgument", err)
	}
	a, b, sa, sb := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{Muxes: []*nice.UDPMux{m}})
	got := make(chan int, 4)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- len(p) }); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1200, 1201, 300} {
		p := make([]byte, n)
		p[0] = 0x80
		if _, err := a.Send(sa, 1, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{1200, 300} {
		select {
		case n := <-got:
			if n != want {
				t.Fatalf("received %d bytes, want %d", n, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the %d-byte datagram did not arrive", want)
		}
	}
	if st := m.Stats(); st.Truncated != 1 {
		t.Errorf("Truncated = %d, want 1", st.Truncated)
	}
}

// TestMuxRemoteBeforeGather: remote candidates given before the agent
// gathers (before it is on the mux) are routed to it once it is: data
// from the peer arrives.
func TestMuxRemoteBeforeGather(t *testing.T) {
	m := newMux(t)
	newAgent := func(cfg nice.Config) (*nice.Agent, int, chan struct{}) {
		a, err := nice.NewAgent(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		ready := make(chan struct{}, 1)
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				ready <- struct{}{}
			}
		})
		if err := a.AddLocalAddress(agentpair.Loopback); err != nil {
			t.Fatal(err)
		}
		sid, err := a.AddStream(1)
		if err != nil {
			t.Fatal(err)
		}
		return a, sid, ready
	}
	cli, sc, cliReady := newAgent(nice.Config{Controlling: true})
	srv, ss, srvReady := newAgent(nice.Config{Muxes: []*nice.UDPMux{m}})
	gathered := make(chan struct{})
	cli.OnCandidateGatheringDone(func(int) { close(gathered) })
	if err := cli.GatherCandidates(sc); err != nil {
		t.Fatal(err)
	}
	<-gathered
	agentpair.Exchange(t, cli, srv, sc, ss, 1) // before srv gathers
	if err := srv.GatherCandidates(ss); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Routes != 1 {
		t.Fatalf("routes after gathering: %d, want 1 (the client's candidate)", st.Routes)
	}
	agentpair.Exchange(t, srv, cli, ss, sc, 1)
	for _, ch := range []chan struct{}{cliReady, srvReady} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("not READY")
		}
	}
	roundTrip(t, cli, srv, sc, ss, "remote candidates before gathering")
}

// TestMuxForgetsClosedAgent: an agent on a mux whose checks were never
// answered is garbage once closed: the mux's record of its requests does
// not keep it (weak entries), nor do its routes or its ufrag.
func TestMuxForgetsClosedAgent(t *testing.T) {
	m := newMux(t)
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close() // reads nothing, answers nothing
	a, err := nice.NewAgent(nice.Config{Controlling: true, Muxes: []*nice.UDPMux{m}})
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := a.AddStream(1)
	if err := a.SetRemoteCredentials(sid, "peer", "peerpasswordof22chars0"); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	peer := nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportUDP,
		Addr: silent.LocalAddr().(*net.UDPAddr).AddrPort(), ComponentID: 1, Foundation: "9", Priority: 2130706431}
	if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := silent.ReadFromUDPAddrPort(buf); err != nil { // a check went out, through the mux
		t.Fatal(err)
	}
	wa := weak.Make(a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	<-a.Done()
	a = nil
	for i := 0; i < 50 && wa.Value() != nil; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if wa.Value() != nil {
		t.Error("a closed agent on the mux is still reachable")
	}
	if st := m.Stats(); st.Agents != 0 || st.Routes != 0 {
		t.Errorf("after Close: %+v, want no agents and no routes", st)
	}
}
