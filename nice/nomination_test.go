// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
)

func TestNominationScripted(t *testing.T) {
	for _, mode := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, Nomination: mode}, 1)
				defer a.Close()
				peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
				defer peer.close()
				attach(t, a, sid, peer, true)
				if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
					t.Fatal(err)
				}
				req := peer.nextRequest(time.Second)
				if got, want := stunx.HasUseCandidate(req.m), mode == nice.NominationAggressive; got != want {
					t.Fatalf("first check USE-CANDIDATE = %v, want %v", got, want)
				}
				peer.respond(req)
				if mode == nice.NominationRegular {
					synctest.Wait()
					if st := r.state(sid, 1); st != nice.ComponentStateConnected {
						t.Fatalf("state after first success = %v, want connected", st)
					}
					t0 := time.Now()
					nom := peer.nextRequest(time.Second)
					if !stunx.HasUseCandidate(nom.m) {
						t.Fatalf("second check lacks USE-CANDIDATE")
					}
					if d := nom.at.Sub(t0); d != 0 {
						t.Errorf("nomination sent %v after the success, want at once", d)
					}
					peer.respond(nom)
				}
				synctest.Wait()
				if st := r.state(sid, 1); st != nice.ComponentStateReady {
					t.Fatalf("state = %v, want ready; events %q", st, r.all())
				}
				if err := inOrder(r.all(), []string{"state c1 connecting", "state c1 connected", "selected c1 " + peer.addr().String(), "state c1 ready"}); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// TestEndOfCandidatesBeforeGathering: the peer's candidates and its
// end-of-candidates arrive before local gathering; the component must not
// fail on an empty checklist (RFC 8838 §8), checks start once gathering has
// made candidates, and it fails only after they have failed.
func TestEndOfCandidatesBeforeGathering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, err := nice.NewAgent(nice.Config{Controlling: true, Net: e.net.NewHost(netip.MustParseAddr("10.0.0.1"))})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		r := newSyncRecorder(a)
		sid, err := a.AddStream(1)
		if err != nil {
			t.Fatal(err)
		}
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := r.state(sid, 1); st == nice.ComponentStateFailed {
			t.Fatal("FAILED before local gathering made a candidate")
		}
		start := time.Now()
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		peer.nextRequest(time.Second) // the check goes out
		// Unanswered, it fails at 7.5 s, and so does the component.
		time.Sleep(start.Add(7499 * time.Millisecond).Sub(time.Now()))
		synctest.Wait()
		if st := r.state(sid, 1); st == nice.ComponentStateFailed {
			t.Fatal("FAILED while the check was still retransmitted")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Fatalf("state after the check failed = %v, want failed", st)
		}
	})
}
