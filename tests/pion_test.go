// SPDX-License-Identifier: MIT

package tests

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/ice/v4"
)

// interopTimeout bounds every wait. It is generous: these tests run under
// -race on small machines; they assert no timing.
const interopTimeout = 30 * time.Second

// pionGoroutineSlack is how many goroutines more than before a test may
// still run once everything is closed and the count has settled. gonice's
// Close returns only when all of its goroutines are gone, so gonice needs
// none. pion/ice v4's Close ends its goroutines asynchronously; the wait in
// waitGoroutines covers that, and with v4.4.8 the count returns exactly to
// where it was. The slack of 2 tolerates a pion release that keeps a global
// goroutine or two (its mDNS or network monitor); a leak of ours is an
// agent's worth of goroutines (loop, dispatcher, one per socket) or more,
// and is caught anyway.
const pionGoroutineSlack = 2

// pionResult is one row of the interop table.
type pionResult struct {
	role       string
	nomination nice.NominationMode
	gonicePair string
	pionPair   string
	connect    time.Duration
}

// TestPionInterop connects a gonice agent and a pion/ice v4 agent on
// 127.0.0.1, in both roles, and sends data both ways.
func TestPionInterop(t *testing.T) {
	cases := []struct {
		name        string
		controlling bool // gonice's role; pion takes the other one
		nomination  nice.NominationMode
		mux         bool // gonice's agent on a nice.UDPMux shared with another agent
	}{
		{name: "gonice controlling, pion Accept", controlling: true, nomination: nice.NominationRegular},
		{name: "gonice controlled, pion Dial", controlling: false, nomination: nice.NominationRegular},
		{name: "gonice controlling aggressive, pion Accept", controlling: true, nomination: nice.NominationAggressive},
		{name: "gonice on a mux controlling, pion Accept", controlling: true, nomination: nice.NominationRegular, mux: true},
		{name: "gonice on a mux controlled, pion Dial", controlling: false, nomination: nice.NominationRegular, mux: true},
	}
	var (
		mu      sync.Mutex
		results []pionResult
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runPionInterop(t, tc.controlling, tc.nomination, tc.mux)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s  %-10s  %-45s  %-45s  %s\n", "gonice role", "nomination", "gonice selected pair (local -> remote)", "pion selected pair (local -> remote)", "connect")
	for _, r := range results {
		fmt.Fprintf(&b, "%-11s  %-10s  %-45s  %-45s  %v\n", r.role, r.nomination, r.gonicePair, r.pionPair, r.connect.Round(time.Millisecond))
	}
	t.Logf("gonice <-> pion/ice v4 on 127.0.0.1:\n%s", b.String())
}

func runPionInterop(t *testing.T, controlling bool, nomination nice.NominationMode, onMux bool) pionResult {
	base := runtime.NumGoroutine()
	res := pionResult{role: "controlled", nomination: nomination}
	if controlling {
		res.role = "controlling"
	}
	if onMux {
		res.role += ", on a mux"
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	// The gonice agent.
	cfg := nice.Config{Controlling: controlling, Nomination: nomination}
	closeMux := func() {}
	if onMux {
		m, neighbour := muxWithNeighbour(t, netip.MustParseAddr("127.0.0.1"))
		cfg.Muxes = []*nice.UDPMux{m}
		closeMux = func() { closeAgents(t, neighbour...); m.Close() }
		defer closeMux()
	}
	ga, err := nice.NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeGonice := sync.OnceFunc(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
	})
	defer closeGonice()
	if err := ga.AddLocalAddress(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	sid, err := ga.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	gathered := make(chan struct{})
	ready := make(chan struct{})
	failed := make(chan struct{})
	var gatheredOnce, readyOnce, failedOnce sync.Once
	ga.OnCandidateGatheringDone(func(int) { gatheredOnce.Do(func() { close(gathered) }) })
	ga.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		t.Logf("gonice: component state %s", s)
		switch s {
		case nice.ComponentStateReady:
			readyOnce.Do(func() { close(ready) })
		case nice.ComponentStateFailed:
			failedOnce.Do(func() { close(failed) })
		case nice.ComponentStateDisconnected, nice.ComponentStateGathering, nice.ComponentStateConnecting, nice.ComponentStateConnected:
		}
	})
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}

	// The pion agent: UDP over IPv4, host candidates on loopback only.
	pa, err := ice.NewAgentWithOptions(
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithIncludeLoopback(),
		ice.WithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
	)
	if err != nil {
		t.Fatal(err)
	}
	closePion := sync.OnceFunc(func() {
		if err := pa.Close(); err != nil {
			t.Errorf("pion Close: %v", err)
		}
	})
	defer closePion()
	var pionCands []ice.Candidate
	pionGathered := make(chan struct{})
	if err := pa.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(pionGathered)
			return
		}
		pionCands = append(pionCands, c) // read only after pionGathered
	}); err != nil {
		t.Fatal(err)
	}
	if err := pa.GatherCandidates(); err != nil {
		t.Fatal(err)
	}

	for what, ch := range map[string]chan struct{}{"gonice gathering": gathered, "pion gathering": pionGathered} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}

	// Signalling, as SDP lines: gonice's candidates to pion, pion's to gonice.
	start := time.Now()
	gUfrag, gPwd, err := ga.LocalCredentials(sid)
	if err != nil {
		t.Fatal(err)
	}
	pUfrag, pPwd, err := pa.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.SetRemoteCredentials(sid, pUfrag, pPwd); err != nil {
		t.Fatal(err)
	}
	if len(pionCands) == 0 {
		t.Fatal("pion gathered no candidate on 127.0.0.1")
	}
	for _, pc := range pionCands {
		line := "a=candidate:" + pc.Marshal()
		gc, err := ga.ParseRemoteCandidateSDP(sid, line)
		if err != nil {
			t.Fatalf("gonice cannot parse pion's %q: %v", line, err)
		}
		if n, err := ga.SetRemoteCandidates(sid, 1, []nice.Candidate{gc}); err != nil || n != 1 {
			t.Fatalf("SetRemoteCandidates(%v) = %d, %v; want 1, nil", gc, n, err)
		}
	}
	if err := ga.PeerCandidateGatheringDone(sid); err != nil {
		t.Fatal(err)
	}
	localCands, err := ga.LocalCandidates(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, gc := range localCands {
		line := ga.GenerateLocalCandidateSDP(gc)
		pc, err := ice.UnmarshalCandidate(strings.TrimPrefix(line, "a="))
		if err != nil {
			t.Fatalf("pion cannot parse gonice's %q: %v", line, err)
		}
		if err := pa.AddRemoteCandidate(pc); err != nil {
			t.Fatalf("pion AddRemoteCandidate(%q): %v", line, err)
		}
	}

	pconn := pionConnect(t, ctx, pa, controlling, gUfrag, gPwd)
	select {
	case <-ready:
	case <-failed:
		t.Fatal("gonice: component FAILED")
	case <-ctx.Done():
		t.Fatal("timed out waiting for gonice to be READY")
	}
	res.connect = time.Since(start)

	local, remote, err := ga.SelectedPair(sid, 1)
	if err != nil {
		t.Fatalf("gonice SelectedPair: %v", err)
	}
	res.gonicePair = fmt.Sprintf("%s %s -> %s %s", local.Type, local.Addr, remote.Type, remote.Addr)
	if m := cfg.Muxes; len(m) > 0 && local.Addr != m[0].LocalAddr() {
		t.Errorf("gonice selected %v, want its local candidate on the mux %v", local.Addr, m[0].LocalAddr())
	}
	if pair, err := pa.GetSelectedCandidatePair(); err == nil && pair != nil {
		res.pionPair = fmt.Sprintf("%s %s:%d -> %s %s:%d", pair.Local.Type(), pair.Local.Address(), pair.Local.Port(),
			pair.Remote.Type(), pair.Remote.Address(), pair.Remote.Port())
	} else {
		t.Errorf("pion GetSelectedCandidatePair: %v, %v", pair, err)
	}

	// Data both ways. gonice uses its net.Conn; pion its *ice.Conn.
	gconn, err := ga.Conn(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	toPion := []byte("hello pion, this is gonice")
	transfer(t, ctx, "gonice -> pion", gconn, pconn, toPion)
	transfer(t, ctx, "pion -> gonice", pconn, gconn, []byte("hello gonice, this is pion"))
	// And with Send, the libnice-style call.
	send := writerFunc(func(p []byte) (int, error) { return ga.Send(sid, 1, p) })
	transfer(t, ctx, "gonice Send -> pion", send, pconn, []byte("sent with Agent.Send"), toPion)

	if err := gconn.Close(); err != nil {
		t.Errorf("gonice Conn.Close: %v", err)
	}
	closePion()
	closeGonice()
	closeMux()
	waitGoroutines(t, base, pionGoroutineSlack)
	return res
}

// writerFunc adapts a function to a writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// deadlineReader is the part of net.Conn transfer reads with.
type deadlineReader interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}

// transfer writes msg and reads it on the other side. UDP may drop a
// datagram, so it writes again after each half second without it; a late
// copy of an earlier message (one of stale) is then skipped.
func transfer(t *testing.T, ctx context.Context, what string, w interface{ Write([]byte) (int, error) }, r deadlineReader, msg []byte, stale ...[]byte) {
	t.Helper()
	buf := make([]byte, 1500)
	for {
		if _, err := w.Write(msg); err != nil {
			t.Fatalf("%s: write: %v", what, err)
		}
		if err := r.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
			t.Fatalf("%s: SetReadDeadline: %v", what, err)
		}
		n, err := r.Read(buf)
		if err == nil {
			if slices.ContainsFunc(stale, func(s []byte) bool { return bytes.Equal(s, buf[:n]) }) {
				continue
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Fatalf("%s: read %q, want %q", what, buf[:n], msg)
			}
			_ = r.SetReadDeadline(time.Time{})
			return
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("%s: read: %v", what, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: nothing arrived within %v", what, interopTimeout)
		}
	}
}

// waitGoroutines waits until no more than base+slack goroutines run.
// pionConnect connects pion's agent in the role opposite gonice's (Accept,
// controlled, when gonice is controlling; Dial otherwise) and returns its
// conn; pion's error, or ctx ending first, fails t.
func pionConnect(t *testing.T, ctx context.Context, pa *ice.Agent, goniceControlling bool, ufrag, pwd string) *ice.Conn {
	t.Helper()
	var c *ice.Conn
	var err error
	if goniceControlling {
		c, err = pa.Accept(ctx, ufrag, pwd)
	} else {
		c, err = pa.Dial(ctx, ufrag, pwd)
	}
	if err != nil {
		t.Fatalf("pion connect: %v", err)
	}
	return c
}

func waitGoroutines(t *testing.T, base, slack int) {
	t.Helper()
	deadline := time.Now().Add(interopTimeout)
	for runtime.NumGoroutine() > base+slack {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutine leak: %d running, %d before the test (slack %d):\n%s", runtime.NumGoroutine(), base, slack, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
