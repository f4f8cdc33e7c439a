// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

func TestFrozenUnfreezesOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 2) // controlled: no nomination checks
		defer a.Close()
		ph := e.net.NewHost(netip.MustParseAddr("10.0.0.2"))
		p1, p2 := newRawPeer(t, ph, 5000), newRawPeer(t, ph, 5001)
		defer p1.close()
		defer p2.close()
		attach(t, a, sid, p1, true)
		attach(t, a, sid, p2, false)
		// Same foundation on both components: component 2's pair starts Frozen.
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{p1.candidate(1, "7")}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetRemoteCandidates(sid, 2, []nice.Candidate{p2.candidate(2, "7")}); err != nil {
			t.Fatal(err)
		}
		req := p1.nextRequest(time.Second)
		p2.none(200 * time.Millisecond) // 10 Ta: still frozen while the first is in progress
		p1.respond(req)
		t0 := time.Now()
		req2 := p2.nextRequest(time.Second)
		if d := req2.at.Sub(t0); d > nice.DefaultTa {
			t.Errorf("component 2 checked %v after component 1 succeeded, want within Ta", d)
		}
		p2.respond(req2)
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := r.state(sid, cid); st != nice.ComponentStateConnected {
				t.Errorf("component %d = %v, want connected (controlled, not nominated)", cid, st)
			}
		}
	})
}
