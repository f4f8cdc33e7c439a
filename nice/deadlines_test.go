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
