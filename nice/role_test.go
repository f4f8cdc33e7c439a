// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

func TestRoleConflict(t *testing.T) {
	cases := []struct {
		name            string
		agentControls   bool
		peerControls    bool
		peerTieBreaker  uint64
		wantConflict487 bool
		wantControlling bool
	}{
		{"both controlling, agent wins", true, true, 0, true, true},
		{"both controlling, peer wins", true, true, ^uint64(0), false, false},
		{"both controlled, agent wins", false, false, 0, false, true},
		{"both controlled, peer wins", false, false, ^uint64(0), true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: tc.agentControls}, 1)
				defer a.Close()
				peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
				defer peer.close()
				attach(t, a, sid, peer, false)
				id := peer.check(localAddr(t, a, sid, 1), tc.peerControls, tc.peerTieBreaker, false)
				resp := peer.nextResponse(id, time.Second)
				var ec stun.ErrorCodeAttribute
				got487 := resp.m.Type.Class == stun.ClassErrorResponse && ec.GetFrom(resp.m) == nil && ec.Code == stun.CodeRoleConflict
				if got487 != tc.wantConflict487 {
					t.Errorf("487 = %v, want %v (response %v)", got487, tc.wantConflict487, resp.m)
				}
				if got487 {
					if err := stun.NewShortTermIntegrity(peer.rpwd).Check(resp.m); err != nil {
						t.Errorf("487 not signed: %v", err)
					}
				}
				if got := a.Controlling(); got != tc.wantControlling {
					t.Errorf("Controlling() = %v, want %v", got, tc.wantControlling)
				}
			})
		})
	}
}

func TestRoleConflictResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		req := peer.nextRequest(time.Second)
		var ctl stunx.ICEControlling
		if err := ctl.GetFrom(req.m); err != nil {
			t.Fatalf("first check lacks ICE-CONTROLLING: %v", err)
		}
		peer.respondError(req, stun.CodeRoleConflict)
		// RFC 8445 §7.2.5.1: switch role, retry the pair as triggered check.
		req = peer.nextRequest(time.Second)
		var ctd stunx.ICEControlled
		if err := ctd.GetFrom(req.m); err != nil {
			t.Fatalf("retry lacks ICE-CONTROLLED: %v", err)
		}
		if a.Controlling() {
			t.Errorf("agent still controlling after 487")
		}
		peer.respond(req)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateConnected {
			t.Errorf("state = %v, want connected", st)
		}
	})
}
