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

// TestErrorAfterSuccessFailsPair: a peer that answers the nominating check
// with an error (here 400, as a peer that changed credentials does) fails
// the pair; the agent neither retries in a loop nor keeps sending on it.
func TestErrorAfterSuccessFailsPair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		peer.respond(peer.nextRequest(time.Second))
		nom := peer.nextRequest(time.Second)
		if !stunx.HasUseCandidate(nom.m) {
			t.Fatal("second check is not the nomination")
		}
		peer.respondError(nom, stun.CodeBadRequest)
		// Refuse whatever follows for 10 s: a retry loop would send
		// thousands (it did: 1,500 a second against aioice).
		n := 0
		deadline := time.After(10 * time.Second)
	count:
		for n <= 100 {
			select {
			case m := <-peer.in:
				n++
				if m.m.Type == stun.BindingRequest {
					peer.respondError(m, stun.CodeBadRequest)
				}
			case <-deadline:
				break count
			}
		}
		if n > 5 {
			t.Errorf("%d requests in the 10 s after the error, want at most a few", n)
		}
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Errorf("state = %v, want failed (the only pair failed, end of candidates)", st)
		}
		if _, err := a.Send(sid, 1, []byte("x")); err == nil {
			t.Errorf("Send succeeded on a failed pair")
		}
	})
}
