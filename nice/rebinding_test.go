// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/nicetest"
)

// TestNATRebinding: one agent is behind a NAT that reboots (FlushMappings:
// every flow gets a new external port), the other is public. If the
// rebound agent is the controlling one, its next consent check (which
// repeats USE-CANDIDATE on its selected pair) makes the peer select the
// new peer-reflexive pair: data flows again both ways within a consent
// interval. If it is the controlled one, the controlling agent checks the
// new address at once but moves to it only when consent on the old pair
// runs out (ConsentTimeout), without FAILED. The tests/natlab lab runs the
// same on real NATs (TestNATRebinding there).
func TestNATRebinding(t *testing.T) {
	for _, tc := range []struct {
		rebound string
		within  time.Duration // data flows both ways again within this
	}{
		{"controlling", nice.DefaultConsentInterval * 6 / 5},
		{"controlled", nice.DefaultConsentTimeout + nice.DefaultConsentInterval*6/5},
	} {
		t.Run(tc.rebound, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := nicetest.NewNetwork()
				defer n.Close()
				nat := n.NewNAT(nicetest.NATConfig{Mapping: nicetest.EndpointIndependent, Filtering: nicetest.EndpointIndependent},
					netip.MustParseAddr("198.51.100.1"))
				natted := nat.NewHost(netip.MustParseAddr("192.168.1.2"))
				public := n.NewHost(netip.MustParseAddr("203.0.113.2"))
				hostA, hostB := natted, public // A controlling
				if tc.rebound == "controlled" {
					hostA, hostB = public, natted
				}
				mk := func(h *nicetest.Host, controlling bool) (*nice.Agent, *syncRecorder, int, *atomic.Int64) {
					a, err := nice.NewAgent(nice.Config{Net: h, Controlling: controlling})
					if err != nil {
						t.Fatal(err)
					}
					r := newSyncRecorder(a)
					sid, _ := a.AddStream(1)
					var got atomic.Int64
					if err := a.AttachRecv(sid, 1, func(int, int, []byte) { got.Add(1) }); err != nil {
						t.Fatal(err)
					}
					if err := a.GatherCandidates(sid); err != nil {
						t.Fatal(err)
					}
					return a, r, sid, &got
				}
				a, ra, sa, gotA := mk(hostA, true)
				b, rb, sb, gotB := mk(hostB, false)
				defer a.Close()
				defer b.Close()
				synctest.Wait()
				exchange(t, a, b, sa, sb, 1)
				exchange(t, b, a, sb, sa, 1)
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if ra.state(sa, 1) != nice.ComponentStateReady || rb.state(sb, 1) != nice.ComponentStateReady {
					t.Fatalf("not ready before the rebinding:\nA %q\nB %q", ra.all(), rb.all())
				}
				// Data both ways every 100 ms; flowing means both counters
				// grow over a second.
				flows := func() bool {
					a0, b0 := gotA.Load(), gotB.Load()
					for range 10 {
						_, _ = a.Send(sa, 1, []byte("a"))
						_, _ = b.Send(sb, 1, []byte("b"))
						time.Sleep(100 * time.Millisecond)
						synctest.Wait()
					}
					return gotA.Load() > a0 && gotB.Load() > b0
				}
				if !flows() {
					t.Fatal("no data before the rebinding")
				}
				nat.FlushMappings()
				start := time.Now()
				back := time.Duration(-1)
				for time.Since(start) < tc.within+10*time.Second {
					if flows() {
						back = time.Since(start)
						break
					}
				}
				t.Logf("%s side rebound: data flows both ways again after %v", tc.rebound, back)
				if back < 0 || back > tc.within+time.Second {
					t.Fatalf("data back after %v, want within %v\nA %q\nB %q", back, tc.within, ra.all(), rb.all())
				}
				for name, r := range map[string]*syncRecorder{"A": ra, "B": rb} {
					if slices.Contains(r.all(), "state c1 failed") {
						t.Errorf("%s signalled FAILED: %q", name, r.all())
					}
				}
			})
		})
	}
}
