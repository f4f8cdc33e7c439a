// SPDX-License-Identifier: MIT

package tests

import (
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

// TestPionRenomination moves the selected pair between gonice and
// pion/ice v4 without an ICE restart, both ways back and forth, in both
// roles: gonice controlling (Config.Renomination, Agent.Renominate; pion's
// controlled agent follows NOMINATION without any option), and pion
// controlling (WithRenomination, RenominateCandidate; gonice controlled
// with Config.Renomination follows). gonice has two host candidates,
// 127.0.0.1 and 127.0.0.2, pion one on 127.0.0.1: two pairs. After each
// move both agents report the new pair, data goes both ways, gonice
// signals new-selected-pair and nothing else (the component stays READY,
// as libnice signals a renomination), and the credentials are unchanged.
func TestPionRenomination(t *testing.T) {
	for _, controlling := range []bool{true, false} {
		name := "gonice controlling, pion Accept"
		if !controlling {
			name = "pion Dial WithRenomination, gonice controlled"
		}
		t.Run(name, func(t *testing.T) { runPionRenomination(t, controlling) })
	}
}

// renomRecorder records gonice's signals after READY.
type renomRecorder struct {
	mu       sync.Mutex
	ready    bool
	after    []string
	selected chan netip.AddrPort // local address of each new selected pair
}

func runPionRenomination(t *testing.T, controlling bool) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	ga, err := nice.NewAgent(nice.Config{Controlling: controlling, Renomination: true})
	if err != nil {
		t.Fatal(err)
	}
	closeGonice := sync.OnceFunc(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
	})
	defer closeGonice()
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		if err := ga.AddLocalAddress(netip.MustParseAddr(ip)); err != nil {
			t.Fatal(err)
		}
	}
	sid, err := ga.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &renomRecorder{selected: make(chan netip.AddrPort, 16)}
	gathered, ready := make(chan struct{}), make(chan struct{})
	var gatheredOnce, readyOnce sync.Once
	ga.OnCandidateGatheringDone(func(int) { gatheredOnce.Do(func() { close(gathered) }) })
	ga.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		rec.mu.Lock()
		if rec.ready {
			rec.after = append(rec.after, "state "+s.String())
		}
		if s == nice.ComponentStateReady {
			rec.ready = true
		}
		rec.mu.Unlock()
		if s == nice.ComponentStateReady {
			readyOnce.Do(func() { close(ready) })
		}
	})
	ga.OnNewSelectedPair(func(_, _ int, l, r nice.Candidate) {
		rec.mu.Lock()
		if rec.ready {
			rec.after = append(rec.after, "new-selected-pair "+l.Addr.String())
		}
		rec.mu.Unlock()
		rec.selected <- l.Addr
	})
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}

	opts := []ice.AgentOption{
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithIncludeLoopback(),
		ice.WithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
	}
	if !controlling {
		opts = append(opts, ice.WithRenomination(ice.DefaultNominationValueGenerator()))
	}
	pa, err := ice.NewAgentWithOptions(opts...)
	if err != nil {
		t.Fatal(err)
	}
	closePion := sync.OnceFunc(func() {
		if err := pa.Close(); err != nil {
			t.Errorf("pion Close: %v", err)
		}
	})
	defer closePion()
	pionSelected := make(chan netip.AddrPort, 16) // remote address of pion's selected pair
	if err := pa.OnSelectedCandidatePairChange(func(_, r ice.Candidate) {
		pionSelected <- netip.AddrPortFrom(netip.MustParseAddr(r.Address()), uint16(r.Port()))
	}); err != nil {
		t.Fatal(err)
	}
	var pionCands []ice.Candidate
	pionGathered := make(chan struct{})
	if err := pa.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(pionGathered)
			return
		}
		pionCands = append(pionCands, c)
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
	if len(pionCands) != 1 {
		t.Fatalf("pion gathered %d candidates on loopback, want 1", len(pionCands))
	}
	pionCand, err := ga.ParseRemoteCandidateSDP(sid, "a=candidate:"+pionCands[0].Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ga.SetRemoteCandidates(sid, 1, []nice.Candidate{pionCand}); err != nil {
		t.Fatal(err)
	}
	localCands, err := ga.LocalCandidates(sid, 1)
	if err != nil || len(localCands) != 2 {
		t.Fatalf("gonice LocalCandidates = %v, %v; want 2", localCands, err)
	}
	for _, gc := range localCands {
		pc, err := ice.UnmarshalCandidate(strings.TrimPrefix(ga.GenerateLocalCandidateSDP(gc), "a="))
		if err != nil {
			t.Fatal(err)
		}
		if err := pa.AddRemoteCandidate(pc); err != nil {
			t.Fatal(err)
		}
	}

	pconn := pionConnect(t, ctx, pa, controlling, gUfrag, gPwd)
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("timed out waiting for gonice to be READY")
	}
	gconn, err := ga.Conn(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer gconn.Close()

	// waitMove waits until both agents use the pair with gonice's local
	// candidate at addr, then sends data both ways.
	waitMove := func(step string, addr netip.AddrPort) {
		t.Helper()
		for gDone, pDone := false, false; !gDone || !pDone; {
			if l, _, err := ga.SelectedPair(sid, 1); err == nil && l.Addr == addr {
				gDone = true
			}
			if p, err := pa.GetSelectedCandidatePair(); err == nil && p != nil && p.Remote.Address() == addr.Addr().String() && p.Remote.Port() == int(addr.Port()) {
				pDone = true
			}
			if gDone && pDone {
				break
			}
			select {
			case <-rec.selected:
			case <-pionSelected:
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("%s: gonice moved %v, pion moved %v", step, gDone, pDone)
			}
		}
		transfer(t, ctx, step+": gonice -> pion", gconn, pconn, []byte(step+" to pion"))
		transfer(t, ctx, step+": pion -> gonice", pconn, gconn, []byte(step+" to gonice"))
	}

	first, _, err := ga.SelectedPair(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	waitMove("after connecting", first.Addr)
	other := localCands[0]
	if other.Addr == first.Addr {
		other = localCands[1]
	}
	pionLocal, err := pa.GetLocalCandidates()
	if err != nil || len(pionLocal) != 1 {
		t.Fatalf("pion GetLocalCandidates = %v, %v", pionLocal, err)
	}
	pionRemote := func(addr netip.AddrPort) ice.Candidate {
		rs, err := pa.GetRemoteCandidates()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Address() == addr.Addr().String() && r.Port() == int(addr.Port()) {
				return r
			}
		}
		t.Fatalf("pion has no remote candidate %v", addr)
		return nil
	}
	// pionValid waits until pion's pair to addr has succeeded: pion's
	// controlled agent follows a renomination at once only on a pair it
	// has validated (on another one it checks first, then switches only to
	// a pair of higher priority). gonice, controlling with renomination,
	// keeps checking its other pair, and pion answers with triggered checks.
	pionValid := func(addr netip.AddrPort) {
		id := pionRemote(addr).ID()
		for {
			for _, st := range pa.GetCandidatePairsStats() {
				if st.RemoteCandidateID == id && st.State == ice.CandidatePairStateSucceeded {
					return
				}
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("pion's pair to %v never succeeded", addr)
			}
		}
	}

	var wantSignals []string
	for i, to := range []nice.Candidate{other, first, other} {
		step := fmt.Sprintf("renomination %d to %v", i+1, to.Addr)
		if controlling {
			pionValid(to.Addr)
			if err := ga.Renominate(sid, 1, to.Foundation, pionCand.Foundation); err != nil {
				t.Fatalf("%s: Renominate: %v", step, err)
			}
		} else if err := pa.RenominateCandidate(pionLocal[0], pionRemote(to.Addr)); err != nil {
			t.Fatalf("%s: pion RenominateCandidate: %v", step, err)
		}
		waitMove(step, to.Addr)
		wantSignals = append(wantSignals, "new-selected-pair "+to.Addr.String())
	}

	rec.mu.Lock()
	got := slices.Clone(rec.after)
	rec.mu.Unlock()
	if !slices.Equal(got, wantSignals) {
		t.Errorf("gonice signals after READY = %q, want %q", got, wantSignals)
	}
	if u, p, err := ga.LocalCredentials(sid); err != nil || u != gUfrag || p != gPwd {
		t.Errorf("gonice credentials changed: %q %q, %v", u, p, err)
	}
	if u, p, err := pa.GetRemoteUserCredentials(); err != nil || u != gUfrag || p != gPwd {
		t.Errorf("pion's remote credentials changed: %q %q, %v", u, p, err)
	}
	t.Logf("selected pair moved %v -> %v -> %v -> %v on both agents; gonice signals after READY: %q", first.Addr, other.Addr, first.Addr, other.Addr, got)
	_ = gconn.Close()
	closePion()
	closeGonice()
	waitGoroutines(t, base, pionGoroutineSlack)
}
