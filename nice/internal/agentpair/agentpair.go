// SPDX-License-Identifier: MIT

// Package agentpair connects two real agents on loopback, for the tests and
// benchmarks of nice and of the packages built on it (nice/dtlssrtp).
package agentpair

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// Loopback is the address the agents use.
var Loopback = netip.MustParseAddr("127.0.0.1")

// Connect returns two agents on Loopback with one stream of ncomp components
// each, every component READY. tb's cleanup closes them.
func Connect(tb testing.TB, ncomp int, cfgA, cfgB nice.Config) (a, b *nice.Agent, sa, sb int) {
	tb.Helper()
	a, err := nice.NewAgent(cfgA)
	if err != nil {
		tb.Fatal(err)
	}
	b, err = nice.NewAgent(cfgB)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close(); b.Close() })
	ready := make(chan struct{}, 2*ncomp)
	gathered := make(chan struct{}, 2)
	for _, ag := range []*nice.Agent{a, b} {
		ag.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				select {
				case ready <- struct{}{}:
				default: // later READYs (a restart): the handler stays connected and must not block
				}
			}
		})
		ag.OnCandidateGatheringDone(func(int) {
			select {
			case gathered <- struct{}{}:
			default:
			}
		})
		if err := ag.AddLocalAddress(Loopback); err != nil {
			tb.Fatal(err)
		}
	}
	if sa, err = a.AddStream(ncomp); err != nil {
		tb.Fatal(err)
	}
	if sb, err = b.AddStream(ncomp); err != nil {
		tb.Fatal(err)
	}
	if err := a.GatherCandidates(sa); err != nil {
		tb.Fatal(err)
	}
	if err := b.GatherCandidates(sb); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	<-gathered
	Exchange(tb, a, b, sa, sb, ncomp)
	Exchange(tb, b, a, sb, sa, ncomp)
	for range 2 * ncomp {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			tb.Fatal("agents did not become READY")
		}
	}
	return a, b, sa, sb
}

// Exchange gives to's stream the credentials and candidates of from's, as a
// signalling channel would.
func Exchange(tb testing.TB, from, to *nice.Agent, fromSID, toSID, ncomp int) {
	tb.Helper()
	u, p, err := from.LocalCredentials(fromSID)
	if err != nil {
		tb.Fatal(err)
	}
	if err := to.SetRemoteCredentials(toSID, u, p); err != nil {
		tb.Fatal(err)
	}
	for c := 1; c <= ncomp; c++ {
		cands, err := from.LocalCandidates(fromSID, c)
		if err != nil {
			tb.Fatal(err)
		}
		if n, err := to.SetRemoteCandidates(toSID, c, cands); err != nil || n != len(cands) {
			tb.Fatalf("SetRemoteCandidates = %d, %v; want %d", n, err, len(cands))
		}
	}
}
