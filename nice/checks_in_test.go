// SPDX-License-Identifier: MIT

package nice_test

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

func TestTriggeredCheckAndPeerReflexive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, false)
		to := localAddr(t, a, sid, 1)
		// A check before the remote credentials: answered, remembered.
		id := peer.check(to, true, 1, false)
		resp := peer.nextResponse(id, time.Second)
		if resp.m.Type != stun.BindingSuccess {
			t.Fatalf("response = %v, want success", resp.m.Type)
		}
		if err := stun.NewShortTermIntegrity(peer.rpwd).Check(resp.m); err != nil {
			t.Fatalf("response integrity: %v", err)
		}
		var xa stun.XORMappedAddress
		if err := xa.GetFrom(resp.m); err != nil || xa.Port != int(peer.addr().Port()) {
			t.Fatalf("XOR-MAPPED-ADDRESS = %v, %v; want %v", xa, err, peer.addr())
		}
		peer.none(time.Second) // no credentials yet: no triggered check
		synctest.Wait()
		if !r.has("initial-binding-request") {
			t.Errorf("no initial-binding-request-received: %q", r.all())
		}
		if err := a.SetRemoteCredentials(sid, peer.ufrag, peer.pwd); err != nil {
			t.Fatal(err)
		}
		req := peer.nextRequest(time.Second) // the triggered check, at once
		var ctd stunx.ICEControlled
		if err := ctd.GetFrom(req.m); err != nil {
			t.Errorf("triggered check lacks ICE-CONTROLLED: %v", err)
		}
		peer.respond(req)
		synctest.Wait()
		if want := fmt.Sprintf("remote c1 prflx %s", peer.addr()); !r.has(want) {
			t.Errorf("missing %q in %q", want, r.all())
		}
		rc, _ := a.RemoteCandidates(sid, 1)
		if len(rc) != 1 || rc[0].Type != nice.CandidateTypePeerReflexive || rc[0].Priority != 1853817087 {
			t.Errorf("remote candidates = %v, want one prflx with the PRIORITY of the check", rc)
		}
		if st := r.state(sid, 1); st != nice.ComponentStateConnected {
			t.Errorf("state = %v, want connected", st)
		}
		// The controlling peer nominates: READY.
		id = peer.check(to, true, 1, true)
		peer.nextResponse(id, time.Second)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Errorf("state after USE-CANDIDATE = %v, want ready", st)
		}
	})
}

func TestUnauthenticatedRequestsRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		to := localAddr(t, a, sid, 1)
		send := func(setters ...stun.Setter) [stun.TransactionIDSize]byte {
			m := stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.BindingRequest}, setters...)...)
			if _, err := peer.conn.WriteToUDPAddrPort(m.Raw, to); err != nil {
				t.Fatal(err)
			}
			return m.TransactionID
		}
		cases := []struct {
			name    string
			setters []stun.Setter
			code    stun.ErrorCode
		}{
			// (SOFTWARE makes these two larger than their answers: see
			// below.)
			{"no USERNAME or MESSAGE-INTEGRITY", []stun.Setter{stun.NewSoftware("a peer that forgot its credentials"), stun.Fingerprint}, stun.CodeBadRequest},
			{"no MESSAGE-INTEGRITY", []stun.Setter{stun.NewUsername(peer.rufrag + ":" + peer.ufrag), stun.NewSoftware("a peer that forgot to sign"), stun.Fingerprint}, stun.CodeBadRequest},
			{"wrong ufrag", []stun.Setter{stun.NewUsername("nope:" + peer.ufrag), stun.NewShortTermIntegrity(peer.rpwd), stun.Fingerprint}, stun.CodeUnauthorized},
			{"wrong password", []stun.Setter{stun.NewUsername(peer.rufrag + ":" + peer.ufrag), stun.NewShortTermIntegrity("wrongwrongwrongwrongwrong"), stun.Fingerprint}, stun.CodeUnauthorized},
		}
		for _, tc := range cases {
			id := send(tc.setters...)
			resp := peer.nextResponse(id, time.Second)
			var ec stun.ErrorCodeAttribute
			if resp.m.Type.Class != stun.ClassErrorResponse || ec.GetFrom(resp.m) != nil || ec.Code != tc.code {
				t.Errorf("%s: response %v %v, want error %d", tc.name, resp.m.Type, ec, tc.code)
			}
		}
		// A request smaller than its error answer gets none: the agent is
		// no amplifier for spoofed floods (TestCheckFlood).
		send(stun.Fingerprint)
		peer.none(time.Second) // no answer to it, and no triggered check: no state was created
		synctest.Wait()
		if rc, _ := a.RemoteCandidates(sid, 1); len(rc) != 0 {
			t.Errorf("remote candidates learned from bad requests: %v", rc)
		}
		if r.has("initial-binding-request") {
			t.Errorf("initial-binding-request-received signalled for a rejected request")
		}
	})
}

// TestInProgressRetriggered: a check from the peer on a pair whose own
// check is still unanswered makes the agent check again at once (RFC 8445
// §7.3.1.4), not at the retransmission 500 ms later: the first check was
// likely dropped before the peer's NAT or TURN server let it through. It
// happens once per pair.
func TestInProgressRetriggered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		first := peer.nextRequest(time.Second) // not answered: "dropped"
		time.Sleep(100 * time.Millisecond)
		to := localAddr(t, a, sid, 1)
		id := peer.check(to, false, 1, false)
		var second rawMsg
		for {
			m := peer.next(time.Second)
			if m.m.TransactionID == id {
				continue // the answer to the peer's check
			}
			if m.m.Type == stun.BindingRequest {
				second = m
				break
			}
		}
		if second.m.TransactionID == first.m.TransactionID {
			t.Fatalf("got the retransmission of the first check, want a new check")
		}
		if d := second.at.Sub(first.at); d != 100*time.Millisecond {
			t.Errorf("second check %v after the first, want at once after the peer's check (100ms)", d)
		}
		// Once only: another check from the peer does not repeat it again;
		// the next request is the retransmission, one RTO later.
		id = peer.check(to, false, 1, false)
		for {
			m := peer.next(time.Second)
			if m.m.TransactionID == id {
				continue
			}
			if m.m.Type != stun.BindingRequest {
				continue
			}
			if m.m.TransactionID != second.m.TransactionID || m.at.Sub(second.at) != nice.DefaultSTUNInitialTimeout {
				t.Errorf("next request %x at +%v, want the retransmission of %x at +%v",
					m.m.TransactionID, m.at.Sub(second.at), second.m.TransactionID, nice.DefaultSTUNInitialTimeout)
			}
			break
		}
	})
}
