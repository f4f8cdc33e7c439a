// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// eventAgent returns an agent checking n remote candidates on loopback that
// never answer. With sameFoundation, one pair is In-Progress and the others
// Frozen behind it (the frozen-pair rule); otherwise every pair is
// In-Progress with its transaction outstanding. Retransmissions are an hour
// away, so the agent's state does not move while it is measured.
func eventAgent(tb testing.TB, n int, sameFoundation bool) *Agent {
	tb.Helper()
	a, err := NewAgent(Config{Controlling: true, Ta: time.Millisecond, STUNInitialTimeout: time.Hour, DisableConsentFreshness: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	lo := netip.MustParseAddr("127.0.0.1")
	if err := a.AddLocalAddress(lo); err != nil {
		tb.Fatal(err)
	}
	sid, err := a.AddStream(1)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		tb.Fatal(err)
	}
	if err := a.SetRemoteCredentials(sid, "rufr", "remotepasswordremotepassword"); err != nil {
		tb.Fatal(err)
	}
	cands := make([]Candidate, n)
	for i := range cands {
		f := "1"
		if !sameFoundation {
			f = strconv.Itoa(i + 1)
		}
		// Ports nothing listens on: the checks go nowhere.
		cands[i] = Candidate{Type: CandidateTypeHost, Transport: TransportUDP, Addr: netip.AddrPortFrom(lo, uint16(40000+i)),
			Priority: candidatePriority(CandidateTypeHost, udpLocalPreference(0, 0), 1) - uint32(i), Foundation: f, ComponentID: 1}
	}
	if got, err := a.SetRemoteCandidates(sid, 1, cands); err != nil || got != n {
		tb.Fatalf("SetRemoteCandidates = %d, %v", got, err)
	}
	want := n
	if sameFoundation {
		want = 1
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var inProgress int
		_ = a.do(func(time.Time) error {
			for _, p := range a.streams[0].checks.pairs {
				if p.state == pairInProgress {
					inProgress++
				}
			}
			return nil
		})
		if inProgress == want {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d pairs In-Progress, want %d", inProgress, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return a
}

// BenchmarkEvent measures one loop event that changes nothing (a method
// call's round trip through the loop, with the deadline bookkeeping after
// it) on an agent with 2, 20 and 100 remote candidates. The cost must not
// grow with the pairs beyond a small factor: deadlines are kept
// incrementally, not found by scanning every pair after every event.
func BenchmarkEvent(b *testing.B) {
	for _, layout := range []struct {
		name string
		same bool
	}{{"frozen", true}, {"in-progress", false}} {
		for _, n := range []int{2, 20, 100} {
			b.Run(fmt.Sprintf("%s/remote=%d", layout.name, n), func(b *testing.B) {
				a := eventAgent(b, n, layout.same)
				noop := func(time.Time) error { return nil }
				b.ReportAllocs()
				for b.Loop() {
					_ = a.do(noop)
				}
			})
		}
	}
}

// TestPacerIdleUntilChange: once the pacer found nothing to check, an event
// that changes no checklist leaves it idle (no scan, no pacing deadline),
// and a change wakes it.
func TestPacerIdleUntilChange(t *testing.T) {
	a := eventAgent(t, 3, true) // one In-Progress, two Frozen behind it
	_ = a.do(func(now time.Time) error {
		a.pace(now.Add(time.Second))
		if !a.pacer.idle || a.checksPending() {
			t.Errorf("pacer idle = %v with every foundation busy", a.pacer.idle)
		}
		if next := a.nextDeadline(now); !next.After(now.Add(time.Minute)) {
			t.Errorf("next deadline %v after now: the idle pacer still sets one", next.Sub(now))
		}
		// The In-Progress pair fails: its foundation is free, a Frozen
		// pair may be checked.
		var busy *pair
		for _, p := range a.streams[0].checks.pairs {
			if p.state == pairInProgress {
				busy = p
			}
		}
		a.streams[0].checks.setState(busy, pairFailed)
		if !a.checksPending() {
			t.Error("a freed foundation did not wake the pacer")
		}
		if p := a.nextPair(); p == nil || p.state != pairFrozen {
			t.Errorf("nextPair = %v, want a Frozen pair to unfreeze", p)
		}
		return nil
	})
}
